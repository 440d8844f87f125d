package dev.dl4j.accelerate.launch;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import dev.dl4j.accelerate.AccelerateException;
import dev.dl4j.accelerate.AcceleratedTrainer;
import dev.dl4j.accelerate.Accelerator;
import dev.dl4j.accelerate.Codec;
import dev.dl4j.accelerate.internal.dl4j.Models;
import org.deeplearning4j.datasets.iterator.utilty.ListDataSetIterator;
import org.deeplearning4j.earlystopping.EarlyStoppingConfiguration;
import org.deeplearning4j.earlystopping.EarlyStoppingResult;
import org.deeplearning4j.earlystopping.saver.InMemoryModelSaver;
import org.deeplearning4j.earlystopping.scorecalc.DataSetLossCalculator;
import org.deeplearning4j.earlystopping.termination.MaxEpochsTerminationCondition;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/**
 * A worker of the data-parallel equivalence tests. Modes:
 * <ul>
 *   <li>{@code equivalence <mln|cg> <sgd|adam> <dir>}: trains with {@code acc.listener()} on its shard at local batch
 *   b, then rank 0 trains a plain single-process copy at batch n·b on the same examples and compares; every rank
 *   writes its parameters to {@code <dir>/params-<rank>.txt} and rank 0 the reference to {@code reference.txt};</li>
 *   <li>{@code sharded <mln|cg|mln-bn> <sgd|adam|adam-decay> <dir>}: the same with {@link AcceleratedTrainer} and
 *   its updater split between the ranks, on a network wide enough for the ring, for two epochs; also writes every
 *   rank's updater state after fit ({@code state-<rank>.txt}, and rank 0 {@code reference-state.txt});</li>
 *   <li>{@code sharded-after-failure <dir>}: a fit that fails mid-epoch on every rank, then another, with and
 *   without checkpoints, the updater split and whole;</li>
 *   <li>{@code ragged <dir>}: as {@code equivalence}, on a data set whose last batch is short;</li>
 *   <li>{@code trainer <dir>}: the trainer end to end (fit, evaluate, early stopping, save), into
 *   {@code trainer.txt};</li>
 *   <li>{@code uneven <dir>}: 7 batches over n ranks; every rank must finish with the same iteration count.</li>
 * </ul>
 * With {@code PROBE_GATE_DIR} set, the last rank joins only once {@code <gate>/rendezvous} exists, and every rank
 * writes {@code <gate>/joined-<rank>} once joined and trains only once {@code <gate>/train} exists: a test can act
 * at each stage (the stray-sender test sprays the
 * rendezvous port while rank 0 waits there, and every rank's port before training starts).
 * Exits non-zero when a check fails, so the launcher reports it.
 */
public final class DataParallelProbe
{
    private static final int FEATURES = 6;
    private static final int CLASSES = 3;
    private static final int LOCAL_BATCH = 8;
    private static final int STEPS = 24;

    private DataParallelProbe()
    {
    }

    public static void main(final String[] args) throws IOException, InterruptedException
    {
        final String gates = System.getenv("PROBE_GATE_DIR");
        if (gates != null && System.getenv("RANK").equals(Integer.toString(Integer.parseInt(System.getenv("WORLD_SIZE")) - 1)))
        {
            awaitGate(Path.of(gates, "rendezvous"));
        }
        try (Accelerator acc = Accelerator.create())
        {
            if (gates != null)
            {
                Files.writeString(Path.of(gates, "joined-" + acc.processIndex()), "");
                awaitGate(Path.of(gates, "train"));
            }
            if ("uneven".equals(args[0]))
            {
                uneven(acc, Path.of(args[1]));
                return;
            }
            if ("trainer".equals(args[0]))
            {
                trainer(acc, Path.of(args[1]));
                return;
            }
            if ("sharded".equals(args[0]))
            {
                sharded(acc, args[1], args[2], Path.of(args[3]));
                return;
            }
            if ("ragged".equals(args[0]))
            {
                ragged(acc, Path.of(args[1]));
                return;
            }
            if ("sharded-after-failure".equals(args[0]))
            {
                shardedAfterFailure(acc, Path.of(args[1]));
                return;
            }
            final boolean graph = "cg".equals(args[1]);
            final IUpdater updater = "adam".equals(args[2]) ? new Adam(0.01) : new Sgd(0.1);
            final Path dir = Path.of(args[3]);
            final int n = acc.numProcesses();
            final List<DataSet> examples = examples(STEPS * n * LOCAL_BATCH, 11);

            // Every rank starts from different weights: the listener must make them rank 0's.
            final Model model = model(graph, updater, 100 + acc.processIndex());
            model.addListeners(acc.listener());
            fit(model, acc.shard(new ListDataSetIterator<>(examples, LOCAL_BATCH)));
            final double[] mine = model.params().toDoubleVector();
            Files.writeString(dir.resolve("params-" + acc.processIndex() + ".txt"), join(mine));

            final List<String> everyone = acc.gather(join(mine), 0, Codec.STRING);
            if (acc.isMainProcess())
            {
                for (int rank = 1; rank < n; rank++)
                {
                    check(everyone.get(rank).equals(everyone.get(0)), "rank " + rank + "'s parameters differ from rank 0's");
                }
                final Model reference = model(graph, updater, 100);
                fit(reference, new ListDataSetIterator<>(examples, n * LOCAL_BATCH));
                final double[] expected = reference.params().toDoubleVector();
                Files.writeString(dir.resolve("reference.txt"), join(expected));
                report(expected, mine);
            }
        }
    }

    /**
     * The trainer with its sharded updater, on a network wide enough for the ring (each rank then updates only its
     * segment): two epochs, so the state is consolidated and the split put in place again in between. Every rank
     * writes its parameters and its updater state after fit to {@code params-<rank>.txt} and
     * {@code state-<rank>.txt}; rank 0 writes the reference's to {@code reference.txt} and
     * {@code reference-state.txt}: the same network trained in one process at the global batch, or, for
     * {@code mln-bn} (batch normalisation, whose statistics depend on the local batch), by the same ranks with the
     * updater whole on every rank ({@code shardUpdater(false)}). A listener the model had before the trainer must
     * be refused the state in the middle of an epoch (unless there is none: SGD) and get it whole at each epoch's
     * end.
     */
    private static void sharded(final Accelerator acc, final String kind, final String updaterName, final Path dir)
        throws IOException
    {
        final int n = acc.numProcesses();
        final int steps = STEPS / 2;
        final List<DataSet> examples = examples(steps * n * LOCAL_BATCH, 13);
        final Model model = wideModel(kind, updaterName, 300 + acc.processIndex());
        final StateReads reads = new StateReads(steps + 3);
        model.addListeners(reads);
        trainer(acc, model).fit(new ListDataSetIterator<>(examples, LOCAL_BATCH), 2);
        // SGD keeps no state: nothing to be stale, nothing to refuse.
        final String expected = "sgd".equals(updaterName) ? "read" : "refused";
        check(expected.equals(reads.midEpoch), "a mid-epoch read of the split updater state was " + reads.midEpoch +
            ", not " + expected);
        check(reads.epochEnds == 2, "the updater state was whole at " + reads.epochEnds + " of 2 epoch ends");
        Files.writeString(dir.resolve("params-" + acc.processIndex() + ".txt"), join(model.params().toDoubleVector()));
        Files.writeString(dir.resolve("state-" + acc.processIndex() + ".txt"), stateOf(model));

        final Model reference = wideModel(kind, updaterName, 300);
        if (kind.endsWith("-bn"))
        {
            trainer(acc, reference).shardUpdater(false).fit(new ListDataSetIterator<>(examples, LOCAL_BATCH), 2);
        }
        else if (acc.isMainProcess())
        {
            for (int epoch = 0; epoch < 2; epoch++)
            {
                fit(reference, new ListDataSetIterator<>(examples, n * LOCAL_BATCH));
            }
        }
        if (acc.isMainProcess())
        {
            Files.writeString(dir.resolve("reference.txt"), join(reference.params().toDoubleVector()));
            Files.writeString(dir.resolve("reference-state.txt"), stateOf(reference));
            report(reference.params().toDoubleVector(), model.params().toDoubleVector());
        }
        acc.waitForEveryone();
    }

    /**
     * A fit that fails on every rank in the middle of its second epoch (a listener throws), then another fit with
     * the same trainer: without checkpoints it goes on from where the failure left the model (one more epoch), with
     * them it resumes from the last checkpoint (restoring the state into the split updater the failure left). Each
     * way, with the updater split and whole, every rank must end with the same parameters and state, and the split
     * run where the unsplit one ends (to 1e-5). Prints one line per way for the test.
     */
    private static void shardedAfterFailure(final Accelerator acc, final Path dir) throws IOException
    {
        for (final boolean checkpoints : new boolean[] { false, true })
        {
            final String[] split = afterFailure(acc, true, checkpoints ? dir.resolve("split") : null);
            final String[] whole = afterFailure(acc, false, checkpoints ? dir.resolve("whole") : null);
            check(split[1].equals(whole[1]), "the split run took " + split[1] + " steps, the whole one " + whole[1]);
            double worst = 0;
            final String[] a = split[0].split("\n");
            final String[] b = whole[0].split("\n");
            check(a.length == b.length, "the split and whole runs' values differ in number");
            for (int i = 0; i < a.length; i++)
            {
                worst = Math.max(worst, Math.abs(Double.longBitsToDouble(Long.parseLong(a[i])) -
                    Double.longBitsToDouble(Long.parseLong(b[i]))));
            }
            check(worst <= 1e-5, "after a failure the split run differs from the whole one by " + worst);
            acc.print("after a failed fit" + (checkpoints ? " and a resume" : "") + ": " + split[1] + " steps in all, " +
                "every rank the same, split and whole alike");
        }
    }

    /**
     * @return the parameters and updater state, one value a line, then the iteration count; checked equal on every
     *         rank.
     */
    private static String[] afterFailure(final Accelerator acc, final boolean shard, final Path checkpoints)
    {
        final int steps = STEPS / 2;
        final List<DataSet> examples = examples(steps * acc.numProcesses() * LOCAL_BATCH, 17);
        final MultiLayerNetwork model = (MultiLayerNetwork)wideModel("mln", "adam", 400);
        final AcceleratedTrainer<MultiLayerNetwork> trainer = AcceleratedTrainer.of(acc, model).shardUpdater(shard);
        if (checkpoints != null)
        {
            trainer.checkpointing(checkpoints, 5, 2);
        }
        final BaseTrainingListener failing = new BaseTrainingListener()
        {
            @Override
            public void iterationDone(final Model trained, final int iteration, final int epoch)
            {
                // Past the checkpoint at step 15 (which consolidates): the split state is stale when fit fails.
                if (iteration == steps + 3)
                {
                    throw new IllegalStateException("probe: a listener fails mid-epoch");
                }
            }
        };
        model.addListeners(failing);
        try
        {
            trainer.fit(new ListDataSetIterator<>(examples, LOCAL_BATCH), 2);
            check(false, "the failing listener did not fail fit");
        }
        catch (final IllegalStateException expected)
        {
            check(expected.getMessage().contains("probe:"), "fit failed otherwise: " + expected);
        }
        final List<org.deeplearning4j.optimize.api.TrainingListener> rest = new ArrayList<>(Models.listeners(model));
        rest.remove(failing);
        model.setListeners(rest);
        trainer.fit(new ListDataSetIterator<>(examples, LOCAL_BATCH), checkpoints != null ? 2 : 1);
        final String mine = join(model.params().toDoubleVector()) + stateOf(model);
        final List<String> all = acc.gather(mine, 0, Codec.STRING);
        for (int rank = 1; rank < all.size(); rank++)
        {
            check(all.get(rank).equals(all.get(0)), "rank " + rank + "'s parameters or state differ from rank 0's");
        }
        return new String[] { mine, Integer.toString(model.getIterationCount()) };
    }

    private static AcceleratedTrainer<?> trainer(final Accelerator acc, final Model model)
    {
        return model instanceof ComputationGraph ? AcceleratedTrainer.of(acc, (ComputationGraph)model) :
            AcceleratedTrainer.of(acc, (MultiLayerNetwork)model);
    }

    /**
     * Reads the updater state in the middle of an epoch (where the split state must be refused) and at every
     * epoch's end (where it must be whole).
     */
    private static final class StateReads extends BaseTrainingListener
    {
        private final int midEpochIteration;
        String midEpoch = "not tried";
        int epochEnds;

        StateReads(final int midEpochIteration)
        {
            this.midEpochIteration = midEpochIteration;
        }

        @Override
        public void iterationDone(final Model trained, final int iteration, final int epoch)
        {
            if (iteration == midEpochIteration)
            {
                try
                {
                    Models.updaterState(trained);
                    midEpoch = "read";
                }
                catch (final AccelerateException ex)
                {
                    midEpoch = ex.getMessage().contains("split between the processes") ? "refused" : ex.getMessage();
                }
            }
        }

        @Override
        public void onEpochEnd(final Model trained)
        {
            Models.updaterState(trained);
            epochEnds++;
        }
    }

    /**
     * @return the updater state, one value a line; empty for an updater without one (SGD).
     */
    private static String stateOf(final Model model)
    {
        final INDArray state = Models.updaterState(model);
        return state == null ? "" : join(state.toDoubleVector());
    }

    /**
     * 6-200-3 (2,003 parameters: past the latency path's size at any world size) as a network ({@code mln}), a
     * graph ({@code cg}), or a network with batch normalisation after the hidden layer ({@code mln-bn}: updater
     * blocks of Adam and of no updater, and running statistics that are not divided by the batch size); with
     * {@code adam-decay} adding L2 and weight decay so that the split regularisations are checked too.
     */
    private static Model wideModel(final String kind, final String updaterName, final long seed)
    {
        final boolean graph = kind.startsWith("cg");
        final IUpdater updater = "sgd".equals(updaterName) ? new Sgd(0.1) : new Adam(0.01);
        NeuralNetConfiguration.Builder builder = new NeuralNetConfiguration.Builder().seed(seed).updater(updater);
        if ("adam-decay".equals(updaterName))
        {
            builder = builder.l2(1e-3).weightDecay(1e-2);
        }
        final DenseLayer hidden = new DenseLayer.Builder().nIn(FEATURES).nOut(200).activation(Activation.TANH).build();
        final OutputLayer out = new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(200).nOut(CLASSES)
            .activation(Activation.SOFTMAX).build();
        if (graph)
        {
            final ComputationGraph net = new ComputationGraph(builder.graphBuilder().addInputs("in")
                .addLayer("hidden", hidden, "in").addLayer("out", out, "hidden").setOutputs("out").build());
            net.init();
            return net;
        }
        final NeuralNetConfiguration.ListBuilder layers = builder.list().layer(hidden);
        if (kind.endsWith("-bn"))
        {
            layers.layer(new BatchNormalization.Builder().nOut(200).build());
        }
        final MultiLayerNetwork net = new MultiLayerNetwork(layers.layer(out).build());
        net.init();
        return net;
    }

    /**
     * A data set whose size is not a multiple of the batch size (7 batches of 8 and one of 5), two epochs with the
     * listener on a plain fit: the short batch must be completed, or the ranks' updaters divide by different batch
     * sizes and their parameters drift apart. The reference is one process at the global batch on what the ranks
     * got, step by step; written as in {@code equivalence}.
     */
    private static void ragged(final Accelerator acc, final Path dir) throws IOException
    {
        final int n = acc.numProcesses();
        final List<DataSet> examples = examples(7 * LOCAL_BATCH + 5, 19);
        final Model model = model(false, new Adam(0.01), 500 + acc.processIndex());
        model.addListeners(acc.listener());
        for (int epoch = 0; epoch < 2; epoch++)
        {
            fit(model, acc.shard(new ListDataSetIterator<>(examples, LOCAL_BATCH)));
        }
        Files.writeString(dir.resolve("params-" + acc.processIndex() + ".txt"), join(model.params().toDoubleVector()));
        if (acc.isMainProcess())
        {
            final List<List<DataSet>> perRank = new ArrayList<>();
            for (int rank = 0; rank < n; rank++)
            {
                final List<DataSet> batches = new ArrayList<>();
                new dev.dl4j.accelerate.internal.dl4j.ShardedDataSetIterator(
                    new ListDataSetIterator<>(examples, LOCAL_BATCH), rank, n, true).forEachRemaining(batches::add);
                perRank.add(batches);
            }
            final List<DataSet> global = new ArrayList<>();
            for (int step = 0; step < perRank.get(0).size(); step++)
            {
                final List<DataSet> parts = new ArrayList<>();
                for (final List<DataSet> batches : perRank)
                {
                    parts.add(batches.get(step));
                }
                global.add(DataSet.merge(parts));
            }
            final Model reference = model(false, new Adam(0.01), 500);
            for (int epoch = 0; epoch < 2; epoch++)
            {
                fit(reference, new ListDataSetIterator<>(global, 1));
            }
            Files.writeString(dir.resolve("reference.txt"), join(reference.params().toDoubleVector()));
            report(reference.params().toDoubleVector(), model.params().toDoubleVector());
        }
        acc.waitForEveryone();
    }

    private static void report(final double[] expected, final double[] mine)
    {
        double worst = 0;
        for (int i = 0; i < expected.length; i++)
        {
            worst = Math.max(worst, Math.abs(expected[i] - mine[i]));
        }
        System.out.println("max |ddp - single process| = " + worst + " over " + expected.length + " parameters");
        check(worst <= 1e-5, "data-parallel parameters differ from one process at the global batch by " + worst);
    }

    private static void uneven(final Accelerator acc, final Path dir) throws IOException
    {
        final List<DataSet> examples = examples(7 * LOCAL_BATCH, 5);
        final MultiLayerNetwork net = (MultiLayerNetwork)model(false, new Sgd(0.1), 1);
        net.addListeners(acc.listener());
        net.fit(acc.shard(new ListDataSetIterator<>(examples, LOCAL_BATCH)));
        final List<Long> iterations = acc.gather((long)net.getIterationCount(), 0, Codec.LONG);
        final long expected = (7 + acc.numProcesses() - 1) / acc.numProcesses();
        if (acc.isMainProcess())
        {
            for (final long count : iterations)
            {
                check(count == expected, "iteration counts " + iterations + ", expected " + expected + " each");
            }
            Files.writeString(dir.resolve("uneven.txt"), iterations.toString());
        }
    }

    /**
     * The trainer end to end; each result is gathered to rank 0, checked to be identical everywhere and written
     * to {@code trainer.txt} for the test to assert on.
     */
    private static void trainer(final Accelerator acc, final Path dir) throws IOException
    {
        final List<DataSet> train = examples(10 * acc.numProcesses() * LOCAL_BATCH, 3);
        final List<DataSet> test = examples(7 * LOCAL_BATCH + 3, 4);
        final MultiLayerNetwork net = (MultiLayerNetwork)model(false, new Adam(0.01), 200 + acc.processIndex());
        final AcceleratedTrainer<MultiLayerNetwork> trainer = AcceleratedTrainer.of(acc, net)
            .stopWhen((epoch, localLoss) -> acc.processIndex() == acc.numProcesses() - 1 && epoch == 2);
        final List<Double> losses = trainer.fit(new ListDataSetIterator<>(train, LOCAL_BATCH), 10);
        final Evaluation evaluation = trainer.evaluate(new ListDataSetIterator<>(test, LOCAL_BATCH));

        trainer.stopWhen(null);
        final EarlyStoppingConfiguration<MultiLayerNetwork> config = new EarlyStoppingConfiguration.Builder<MultiLayerNetwork>()
            .epochTerminationConditions(new MaxEpochsTerminationCondition(4))
            .scoreCalculator(new DataSetLossCalculator(new ListDataSetIterator<>(test, LOCAL_BATCH), true))
            .modelSaver(new InMemoryModelSaver<>())
            .build();
        final EarlyStoppingResult<MultiLayerNetwork> result = trainer.fit(new ListDataSetIterator<>(train, LOCAL_BATCH), config);

        final Path saved = dir.resolve("model.zip");
        trainer.save(saved);
        final MultiLayerNetwork loaded = MultiLayerNetwork.load(saved.toFile(), true);
        check(loaded.params().equals(net.params()), "rank " + acc.processIndex() + " loaded a model unlike its own");

        final String summary = "losses=" + losses + " rows=" + evaluation.getNumRowCounter() + " accuracy=" +
            evaluation.accuracy() + " es.epochs=" + result.getTotalEpochs() + " es.reason=" + result.getTerminationReason() +
            " es.scores=" + result.getScoreVsEpoch().size() + " best=" + (result.getBestModel() != null) +
            " params=" + java.util.Arrays.hashCode(net.params().toDoubleVector());
        final List<String> all = acc.gather(summary, 0, Codec.STRING);
        if (acc.isMainProcess())
        {
            for (int rank = 1; rank < all.size(); rank++)
            {
                check(all.get(rank).equals(all.get(0)), "rank " + rank + " saw " + all.get(rank) + " but rank 0 " + all.get(0));
            }
            Files.writeString(dir.resolve("trainer.txt"), all.get(0));
        }
    }

    private static void fit(final Model model, final org.nd4j.linalg.dataset.api.iterator.DataSetIterator data)
    {
        if (model instanceof MultiLayerNetwork)
        {
            ((MultiLayerNetwork)model).fit(data);
        }
        else
        {
            ((ComputationGraph)model).fit(data);
        }
    }

    private static Model model(final boolean graph, final IUpdater updater, final long seed)
    {
        if (graph)
        {
            final ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder()
                .seed(seed).updater(updater).graphBuilder()
                .addInputs("in")
                .addLayer("hidden", new DenseLayer.Builder().nIn(FEATURES).nOut(10).activation(Activation.TANH).build(), "in")
                .addLayer("out", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(10).nOut(CLASSES)
                    .activation(Activation.SOFTMAX).build(), "hidden")
                .setOutputs("out")
                .build();
            final ComputationGraph net = new ComputationGraph(conf);
            net.init();
            return net;
        }
        final MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder()
            .seed(seed).updater(updater).list()
            .layer(new DenseLayer.Builder().nIn(FEATURES).nOut(10).activation(Activation.TANH).build())
            .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(10).nOut(CLASSES)
                .activation(Activation.SOFTMAX).build())
            .build();
        final MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        return net;
    }

    private static List<DataSet> examples(final int count, final long seed)
    {
        final Random random = new Random(seed);
        final List<DataSet> examples = new ArrayList<>(count);
        for (int i = 0; i < count; i++)
        {
            final INDArray features = Nd4j.create(1, FEATURES);
            final int label = random.nextInt(CLASSES);
            for (int f = 0; f < FEATURES; f++)
            {
                features.putScalar(0, f, random.nextGaussian() + (f % CLASSES == label ? 1.5 : 0));
            }
            final INDArray labels = Nd4j.zeros(1, CLASSES);
            labels.putScalar(0, label, 1);
            examples.add(new DataSet(features, labels));
        }
        return examples;
    }

    private static String join(final double[] values)
    {
        final StringBuilder text = new StringBuilder();
        for (final double value : values)
        {
            text.append(Double.doubleToRawLongBits(value)).append('\n');
        }
        return text.toString();
    }

    private static void awaitGate(final Path gate) throws InterruptedException
    {
        final long deadlineMs = System.currentTimeMillis() + 60_000;
        while (!Files.exists(gate))
        {
            check(System.currentTimeMillis() < deadlineMs, "the test did not open " + gate + " within 60 s");
            Thread.sleep(20);
        }
    }

    private static void check(final boolean condition, final String message)
    {
        if (!condition)
        {
            System.err.println("probe check failed: " + message);
            System.exit(4);
        }
    }
}
