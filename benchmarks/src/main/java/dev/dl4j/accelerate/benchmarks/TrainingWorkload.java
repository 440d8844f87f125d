package dev.dl4j.accelerate.benchmarks;

import java.util.Locale;

import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/**
 * The models the training benchmarks train, on MNIST-shaped inputs: 784 features (28x28x1), 10 classes, Adam.
 * Every process builds the same network from the same seed, as data-parallel training requires.
 */
enum TrainingWorkload
{
    /** 784-256-10: ReLU hidden layer, softmax output, cross-entropy. Small enough that DL4J's fixed cost shows. */
    MLP
    {
        MultiLayerConfiguration configuration()
        {
            return adam()
                .layer(new DenseLayer.Builder().nIn(FEATURES).nOut(256).activation(Activation.RELU).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(256).nOut(CLASSES)
                    .activation(Activation.SOFTMAX).build())
                .build();
        }
    },

    /**
     * LeNet as in DL4J's examples: conv 5x5x20, max-pool 2, conv 5x5x50, max-pool 2, dense 500 (ReLU), softmax 10.
     * Compute-heavy per parameter, so transfer matters less than for the MLP.
     */
    LENET
    {
        MultiLayerConfiguration configuration()
        {
            return adam()
                .layer(new ConvolutionLayer.Builder(5, 5).nIn(1).stride(1, 1).nOut(20)
                    .activation(Activation.IDENTITY).build())
                .layer(new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(2, 2).stride(2, 2).build())
                .layer(new ConvolutionLayer.Builder(5, 5).stride(1, 1).nOut(50).activation(Activation.IDENTITY).build())
                .layer(new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(2, 2).stride(2, 2).build())
                .layer(new DenseLayer.Builder().nOut(500).activation(Activation.RELU).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(CLASSES)
                    .activation(Activation.SOFTMAX).build())
                .setInputType(InputType.convolutionalFlat(28, 28, 1))
                .build();
        }
    };

    /** Inputs per example: one 28x28 greyscale image, flattened. */
    static final int FEATURES = 784;
    /** Classes, one-hot in the labels. */
    static final int CLASSES = 10;

    private static final long MODEL_SEED = 12_345;
    private static final double LEARNING_RATE = 1e-3;

    /**
     * @return the network's configuration; the same on every call and in every process.
     */
    abstract MultiLayerConfiguration configuration();

    /**
     * @return the start of every workload's configuration: the same seed, Adam and Xavier initialisation.
     */
    private static NeuralNetConfiguration.ListBuilder adam()
    {
        return new NeuralNetConfiguration.Builder()
            .seed(MODEL_SEED)
            .updater(new Adam(LEARNING_RATE))
            .weightInit(WeightInit.XAVIER)
            .list();
    }

    /**
     * @return a new, initialised network.
     */
    MultiLayerNetwork network()
    {
        final MultiLayerNetwork network = new MultiLayerNetwork(configuration());
        network.init();
        return network;
    }

    /**
     * @return the name used on the command line and in results.
     */
    String label()
    {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * @param label a {@link #label()}.
     * @return the workload it names.
     * @throws IllegalArgumentException naming the known ones if there is none.
     */
    static TrainingWorkload of(final String label)
    {
        for (final TrainingWorkload workload : values())
        {
            if (workload.label().equals(label))
            {
                return workload;
            }
        }
        throw new IllegalArgumentException("unknown workload '" + label + "'; known: mlp, lenet");
    }
}
