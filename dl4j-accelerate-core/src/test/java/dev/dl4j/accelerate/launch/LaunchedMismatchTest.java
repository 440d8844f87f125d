package dev.dl4j.accelerate.launch;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Ranks that call different collectives, as real processes through the launcher: every rank must fail (well before
 * any deadline) with a message saying what each rank called.
 */
class LaunchedMismatchTest
{
    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0}")
    @CsvSource({
        "mismatch-barrier-allreduce, waitForEveryone #2, allReduce #2 (64 bytes)",
        "mismatch-sizes,             allReduce #2 (64 bytes), allReduce #2 (128 bytes)",
        "mismatch-trigger,           checkTrigger #2, waitForEveryone #2" })
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void shouldReportAMismatchOnEveryRankWithWhatEachCalled(
        final String scenario, final String rank0Called, final String rank1Called) throws Exception
    {
        final long startNs = System.nanoTime();
        final LaunchedJob job = LaunchedJob.run(List.of("launch", "--nproc-per-node", "2", "--master-port", "0", "--"),
            LaunchedJob.javaWorker(FailureProbe.class, scenario, dir.toString(), "1"),
            // A deadline far beyond the test's: the mismatch must be seen, not timed out.
            Map.of("ACCELERATE_TIMEOUT_SECONDS", "600"), 50);
        assertNotEquals(0, job.exitCode, job::toString);
        assertTrue(System.nanoTime() - startNs < TimeUnit.SECONDS.toNanos(50), job::toString);
        for (int rank = 0; rank < 2; rank++)
        {
            final Path error = dir.resolve("rank-" + rank + ".error");
            assertTrue(Files.exists(error), "rank " + rank + " reported nothing:\n" + job);
            final String message = Files.readString(error);
            assertTrue(message.contains("collective mismatch"), "rank " + rank + ": " + message);
            // Each in its call, or already failed in it when the other looked.
            assertTrue(Pattern.compile("What each rank called: rank 0 (failed )?in " + Pattern.quote(rank0Called) +
                "; rank 1 (failed )?in " + Pattern.quote(rank1Called)).matcher(message).find(),
                "rank " + rank + ": " + message);
        }
        assertEquals(List.of(), job.leftoverDriverDirectories());
    }
}
