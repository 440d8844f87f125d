package dev.dl4j.accelerate.samples;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import dev.dl4j.accelerate.Accelerator;
import dev.dl4j.accelerate.Codec;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.preprocessor.NormalizerStandardize;
import org.nd4j.linalg.dataset.api.preprocessor.serializer.NormalizerSerializer;

/**
 * The seed's "applying a multi-worker CPU operation": the main process fits a {@code NormalizerStandardize} once
 * (the expensive pass over the data) and caches it; the other processes load the cached statistics instead of
 * computing them again, and every process normalises identically.
 *
 * <pre>bin/accelerate launch --nproc-per-node 2 -- bin/sample NormalizeOnce</pre>
 */
public final class NormalizeOnce
{
    private NormalizeOnce()
    {
    }

    /**
     * @param args optional output directory.
     */
    public static void main(final String[] args)
    {
        final Path dir = Samples.outputDirectory(args, "normalize-once");
        try (Accelerator acc = Accelerator.create())
        {
            final DataSet data = TrainTogether.syntheticBlobs(600, 3);
            final Path cache = dir.resolve("normalizer.bin");
            final NormalizerStandardize normalizer = acc.mainProcessFirst(() ->
            {
                if (!Files.exists(cache))
                {
                    Samples.check(acc.isMainProcess(), "rank " + acc.processIndex() + " found no cached normalizer");
                    final NormalizerStandardize fitted = new NormalizerStandardize();
                    fitted.fit(data);
                    save(fitted, cache);
                    System.out.println("rank " + acc.processIndex() + " fitted the normalizer and cached it");
                }
                return load(cache);
            });
            normalizer.transform(data);

            // Every rank must now see the same normalised data: compare a checksum on rank 0.
            final List<Double> sums = acc.gather(data.getFeatures().sumNumber().doubleValue(), 0, Codec.DOUBLE);
            acc.onMainProcess(() ->
            {
                Samples.check(sums.stream().distinct().count() == 1, "ranks normalised differently: " + sums);
                Samples.check(Math.abs(data.getFeatures().mean(0).getDouble(0)) < 1e-5, "features are not centred");
                System.out.println("all " + sums.size() + " ranks normalised with the statistics rank 0 fitted once");
            });
        }
    }

    private static void save(final NormalizerStandardize normalizer, final Path file)
    {
        final Path temporary = file.resolveSibling(file.getFileName() + ".tmp");
        try
        {
            NormalizerSerializer.getDefault().write(normalizer, temporary.toFile());
            Files.move(temporary, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot cache the normalizer in " + file, ex);
        }
    }

    private static NormalizerStandardize load(final Path file)
    {
        try
        {
            return NormalizerSerializer.getDefault().restore(file.toFile());
        }
        catch (final Exception ex)
        {
            throw new IllegalStateException("cannot load the cached normalizer " + file + ": " + ex.getMessage(), ex);
        }
    }
}
