package dev.dl4j.accelerate.launch;

import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.agrona.IoUtil;
import org.junit.jupiter.api.Assumptions;

/**
 * Separate hosts on one machine, for multi-host tests: one Linux network namespace per host, each with a network
 * stack of its own (interfaces, routes, ports, firewall), joined by a veth pair (two hosts) or through a bridge
 * in a namespace of its own (more), on {@value #SUBNET}0/24: host i is {@value #SUBNET}(i+1), on interface
 * {@value #LINK}. The links have the usual 1500-byte MTU, so large datagrams travel as IP fragments, as between
 * real hosts.
 *
 * <p>Processes started through it (launchers, a stray sender) run inside a host's namespace. {@link #close()}
 * kills them with their descendants and anything else left in the namespaces, removes the namespaces (the links
 * go with them) and the media-driver files those processes left in {@code /dev/shm}; it runs on failure too
 * (try-with-resources) and from a shutdown hook. A JVM killed outright leaves namespaces named after its pid;
 * the next {@link #create(int)} removes those of dead JVMs.
 *
 * <p>Needs root (or CAP_SYS_ADMIN and CAP_NET_ADMIN) and iproute2's {@code ip}; where namespaces cannot be created
 * {@link #create(int)} aborts the test, which JUnit reports as skipped, and prints why. Loss on the links needs
 * nftables' {@code nft} ({@code .ci/run} installs both when missing).
 */
public final class VirtualHosts implements AutoCloseable
{
    /** Addresses are this followed by the host's index + 1. */
    public static final String SUBNET = "10.231.0.";
    /** Each host's interface to the others. */
    public static final String LINK = "eth0";

    private static final String PREFIX = "dl4ja-";
    private static final Pattern OURS = Pattern.compile(PREFIX + "(\\d+)-\\d+-(h\\d+|sw)");
    private static final AtomicInteger INSTANCES = new AtomicInteger();
    private static final long COMMAND_TIMEOUT_S = 30;
    private static final long FAILURE_GRACE_MS = 10_000;
    private static final String LOSS_TABLE = "accelerate_loss";

    private final String base;
    private final List<String> namespaces = new ArrayList<>();
    private String switchNamespace;
    private final List<Process> processes = new CopyOnWriteArrayList<>();
    private final Thread cleanupOnExit;
    private boolean closed;

    private VirtualHosts(final String base)
    {
        this.base = base;
        this.cleanupOnExit = new Thread(this::cleanUp, "virtual-hosts-cleanup");
        Runtime.getRuntime().addShutdownHook(cleanupOnExit);
    }

    /**
     * Creates the hosts and their links. Aborts the calling test (skipped, with the reason printed) when this
     * machine cannot create network namespaces; fails it when namespaces work but something else does not.
     *
     * @param count hosts, at least 2.
     * @return the hosts; close them.
     */
    public static VirtualHosts create(final int count) throws IOException, InterruptedException
    {
        if (count < 2)
        {
            throw new IllegalArgumentException("at least 2 hosts, not " + count);
        }
        sweepStale();
        final VirtualHosts hosts = new VirtualHosts(PREFIX + ProcessHandle.current().pid() + "-" +
            INSTANCES.incrementAndGet() + "-");
        try
        {
            hosts.addNamespaceOrSkip(hosts.base + "h0");
            final Result enter = runQuietly(List.of("ip", "netns", "exec", hosts.namespaces.get(0), "true"));
            if (enter.exit != 0)
            {
                skip("a network namespace was created but cannot be entered (`ip netns exec` said: " +
                    enter.output.trim() + ")");
            }
            for (int i = 1; i < count; i++)
            {
                hosts.addNamespace(hosts.base + "h" + i);
            }
            hosts.wire();
            return hosts;
        }
        catch (final Throwable ex)
        {
            hosts.close();
            throw ex;
        }
    }

    private void addNamespaceOrSkip(final String name) throws IOException, InterruptedException
    {
        final Result result;
        try
        {
            result = runQuietly(List.of("ip", "netns", "add", name));
        }
        catch (final IOException ex)
        {
            skip("iproute2's `ip` cannot be run (" + ex.getMessage() + "); install iproute2");
            return;
        }
        if (result.exit != 0)
        {
            skip("network namespaces cannot be created here (`ip netns add` said: " + result.output.trim() +
                "); these tests need root, or CAP_SYS_ADMIN and CAP_NET_ADMIN, and a kernel that allows them");
        }
        namespaces.add(name);
    }

    private static void skip(final String reason)
    {
        final String message = "multi-host tests skipped: " + reason;
        System.err.println(message);
        Assumptions.abort(message);
    }

    private void addNamespace(final String name) throws IOException, InterruptedException
    {
        run("ip", "netns", "add", name);
        namespaces.add(name);
    }

    private void wire() throws IOException, InterruptedException
    {
        if (namespaces.size() == 2)
        {
            run("ip", "link", "add", LINK, "netns", namespaces.get(0), "type", "veth", "peer", "name", LINK, "netns",
                namespaces.get(1));
        }
        else
        {
            switchNamespace = base + "sw";
            run("ip", "netns", "add", switchNamespace);
            run("ip", "-n", switchNamespace, "link", "add", "br0", "type", "bridge");
            run("ip", "-n", switchNamespace, "link", "set", "br0", "up");
            for (int i = 0; i < namespaces.size(); i++)
            {
                run("ip", "link", "add", LINK, "netns", namespaces.get(i), "type", "veth", "peer", "name", "port" + i,
                    "netns", switchNamespace);
                run("ip", "-n", switchNamespace, "link", "set", "port" + i, "master", "br0");
                run("ip", "-n", switchNamespace, "link", "set", "port" + i, "up");
            }
        }
        for (int i = 0; i < namespaces.size(); i++)
        {
            run("ip", "-n", namespaces.get(i), "link", "set", "lo", "up");
            run("ip", "-n", namespaces.get(i), "addr", "add", address(i) + "/24", "dev", LINK);
            run("ip", "-n", namespaces.get(i), "link", "set", LINK, "up");
        }
        // The kernel reports a new link's carrier up to a second late, and Aeron refuses an interface that is down.
        final long deadlineMs = System.currentTimeMillis() + 10_000;
        for (final String namespace : namespaces)
        {
            while (!run("ip", "-n", namespace, "-o", "link", "show", LINK).contains("state UP"))
            {
                if (System.currentTimeMillis() > deadlineMs)
                {
                    throw new IllegalStateException(LINK + " in " + namespace + " did not come up: " +
                        run("ip", "-n", namespace, "-o", "link", "show", LINK));
                }
                Thread.sleep(20);
            }
        }
    }

    /**
     * @return the number of hosts.
     */
    public int count()
    {
        return namespaces.size();
    }

    /**
     * @param host index.
     * @return its IPv4 address.
     */
    public String address(final int host)
    {
        return SUBNET + (host + 1);
    }

    /**
     * Runs a command inside a host's namespace.
     *
     * @param host    index.
     * @param command the command.
     * @return its output.
     * @throws IllegalStateException with the output if it fails.
     */
    public String exec(final int host, final String... command) throws IOException, InterruptedException
    {
        final List<String> line = new ArrayList<>(List.of("ip", "netns", "exec", namespaces.get(host)));
        line.addAll(List.of(command));
        return run(line.toArray(new String[0]));
    }

    /**
     * Starts a process inside a host's namespace; {@link #close()} kills it if it is still running.
     *
     * @param host    index.
     * @param command the command.
     * @param log     where its stdout and stderr go.
     * @return the process.
     */
    public Process start(final int host, final List<String> command, final Path log) throws IOException
    {
        final List<String> line = new ArrayList<>(List.of("ip", "netns", "exec", namespaces.get(host)));
        line.addAll(command);
        final Process process = new ProcessBuilder(line)
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
            .start();
        processes.add(process);
        return process;
    }

    /**
     * Runs one job across the first {@code hosts} hosts: one real launcher per host, inside its namespace, with
     * {@code --nnodes}, {@code --node-rank}, {@code --master-addr} (host 0), {@code --master-port} and a random
     * {@code --job-token}, all started at once. When one launcher fails, the others get a few seconds to fail by
     * themselves and are then killed; at the deadline all are killed.
     *
     * @param hostCount      hosts taking part, from host 0.
     * @param ranksPerHost   workers per host.
     * @param masterPort     the rendezvous port on host 0.
     * @param workerCommand  the workers' command.
     * @param env            variables added to every launcher's environment.
     * @param timeoutSeconds deadline for the whole job.
     * @return each host's launcher result, by host.
     */
    public List<LaunchedJob> launch(
        final int hostCount, final int ranksPerHost, final int masterPort, final List<String> workerCommand,
        final Map<String, String> env, final long timeoutSeconds) throws IOException, InterruptedException
    {
        final byte[] secret = new byte[16];
        new SecureRandom().nextBytes(secret);
        final String token = HexFormat.of().formatHex(secret);
        final List<LaunchedJob.Running> launchers = new ArrayList<>();
        for (int host = 0; host < hostCount; host++)
        {
            final List<String> args = List.of("launch", "--nproc-per-node", Integer.toString(ranksPerHost),
                "--nnodes", Integer.toString(hostCount), "--node-rank", Integer.toString(host),
                "--master-addr", address(0), "--master-port", Integer.toString(masterPort), "--job-token", token, "--");
            final LaunchedJob.Running launcher =
                LaunchedJob.start(List.of("ip", "netns", "exec", namespaces.get(host)), args, workerCommand, env);
            processes.add(launcher.process());
            launchers.add(launcher);
        }
        final long deadlineMs = System.currentTimeMillis() + TimeUnit.SECONDS.toMillis(timeoutSeconds);
        long failedAtMs = -1;
        while (System.currentTimeMillis() < deadlineMs &&
            (failedAtMs < 0 || System.currentTimeMillis() < failedAtMs + FAILURE_GRACE_MS))
        {
            boolean running = false;
            for (final LaunchedJob.Running launcher : launchers)
            {
                final Process process = launcher.process();
                running |= process.isAlive();
                if (!process.isAlive() && process.exitValue() != 0 && failedAtMs < 0)
                {
                    failedAtMs = System.currentTimeMillis();
                }
            }
            if (!running)
            {
                break;
            }
            Thread.sleep(100);
        }
        final List<LaunchedJob> jobs = new ArrayList<>();
        for (final LaunchedJob.Running launcher : launchers)
        {
            jobs.add(launcher.finish(0));
        }
        return jobs;
    }

    /**
     * Drops a share of the UDP packets (IP fragments included) arriving at every host's link, in both
     * directions, at random: an nftables rule on the link's ingress, in each host's namespace.
     *
     * @param percent 1 to 99.
     */
    public void dropUdp(final int percent) throws IOException, InterruptedException
    {
        if (!canRun("nft", "--version"))
        {
            skip("nftables' `nft` is not installed (apt-get install nftables; .ci/run installs it when missing)");
        }
        final Path rules = Files.createTempFile("accelerate-loss", ".nft");
        try
        {
            Files.writeString(rules, "table netdev " + LOSS_TABLE + " {\n" +
                "  chain ingress {\n" +
                "    type filter hook ingress device \"" + LINK + "\" priority 0; policy accept;\n" +
                "    meta l4proto udp numgen random mod 100 < " + percent + " counter drop\n" +
                "  }\n" +
                "}\n");
            for (int host = 0; host < count(); host++)
            {
                try
                {
                    exec(host, "nft", "-f", rules.toString());
                }
                catch (final IOException ex)
                {
                    throw new IllegalStateException("nftables' `nft` cannot be run (" + ex.getMessage() +
                        "); install nftables (apt-get install nftables), as .ci/run does", ex);
                }
            }
        }
        finally
        {
            Files.deleteIfExists(rules);
        }
    }

    /**
     * @return UDP packets dropped so far by {@link #dropUdp(int)}, over all hosts.
     */
    public long droppedUdp() throws IOException, InterruptedException
    {
        long dropped = 0;
        for (int host = 0; host < count(); host++)
        {
            final Matcher matcher = Pattern.compile("counter packets (\\d+)")
                .matcher(exec(host, "nft", "list", "table", "netdev", LOSS_TABLE));
            while (matcher.find())
            {
                dropped += Long.parseLong(matcher.group(1));
            }
        }
        return dropped;
    }

    /**
     * @param host index.
     * @return every UDP socket bound in the host's namespace, as {@code address:port}, from {@code /proc/net/udp}
     *         and {@code /proc/net/udp6} read inside it (IPv4-mapped addresses shown as IPv4).
     */
    public List<String> boundUdp(final int host) throws IOException, InterruptedException
    {
        final Set<String> sockets = new LinkedHashSet<>();
        for (final String table : List.of("/proc/net/udp", "/proc/net/udp6"))
        {
            for (final String line : exec(host, "cat", table).split("\n"))
            {
                final String[] fields = line.trim().split("\\s+");
                if (fields.length > 2 && fields[1].contains(":") && !fields[1].startsWith("local"))
                {
                    sockets.add(socketAddress(fields[1]));
                }
            }
        }
        return new ArrayList<>(sockets);
    }

    /** {@code 0100007F:1F90} or the IPv6 form: 32-bit words in host (little-endian) order, then a hex port. */
    private static String socketAddress(final String hex) throws UnknownHostException
    {
        final String[] parts = hex.split(":");
        final byte[] address = new byte[parts[0].length() / 2];
        for (int word = 0; word < address.length / 4; word++)
        {
            for (int b = 0; b < 4; b++)
            {
                address[word * 4 + b] = (byte)Integer.parseInt(
                    parts[0].substring(word * 8 + (3 - b) * 2, word * 8 + (3 - b) * 2 + 2), 16);
            }
        }
        return InetAddress.getByAddress(address).getHostAddress() + ":" + Integer.parseInt(parts[1], 16);
    }

    /**
     * Kills what was started here and everything left in the namespaces, removes the namespaces and the
     * media-driver files of those processes. Idempotent; never throws (problems are printed).
     */
    public void close()
    {
        cleanUp();
        try
        {
            Runtime.getRuntime().removeShutdownHook(cleanupOnExit);
        }
        catch (final IllegalStateException shuttingDown)
        {
            // The hook is running or about to: it does the same.
        }
    }

    private synchronized void cleanUp()
    {
        if (closed)
        {
            return;
        }
        closed = true;
        final Set<Long> pids = new LinkedHashSet<>();
        for (final Process process : processes)
        {
            pids.add(process.pid());
            process.descendants().forEach(child -> pids.add(child.pid()));
            LaunchedJob.killTree(process.toHandle());
        }
        final List<String> all = new ArrayList<>(namespaces);
        if (switchNamespace != null)
        {
            all.add(switchNamespace);
        }
        for (final String namespace : all)
        {
            pids.addAll(removeNamespace(namespace));
        }
        for (final Process process : processes)
        {
            try
            {
                process.waitFor(10, TimeUnit.SECONDS);
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
                break;
            }
        }
        removeDriverFiles(pids);
    }

    /** Kills whatever runs in the namespace and removes it; returns the pids killed. */
    private static List<Long> removeNamespace(final String namespace)
    {
        final List<Long> killed = new ArrayList<>();
        try
        {
            final Result pids = runQuietly(List.of("ip", "netns", "pids", namespace));
            for (final String pid : pids.output.trim().split("\\s+"))
            {
                if (pid.matches("\\d+"))
                {
                    killed.add(Long.parseLong(pid));
                    ProcessHandle.of(Long.parseLong(pid)).ifPresent(ProcessHandle::destroyForcibly);
                }
            }
            final long deadlineMs = System.currentTimeMillis() + 10_000;
            for (final long pid : killed)
            {
                while (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false) &&
                    System.currentTimeMillis() < deadlineMs)
                {
                    Thread.sleep(20);
                }
            }
            final Result deleted = runQuietly(List.of("ip", "netns", "delete", namespace));
            if (deleted.exit != 0 && !deleted.output.contains("No such file"))
            {
                System.err.println("virtual hosts: could not remove namespace " + namespace + ": " + deleted.output.trim());
            }
        }
        catch (final IOException | InterruptedException ex)
        {
            if (ex instanceof InterruptedException)
            {
                Thread.currentThread().interrupt();
            }
            System.err.println("virtual hosts: could not remove namespace " + namespace + ": " + ex);
        }
        return killed;
    }

    /** The media drivers of launchers and of processes running their own, named with the owner's pid. */
    private static void removeDriverFiles(final Set<Long> pids)
    {
        final Path shm = Path.of("/dev/shm");
        if (!Files.isDirectory(shm))
        {
            return;
        }
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(shm, "dl4j-accelerate-*"))
        {
            for (final Path entry : entries)
            {
                final Matcher matcher = Pattern.compile("dl4j-accelerate-[a-z0-9]+-(\\d+)-[0-9a-f]{12}")
                    .matcher(entry.getFileName().toString());
                if (matcher.matches() && pids.contains(Long.parseLong(matcher.group(1))))
                {
                    IoUtil.delete(entry.toFile(), true);
                }
            }
        }
        catch (final IOException ex)
        {
            System.err.println("virtual hosts: could not clean /dev/shm: " + ex);
        }
    }

    /** Namespaces of JVMs that died without closing their hosts. */
    private static void sweepStale() throws InterruptedException
    {
        final Result list;
        try
        {
            list = runQuietly(List.of("ip", "netns", "list"));
        }
        catch (final IOException noIp)
        {
            return;
        }
        for (final String line : list.output.split("\n"))
        {
            final Matcher matcher = OURS.matcher(line.trim().split("\\s+")[0]);
            if (matcher.matches() && ProcessHandle.of(Long.parseLong(matcher.group(1))).isEmpty())
            {
                removeDriverFiles(new LinkedHashSet<>(removeNamespace(matcher.group(0))));
            }
        }
    }

    private static String run(final String... command) throws IOException, InterruptedException
    {
        final Result result = runQuietly(List.of(command));
        if (result.exit != 0)
        {
            throw new IllegalStateException(String.join(" ", command) + " failed with exit code " + result.exit +
                ": " + result.output.trim());
        }
        return result.output;
    }

    private static boolean canRun(final String... command) throws InterruptedException
    {
        try
        {
            return runQuietly(List.of(command)).exit == 0;
        }
        catch (final IOException notInstalled)
        {
            return false;
        }
    }

    private static Result runQuietly(final List<String> command) throws IOException, InterruptedException
    {
        final File output = File.createTempFile("virtual-hosts", ".out");
        try
        {
            final Process process = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(output)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .start();
            if (!process.waitFor(COMMAND_TIMEOUT_S, TimeUnit.SECONDS))
            {
                process.destroyForcibly();
                throw new IllegalStateException(String.join(" ", command) + " did not finish in " + COMMAND_TIMEOUT_S + " s");
            }
            return new Result(process.exitValue(), Files.readString(output.toPath(), StandardCharsets.UTF_8));
        }
        finally
        {
            Files.deleteIfExists(output.toPath());
        }
    }

    private record Result(int exit, String output)
    {
    }
}
