package dev.dl4j.accelerate.benchmarks;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

import dev.dl4j.accelerate.Accelerator;
import dev.dl4j.accelerate.ReduceOp;
import org.HdrHistogram.Histogram;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Time and bus bandwidth of {@link Accelerator#allReduce(INDArray, ReduceOp)} (SUM of a FLOAT array) between
 * real processes started by {@code accelerate launch}, over a sweep of array sizes. For every size each rank
 * checks the result once, warms up, then times every single call with {@link System#nanoTime()} into an
 * HdrHistogram; rank 0 prints one machine-readable line per size:
 *
 * <pre>
 * RESULT impl=accelerate op=SUM ranks=2 bytes=1048576 iterations=.. p50_us=.. p99_us=.. maxrank_p50_us=..
 *     maxrank_p99_us=..
 * </pre>
 *
 * (one line in the output). The percentiles are rank 0's; {@code maxrank_*} are the largest of that percentile
 * over all ranks. {@code mpi/allreduce_bandwidth.c} prints the same line for {@code MPI_Allreduce}, measured the
 * same way, and {@link AllReduceReport} turns both into a table with bus bandwidth
 * (2(n-1)/n &middot; bytes / time, the bytes each rank must move in a ring) and ratios.
 *
 * <p><b>Data.</b> Every rank fills its array with rank + 1; after the first call every element must be
 * n(n+1)/2 on every rank, or the run fails. The timed calls then keep summing the same array, so its values
 * grow and reach infinity, which costs x86 floating point nothing (only subnormal numbers are slow).
 *
 * <p><b>Time budget per size.</b> Warm-up lasts at least {@code --warmup} calls and {@code --warmup-seconds}:
 * the JIT compiler must have compiled the reduce loops before timing starts. Timed calls stop at
 * {@code --iterations} or after {@code --max-seconds}, but never before {@code --min-iterations}. Calls run in
 * chunks (1000 for small arrays, down to 1 for arrays of 16 MiB and more) between which rank 0 broadcasts
 * whether to go on, untimed, so every rank makes the same calls.
 *
 * <pre>{@code
 * bin/accelerate launch --nproc-per-node 2 --master-port 0 -- \
 *     java -Xmx1g -cp benchmarks/target/classes:$(cat benchmarks/target/classpath.txt) \
 *     dev.dl4j.accelerate.benchmarks.AllReduceBandwidth --sizes 4,4096,1048576
 * }</pre>
 *
 * <p>Exits non-zero (through an uncaught exception) when started without the launcher, on bad arguments, on a
 * wrong result, or when a collective fails; the launcher then stops the other ranks.
 */
public final class AllReduceBandwidth
{
    /** Sizes swept by default: 4 B, 4 KiB, 1 MiB, 16 MiB, 100 MiB. */
    static final long[] DEFAULT_SIZES = { 4, 4096, 1L << 20, 16L << 20, 100L << 20 };
    /** Far above any sane time; the histogram still grows past it rather than fail or clamp. */
    private static final long HIGHEST_EXPECTED_NS = TimeUnit.SECONDS.toNanos(60);
    private static final int SIGNIFICANT_DIGITS = 3;
    private static final String USAGE = "usage: AllReduceBandwidth [--sizes B,B,...] [--warmup N] " +
        "[--warmup-seconds S] [--iterations N] [--min-iterations N] [--max-seconds S]";

    private AllReduceBandwidth()
    {
    }

    /**
     * @param args see {@link #USAGE}: array sizes in bytes (multiples of 4; default 4 B to 100 MiB); per size, at
     *             least N untimed calls (default 5) lasting at least S seconds (default 1), then at most N timed
     *             calls (default 100000) for at most S seconds (default 3) but at least N (default 5).
     */
    public static void main(final String[] args)
    {
        final Options options = Options.parse(args);
        try (Accelerator accelerator = Accelerator.create())
        {
            if (accelerator.numProcesses() < 2)
            {
                throw new IllegalStateException("AllReduceBandwidth measures a collective between processes; start " +
                    "it with `bin/accelerate launch --nproc-per-node 2 --master-port 0 -- java ...`");
            }
            accelerator.print("# AllReduceBandwidth " + accelerator + " " + options + " java=" +
                System.getProperty("java.vm.version") + " vector=" +
                ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent());
            for (final long bytes : options.sizes)
            {
                final INDArray array = Nd4j.create(DataType.FLOAT, bytes / Float.BYTES);
                check(accelerator, array);
                final long chunk = chunkCalls(bytes);
                final Chunks warmup = new Chunks(accelerator, chunk, options.warmup, Long.MAX_VALUE,
                    options.warmupSeconds, Double.POSITIVE_INFINITY);
                for (long calls = warmup.next(); calls > 0; calls = warmup.next())
                {
                    for (long i = 0; i < calls; i++)
                    {
                        accelerator.allReduce(array, ReduceOp.SUM);
                    }
                }
                final Histogram histogram = new Histogram(HIGHEST_EXPECTED_NS, SIGNIFICANT_DIGITS);
                histogram.setAutoResize(true);
                // --max-seconds is a budget that --min-iterations may overrun: the least time, not a deadline.
                final Chunks timed = new Chunks(accelerator, chunk, options.minIterations, options.iterations,
                    options.maxSeconds, Double.POSITIVE_INFINITY);
                for (long calls = timed.next(); calls > 0; calls = timed.next())
                {
                    for (long i = 0; i < calls; i++)
                    {
                        final long start = System.nanoTime();
                        accelerator.allReduce(array, ReduceOp.SUM);
                        histogram.recordValue(System.nanoTime() - start);
                    }
                }
                report(accelerator, bytes, histogram);
                array.close();
            }
            // A rank may close only once no peer needs its messages any more.
            accelerator.waitForEveryone();
        }
    }

    private static void check(final Accelerator accelerator, final INDArray array)
    {
        final int n = accelerator.numProcesses();
        array.assign(accelerator.processIndex() + 1);
        accelerator.allReduce(array, ReduceOp.SUM);
        final double expected = n * (n + 1) / 2.0;
        final double min = array.minNumber().doubleValue();
        final double max = array.maxNumber().doubleValue();
        if (min != expected || max != expected)
        {
            throw new IllegalStateException("allReduce(SUM) of " + array.length() + " floats on rank " +
                accelerator.processIndex() + " gave values in [" + min + ", " + max + "], expected " + expected);
        }
    }

    /**
     * Prints rank 0's RESULT line, with the worst rank's percentiles gathered from all. Collective.
     */
    private static void report(final Accelerator accelerator, final long bytes, final Histogram mine)
    {
        final ByteBuffer percentiles = ByteBuffer.allocate(2 * Long.BYTES);
        percentiles.putLong(mine.getValueAtPercentile(50.0)).putLong(mine.getValueAtPercentile(99.0));
        final List<byte[]> all = accelerator.gather(percentiles.array(), 0);
        if (!accelerator.isMainProcess())
        {
            return;
        }
        long maxP50 = 0;
        long maxP99 = 0;
        for (final byte[] theirs : all)
        {
            final ByteBuffer decoded = ByteBuffer.wrap(theirs);
            maxP50 = Math.max(maxP50, decoded.getLong());
            maxP99 = Math.max(maxP99, decoded.getLong());
        }
        System.out.printf(Locale.ROOT, "RESULT impl=accelerate op=SUM ranks=%d bytes=%d iterations=%d p50_us=%.3f " +
            "p99_us=%.3f maxrank_p50_us=%.3f maxrank_p99_us=%.3f%n", accelerator.numProcesses(), bytes,
            mine.getTotalCount(), mine.getValueAtPercentile(50.0) / 1e3, mine.getValueAtPercentile(99.0) / 1e3,
            maxP50 / 1e3, maxP99 / 1e3);
    }

    /**
     * Calls per chunk: chunks of about 16 MiB of array, between 1 and 1000 calls, so that the go-on broadcast is
     * rare next to small calls and the time budget is kept to within one call for large ones. The C reference
     * uses the same rule.
     */
    static long chunkCalls(final long bytes)
    {
        return Math.max(1, Math.min(1000, (16L << 20) / bytes));
    }

    /**
     * The command line, validated once: a bad value fails with its option's name and the usage.
     */
    private static final class Options
    {
        long[] sizes = DEFAULT_SIZES;
        long warmup = 5;
        double warmupSeconds = 1;
        long iterations = 100_000;
        long minIterations = 5;
        double maxSeconds = 3;

        static Options parse(final String[] args)
        {
            final Arguments arguments = new Arguments(USAGE);
            final Options options = new Options();
            arguments.forEach(args, (name, value) ->
            {
                switch (name)
                {
                    case "--sizes":
                        options.sizes = sizes(arguments, value);
                        break;
                    case "--warmup":
                        options.warmup = arguments.count(name, value, 0);
                        break;
                    case "--warmup-seconds":
                        options.warmupSeconds = arguments.seconds(name, value, true);
                        break;
                    case "--iterations":
                        options.iterations = arguments.count(name, value, 1);
                        break;
                    case "--min-iterations":
                        options.minIterations = arguments.count(name, value, 1);
                        break;
                    case "--max-seconds":
                        options.maxSeconds = arguments.seconds(name, value, false);
                        break;
                    default:
                        throw arguments.unknown(name);
                }
            });
            if (options.minIterations > options.iterations)
            {
                throw arguments.usage(
                    "--min-iterations " + options.minIterations + " exceeds --iterations " + options.iterations);
            }
            return options;
        }

        private static long[] sizes(final Arguments arguments, final String value)
        {
            final List<Long> sizes = new ArrayList<>();
            for (final String part : value.split(","))
            {
                final long bytes = arguments.count("--sizes", part, Float.BYTES);
                if (bytes % Float.BYTES != 0 || bytes > Integer.MAX_VALUE)
                {
                    throw arguments.usage(
                        "--sizes " + part + " must be a multiple of " + Float.BYTES + " bytes below 2 GiB");
                }
                sizes.add(bytes);
            }
            return sizes.stream().mapToLong(Long::longValue).toArray();
        }

        public String toString()
        {
            final StringBuilder sizes = new StringBuilder();
            for (final long size : this.sizes)
            {
                sizes.append(sizes.length() == 0 ? "" : ",").append(size);
            }
            return String.format(Locale.ROOT, "sizes=%s warmup=%d warmup-seconds=%s iterations=%d min-iterations=%d " +
                "max-seconds=%s", sizes, warmup, warmupSeconds, iterations, minIterations, maxSeconds);
        }
    }
}
