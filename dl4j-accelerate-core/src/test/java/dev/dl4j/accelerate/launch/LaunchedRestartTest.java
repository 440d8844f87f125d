package dev.dl4j.accelerate.launch;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * With {@code --max-restarts 1}, a worker SIGKILLed mid-training makes the launcher restart the group; the trainer
 * resumes from its newest checkpoint (mid-epoch, skipping consumed batches, random state restored: dropout is on)
 * and the job ends with exactly the parameters of an uninterrupted run.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class LaunchedRestartTest
{
    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0} rank(s)")
    @ValueSource(ints = { 1, 2 })
    void shouldFinishAfterAKillWithTheParametersOfAnUninterruptedRun(final int ranks) throws Exception
    {
        final Path straight = Files.createDirectories(dir.resolve("straight"));
        final Path restarted = Files.createDirectories(dir.resolve("restarted"));
        final Map<String, String> oneThread = Map.of("OMP_NUM_THREADS", "1");

        final LaunchedJob uninterrupted = LaunchedJob.run(launch(ranks, 0), LaunchedJob.javaWorker(ResumeProbe.class,
            straight.toString(), "-1"), oneThread, 120);
        assertEquals(0, uninterrupted.exitCode, uninterrupted::toString);

        // Killed at step 23: mid-epoch, three steps after the checkpoint at step 20.
        final LaunchedJob killed = LaunchedJob.run(launch(ranks, 1), LaunchedJob.javaWorker(ResumeProbe.class,
            restarted.toString(), "23"), oneThread, 180);
        assertEquals(0, killed.exitCode, killed::toString);
        assertTrue(killed.output.contains("failed with exit code 137 (killed by SIGKILL)"), killed::toString);
        assertTrue(killed.output.contains("accelerate: restarting all " + ranks + " workers (restart 1 of 1)"), killed::toString);
        assertTrue(killed.output.contains("resumed from checkpoint-20"), killed::toString);
        assertEquals(Files.readString(straight.resolve("final.txt")), Files.readString(restarted.resolve("final.txt")),
            "parameters after a kill and a resume must equal an uninterrupted run's, bit for bit");
        // The resumed epoch reports the loss of all its steps, those before the checkpoint included; the epochs
        // after it, their own. Summed in another order, so equal to rounding.
        final List<String> all = Files.readAllLines(straight.resolve("losses.txt"));
        final List<String> resumed = Files.readAllLines(restarted.resolve("losses.txt"));
        assertEquals(4, all.size());
        assertTrue(!resumed.isEmpty() && resumed.size() <= all.size(), "the resumed attempt trained " + resumed);
        for (int i = 0; i < resumed.size(); i++)
        {
            final double expected = Double.parseDouble(all.get(all.size() - resumed.size() + i));
            assertEquals(expected, Double.parseDouble(resumed.get(i)), 1e-12 * Math.abs(expected),
                "loss of epoch " + (all.size() - resumed.size() + i + 1) + ": resumed " + resumed + ", uninterrupted " + all);
        }
        assertEquals(List.of(), killed.leftoverDriverDirectories());
    }

    private static List<String> launch(final int ranks, final int maxRestarts)
    {
        return List.of("launch", "--nproc-per-node", Integer.toString(ranks), "--master-port", "0",
            "--max-restarts", Integer.toString(maxRestarts), "--");
    }
}
