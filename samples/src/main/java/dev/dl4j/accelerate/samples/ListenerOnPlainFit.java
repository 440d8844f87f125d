package dev.dl4j.accelerate.samples;

import java.util.List;

import dev.dl4j.accelerate.Accelerator;
import dev.dl4j.accelerate.Codec;
import org.deeplearning4j.datasets.iterator.utilty.ListDataSetIterator;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/**
 * Data-parallel training with nothing but a listener: an existing {@code net.fit(...)} loop stays as it is; add
 * {@code acc.listener()} and feed each process {@code acc.shard(...)} of the data. All processes end with the
 * same parameters, even though each started from its own random initialisation.
 *
 * <pre>bin/accelerate launch --nproc-per-node 2 -- bin/sample ListenerOnPlainFit</pre>
 */
public final class ListenerOnPlainFit
{
    private ListenerOnPlainFit()
    {
    }

    /**
     * @param args unused.
     */
    public static void main(final String[] args)
    {
        try (Accelerator acc = Accelerator.create())
        {
            final List<DataSet> examples = TrainTogether.syntheticBlobs(1_200, 5).asList();
            final MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder()
                .seed(1000 + acc.processIndex())
                .updater(new Adam(0.01))
                .list()
                .layer(new DenseLayer.Builder().nIn(4).nOut(16).activation(Activation.RELU).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(16).nOut(3)
                    .activation(Activation.SOFTMAX).build())
                .build());
            net.init();

            net.addListeners(acc.listener());
            net.fit(acc.shard(new ListDataSetIterator<>(examples, 25)), 5);

            final List<String> parameters = acc.gather(net.params().toString(), 0, Codec.STRING);
            final List<Long> iterations = acc.gather((long)net.getIterationCount(), 0, Codec.LONG);
            acc.onMainProcess(() ->
            {
                Samples.check(parameters.stream().distinct().count() == 1, "ranks ended with different parameters");
                Samples.check(iterations.stream().distinct().count() == 1, "iteration counts differ: " + iterations);
                System.out.println("all " + parameters.size() + " ranks hold identical parameters after " +
                    iterations.get(0) + " data-parallel steps of a plain fit()");
            });
        }
    }
}
