package dev.dl4j.accelerate.launch;

import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;

import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The launcher refuses bad input with a clear message and starts nothing: no worker, no media driver.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LauncherBadInputTest
{
    @TempDir
    Path dir;

    @Test
    void shouldRejectZeroProcessesPerNode()
    {
        final CliResult result = run("launch", "--nproc-per-node", "0", "--", "touch", marker());
        assertEquals(2, result.code);
        assertTrue(result.err.contains("--nproc-per-node 0 must be at least 1"), result.err);
        assertNothingStarted();
    }

    @Test
    void shouldRejectAnUnknownFlag()
    {
        final CliResult result = run("launch", "--nproc-per-node", "2", "--bogus", "--", "touch", marker());
        assertEquals(2, result.code);
        assertTrue(result.err.contains("Unknown option: '--bogus'"), result.err);
        assertNothingStarted();
    }

    @Test
    void shouldRejectACommandThatDoesNotExist()
    {
        final CliResult result = run("launch", "--nproc-per-node", "2", "--master-port", "0", "--", "no-such-program-xyz");
        assertEquals(2, result.code);
        assertTrue(result.err.contains("worker command 'no-such-program-xyz' not found on PATH="), result.err);
    }

    @Test
    void shouldRejectAMasterPortInUse() throws Exception
    {
        try (DatagramSocket taken = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)))
        {
            final int port = taken.getLocalPort();
            final CliResult result = run("launch", "--nproc-per-node", "2", "--master-port", Integer.toString(port),
                "--", "touch", marker());
            assertEquals(2, result.code);
            assertTrue(result.err.contains("--master-port " + port + " on --master-addr 127.0.0.1 cannot be used"), result.err);
            assertNothingStarted();
        }
    }

    @Test
    void shouldRejectPortZeroAcrossHosts()
    {
        final CliResult result = run("launch", "--nproc-per-node", "1", "--nnodes", "2", "--master-port", "0", "--",
            "touch", marker());
        assertEquals(2, result.code);
        assertTrue(result.err.contains("--master-port 0 (pick a free port) works with --nnodes 1 only"), result.err);
        assertNothingStarted();
    }

    @Test
    void shouldRejectANodeRankOutsideTheJob()
    {
        final CliResult result = run("launch", "--nproc-per-node", "1", "--nnodes", "2", "--node-rank", "2",
            "--master-port", "29999", "--", "touch", marker());
        assertEquals(2, result.code);
        assertTrue(result.err.contains("--node-rank 2 must be in [0, --nnodes 2)"), result.err);
        assertNothingStarted();
    }

    @Test
    void shouldRejectALoopbackMasterAcrossHosts()
    {
        final CliResult result = run("launch", "--nproc-per-node", "1", "--nnodes", "2", "--master-port", "29999", "--",
            "touch", marker());
        assertEquals(2, result.code);
        assertTrue(result.err.contains("--master-addr 127.0.0.1 is a loopback address, which other hosts cannot reach"),
            result.err);
        assertNothingStarted();
    }

    @Test
    void shouldRejectAMalformedSettingBeforeStartingWorkers()
    {
        final Map<String, String> env = new HashMap<>();
        env.put("ACCELERATE_PEER_TIMEOUT_MS", "2s");
        final CliResult result = run(env, "launch", "--nproc-per-node", "2", "--master-port", "0", "--", "touch", marker());
        assertEquals(2, result.code);
        assertTrue(result.err.contains("ACCELERATE_PEER_TIMEOUT_MS='2s' is not a whole number of milliseconds"),
            result.err);
        assertNothingStarted();
    }

    @Test
    void shouldRunWorkersWithoutADoubleDashToo() throws IOException
    {
        final CliResult result = run("launch", "-n", "1", "--master-port", "0", "touch", marker());
        assertEquals(0, result.code, result.err);
        assertTrue(Files.exists(Path.of(marker())));
    }

    @Test
    void shouldPrintWhatABugReportNeeds()
    {
        final Map<String, String> env = new HashMap<>();
        env.put("RANK", "1");
        env.put("WORLD_SIZE", "1");
        final CliResult result = run(env, "env");
        assertEquals(0, result.code, result.err);
        assertTrue(result.out.contains("Aeron:     1.51.0"), result.out);
        assertTrue(result.out.contains("DL4J:      1.0.0-M2.1"), result.out);
        assertTrue(result.out.contains("Cores:"), result.out);
        assertTrue(result.out.contains("Topology:  INVALID: RANK=1 must be in [0, WORLD_SIZE=1)"), result.out);
    }

    private String marker()
    {
        return dir.resolve("started").toString();
    }

    private void assertNothingStarted()
    {
        assertFalse(Files.exists(Path.of(marker())), "a worker was started");
    }

    private static CliResult run(final String... args)
    {
        return run(new HashMap<>(Map.of("PATH", System.getenv("PATH"))), args);
    }

    private static CliResult run(final Map<String, String> env, final String... args)
    {
        return CliResult.run(env, args);
    }

}
