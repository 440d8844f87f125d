package dev.dl4j.accelerate;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import dev.dl4j.accelerate.internal.dl4j.ArrayMemory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(value = 120, unit = TimeUnit.SECONDS)
class TensorCollectivesTest
{
    @ParameterizedTest(name = "{0} ranks, {1} x {2}, {3}")
    @CsvSource({
        "2, 1, FLOAT, SUM", "2, 1000, DOUBLE, MEAN", "3, 7, FLOAT, MAX", "2, 40000, FLOAT, SUM",
        "3, 300001, FLOAT, MEAN", "4, 100003, DOUBLE, MIN", "4, 5, FLOAT, SUM", "3, 2, DOUBLE, SUM",
        "5, 70001, FLOAT, MAX", "2, 1000000, FLOAT, MEAN" })
    void shouldCombineEveryRanksArrayIdenticallyOnEveryRank(
        final int worldSize, final int length, final DataType type, final ReduceOp op) throws Exception
    {
        try (InJvmGroup group = new InJvmGroup(worldSize, worldSize, Duration.ofSeconds(60)))
        {
            final List<double[]> results = group.run(acc ->
            {
                final INDArray array = Nd4j.create(type, 1, length);
                for (int j = 0; j < length; j++)
                {
                    array.putScalar(0, j, value(acc.processIndex(), j));
                }
                acc.allReduce(array, op);
                return array.toDoubleVector();
            });
            for (int j = 0; j < length; j += Math.max(1, length / 997))
            {
                double expected = op == ReduceOp.MIN ? Double.MAX_VALUE : op == ReduceOp.MAX ? -Double.MAX_VALUE : 0;
                for (int r = 0; r < worldSize; r++)
                {
                    final double v = value(r, j);
                    expected = op == ReduceOp.MIN ? Math.min(expected, v) : op == ReduceOp.MAX ? Math.max(expected, v) :
                        expected + v;
                }
                if (op == ReduceOp.MEAN)
                {
                    expected /= worldSize;
                }
                assertEquals(expected, results.get(0)[j], Math.abs(expected) * 1e-6, "element " + j);
            }
            for (int r = 1; r < worldSize; r++)
            {
                assertArrayEquals(results.get(0), results.get(r), "rank " + r + " differs from rank 0");
            }
        }
    }

    @Test
    void shouldBroadcastTheRootsArrayIncludingAStridedView() throws Exception
    {
        try (InJvmGroup group = new InJvmGroup(3, 3, Duration.ofSeconds(60)))
        {
            final List<double[]> results = group.run(acc ->
            {
                final INDArray big = Nd4j.rand(DataType.FLOAT, 300, 1000).muli(acc.processIndex() + 1);
                acc.broadcast(big, 2);
                final INDArray matrix = Nd4j.create(DataType.DOUBLE, 4, 6).addi(acc.processIndex());
                final INDArray column = matrix.get(NDArrayIndex.all(), NDArrayIndex.point(3));
                acc.broadcast(column, 1);
                return new double[] { big.sumNumber().doubleValue(), matrix.getDouble(2, 3), matrix.getDouble(2, 2) };
            });
            for (final double[] result : results)
            {
                assertEquals(results.get(2)[0], result[0]);
                assertEquals(1.0, result[1], "the column takes rank 1's values");
            }
            assertEquals(0.0, results.get(0)[2], "the rest of the matrix is untouched");
        }
    }

    @Test
    void shouldFailEveryRankWhenArraysDifferInLength() throws Exception
    {
        try (InJvmGroup group = new InJvmGroup(2, 2, Duration.ofSeconds(10)))
        {
            final List<String> outcomes = group.run(acc ->
            {
                final INDArray array = Nd4j.ones(DataType.FLOAT, 10 + acc.processIndex());
                return assertThrows(AccelerateException.class, () -> acc.allReduce(array, ReduceOp.SUM)).getMessage();
            });
            for (final String outcome : outcomes)
            {
                assertTrue(outcome.contains("expected 4") || outcome.contains("bytes but rank"), outcome);
            }
        }
    }

    @Test
    void shouldWrapExactlyTheElementsOfAView()
    {
        final INDArray matrix = Nd4j.arange(30).castTo(DataType.FLOAT).reshape('c', 5, 6);
        final INDArray row = matrix.getRow(3);
        assertTrue(ArrayMemory.isContiguous(row));
        assertEquals(18f, ArrayMemory.wrap(row).getFloat(0));
        assertEquals(23f, ArrayMemory.wrap(row).getFloat(5 * Float.BYTES));
        assertEquals(6 * Float.BYTES, ArrayMemory.wrap(row).capacity());
        final INDArray rows = matrix.get(NDArrayIndex.interval(2, 4), NDArrayIndex.all());
        assertEquals(12f, ArrayMemory.wrap(rows).getFloat(0));
        assertEquals(23f, ArrayMemory.wrap(rows).getFloat(11 * Float.BYTES));
    }

    @Test
    void shouldRejectIntegerArrays()
    {
        try (Accelerator acc = Accelerator.create(ProcessTopology.single(), AcceleratorSettings.defaults()))
        {
            final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class,
                () -> acc.allReduce(Nd4j.ones(DataType.INT, 3), ReduceOp.SUM));
            assertTrue(ex.getMessage().startsWith("allReduce supports FLOAT and DOUBLE arrays, got INT"), ex.getMessage());
        }
    }

    private static double value(final int rank, final int index)
    {
        // Small integers: sums are exact in float whatever order the ring adds them in.
        return (rank + 1) * ((index % 13) - 6);
    }
}
