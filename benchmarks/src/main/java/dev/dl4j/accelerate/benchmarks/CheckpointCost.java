package dev.dl4j.accelerate.benchmarks;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

import dev.dl4j.accelerate.Accelerator;
import dev.dl4j.accelerate.AcceleratorSettings;
import dev.dl4j.accelerate.ProcessTopology;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/**
 * What crash safety costs: {@link Accelerator#saveState} (temporary directory, fsync of every file, manifest with
 * CRC32C, atomic rename) against a plain {@link ModelSerializer#writeModel} of the same Adam model, alternated in
 * one process, for about 1M and 10M parameters. Prints one markdown table row per size: medians in ms and the
 * overhead ratio. Run by {@code benchmarks/run-checkpoint.sh}.
 *
 * <pre>java -cp benchmarks/target/classes:$(cat benchmarks/target/classpath.txt) \
 *     dev.dl4j.accelerate.benchmarks.CheckpointCost [repeats] [scratch-dir]</pre>
 */
public final class CheckpointCost
{
    private CheckpointCost()
    {
    }

    /**
     * @param args repeats (default 7), scratch directory (default a temporary one).
     * @throws IOException if the scratch directory cannot be used.
     */
    public static void main(final String[] args) throws IOException
    {
        final int repeats = args.length > 0 ? Integer.parseInt(args[0]) : 7;
        final Path scratch = args.length > 1 ? Files.createDirectories(Path.of(args[1])) :
            Files.createTempDirectory("checkpoint-cost");
        System.out.println("| parameters | model file MB | writeModel ms (median) | saveState ms (median) | saveState ÷ writeModel |");
        System.out.println("|---:|---:|---:|---:|---:|");
        for (final int hidden : new int[] { 700, 2_200 })
        {
            final MultiLayerNetwork net = network(hidden);
            final List<Double> plain = new ArrayList<>();
            final List<Double> safe = new ArrayList<>();
            long fileBytes = 0;
            try (Accelerator acc = Accelerator.create(ProcessTopology.single(), AcceleratorSettings.defaults()))
            {
                acc.registerForCheckpointing(net);
                for (int i = 0; i < repeats + 1; i++)
                {
                    final Path file = scratch.resolve("plain-" + i + ".zip");
                    long start = System.nanoTime();
                    ModelSerializer.writeModel(net, file.toFile(), true);
                    final double plainMs = (System.nanoTime() - start) / 1e6;
                    fileBytes = Files.size(file);
                    Files.delete(file);

                    final Path root = scratch.resolve("state-" + i);
                    start = System.nanoTime();
                    acc.saveState(root);
                    final double safeMs = (System.nanoTime() - start) / 1e6;
                    delete(root);
                    if (i > 0)
                    {
                        // The first pair warms up the JIT and the page cache.
                        plain.add(plainMs);
                        safe.add(safeMs);
                    }
                }
            }
            final double plainMedian = Reports.median(plain);
            final double safeMedian = Reports.median(safe);
            System.out.printf(Locale.ROOT, "| %,d | %.1f | %.1f | %.1f | %.2f× |%n", net.numParams(), fileBytes / 1e6,
                plainMedian, safeMedian, safeMedian / plainMedian);
        }
        delete(scratch);
    }

    private static MultiLayerNetwork network(final int hidden)
    {
        final MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder()
            .seed(1)
            .updater(new Adam(1e-3))
            .list()
            .layer(new DenseLayer.Builder().nIn(hidden).nOut(hidden).activation(Activation.RELU).build())
            .layer(new DenseLayer.Builder().nIn(hidden).nOut(hidden).activation(Activation.RELU).build())
            .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(hidden).nOut(10)
                .activation(Activation.SOFTMAX).build())
            .build());
        net.init();
        // One step so Adam's state exists and is saved too, as in a real checkpoint.
        final org.nd4j.linalg.api.ndarray.INDArray labels = Nd4j.zeros(DataType.FLOAT, 4, 10);
        labels.getColumn(0).assign(1);
        net.fit(Nd4j.rand(DataType.FLOAT, 4, hidden), labels);
        return net;
    }

    private static void delete(final Path path) throws IOException
    {
        try (Stream<Path> walk = Files.walk(path))
        {
            for (final Path p : walk.sorted(Comparator.reverseOrder()).toList())
            {
                Files.delete(p);
            }
        }
    }
}
