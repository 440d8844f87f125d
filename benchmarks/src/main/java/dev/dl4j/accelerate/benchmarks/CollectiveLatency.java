package dev.dl4j.accelerate.benchmarks;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.zip.DataFormatException;

import dev.dl4j.accelerate.Accelerator;
import org.HdrHistogram.Histogram;

/**
 * Latency of the collectives between real processes: each rank of a job started by {@code accelerate launch}
 * times every single call of {@link Accelerator#waitForEveryone()}, then of {@link Accelerator#checkTrigger()},
 * with {@link System#nanoTime()} into an HdrHistogram. Rank 0 gathers every rank's histogram and prints one
 * machine-readable line per operation:
 *
 * <pre>
 * RESULT op=waitForEveryone ranks=2 wait=yield iterations=100000 p50_us=.. p99_us=.. p999_us=.. max_us=..
 *     maxrank_p50_us=.. maxrank_p99_us=..
 * </pre>
 *
 * (one line in the output). The percentiles are rank 0's; {@code maxrank_*} are the largest of that
 * percentile over all ranks; {@code iterations} is the number of calls timed. {@code mpi/barrier_latency.c}
 * prints the same line for {@code MPI_Barrier}. The wait strategy is the job's {@code ACCELERATE_WAIT}. Every
 * sample includes one {@code nanoTime()} call (about 20 ns), as the C reference's includes one
 * {@code clock_gettime}.
 *
 * <p><b>Warm-up</b> lasts at least {@code --warmup} calls and at least {@code --warmup-seconds}: a count alone
 * is over in milliseconds at 2 ranks, while the JIT compiler still works in the background, and on a 2-core
 * machine its threads take the core a rank needs, which shows as microseconds in the measured tail.
 *
 * <p><b>Time budget.</b> Calls run in chunks of 1000, between which rank 0 broadcasts whether to go on
 * (untimed). Spinning ranks on fewer cores than ranks take milliseconds per barrier and would keep a run going
 * for many minutes, so the timed calls of one operation stop after {@code --max-seconds} (warm-up after a
 * quarter of it); the RESULT line then says how many calls were timed.
 *
 * <pre>{@code
 * ACCELERATE_WAIT=spin bin/accelerate launch --nproc-per-node 2 --master-port 0 -- \
 *     java -cp benchmarks/target/classes:$(cat benchmarks/target/classpath.txt) \
 *     dev.dl4j.accelerate.benchmarks.CollectiveLatency --iterations 100000 --warmup 20000
 * }</pre>
 *
 * <p>Exits non-zero (through an uncaught exception) when started without the launcher, on bad arguments, or
 * when a collective fails; the launcher then stops the other ranks.
 */
public final class CollectiveLatency
{
    /** Far above any sane latency; the histogram still grows past it rather than fail or clamp. */
    private static final long HIGHEST_EXPECTED_NS = TimeUnit.SECONDS.toNanos(10);
    private static final int SIGNIFICANT_DIGITS = 3;
    /** Calls between two of rank 0's decisions whether to go on, each an untimed broadcast. */
    private static final long CHUNK_CALLS = 1000;
    private static final String USAGE =
        "usage: CollectiveLatency [--iterations N] [--warmup N] [--warmup-seconds S] [--max-seconds S]";

    private CollectiveLatency()
    {
    }

    /**
     * @param args {@code [--iterations N] [--warmup N] [--warmup-seconds S] [--max-seconds S]}: timed calls per
     *             operation (default 100000); untimed calls before them, at least N (default 20000) and for at
     *             least S seconds (default 2); the most time the timed calls of one operation may take (default
     *             60), after which fewer are timed.
     */
    public static void main(final String[] args)
    {
        final Options options = Options.parse(args);
        try (Accelerator accelerator = Accelerator.create())
        {
            if (accelerator.numProcesses() < 2)
            {
                throw new IllegalStateException("CollectiveLatency measures collectives between processes; start it " +
                    "with `bin/accelerate launch --nproc-per-node 2 --master-port 0 -- java ...`");
            }
            final String wait = accelerator.settings().waitStrategy().name().toLowerCase(Locale.ROOT);
            accelerator.print("# CollectiveLatency " + accelerator + " " + options + " java=" +
                System.getProperty("java.vm.version"));

            final Histogram barrier = timeWaitForEveryone(accelerator, options);
            final Histogram trigger = timeCheckTrigger(accelerator, options);
            report(accelerator, "waitForEveryone", wait, options.iterations, barrier);
            report(accelerator, "checkTrigger", wait, options.iterations, trigger);

            // A rank may close only once no peer needs its messages any more.
            accelerator.waitForEveryone();
        }
    }

    private static Histogram timeWaitForEveryone(final Accelerator accelerator, final Options options)
    {
        final Chunks warmup = options.warmupChunks(accelerator);
        for (long chunk = warmup.next(); chunk > 0; chunk = warmup.next())
        {
            for (long i = 0; i < chunk; i++)
            {
                accelerator.waitForEveryone();
            }
        }
        final Histogram histogram = newHistogram();
        final Chunks timed = options.timedChunks(accelerator);
        for (long chunk = timed.next(); chunk > 0; chunk = timed.next())
        {
            for (long i = 0; i < chunk; i++)
            {
                final long start = System.nanoTime();
                accelerator.waitForEveryone();
                histogram.recordValue(System.nanoTime() - start);
            }
        }
        return histogram;
    }

    private static Histogram timeCheckTrigger(final Accelerator accelerator, final Options options)
    {
        // Nobody raises the trigger: the common case of a training step, and a true answer would be a bug.
        long raised = 0;
        final Chunks warmup = options.warmupChunks(accelerator);
        for (long chunk = warmup.next(); chunk > 0; chunk = warmup.next())
        {
            for (long i = 0; i < chunk; i++)
            {
                raised += accelerator.checkTrigger() ? 1 : 0;
            }
        }
        final Histogram histogram = newHistogram();
        final Chunks timed = options.timedChunks(accelerator);
        for (long chunk = timed.next(); chunk > 0; chunk = timed.next())
        {
            for (long i = 0; i < chunk; i++)
            {
                final long start = System.nanoTime();
                final boolean any = accelerator.checkTrigger();
                histogram.recordValue(System.nanoTime() - start);
                raised += any ? 1 : 0;
            }
        }
        if (raised != 0)
        {
            throw new IllegalStateException("checkTrigger() returned true " + raised + " times on rank " +
                accelerator.processIndex() + " although no rank called setTrigger()");
        }
        return histogram;
    }

    private static Histogram newHistogram()
    {
        final Histogram histogram = new Histogram(HIGHEST_EXPECTED_NS, SIGNIFICANT_DIGITS);
        histogram.setAutoResize(true);
        return histogram;
    }

    /**
     * Gathers every rank's histogram on rank 0 and prints the RESULT line there. Collective.
     */
    private static void report(
        final Accelerator accelerator, final String op, final String wait, final long iterations, final Histogram mine)
    {
        final ByteBuffer encoded = ByteBuffer.allocate(mine.getNeededByteBufferCapacity());
        final int length = mine.encodeIntoCompressedByteBuffer(encoded);
        final byte[] bytes = new byte[length];
        encoded.flip();
        encoded.get(bytes);

        final List<byte[]> all = accelerator.gather(bytes, 0);
        if (!accelerator.isMainProcess())
        {
            return;
        }
        long maxP50 = 0;
        long maxP99 = 0;
        final StringBuilder perRank = new StringBuilder();
        for (int rank = 0; rank < all.size(); rank++)
        {
            final Histogram histogram = decode(all.get(rank), rank);
            maxP50 = Math.max(maxP50, histogram.getValueAtPercentile(50.0));
            maxP99 = Math.max(maxP99, histogram.getValueAtPercentile(99.0));
            perRank.append(String.format(Locale.ROOT, "RANK op=%s rank=%d %s%n", op, rank, percentiles(histogram)));
        }
        System.out.print(perRank);
        if (mine.getTotalCount() < iterations)
        {
            System.out.println("# " + op + ": --max-seconds ran out after " + mine.getTotalCount() + " of " +
                iterations + " timed calls");
        }
        System.out.printf(Locale.ROOT, "RESULT op=%s ranks=%d wait=%s iterations=%d %s maxrank_p50_us=%.3f " +
            "maxrank_p99_us=%.3f%n", op, accelerator.numProcesses(), wait, mine.getTotalCount(), percentiles(mine),
            maxP50 / 1e3, maxP99 / 1e3);
    }

    private static Histogram decode(final byte[] bytes, final int rank)
    {
        try
        {
            return Histogram.decodeFromCompressedByteBuffer(ByteBuffer.wrap(bytes), HIGHEST_EXPECTED_NS);
        }
        catch (final DataFormatException ex)
        {
            throw new IllegalStateException("rank " + rank + " sent a histogram that does not decode: " + ex.getMessage(), ex);
        }
    }

    private static String percentiles(final Histogram histogram)
    {
        return String.format(Locale.ROOT, "p50_us=%.3f p99_us=%.3f p999_us=%.3f max_us=%.3f",
            histogram.getValueAtPercentile(50.0) / 1e3, histogram.getValueAtPercentile(99.0) / 1e3,
            histogram.getValueAtPercentile(99.9) / 1e3, histogram.getMaxValue() / 1e3);
    }

    /**
     * The command line, validated once: a bad value fails with its option's name and the usage.
     */
    private static final class Options
    {
        long iterations = 100_000;
        long warmup = 20_000;
        double warmupSeconds = 2;
        double maxSeconds = 60;

        static Options parse(final String[] args)
        {
            final Arguments arguments = new Arguments(USAGE);
            final Options options = new Options();
            arguments.forEach(args, (name, value) ->
            {
                switch (name)
                {
                    case "--iterations":
                        options.iterations = arguments.count(name, value, 1);
                        break;
                    case "--warmup":
                        options.warmup = arguments.count(name, value, 0);
                        break;
                    case "--warmup-seconds":
                        options.warmupSeconds = arguments.seconds(name, value, true);
                        break;
                    case "--max-seconds":
                        options.maxSeconds = arguments.seconds(name, value, false);
                        break;
                    default:
                        throw arguments.unknown(name);
                }
            });
            return options;
        }

        Chunks warmupChunks(final Accelerator accelerator)
        {
            return new Chunks(accelerator, CHUNK_CALLS, warmup, Long.MAX_VALUE, warmupSeconds, maxSeconds / 4);
        }

        Chunks timedChunks(final Accelerator accelerator)
        {
            return new Chunks(accelerator, CHUNK_CALLS, iterations, iterations, 0, maxSeconds);
        }

        public String toString()
        {
            return String.format(Locale.ROOT, "iterations=%d warmup=%d warmup-seconds=%s max-seconds=%s",
                iterations, warmup, warmupSeconds, maxSeconds);
        }
    }
}
