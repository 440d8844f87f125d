package dev.dl4j.accelerate.launch;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * The command line run in this JVM, as the launcher's tests need it: exit code and both streams.
 */
final class CliResult
{
    final int code;
    final String out;
    final String err;

    private CliResult(final int code, final String out, final String err)
    {
        this.code = code;
        this.out = out;
        this.err = err;
    }

    /**
     * @param env  the launcher's environment; PATH is added when missing.
     * @param args the command line.
     * @return what it did.
     */
    static CliResult run(final Map<String, String> env, final String... args)
    {
        final Map<String, String> withPath = new HashMap<>(env);
        withPath.putIfAbsent("PATH", System.getenv("PATH"));
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        final ByteArrayOutputStream err = new ByteArrayOutputStream();
        final int code = AccelerateCli.execute(args, withPath, new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8));
        return new CliResult(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }
}
