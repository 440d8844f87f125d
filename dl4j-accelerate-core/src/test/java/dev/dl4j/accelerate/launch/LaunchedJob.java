package dev.dl4j.accelerate.launch;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Runs the real launcher in a child JVM, exactly as {@code bin/accelerate} does, with workers from this
 * test classpath; bounded by a deadline, after which the launcher and all its descendants are killed.
 */
public final class LaunchedJob
{
    /** The launcher's exit code, or -1 if it was killed at the deadline. */
    public final int exitCode;
    /** Everything the launcher printed, stdout and stderr interleaved. */
    public final String output;
    /** The launcher's pid, to check that it left nothing behind. */
    public final long pid;

    private LaunchedJob(final int exitCode, final String output, final long pid)
    {
        this.exitCode = exitCode;
        this.output = output;
        this.pid = pid;
    }

    /**
     * @param launcherArgs  arguments after {@code accelerate}, e.g. {@code launch -n 2 --master-port 0 --}.
     * @param workerCommand the worker command, or empty.
     * @param extraEnv      variables added to the launcher's environment.
     * @param timeoutSeconds deadline for the whole job.
     */
    public static LaunchedJob run(
        final List<String> launcherArgs, final List<String> workerCommand, final Map<String, String> extraEnv,
        final long timeoutSeconds) throws IOException, InterruptedException
    {
        return start(List.of(), launcherArgs, workerCommand, extraEnv).finish(timeoutSeconds);
    }

    /**
     * Starts the launcher without waiting for it, e.g. one per host of a multi-host job.
     *
     * @param prefix        what the launcher's command line runs under, e.g. {@code ip netns exec <namespace>};
     *                      it must exec the launcher, so that the process started is the launcher itself.
     * @param launcherArgs  arguments after {@code accelerate}.
     * @param workerCommand the worker command, or empty.
     * @param extraEnv      variables added to the launcher's environment.
     * @return the running launcher; {@link Running#finish(long)} it.
     */
    public static Running start(
        final List<String> prefix, final List<String> launcherArgs, final List<String> workerCommand,
        final Map<String, String> extraEnv) throws IOException
    {
        final List<String> command = new ArrayList<>(prefix);
        command.addAll(launcherJava());
        command.add(AccelerateCli.class.getName());
        command.addAll(launcherArgs);
        command.addAll(workerCommand);
        final File output = File.createTempFile("accelerate-launch", ".log");
        try
        {
            final ProcessBuilder builder = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(output)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
            final Map<String, String> env = builder.environment();
            env.keySet().removeIf(name -> name.equals("RANK") || name.equals("WORLD_SIZE") || name.startsWith("ACCELERATE_"));
            env.putAll(extraEnv);
            return new Running(builder.start(), output);
        }
        catch (final IOException | RuntimeException ex)
        {
            Files.deleteIfExists(output.toPath());
            throw ex;
        }
    }

    /**
     * A launcher started by {@link #start}, not yet finished.
     */
    public static final class Running
    {
        private final Process launcher;
        private final File output;

        private Running(final Process launcher, final File output)
        {
            this.launcher = launcher;
            this.output = output;
        }

        /**
         * @return the launcher process.
         */
        public Process process()
        {
            return launcher;
        }

        /**
         * Waits for the launcher; at the deadline kills it and all its descendants.
         *
         * @param timeoutSeconds how long to wait from now.
         * @return what it did.
         */
        public LaunchedJob finish(final long timeoutSeconds) throws IOException, InterruptedException
        {
            try
            {
                int exit = -1;
                if (launcher.waitFor(timeoutSeconds, TimeUnit.SECONDS))
                {
                    exit = launcher.exitValue();
                }
                else
                {
                    killTree(launcher.toHandle());
                    launcher.waitFor(10, TimeUnit.SECONDS);
                }
                return new LaunchedJob(exit, Files.readString(output.toPath(), StandardCharsets.UTF_8), launcher.pid());
            }
            finally
            {
                // Interrupted (a test's timeout) or failed: the job must not outlive the test.
                if (launcher.isAlive())
                {
                    killTree(launcher.toHandle());
                }
                Files.deleteIfExists(output.toPath());
            }
        }
    }

    /**
     * @param mainClass worker main class on this test classpath.
     * @param args      its arguments.
     * @return {@code java -cp <test classpath> mainClass args...}; the launcher adds Aeron's JVM flags itself.
     */
    public static List<String> javaWorker(final Class<?> mainClass, final String... args)
    {
        final List<String> command = new ArrayList<>(List.of(javaExecutable(), "-Xmx256m", "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"), mainClass.getName()));
        command.addAll(List.of(args));
        return command;
    }

    static List<String> launcherJava()
    {
        return List.of(javaExecutable(), "--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED", "-Xmx256m",
            "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"));
    }

    static String javaExecutable()
    {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    /**
     * @return media driver directories a launcher with this pid left in /dev/shm.
     */
    public List<Path> leftoverDriverDirectories() throws IOException
    {
        final Path shm = Path.of("/dev/shm");
        if (!Files.isDirectory(shm))
        {
            return List.of();
        }
        try (Stream<Path> entries = Files.list(shm))
        {
            return entries.filter(p -> p.getFileName().toString().startsWith("dl4j-accelerate-launcher-" + pid + "-"))
                .toList();
        }
    }

    static void killTree(final ProcessHandle root)
    {
        root.descendants().forEach(ProcessHandle::destroyForcibly);
        root.destroyForcibly();
    }

    public String toString()
    {
        return "exit " + exitCode + "\n" + output;
    }
}
