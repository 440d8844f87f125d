package dev.dl4j.accelerate.internal.collective;

import java.nio.ByteBuffer;

import dev.dl4j.accelerate.ReduceOp;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * Element-wise reduction of one buffer into another, in the platform's byte order (that of ND4J's memory).
 * Every rank applies the same operations to the same operands in the same order, so results are bitwise
 * identical across ranks.
 *
 * <p>Ranges of {@link #VECTOR_MIN_BYTES} and more run on {@link VectorKernel} when the JVM has the incubating
 * Vector API ({@code --add-modules jdk.incubator.vector}, which {@code accelerate launch} passes to its workers);
 * otherwise, and for the tails, on the scalar loops, which give the same bits four to five times slower.
 * Single-threaded: each communicator has its own.
 */
final class Reductions
{
    /** Whether this JVM resolved the Vector API; {@link VectorKernel} is loaded only if so. */
    static final boolean VECTOR_API = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
    /** Below this the scalar loop is as fast: the vector loop's set-up, views included, costs more than it saves. */
    static final int VECTOR_MIN_BYTES = 1024;

    private final boolean vector;
    // One each for destinations and sources: each keeps the view of the last bare address it was given.
    private final BufferViews views = new BufferViews();
    private final BufferViews fromViews = new BufferViews();

    /**
     * Reductions on the vector kernel when this JVM has it.
     */
    Reductions()
    {
        this(VECTOR_API);
    }

    /**
     * @param vector whether to use the vector kernel; true needs {@link #VECTOR_API}.
     */
    Reductions(final boolean vector)
    {
        if (vector && !VECTOR_API)
        {
            throw new IllegalStateException("the vector kernel needs --add-modules jdk.incubator.vector");
        }
        this.vector = vector;
    }

    /**
     * @return true when ranges of {@link #VECTOR_MIN_BYTES} and more run on the vector kernel.
     */
    boolean isVector()
    {
        return vector;
    }

    /**
     * {@code into[i] = into[i] op from[i]} for {@code bytes / elementSize} elements.
     */
    void reduce(
        final ReduceOp op, final boolean isDouble, final MutableDirectBuffer into, final int intoOffset,
        final DirectBuffer from, final int fromOffset, final int bytes)
    {
        final int done = vector && bytes >= VECTOR_MIN_BYTES ?
            reduceVectors(op, isDouble, into, intoOffset, from, fromOffset, bytes) : 0;
        if (done < bytes)
        {
            reduceScalar(op, isDouble, into, intoOffset + done, from, fromOffset + done, bytes - done);
        }
    }

    /**
     * Turns a sum into a mean: {@code buffer[i] /= ranks}.
     */
    void divide(final boolean isDouble, final MutableDirectBuffer buffer, final int offset, final int bytes,
        final int ranks)
    {
        final ByteBuffer view = vector && bytes >= VECTOR_MIN_BYTES ? views.of(buffer) : null;
        final int done = view != null ? VectorKernel.divide(isDouble, view, BufferViews.index(buffer) + offset, bytes,
            ranks) : 0;
        if (done < bytes)
        {
            divideScalar(isDouble, buffer, offset + done, bytes - done, ranks);
        }
    }

    private int reduceVectors(
        final ReduceOp op, final boolean isDouble, final MutableDirectBuffer into, final int intoOffset,
        final DirectBuffer from, final int fromOffset, final int bytes)
    {
        final ByteBuffer intoView = views.of(into);
        final ByteBuffer fromView = fromViews.of(from);
        if (intoView == null || fromView == null)
        {
            return 0;
        }
        return VectorKernel.reduce(op, isDouble, intoView, BufferViews.index(into) + intoOffset, fromView,
            BufferViews.index(from) + fromOffset, bytes);
    }

    /**
     * The scalar loop of {@link #reduce}.
     */
    static void reduceScalar(
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
     * The scalar loop of {@link #divide}.
     */
    static void divideScalar(final boolean isDouble, final MutableDirectBuffer buffer, final int offset,
        final int bytes, final int ranks)
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
