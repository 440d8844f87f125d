package dev.dl4j.accelerate.internal.collective;

import dev.dl4j.accelerate.ReduceOp;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * Element-wise reduction of one buffer into another, in the platform's byte order (that of ND4J's memory).
 * Every rank applies the same operations to the same operands in the same order, so results are bitwise
 * identical across ranks.
 */
final class Reductions
{
    private Reductions()
    {
    }

    /**
     * {@code into[i] = into[i] op from[i]} for {@code bytes / elementSize} elements.
     */
    static void reduce(
        final ReduceOp op, final boolean isDouble, final MutableDirectBuffer into, final int intoOffset,
        final DirectBuffer from, final int fromOffset, final int bytes)
    {
        if (isDouble)
        {
            for (int i = 0; i < bytes; i += Double.BYTES)
            {
                final double a = into.getDouble(intoOffset + i);
                final double b = from.getDouble(fromOffset + i);
                into.putDouble(intoOffset + i, apply(op, a, b));
            }
        }
        else
        {
            for (int i = 0; i < bytes; i += Float.BYTES)
            {
                final float a = into.getFloat(intoOffset + i);
                final float b = from.getFloat(fromOffset + i);
                into.putFloat(intoOffset + i, apply(op, a, b));
            }
        }
    }

    /**
     * Turns a sum into a mean: {@code buffer[i] /= ranks}.
     */
    static void divide(final boolean isDouble, final MutableDirectBuffer buffer, final int offset, final int bytes,
        final int ranks)
    {
        if (isDouble)
        {
            for (int i = 0; i < bytes; i += Double.BYTES)
            {
                buffer.putDouble(offset + i, buffer.getDouble(offset + i) / ranks);
            }
        }
        else
        {
            for (int i = 0; i < bytes; i += Float.BYTES)
            {
                buffer.putFloat(offset + i, buffer.getFloat(offset + i) / ranks);
            }
        }
    }

    private static float apply(final ReduceOp op, final float a, final float b)
    {
        switch (op)
        {
            case MAX:
                return Math.max(a, b);
            case MIN:
                return Math.min(a, b);
            default:
                return a + b;
        }
    }

    private static double apply(final ReduceOp op, final double a, final double b)
    {
        switch (op)
        {
            case MAX:
                return Math.max(a, b);
            case MIN:
                return Math.min(a, b);
            default:
                return a + b;
        }
    }
}
