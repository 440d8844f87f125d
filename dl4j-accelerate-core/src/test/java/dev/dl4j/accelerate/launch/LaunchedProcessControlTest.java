package dev.dl4j.accelerate.launch;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Real JVMs started by the real launcher, talking over the launcher's media driver.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class LaunchedProcessControlTest
{
    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(ints = { 2, 3 })
    void shouldLetNobodyPassTheBarrierBeforeTheLastRankArrives(final int ranks) throws Exception
    {
        final LaunchedJob job = launch(ranks, "barrier");
        assertEquals(0, job.exitCode, job::toString);
        final List<Map<String, Long>> logs = logs(ranks);
        for (int round = 0; round < 3; round++)
        {
            long lastArrival = Long.MIN_VALUE;
            long firstDeparture = Long.MAX_VALUE;
            for (final Map<String, Long> log : logs)
            {
                lastArrival = Math.max(lastArrival, log.get("arrive " + round));
                firstDeparture = Math.min(firstDeparture, log.get("depart " + round));
            }
            assertTrue(lastArrival <= firstDeparture,
                "round " + round + ": a rank left at " + firstDeparture + " before the last arrived at " + lastArrival);
        }
    }

    @ParameterizedTest
    @ValueSource(ints = { 2, 3 })
    void shouldRunMainProcessBodyStrictlyBeforeAnyOther(final int ranks) throws Exception
    {
        final LaunchedJob job = launch(ranks, "main-first");
        assertEquals(0, job.exitCode, job::toString);
        final List<Map<String, Long>> logs = logs(ranks);
        final long mainEnd = logs.get(0).get("body-end");
        for (int rank = 1; rank < ranks; rank++)
        {
            final long start = logs.get(rank).get("body-start");
            assertTrue(mainEnd < start, "rank " + rank + " started its body at " + start + ", main ended at " + mainEnd);
        }
    }

    @ParameterizedTest
    @ValueSource(ints = { 2, 3 })
    void shouldFireTriggerOnEveryRankInTheSameIterationThenReset(final int ranks) throws Exception
    {
        final LaunchedJob job = launch(ranks, "trigger");
        assertEquals(0, job.exitCode, job::toString);
        for (final Map<String, Long> log : logs(ranks))
        {
            assertTrue(log.containsKey("fired 5"), log.toString());
            assertTrue(log.containsKey("reset 6"), log.toString());
        }
    }

    @Test
    void shouldStopTheOthersAndReportTheRootCauseWhenAWorkerFails() throws Exception
    {
        final LaunchedJob job = launch(3, "fail");
        assertEquals(3, job.exitCode, job::toString);
        assertTrue(job.output.contains("accelerate: rank 2 (node 0, local rank 2"), job::toString);
        assertTrue(job.output.contains("failed with exit code 3"), job::toString);
        assertTrue(job.output.contains("probe: rank 2 fails on purpose"), job::toString);
        assertEquals(List.of(), job.leftoverDriverDirectories());
    }

    @Test
    void shouldStopWorkersAndRemoveTheDriverWhenTheLauncherIsTerminated() throws Exception
    {
        final List<String> command = new ArrayList<>(LaunchedJob.launcherJava());
        command.add(AccelerateCli.class.getName());
        command.addAll(List.of("launch", "--nproc-per-node", "2", "--master-port", "0", "--"));
        command.addAll(LaunchedJob.javaWorker(ProcessControlProbe.class, "hold", dir.toString()));
        final Path output = dir.resolve("launcher.txt");
        final Process launcher = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(output.toFile())
            .start();
        try
        {
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!(Files.exists(dir.resolve("rank-0.log")) && Files.exists(dir.resolve("rank-1.log"))))
            {
                assertTrue(System.nanoTime() < deadline, "workers never got ready: " + Files.readString(output));
                assertTrue(launcher.isAlive(), "launcher ended early: " + Files.readString(output));
                launcher.waitFor(50, TimeUnit.MILLISECONDS);
            }
            final List<ProcessHandle> workers = launcher.descendants().toList();
            assertEquals(2, workers.stream().filter(p -> p.parent().map(q -> q.pid() == launcher.pid()).orElse(false)).count());

            launcher.destroy();
            assertTrue(launcher.waitFor(30, TimeUnit.SECONDS), "launcher did not stop on SIGTERM");
            for (final ProcessHandle worker : workers)
            {
                worker.onExit().get(10, TimeUnit.SECONDS);
                assertTrue(!worker.isAlive(), "worker " + worker.pid() + " outlived the launcher");
            }
            final List<Path> left;
            try (java.util.stream.Stream<Path> entries = Files.list(Path.of("/dev/shm")))
            {
                left = entries.filter(p -> p.getFileName().toString()
                    .startsWith("dl4j-accelerate-launcher-" + launcher.pid() + "-")).toList();
            }
            assertEquals(List.of(), left, "media driver files left behind: " + Files.readString(output));
        }
        finally
        {
            launcher.descendants().forEach(ProcessHandle::destroyForcibly);
            launcher.destroyForcibly();
        }
    }

    @Test
    void shouldSplitCoresBetweenWorkersUnlessTheUserChose() throws Exception
    {
        final Map<String, String> env = new HashMap<>();
        env.put("OMP_NUM_THREADS", "7");
        final LaunchedJob job = LaunchedJob.run(
            List.of("launch", "--nproc-per-node", "2", "--master-port", "0", "--"),
            LaunchedJob.javaWorker(ProcessControlProbe.class, "env", dir.toString()), env, 60);
        assertEquals(0, job.exitCode, job::toString);
        assertTrue(logs(2).get(1).containsKey("OMP_NUM_THREADS=7"));
    }

    private LaunchedJob launch(final int ranks, final String scenario) throws IOException, InterruptedException
    {
        final LaunchedJob job = LaunchedJob.run(
            List.of("launch", "--nproc-per-node", Integer.toString(ranks), "--master-port", "0", "--"),
            LaunchedJob.javaWorker(ProcessControlProbe.class, scenario, dir.toString()), Map.of(), 90);
        assertEquals(List.of(), job.leftoverDriverDirectories(), "media driver files left behind");
        return job;
    }

    private List<Map<String, Long>> logs(final int ranks) throws IOException
    {
        final List<Map<String, Long>> logs = new ArrayList<>();
        for (int rank = 0; rank < ranks; rank++)
        {
            final Map<String, Long> events = new HashMap<>();
            for (final String line : Files.readAllLines(dir.resolve("rank-" + rank + ".log")))
            {
                final int space = line.indexOf(' ');
                events.put(line.substring(space + 1), Long.parseLong(line.substring(0, space)));
            }
            assertTrue(events.containsKey("done"), "rank " + rank + " did not finish: " + events);
            logs.add(events);
        }
        return logs;
    }
}
