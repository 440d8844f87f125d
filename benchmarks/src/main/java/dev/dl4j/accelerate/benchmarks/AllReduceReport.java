package dev.dl4j.accelerate.benchmarks;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

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
        final List<Run> runs = parse(Files.readAllLines(Path.of(args[0]), StandardCharsets.UTF_8));
        if (runs.isEmpty())
        {
            throw new IllegalArgumentException(args[0] + " holds no RESULT lines: did every run fail?");
        }
        write(runs, System.out);
        if (args.length == 2)
        {
            try (PrintStream data = new PrintStream(Files.newOutputStream(Path.of(args[1])), true, StandardCharsets.UTF_8))
            {
                writePlotData(runs, data);
            }
        }
    }

    static List<Run> parse(final List<String> lines)
    {
        final List<Run> runs = new ArrayList<>();
        for (final String line : lines)
        {
            final String trimmed = line.trim();
            if (!trimmed.startsWith("RESULT "))
            {
                continue;
            }
            final Map<String, String> fields = new HashMap<>();
            for (final String field : trimmed.substring("RESULT ".length()).trim().split("\\s+"))
            {
                final int eq = field.indexOf('=');
                if (eq <= 0)
                {
                    throw new IllegalArgumentException("'" + field + "' is not name=value in: " + line);
                }
                fields.put(field.substring(0, eq), field.substring(eq + 1));
            }
            runs.add(new Run(
                text(fields, "impl", line), (int)number(fields, "ranks", line), (long)number(fields, "bytes", line),
                (int)number(fields, "repeat", line), (long)number(fields, "iterations", line),
                number(fields, "p50_us", line), number(fields, "p99_us", line),
                number(fields, "maxrank_p50_us", line), number(fields, "maxrank_p99_us", line)));
        }
        return runs;
    }

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
                gbps(busBandwidth(ranks, bytes, median(acc, r -> r.p50))), us(median(mpi, r -> r.p50)),
                us(median(mpi, r -> r.p99)), gbps(busBandwidth(ranks, bytes, median(mpi, r -> r.p50))),
                ratio(pairedRatio(acc, mpi)), us(median(acc, r -> r.maxrankP50)), us(median(mpi, r -> r.maxrankP50)),
                acc.size(), mpi.size(), count(median(acc, r -> r.iterations)), count(median(mpi, r -> r.iterations)),
                list(acc), list(mpi));
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
        // On a noisy machine the two summaries can fall on either side of the limit: say so rather than pick one.
        final String verdict = paired <= limit && ofMedians <= limit ? verdict(true) :
            paired > limit && ofMedians > limit ? verdict(false) : "**BORDERLINE** (the two summaries disagree: " +
            "within this machine's noise; run more REPEATS)";
        out.printf(Locale.ROOT, "| %s | %s | paired %s, of medians %s (p50 %s µs vs MPI %s µs; busbw %s vs %s GB/s) " +
            "| %s |%n", target, criterion, ratio(paired), ratio(ofMedians), us(p50), us(mpiP50),
            gbps(busBandwidth(ranks, bytes, p50)), gbps(busBandwidth(ranks, bytes, mpiP50)), verdict);
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
            us(p50), list(acc), us(median(acc, r -> r.p99)), us(median(mpi, r -> r.p50)), verdict(p50 <= limit));
    }

    /**
     * Median over the repeats of (accelerate p50 / MPI p50 in the same repeat), or NaN with no pairs.
     */
    static double pairedRatio(final List<Run> acc, final List<Run> mpi)
    {
        final List<Double> ratios = new ArrayList<>();
        for (final Run run : acc)
        {
            for (final Run reference : mpi)
            {
                if (reference.repeat == run.repeat && reference.p50 > 0)
                {
                    ratios.add(run.p50 / reference.p50);
                }
            }
        }
        return median(ratios);
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

    static double median(final List<Run> runs, final Statistic statistic)
    {
        final List<Double> values = new ArrayList<>(runs.size());
        for (final Run run : runs)
        {
            values.add(statistic.of(run));
        }
        return median(values);
    }

    static double median(final List<Double> values)
    {
        if (values.isEmpty())
        {
            return Double.NaN;
        }
        final double[] sorted = values.stream().mapToDouble(Double::doubleValue).toArray();
        Arrays.sort(sorted);
        final int mid = sorted.length / 2;
        return sorted.length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
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

    private static String list(final List<Run> runs)
    {
        final StringBuilder text = new StringBuilder();
        for (final Run run : runs)
        {
            text.append(text.length() == 0 ? "" : ", ").append(us(run.p50));
        }
        return text.toString();
    }

    private static String verdict(final boolean met)
    {
        return met ? "**MET**" : "**NOT MET**";
    }

    private static String us(final double value)
    {
        return Double.isNaN(value) ? "—" : String.format(Locale.ROOT, "%.3f", value);
    }

    private static String gbps(final double value)
    {
        return Double.isNaN(value) ? "—" : String.format(Locale.ROOT, "%.2f", value);
    }

    private static String ratio(final double value)
    {
        return Double.isNaN(value) ? "—" : String.format(Locale.ROOT, "%.2f×", value);
    }

    private static String count(final double value)
    {
        return Double.isNaN(value) ? "—" : String.format(Locale.ROOT, "%.0f", value);
    }

    private static String plain(final double value)
    {
        return Double.isNaN(value) ? "NaN" : String.format(Locale.ROOT, "%.6g", value);
    }

    private static String text(final Map<String, String> fields, final String name, final String line)
    {
        final String value = fields.get(name);
        if (value == null || value.isEmpty())
        {
            throw new IllegalArgumentException("no " + name + "= in: " + line);
        }
        return value;
    }

    private static double number(final Map<String, String> fields, final String name, final String line)
    {
        final String value = text(fields, name, line);
        try
        {
            return Double.parseDouble(value);
        }
        catch (final NumberFormatException ex)
        {
            throw new IllegalArgumentException(name + "=" + value + " is not a number in: " + line);
        }
    }

    /** One statistic of a run, e.g. its p50. */
    @FunctionalInterface
    interface Statistic
    {
        double of(Run run);
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
