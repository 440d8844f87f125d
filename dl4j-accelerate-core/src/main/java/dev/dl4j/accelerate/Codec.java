package dev.dl4j.accelerate;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Turns a small value into bytes and back for {@link Accelerator#broadcast(Object, int, Codec)} and
 * {@link Accelerator#gather(Object, int, Codec)}. Explicit codecs rather than Java serialisation, so
 * nothing received from the network is ever deserialised into arbitrary classes.
 *
 * @param <T> the value type.
 */
public interface Codec<T>
{
    /** UTF-8 strings. */
    Codec<String> STRING = new Codec<>()
    {
        public byte[] encode(final String value)
        {
            return value.getBytes(StandardCharsets.UTF_8);
        }

        public String decode(final byte[] bytes)
        {
            return new String(bytes, StandardCharsets.UTF_8);
        }
    };

    /** 64-bit integers, little-endian. */
    Codec<Long> LONG = new Codec<>()
    {
        public byte[] encode(final Long value)
        {
            return ByteBuffer.allocate(Long.BYTES).order(ByteOrder.LITTLE_ENDIAN).putLong(value).array();
        }

        public Long decode(final byte[] bytes)
        {
            return ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong();
        }
    };

    /** 64-bit floating point values, little-endian. */
    Codec<Double> DOUBLE = new Codec<>()
    {
        public byte[] encode(final Double value)
        {
            return ByteBuffer.allocate(Double.BYTES).order(ByteOrder.LITTLE_ENDIAN).putDouble(value).array();
        }

        public Double decode(final byte[] bytes)
        {
            return ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getDouble();
        }
    };

    /**
     * @param value the value to send; never null.
     * @return its bytes.
     */
    byte[] encode(T value);

    /**
     * @param bytes bytes produced by {@link #encode(Object)} on some rank.
     * @return the value.
     */
    T decode(byte[] bytes);
}
