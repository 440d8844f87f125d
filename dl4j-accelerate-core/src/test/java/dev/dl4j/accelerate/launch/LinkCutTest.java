package dev.dl4j.accelerate.launch;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Two hosts (network namespaces), one rank each, in a loop of collectives; then the link between them goes down.
 * Neither side can tell a dead peer from a dead link, and must not wait for its 60 s deadline: each names the
 * other as lost once the peer timeout has passed, and every process on both hosts is gone within 5 s of that.
 */
class LinkCutTest
{
    private static final int MASTER_PORT = 29517;
    private static final long PEER_TIMEOUT_MS = 2000;

    @Test
    @Timeout(120)
    void shouldNameThePeerAndEndEveryProcessOnBothHostsWhenTheLinkIsCut(@TempDir final Path dir) throws Exception
    {
        try (VirtualHosts hosts = VirtualHosts.create(2))
        {
            final CompletableFuture<List<LaunchedJob>> job = CompletableFuture.supplyAsync(() ->
            {
                try
                {
                    return hosts.launch(2, 1, MASTER_PORT,
                        LaunchedJob.javaWorker(ProcessControlProbe.class, "loop", dir.toString()),
                        Map.of("ACCELERATE_TIMEOUT_SECONDS", "60",
                            "ACCELERATE_PEER_TIMEOUT_MS", Long.toString(PEER_TIMEOUT_MS)), 90);
                }
                catch (final Exception ex)
                {
                    throw new IllegalStateException(ex);
                }
            });
            for (int rank = 0; rank < 2; rank++)
            {
                final Path ready = dir.resolve("rank-" + rank + ".log");
                final long deadlineMs = System.currentTimeMillis() + 60_000;
                while (!Files.exists(ready) || !Files.readString(ready).contains("ready"))
                {
                    if (job.isDone() || System.currentTimeMillis() > deadlineMs)
                    {
                        fail("rank " + rank + " never got going" + (job.isDone() ? ": " + job.get() : ""));
                    }
                    Thread.sleep(20);
                }
            }

            final long cutNs = System.nanoTime();
            hosts.exec(1, "ip", "link", "set", VirtualHosts.LINK, "down");
            final List<LaunchedJob> launchers = job.get(60, TimeUnit.SECONDS);
            final long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - cutNs);
            System.out.println("link cut: every process on both hosts ended " + tookMs + " ms after the cut");

            // The fixture gives a launcher a few seconds to fail by itself after the first failed; none needed it.
            assertTrue(tookMs < PEER_TIMEOUT_MS + 5_000, "took " + tookMs + " ms after the cut: " + launchers);
            for (int host = 0; host < 2; host++)
            {
                final LaunchedJob launcher = launchers.get(host);
                assertNotEquals(0, launcher.exitCode, launcher::toString);
                assertNotEquals(-1, launcher.exitCode, "killed at the deadline: " + launcher);
                // The other host's rank, named as the lost one (not merely mentioned beside another).
                assertTrue(Pattern.compile("rank " + (1 - host) + " \\([^)]*\\) was lost").matcher(launcher.output)
                    .find(), launcher::toString);
                assertEquals(List.of(), launcher.leftoverDriverDirectories(), launcher::toString);
            }
        }
    }
}
