package dev.dl4j.accelerate.launch;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import dev.dl4j.accelerate.AcceleratedTrainer;
import dev.dl4j.accelerate.Accelerator;
import org.deeplearning4j.datasets.iterator.utilty.ListDataSetIterator;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/**
 * {@code <dir> <killAtStep>}: trains 4 epochs with dropout, checkpointing every 5 steps into {@code <dir>/ckpt};
 * in the first attempt ({@code ACCELERATE_RESTART_COUNT=0}) the last rank SIGKILLs itself at step
 * {@code killAtStep} (-1: never); a restarted attempt resumes from the newest checkpoint. Rank 0 writes the final
 * parameters' bits to {@code <dir>/final.txt} and the global loss of each epoch this attempt trained (from the
 * resumed one on) to {@code <dir>/losses.txt}.
 */
public final class ResumeProbe
{
    private ResumeProbe()
    {
    }

    public static void main(final String[] args) throws IOException
    {
        final Path dir = Path.of(args[0]);
        final int killAtStep = Integer.parseInt(args[1]);
        final boolean firstAttempt = "0".equals(System.getenv().getOrDefault("ACCELERATE_RESTART_COUNT", "0"));
        try (Accelerator acc = Accelerator.create())
        {
            final MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder()
                .seed(5)
                .updater(new Adam(0.01))
                .list()
                // 2,563 parameters: the ring's size, so that 2 ranks each update (and checkpoint) their own share.
                .layer(new DenseLayer.Builder().nIn(6).nOut(256).activation(Activation.RELU).dropOut(0.7).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(256).nOut(3)
                    .activation(Activation.SOFTMAX).build())
                .build());
            net.init();
            if (firstAttempt && killAtStep >= 0 && acc.processIndex() == acc.numProcesses() - 1)
            {
                net.addListeners(new BaseTrainingListener()
                {
                    @Override
                    public void iterationDone(final Model model, final int iteration, final int epoch)
                    {
                        if (iteration + 1 == killAtStep)
                        {
                            kill9Self();
                        }
                    }
                });
            }
            final AcceleratedTrainer<MultiLayerNetwork> trainer = AcceleratedTrainer.of(acc, net)
                .checkpointing(dir.resolve("ckpt"), 5, 2);
            final List<Double> losses = trainer.fit(new ListDataSetIterator<>(examples(), 4), 4);
            if (acc.isMainProcess())
            {
                final StringBuilder lines = new StringBuilder();
                losses.forEach(loss -> lines.append(loss).append('\n'));
                Files.writeString(dir.resolve("losses.txt"), lines.toString());
                final StringBuilder bits = new StringBuilder();
                for (final double value : net.params().toDoubleVector())
                {
                    bits.append(Double.doubleToRawLongBits(value)).append('\n');
                }
                Files.writeString(dir.resolve("final.txt"), bits.toString());
            }
        }
    }

    private static void kill9Self()
    {
        try
        {
            new ProcessBuilder("kill", "-9", Long.toString(ProcessHandle.current().pid())).start().waitFor();
        }
        catch (final IOException | InterruptedException ex)
        {
            Runtime.getRuntime().halt(9);
        }
    }

    private static List<DataSet> examples()
    {
        // 26 batches of 4: an odd count, so epochs end mid-way through a rank's share and shards wrap round.
        final Random random = new Random(21);
        final List<DataSet> examples = new ArrayList<>();
        for (int i = 0; i < 104; i++)
        {
            final float[] features = new float[6];
            for (int f = 0; f < 6; f++)
            {
                features[f] = (float)random.nextGaussian() + (f % 3 == i % 3 ? 1 : 0);
            }
            final float[] label = new float[3];
            label[i % 3] = 1;
            examples.add(new DataSet(Nd4j.createFromArray(new float[][] { features }), Nd4j.createFromArray(new float[][] { label })));
        }
        return examples;
    }
}
