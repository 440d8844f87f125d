package dev.dl4j.accelerate.launch;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import dev.dl4j.accelerate.internal.checkpoint.CheckpointStore;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The failure matrix: each case one job on two "hosts" (two launchers on this machine, each with its own media
 * driver, so ranks of different nodes talk UDP and only heartbeats tell one node that the other's ranks are gone).
 * A rank is killed in the middle of a barrier loop, an all-reduce loop, a checkpoint being written or while idle;
 * stopped (SIGSTOP); throws from user code, or returns early while the others go on. In every case every launcher
 * must have exited within the peer timeout (2 s) + 5 s, non-zero (but the one whose only worker returned 0), the
 * survivors must name the rank that was lost and their launcher say so, and nothing of the job may be left: no
 * process, no shared-memory file, no broken newest checkpoint. Each case prints its measured times.
 */
class FailureMatrixTest
{
    /** ACCELERATE_PEER_TIMEOUT_MS's default. */
    private static final long PEER_TIMEOUT_MS = 2000;
    /** Every launcher must have exited within this much of the failure. */
    private static final long EXIT_BOUND_MS = PEER_TIMEOUT_MS + 5000;
    private static final long START_SECONDS = 60;

    private static String address;

    @TempDir
    Path dir;

    @BeforeAll
    static void findAddress() throws IOException
    {
        final Optional<String> found = TwoHostJob.localNetworkAddress();
        assumeTrue(found.isPresent(), "no non-loopback IPv4 interface: two launchers need a master address " +
            "other hosts could reach");
        address = found.get();
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void shouldLoseNoRankOfAHealthyJobThatPausesLongerThanThePeerTimeout() throws Exception
    {
        try (TwoHostJob job = TwoHostJob.start(address, dir, 2,
            LaunchedJob.javaWorker(FailureProbe.class, "healthy", dir.toString(), "-1"), peerTimeout()))
        {
            assertTrue(job.awaitExit(START_SECONDS), job::toString);
            assertEquals(0, job.exitCode(0), job::toString);
            assertEquals(0, job.exitCode(1), job::toString);
            assertEquals(List.of(), job.leftoverDriverDirectories());
        }
    }

    @ParameterizedTest(name = "{0} of a rank in {1}, {2} rank(s) a host")
    @CsvSource(delimiter = '|', value = {
        // signal | scenario | ranks a host | victim | node whose output tells | what it says
        "KILL | barrier   | 1 | 1 | 0 | PeerLostException: rank 1 (node 1, host",
        "KILL | allreduce | 1 | 1 | 0 | PeerLostException: rank 1 (node 1, host",
        // Its host's launcher stops the other rank there at once, which names the killed one on its way out.
        "KILL | barrier   | 2 | 3 | 0 | PeerLostException: rank 3 (node 1, host",
        // Not in a collective: ends itself.
        "KILL | idle      | 1 | 1 | 0 | ends its process (exit code 75): rank 1 (node 1, host",
        // Hung, not dead: its own launcher must not wait for it for ever.
        "STOP | barrier   | 1 | 1 | 1 | was stopped (SIGSTOP, or held by a debugger) for more than 2000 ms, so its " +
            "peers counted it as lost; the launcher killed it" })
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void shouldStopEveryHostWithinSecondsNamingTheLostRank(
        final String signal, final String scenario, final int perNode, final int victim, final int node,
        final String says) throws Exception
    {
        final TwoHostJob job = killed(scenario, perNode, victim, signal.equals("STOP"), null);
        assertTrue(job.output(node).contains(says), job::toString);
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void shouldKeepTheNewestCheckpointLoadableWhenTheWriterIsKilledInSaveState() throws Exception
    {
        killed("save", 1, 0, false, "writing");
        final List<String> saved = Files.readAllLines(dir.resolve("saved.txt"));
        final long lastSaved = Long.parseLong(saved.get(saved.size() - 1));
        final CheckpointStore store = new CheckpointStore(dir.resolve("ckpt"));
        final CheckpointStore.Checkpoint newest = store.newest().orElseThrow();
        // load() verifies every file's size and checksum.
        final CheckpointStore.Checkpoint loaded = store.load(newest.directory());
        assertTrue(loaded.step() >= lastSaved, "newest loadable checkpoint " + loaded.step() +
            " is older than the last one saveState returned: " + lastSaved);
        assertTrue(loaded.files().containsKey("model.zip"), loaded.files().keySet()::toString);
        try (Stream<Path> left = Files.list(dir.resolve("ckpt")))
        {
            System.out.println("failure matrix: save: newest complete checkpoint-" + loaded.step() + " loads (last " +
                "saveState returned checkpoint-" + lastSaved + "); partial ones left, never loaded: " +
                left.filter(p -> p.getFileName().toString().startsWith(".")).toList());
        }
    }

    @ParameterizedTest(name = "a rank that does \"{0}\" while the others go on")
    @CsvSource(delimiter = '|', value = {
        // scenario    | its launcher's exit code | what its output says | what the others say
        "throw          | 1 | probe: rank 1 fails in user code | rank 1 has closed its Accelerator and left the job " +
            "(it returned early, or threw: its log says which)",
        // Its host's launcher saw every worker succeed; the job's failure shows on the others.
        "return         | 0 | probe: rank 1 returns early | rank 1 has closed its Accelerator and left the job",
        // Without try-with-resources: the JVM must end all the same, and say so.
        "throw-unclosed | 1 | probe: rank 1 fails in user code | PeerLostException: rank 1 (node 1, host " })
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void shouldStopTheOthersWhenARankLeavesTheCollectivesEarly(
        final String scenario, final int victimNodeExit, final String says, final String othersSay) throws Exception
    {
        try (TwoHostJob job = started(scenario, 1, 1))
        {
            final long goNs = System.nanoTime();
            Files.writeString(dir.resolve("go"), "go");
            final String all = finished(job, goNs, scenario);
            assertEquals(victimNodeExit, job.exitCode(1), all);
            assertTrue(job.output(1).contains(says), all);
            assertNotEquals(0, job.exitCode(0), all);
            assertTrue(job.output(0).contains(othersSay), all);
        }
    }

    /**
     * Kills (or stops) the victim once every rank is in its loop, and, if {@code cue} is given, as soon as a worker
     * writes that file.
     */
    private TwoHostJob killed(
        final String scenario, final int perNode, final int victim, final boolean stop, final String cue)
        throws Exception
    {
        try (TwoHostJob job = started(scenario, perNode, victim))
        {
            final long pid = job.pidOf(victim);
            if (cue != null)
            {
                job.awaitFile(dir.resolve(cue), System.nanoTime() + TimeUnit.SECONDS.toNanos(START_SECONDS));
            }
            final long killNs = System.nanoTime();
            if (stop)
            {
                assertEquals(0, new ProcessBuilder("kill", "-STOP", Long.toString(pid)).start().waitFor());
            }
            else
            {
                assertTrue(ProcessHandle.of(pid).orElseThrow().destroyForcibly());
            }
            final String all = finished(job, killNs, scenario + (stop ? " SIGSTOP" : " SIGKILL") + " rank " + victim);
            for (int node = 0; node < 2; node++)
            {
                assertNotEquals(0, job.exitCode(node), all);
            }
            final int victimNode = victim / perNode;
            final int otherNode = 1 - victimNode;
            assertTrue(Pattern.compile("rank " + victim + " \\([^)]*\\) was lost").matcher(job.output(otherNode)).find(),
                "the other host's ranks must name rank " + victim + ":\n" + all);
            assertTrue(job.output(victimNode).contains("accelerate: rank " + victim + " (node " + victimNode), all);
            // The survivors' launcher says why its worker ended, and where to look.
            assertTrue(job.output(otherNode).contains(" because rank " + victim + " (node " + victimNode + ", host "), all);
            assertTrue(job.output(otherNode).contains("accelerate: the root cause is on node " + victimNode), all);
            return job;
        }
    }

    /** The timeout the expected times and messages assume, set here rather than taken from the default. */
    private static Map<String, String> peerTimeout()
    {
        return Map.of("ACCELERATE_PEER_TIMEOUT_MS", Long.toString(PEER_TIMEOUT_MS));
    }

    private TwoHostJob started(final String scenario, final int perNode, final int victim) throws Exception
    {
        final TwoHostJob job = TwoHostJob.start(address, dir, perNode,
            LaunchedJob.javaWorker(FailureProbe.class, scenario, dir.toString(), Integer.toString(victim)), peerTimeout());
        try
        {
            job.awaitFiles("pid", START_SECONDS);
            job.awaitFiles("ready", START_SECONDS);
            return job;
        }
        catch (final Exception | AssertionError ex)
        {
            job.close();
            throw ex;
        }
    }

    /**
     * Waits for both launchers; checks they ended in time and left nothing behind.
     *
     * @return both launchers' output, for messages.
     */
    private String finished(final TwoHostJob job, final long sinceNs, final String what) throws Exception
    {
        final boolean ended = job.awaitExit(EXIT_BOUND_MS / 1000 + 10);
        final String all = job.output();
        assertTrue(ended, "launchers still running " + (EXIT_BOUND_MS / 1000 + 10) + " s after the failure:\n" + all);
        final long node0 = job.exitedAfterMs(0, sinceNs);
        final long node1 = job.exitedAfterMs(1, sinceNs);
        System.out.println("failure matrix: " + what + ": launcher of node 0 exited " + job.exitCode(0) + " after " +
            node0 + " ms, node 1 exited " + job.exitCode(1) + " after " + node1 + " ms");
        assertTrue(node0 <= EXIT_BOUND_MS && node1 <= EXIT_BOUND_MS, "launchers exited " + node0 + " and " + node1 +
            " ms after the failure; at most " + EXIT_BOUND_MS + " allowed:\n" + all);
        assertEquals(List.of(), job.survivors(), "processes of the job left running:\n" + all);
        assertEquals(List.of(), job.leftoverDriverDirectories(), "media driver files left:\n" + all);
        return all;
    }
}
