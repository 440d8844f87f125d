package dev.dl4j.accelerate.samples;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import dev.dl4j.accelerate.Accelerator;

/**
 * The seed's "saving": every process finishes its share of the work, everyone waits, then only the main
 * process writes the result, which is complete because nobody was still working.
 *
 * <pre>bin/accelerate launch --nproc-per-node 2 -- bin/sample BarrierBeforeSave</pre>
 */
public final class BarrierBeforeSave
{
    private BarrierBeforeSave()
    {
    }

    /**
     * @param args optional output directory.
     * @throws InterruptedException if interrupted while working.
     */
    public static void main(final String[] args) throws InterruptedException
    {
        final Path dir = Samples.outputDirectory(args, "barrier-before-save");
        try (Accelerator acc = Accelerator.create())
        {
            final int rank = acc.processIndex();
            // Ranks finish their work at different times; the last one is the slowest.
            Thread.sleep(200L * rank);
            Samples.writeAtomically(dir.resolve("part-" + rank + ".txt"),
                ("result of rank " + rank + "\n").getBytes(StandardCharsets.UTF_8));

            acc.waitForEveryone();

            acc.onMainProcess(() ->
            {
                final StringBuilder merged = new StringBuilder();
                for (int r = 0; r < acc.numProcesses(); r++)
                {
                    final Path part = dir.resolve("part-" + r + ".txt");
                    Samples.check(Files.exists(part), "rank " + r + "'s part is missing after the barrier");
                    merged.append(read(part));
                }
                Samples.writeAtomically(dir.resolve("merged.txt"), merged.toString().getBytes(StandardCharsets.UTF_8));
                System.out.println("saved merged.txt with the parts of all " + acc.numProcesses() + " ranks");
            });
        }
    }

    private static String read(final Path file)
    {
        try
        {
            return Files.readString(file, StandardCharsets.UTF_8);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
    }
}
