package dev.dl4j.accelerate.benchmarks;

import java.util.function.BiConsumer;

/**
 * The command line of a benchmark's {@code main}: {@code --name value} pairs, each value validated once, so that a
 * bad one fails at once with its option's name and the usage, never clamped or ignored.
 */
final class Arguments
{
    private final String usage;

    /**
     * @param usage the usage line appended to every complaint.
     */
    Arguments(final String usage)
    {
        this.usage = usage;
    }

    /**
     * Hands each {@code --name value} pair to {@code option}, in order; {@code option} throws {@link #unknown}
     * for a name it does not take.
     *
     * @param args   the command line.
     * @param option takes one option's name and value.
     * @throws IllegalArgumentException when the last name has no value.
     */
    void forEach(final String[] args, final BiConsumer<String, String> option)
    {
        for (int i = 0; i < args.length; i += 2)
        {
            if (i + 1 >= args.length)
            {
                throw usage("'" + args[i] + "' needs a value");
            }
            option.accept(args[i], args[i + 1]);
        }
    }

    /**
     * @param name  the option.
     * @param value its value, an integer; underscores allowed as in Java ({@code 100_000}).
     * @param least the smallest value allowed.
     * @return the value.
     * @throws IllegalArgumentException naming the option when it is not an integer or too small.
     */
    long count(final String name, final String value, final long least)
    {
        final long parsed;
        try
        {
            parsed = Long.parseLong(value.trim().replace("_", ""));
        }
        catch (final NumberFormatException ex)
        {
            throw usage(name + " '" + value + "' is not an integer");
        }
        if (parsed < least)
        {
            throw usage(name + " " + parsed + " must be at least " + least);
        }
        return parsed;
    }

    /**
     * As {@link #count}, for a value that must fit in an {@code int}.
     *
     * @param name  the option.
     * @param value its value.
     * @param least the smallest value allowed.
     * @return the value.
     * @throws IllegalArgumentException naming the option when it is not an integer, too small or too large.
     */
    int intCount(final String name, final String value, final int least)
    {
        final long parsed = count(name, value, least);
        if (parsed > Integer.MAX_VALUE)
        {
            throw usage(name + " " + parsed + " is larger than " + Integer.MAX_VALUE);
        }
        return (int)parsed;
    }

    /**
     * @param name        the option.
     * @param value       its value, a number of seconds.
     * @param zeroAllowed whether 0 is a valid value.
     * @return the value.
     * @throws IllegalArgumentException naming the option when it is not a finite, non-negative (or positive) number.
     */
    double seconds(final String name, final String value, final boolean zeroAllowed)
    {
        final double parsed;
        try
        {
            parsed = Double.parseDouble(value.trim());
        }
        catch (final NumberFormatException ex)
        {
            throw usage(name + " '" + value + "' is not a number of seconds");
        }
        if (Double.isNaN(parsed) || Double.isInfinite(parsed) || parsed < 0 || (parsed == 0 && !zeroAllowed))
        {
            throw usage(name + " " + value + " must be a " + (zeroAllowed ? "non-negative" : "positive") +
                ", finite number of seconds");
        }
        return parsed;
    }

    /**
     * @param name an option the caller does not take.
     * @return the exception to throw.
     */
    IllegalArgumentException unknown(final String name)
    {
        return usage("unknown option '" + name + "'");
    }

    /**
     * @param problem what is wrong.
     * @return the exception to throw: the problem, then the usage.
     */
    IllegalArgumentException usage(final String problem)
    {
        return new IllegalArgumentException(problem + "; " + usage);
    }
}
