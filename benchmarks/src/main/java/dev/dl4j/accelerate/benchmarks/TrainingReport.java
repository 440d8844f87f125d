package dev.dl4j.accelerate.benchmarks;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.ToDoubleFunction;
import java.util.stream.Collectors;

import static dev.dl4j.accelerate.benchmarks.Reports.each;
import static dev.dl4j.accelerate.benchmarks.Reports.fixed;
import static dev.dl4j.accelerate.benchmarks.Reports.mean;
import static dev.dl4j.accelerate.benchmarks.Reports.number;
import static dev.dl4j.accelerate.benchmarks.Reports.numberOrNaN;
import static dev.dl4j.accelerate.benchmarks.Reports.ratio;
import static dev.dl4j.accelerate.benchmarks.Reports.verdict;

/**
 * Turns the {@code RESULT} lines of repeated {@link TrainingThroughput} and {@link ListenerOverhead} runs into
 * the markdown tables, and the verdicts on the project's training targets, that {@code run-training.sh} appends
 * to {@code RESULTS.md}; and writes the data of its plot ({@code training.gp}). Every figure it prints is computed
 * from its input.
 *
 * <p>Input: the RESULT lines with the repeat's index inserted by the script, e.g.
 * {@code RESULT repeat=2 kind=throughput workload=mlp global_batch=64 config=ddp-trainer ...}. The two
 * independent processes of one repeat print a line each ({@code scope=process}); their throughputs are summed,
 * and the pair counts only if both reported and their timed windows overlapped.
 *
 * <p>A ratio is the median over the repeats of (this configuration / the reference in the same repeat): the
 * script runs every configuration of a repeat back to back, so pairing them cancels much of a shared machine's
 * drift. Verdicts also check the ratio of the medians and are called borderline when the two disagree.
 */
public final class TrainingReport
{
    /** Two-process data-parallel training must reach this fraction of two independent processes. */
    static final double TARGET_FRACTION_OF_CEILING = 0.90;
    /** At world size 1, the listener and the trainer may add at most this fraction to the step time. */
    static final double TARGET_OVERHEAD = 0.02;
    /** The independent processes' timed windows must overlap by this fraction of the longer one to count. */
    static final double LEAST_OVERLAP = 0.90;

    static final String ONE_THREAD = "1proc-1thread";
    static final String DEFAULT_THREADS = "1proc-default";
    static final String CEILING = "2proc-independent";
    static final String DDP_TRAINER = "ddp-trainer";
    static final String DDP_LISTENER = "ddp-listener";
    static final String PARALLEL_WRAPPER = "parallel-wrapper";

    /** The workloads the throughput targets are set for; the others are reported for information. */
    private static final List<String> JUDGED = List.of("mlp|64", "mlp|256");
    private static final List<String> OVERHEAD_CONFIGS = List.of("plain", "plain-again", "listener", "trainer");
    private static final Map<String, String> DESCRIPTIONS = new LinkedHashMap<>();

    static
    {
        DESCRIPTIONS.put(ONE_THREAD, "1 process, `OMP_NUM_THREADS=1`");
        DESCRIPTIONS.put(DEFAULT_THREADS, "1 process, default ND4J threads");
        DESCRIPTIONS.put(CEILING, "2 independent processes, no communication (ceiling)");
        DESCRIPTIONS.put(DDP_TRAINER, "DDP: 2 processes, `AcceleratedTrainer`");
        DESCRIPTIONS.put(DDP_LISTENER, "DDP: 2 processes, `acc.listener()` + timing barrier");
        DESCRIPTIONS.put(PARALLEL_WRAPPER, "DL4J `ParallelWrapper`, 2 workers");
    }

    private TrainingReport()
    {
    }

    /**
     * @param args the file of RESULT lines, and the file to write the plot's data to; the markdown goes to
     *             standard output.
     * @throws IOException if a file cannot be read or written.
     */
    public static void main(final String[] args) throws IOException
    {
        if (args.length != 2)
        {
            throw new IllegalArgumentException("usage: TrainingReport <file of RESULT lines> <plot data file>");
        }
        final StringBuilder plot = new StringBuilder();
        write(Reports.read(args[0]), System.out, plot);
        Files.writeString(Path.of(args[1]), plot.toString(), StandardCharsets.UTF_8);
    }

    /**
     * @param lines the parsed RESULT lines of a whole run of the script.
     * @param out   where the markdown goes.
     * @param plot  where the plot's data goes: one row per workload, one column per configuration.
     */
    static void write(final List<Map<String, String>> lines, final PrintStream out, final StringBuilder plot)
    {
        final List<String> notes = new ArrayList<>();
        final List<Run> runs = throughputRuns(lines, notes);
        final List<Map<String, String>> overhead = lines.stream()
            .filter(line -> "overhead".equals(line.get("kind")))
            .collect(Collectors.toList());
        final TreeSet<String> workloads = new TreeSet<>((a, b) -> workloadOrder(a) - workloadOrder(b));
        runs.forEach(run -> workloads.add(run.workload()));

        throughputTable(runs, workloads, notes, out, plot);
        splitTable(runs, workloads, out);
        overheadTable(overhead, out);
        targets(runs, workloads, overhead, out);
    }

    /**
     * One run per configuration and repeat. The independent processes' lines are merged into one: their summed
     * throughput, the mean of their step times; the pair is left out, with a note, unless every process reported
     * and their timed windows overlapped (one alone would run faster than two together).
     */
    static List<Run> throughputRuns(final List<Map<String, String>> lines, final List<String> notes)
    {
        final Map<String, List<Map<String, String>>> byRun = new LinkedHashMap<>();
        for (final Map<String, String> line : lines)
        {
            if ("throughput".equals(line.get("kind")))
            {
                final String key = line.get("workload") + "|" + line.get("global_batch") + "|" + line.get("config") +
                    "|" + line.get("repeat");
                byRun.computeIfAbsent(key, k -> new ArrayList<>()).add(line);
            }
        }
        final List<Run> runs = new ArrayList<>();
        for (final List<Map<String, String>> parts : byRun.values())
        {
            final Map<String, String> first = parts.get(0);
            if (!"process".equals(first.get("scope")))
            {
                runs.add(new Run(first));
                continue;
            }
            final Run merged = new Run(mergeProcesses(parts));
            final String name = title(merged.workload()) + ", repeat " + merged.repeat;
            final double overlap = overlap(parts);
            if (parts.size() != (int)number(first, "processes"))
            {
                notes.add(name + ": only " + parts.size() + " of the " + first.get("processes") + " independent " +
                    "processes reported; the ceiling of this repeat is left out.");
            }
            else if (!(overlap >= LEAST_OVERLAP))
            {
                notes.add(String.format(Locale.ROOT, "%s: the independent processes' timed windows overlapped for " +
                    "only %.0f%% of the longer one; the ceiling of this repeat is left out.", name, 100 * overlap));
            }
            else
            {
                runs.add(merged);
            }
            if (parts.stream().anyMatch(p -> number(p, "warmup_steps") < number(p, "warmup_target")))
            {
                notes.add(name + ": an independent process reached the common start with fewer warm-up steps than " +
                    "asked for (a slow JVM start); its throughput may be low.");
            }
        }
        return runs;
    }

    private static Map<String, String> mergeProcesses(final List<Map<String, String>> parts)
    {
        final Map<String, String> merged = new LinkedHashMap<>(parts.get(0));
        merged.put("samples_per_s", Double.toString(parts.stream().mapToDouble(p -> number(p, "samples_per_s")).sum()));
        for (final String time : List.of("step_ms", "compute_ms", "step_mean_ms", "compute_mean_ms"))
        {
            merged.put(time, Double.toString(mean(parts.stream().mapToDouble(p -> number(p, time)).toArray())));
        }
        return merged;
    }

    /**
     * @return the time all processes were in their timed windows together, as a fraction of the longest window.
     */
    private static double overlap(final List<Map<String, String>> parts)
    {
        double latestStart = Double.NEGATIVE_INFINITY;
        double earliestEnd = Double.POSITIVE_INFINITY;
        double longest = 0;
        for (final Map<String, String> part : parts)
        {
            final double start = number(part, "window_start_ms");
            final double end = number(part, "window_end_ms");
            latestStart = Math.max(latestStart, start);
            earliestEnd = Math.min(earliestEnd, end);
            longest = Math.max(longest, end - start);
        }
        return longest > 0 ? Math.max(0, earliestEnd - latestStart) / longest : Double.NaN;
    }

    private static void throughputTable(
        final List<Run> runs, final TreeSet<String> workloads, final List<String> notes, final PrintStream out,
        final StringBuilder plot)
    {
        out.println("### Throughput");
        out.println();
        out.println("| model | configuration | processes × ND4J threads | local batch | runs | samples/s | " +
            "samples/s of each run | ÷ best single process | ÷ ceiling | step ms, median / mean | " +
            "compute ms, median / mean |");
        out.println("|---|---|---|---:|---:|---:|---|---:|---:|---:|---:|");
        plot.append("# model\t").append(String.join("\t", DESCRIPTIONS.keySet())).append('\n');
        for (final String workload : workloads)
        {
            final Map<Integer, Double> bestSingle = bestSingle(runs, workload);
            final Map<Integer, Double> ceiling = byRepeat(row(runs, workload, CEILING));
            for (final String config : configs(runs, workload))
            {
                final List<Run> row = row(runs, workload, config);
                final Run first = row.get(0);
                final boolean belowCeiling = !config.equals(CEILING) && !config.startsWith("1proc");
                out.printf(Locale.ROOT, "| %s | %s | %d × %s | %d | %d | %s | %s | %s | %s | %s | %s |%n",
                    title(workload), describe(config), first.processes, first.threads, first.localBatch, row.size(),
                    fixed(median(row, r -> r.samplesPerS), 0), each(row, r -> r.samplesPerS, 0),
                    ratio(pairedRatio(row, bestSingle)), belowCeiling ? percent(pairedRatio(row, ceiling)) : "—",
                    pair(row, "step_ms", "step_mean_ms"), pair(row, "compute_ms", "compute_mean_ms"));
            }
            plot.append('"').append(title(workload)).append('"');
            for (final String config : DESCRIPTIONS.keySet())
            {
                plot.append('\t').append(String.format(Locale.ROOT, "%.4f",
                    pairedRatio(row(runs, workload, config), bestSingle)));
            }
            plot.append('\n');
        }
        out.println();
        out.println("samples/s: global samples per second in the timed steps (steps × global batch ÷ wall time of " +
            "the timed `fit()`), median over the runs. A ratio is the median over the runs of (this row ÷ the " +
            "reference in the same repeat); the best single process is, in each repeat, the faster of the two " +
            "one-process rows; the ceiling is the two independent processes' summed throughput. Step and compute " +
            "times: the median and the mean over the timed steps (in a DDP job, of the mean over the ranks of each " +
            "step; for the ceiling, the mean of the two processes'), then the median over the runs. Compute runs " +
            "from the end of the previous step to the gradient (data, forward, backward), before any " +
            "communication. Throughput follows the mean step, not the median: where the two differ, slow steps " +
            "in the tail cost the difference. For `ParallelWrapper` only the mean is known (wall time ÷ steps).");
        for (final String note : notes)
        {
            out.println();
            out.println("**Note:** " + note);
        }
        out.println();
    }

    private static void splitTable(final List<Run> runs, final TreeSet<String> workloads, final PrintStream out)
    {
        out.println("### Where a DDP step goes");
        out.println();
        out.println("| model | configuration | step ms | compute ms | waiting for the slowest rank ms | " +
            "longest wait of a rank ms | transfer (all-reduce) ms | rest ms | after the gradient ms |");
        out.println("|---|---|---:|---:|---:|---:|---:|---:|---:|");
        for (final String workload : workloads)
        {
            for (final String config : List.of(DDP_LISTENER, DDP_TRAINER))
            {
                final List<Run> row = row(runs, workload, config);
                if (row.isEmpty())
                {
                    continue;
                }
                final double restMean = median(row, r -> r.field("step_mean_ms") - r.field("compute_mean_ms") -
                    r.field("wait_mean_ms") - r.field("transfer_mean_ms"));
                final double afterGradientMean = median(row, r -> Double.isNaN(r.field("after_gradient_ms")) ?
                    Double.NaN : r.field("step_mean_ms") - r.field("compute_mean_ms"));
                out.printf(Locale.ROOT, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |%n",
                    title(workload), describe(config), pair(row, "step_ms", "step_mean_ms"),
                    pair(row, "compute_ms", "compute_mean_ms"), pair(row, "wait_ms", "wait_mean_ms"),
                    fixed(median(row, r -> r.field("wait_longest_ms")), 2),
                    pair(row, "transfer_ms", "transfer_mean_ms"),
                    dual(median(row, r -> r.field("rest_ms")), restMean),
                    dual(median(row, r -> r.field("after_gradient_ms")), afterGradientMean));
            }
        }
        out.println();
        out.println("Each cell: median / mean over the timed steps of the mean over the two ranks, then the median " +
            "over the runs; the means add up to the mean step, which sets the throughput. Only the instrumented " +
            "listener separates waiting from transfer: it calls `waitForEveryone()` just before the all-reduce, so " +
            "the barrier takes the wait and the all-reduce starts on both ranks together. The longest wait (a " +
            "median) is the time the faster rank idled in that step. Rest: the updater, the listeners and DL4J's " +
            "bookkeeping after the all-reduce. For `AcceleratedTrainer` only their sum after the gradient (waiting " +
            "+ transfer + rest) is known.");
        out.println();
    }

    private static void overheadTable(final List<Map<String, String>> overhead, final PrintStream out)
    {
        if (overhead.isEmpty())
        {
            return;
        }
        out.println("### World size 1: what the listener and the trainer add to a step");
        out.println();
        out.println("| model | configuration | runs | rounds × steps | ND4J threads | step ms | ÷ plain (median of " +
            "rounds) | interquartile range of the rounds | overhead | allocated KB a step |");
        out.println("|---|---|---:|---|---:|---:|---:|---|---:|---:|");
        for (final String config : OVERHEAD_CONFIGS)
        {
            final List<Map<String, String>> row = overheadRow(overhead, config);
            if (row.isEmpty())
            {
                continue;
            }
            final Map<String, String> first = row.get(0);
            final double ratio = medianOf(row, "ratio");
            out.printf(Locale.ROOT, "| %s | %s | %d | %s × %s | %s | %s | %s | %s – %s | %s | %s |%n",
                title(first.get("workload") + "|" + first.get("global_batch")), config, row.size(), first.get("rounds"),
                first.get("steps"), first.get("threads"), fixed(medianOf(row, "step_ms"), 3), fixed(ratio, 4),
                fixed(medianOf(row, "ratio_p25"), 3), fixed(medianOf(row, "ratio_p75"), 3), signedPercent(ratio - 1),
                row.stream().allMatch(line -> line.containsKey("alloc_kb_per_step")) ?
                fixed(medianOf(row, "alloc_kb_per_step"), 1) : "—");
        }
        out.println();
        out.println("One JVM, no launcher. One network trains one epoch in each configuration per round (its " +
            "listeners set before the epoch), in an order rotated every round, after an untimed garbage collection; " +
            "a ratio divides a configuration's epoch time by `plain`'s in the same round. `plain-again` is plain " +
            "once more: its distance from 1 is this machine's noise floor. Allocated: bytes the training thread " +
            "allocated per step, of which the collector's time is a consequence. Cells are medians over the runs " +
            "(one per repeat).");
        out.println();
    }

    private static void targets(
        final List<Run> runs, final TreeSet<String> workloads, final List<Map<String, String>> overhead,
        final PrintStream out)
    {
        out.println("### Targets");
        out.println();
        out.println("| target | criterion | measured | verdict |");
        out.println("|---|---|---|---|");
        final List<String> order = new ArrayList<>(JUDGED);
        workloads.stream().filter(w -> !JUDGED.contains(w)).forEach(order::add);
        for (final String workload : order)
        {
            final boolean judged = JUDGED.contains(workload);
            final String who = title(workload) + ": 2-rank DDP (`AcceleratedTrainer`)";
            final String also = judged ? "" : " (for information: no target)";
            final List<Run> ddp = row(runs, workload, DDP_TRAINER);
            compare(out, who + " ≥ " + percent(TARGET_FRACTION_OF_CEILING) + " of the ceiling (2 independent " +
                "processes)" + also, ddp, row(runs, workload, CEILING), "ceiling", TARGET_FRACTION_OF_CEILING, false,
                judged);
            compare(out, who + " beats `ParallelWrapper` with 2 workers" + also, ddp,
                row(runs, workload, PARALLEL_WRAPPER), "ParallelWrapper", 1.0, true, judged);
        }
        overheadTargets(overhead, out);
        out.println();
    }

    /**
     * One throughput row: this configuration against a reference, as the median of the paired ratios and as the
     * ratio of the medians.
     */
    private static void compare(
        final PrintStream out, final String target, final List<Run> row, final List<Run> reference,
        final String referenceName, final double limit, final boolean strictlyAbove, final boolean judged)
    {
        final String criterion = "samples/s ÷ " + referenceName + "'s " + (strictlyAbove ? "> " : "≥ ") +
            fixed(limit, 2) + ", both as the median of the repeats' paired ratios and as the ratio of the medians";
        final Map<Integer, Double> theirsByRepeat = byRepeat(reference);
        final double paired = pairedRatio(row, theirsByRepeat);
        if (Double.isNaN(paired))
        {
            out.printf(Locale.ROOT, "| %s | %s | not measured | %s |%n", target, criterion,
                judged ? "**NOT MEASURED**" : "—");
            return;
        }
        final double mine = median(row, r -> r.samplesPerS);
        final double theirs = median(reference, r -> r.samplesPerS);
        final double ofMedians = mine / theirs;
        final String verdict = !judged ? "—" : strictlyAbove ? verdict(paired > limit, ofMedians > limit) :
            verdict(paired >= limit, ofMedians >= limit);
        final String each = row.stream()
            .filter(run -> theirsByRepeat.containsKey(run.repeat))
            .map(run -> ratio(run.samplesPerS / theirsByRepeat.get(run.repeat)))
            .collect(Collectors.joining(", "));
        // Three decimals: a ratio of 0.897 shown as 0.90x beside NOT MET would read as a mistake.
        out.printf(Locale.ROOT, "| %s | %s | paired %s×, of medians %s× (%s vs %s samples/s; runs %s) | %s |%n",
            target, criterion, fixed(paired, 3), fixed(ofMedians, 3), fixed(mine, 0), fixed(theirs, 0), each, verdict);
    }

    /**
     * The world-size-1 rows: no communication, and at most {@link #TARGET_OVERHEAD} for the listener and the
     * trainer, unless two identical plain networks already differ by more than that in the same run.
     */
    private static void overheadTargets(final List<Map<String, String>> overhead, final PrintStream out)
    {
        final String silence = "World size 1: the listener and the trainer add no communication";
        final String silenceCriterion = "no Aeron thread in the JVM with the accelerator open (`communication=none`)";
        if (overhead.isEmpty())
        {
            out.printf(Locale.ROOT, "| %s | %s | not measured | **NOT MEASURED** |%n", silence, silenceCriterion);
        }
        else
        {
            final List<String> seen = overhead.stream().map(line -> line.getOrDefault("communication", "unreported"))
                .distinct().collect(Collectors.toList());
            out.printf(Locale.ROOT, "| %s | %s | %s | %s |%n", silence, silenceCriterion, String.join(", ", seen),
                verdict(seen.equals(List.of("none"))));
        }
        final double noise = medianOf(overheadRow(overhead, "plain-again"), "ratio") - 1;
        for (final String config : List.of("listener", "trainer"))
        {
            final String target = "World size 1: " + (config.equals("listener") ? "`acc.listener()`" :
                "`AcceleratedTrainer`") + " adds ≤ " + percent(TARGET_OVERHEAD) + " to the MLP's step time at batch 64";
            final String criterion = "median over rounds of (epoch time ÷ plain's) − 1, median over runs";
            final List<Map<String, String>> row = overheadRow(overhead, config);
            if (row.isEmpty())
            {
                out.printf(Locale.ROOT, "| %s | %s | not measured | **NOT MEASURED** |%n", target, criterion);
                continue;
            }
            final double added = medianOf(row, "ratio") - 1;
            final String verdict;
            if (Double.isNaN(noise) || Math.abs(noise) <= TARGET_OVERHEAD)
            {
                verdict = verdict(added <= TARGET_OVERHEAD);
            }
            else
            {
                verdict = added > TARGET_OVERHEAD + Math.abs(noise) ? verdict(false) : "**INCONCLUSIVE** (the " +
                    "noise floor, " + signedPercent(noise) + ", is larger than the " + percent(TARGET_OVERHEAD) +
                    " to be resolved)";
            }
            out.printf(Locale.ROOT, "| %s | %s | %s (runs %s; noise floor, a second plain network: %s) | %s |%n",
                target, criterion, signedPercent(added),
                row.stream().map(l -> signedPercent(number(l, "ratio") - 1)).collect(Collectors.joining(", ")),
                signedPercent(noise), verdict);
        }
    }

    private static List<Map<String, String>> overheadRow(final List<Map<String, String>> overhead, final String config)
    {
        return overhead.stream().filter(line -> config.equals(line.get("config"))).collect(Collectors.toList());
    }

    private static double medianOf(final List<Map<String, String>> lines, final String field)
    {
        return Reports.median(lines, line -> number(line, field));
    }

    private static List<String> configs(final List<Run> runs, final String workload)
    {
        final List<String> configs = new ArrayList<>();
        for (final String known : DESCRIPTIONS.keySet())
        {
            if (!row(runs, workload, known).isEmpty())
            {
                configs.add(known);
            }
        }
        for (final Run run : runs)
        {
            if (run.workload().equals(workload) && !configs.contains(run.config))
            {
                configs.add(run.config);
            }
        }
        return configs;
    }

    private static List<Run> row(final List<Run> runs, final String workload, final String config)
    {
        final List<Run> row = new ArrayList<>();
        for (final Run run : runs)
        {
            if (run.workload().equals(workload) && run.config.equals(config))
            {
                row.add(run);
            }
        }
        return row;
    }

    private static Map<Integer, Double> byRepeat(final List<Run> row)
    {
        final Map<Integer, Double> byRepeat = new HashMap<>();
        for (final Run run : row)
        {
            byRepeat.put(run.repeat, run.samplesPerS);
        }
        return byRepeat;
    }

    /**
     * Per repeat, the faster of the two single-process configurations.
     */
    private static Map<Integer, Double> bestSingle(final List<Run> runs, final String workload)
    {
        final Map<Integer, Double> best = new HashMap<>();
        for (final String config : List.of(ONE_THREAD, DEFAULT_THREADS))
        {
            for (final Run run : row(runs, workload, config))
            {
                best.merge(run.repeat, run.samplesPerS, Math::max);
            }
        }
        return best;
    }

    /**
     * @return the median over the runs of a row of (its samples/s ÷ the reference's in the same repeat); NaN
     *         when no repeat has both.
     */
    private static double pairedRatio(final List<Run> row, final Map<Integer, Double> reference)
    {
        final List<Double> ratios = new ArrayList<>();
        for (final Run run : row)
        {
            final Double theirs = reference.get(run.repeat);
            if (theirs != null && theirs > 0)
            {
                ratios.add(run.samplesPerS / theirs);
            }
        }
        return Reports.median(ratios);
    }

    private static double median(final List<Run> runs, final ToDoubleFunction<Run> statistic)
    {
        return Reports.median(runs.stream().mapToDouble(statistic).filter(v -> !Double.isNaN(v)).toArray());
    }

    private static String pair(final List<Run> row, final String medianField, final String meanField)
    {
        return dual(median(row, r -> r.field(medianField)), median(row, r -> r.field(meanField)));
    }

    private static String dual(final double median, final double mean)
    {
        return Double.isNaN(median) && Double.isNaN(mean) ? "—" : fixed(median, 2) + " / " + fixed(mean, 2);
    }

    private static String title(final String workload)
    {
        final String[] parts = workload.split("\\|");
        return (parts[0].equals("mlp") ? "MLP" : parts[0].equals("lenet") ? "LeNet" : parts[0]) + ", global batch " +
            parts[1];
    }

    private static String describe(final String config)
    {
        final String description = DESCRIPTIONS.get(config);
        return description == null ? "`" + config + "`" : description;
    }

    private static String percent(final double value)
    {
        return Double.isNaN(value) ? "—" : String.format(Locale.ROOT, "%.0f%%", value * 100);
    }

    private static String signedPercent(final double value)
    {
        return Double.isNaN(value) ? "—" : String.format(Locale.ROOT, "%+.1f%%", value * 100);
    }

    private static int workloadOrder(final String workload)
    {
        final String[] parts = workload.split("\\|");
        return (parts[0].equals("mlp") ? 0 : 1_000_000) + Integer.parseInt(parts[1]);
    }

    /** One configuration's throughput in one repeat. */
    static final class Run
    {
        final Map<String, String> fields;
        final String config;
        final int repeat;
        final int processes;
        final String threads;
        final int localBatch;
        final double samplesPerS;

        Run(final Map<String, String> fields)
        {
            this.fields = fields;
            this.config = Reports.text(fields, "config");
            this.repeat = (int)number(fields, "repeat");
            this.processes = (int)number(fields, "processes");
            this.threads = Reports.text(fields, "threads");
            this.localBatch = (int)number(fields, "local_batch");
            this.samplesPerS = number(fields, "samples_per_s");
        }

        String workload()
        {
            return fields.get("workload") + "|" + fields.get("global_batch");
        }

        double field(final String name)
        {
            return numberOrNaN(fields, name);
        }
    }
}
