package dev.dl4j.accelerate.internal.collective;

import java.lang.ref.Reference;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import dev.dl4j.accelerate.ReduceOp;
import org.agrona.BufferUtil;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ReductionsTest
{
    /** Lengths around the vector sizes (16 floats or 8 doubles at 512 bits) and the vector threshold. */
    private static final int[] ELEMENTS = { 0, 1, 3, 7, 15, 16, 17, 31, 33, 255, 256, 257, 1023, 4099, 65537 };
    /** Byte offsets into the buffers, so that the vector loads are also misaligned. */
    private static final int[] OFFSETS = { 0, 8, 24, 56 };

    @Test
    void shouldRunTheVectorKernelInTheseTestsSoThatTheyTestIt()
    {
        assertTrue(Reductions.VECTOR_API, "surefire's argLine must add jdk.incubator.vector");
        assertTrue(new Reductions().isVector());
        assertFalse(new Reductions(false).isVector());
    }

    @ParameterizedTest
    @EnumSource(ReduceOp.class)
    void shouldGiveTheScalarLoopsBitsOnOddLengthsAndOffsetsOfFloats(final ReduceOp op)
    {
        shouldGiveTheScalarLoopsBits(op, false);
    }

    @ParameterizedTest
    @EnumSource(ReduceOp.class)
    void shouldGiveTheScalarLoopsBitsOnOddLengthsAndOffsetsOfDoubles(final ReduceOp op)
    {
        shouldGiveTheScalarLoopsBits(op, true);
    }

    @Test
    void shouldReduceEveryKindOfBufferTheTransportHandsOver()
    {
        // ND4J's memory is a bare address; Aeron's log a byte buffer at an offset; an inbox a heap array.
        final int bytes = 4099 * Float.BYTES;
        // The buffers wrapped by address must stay reachable, or their memory is freed under the test.
        final ByteBuffer native0 = ByteBuffer.allocateDirect(bytes + 64);
        final ByteBuffer native1 = ByteBuffer.allocateDirect(bytes);
        final ByteBuffer log = ByteBuffer.allocateDirect(bytes + 256);
        final MutableDirectBuffer[] intos = {
            new UnsafeBuffer(BufferUtil.address(native0) + 8, bytes), new UnsafeBuffer(new byte[bytes + 16], 16, bytes),
            new UnsafeBuffer(ByteBuffer.allocateDirect(bytes)) };
        final MutableDirectBuffer[] froms = {
            new UnsafeBuffer(log, 120, bytes), new UnsafeBuffer(new byte[bytes + 40], 40, bytes),
            new UnsafeBuffer(BufferUtil.address(native1), bytes) };
        final Reductions reductions = new Reductions();
        for (final MutableDirectBuffer into : intos)
        {
            for (final MutableDirectBuffer from : froms)
            {
                for (int i = 0; i < bytes; i += Float.BYTES)
                {
                    into.putFloat(i, i);
                    from.putFloat(i, 2 * i + 1);
                }
                reductions.reduce(ReduceOp.SUM, false, into, 0, from, 0, bytes);
                for (int i = 0; i < bytes; i += Float.BYTES)
                {
                    assertEquals(3 * i + 1, into.getFloat(i), "element " + i / Float.BYTES + " of " +
                        into.getClass().getSimpleName() + " into " + from.getClass().getSimpleName());
                }
            }
        }
        Reference.reachabilityFence(native0);
        Reference.reachabilityFence(native1);
    }

    @Test
    void shouldKeepUsingTheViewOfAnAddressUntilTheArrayChanges()
    {
        final BufferViews views = new BufferViews();
        final ByteBuffer memory = ByteBuffer.allocateDirect(4096);
        final long address = BufferUtil.address(memory);
        final ByteBuffer first = views.of(new UnsafeBuffer(address, 4096));
        assertTrue(first.isDirect());
        assertEquals(4096, first.capacity());
        assertTrue(first == views.of(new UnsafeBuffer(address, 4096)), "the same array's view is kept");
        final ByteBuffer other = views.of(new UnsafeBuffer(address + 64, 1024));
        assertEquals(1024, other.capacity());
        memory.order(ByteOrder.nativeOrder()).putFloat(64, 42f);
        assertEquals(42f, other.order(ByteOrder.nativeOrder()).getFloat(0), "the view is the same memory");
        Reference.reachabilityFence(memory);
    }

    private static void shouldGiveTheScalarLoopsBits(final ReduceOp op, final boolean isDouble)
    {
        final int size = isDouble ? Double.BYTES : Float.BYTES;
        final Random random = new Random(op.ordinal() * 31L + (isDouble ? 1 : 0));
        final Reductions vector = new Reductions();
        final Reductions scalar = new Reductions(false);
        for (final int elements : ELEMENTS)
        {
            for (final int offset : OFFSETS)
            {
                final int bytes = elements * size;
                final UnsafeBuffer from = new UnsafeBuffer(ByteBuffer.allocateDirect(bytes + 64));
                final UnsafeBuffer expected = new UnsafeBuffer(ByteBuffer.allocateDirect(bytes + 64));
                final ByteBuffer ndMemory = ByteBuffer.allocateDirect(bytes + 64);
                final UnsafeBuffer actual = new UnsafeBuffer(BufferUtil.address(ndMemory), bytes + 64);
                for (int i = 0; i < bytes; i += size)
                {
                    if (isDouble)
                    {
                        expected.putDouble(offset + i, nasty(random));
                        from.putDouble(offset + i, nasty(random));
                    }
                    else
                    {
                        expected.putFloat(offset + i, (float)nasty(random));
                        from.putFloat(offset + i, (float)nasty(random));
                    }
                }
                actual.putBytes(0, expected, 0, bytes + 64);
                scalar.reduce(op, isDouble, expected, offset, from, offset, bytes);
                vector.reduce(op, isDouble, actual, offset, from, offset, bytes);
                if (op == ReduceOp.MEAN)
                {
                    scalar.divide(isDouble, expected, offset, bytes, 3);
                    vector.divide(isDouble, actual, offset, bytes, 3);
                }
                for (int i = 0; i < bytes + 64; i += Integer.BYTES)
                {
                    // Bits, not values: NaN payloads and signed zeros must match too, or ranks could differ.
                    assertEquals(expected.getInt(i), actual.getInt(i), op + (isDouble ? " double" : " float") + " of " +
                        elements + " at offset " + offset + ": byte " + i + " differs");
                }
                Reference.reachabilityFence(ndMemory);
            }
        }
    }

    /**
     * Mostly ordinary numbers, with the values where max, min and rounding are easy to get wrong.
     */
    private static double nasty(final Random random)
    {
        switch (random.nextInt(12))
        {
            case 0:
                return Double.NaN;
            case 1:
                return -0.0;
            case 2:
                return 0.0;
            case 3:
                return random.nextBoolean() ? Double.POSITIVE_INFINITY : Double.NEGATIVE_INFINITY;
            case 4:
                return random.nextBoolean() ? Double.MIN_VALUE : Float.MIN_VALUE;
            default:
                return (random.nextDouble() - 0.5) * Math.pow(10, random.nextInt(20) - 10);
        }
    }
}
