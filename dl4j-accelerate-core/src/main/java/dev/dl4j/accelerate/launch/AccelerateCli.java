package dev.dl4j.accelerate.launch;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.net.BindException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.Callable;

import dev.dl4j.accelerate.AcceleratorSettings;
import dev.dl4j.accelerate.InvalidConfigurationException;
import dev.dl4j.accelerate.ProcessTopology;
import dev.dl4j.accelerate.internal.transport.MediaDrivers;
import dev.dl4j.accelerate.internal.transport.UdpChannels;
import io.aeron.AeronVersion;
import io.aeron.driver.MediaDriver;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code accelerate}: the command line. {@code accelerate launch} starts one worker JVM per device on this host,
 * with the host's media driver, each on a GPU of its own when a {@link GpuSupport} finds GPUs;
 * {@code accelerate env} prints what a bug report needs.
 */
@Command(
    name = "accelerate",
    mixinStandardHelpOptions = true,
    versionProvider = AccelerateCli.Version.class,
    description = "Runs DL4J training across processes and hosts, coordinated over Aeron.",
    subcommands = { AccelerateCli.Launch.class, AccelerateCli.Env.class })
public final class AccelerateCli implements Runnable
{
    @CommandLine.Spec
    CommandLine.Model.CommandSpec commandSpec;

    /**
     * @param args command line.
     */
    public static void main(final String[] args)
    {
        System.exit(execute(args, System.getenv(), System.out, System.err));
    }

    /**
     * Runs the command line without exiting the JVM.
     *
     * @param args command line.
     * @param env  the environment the launcher runs in, inherited by workers.
     * @param out  standard output.
     * @param err  standard error.
     * @return the exit code: 0 on success, 2 for bad input, else the first failing worker's exit code.
     */
    public static int execute(final String[] args, final Map<String, String> env, final PrintStream out, final PrintStream err)
    {
        final CommandLine cli = new CommandLine(new AccelerateCli(), new EnvironmentFactory(env, out, err))
            .setOut(new PrintWriter(out, true))
            .setErr(new PrintWriter(err, true))
            // `accelerate launch -n 2 java -cp app.jar Main` works too: the worker's own flags are not ours.
            .setStopAtPositional(true)
            .setExecutionExceptionHandler((ex, commandLine, parseResult) ->
            {
                err.println("accelerate: " + ex.getMessage());
                return ex instanceof InvalidConfigurationException ? 2 : 1;
            });
        return cli.execute(args);
    }

    public void run()
    {
        throw new CommandLine.ParameterException(commandSpec.commandLine(), "a subcommand is needed: launch or env");
    }

    /**
     * {@code accelerate launch}: one worker per local rank, supervised.
     */
    @Command(
        name = "launch",
        mixinStandardHelpOptions = true,
        description = "Starts --nproc-per-node workers on this host running <command>, with RANK, WORLD_SIZE, " +
            "LOCAL_RANK, LOCAL_WORLD_SIZE, NODE_RANK, MASTER_ADDR and MASTER_PORT set, each on a GPU of its own " +
            "when the host has GPUs; stops them all when one fails.")
    static final class Launch implements Callable<Integer>
    {
        @Option(names = { "-n", "--nproc-per-node" }, paramLabel = "N",
            description = "Worker processes on this host, usually one per device (default: one per GPU; " +
                "required on a host without GPUs).")
        Integer nprocPerNode;

        @Option(names = "--gpus", paramLabel = "N|all",
            description = "How many GPUs to use, the first N (default: all when the host has GPUs); 0 starts CPU " +
                "workers with every GPU hidden.")
        String gpus;

        @Option(names = "--gpu-ids", paramLabel = "LIST",
            description = "The GPUs to use, one per local rank: nvidia-smi indices or GPU UUIDs, comma-separated.")
        String gpuIds;

        @Option(names = GpuPlan.SHARE_FLAG,
            description = "Let more ranks than GPUs run, local rank i on GPU i mod GPUs (they share its memory).")
        boolean oversubscribeGpus;

        @Option(names = "--nnodes", defaultValue = "1", paramLabel = "N", description = "Hosts in the job (default: ${DEFAULT-VALUE}).")
        int nnodes;

        @Option(names = "--node-rank", defaultValue = "0", paramLabel = "I", description = "This host's index (default: ${DEFAULT-VALUE}).")
        int nodeRank;

        @Option(names = "--master-addr", defaultValue = "127.0.0.1", paramLabel = "ADDR",
            description = "Address of node 0, where rank 0 meets the others (default: ${DEFAULT-VALUE}).")
        String masterAddress;

        @Option(names = "--master-port", defaultValue = "29500", paramLabel = "PORT",
            description = "UDP port of the rendezvous on node 0; 0 picks a free one outside the kernel's ephemeral range " +
                "(one host only; default: ${DEFAULT-VALUE}).")
        int masterPort;

        @Option(names = "--job-token", paramLabel = "TOKEN",
            description = "Identifies this job's messages; give every host the same random one (default: " +
                "$ACCELERATE_JOB_TOKEN, else random for one host, else derived from the master address and port, " +
                "which others can guess).")
        String jobToken;

        @Option(names = "--max-restarts", defaultValue = "0", paramLabel = "N",
            description = "When a worker fails, stop the others and start the group again, up to N times; workers see " +
                "ACCELERATE_RESTART_COUNT, and AcceleratedTrainer resumes from its newest checkpoint (default: ${DEFAULT-VALUE}).")
        int maxRestarts;

        @Parameters(arity = "1..*", paramLabel = "COMMAND", description = "The worker command line, after --.")
        List<String> command;

        private final Map<String, String> env;
        private final PrintStream out;
        private final PrintStream err;

        Launch(final Map<String, String> env, final PrintStream out, final PrintStream err)
        {
            this.env = env;
            this.out = out;
            this.err = err;
        }

        public Integer call()
        {
            if (maxRestarts < 0)
            {
                throw new InvalidConfigurationException("--max-restarts " + maxRestarts + " must not be negative");
            }
            if (nnodes < 1 || nodeRank < 0 || nodeRank >= nnodes)
            {
                throw new InvalidConfigurationException(nnodes < 1 ? "--nnodes " + nnodes + " must be at least 1" :
                    "--node-rank " + nodeRank + " must be in [0, --nnodes " + nnodes + ")");
            }
            if (masterPort == 0 && nnodes > 1)
            {
                throw new InvalidConfigurationException(
                    "--master-port 0 (pick a free port) works with --nnodes 1 only; hosts must agree on the port");
            }
            if (nnodes > 1 && isLoopback(masterAddress))
            {
                throw new InvalidConfigurationException("--master-addr " + masterAddress + " is a loopback address, " +
                    "which other hosts cannot reach; with --nnodes " + nnodes + " give node 0's network address");
            }
            final GpuPlan plan = planGpus();
            final int port = resolvePort();
            final String token = jobToken != null ? jobToken : env.getOrDefault("ACCELERATE_JOB_TOKEN",
                nnodes == 1 ? randomToken() : masterAddress + ":" + port);
            requireExecutable(command.get(0), env.get("PATH"));
            if (nnodes > 1)
            {
                if (jobToken == null && !env.containsKey("ACCELERATE_JOB_TOKEN"))
                {
                    err.println("accelerate: warning: no --job-token with --nnodes " + nnodes + ": the job's token is " +
                        "derived from --master-addr and --master-port, so anyone who can reach these hosts can guess " +
                        "it and have forged messages accepted; give every host's launcher the same random token, " +
                        "e.g. --job-token $(openssl rand -hex 16)");
                }
                UdpChannels.warnIfKernelCapsBuffers(err);
            }
            // The workers read the same variables; a bad one fails here, once, before anything starts.
            final long peerTimeoutNs = AcceleratorSettings.fromEnvironment(env).peerTimeout().toNanos();

            for (int restart = 0; ; restart++)
            {
                // A fresh driver and token per attempt: nothing a killed worker left in the old driver (streams
                // linger until its client times out) can reach the new attempt.
                final String directory = MediaDrivers.newDirectory("launcher");
                final LaunchSpec spec = new LaunchSpec(plan.nprocPerNode(), nnodes, nodeRank, masterAddress, port,
                    directory, restart == 0 ? token : token + "-restart" + restart, command, restart, plan.devices());
                final MediaDriver driver = MediaDrivers.launch(directory);
                final WorkerGroup group =
                    new WorkerGroup(spec, env, Runtime.getRuntime().availableProcessors(), out, err, driver, peerTimeoutNs);
                final int code = group.run();
                // An interrupted launcher is being stopped: restarting would only start workers it cannot watch.
                if (code == 0 || restart >= maxRestarts || group.stoppedBySignal() || Thread.currentThread().isInterrupted())
                {
                    return code;
                }
                err.println("accelerate: restarting all " + plan.nprocPerNode() + " workers (restart " + (restart + 1) + " of " +
                    maxRestarts + ")");
            }
        }

        /**
         * Discovers the host's GPUs (unless told to use none) and gives each local rank one, before anything starts.
         */
        private GpuPlan planGpus()
        {
            GpuPlan.checkFlags(nprocPerNode, gpus, gpuIds, oversubscribeGpus);
            final boolean cpuOnly = gpus != null && gpus.trim().equals("0");
            final Optional<GpuSupport> support = cpuOnly ? Optional.empty() : GpuSupport.installed();
            final GpuSupport.Inventory inventory = support.map(s -> s.discover(env)).orElse(null);
            final GpuPlan plan = GpuPlan.assign(nprocPerNode, gpus, gpuIds, oversubscribeGpus,
                env.get(GpuPlan.VISIBLE_DEVICES), inventory);
            plan.report().forEach(line -> err.println("accelerate: " + line));
            support.ifPresent(s -> plan.gpus().forEach(gpu -> s.incompatibility(gpu).ifPresent(why ->
                err.println("accelerate: warning: GPU " + gpu.index() + " (" + gpu.name() + "): " + why))));
            return plan;
        }

        private int resolvePort()
        {
            if (masterPort < 0 || masterPort > 65535)
            {
                throw new InvalidConfigurationException("--master-port " + masterPort + " must be in [0, 65535]");
            }
            if (masterPort == 0)
            {
                return anyFreePort();
            }
            // Rank 0 listens on node 0: find a clash now, before any worker starts, not in rank 0 later.
            return nodeRank == 0 ? bindable(masterPort) : masterPort;
        }

        private int anyFreePort()
        {
            try
            {
                return UdpChannels.freePort(resolvedMasterAddress());
            }
            catch (final SocketException ex)
            {
                throw new InvalidConfigurationException("--master-addr " + masterAddress + " has no free UDP port: " +
                    ex.getMessage());
            }
        }

        private InetAddress resolvedMasterAddress()
        {
            try
            {
                return InetAddress.getByName(masterAddress);
            }
            catch (final UnknownHostException ex)
            {
                throw new InvalidConfigurationException("--master-addr " + masterAddress + " does not resolve");
            }
        }

        private int bindable(final int port)
        {
            final InetAddress address = resolvedMasterAddress();
            try (DatagramSocket socket = new DatagramSocket(new InetSocketAddress(address, port)))
            {
                return socket.getLocalPort();
            }
            catch (final BindException ex)
            {
                throw new InvalidConfigurationException("--master-port " + port + " on --master-addr " + masterAddress +
                    " cannot be used: " + ex.getMessage() + " (another job on it? choose another port, or 0 for any)");
            }
            catch (final SocketException ex)
            {
                throw new InvalidConfigurationException("--master-addr " + masterAddress + " port " + port +
                    " cannot be used: " + ex.getMessage());
            }
        }

        private static boolean isLoopback(final String address)
        {
            try
            {
                return InetAddress.getByName(address).isLoopbackAddress();
            }
            catch (final UnknownHostException ex)
            {
                throw new InvalidConfigurationException("--master-addr " + address + " does not resolve");
            }
        }

        private static String randomToken()
        {
            final byte[] bytes = new byte[16];
            new SecureRandom().nextBytes(bytes);
            return HexFormat.of().formatHex(bytes);
        }
    }

    static void requireExecutable(final String program, final String path)
    {
        if (program.contains(File.separator))
        {
            final Path file = Path.of(program);
            if (!Files.isRegularFile(file) || !Files.isExecutable(file))
            {
                throw new InvalidConfigurationException("worker command '" + program + "' is not an executable file");
            }
            return;
        }
        if (path != null)
        {
            for (final String dir : path.split(File.pathSeparator))
            {
                final Path candidate = Path.of(dir.isEmpty() ? "." : dir, program);
                if (Files.isRegularFile(candidate) && Files.isExecutable(candidate))
                {
                    return;
                }
            }
        }
        throw new InvalidConfigurationException("worker command '" + program + "' not found on PATH=" + path);
    }

    /**
     * {@code accelerate env}: versions, machine and topology, for bug reports.
     */
    @Command(name = "env", mixinStandardHelpOptions = true,
        description = "Prints Java, DL4J, ND4J and Aeron versions, the machine, its GPUs and NVIDIA driver, the ND4J " +
            "backend a worker would load, and the topology this process sees.")
    static final class Env implements Callable<Integer>
    {
        private final Map<String, String> env;
        private final PrintStream out;

        Env(final Map<String, String> env, final PrintStream out)
        {
            this.env = env;
            this.out = out;
        }

        public Integer call()
        {
            final Runtime runtime = Runtime.getRuntime();
            out.println("dl4j-accelerate " + projectVersion());
            out.println("Java:      " + System.getProperty("java.runtime.version") + " (" + System.getProperty("java.vendor") +
                ") at " + System.getProperty("java.home"));
            out.println("OS:        " + System.getProperty("os.name") + " " + System.getProperty("os.version") + " " +
                System.getProperty("os.arch"));
            out.println("Cores:     " + runtime.availableProcessors());
            out.println("Memory:    " + physicalMemory() + ", max heap " + (runtime.maxMemory() >> 20) + " MiB");
            out.println("/dev/shm:  " + shmFree());
            out.println("DL4J:      " + mavenVersion("org.deeplearning4j", "deeplearning4j-nn"));
            out.println("ND4J:      " + mavenVersion("org.nd4j", "nd4j-api"));
            final GpuSupport support = GpuSupport.installed().orElse(null);
            final GpuSupport.Inventory inventory = support == null ? null : support.discover(env);
            printGpus(support, inventory);
            out.println("Backend:   " + backend(inventory));
            out.println("Aeron:     " + AeronVersion.VERSION);
            out.println("Agrona:    " + version(org.agrona.DirectBuffer.class));
            out.println("picocli:   " + CommandLine.VERSION);
            out.print("Topology:  ");
            try
            {
                out.println(ProcessTopology.fromEnvironment(env));
            }
            catch (final InvalidConfigurationException ex)
            {
                out.println("INVALID: " + ex.getMessage());
            }
            out.print("Settings:  ");
            try
            {
                out.println(AcceleratorSettings.fromEnvironment(env));
            }
            catch (final InvalidConfigurationException ex)
            {
                out.println("INVALID: " + ex.getMessage());
            }
            out.println("Variables:");
            final Map<String, String> relevant = new TreeMap<>();
            env.forEach((name, value) ->
            {
                if (name.matches("RANK|WORLD_SIZE|LOCAL_RANK|LOCAL_WORLD_SIZE|NODE_RANK|GROUP_RANK|MASTER_ADDR|" +
                    "MASTER_PORT|OMP_NUM_THREADS|JDK_JAVA_OPTIONS|CUDA_VISIBLE_DEVICES|CUDA_DEVICE_ORDER|NVIDIA_VISIBLE_DEVICES|" +
                    "SLURM_.*|OMPI_COMM_WORLD_.*") ||
                    (name.startsWith("ACCELERATE_") && !name.equals("ACCELERATE_JOB_TOKEN")))
                {
                    relevant.put(name, value);
                }
            });
            if (relevant.isEmpty())
            {
                out.println("  (none set)");
            }
            relevant.forEach((name, value) -> out.println("  " + name + "=" + value));
            return 0;
        }

        private void printGpus(final GpuSupport support, final GpuSupport.Inventory inventory)
        {
            if (inventory == null)
            {
                out.println("GPUs:      not looked for: dl4j-accelerate-cuda is not on the class path");
                return;
            }
            if (!inventory.problem().isEmpty())
            {
                out.println("GPUs:      DISCOVERY FAILED: " + inventory.problem());
            }
            else if (inventory.gpus().isEmpty())
            {
                out.println("GPUs:      none: " + inventory.source());
            }
            else
            {
                out.println("GPUs:      " + inventory.gpus().size() + ", found by " + inventory.source());
            }
            if (!inventory.driverVersion().isEmpty())
            {
                out.println("Driver:    NVIDIA " + inventory.driverVersion());
            }
            for (final GpuSupport.Gpu gpu : inventory.gpus())
            {
                out.println("  " + gpu.describe());
                support.incompatibility(gpu).ifPresent(why -> out.println("     " + why));
            }
        }

        /**
         * Which ND4J backend a worker on this class path would load: ND4J takes the CUDA backend when it can and
         * silently falls back to the CPU one when it cannot, so say which case this host is.
         */
        private static String backend(final GpuSupport.Inventory inventory)
        {
            // Look only: initialising ND4J would load hundreds of MB of natives.
            final boolean cuda = onClassPath("org.nd4j.linalg.jcublas.JCublasBackend");
            final boolean cpu = onClassPath("org.nd4j.linalg.cpu.nativecpu.CpuBackend");
            final boolean gpus = inventory != null && !inventory.gpus().isEmpty();
            if (cuda && gpus)
            {
                return "nd4j-cuda (GPU): a worker given a GPU loads it" +
                    (cpu ? " (nd4j-native, the CPU backend, is on the class path too)" : "");
            }
            if (cuda && inventory == null)
            {
                return "nd4j-cuda (GPU) if there is an NVIDIA driver, else " + (cpu ? "nd4j-native (CPU)" : "none") +
                    " (dl4j-accelerate-cuda is not on the class path to look for one)";
            }
            if (cuda)
            {
                return cpu ? "nd4j-native (CPU): nd4j-cuda is on the class path, but without a GPU ND4J falls back " +
                    "to the CPU" : "none: nd4j-cuda is on the class path, but there is no GPU for it";
            }
            if (cpu)
            {
                return "nd4j-native (CPU)" + (gpus ? "; nd4j-cuda is not on the class path, so a worker given a GPU " +
                    "refuses to start (build with -Pgpu, or launch with --gpus 0)" : "");
            }
            return "none on the classpath";
        }

        private static boolean onClassPath(final String className)
        {
            try
            {
                Class.forName(className, false, AccelerateCli.class.getClassLoader());
                return true;
            }
            catch (final ClassNotFoundException ex)
            {
                return false;
            }
        }

        private static String physicalMemory()
        {
            final java.lang.management.OperatingSystemMXBean bean = ManagementFactory.getOperatingSystemMXBean();
            if (bean instanceof com.sun.management.OperatingSystemMXBean)
            {
                return (((com.sun.management.OperatingSystemMXBean)bean).getTotalMemorySize() >> 20) + " MiB physical";
            }
            return "unknown physical";
        }

        private static String shmFree()
        {
            final File shm = new File("/dev/shm");
            return shm.isDirectory() ? (shm.getUsableSpace() >> 20) + " MiB free" : "absent (drivers use " +
                System.getProperty("java.io.tmpdir") + ")";
        }
    }

    static String projectVersion()
    {
        final String version = mavenVersion("dev.dl4j.accelerate", "dl4j-accelerate-core");
        return version.startsWith("unknown") ? "(built from source)" : version;
    }

    static String mavenVersion(final String group, final String artifact)
    {
        final String resource = "/META-INF/maven/" + group + "/" + artifact + "/pom.properties";
        try (InputStream in = AccelerateCli.class.getResourceAsStream(resource))
        {
            if (in == null)
            {
                return "unknown (not on the classpath)";
            }
            final Properties properties = new Properties();
            properties.load(in);
            return properties.getProperty("version", "unknown");
        }
        catch (final IOException ex)
        {
            return "unknown (" + ex.getMessage() + ")";
        }
    }

    private static String version(final Class<?> type)
    {
        final String version = type.getPackage().getImplementationVersion();
        return version != null ? version : "unknown";
    }

    static final class Version implements CommandLine.IVersionProvider
    {
        public String[] getVersion()
        {
            return new String[] { "dl4j-accelerate " + projectVersion() };
        }
    }

    /**
     * Hands the launcher's environment and streams to the subcommands, so tests run them without a new JVM.
     */
    private static final class EnvironmentFactory implements CommandLine.IFactory
    {
        private final Map<String, String> env;
        private final PrintStream out;
        private final PrintStream err;

        EnvironmentFactory(final Map<String, String> env, final PrintStream out, final PrintStream err)
        {
            this.env = env;
            this.out = out;
            this.err = err;
        }

        public <K> K create(final Class<K> type) throws Exception
        {
            if (type == Launch.class)
            {
                return type.cast(new Launch(env, out, err));
            }
            if (type == Env.class)
            {
                return type.cast(new Env(env, out));
            }
            return CommandLine.defaultFactory().create(type);
        }
    }
}
