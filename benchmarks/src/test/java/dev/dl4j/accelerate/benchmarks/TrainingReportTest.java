package dev.dl4j.accelerate.benchmarks;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static dev.dl4j.accelerate.benchmarks.ReportText.verdict;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The verdicts of the training report, from made-up RESULT lines: it must be able to say MET and NOT MET, and
 * say so only from the numbers it is given.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class TrainingReportTest
{
    private static final String CEILING_64 = "MLP, global batch 64: 2-rank DDP (`AcceleratedTrainer`) ≥ 90%";
    private static final String WRAPPER_64 = "MLP, global batch 64: 2-rank DDP (`AcceleratedTrainer`) beats";
    private static final String LISTENER = "World size 1: `acc.listener()`";
    private static final String SILENCE = "World size 1: the listener and the trainer add no communication";

    @Test
    void shouldSayMetWhenDdpReachesTheCeilingAndBeatsParallelWrapper()
    {
        final String report = report(mlp64(1, 1000, 950, 900), mlp64(2, 1000, 920, 900));

        assertEquals("**MET**", verdict(report, CEILING_64));
        assertEquals("**MET**", verdict(report, WRAPPER_64));
    }

    @Test
    void shouldSayNotMetWhenDdpFallsShortOfTheCeilingOrOfParallelWrapper()
    {
        final String report = report(mlp64(1, 1000, 850, 900), mlp64(2, 1000, 800, 900));

        assertEquals("**NOT MET**", verdict(report, CEILING_64));
        assertEquals("**NOT MET**", verdict(report, WRAPPER_64));
    }

    @Test
    void shouldSayBorderlineWhenPairedRatioAndRatioOfMediansDisagree()
    {
        // Paired ratios 0.95, 0.95, 0.80: median 0.95. Ratio of the medians: 960 / 1100 = 0.87.
        final String report = report(mlp64(1, 1000, 950, 100), mlp64(2, 1100, 1045, 100), mlp64(3, 1200, 960, 100));

        assertTrue(verdict(report, CEILING_64).startsWith("**BORDERLINE**"), report);
    }

    @Test
    void shouldSayNotMeasuredForATargetWorkloadThatWasNotRun()
    {
        final String report = report(mlp64(1, 1000, 950, 900));

        assertEquals("**NOT MEASURED**", verdict(report, "MLP, global batch 256: 2-rank DDP (`AcceleratedTrainer`) ≥"));
    }

    @Test
    void shouldLeaveOutACeilingWhoseProcessesDidNotRunTogether()
    {
        final List<String> lines = new ArrayList<>();
        lines.add(throughput(1, "ddp-trainer", 950));
        lines.add(independent(1, 0, 500, 0, 10_000));
        lines.add(independent(1, 1, 500, 8_000, 18_000));

        final String report = report(lines);

        assertEquals("**NOT MEASURED**", verdict(report, CEILING_64));
        assertTrue(report.contains("overlapped for only 20% of the longer one"), report);
    }

    @Test
    void shouldJudgeTheListenerOverheadAgainstTheNoiseFloor()
    {
        assertEquals("**MET**", verdict(report(overhead(1.01, 1.015, "none")), LISTENER));
        assertEquals("**NOT MET**", verdict(report(overhead(1.01, 1.03, "none")), LISTENER));
        assertTrue(verdict(report(overhead(1.05, 1.03, "none")), LISTENER).startsWith("**INCONCLUSIVE**"));
        // Noise above the target, but the overhead above target and noise together: still a verdict.
        assertEquals("**NOT MET**", verdict(report(overhead(1.05, 1.08, "none")), LISTENER));
    }

    @Test
    void shouldShowWhatEachConfigurationAllocatedPerStepWhereTheRunsSayIt()
    {
        final List<String> lines = new ArrayList<>();
        for (final String line : overhead(1.0, 1.0, "none"))
        {
            lines.add(line + (line.contains("config=trainer") ? " alloc_kb_per_step=228.4" : " alloc_kb_per_step=226.1"));
        }

        final String report = report(lines);

        assertTrue(report.contains("| trainer | 1 | 20 × 200 | 1 | 4.000 | 1.0000 | 1.000 – 1.000 | +0.0% | 228.4 |"),
            report);
        assertTrue(report(overhead(1.0, 1.0, "none")).contains("| +0.0% | — |"), "runs that did not say it");
    }

    @Test
    void shouldSayNotMetWhenTheProcessAloneRanAnAeronThread()
    {
        assertEquals("**MET**", verdict(report(overhead(1.0, 1.0, "none")), SILENCE));
        assertEquals("**NOT MET**", verdict(report(overhead(1.0, 1.0, "threads:aeron-client-conductor")), SILENCE));
    }

    /**
     * One repeat of the MLP at batch 64: the ceiling's two processes (half the given throughput each), DDP with
     * the trainer and ParallelWrapper.
     */
    private static List<String> mlp64(final int repeat, final double ceiling, final double ddp, final double wrapper)
    {
        return List.of(independent(repeat, 0, ceiling / 2, 0, 10_000), independent(repeat, 1, ceiling / 2, 5, 10_010),
            throughput(repeat, "ddp-trainer", ddp), throughput(repeat, "parallel-wrapper", wrapper));
    }

    private static String throughput(final int repeat, final String config, final double samplesPerS)
    {
        return String.format(Locale.ROOT, "RESULT repeat=%d kind=throughput workload=mlp global_batch=64 config=%s " +
            "scope=global processes=2 local_batch=32 threads=1 samples_per_s=%.1f step_ms=1 step_mean_ms=1",
            repeat, config, samplesPerS);
    }

    private static String independent(
        final int repeat, final int part, final double samplesPerS, final long startMs, final long endMs)
    {
        return String.format(Locale.ROOT, "RESULT repeat=%d kind=throughput workload=mlp global_batch=64 " +
            "config=2proc-independent scope=process processes=2 local_batch=32 threads=1 part=%d warmup_target=10 " +
            "warmup_steps=10 window_start_ms=%d window_end_ms=%d samples_per_s=%.1f step_ms=1 compute_ms=1 " +
            "step_mean_ms=1 compute_mean_ms=1", repeat, part, startMs, endMs, samplesPerS);
    }

    private static List<String> overhead(final double plainAgain, final double listener, final String communication)
    {
        final List<String> lines = new ArrayList<>();
        for (final String[] config : new String[][] {
            { "plain", "1.0" }, { "plain-again", Double.toString(plainAgain) }, { "listener", Double.toString(listener) },
            { "trainer", "1.0" } })
        {
            lines.add("RESULT repeat=1 kind=overhead workload=mlp global_batch=64 config=" + config[0] + " rounds=20 " +
                "steps=200 threads=1 communication=" + communication + " step_ms=4 ratio=" + config[1] +
                " ratio_p25=1 ratio_p75=1");
        }
        return lines;
    }

    @SafeVarargs
    private static String report(final List<String>... repeats)
    {
        final List<String> lines = new ArrayList<>();
        Arrays.stream(repeats).forEach(lines::addAll);
        return ReportText.of(out -> TrainingReport.write(Reports.parse(lines), out, new StringBuilder()));
    }
}
