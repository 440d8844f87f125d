package dev.dl4j.accelerate.benchmarks;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;

/**
 * What the report tests share: catching a report's markdown and reading a verdict out of its targets table.
 */
final class ReportText
{
    private ReportText()
    {
    }

    /**
     * @param write writes a report to the stream it is given.
     * @return what it wrote.
     */
    static String of(final Consumer<PrintStream> write)
    {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8))
        {
            write.accept(out);
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }

    /**
     * @param report a report's markdown.
     * @param target the start of a target's name.
     * @return the last cell of the first table row that starts with {@code target}: its verdict.
     * @throws AssertionError when there is no such row.
     */
    static String verdict(final String report, final String target)
    {
        for (final String line : report.split("\n"))
        {
            if (line.startsWith("| " + target))
            {
                final String[] cells = line.split(" \\| ");
                return cells[cells.length - 1].replace(" |", "").trim();
            }
        }
        throw new AssertionError("no row starting with '" + target + "' in:\n" + report);
    }
}
