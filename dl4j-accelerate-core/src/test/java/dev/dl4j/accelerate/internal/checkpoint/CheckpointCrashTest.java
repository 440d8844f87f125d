package dev.dl4j.accelerate.internal.checkpoint;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A process saving checkpoints is killed with SIGKILL at random moments, again and again: after every kill the
 * newest checkpoint loads and verifies, and it is at least the last one the process reported complete.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class CheckpointCrashTest
{
    private static final int TRIALS = 25;

    @TempDir
    Path root;

    @Test
    void shouldAlwaysLeaveTheNewestCompleteCheckpointLoadable() throws Exception
    {
        final Random random = new Random(42);
        final CheckpointStore store = new CheckpointStore(root);
        int interruptedSaves = 0;
        for (int trial = 0; trial < TRIALS; trial++)
        {
            final Process victim = new ProcessBuilder(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx128m", "-XX:+UseSerialGC",
                "-cp", System.getProperty("java.class.path"), CheckpointHammer.class.getName(), root.toString()))
                .redirectErrorStream(true).start();
            // Steps the victim reported complete, read on a thread of their own: killing a process closes its pipes.
            final AtomicLong reported = new AtomicLong(-1);
            final CountDownLatch firstSave = new CountDownLatch(1);
            final Thread reader = new Thread(() ->
            {
                try (BufferedReader out = new BufferedReader(new InputStreamReader(victim.getInputStream(), StandardCharsets.UTF_8)))
                {
                    for (String line = out.readLine(); line != null; line = out.readLine())
                    {
                        if (line.startsWith("saved "))
                        {
                            reported.set(Long.parseLong(line.substring(6)));
                            firstSave.countDown();
                        }
                    }
                }
                catch (final IOException closedByKill)
                {
                    // The pipe went with the process.
                }
            });
            reader.start();
            final long lastReportedBeforeKill;
            try
            {
                assertTrue(firstSave.await(60, TimeUnit.SECONDS), "the victim never completed a save");
                // Let it run into the middle of another save, at a random moment, then kill it.
                victim.waitFor(random.nextInt(120), TimeUnit.MILLISECONDS);
                lastReportedBeforeKill = reported.get();
            }
            finally
            {
                // Also when the wait failed or the test timed out: the victim must not write on for ever.
                victim.destroyForcibly();
            }
            assertTrue(victim.waitFor(20, TimeUnit.SECONDS));
            reader.join(10_000);
            try (java.util.stream.Stream<Path> entries = java.nio.file.Files.list(root))
            {
                interruptedSaves += entries.anyMatch(p -> p.getFileName().toString().startsWith(".checkpoint-")) ? 1 : 0;
            }
            final CheckpointStore.Checkpoint newest = store.newest().orElseThrow();
            assertTrue(newest.step() >= lastReportedBeforeKill,
                "trial " + trial + ": newest " + newest.step() + " < reported " + lastReportedBeforeKill);
            assertEquals(newest.step(), store.load(newest.directory()).step(), "the newest checkpoint must verify");
            assertArrayEquals(CheckpointHammer.content(newest.step(), 3_000_000), newest.files().get("model.bin"));
            assertEquals(Long.toString(newest.step()), newest.metadata().get("step"));
        }
        // The kills must have hit saves in progress, or this test proves nothing.
        assertTrue(interruptedSaves > 0, "no kill landed in the middle of a save");
    }
}
