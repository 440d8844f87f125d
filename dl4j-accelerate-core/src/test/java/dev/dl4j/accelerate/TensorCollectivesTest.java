package dev.dl4j.accelerate;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import dev.dl4j.accelerate.internal.dl4j.ArrayMemory;
import dev.dl4j.accelerate.internal.transport.MediaDrivers;
import io.aeron.driver.MediaDriver;
import org.agrona.CloseHelper;
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

    /**
     * The sharded updater's exchange: each rank works on the elements it answers for between the reduction and the
     * sharing of the result, and every rank ends with what the owners made of their elements. On the ring the
     * ranks' elements cover the array exactly once; on the latency path (and alone) each answers for all of it.
     */
    @ParameterizedTest(name = "{0} ranks, {1} x {2}")
    @CsvSource({ "2, 203530, FLOAT", "3, 10001, DOUBLE", "4, 4099, FLOAT", "2, 5, FLOAT", "3, 100, DOUBLE", "1, 1000, FLOAT" })
    void shouldShareWhatEachRankMadeOfTheElementsItAnswersFor(final int worldSize, final int length, final DataType type)
        throws Exception
    {
        try (InJvmGroup group = new InJvmGroup(worldSize, worldSize, Duration.ofSeconds(60)))
        {
            final List<Object[]> results = group.run(acc ->
            {
                final INDArray array = Nd4j.create(type, 1, length);
                for (int j = 0; j < length; j++)
                {
                    array.putScalar(0, j, value(acc.processIndex(), j));
                }
                final int[] owned = { -1, -1 };
                acc.allReduceMean(array, (first, count) ->
                {
                    owned[0] = first;
                    owned[1] = count;
                    // Work only a rank that owns these elements may do: a mark of who did it.
                    array.get(NDArrayIndex.point(0), NDArrayIndex.interval(first, first + count)).addi(1000 * (acc.processIndex() + 1));
                });
                return new Object[] { array.toDoubleVector(), owned };
            });
            final boolean ring = worldSize > 1 && (long)length * type.width() * (worldSize - 1) > 4096;
            final int[] owner = new int[length];
            java.util.Arrays.fill(owner, -1);
            for (int r = 0; r < worldSize; r++)
            {
                final int[] range = (int[])results.get(r)[1];
                if (!ring)
                {
                    assertArrayEquals(new int[] { 0, length }, range, "rank " + r + " answers for the whole array");
                    continue;
                }
                for (int j = range[0]; j < range[0] + range[1]; j++)
                {
                    assertEquals(-1, owner[j], "element " + j + " owned by ranks " + owner[j] + " and " + r);
                    owner[j] = r;
                }
            }
            for (int j = 0; j < length; j++)
            {
                double mean = 0;
                for (int r = 0; r < worldSize; r++)
                {
                    mean += value(r, j);
                }
                mean /= worldSize;
                // On the latency path every rank answers for every element and marks its own copy: rank 0's copy
                // carries rank 0's mark (the copies differ here only because the marks do; real work is the same
                // on every rank). On the ring each element carries its one owner's mark, on every rank.
                final int marker = ring ? owner[j] : 0;
                assertTrue(marker >= 0, "element " + j + " owned by no rank");
                assertEquals(mean + 1000 * (marker + 1), ((double[])results.get(0)[0])[j], 1e-3, "element " + j);
            }
            for (int r = 1; r < worldSize && ring; r++)
            {
                assertArrayEquals((double[])results.get(0)[0], (double[])results.get(r)[0], "rank " + r + " differs from rank 0");
            }
        }
    }

    @Test
    void shouldStayCorrectWhileRanksRunAheadThroughMixedCollectives() throws Exception
    {
        // The root of a broadcast does not wait, so rank 0 runs several operations ahead and its ring chunks
        // of the next all-reduce queue behind the others' current ones; sleeps shuffle who is ahead.
        final int worldSize = 3;
        final int[] lengths = { 50_001, 5, 70_000, 16_384, 33 };
        final DataType[] types = { DataType.FLOAT, DataType.DOUBLE };
        try (InJvmGroup group = new InJvmGroup(worldSize, worldSize, Duration.ofSeconds(60)))
        {
            final List<String> failures = group.run(acc ->
            {
                final List<String> wrong = new ArrayList<>();
                for (int i = 0; i < 30; i++)
                {
                    // Random stalls (jitter, not synchronisation) let the other ranks run operations ahead.
                    if (ThreadLocalRandom.current().nextInt(4) == 0)
                    {
                        sleepMillis(ThreadLocalRandom.current().nextInt(1, 5));
                    }
                    for (int b = 0; b < 3; b++)
                    {
                        final byte[] sent = acc.broadcast(new byte[] { (byte)i, (byte)b }, 0);
                        if (sent[0] != (byte)i || sent[1] != (byte)b)
                        {
                            wrong.add("broadcast " + i + "." + b);
                        }
                    }
                    final int length = lengths[i % lengths.length];
                    final ReduceOp op = ReduceOp.values()[i % ReduceOp.values().length];
                    final INDArray array = Nd4j.create(types[i % types.length], length);
                    for (int j = 0; j < length; j += Math.max(1, length / 101))
                    {
                        array.putScalar(j, value(acc.processIndex(), j));
                    }
                    acc.allReduce(array, op);
                    for (int j = 0; j < length; j += Math.max(1, length / 101))
                    {
                        final double expected = expected(op, worldSize, j);
                        if (Math.abs(array.getDouble(j) - expected) > Math.abs(expected) * 1e-6)
                        {
                            wrong.add("call " + i + " (" + op + " of " + length + ") element " + j + ": " +
                                array.getDouble(j) + " instead of " + expected);
                            break;
                        }
                    }
                }
                return String.join("; ", wrong);
            });
            for (int r = 0; r < worldSize; r++)
            {
                assertEquals("", failures.get(r), "rank " + r);
            }
        }
    }

    @Test
    void shouldAllReduceLargeArraysBetweenRanksThatRunTheirOwnDrivers() throws Exception
    {
        // Ranks on different drivers talk over UDP: the ring's chunks come through the inboxes, not a bulk lane.
        final int worldSize = 2;
        final int length = 300_001;
        final List<MediaDriver> drivers = new ArrayList<>();
        final ExecutorService threads = Executors.newFixedThreadPool(worldSize);
        try
        {
            final int port = InJvmGroup.freeUdpPort();
            final List<Future<double[]>> results = new ArrayList<>();
            for (int rank = 0; rank < worldSize; rank++)
            {
                final String directory = MediaDrivers.newDirectory("test");
                drivers.add(MediaDrivers.launch(directory));
                final ProcessTopology topology = ProcessTopology.of(rank, worldSize, 0, 1, rank, "127.0.0.1", port);
                final AcceleratorSettings settings = AcceleratorSettings.defaults().withExitOnPeerLoss(false).withAeronDirectory(directory)
                    .withTimeout(Duration.ofSeconds(60)).withJobToken("udp-" + port);
                results.add(threads.submit(() ->
                {
                    try (Accelerator acc = Accelerator.create(topology, settings))
                    {
                        final INDArray array = Nd4j.create(DataType.FLOAT, length);
                        for (int j = 0; j < length; j++)
                        {
                            array.putScalar(j, value(acc.processIndex(), j));
                        }
                        acc.allReduce(array, ReduceOp.SUM);
                        acc.waitForEveryone();
                        return array.toDoubleVector();
                    }
                }));
            }
            final double[] first = results.get(0).get(120, TimeUnit.SECONDS);
            for (int j = 0; j < length; j++)
            {
                assertEquals(expected(ReduceOp.SUM, worldSize, j), first[j], "element " + j);
            }
            assertArrayEquals(first, results.get(1).get(120, TimeUnit.SECONDS));
        }
        finally
        {
            threads.shutdownNow();
            threads.awaitTermination(10, TimeUnit.SECONDS);
            drivers.forEach(CloseHelper::quietClose);
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
    void shouldFailEveryRankWhenOnlySomeArraysAreLargeEnoughForTheRing() throws Exception
    {
        // 4 KiB goes in one message at 2 ranks, 16 KiB round the ring: neither rank may wait for the deadline.
        try (InJvmGroup group = new InJvmGroup(2, 2, Duration.ofSeconds(30)))
        {
            final long started = System.nanoTime();
            final List<String> outcomes = group.run(acc ->
            {
                final INDArray array = Nd4j.ones(DataType.FLOAT, acc.isMainProcess() ? 1024 : 4096);
                return assertThrows(AccelerateException.class, () -> acc.allReduce(array, ReduceOp.SUM)).getMessage();
            });
            for (final String outcome : outcomes)
            {
                assertTrue(outcome.contains("collective mismatch") && outcome.contains("same length"), outcome);
            }
            assertTrue(System.nanoTime() - started < TimeUnit.SECONDS.toNanos(20), "a rank ran into its deadline");
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

    private static double expected(final ReduceOp op, final int worldSize, final int index)
    {
        double expected = op == ReduceOp.MIN ? Double.MAX_VALUE : op == ReduceOp.MAX ? -Double.MAX_VALUE : 0;
        for (int r = 0; r < worldSize; r++)
        {
            final double v = value(r, index);
            expected = op == ReduceOp.MIN ? Math.min(expected, v) : op == ReduceOp.MAX ? Math.max(expected, v) :
                expected + v;
        }
        return op == ReduceOp.MEAN ? expected / worldSize : expected;
    }

    private static void sleepMillis(final long millis)
    {
        try
        {
            Thread.sleep(millis);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", ex);
        }
    }

    private static double value(final int rank, final int index)
    {
        // Small integers: sums are exact in float whatever order the ring adds them in.
        return (rank + 1) * ((index % 13) - 6);
    }
}
