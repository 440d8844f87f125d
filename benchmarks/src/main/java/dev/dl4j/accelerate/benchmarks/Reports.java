package dev.dl4j.accelerate.benchmarks;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

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
