package dev.dl4j.accelerate.samples;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Random;

import dev.dl4j.accelerate.AcceleratedTrainer;
import dev.dl4j.accelerate.Accelerator;
import dev.dl4j.accelerate.Codec;
import org.deeplearning4j.datasets.iterator.utilty.ListDataSetIterator;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/**
 * The main job of the README: the seed's process control around a small DL4J training.
 *
 * <ol>
 *   <li>the main process prepares the (synthetic) dataset first; the others load what it wrote;</li>
 *   <li>one model is trained together by all processes ({@link AcceleratedTrainer}: each fits its shard, gradients
 *       are averaged before every step), with the global loss and progress on the main process only;</li>
 *   <li>each process watches its own loss and asks to stop; all stop in the same epoch (the trigger);</li>
 *   <li>the evaluation is merged over the ranks, each example counted once;</li>
 *   <li>only the main process saves the model, whole or not at all;</li>
 *   <li>every process loads the saved model, main process first, and evaluates it on the full dataset:
 *       the results agree on every rank.</li>
 * </ol>
 *
 * <pre>bin/accelerate launch --nproc-per-node 2 -- bin/sample TrainTogether</pre>
 */
public final class TrainTogether
{
    private static final int FEATURES = 4;
    private static final int CLASSES = 3;
    private static final int EXAMPLES = 1_500;
    private static final int BATCH = 25;
    private static final int MAX_EPOCHS = 60;
    private static final int PATIENCE = 3;

    private TrainTogether()
    {
    }

    /**
     * @param args optional output directory.
     */
    public static void main(final String[] args)
    {
        final Path dir = Samples.outputDirectory(args, "train-together");
        try (Accelerator acc = Accelerator.create())
        {
            acc.print("training on " + acc.numProcesses() + " process(es); output in " + dir.toAbsolutePath());

            final Path dataFile = dir.resolve("dataset.bin");
            final DataSet all = acc.mainProcessFirst(() ->
            {
                if (!Files.exists(dataFile))
                {
                    saveAtomically(syntheticBlobs(EXAMPLES, 7), dataFile);
                    System.out.println("rank " + acc.processIndex() + " prepared " + dataFile.getFileName());
                }
                final DataSet loaded = new DataSet();
                loaded.load(dataFile.toFile());
                return loaded;
            });

            final List<DataSet> examples = all.asList();
            final MultiLayerNetwork net = new MultiLayerNetwork(configuration());
            net.init();
            // One model trained together: each rank fits its shard, gradients are averaged before every step.
            final AcceleratedTrainer<MultiLayerNetwork> trainer = AcceleratedTrainer.of(acc, net)
                .stopWhen(new Patience(PATIENCE));
            final List<Double> losses = trainer.fit(new ListDataSetIterator<>(examples, BATCH), MAX_EPOCHS);
            for (int epoch = 0; epoch < losses.size(); epoch++)
            {
                acc.print(String.format("epoch %3d  global loss %.4f", epoch + 1, losses.get(epoch)));
            }
            final int epoch = losses.size();
            if (epoch < MAX_EPOCHS)
            {
                acc.print(String.format("epoch %3d  a rank's loss stopped improving for %d epochs: all stopped here",
                    epoch, PATIENCE));
            }
            final List<Long> epochs = acc.gather((long)epoch, 0, Codec.LONG);

            final Evaluation merged = trainer.evaluate(new ListDataSetIterator<>(examples, BATCH));
            acc.print(String.format("merged evaluation over all ranks: accuracy %.3f on %d examples",
                merged.accuracy(), merged.getNumRowCounter()));

            // Saved on rank 0 only, whole or not at all; every rank returns once the file is in place.
            final Path modelFile = dir.resolve("model.zip");
            trainer.save(modelFile);

            final MultiLayerNetwork restored = acc.mainProcessFirst(() -> restore(modelFile));
            final Evaluation evaluation = restored.evaluate(new ListDataSetIterator<>(examples, BATCH));
            final List<Double> accuracies = acc.gather(evaluation.accuracy(), 0, Codec.DOUBLE);

            acc.onMainProcess(() ->
            {
                Samples.check(epochs.stream().distinct().count() == 1, "ranks stopped in different epochs: " + epochs);
                Samples.check(accuracies.stream().distinct().count() == 1, "ranks disagree on the saved model: " + accuracies);
                Samples.check(accuracies.get(0) > 0.85, "accuracy " + accuracies.get(0) + " is too low");
                Samples.check(Math.abs(accuracies.get(0) - merged.accuracy()) < 1e-9,
                    "the saved model's accuracy " + accuracies.get(0) + " differs from the trained one's " + merged.accuracy());
                System.out.printf("RESULT: %d processes stopped together after %d epochs; saved %s; accuracy %.3f " +
                    "on %d examples, identical on every rank%n", acc.numProcesses(), epochs.get(0),
                    modelFile.getFileName(), accuracies.get(0), examples.size());
            });
        }
    }

    private static MultiLayerConfiguration configuration()
    {
        return new NeuralNetConfiguration.Builder()
            .seed(42)
            .updater(new Adam(0.01))
            .list()
            .layer(new DenseLayer.Builder().nIn(FEATURES).nOut(16).activation(Activation.RELU).build())
            .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT)
                .nIn(16).nOut(CLASSES).activation(Activation.SOFTMAX).build())
            .build();
    }

    /**
     * Stops when this rank's own loss has not improved for {@code patience} epochs; the trainer makes the
     * decision collective.
     */
    private static final class Patience implements AcceleratedTrainer.StopCondition
    {
        private final int patience;
        private double best = Double.MAX_VALUE;
        private int sinceBest;

        Patience(final int patience)
        {
            this.patience = patience;
        }

        public boolean shouldStop(final int epoch, final double localLoss)
        {
            if (localLoss < best - 1e-3)
            {
                best = localLoss;
                sinceBest = 0;
                return false;
            }
            return ++sinceBest >= patience;
        }
    }

    /**
     * Three Gaussian blobs in four dimensions: separable enough to learn in seconds, made here because the
     * build machines cannot download Iris or MNIST.
     */
    static DataSet syntheticBlobs(final int count, final long seed)
    {
        final Random random = new Random(seed);
        final INDArray features = Nd4j.create(count, FEATURES);
        final INDArray labels = Nd4j.zeros(count, CLASSES);
        for (int i = 0; i < count; i++)
        {
            final int label = i % CLASSES;
            for (int f = 0; f < FEATURES; f++)
            {
                final double centre = f == label ? 2.0 : (f == (label + 1) % FEATURES ? -1.0 : 0.0);
                features.putScalar(i, f, centre + random.nextGaussian() * 1.1);
            }
            labels.putScalar(i, label, 1.0);
        }
        return new DataSet(features, labels);
    }

    private static void saveAtomically(final DataSet data, final Path file)
    {
        final Path temporary = file.resolveSibling(file.getFileName() + ".tmp");
        data.save(temporary.toFile());
        move(temporary, file);
    }

    private static MultiLayerNetwork restore(final Path file)
    {
        try
        {
            final File model = file.toFile();
            return ModelSerializer.restoreMultiLayerNetwork(model, false);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot load the model from " + file, ex);
        }
    }

    private static void move(final Path from, final Path to)
    {
        try
        {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot move " + from + " to " + to, ex);
        }
    }
}
