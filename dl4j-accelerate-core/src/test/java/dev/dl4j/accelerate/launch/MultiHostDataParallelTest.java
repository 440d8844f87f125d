package dev.dl4j.accelerate.launch;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Data-parallel training across hosts: two network namespaces ({@link VirtualHosts}), each with its own launcher
 * and media driver, two ranks each, over Aeron UDP. The four ranks, training with the trainer's updater split
 * between them or with the listener on a plain fit, end where one process at the global batch ends and hold
 * bitwise-identical parameters; a lossy link and a stray sender spraying every port change nothing.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class MultiHostDataParallelTest
{
    private static final int HOSTS = 2;
    private static final int RANKS_PER_HOST = 2;
    private static final int WORLD = HOSTS * RANKS_PER_HOST;
    private static final int MASTER_PORT = 29500;
    private static final long JOB_TIMEOUT_S = 150;
    private static final Map<String, String> ENV = Map.of("ACCELERATE_TIMEOUT_SECONDS", "60");
    private static final Pattern DROPS = Pattern.compile("\\[rank (\\d+)] dl4j-accelerate: rank \\d+ dropped (\\d+) " +
        "frame\\(s\\) unread: (\\d+) with another job's token, (\\d+) malformed, (\\d+) from a rank outside the world " +
        "\\[0, \\d+\\), \\d+ forged or foreign heartbeat\\(s\\); (\\d+) of them at the rendezvous\\. " +
        "This host's media driver discarded (\\d+) invalid datagram");

    /** Rank 0's parameters after a run over a clean link; every other run must end with exactly these. */
    private String cleanParameters;

    @Test
    void shouldMatchOneProcessAtTheGlobalBatchAcrossTwoHosts(@TempDir final Path dir) throws Exception
    {
        cleanParameters = trainOnCleanLink(dir);
    }

    /** The listener on a plain fit, its small gradient on the latency path, between hosts. */
    @Test
    void shouldMatchOneProcessWithTheListenerAcrossTwoHosts(@TempDir final Path dir) throws Exception
    {
        try (VirtualHosts hosts = VirtualHosts.create(HOSTS))
        {
            assertTrained(hosts.launch(HOSTS, RANKS_PER_HOST, MASTER_PORT,
                LaunchedJob.javaWorker(DataParallelProbe.class, "equivalence", "mln", "adam", dir.toString()), ENV,
                JOB_TIMEOUT_S), dir);
        }
    }

    @Test
    void shouldEndWithIdenticalParametersWhenTheLinkDropsFivePercentOfUdpPackets(@TempDir final Path dir) throws Exception
    {
        final String expected = cleanParameters();
        try (VirtualHosts hosts = VirtualHosts.create(HOSTS))
        {
            hosts.dropUdp(5);
            final List<LaunchedJob> jobs = hosts.launch(HOSTS, RANKS_PER_HOST, MASTER_PORT, probe(dir), ENV, JOB_TIMEOUT_S);
            assertTrained(jobs, dir);
            final long dropped = hosts.droppedUdp();
            assertTrue(dropped > 0, "the link dropped no UDP packet: the loss rule did not act");
            System.out.println("5% loss: the links dropped " + dropped + " UDP packets; parameters unchanged");
        }
        assertEquals(expected, Files.readString(dir.resolve("params-0.txt")),
            "Aeron retransmits what the link drops: the parameters must be those of a clean run, bit for bit");
    }

    /**
     * A third host sprays random datagrams at every UDP port of both hosts, and Aeron streams of forged frames at
     * the rendezvous port while rank 0 waits there and at every rank's port while they train. It cannot forge
     * the job's token (random, known to the launchers only), so every forged frame is dropped unread and counted.
     */
    @Test
    void shouldIgnoreAStraySenderSprayingEveryPort(@TempDir final Path dir) throws Exception
    {
        final String expected = cleanParameters();
        final Path gates = Files.createDirectories(dir.resolve("gates"));
        final Path status = Files.createDirectories(dir.resolve("stray"));
        try (VirtualHosts hosts = VirtualHosts.create(HOSTS + 1))
        {
            final int strayHost = HOSTS;
            final List<String> strayCommand = new ArrayList<>(LaunchedJob.javaWorker(StraySender.class,
                status.toString(), hosts.address(0) + ":" + MASTER_PORT, Integer.toString(WORLD)));
            strayCommand.addAll(1, List.of(WorkerEnvironment.AERON_JVM_FLAGS.split(" ")));
            final Path strayLog = dir.resolve("stray.log");
            final Process stray = hosts.start(strayHost, strayCommand, strayLog);

            final CompletableFuture<List<LaunchedJob>> job = CompletableFuture.supplyAsync(() -> launch(hosts, dir,
                Map.of("ACCELERATE_TIMEOUT_SECONDS", "60", "PROBE_GATE_DIR", gates.toString())));

            // Rank 0 waits at the rendezvous for the last rank, which waits for this gate: the stray's forged
            // hellos reach rank 0 there first.
            awaitFile(status.resolve("master-hit"), job, strayLog);
            Files.writeString(gates.resolve("rendezvous"), "");
            for (int rank = 0; rank < WORLD; rank++)
            {
                awaitFile(gates.resolve("joined-" + rank), job, strayLog);
            }

            // Every UDP socket on both hosts is bound to the host's own address, and all of them are targets.
            final List<String> targets = new ArrayList<>();
            for (int host = 0; host < HOSTS; host++)
            {
                for (final String socket : hosts.boundUdp(host))
                {
                    assertTrue(socket.startsWith(hosts.address(host) + ":"), "host " + host + " has a UDP socket on " +
                        socket + ", not on its address " + hosts.address(host) + ": " + hosts.boundUdp(host));
                    targets.add(socket);
                }
            }
            final Path list = Files.writeString(status.resolve("targets.tmp"), String.join("\n", targets) + "\n");
            Files.move(list, status.resolve("targets"), StandardCopyOption.ATOMIC_MOVE);
            awaitFile(status.resolve("spraying"), job, strayLog);
            Files.writeString(gates.resolve("train"), "");

            final List<LaunchedJob> jobs = job.get(JOB_TIMEOUT_S + 30, TimeUnit.SECONDS);
            Files.writeString(status.resolve("stop"), "");
            assertTrue(stray.waitFor(30, TimeUnit.SECONDS), "the stray sender did not stop");
            final String strayOutput = Files.readString(strayLog);
            System.out.println(strayOutput.trim());
            assertTrained(jobs, dir);
            assertDropsCounted(jobs, strayOutput);
        }
        assertEquals(expected, Files.readString(dir.resolve("params-0.txt")),
            "a stray sender must change nothing: the parameters must be those of a clean run, bit for bit");
    }

    private void assertDropsCounted(final List<LaunchedJob> jobs, final String strayOutput)
    {
        final String output = jobs.get(0).output + jobs.get(1).output;
        final boolean[] reported = new boolean[WORLD];
        final Matcher matcher = DROPS.matcher(output);
        while (matcher.find())
        {
            final int rank = Integer.parseInt(matcher.group(1));
            final long foreign = Long.parseLong(matcher.group(3));
            final long malformed = Long.parseLong(matcher.group(4));
            final long atRendezvous = Long.parseLong(matcher.group(6));
            final long invalid = Long.parseLong(matcher.group(7));
            System.out.println(matcher.group().substring(matcher.group().indexOf("rank " + rank + " dropped")));
            assertTrue(foreign > 0, "rank " + rank + " counted no frame with another token: " + matcher.group());
            assertTrue(malformed > 0, "rank " + rank + " counted no malformed frame: " + matcher.group());
            assertTrue(invalid > 0, "rank " + rank + "'s driver counted no invalid datagram: " + matcher.group());
            if (rank == 0)
            {
                assertTrue(atRendezvous > 0, "rank 0 counted no forged hello at the rendezvous: " + matcher.group());
            }
            reported[rank] = true;
        }
        for (int rank = 0; rank < WORLD; rank++)
        {
            assertTrue(reported[rank], "rank " + rank + " reported no dropped frames; stray: " + strayOutput + "\n" + output);
        }
    }

    private static List<LaunchedJob> launch(final VirtualHosts hosts, final Path dir, final Map<String, String> env)
    {
        try
        {
            return hosts.launch(HOSTS, RANKS_PER_HOST, MASTER_PORT, probe(dir), env, JOB_TIMEOUT_S);
        }
        catch (final IOException ex)
        {
            throw new IllegalStateException(ex);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(ex);
        }
    }

    private static void awaitFile(final Path file, final CompletableFuture<List<LaunchedJob>> job, final Path strayLog)
        throws Exception
    {
        final long deadlineMs = System.currentTimeMillis() + 60_000;
        while (!Files.exists(file))
        {
            if (job.isDone() || System.currentTimeMillis() > deadlineMs)
            {
                fail(file.getFileName() + " never appeared" + (job.isDone() ? "; the job ended: " + job.get() : "") +
                    "\nstray: " + (Files.exists(strayLog) ? Files.readString(strayLog) : "(no output)"));
            }
            Thread.sleep(20);
        }
    }

    private synchronized String cleanParameters() throws Exception
    {
        if (cleanParameters == null)
        {
            final Path dir = Files.createTempDirectory("multi-host-clean");
            try
            {
                cleanParameters = trainOnCleanLink(dir);
            }
            finally
            {
                try (var files = Files.list(dir))
                {
                    for (final Path file : files.toList())
                    {
                        Files.delete(file);
                    }
                }
                Files.delete(dir);
            }
        }
        return cleanParameters;
    }

    private static String trainOnCleanLink(final Path dir) throws Exception
    {
        try (VirtualHosts hosts = VirtualHosts.create(HOSTS))
        {
            assertTrained(hosts.launch(HOSTS, RANKS_PER_HOST, MASTER_PORT, probe(dir), ENV, JOB_TIMEOUT_S), dir);
        }
        return Files.readString(dir.resolve("params-0.txt"));
    }

    private static List<String> probe(final Path dir)
    {
        // The trainer with its updater split between the four ranks: the ring over UDP, each rank's share of the
        // step between its phases, the state gathered from its owners between the epochs.
        return LaunchedJob.javaWorker(DataParallelProbe.class, "sharded", "mln", "adam-decay", dir.toString());
    }

    /** Every launcher succeeded, every rank holds the same parameters, and they match one process at the global batch. */
    private static void assertTrained(final List<LaunchedJob> jobs, final Path dir) throws IOException
    {
        for (int host = 0; host < jobs.size(); host++)
        {
            final LaunchedJob job = jobs.get(host);
            assertEquals(0, job.exitCode, "host " + host + ": " + job + "\nother hosts: " + jobs);
            assertEquals(List.of(), job.leftoverDriverDirectories(), "host " + host + " left its media driver");
        }
        assertTrue(jobs.get(0).output.contains("max |ddp - single process| = "), jobs.get(0)::toString);
        LaunchedDataParallelTest.assertEqualOnEveryRankAndCloseToOneProcess(dir, WORLD);
        if (Files.exists(dir.resolve("state-0.txt")))
        {
            // The trainer's split updater: its state, gathered from the four owners, as in one process.
            LaunchedDataParallelTest.assertStateEqualOnEveryRankAndCloseToTheReference(dir, WORLD);
        }
    }
}
