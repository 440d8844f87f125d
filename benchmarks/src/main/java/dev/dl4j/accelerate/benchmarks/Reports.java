package dev.dl4j.accelerate.benchmarks;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.ToDoubleFunction;
import java.util.function.ToIntFunction;
import java.util.stream.Collectors;

/**
 * What the report classes share: reading the benchmarks' {@code RESULT} lines, order statistics over repeats,
 * and the wording of ratios and verdicts, so that every results section reads and judges alike.
 */
final class Reports
{
    private Reports()
    {
    }

    /**
     * The input of a report's {@code main}: the RESULT lines a script collected from all its runs.
     *
     * @param file the file of RESULT lines.
     * @return the fields of each RESULT line, as {@link #parse} reads them; at least one line.
     * @throws IOException              if the file cannot be read.
     * @throws IllegalArgumentException when the file holds no RESULT line (every run failed), or a malformed one.
     */
    static List<Map<String, String>> read(final String file) throws IOException
    {
        final List<Map<String, String>> lines = parse(Files.readAllLines(Path.of(file), StandardCharsets.UTF_8));
        if (lines.isEmpty())
        {
            throw new IllegalArgumentException(file + " holds no RESULT lines: did every run fail?");
        }
        return lines;
    }

    /**
     * @param lines any lines; those starting with {@code RESULT } (after blanks) are read, the others skipped.
     * @return the fields of each RESULT line, {@code name=value} pairs in their order.
     * @throws IllegalArgumentException naming the line when a field is not {@code name=value}.
     */
    static List<Map<String, String>> parse(final List<String> lines)
    {
        final List<Map<String, String>> parsed = new ArrayList<>();
        for (final String line : lines)
        {
            final String trimmed = line.trim();
            if (!trimmed.startsWith("RESULT "))
            {
                continue;
            }
            final Map<String, String> fields = new LinkedHashMap<>();
            for (final String field : trimmed.substring("RESULT ".length()).trim().split("\\s+"))
            {
                final int eq = field.indexOf('=');
                if (eq <= 0)
                {
                    throw new IllegalArgumentException("'" + field + "' is not name=value in: " + line);
                }
                fields.put(field.substring(0, eq), field.substring(eq + 1));
            }
            parsed.add(fields);
        }
        return parsed;
    }

    /**
     * @param fields a parsed RESULT line.
     * @param name   a field it must have.
     * @return the field's value.
     * @throws IllegalArgumentException naming the field and the line when it is missing or empty.
     */
    static String text(final Map<String, String> fields, final String name)
    {
        final String value = fields.get(name);
        if (value == null || value.isEmpty())
        {
            throw new IllegalArgumentException("no " + name + "= in: RESULT " + fields);
        }
        return value;
    }

    /**
     * @param fields a parsed RESULT line.
     * @param name   a numeric field it must have.
     * @return the field's value.
     * @throws IllegalArgumentException naming the field and the line when it is missing or not a number.
     */
    static double number(final Map<String, String> fields, final String name)
    {
        final String value = text(fields, name);
        try
        {
            return Double.parseDouble(value);
        }
        catch (final NumberFormatException ex)
        {
            throw new IllegalArgumentException(name + "=" + value + " is not a number in: RESULT " + fields, ex);
        }
    }

    /**
     * @param fields a parsed RESULT line.
     * @param name   a numeric field it may have.
     * @return the field's value, or NaN when the line has no such field.
     * @throws IllegalArgumentException naming the field and the line when it is not a number.
     */
    static double numberOrNaN(final Map<String, String> fields, final String name)
    {
        return fields.containsKey(name) ? number(fields, name) : Double.NaN;
    }

    /**
     * @param values any values; not modified.
     * @return their median, or NaN when there are none.
     */
    static double median(final double[] values)
    {
        return percentile(values, 50);
    }

    /**
     * @param values any values.
     * @return their median, or NaN when there are none.
     */
    static double median(final Collection<Double> values)
    {
        return median(values.stream().mapToDouble(Double::doubleValue).toArray());
    }

    /**
     * @param <T>       a report's record of one run.
     * @param runs      any runs.
     * @param statistic the figure of a run to take the median of.
     * @return the median of the runs' figures, or NaN when there are none.
     */
    static <T> double median(final Collection<T> runs, final ToDoubleFunction<? super T> statistic)
    {
        return median(runs.stream().mapToDouble(statistic).toArray());
    }

    /**
     * @param values  any values; not modified.
     * @param percent in [0, 100].
     * @return the percentile, interpolated linearly between the nearest values; NaN when there are none.
     */
    static double percentile(final double[] values, final double percent)
    {
        if (values.length == 0)
        {
            return Double.NaN;
        }
        final double[] sorted = values.clone();
        Arrays.sort(sorted);
        final double position = percent / 100 * (sorted.length - 1);
        final int below = (int)Math.floor(position);
        final int above = Math.min(below + 1, sorted.length - 1);
        return sorted[below] + (position - below) * (sorted[above] - sorted[below]);
    }

    /**
     * @param values any values.
     * @return their mean, or NaN when there are none.
     */
    static double mean(final double[] values)
    {
        return values.length == 0 ? Double.NaN : Arrays.stream(values).sum() / values.length;
    }

    /**
     * The ratio the reports judge relative targets by: each run against the reference run of the same repeat,
     * made moments before or after it on the same machine, so that pairing them cancels much of a shared
     * machine's drift.
     *
     * @param <T>       a report's record of one run.
     * @param row       the runs of one configuration.
     * @param reference the runs of what it is compared with.
     * @param repeat    the repeat a run belongs to.
     * @param statistic the figure compared.
     * @return the median, over every pair of a run of the row and a reference run of the same repeat, of (the
     *         row's figure / the reference's), leaving out references whose figure is not positive; NaN when there
     *         is no such pair.
     */
    static <T> double pairedRatio(
        final Collection<T> row, final Collection<T> reference, final ToIntFunction<? super T> repeat,
        final ToDoubleFunction<? super T> statistic)
    {
        final List<Double> ratios = new ArrayList<>();
        for (final T run : row)
        {
            for (final T theirs : reference)
            {
                if (repeat.applyAsInt(theirs) == repeat.applyAsInt(run) && statistic.applyAsDouble(theirs) > 0)
                {
                    ratios.add(statistic.applyAsDouble(run) / statistic.applyAsDouble(theirs));
                }
            }
        }
        return median(ratios);
    }

    /**
     * @param value    any value, or NaN.
     * @param decimals how many digits after the point.
     * @return e.g. {@code 0.381} for 3 decimals, or a dash for NaN.
     */
    static String fixed(final double value, final int decimals)
    {
        return Double.isNaN(value) ? "—" : String.format(Locale.ROOT, "%." + decimals + "f", value);
    }

    /**
     * @param value a time in microseconds, or NaN.
     * @return it to the nanosecond, e.g. {@code 0.381}, or a dash for NaN.
     */
    static String us(final double value)
    {
        return fixed(value, 3);
    }

    /**
     * @param <T>       a report's record of one run.
     * @param runs      the runs of one row, in their order.
     * @param statistic the figure of a run to show.
     * @param decimals  how many digits after the point.
     * @return every run's figure, comma-separated, e.g. {@code 0.381, 0.402}: the spread behind a median.
     */
    static <T> String each(final Collection<T> runs, final ToDoubleFunction<? super T> statistic, final int decimals)
    {
        return runs.stream().map(run -> fixed(statistic.applyAsDouble(run), decimals))
            .collect(Collectors.joining(", "));
    }

    /**
     * @param value a ratio, or NaN.
     * @return e.g. {@code 0.93×}, or a dash for NaN.
     */
    static String ratio(final double value)
    {
        return Double.isNaN(value) ? "—" : String.format(Locale.ROOT, "%.2f×", value);
    }

    /**
     * @param met whether the target was met.
     * @return the verdict cell.
     */
    static String verdict(final boolean met)
    {
        return met ? "**MET**" : "**NOT MET**";
    }

    /**
     * The verdict on a relative target judged two ways, as the median of the repeats' paired ratios and as the
     * ratio of the medians: on a noisy machine they can fall on either side of the limit, and then the run says
     * so rather than pick one.
     *
     * @param pairedMet    whether the paired ratio meets the target.
     * @param ofMediansMet whether the ratio of the medians does.
     * @return the verdict cell.
     */
    static String verdict(final boolean pairedMet, final boolean ofMediansMet)
    {
        return pairedMet == ofMediansMet ? verdict(pairedMet) :
            "**BORDERLINE** (the two summaries disagree: within this machine's noise; run more REPEATS)";
    }
}
