package dev.dl4j.accelerate.launch;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import dev.dl4j.accelerate.internal.transport.UdpChannels;

/**
 * One job on two "hosts" of this machine: two real launchers ({@code --nnodes 2}, node ranks 0 and 1), each with
 * its own media driver, so ranks of different nodes talk UDP (here over a local interface) exactly as between
 * machines, and only heartbeats tell a node that the other's ranks are gone. Closing it kills whatever is left.
 */
final class TwoHostJob implements AutoCloseable
{
    private final Path dir;
    private final int perNode;
    private final List<Process> launchers = new ArrayList<>();
    private final long[] exitedAtNs = new long[2];
    private final List<Long> workerPids = new ArrayList<>();

    private TwoHostJob(final Path dir, final int perNode)
    {
        this.dir = dir;
        this.perNode = perNode;
    }

    /**
     * @return an IPv4 address of a non-loopback interface of this machine: the launcher refuses a loopback master
     *         address with more than one node, as other hosts could not reach it.
     */
    static Optional<String> localNetworkAddress() throws SocketException
    {
        for (final NetworkInterface nic : Collections.list(NetworkInterface.getNetworkInterfaces()))
        {
            if (nic.isUp() && !nic.isLoopback())
            {
                for (final InetAddress address : Collections.list(nic.getInetAddresses()))
                {
                    if (address instanceof Inet4Address)
                    {
                        return Optional.of(address.getHostAddress());
                    }
                }
            }
        }
        return Optional.empty();
    }

    /**
     * Starts both launchers, each with {@code perNode} workers running {@code workerCommand}; rank r writes its
     * files into {@code dir}.
     */
    static TwoHostJob start(
        final String address, final Path dir, final int perNode, final List<String> workerCommand,
        final Map<String, String> env) throws IOException
    {
        // Outside the ephemeral range, as the launcher picks it: no socket bound to port 0 can take it first.
        final int port = UdpChannels.freePort(InetAddress.getByName(address));
        final String token = UUID.randomUUID().toString();
        final TwoHostJob job = new TwoHostJob(dir, perNode);
        try
        {
            for (int node = 0; node < 2; node++)
            {
                final List<String> command = new ArrayList<>(LaunchedJob.launcherJava());
                command.add(AccelerateCli.class.getName());
                command.addAll(List.of("launch", "--nproc-per-node", Integer.toString(perNode), "--nnodes", "2",
                    "--node-rank", Integer.toString(node), "--master-addr", address, "--master-port",
                    Integer.toString(port), "--job-token", token, "--"));
                command.addAll(workerCommand);
                final ProcessBuilder builder = new ProcessBuilder(command)
                    .redirectErrorStream(true)
                    .redirectOutput(dir.resolve("launcher-" + node + ".log").toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
                builder.environment().keySet().removeIf(name -> name.equals("RANK") || name.equals("WORLD_SIZE") ||
                    name.startsWith("ACCELERATE_"));
                builder.environment().putAll(env);
                final Process launcher = builder.start();
                final int n = node;
                launcher.onExit().thenRun(() -> job.exited(n));
                job.launchers.add(launcher);
            }
            return job;
        }
        catch (final IOException | RuntimeException ex)
        {
            job.close();
            throw ex;
        }
    }

    private synchronized void exited(final int node)
    {
        exitedAtNs[node] = System.nanoTime();
    }

    int worldSize()
    {
        return 2 * perNode;
    }

    /**
     * Waits until every rank has written {@code rank-<r>.<suffix>}, or fails saying what each launcher printed.
     */
    void awaitFiles(final String suffix, final long timeoutSeconds) throws IOException, InterruptedException
    {
        final long deadlineNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
        for (int rank = 0; rank < worldSize(); rank++)
        {
            awaitFile(dir.resolve("rank-" + rank + "." + suffix), deadlineNs);
        }
        if (suffix.equals("pid"))
        {
            for (int rank = 0; rank < worldSize(); rank++)
            {
                workerPids.add(Long.parseLong(Files.readString(dir.resolve("rank-" + rank + ".pid")).trim()));
            }
        }
    }

    /**
     * Waits until a worker has written {@code file}, or fails saying what each launcher printed.
     *
     * @param deadlineNs when to give up ({@link System#nanoTime()}).
     */
    void awaitFile(final Path file, final long deadlineNs) throws IOException, InterruptedException
    {
        while (!Files.exists(file))
        {
            if (System.nanoTime() - deadlineNs > 0 || launchers.stream().anyMatch(p -> !p.isAlive()))
            {
                throw new AssertionError("no worker wrote " + file.getFileName() + ":\n" + output());
            }
            Thread.sleep(1);
        }
    }

    long pidOf(final int rank)
    {
        return workerPids.get(rank);
    }

    /**
     * Waits for both launchers to end.
     *
     * @return whether both ended in time.
     */
    boolean awaitExit(final long timeoutSeconds) throws InterruptedException
    {
        final long deadlineNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
        for (final Process launcher : launchers)
        {
            if (!launcher.waitFor(Math.max(0, deadlineNs - System.nanoTime()), TimeUnit.NANOSECONDS))
            {
                return false;
            }
        }
        // onExit's completion may trail waitFor by a moment.
        for (final Process launcher : launchers)
        {
            launcher.onExit().join();
        }
        return true;
    }

    int exitCode(final int node)
    {
        return launchers.get(node).exitValue();
    }

    /**
     * @return when the launcher of {@code node} ended, in milliseconds after {@code sinceNs} (a nanoTime).
     */
    synchronized long exitedAfterMs(final int node, final long sinceNs)
    {
        return TimeUnit.NANOSECONDS.toMillis(exitedAtNs[node] - sinceNs);
    }

    String output(final int node) throws IOException
    {
        return Files.readString(dir.resolve("launcher-" + node + ".log"), StandardCharsets.UTF_8);
    }

    String output() throws IOException
    {
        return "--- launcher of node 0 ---\n" + output(0) + "--- launcher of node 1 ---\n" + output(1);
    }

    /**
     * @return the job's processes still alive: workers (by the pids they wrote) and launchers.
     */
    List<Long> survivors()
    {
        final List<Long> alive = new ArrayList<>();
        for (final long pid : workerPids)
        {
            if (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false))
            {
                alive.add(pid);
            }
        }
        for (final Process launcher : launchers)
        {
            if (launcher.isAlive())
            {
                alive.add(launcher.pid());
            }
            launcher.descendants().forEach(p -> alive.add(p.pid()));
        }
        return alive;
    }

    /**
     * @return media driver directories either launcher left in /dev/shm.
     */
    List<Path> leftoverDriverDirectories() throws IOException
    {
        final Path shm = Path.of("/dev/shm");
        if (!Files.isDirectory(shm))
        {
            return List.of();
        }
        try (Stream<Path> entries = Files.list(shm))
        {
            return entries.filter(p -> launchers.stream().anyMatch(l ->
                p.getFileName().toString().startsWith("dl4j-accelerate-launcher-" + l.pid() + "-"))).toList();
        }
    }

    public String toString()
    {
        try
        {
            return output();
        }
        catch (final IOException ex)
        {
            return "(launchers' output unreadable: " + ex + ")";
        }
    }

    public void close()
    {
        for (final long pid : workerPids)
        {
            ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
        }
        for (final Process launcher : launchers)
        {
            launcher.descendants().forEach(ProcessHandle::destroyForcibly);
            launcher.destroyForcibly();
        }
    }
}
