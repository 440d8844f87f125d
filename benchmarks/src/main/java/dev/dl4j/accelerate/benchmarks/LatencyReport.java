package dev.dl4j.accelerate.benchmarks;

import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.ToDoubleFunction;

import static dev.dl4j.accelerate.benchmarks.Reports.each;
import static dev.dl4j.accelerate.benchmarks.Reports.median;
import static dev.dl4j.accelerate.benchmarks.Reports.number;
import static dev.dl4j.accelerate.benchmarks.Reports.pairedRatio;
import static dev.dl4j.accelerate.benchmarks.Reports.ratio;
import static dev.dl4j.accelerate.benchmarks.Reports.text;
import static dev.dl4j.accelerate.benchmarks.Reports.us;
import static dev.dl4j.accelerate.benchmarks.Reports.verdict;

/**
 * Turns the {@code RESULT} lines of repeated {@link CollectiveLatency} and {@code mpi/barrier_latency} runs into
 * the markdown table, and the verdict on the project's latency targets, that {@code run-collective-latency.sh}
 * appends to {@code RESULTS.md}. Every figure it prints is computed from its input; nothing is assumed.
 *
 * <p>Input: one line per operation and run, as the benchmarks print them with the run's index inserted by the
 * script, e.g. {@code RESULT repeat=2 op=MPI_Barrier ranks=2 wait=mpi iterations=100000 p50_us=0.180 ...}.
 *
 * <p>Each table cell is the median over the runs of one statistic. A ratio column is the median over the runs
 * of (this operation's statistic / {@code MPI_Barrier}'s in the same run at the same rank count): the script
 * alternates the two, so pairing them cancels much of the drift of a shared, noisy machine.
 */
public final class LatencyReport
{
    /** 2 ranks, default (yielding) wait: the median latency of {@code waitForEveryone()} must not exceed this. */
    static final double TARGET_YIELD_P50_US = 0.6;
    /** 2 ranks, default (yielding) wait: the 99th percentile must not exceed this. */
    static final double TARGET_YIELD_P99_US = 5.0;
    /** 2 ranks, spinning: no slower than MPI_Barrier. */
    static final double TARGET_SPIN_RATIO = 1.0;
    /** 4 ranks on 2 cores: within this factor of MPI_Barrier. */
    static final double TARGET_OVERSUBSCRIBED_RATIO = 1.2;

    private static final String MPI_BARRIER = "MPI_Barrier";
    private static final List<String> OP_ORDER =
        List.of("waitForEveryone", "checkTrigger", MPI_BARRIER, "MPI_Allreduce_LOR");
    private static final List<String> WAIT_ORDER = List.of("yield", "spin", "backoff", "mpi");

    private LatencyReport()
    {
    }

    /**
     * @param args the file of {@code RESULT} lines; the markdown goes to standard output.
     * @throws IOException if the file cannot be read.
     */
    public static void main(final String[] args) throws IOException
    {
        if (args.length != 1)
        {
            throw new IllegalArgumentException("usage: LatencyReport <file of RESULT lines>");
        }
        write(runs(Reports.read(args[0])), System.out);
    }

    static List<Run> runs(final List<Map<String, String>> lines)
    {
        final List<Run> runs = new ArrayList<>();
        for (final Map<String, String> fields : lines)
        {
            runs.add(new Run(
                text(fields, "op"), (int)number(fields, "ranks"), text(fields, "wait"), (int)number(fields, "repeat"),
                (long)number(fields, "iterations"), number(fields, "p50_us"), number(fields, "p99_us"),
                number(fields, "p999_us"), number(fields, "max_us"), number(fields, "maxrank_p50_us"),
                number(fields, "maxrank_p99_us")));
        }
        return runs;
    }

    static void write(final List<Run> runs, final PrintStream out)
    {
        final Map<String, List<Run>> rows = new TreeMap<>(Comparator.comparing(LatencyReport::sortKey));
        for (final Run run : runs)
        {
            rows.computeIfAbsent(run.key(), k -> new ArrayList<>()).add(run);
        }

        out.println("| op | ranks | wait | runs | iterations | p50 µs | p99 µs | p99.9 µs | max µs | worst-rank p50 µs | " +
            "worst-rank p99 µs | p50 ÷ MPI_Barrier | p99 ÷ MPI_Barrier | p50 of each run µs |");
        out.println("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
        for (final List<Run> row : rows.values())
        {
            final Run first = row.get(0);
            final List<Run> mpi = barrier(runs, first.ranks);
            out.printf(Locale.ROOT, "| %s | %d | %s | %d | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |%n",
                first.op, first.ranks, first.wait, row.size(), first.iterations,
                us(median(row, r -> r.p50)), us(median(row, r -> r.p99)), us(median(row, r -> r.p999)),
                us(median(row, r -> r.max)), us(median(row, r -> r.maxrankP50)), us(median(row, r -> r.maxrankP99)),
                ratio(pairedRatio(row, mpi, r -> r.repeat, r -> r.p50)),
                ratio(pairedRatio(row, mpi, r -> r.repeat, r -> r.p99)), each(row, r -> r.p50, 3));
        }
        out.println();
        out.println("Cells are medians over the runs; p50/p99/p99.9/max are rank 0's, worst-rank the largest over all " +
            "ranks. A ratio is the median over the runs of (this row / MPI_Barrier in the same run at the same rank " +
            "count); below 1 is faster than MPI.");
        out.println();

        out.println("### Targets");
        out.println();
        out.println("| target | criterion | measured | verdict |");
        out.println("|---|---|---|---|");
        final List<Run> yield2 = rows.getOrDefault("waitForEveryone|2|yield", List.of());
        final List<Run> spin2 = rows.getOrDefault("waitForEveryone|2|spin", List.of());
        final List<Run> yield4 = rows.getOrDefault("waitForEveryone|4|yield", List.of());
        final List<Run> spin4 = rows.getOrDefault("waitForEveryone|4|spin", List.of());
        absolute(out, "2 ranks, yield (default): waitForEveryone median ≤ " + TARGET_YIELD_P50_US + " µs",
            "median over runs of rank 0's p50", yield2, r -> r.p50, r -> r.maxrankP50, TARGET_YIELD_P50_US);
        absolute(out, "2 ranks, yield (default): waitForEveryone p99 ≤ " + TARGET_YIELD_P99_US + " µs",
            "median over runs of rank 0's p99", yield2, r -> r.p99, r -> r.maxrankP99, TARGET_YIELD_P99_US);
        relative(out, "2 ranks, spin: waitForEveryone no slower than MPI_Barrier", runs, spin2, TARGET_SPIN_RATIO);
        relative(out, "4 ranks on " + Runtime.getRuntime().availableProcessors() +
            " cores, yield (default): waitForEveryone within " + TARGET_OVERSUBSCRIBED_RATIO + "× of MPI_Barrier",
            runs, yield4, TARGET_OVERSUBSCRIBED_RATIO);
        relative(out, "4 ranks on " + Runtime.getRuntime().availableProcessors() +
            " cores, spin (for information: the target is for the default; spinning needs a core per rank): " +
            "waitForEveryone within " + TARGET_OVERSUBSCRIBED_RATIO + "× of MPI_Barrier",
            runs, spin4, TARGET_OVERSUBSCRIBED_RATIO);
    }

    private static void absolute(
        final PrintStream out, final String target, final String criterion, final List<Run> row,
        final ToDoubleFunction<Run> rank0, final ToDoubleFunction<Run> worst, final double limit)
    {
        if (row.isEmpty())
        {
            out.printf(Locale.ROOT, "| %s | %s | not measured | **NOT MEASURED** |%n", target, criterion);
            return;
        }
        final double measured = median(row, rank0);
        out.printf(Locale.ROOT, "| %s | %s | %s µs (worst rank %s µs; runs %s) | %s |%n", target, criterion,
            us(measured), us(median(row, worst)), each(row, rank0, 3), verdict(measured <= limit));
    }

    private static void relative(
        final PrintStream out, final String target, final List<Run> all, final List<Run> row, final double limit)
    {
        final String criterion = "p50 ÷ MPI_Barrier p50 ≤ " + String.format(Locale.ROOT, "%.2f", limit) +
            ", both as the median of the runs' paired ratios and as the ratio of the medians";
        final List<Run> mpi = row.isEmpty() ? List.of() : barrier(all, row.get(0).ranks);
        final double pairedP50 = pairedRatio(row, mpi, r -> r.repeat, r -> r.p50);
        if (Double.isNaN(pairedP50))
        {
            out.printf(Locale.ROOT, "| %s | %s | not measured (or no MPI_Barrier run to pair with) | " +
                "**NOT MEASURED** |%n", target, criterion);
            return;
        }
        final double p50 = median(row, r -> r.p50);
        final double mpiP50 = median(mpi, r -> r.p50);
        final double ofMedians = p50 / mpiP50;
        final String verdict = verdict(pairedP50 <= limit, ofMedians <= limit);
        out.printf(Locale.ROOT, "| %s | %s | paired %s, of medians %s (p50 %s µs vs MPI %s µs; p99 %s µs vs %s µs, " +
            "paired %s) | %s |%n", target, criterion, ratio(pairedP50), ratio(ofMedians), us(p50), us(mpiP50),
            us(median(row, r -> r.p99)), us(median(mpi, r -> r.p99)),
            ratio(pairedRatio(row, mpi, r -> r.repeat, r -> r.p99)), verdict);
    }

    /**
     * @return the MPI_Barrier runs at a rank count: what every row of that rank count is paired with.
     */
    private static List<Run> barrier(final List<Run> all, final int ranks)
    {
        return all.stream().filter(r -> r.op.equals(MPI_BARRIER) && r.ranks == ranks).toList();
    }

    private static String sortKey(final String key)
    {
        final String[] parts = key.split("\\|");
        return String.format(Locale.ROOT, "%06d|%02d|%02d|%s|%s", Integer.parseInt(parts[1]), order(OP_ORDER, parts[0]),
            order(WAIT_ORDER, parts[2]), parts[0], parts[2]);
    }

    private static int order(final List<String> known, final String value)
    {
        final int index = known.indexOf(value);
        return index < 0 ? known.size() : index;
    }

    /** One operation's RESULT line from one run. */
    static final class Run
    {
        final String op;
        final int ranks;
        final String wait;
        final int repeat;
        final long iterations;
        final double p50;
        final double p99;
        final double p999;
        final double max;
        final double maxrankP50;
        final double maxrankP99;

        Run(
            final String op, final int ranks, final String wait, final int repeat, final long iterations,
            final double p50, final double p99, final double p999, final double max, final double maxrankP50,
            final double maxrankP99)
        {
            this.op = op;
            this.ranks = ranks;
            this.wait = wait;
            this.repeat = repeat;
            this.iterations = iterations;
            this.p50 = p50;
            this.p99 = p99;
            this.p999 = p999;
            this.max = max;
            this.maxrankP50 = maxrankP50;
            this.maxrankP99 = maxrankP99;
        }

        String key()
        {
            return op + "|" + ranks + "|" + wait;
        }
    }
}
