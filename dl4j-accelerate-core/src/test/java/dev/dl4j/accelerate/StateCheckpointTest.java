package dev.dl4j.accelerate;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalLong;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import org.deeplearning4j.datasets.iterator.utilty.ListDataSetIterator;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(value = 120, unit = TimeUnit.SECONDS)
class StateCheckpointTest
{
    @TempDir
    Path root;

    @Test
    void shouldResumeBitwiseWithDropoutAfterLoadingState() throws Exception
    {
        try (InJvmGroup group = new InJvmGroup(2, 2, Duration.ofSeconds(60)))
        {
            final List<String> outcomes = group.run(acc ->
            {
                final MultiLayerNetwork net = network(12, 7 + acc.processIndex());
                final byte[][] note = { "fresh".getBytes(StandardCharsets.UTF_8) };
                acc.registerForCheckpointing(net);
                acc.registerForCheckpointing("note", () -> note[0], bytes -> note[0] = bytes);
                net.addListeners(acc.listener());
                final List<DataSet> data = examples(64);
                net.fit(acc.shard(new ListDataSetIterator<>(data, 8)));
                final Path saved = acc.saveState(root);
                assertEquals(root.resolve("checkpoint-4"), saved);

                net.fit(acc.shard(new ListDataSetIterator<>(data, 8)));
                final String straight = Arrays.toString(net.params().toDoubleVector());

                note[0] = "changed".getBytes(StandardCharsets.UTF_8);
                final OptionalLong step = acc.loadState(root);
                assertEquals(OptionalLong.of(4), step);
                assertEquals("fresh", new String(note[0], StandardCharsets.UTF_8));
                assertEquals(4, net.getIterationCount());
                net.fit(acc.shard(new ListDataSetIterator<>(data, 8)));
                return straight + "|" + Arrays.toString(net.params().toDoubleVector());
            });
            for (final String outcome : outcomes)
            {
                final String[] both = outcome.split("\\|");
                assertEquals(both[0], both[1], "resumed training must equal uninterrupted training bit for bit");
            }
            assertEquals(outcomes.get(0), outcomes.get(1));
        }
        assertTrue(Files.exists(root.resolve("checkpoint-4").resolve("rng-1.bin")));
    }

    @Test
    void shouldRefuseAnotherWorldSizeOrModelNamingBoth() throws Exception
    {
        try (InJvmGroup group = new InJvmGroup(2, 2, Duration.ofSeconds(60)))
        {
            group.run(acc ->
            {
                final MultiLayerNetwork net = network(12, 1);
                acc.registerForCheckpointing(net);
                return acc.saveState(root);
            });
        }
        try (Accelerator alone = Accelerator.create(ProcessTopology.single(), AcceleratorSettings.defaults()))
        {
            alone.registerForCheckpointing(network(12, 1));
            final AccelerateException worldSize = assertThrows(AccelerateException.class, () -> alone.loadState(root));
            assertTrue(worldSize.getMessage().contains("was written by a job of WORLD_SIZE=2; this job has WORLD_SIZE=1"),
                worldSize.getMessage());
        }
        try (Accelerator alone = Accelerator.create(ProcessTopology.single(), AcceleratorSettings.defaults()))
        {
            final MultiLayerNetwork other = network(20, 1);
            alone.registerForCheckpointing(other);
            // A checkpoint of the same world size but a smaller model.
            final Path single = root.resolve("single");
            final Accelerator saver = Accelerator.create(ProcessTopology.single(), AcceleratorSettings.defaults());
            saver.registerForCheckpointing(network(12, 1));
            saver.saveState(single);
            saver.close();
            final AccelerateException model = assertThrows(AccelerateException.class, () -> alone.loadState(single));
            assertTrue(model.getMessage().contains("holds a model with 123 parameters; the registered model has 203"),
                model.getMessage());
            assertFalse(alone.loadState(root.resolve("empty")).isPresent(), "no checkpoint: nothing to load");
        }
    }

    @Test
    void shouldNameAFileTheManifestDoesNotList() throws Exception
    {
        try (Accelerator alone = Accelerator.create(ProcessTopology.single(), AcceleratorSettings.defaults()))
        {
            alone.registerForCheckpointing(network(12, 1));
            final Path saved = alone.saveState(root);
            // A manifest edited by hand or written by another tool: consistent, but without the model.
            final Path manifest = saved.resolve("MANIFEST");
            final List<String> lines = new ArrayList<>(Files.readAllLines(manifest, StandardCharsets.UTF_8));
            assertTrue(lines.removeIf(line -> line.startsWith("file model.zip ")), "the manifest lists model.zip");
            Files.write(manifest, lines, StandardCharsets.UTF_8);
            final AccelerateException missing = assertThrows(AccelerateException.class, () -> alone.loadState(root));
            assertEquals(saved + " holds no model.zip", missing.getMessage());
        }
    }

    @Test
    void shouldUseTheConfiguredFolderWithoutAnArgument()
    {
        final AcceleratorSettings settings = AcceleratorSettings.fromEnvironment(
            java.util.Map.of("ACCELERATE_CHECKPOINT_DIR", root.resolve("auto").toString()));
        try (Accelerator alone = Accelerator.create(ProcessTopology.single(), settings))
        {
            final MultiLayerNetwork net = network(12, 1);
            alone.registerForCheckpointing(net);
            assertFalse(alone.loadState().isPresent());
            assertEquals(root.resolve("auto").resolve("checkpoint-0"), alone.saveState());
            net.params().assign(0);
            assertEquals(OptionalLong.of(0), alone.loadState());
            assertEquals(network(12, 1).params(), net.params());
        }
    }

    private static MultiLayerNetwork network(final int hidden, final long seed)
    {
        final MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder()
            .seed(seed)
            .updater(new Adam(0.01))
            .list()
            .layer(new DenseLayer.Builder().nIn(6).nOut(hidden).activation(Activation.RELU).dropOut(0.7).build())
            .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(hidden).nOut(3)
                .activation(Activation.SOFTMAX).build())
            .build());
        net.init();
        return net;
    }

    private static List<DataSet> examples(final int count)
    {
        final Random random = new Random(3);
        final List<DataSet> examples = new ArrayList<>();
        for (int i = 0; i < count; i++)
        {
            final float[] features = new float[6];
            for (int f = 0; f < 6; f++)
            {
                features[f] = (float)random.nextGaussian();
            }
            final float[] label = new float[3];
            label[i % 3] = 1;
            examples.add(new DataSet(Nd4j.createFromArray(new float[][] { features }), Nd4j.createFromArray(new float[][] { label })));
        }
        return examples;
    }
}
