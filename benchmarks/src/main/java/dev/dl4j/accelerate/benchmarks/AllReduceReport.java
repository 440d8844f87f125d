package dev.dl4j.accelerate.benchmarks;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

import static dev.dl4j.accelerate.benchmarks.Reports.each;
import static dev.dl4j.accelerate.benchmarks.Reports.fixed;
import static dev.dl4j.accelerate.benchmarks.Reports.median;
import static dev.dl4j.accelerate.benchmarks.Reports.number;
import static dev.dl4j.accelerate.benchmarks.Reports.ratio;
import static dev.dl4j.accelerate.benchmarks.Reports.text;
import static dev.dl4j.accelerate.benchmarks.Reports.us;
import static dev.dl4j.accelerate.benchmarks.Reports.verdict;

/**
 * Turns the {@code RESULT} lines of repeated {@link AllReduceBandwidth} and {@code mpi/allreduce_bandwidth} runs
 * into the markdown table, and the verdict on the project's all-reduce targets, that {@code run-allreduce.sh}
 * appends to {@code RESULTS.md}; optionally also a whitespace-separated data file for the plot. Every figure it
 * prints is computed from its input; nothing is assumed.
 *
 * <p>Input: one line per size and run, as the benchmarks print them with the run's index inserted by the
 * script, e.g. {@code RESULT repeat=2 impl=mpi op=SUM ranks=2 bytes=4096 iterations=100000 p50_us=1.2 ...}.
 *
 * <p>Each cell is the median over the runs of one statistic. Bus bandwidth is 2(n-1)/n &middot; bytes / time at
 * the median time: what each rank of a ring moves, so that it can be compared across rank counts and with the
 * machine's memory bandwidth. A ratio is the median over the runs of (accelerate / MPI in the same repeat, at
 * the same rank count and size): the script runs the two back to back, so pairing them cancels much of the
 * drift of a shared machine.
 */
public final class AllReduceReport
{
    /** 16 MiB and 100 MiB, 2 and 4 ranks: no slower than MPI_Allreduce. */
    static final double TARGET_LARGE_RATIO = 1.0;
    /** 1 MiB, 2 and 4 ranks: within this factor of MPI_Allreduce. */
    static final double TARGET_MEDIUM_RATIO = 1.2;
    /** 4 B at 2 ranks: median at most this. */
    static final double TARGET_TINY_P50_US = 1.0;
    /** 4 KiB at 2 ranks: median at most this. */
    static final double TARGET_SMALL_P50_US = 4.0;

    private static final String ACCELERATE = "accelerate";
    private static final String MPI = "mpi";

    private AllReduceReport()
    {
    }

    /**
     * @param args the file of {@code RESULT} lines, and optionally the plot data file to write; the markdown goes
     *             to standard output.
     * @throws IOException if a file cannot be read or written.
     */
    public static void main(final String[] args) throws IOException
    {
        if (args.length < 1 || args.length > 2)
        {
            throw new IllegalArgumentException("usage: AllReduceReport <file of RESULT lines> [plot data file]");
        }
        final List<Run> runs = runs(Reports.read(args[0]));
        write(runs, System.out);
        if (args.length == 2)
        {
            try (PrintStream data = new PrintStream(Files.newOutputStream(Path.of(args[1])), true, StandardCharsets.UTF_8))
            {
                writePlotData(runs, data);
            }
        }
    }

    /**
     * @param lines parsed RESULT lines of both implementations.
     * @return one run per line.
     * @throws IllegalArgumentException naming the field and the line when one is missing or not a number.
     */
    static List<Run> runs(final List<Map<String, String>> lines)
    {
        final List<Run> runs = new ArrayList<>();
        for (final Map<String, String> fields : lines)
        {
            runs.add(new Run(
                text(fields, "impl"), (int)number(fields, "ranks"), (long)number(fields, "bytes"),
                (int)number(fields, "repeat"), (long)number(fields, "iterations"), number(fields, "p50_us"),
                number(fields, "p99_us"), number(fields, "maxrank_p50_us"), number(fields, "maxrank_p99_us")));
        }
        return runs;
    }

    /**
     * @param runs the runs of one script invocation.
     * @param out  where the markdown goes: the table, then the targets and their verdicts.
     */
    static void write(final List<Run> runs, final PrintStream out)
    {
        final Map<String, List<Run>> cells = group(runs);
        out.println("| ranks | size | accelerate p50 µs | accelerate p99 µs | accelerate busbw GB/s | MPI p50 µs | " +
            "MPI p99 µs | MPI busbw GB/s | p50 ÷ MPI | worst-rank p50 µs (acc / MPI) | runs (acc / MPI) | timed calls " +
            "per run (acc / MPI) | accelerate p50 of each run µs | MPI p50 of each run µs |");
        out.println("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|---|---|");
        for (final long[] key : keys(runs))
        {
            final int ranks = (int)key[0];
            final long bytes = key[1];
            final List<Run> acc = cells.getOrDefault(key(ACCELERATE, ranks, bytes), List.of());
            final List<Run> mpi = cells.getOrDefault(key(MPI, ranks, bytes), List.of());
            out.printf(Locale.ROOT, "| %d | %s | %s | %s | %s | %s | %s | %s | %s | %s / %s | %d / %d | %s / %s | %s | %s |%n",
                ranks, size(bytes), us(median(acc, r -> r.p50)), us(median(acc, r -> r.p99)),
                fixed(busBandwidth(ranks, bytes, median(acc, r -> r.p50)), 2), us(median(mpi, r -> r.p50)),
                us(median(mpi, r -> r.p99)), fixed(busBandwidth(ranks, bytes, median(mpi, r -> r.p50)), 2),
                ratio(pairedRatio(acc, mpi)), us(median(acc, r -> r.maxrankP50)), us(median(mpi, r -> r.maxrankP50)),
                acc.size(), mpi.size(), fixed(median(acc, r -> r.iterations), 0),
                fixed(median(mpi, r -> r.iterations), 0), each(acc, r -> r.p50, 3), each(mpi, r -> r.p50, 3));
        }
        out.println();
        out.println("Cells are medians over the runs of rank 0's percentiles (worst-rank: the largest p50 of any rank). " +
            "busbw = 2(n-1)/n · bytes / p50, in 10^9 bytes/s. p50 ÷ MPI is the median over the repeats of the " +
            "paired ratio (accelerate / MPI in the same repeat); below 1 is faster than MPI.");
        out.println();

        out.println("### Targets");
        out.println();
        out.println("| target | criterion | measured | verdict |");
        out.println("|---|---|---|---|");
        for (final int ranks : new int[] { 2, 4 })
        {
            for (final long bytes : new long[] { 16L << 20, 100L << 20 })
            {
                relative(out, ranks + " ranks, " + size(bytes) + ": no slower than MPI_Allreduce", cells, ranks, bytes,
                    TARGET_LARGE_RATIO);
            }
            relative(out, ranks + " ranks, 1 MiB: within " + TARGET_MEDIUM_RATIO + "× of MPI_Allreduce", cells, ranks,
                1L << 20, TARGET_MEDIUM_RATIO);
        }
        absolute(out, "2 ranks, 4 B: median ≤ " + TARGET_TINY_P50_US + " µs", cells, 2, 4, TARGET_TINY_P50_US);
        absolute(out, "2 ranks, 4 KiB: median ≤ " + TARGET_SMALL_P50_US + " µs", cells, 2, 4096, TARGET_SMALL_P50_US);
    }

    /**
     * One line per rank count and size: {@code ranks bytes acc_p50_us mpi_p50_us acc_busbw mpi_busbw acc_p99_us
     * mpi_p99_us}, medians over the runs, {@code NaN} where a side was not measured; a blank line between rank
     * counts, so gnuplot can index them.
     */
    static void writePlotData(final List<Run> runs, final PrintStream out)
    {
        final Map<String, List<Run>> cells = group(runs);
        out.println("# ranks bytes acc_p50_us mpi_p50_us acc_busbw_gbps mpi_busbw_gbps acc_p99_us mpi_p99_us");
        int previousRanks = -1;
        for (final long[] key : keys(runs))
        {
            final int ranks = (int)key[0];
            final long bytes = key[1];
            if (previousRanks != -1 && ranks != previousRanks)
            {
                out.println();
                out.println();
            }
            previousRanks = ranks;
            final List<Run> acc = cells.getOrDefault(key(ACCELERATE, ranks, bytes), List.of());
            final List<Run> mpi = cells.getOrDefault(key(MPI, ranks, bytes), List.of());
            final double accP50 = median(acc, r -> r.p50);
            final double mpiP50 = median(mpi, r -> r.p50);
            out.printf(Locale.ROOT, "%d %d %s %s %s %s %s %s%n", ranks, bytes, plain(accP50), plain(mpiP50),
                plain(busBandwidth(ranks, bytes, accP50)), plain(busBandwidth(ranks, bytes, mpiP50)),
                plain(median(acc, r -> r.p99)), plain(median(mpi, r -> r.p99)));
        }
    }

    private static void relative(
        final PrintStream out, final String target, final Map<String, List<Run>> cells, final int ranks,
        final long bytes, final double limit)
    {
        final String criterion = "p50 ÷ MPI p50 ≤ " + String.format(Locale.ROOT, "%.2f", limit) +
            ", both as the median of the paired ratios and as the ratio of the medians";
        final List<Run> acc = cells.getOrDefault(key(ACCELERATE, ranks, bytes), List.of());
        final List<Run> mpi = cells.getOrDefault(key(MPI, ranks, bytes), List.of());
        final double paired = pairedRatio(acc, mpi);
        if (Double.isNaN(paired))
        {
            out.printf(Locale.ROOT, "| %s | %s | not measured (or no MPI run to pair with) | **NOT MEASURED** |%n",
                target, criterion);
            return;
        }
        final double p50 = median(acc, r -> r.p50);
        final double mpiP50 = median(mpi, r -> r.p50);
        final double ofMedians = p50 / mpiP50;
        final String verdict = verdict(paired <= limit, ofMedians <= limit);
        out.printf(Locale.ROOT, "| %s | %s | paired %s, of medians %s (p50 %s µs vs MPI %s µs; busbw %s vs %s GB/s) " +
            "| %s |%n", target, criterion, ratio(paired), ratio(ofMedians), us(p50), us(mpiP50),
            fixed(busBandwidth(ranks, bytes, p50), 2), fixed(busBandwidth(ranks, bytes, mpiP50), 2), verdict);
    }

    private static void absolute(
        final PrintStream out, final String target, final Map<String, List<Run>> cells, final int ranks,
        final long bytes, final double limit)
    {
        final String criterion = "median over runs of rank 0's p50";
        final List<Run> acc = cells.getOrDefault(key(ACCELERATE, ranks, bytes), List.of());
        if (acc.isEmpty())
        {
            out.printf(Locale.ROOT, "| %s | %s | not measured | **NOT MEASURED** |%n", target, criterion);
            return;
        }
        final double p50 = median(acc, r -> r.p50);
        final List<Run> mpi = cells.getOrDefault(key(MPI, ranks, bytes), List.of());
        out.printf(Locale.ROOT, "| %s | %s | %s µs (runs %s; p99 %s µs; MPI p50 %s µs) | %s |%n", target, criterion,
            us(p50), each(acc, r -> r.p50, 3), us(median(acc, r -> r.p99)), us(median(mpi, r -> r.p50)),
            verdict(p50 <= limit));
    }

    /**
     * Median over the repeats of (accelerate p50 / MPI p50 in the same repeat), or NaN with no pairs.
     */
    static double pairedRatio(final List<Run> acc, final List<Run> mpi)
    {
        return Reports.pairedRatio(acc, mpi, r -> r.repeat, r -> r.p50);
    }

    /**
     * @return 2(n-1)/n &middot; bytes / time in 10^9 bytes per second, for a time in microseconds.
     */
    static double busBandwidth(final int ranks, final long bytes, final double us)
    {
        return 2.0 * (ranks - 1) / ranks * bytes / (us * 1e3);
    }

    private static Map<String, List<Run>> group(final List<Run> runs)
    {
        final Map<String, List<Run>> cells = new HashMap<>();
        for (final Run run : runs)
        {
            cells.computeIfAbsent(key(run.impl, run.ranks, run.bytes), k -> new ArrayList<>()).add(run);
        }
        return cells;
    }

    /**
     * @return every (ranks, bytes) measured, by rank count then size.
     */
    private static List<long[]> keys(final List<Run> runs)
    {
        final Map<String, long[]> keys = new TreeMap<>();
        for (final Run run : runs)
        {
            keys.put(String.format(Locale.ROOT, "%06d|%019d", run.ranks, run.bytes), new long[] { run.ranks, run.bytes });
        }
        return new ArrayList<>(keys.values());
    }

    private static String key(final String impl, final int ranks, final long bytes)
    {
        return impl + "|" + ranks + "|" + bytes;
    }

    static String size(final long bytes)
    {
        if (bytes >= 1L << 20 && bytes % (1L << 20) == 0)
        {
            return (bytes >> 20) + " MiB";
        }
        if (bytes >= 1L << 10 && bytes % (1L << 10) == 0)
        {
            return (bytes >> 10) + " KiB";
        }
        return bytes + " B";
    }

    private static String plain(final double value)
    {
        return Double.isNaN(value) ? "NaN" : String.format(Locale.ROOT, "%.6g", value);
    }

    /** One size's RESULT line from one run. */
    static final class Run
    {
        final String impl;
        final int ranks;
        final long bytes;
        final int repeat;
        final long iterations;
        final double p50;
        final double p99;
        final double maxrankP50;
        final double maxrankP99;

        Run(
            final String impl, final int ranks, final long bytes, final int repeat, final long iterations,
            final double p50, final double p99, final double maxrankP50, final double maxrankP99)
        {
            this.impl = impl;
            this.ranks = ranks;
            this.bytes = bytes;
            this.repeat = repeat;
            this.iterations = iterations;
            this.p50 = p50;
            this.p99 = p99;
            this.maxrankP50 = maxrankP50;
            this.maxrankP99 = maxrankP99;
        }
    }
}
