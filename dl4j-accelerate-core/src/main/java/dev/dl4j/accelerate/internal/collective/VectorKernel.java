package dev.dl4j.accelerate.internal.collective;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import dev.dl4j.accelerate.ReduceOp;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The reduce loops on the JDK's incubating Vector API: a plain loop over Agrona's {@code getFloat}/{@code putFloat}
 * does not vectorise (its bounds checks and raw memory access defeat C2's auto-vectoriser) and runs at ~4 GB/s,
 * while these reach the memory's bandwidth (measured ~17 GB/s at 1 MiB, ~22 GB/s in L2, on the 2-core AMD EPYC of
 * {@code benchmarks/RESULTS.md}).
 *
 * <p>Only {@link Reductions} touches this class, and only when the JVM resolved {@code jdk.incubator.vector}
 * ({@code --add-modules jdk.incubator.vector}); without the module it is never loaded. In JDK 17 vectors load and
 * store only through arrays and {@link ByteBuffer}s, hence the buffer parameters. Each method handles the whole
 * vectors of its range and returns how many bytes that was; the caller finishes the tail. Lane-wise add, max and
 * min are exactly Java's {@code +}, {@link Math#max} and {@link Math#min}, so the results are bit for bit those of
 * the scalar loop, whichever loop each rank runs.
 */
final class VectorKernel
{
    private static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Double> DOUBLES = DoubleVector.SPECIES_PREFERRED;
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();

    private VectorKernel()
    {
    }

    /**
     * {@code into[i] = into[i] op from[i]} over the whole vectors of {@code bytes}.
     *
     * @return the bytes done, a multiple of the vector size; the caller does the rest.
     */
    static int reduce(
        final ReduceOp op, final boolean isDouble, final ByteBuffer into, final int intoIndex, final ByteBuffer from,
        final int fromIndex, final int bytes)
    {
        if (isDouble)
        {
            switch (op)
            {
                case MAX:
                    return maxDoubles(into, intoIndex, from, fromIndex, bytes);
                case MIN:
                    return minDoubles(into, intoIndex, from, fromIndex, bytes);
                default:
                    return addDoubles(into, intoIndex, from, fromIndex, bytes);
            }
        }
        switch (op)
        {
            case MAX:
                return maxFloats(into, intoIndex, from, fromIndex, bytes);
            case MIN:
                return minFloats(into, intoIndex, from, fromIndex, bytes);
            default:
                return addFloats(into, intoIndex, from, fromIndex, bytes);
        }
    }

    /**
     * {@code buffer[i] /= ranks} over the whole vectors of {@code bytes}.
     *
     * @return the bytes done, a multiple of the vector size; the caller does the rest.
     */
    static int divide(final boolean isDouble, final ByteBuffer buffer, final int index, final int bytes, final int ranks)
    {
        if (isDouble)
        {
            final int step = DOUBLES.vectorByteSize();
            final int end = bytes - bytes % step;
            for (int i = 0; i < end; i += step)
            {
                DoubleVector.fromByteBuffer(DOUBLES, buffer, index + i, ORDER).div(ranks)
                    .intoByteBuffer(buffer, index + i, ORDER);
            }
            return end;
        }
        final int step = FLOATS.vectorByteSize();
        final int end = bytes - bytes % step;
        for (int i = 0; i < end; i += step)
        {
            FloatVector.fromByteBuffer(FLOATS, buffer, index + i, ORDER).div(ranks).intoByteBuffer(buffer, index + i, ORDER);
        }
        return end;
    }

    // One loop per operation and type rather than a switch inside one loop: C2 then compiles each to straight
    // vector code with nothing to decide per iteration.

    private static int addFloats(
        final ByteBuffer into, final int intoIndex, final ByteBuffer from, final int fromIndex, final int bytes)
    {
        final int step = FLOATS.vectorByteSize();
        final int end = bytes - bytes % step;
        for (int i = 0; i < end; i += step)
        {
            final FloatVector a = FloatVector.fromByteBuffer(FLOATS, into, intoIndex + i, ORDER);
            final FloatVector b = FloatVector.fromByteBuffer(FLOATS, from, fromIndex + i, ORDER);
            a.add(b).intoByteBuffer(into, intoIndex + i, ORDER);
        }
        return end;
    }

    private static int maxFloats(
        final ByteBuffer into, final int intoIndex, final ByteBuffer from, final int fromIndex, final int bytes)
    {
        final int step = FLOATS.vectorByteSize();
        final int end = bytes - bytes % step;
        for (int i = 0; i < end; i += step)
        {
            final FloatVector a = FloatVector.fromByteBuffer(FLOATS, into, intoIndex + i, ORDER);
            final FloatVector b = FloatVector.fromByteBuffer(FLOATS, from, fromIndex + i, ORDER);
            a.max(b).intoByteBuffer(into, intoIndex + i, ORDER);
        }
        return end;
    }

    private static int minFloats(
        final ByteBuffer into, final int intoIndex, final ByteBuffer from, final int fromIndex, final int bytes)
    {
        final int step = FLOATS.vectorByteSize();
        final int end = bytes - bytes % step;
        for (int i = 0; i < end; i += step)
        {
            final FloatVector a = FloatVector.fromByteBuffer(FLOATS, into, intoIndex + i, ORDER);
            final FloatVector b = FloatVector.fromByteBuffer(FLOATS, from, fromIndex + i, ORDER);
            a.min(b).intoByteBuffer(into, intoIndex + i, ORDER);
        }
        return end;
    }

    private static int addDoubles(
        final ByteBuffer into, final int intoIndex, final ByteBuffer from, final int fromIndex, final int bytes)
    {
        final int step = DOUBLES.vectorByteSize();
        final int end = bytes - bytes % step;
        for (int i = 0; i < end; i += step)
        {
            final DoubleVector a = DoubleVector.fromByteBuffer(DOUBLES, into, intoIndex + i, ORDER);
            final DoubleVector b = DoubleVector.fromByteBuffer(DOUBLES, from, fromIndex + i, ORDER);
            a.add(b).intoByteBuffer(into, intoIndex + i, ORDER);
        }
        return end;
    }

    private static int maxDoubles(
        final ByteBuffer into, final int intoIndex, final ByteBuffer from, final int fromIndex, final int bytes)
    {
        final int step = DOUBLES.vectorByteSize();
        final int end = bytes - bytes % step;
        for (int i = 0; i < end; i += step)
        {
            final DoubleVector a = DoubleVector.fromByteBuffer(DOUBLES, into, intoIndex + i, ORDER);
            final DoubleVector b = DoubleVector.fromByteBuffer(DOUBLES, from, fromIndex + i, ORDER);
            a.max(b).intoByteBuffer(into, intoIndex + i, ORDER);
        }
        return end;
    }

    private static int minDoubles(
        final ByteBuffer into, final int intoIndex, final ByteBuffer from, final int fromIndex, final int bytes)
    {
        final int step = DOUBLES.vectorByteSize();
        final int end = bytes - bytes % step;
        for (int i = 0; i < end; i += step)
        {
            final DoubleVector a = DoubleVector.fromByteBuffer(DOUBLES, into, intoIndex + i, ORDER);
            final DoubleVector b = DoubleVector.fromByteBuffer(DOUBLES, from, fromIndex + i, ORDER);
            a.min(b).intoByteBuffer(into, intoIndex + i, ORDER);
        }
        return end;
    }
}
