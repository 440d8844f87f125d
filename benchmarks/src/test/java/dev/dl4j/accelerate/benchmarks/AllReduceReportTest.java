package dev.dl4j.accelerate.benchmarks;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static dev.dl4j.accelerate.benchmarks.ReportText.verdict;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The verdicts of the all-reduce report, from made-up RESULT lines: it must be able to say MET, NOT MET,
 * BORDERLINE and NOT MEASURED, and say so only from the numbers it is given.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class AllReduceReportTest
{
    private static final long MIB = 1L << 20;
    private static final String LARGE_2 = "2 ranks, 16 MiB: no slower than MPI_Allreduce";
    private static final String MEDIUM_2 = "2 ranks, 1 MiB: within 1.2× of MPI_Allreduce";
    private static final String TINY_2 = "2 ranks, 4 B: median ≤ 1.0 µs";
    private static final String SMALL_2 = "2 ranks, 4 KiB: median ≤ 4.0 µs";

    @Test
    void shouldSayMetWhenFasterThanMpiOrWithinTheLimit()
    {
        final String report = report(pair(1, 2, 16 * MIB, 900, 1000), pair(1, 2, MIB, 110, 100));

        assertEquals("**MET**", verdict(report, LARGE_2));
        assertEquals("**MET**", verdict(report, MEDIUM_2));
    }

    @Test
    void shouldSayNotMetWhenSlowerThanTheLimit()
    {
        final String report = report(pair(1, 2, 16 * MIB, 1100, 1000), pair(1, 2, MIB, 130, 100));

        assertEquals("**NOT MET**", verdict(report, LARGE_2));
        assertEquals("**NOT MET**", verdict(report, MEDIUM_2));
    }

    @Test
    void shouldSayBorderlineWhenPairedRatioAndRatioOfMediansDisagree()
    {
        // Paired ratios 1.00, 1.04, 2.00: median 1.04. Ratio of the medians: 130 / 100 = 1.30.
        final String report =
            report(pair(1, 2, MIB, 100, 100), pair(2, 2, MIB, 130, 125), pair(3, 2, MIB, 200, 100));

        assertTrue(verdict(report, MEDIUM_2).startsWith("**BORDERLINE**"), report);
    }

    @Test
    void shouldSayNotMeasuredWithoutAnMpiRunOfTheSameRepeat()
    {
        final String report =
            report(List.of(result(1, "accelerate", 2, 16 * MIB, 900), result(2, "mpi", 2, 16 * MIB, 1000)));

        assertEquals("**NOT MEASURED**", verdict(report, LARGE_2));
        assertEquals("**NOT MEASURED**", verdict(report, "4 ranks, 100 MiB: no slower than MPI_Allreduce"));
        assertEquals("**NOT MEASURED**", verdict(report, TINY_2));
    }

    @Test
    void shouldJudgeSmallSizesByTheMedianTimeAlone()
    {
        final String report = report(List.of(result(1, "accelerate", 2, 4, 0.8), result(2, "accelerate", 2, 4, 1.5),
            result(3, "accelerate", 2, 4, 0.9), result(1, "accelerate", 2, 4096, 4.5)));

        assertEquals("**MET**", verdict(report, TINY_2));
        assertEquals("**NOT MET**", verdict(report, SMALL_2));
    }

    @Test
    void shouldComputeBusBandwidthOfARing()
    {
        // Each rank of a ring of n moves 2(n-1)/n of the array: 1x at 2 ranks, 1.5x at 4; here in 100 µs.
        assertEquals(1_048_576 / 100e3, AllReduceReport.busBandwidth(2, MIB, 100), 1e-9);
        assertEquals(1.5 * 1_048_576 / 100e3, AllReduceReport.busBandwidth(4, MIB, 100), 1e-9);
    }

    private static List<String> pair(
        final int repeat, final int ranks, final long bytes, final double accP50, final double mpiP50)
    {
        return List.of(result(repeat, "mpi", ranks, bytes, mpiP50), result(repeat, "accelerate", ranks, bytes, accP50));
    }

    private static String result(
        final int repeat, final String impl, final int ranks, final long bytes, final double p50)
    {
        return String.format(Locale.ROOT, "RESULT repeat=%d impl=%s op=SUM ranks=%d bytes=%d iterations=1000 " +
            "p50_us=%.3f p99_us=%.3f maxrank_p50_us=%.3f maxrank_p99_us=%.3f", repeat, impl, ranks, bytes, p50,
            2 * p50, p50, 2 * p50);
    }

    @SafeVarargs
    private static String report(final List<String>... parts)
    {
        final List<String> lines = new ArrayList<>();
        for (final List<String> part : parts)
        {
            lines.addAll(part);
        }
        return ReportText.of(out -> AllReduceReport.write(AllReduceReport.runs(Reports.parse(lines)), out));
    }
}
