package dev.dl4j.accelerate.samples;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

import dev.dl4j.accelerate.Accelerator;
import dev.dl4j.accelerate.Codec;
import org.datavec.api.records.reader.impl.csv.CSVRecordReader;
import org.datavec.api.split.FileSplit;
import org.deeplearning4j.datasets.datavec.RecordReaderDataSetIterator;
import org.nd4j.linalg.dataset.DataSet;

/**
 * The seed's "downloading a dataset": the main process downloads into a cache folder first; the others then
 * load the cached copy instead of downloading it again. The download here reads a URL, by default the CSV
 * shipped with the samples (a {@code file:} or {@code jar:} URL: the build machines have no internet); give
 * another URL as the second argument.
 *
 * <pre>bin/accelerate launch --nproc-per-node 2 -- bin/sample PrepareDataFirst [outputDir [url]]</pre>
 */
public final class PrepareDataFirst
{
    private static final int EXAMPLES = 300;
    private static final int CLASSES = 3;

    private PrepareDataFirst()
    {
    }

    /**
     * @param args optional output directory, optional URL of the CSV (label first, one header line).
     * @throws IOException if the URL is malformed.
     */
    public static void main(final String[] args) throws IOException
    {
        final Path dir = Samples.outputDirectory(args, "prepare-data-first");
        final URL source = args.length > 1 ? new URL(args[1]) : PrepareDataFirst.class.getResource("/blobs.csv");
        try (Accelerator acc = Accelerator.create())
        {
            final Path cached = dir.resolve("cache").resolve("blobs.csv");
            final DataSet data = acc.mainProcessFirst(() ->
            {
                if (!Files.exists(cached))
                {
                    // Only the main process may get here: the others run after it, when the file is cached.
                    Samples.check(acc.isMainProcess(), "rank " + acc.processIndex() + " found nothing cached");
                    download(source, cached);
                    System.out.println("rank " + acc.processIndex() + " downloaded " + source + " into " + cached);
                }
                return load(cached);
            });

            final List<Double> checksums = acc.gather(data.getFeatures().sumNumber().doubleValue(), 0, Codec.DOUBLE);
            acc.onMainProcess(() ->
            {
                Samples.check(data.numExamples() == EXAMPLES, "loaded " + data.numExamples() + " examples");
                Samples.check(checksums.stream().distinct().count() == 1, "ranks loaded different data: " + checksums);
                System.out.println("all " + checksums.size() + " ranks loaded the " + data.numExamples() +
                    " examples rank 0 downloaded once");
            });
        }
    }

    private static void download(final URL source, final Path target)
    {
        try (InputStream in = source.openStream())
        {
            Files.createDirectories(target.getParent());
            final Path partial = Files.createTempFile(target.getParent(), "download", ".part");
            Files.copy(in, partial, StandardCopyOption.REPLACE_EXISTING);
            Files.move(partial, target, StandardCopyOption.ATOMIC_MOVE);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot download " + source + " into " + target, ex);
        }
    }

    private static DataSet load(final Path csv)
    {
        try (CSVRecordReader reader = new CSVRecordReader(1, ','))
        {
            reader.initialize(new FileSplit(csv.toFile()));
            return new RecordReaderDataSetIterator(reader, EXAMPLES, 0, CLASSES).next();
        }
        catch (final IOException | InterruptedException ex)
        {
            if (ex instanceof InterruptedException)
            {
                Thread.currentThread().interrupt();
            }
            throw new IllegalStateException("cannot load " + csv + ": " + ex.getMessage(), ex);
        }
    }
}
