package dev.dl4j.accelerate.samples;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import dev.dl4j.accelerate.Accelerator;
import dev.dl4j.accelerate.Codec;

/**
 * The seed's "downloading a dataset": the main process prepares a file first, the others then read what it
 * prepared instead of preparing it again.
 *
 * <pre>bin/accelerate launch --nproc-per-node 2 -- bin/sample PrepareDataFirst</pre>
 */
public final class PrepareDataFirst
{
    private PrepareDataFirst()
    {
    }

    /**
     * @param args optional output directory.
     */
    public static void main(final String[] args)
    {
        final Path dir = Samples.outputDirectory(args, "prepare-data-first");
        try (Accelerator acc = Accelerator.create())
        {
            final Path dataset = dir.resolve("dataset.csv");
            final String content = acc.mainProcessFirst(() ->
            {
                // Prepare only what is missing: the main process does it, the others find it done.
                final boolean cached = Files.exists(dataset);
                if (!cached)
                {
                    Samples.writeAtomically(dataset, "x,y\n1,2\n3,4\n".getBytes(StandardCharsets.UTF_8));
                    System.out.println("rank " + acc.processIndex() + " prepared " + dataset);
                }
                Samples.check(cached || acc.isMainProcess(),
                    "rank " + acc.processIndex() + " had to prepare the dataset: the main process had not yet");
                return read(dataset);
            });

            final List<String> seen = acc.gather(content, 0, Codec.STRING);
            acc.onMainProcess(() ->
            {
                Samples.check(seen.stream().distinct().count() == 1, "ranks read different datasets: " + seen);
                System.out.println("all " + seen.size() + " ranks read the dataset rank 0 prepared");
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
