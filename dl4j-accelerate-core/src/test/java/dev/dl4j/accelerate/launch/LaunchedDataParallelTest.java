package dev.dl4j.accelerate.launch;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Data-parallel training across real JVMs started by the real launcher: n ranks at local batch b end exactly
 * where one process at batch n·b ends, and all ranks hold bitwise-identical parameters.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class LaunchedDataParallelTest
{
    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0} ranks, {1}, {2}")
    @CsvSource({ "2, mln, sgd", "2, mln, adam", "2, cg, sgd", "2, cg, adam", "3, mln, adam" })
    void shouldMatchOneProcessAtTheGlobalBatch(final int ranks, final String model, final String updater) throws Exception
    {
        final LaunchedJob job = LaunchedJob.run(
            List.of("launch", "--nproc-per-node", Integer.toString(ranks), "--master-port", "0", "--"),
            LaunchedJob.javaWorker(DataParallelProbe.class, "equivalence", model, updater, dir.toString()), Map.of(), 150);
        assertEquals(0, job.exitCode, job::toString);
        assertTrue(job.output.contains("max |ddp - single process| = "), job::toString);
        assertEqualOnEveryRankAndCloseToOneProcess(dir, ranks);
        assertEquals(List.of(), job.leftoverDriverDirectories());
    }

    /**
     * Checks what {@link DataParallelProbe}'s {@code equivalence} mode wrote: every rank's parameters bitwise equal
     * to rank 0's, and within 1e-5 of one process training at the global batch.
     */
    static void assertEqualOnEveryRankAndCloseToOneProcess(final Path dir, final int ranks) throws IOException
    {
        final String rank0 = Files.readString(dir.resolve("params-0.txt"));
        for (int rank = 1; rank < ranks; rank++)
        {
            assertEquals(rank0, Files.readString(dir.resolve("params-" + rank + ".txt")), "rank " + rank + " differs bitwise");
        }
        final String[] ddp = rank0.split("\n");
        final String[] reference = Files.readString(dir.resolve("reference.txt")).split("\n");
        assertEquals(reference.length, ddp.length);
        for (int i = 0; i < ddp.length; i++)
        {
            final double expected = Double.longBitsToDouble(Long.parseLong(reference[i]));
            final double actual = Double.longBitsToDouble(Long.parseLong(ddp[i]));
            assertEquals(expected, actual, 1e-5, "parameter " + i);
        }
    }

    @Test
    void shouldTrainEvaluateStopAndSaveIdenticallyOnEveryRank() throws Exception
    {
        final LaunchedJob job = LaunchedJob.run(
            List.of("launch", "--nproc-per-node", "3", "--master-port", "0", "--"),
            LaunchedJob.javaWorker(DataParallelProbe.class, "trainer", dir.toString()), Map.of("ACCELERATE_TIMEOUT_SECONDS", "60"),
            150);
        assertEquals(0, job.exitCode, job::toString);
        final String summary = Files.readString(dir.resolve("trainer.txt"));
        // The last rank asked to stop after epoch 2 (counted from 0): everyone ran exactly 3 epochs.
        assertTrue(summary.matches("losses=\\[[^,]+, [^,]+, [^,]+\\] .*"), summary);
        // 59 test examples in 8 batches over 3 ranks, unpadded: each counted once.
        assertTrue(summary.contains(" rows=59 "), summary);
        assertTrue(summary.contains(" es.epochs=4 es.reason=EpochTerminationCondition es.scores=4 best=true "), summary);
        assertTrue(Files.exists(dir.resolve("model.zip")));
        try (java.util.stream.Stream<Path> files = Files.list(dir))
        {
            assertEquals(List.of(), files.filter(p -> p.toString().endsWith(".tmp")).toList(), "temporary files left");
        }
    }

    @Test
    void shouldFinishUnevenDataWithoutAHang() throws Exception
    {
        final LaunchedJob job = LaunchedJob.run(
            List.of("launch", "--nproc-per-node", "3", "--master-port", "0", "--"),
            LaunchedJob.javaWorker(DataParallelProbe.class, "uneven", dir.toString()), Map.of("ACCELERATE_TIMEOUT_SECONDS", "60"),
            150);
        assertEquals(0, job.exitCode, job::toString);
        assertEquals("[3, 3, 3]", Files.readString(dir.resolve("uneven.txt")));
    }
}
