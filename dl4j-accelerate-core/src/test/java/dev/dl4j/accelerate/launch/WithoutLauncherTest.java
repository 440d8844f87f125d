package dev.dl4j.accelerate.launch;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Workers started by something other than our launcher (a scheduler that only sets torchrun's variables) run a
 * media driver each and talk over UDP.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class WithoutLauncherTest
{
    @TempDir
    Path dir;

    private final List<Process> workers = new ArrayList<>();

    @AfterEach
    void killLeftovers()
    {
        workers.forEach(Process::destroyForcibly);
    }

    @Test
    void shouldCoordinateWorkersThatRunTheirOwnMediaDriver() throws Exception
    {
        final int port = freePort();
        for (int rank = 0; rank < 2; rank++)
        {
            final List<String> command = new ArrayList<>(LaunchedJob.javaWorker(ProcessControlProbe.class, "trigger", dir.toString()));
            command.add(1, WorkerEnvironment.AERON_JVM_FLAGS.split(" ")[0]);
            command.add(2, WorkerEnvironment.AERON_JVM_FLAGS.split(" ")[1]);
            final ProcessBuilder builder = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("out-" + rank + ".txt").toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
            builder.environment().keySet().removeIf(name -> name.startsWith("ACCELERATE_") || name.startsWith("LOCAL_"));
            builder.environment().put("RANK", Integer.toString(rank));
            builder.environment().put("WORLD_SIZE", "2");
            builder.environment().put("MASTER_ADDR", "127.0.0.1");
            builder.environment().put("MASTER_PORT", Integer.toString(port));
            workers.add(builder.start());
        }
        for (int rank = 0; rank < 2; rank++)
        {
            final Process worker = workers.get(rank);
            assertTrue(worker.waitFor(60, TimeUnit.SECONDS), "rank " + rank + " did not finish");
            assertEquals(0, worker.exitValue(), Files.readString(dir.resolve("out-" + rank + ".txt")));
            final String log = Files.readString(dir.resolve("rank-" + rank + ".log"));
            assertTrue(log.contains("fired 5") && log.contains("reset 6"), log);
        }
        for (final Process worker : workers)
        {
            assertEquals(List.of(), ownDriverDirectories(worker.pid()), "media driver files left behind");
        }
    }

    private static List<Path> ownDriverDirectories(final long pid) throws IOException
    {
        try (Stream<Path> entries = Files.list(Path.of("/dev/shm")))
        {
            return entries.filter(p -> p.getFileName().toString().startsWith("dl4j-accelerate-rank")
                && p.getFileName().toString().contains("-" + pid + "-")).toList();
        }
    }

    private static int freePort() throws IOException
    {
        // Outside the ephemeral range, as the launcher picks it: no socket bound to port 0 can take it first.
        return dev.dl4j.accelerate.internal.transport.UdpChannels.freePort(java.net.InetAddress.getLoopbackAddress());
    }
}
