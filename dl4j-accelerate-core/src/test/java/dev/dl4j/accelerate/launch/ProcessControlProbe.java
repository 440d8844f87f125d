package dev.dl4j.accelerate.launch;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.concurrent.TimeUnit;

import dev.dl4j.accelerate.Accelerator;

/**
 * A worker started by the real launcher in the multi-process tests. Records what it saw, one line per event
 * with a wall-clock timestamp in microseconds, in {@code <dir>/rank-<r>.log}; asserts what it can on its own
 * and exits non-zero when something is wrong, so the launcher reports it.
 */
public final class ProcessControlProbe
{
    private ProcessControlProbe()
    {
    }

    public static void main(final String[] args) throws Exception
    {
        final String scenario = args[0];
        final Path dir = Path.of(args[1]);
        try (Accelerator acc = Accelerator.create())
        {
            final int rank = acc.processIndex();
            final Path log = dir.resolve("rank-" + rank + ".log");
            switch (scenario)
            {
                case "barrier":
                    for (int round = 0; round < 3; round++)
                    {
                        // Ranks reach the barrier at very different times; nobody may leave before the last arrives.
                        Thread.sleep(150L * ((rank + round) % acc.numProcesses()));
                        record(log, "arrive " + round);
                        acc.waitForEveryone();
                        record(log, "depart " + round);
                    }
                    break;

                case "main-first":
                    final Path shared = dir.resolve("prepared.txt");
                    final String content = acc.mainProcessFirst(() ->
                    {
                        record(log, "body-start");
                        if (acc.isMainProcess())
                        {
                            sleepMillis(300);
                            write(shared, "prepared by rank 0");
                        }
                        final String read = read(shared);
                        record(log, "body-end");
                        return read;
                    });
                    check("prepared by rank 0".equals(content), "rank " + rank + " read '" + content + "'");
                    break;

                case "trigger":
                    final int setter = acc.numProcesses() - 1;
                    for (int i = 0; i < 20; i++)
                    {
                        if (rank == setter && i == 5)
                        {
                            acc.setTrigger();
                        }
                        final boolean fired = acc.checkTrigger();
                        if (fired)
                        {
                            record(log, "fired " + i);
                            check(!acc.checkTrigger(), "trigger still set on the call after it fired");
                            record(log, "reset " + (i + 1));
                            break;
                        }
                    }
                    break;

                case "fail":
                    acc.waitForEveryone();
                    if (rank == acc.numProcesses() - 1)
                    {
                        System.err.println("probe: rank " + rank + " fails on purpose");
                        System.exit(3);
                    }
                    // The others wait for a peer that is gone; the launcher must stop them.
                    Thread.sleep(TimeUnit.MINUTES.toMillis(5));
                    break;

                case "loop":
                    // Collectives without end, as a training loop makes them, until a peer is lost.
                    acc.waitForEveryone();
                    record(log, "ready");
                    while (true)
                    {
                        acc.waitForEveryone();
                        Thread.sleep(5);
                    }

                case "hold":
                    acc.waitForEveryone();
                    record(log, "ready");
                    // Stays until the launcher is signalled and stops it.
                    Thread.sleep(TimeUnit.MINUTES.toMillis(5));
                    break;

                case "env":
                    record(log, "OMP_NUM_THREADS=" + System.getenv("OMP_NUM_THREADS"));
                    break;

                default:
                    throw new IllegalArgumentException("unknown scenario " + scenario);
            }
            record(log, "done");
        }
    }

    private static void check(final boolean condition, final String message)
    {
        if (!condition)
        {
            System.err.println("probe assertion failed: " + message);
            System.exit(4);
        }
    }

    private static void record(final Path log, final String event)
    {
        final Instant now = Instant.now();
        final long micros = now.getEpochSecond() * 1_000_000L + now.getNano() / 1000;
        write(log, micros + " " + event + "\n");
    }

    private static void write(final Path file, final String text)
    {
        try
        {
            Files.writeString(file, text, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
    }

    private static String read(final Path file)
    {
        try
        {
            return Files.readString(file, StandardCharsets.UTF_8).trim();
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
    }

    private static void sleepMillis(final long millis)
    {
        try
        {
            Thread.sleep(millis);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(ex);
        }
    }
}
