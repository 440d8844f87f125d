package dev.dl4j.accelerate.cuda;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Child JVMs on this test class path (so they find this module's GpuSupport), their output in a file, killed with
 * everything they started when the test is done with them.
 */
final class Jvm implements AutoCloseable
{
    final Process process;
    final Path output;

    private Jvm(final Process process, final Path output)
    {
        this.process = process;
        this.output = output;
    }

    /**
     * @param env       variables set (or, when null, removed) on top of this JVM's environment.
     * @param mainClass the class to run.
     * @param args      its arguments.
     */
    static Jvm start(final Map<String, String> env, final Class<?> mainClass, final String... args) throws IOException
    {
        final List<String> command = new ArrayList<>(command(mainClass));
        command.addAll(List.of(args));
        final Path output = Files.createTempFile("accelerate-cuda-test", ".log");
        final ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
            .redirectOutput(output.toFile()).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        builder.environment().keySet().removeIf(name -> name.equals("RANK") || name.equals("WORLD_SIZE") ||
            name.startsWith("ACCELERATE_"));
        env.forEach((name, value) ->
        {
            if (value == null)
            {
                builder.environment().remove(name);
            }
            else
            {
                builder.environment().put(name, value);
            }
        });
        return new Jvm(builder.start(), output);
    }

    /**
     * @return {@code java ... -cp <this test class path> mainClass}, with the flag Aeron needs.
     */
    static List<String> command(final Class<?> mainClass)
    {
        return List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED", "-Xmx512m", "-XX:+UseSerialGC",
            "-cp", System.getProperty("java.class.path"), mainClass.getName());
    }

    /**
     * @return the exit code, or -1 when it did not end in time.
     */
    int waitFor(final long seconds) throws InterruptedException
    {
        return process.waitFor(seconds, TimeUnit.SECONDS) ? process.exitValue() : -1;
    }

    String output() throws IOException
    {
        return Files.readString(output, StandardCharsets.UTF_8);
    }

    public void close() throws IOException
    {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        try
        {
            process.waitFor(10, TimeUnit.SECONDS);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
        Files.deleteIfExists(output);
    }
}
