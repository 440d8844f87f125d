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
import org.junit.jupiter.params.provider.ValueSource;

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

    @ParameterizedTest(name = "{0} ranks, {1}, {2}")
    @CsvSource({ "2, mln, adam", "2, cg, sgd", "3, mln, adam-decay", "3, cg, adam", "2, mln-bn, adam" })
    void shouldMatchOneProcessWithTheUpdaterSplitBetweenRanks(final int ranks, final String model, final String updater)
        throws Exception
    {
        final LaunchedJob job = LaunchedJob.run(
            List.of("launch", "--nproc-per-node", Integer.toString(ranks), "--master-port", "0", "--"),
            LaunchedJob.javaWorker(DataParallelProbe.class, "sharded", model, updater, dir.toString()), Map.of(), 150);
        assertEquals(0, job.exitCode, job::toString);
        assertEqualOnEveryRankAndCloseToOneProcess(dir, ranks);
        assertStateEqualOnEveryRankAndCloseToTheReference(dir, ranks);
    }

    /**
     * Checks the updater states {@link DataParallelProbe}'s {@code sharded} mode wrote, whole again after fit:
     * every rank's the same to the bit, and within 1e-5 of the reference's.
     */
    static void assertStateEqualOnEveryRankAndCloseToTheReference(final Path dir, final int ranks) throws IOException
    {
        final String state = Files.readString(dir.resolve("state-0.txt"));
        for (int rank = 1; rank < ranks; rank++)
        {
            assertEquals(state, Files.readString(dir.resolve("state-" + rank + ".txt")), "rank " + rank + "'s updater state");
        }
        assertClose(Files.readString(dir.resolve("reference-state.txt")), state, "updater state");
    }

    @ParameterizedTest(name = "{0} ranks")
    @ValueSource(ints = { 2, 3 })
    void shouldStayIdenticalWhenTheLastBatchIsShort(final int ranks) throws Exception
    {
        final LaunchedJob job = LaunchedJob.run(
            List.of("launch", "--nproc-per-node", Integer.toString(ranks), "--master-port", "0", "--"),
            LaunchedJob.javaWorker(DataParallelProbe.class, "ragged", dir.toString()), Map.of(), 150);
        assertEquals(0, job.exitCode, job::toString);
        assertEqualOnEveryRankAndCloseToOneProcess(dir, ranks);
    }

    @Test
    void shouldGoOnOrResumeWithTheSplitUpdaterAfterAFailedFit() throws Exception
    {
        final LaunchedJob job = LaunchedJob.run(List.of("launch", "--nproc-per-node", "2", "--master-port", "0", "--"),
            LaunchedJob.javaWorker(DataParallelProbe.class, "sharded-after-failure", dir.toString()),
            Map.of("ACCELERATE_TIMEOUT_SECONDS", "60"), 150);
        assertEquals(0, job.exitCode, job::toString);
        // 12 steps in the first epoch, 3 of the second before the failing one (DL4J counts a step after its
        // listeners, and one of them failed), 12 in the next fit.
        assertTrue(job.output.contains("after a failed fit: 27 steps in all, every rank the same, split and whole alike"),
            job::toString);
        // Resumed from the checkpoint at step 15, into the split updater the failure left: 9 more steps.
        assertTrue(job.output.contains("after a failed fit and a resume: 24 steps in all, every rank the same, split " +
            "and whole alike"), job::toString);
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
        assertClose(Files.readString(dir.resolve("reference.txt")), rank0, "parameter");
    }

    /**
     * @param expected one value a line, as raw long bits.
     * @param actual   the same.
     * @param what     names a value in a failure.
     */
    private static void assertClose(final String expected, final String actual, final String what)
    {
        final String[] reference = expected.isEmpty() ? new String[0] : expected.split("\n");
        final String[] values = actual.isEmpty() ? new String[0] : actual.split("\n");
        assertEquals(reference.length, values.length, what + " count");
        for (int i = 0; i < values.length; i++)
        {
            assertEquals(Double.longBitsToDouble(Long.parseLong(reference[i])),
                Double.longBitsToDouble(Long.parseLong(values[i])), 1e-5, what + " " + i);
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
