package dev.dl4j.accelerate.internal.transport;

import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * Layout of every message between ranks. Little-endian whatever the platform, so hosts of any kind agree.
 *
 * <pre>
 *   0  type      byte   what the sender is doing (rendezvous, barrier, broadcast...)
 *   1  flags     byte   LAST on the final chunk of a value
 *   2  round     short  step within the operation (dissemination round, chunk index)
 *   4  source    int    sender's rank
 *   8  sequence  long   the operation's sequence number, identical on every rank for the same call
 *  16  token     long   the job's token: frames of another job are dropped
 *  24  payload
 * </pre>
 */
public final class Frame
{
    /** Byte order of every field. */
    public static final ByteOrder ORDER = ByteOrder.LITTLE_ENDIAN;

    /** Offset of the operation type. */
    public static final int TYPE_OFFSET = 0;
    /** Offset of the flags. */
    public static final int FLAGS_OFFSET = 1;
    /** Offset of the round within the operation. */
    public static final int ROUND_OFFSET = 2;
    /** Offset of the sender's rank. */
    public static final int SOURCE_OFFSET = 4;
    /** Offset of the operation's sequence number. */
    public static final int SEQUENCE_OFFSET = 8;
    /** Offset of the job token. */
    public static final int TOKEN_OFFSET = 16;
    /** Length of the header, and offset of the payload. */
    public static final int HEADER_LENGTH = 24;

    /** Set on the last chunk of a value split over several frames. */
    public static final byte FLAG_LAST = 1;

    /** Rendezvous: a rank introduces itself to rank 0. */
    public static final byte HELLO = 1;
    /** Rendezvous: rank 0 tells a rank where every peer is. */
    public static final byte WELCOME = 2;
    /** {@code waitForEveryone}. */
    public static final byte BARRIER = 3;
    /** {@code checkTrigger}. */
    public static final byte TRIGGER = 4;
    /** {@code mainProcessFirst}. */
    public static final byte MAIN_FIRST = 5;
    /** {@code localMainProcessFirst}. */
    public static final byte LOCAL_MAIN_FIRST = 6;
    /** {@code broadcast}. */
    public static final byte BROADCAST = 7;
    /** {@code gather}. */
    public static final byte GATHER = 8;
    /** {@code allReduce} of an array. */
    public static final byte ALL_REDUCE = 9;
    /** {@code broadcast} of an array. */
    public static final byte TENSOR_BROADCAST = 10;
    /** A rank's liveness and whereabouts, on the heartbeat streams (see {@link PeerMonitor}). */
    public static final byte HEARTBEAT = 11;
    /** The data-parallel listener's per-step vote on collecting garbage together. */
    public static final byte COLLECT = 12;

    private static final String[] NAMES =
        { "?", "hello", "welcome", "waitForEveryone", "checkTrigger", "mainProcessFirst", "localMainProcessFirst",
          "broadcast", "gather", "allReduce", "broadcast(INDArray)", "heartbeat", "a training step" };

    private Frame()
    {
    }

    /**
     * @param type an operation type.
     * @return its name as the user knows it.
     */
    public static String name(final byte type)
    {
        return type > 0 && type < NAMES.length ? NAMES[type] : "unknown(" + type + ")";
    }

    /**
     * Writes a header.
     *
     * @param buffer   destination.
     * @param type     operation type.
     * @param flags    flags.
     * @param round    step within the operation.
     * @param source   sender's rank.
     * @param sequence operation's sequence number.
     * @param token    job token.
     */
    public static void writeHeader(
        final MutableDirectBuffer buffer,
        final byte type,
        final byte flags,
        final int round,
        final int source,
        final long sequence,
        final long token)
    {
        buffer.putByte(TYPE_OFFSET, type);
        buffer.putByte(FLAGS_OFFSET, flags);
        buffer.putShort(ROUND_OFFSET, (short)round, ORDER);
        buffer.putInt(SOURCE_OFFSET, source, ORDER);
        buffer.putLong(SEQUENCE_OFFSET, sequence, ORDER);
        buffer.putLong(TOKEN_OFFSET, token, ORDER);
    }

    /**
     * @param buffer holding a frame.
     * @param offset of the frame.
     * @return the operation type.
     */
    public static byte type(final DirectBuffer buffer, final int offset)
    {
        return buffer.getByte(offset + TYPE_OFFSET);
    }

    /**
     * @param buffer holding a frame.
     * @param offset of the frame.
     * @return the flags.
     */
    public static byte flags(final DirectBuffer buffer, final int offset)
    {
        return buffer.getByte(offset + FLAGS_OFFSET);
    }

    /**
     * @param buffer holding a frame.
     * @param offset of the frame.
     * @return the sequence number.
     */
    public static long sequence(final DirectBuffer buffer, final int offset)
    {
        return buffer.getLong(offset + SEQUENCE_OFFSET, ORDER);
    }

    /**
     * @param buffer holding a frame.
     * @param offset of the frame.
     * @return the step within the operation.
     */
    public static int round(final DirectBuffer buffer, final int offset)
    {
        return buffer.getShort(offset + ROUND_OFFSET, ORDER);
    }

    /**
     * @param buffer holding a frame.
     * @param offset of the frame.
     * @return the sender's rank.
     */
    public static int source(final DirectBuffer buffer, final int offset)
    {
        return buffer.getInt(offset + SOURCE_OFFSET, ORDER);
    }

    /**
     * @param buffer holding a frame.
     * @param offset of the frame.
     * @return the job token.
     */
    public static long token(final DirectBuffer buffer, final int offset)
    {
        return buffer.getLong(offset + TOKEN_OFFSET, ORDER);
    }

    /**
     * Derives the 64-bit token carried by every frame from the job's token string (FNV-1a).
     *
     * @param jobToken the job's token string.
     * @return its 64-bit hash.
     */
    public static long tokenHash(final String jobToken)
    {
        long hash = 0xcbf29ce484222325L;
        for (final byte b : jobToken.getBytes(StandardCharsets.UTF_8))
        {
            hash ^= b & 0xff;
            hash *= 0x100000001b3L;
        }
        return hash;
    }
}
