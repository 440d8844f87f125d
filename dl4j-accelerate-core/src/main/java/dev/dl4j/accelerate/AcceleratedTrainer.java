package dev.dl4j.accelerate;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.BooleanSupplier;

import dev.dl4j.accelerate.internal.dl4j.EpochListener;
import dev.dl4j.accelerate.internal.dl4j.Models;
import dev.dl4j.accelerate.internal.dl4j.ShardedUpdate;
import dev.dl4j.accelerate.internal.dl4j.StoppableDataSetIterator;
import me.tongfei.progressbar.DelegatingProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.deeplearning4j.earlystopping.EarlyStoppingConfiguration;
import org.deeplearning4j.earlystopping.EarlyStoppingModelSaver;
import org.deeplearning4j.earlystopping.EarlyStoppingResult;
import org.deeplearning4j.earlystopping.saver.InMemoryModelSaver;
import org.deeplearning4j.earlystopping.scorecalc.ScoreCalculator;
import org.deeplearning4j.earlystopping.termination.EpochTerminationCondition;
import org.deeplearning4j.earlystopping.termination.IterationTerminationCondition;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Data-parallel training of one {@link MultiLayerNetwork} or {@link ComputationGraph} by every process of the
 * job, PyTorch-DDP style: each process trains on its shard, gradients are averaged before every step, so all
 * processes hold the same model throughout. Losses, evaluations and stopping decisions are global: identical on
 * every process.
 *
 * <pre>{@code
 * AcceleratedTrainer<MultiLayerNetwork> trainer = AcceleratedTrainer.of(acc, net);
 * List<Double> losses = trainer.fit(trainData, 10);       // every method is a collective
 * Evaluation eval = trainer.evaluate(testData);          // each test example counted once, on all ranks
 * trainer.save(Path.of("model.zip"));                    // rank 0 writes, atomically
 * }</pre>
 *
 * <p>Every method is a collective: call them on every process, in the same order, with the same data (each
 * process reads all of it and keeps its shard). Use from one thread. At world size 1 it trains as plain DL4J,
 * with no communication.
 *
 * @param <M> the model type.
 */
public final class AcceleratedTrainer<M extends Model>
{
    private final Accelerator accelerator;
    private final M model;
    private final EpochListener epochListener = new EpochListener();
    private StopCondition stopCondition;
    private long stepsPerEpoch = -1;
    private Path checkpointRoot;
    private int checkpointEverySteps;
    private int checkpointsKept;
    private int fitEpoch;
    private boolean shardUpdater = true;
    private boolean splitRefusalReported;
    // The split updater in place during an epoch's fit, else null.
    private ShardedUpdate.Installation sharded;
    // The epoch's global score sum and step count before it was resumed, carried by rank 0 alone (so that the
    // epoch's all-reduce counts them once); set when a checkpoint is loaded, zero again once that epoch ends.
    private double carriedScoreSum;
    private long carriedSteps;

    private AcceleratedTrainer(final Accelerator accelerator, final M model)
    {
        this.accelerator = Objects.requireNonNull(accelerator, "accelerator");
        this.model = Objects.requireNonNull(model, "model");
        accelerator.registerForCheckpointing(model);
        // The data-parallel listener before the model's own listeners, so that the updater state is whole again
        // (it consolidates a split state at each epoch's end) before theirs read it.
        final List<TrainingListener> listeners = new ArrayList<>();
        listeners.add(accelerator.listener());
        listeners.addAll(Models.listeners(model));
        listeners.add(epochListener);
        model.setListeners(listeners);
        epochListener.onStep(this::maybeCheckpoint);
    }

    /**
     * @param accelerator the process group.
     * @param network     an initialised network, built from the same configuration on every process.
     * @return a trainer that adds its listeners to the network.
     */
    public static AcceleratedTrainer<MultiLayerNetwork> of(final Accelerator accelerator, final MultiLayerNetwork network)
    {
        return new AcceleratedTrainer<>(accelerator, network);
    }

    /**
     * @param accelerator the process group.
     * @param graph       an initialised graph, built from the same configuration on every process.
     * @return a trainer that adds its listeners to the graph.
     */
    public static AcceleratedTrainer<ComputationGraph> of(final Accelerator accelerator, final ComputationGraph graph)
    {
        return new AcceleratedTrainer<>(accelerator, graph);
    }

    /**
     * A per-process reason to stop, checked after every epoch: if it holds on any process, every process stops
     * after that same epoch (through {@link Accelerator#setTrigger()} and {@link Accelerator#checkTrigger()}).
     */
    @FunctionalInterface
    public interface StopCondition
    {
        /**
         * @param epoch     the epoch just finished, counted from 0.
         * @param localLoss this process's mean minibatch loss in that epoch (the global loss is identical everywhere,
         *                  so a condition on it needs no trigger).
         * @return true to stop every process.
         */
        boolean shouldStop(int epoch, double localLoss);
    }

    /**
     * @param condition checked on each process after every epoch; null for none.
     * @return this trainer.
     */
    public AcceleratedTrainer<M> stopWhen(final StopCondition condition)
    {
        this.stopCondition = condition;
        return this;
    }

    /**
     * Saves a checkpoint ({@link Accelerator#saveState}) every {@code everySteps} steps into {@code root}, keeping the
     * newest {@code keep}; and makes {@link #fit(DataSetIterator, int)} resume from the newest complete checkpoint
     * there: weights, updater state, counters, random state and the position in the epoch, skipping exactly the
     * batches already consumed. A job restarted by {@code accelerate launch --max-restarts} thus continues where it
     * stopped and ends with the parameters of an uninterrupted run.
     *
     * @param root       the checkpoints folder.
     * @param everySteps steps between checkpoints; at least 1.
     * @param keep       checkpoints to keep; at least 1.
     * @return this trainer.
     */
    public AcceleratedTrainer<M> checkpointing(final Path root, final int everySteps, final int keep)
    {
        if (everySteps < 1 || keep < 1)
        {
            throw new IllegalArgumentException("checkpointing needs everySteps >= 1 and keep >= 1, got everySteps=" +
                everySteps + ", keep=" + keep);
        }
        this.checkpointRoot = Objects.requireNonNull(root, "root");
        this.checkpointEverySteps = everySteps;
        this.checkpointsKept = keep;
        return this;
    }

    /**
     * Whether each process runs the model's updater (Adam's moments, the division by the batch size, L1/L2 and
     * weight decay) on its share of the parameters only, the processes then exchanging finished updates instead of
     * mean gradients, as ZeRO stage 1 and PyTorch's {@code ZeroRedundancyOptimizer} do: on by default. Same traffic
     * per step (and the updater state's size once an epoch), the same result to the bit on every process, and 1/n
     * of the updater's work each, which for Adam on a small
     * network is much of a step. Models whose updater cannot be split element by element (gradient normalisation,
     * an updater or regularisation of one's own) are updated whole on every process, as with it off.
     *
     * <p>While {@link #fit} runs, each process keeps the updater state current for its own share only, so reading
     * the state in the middle of an epoch (a listener saving the model with its updater state every n steps, or
     * changing the learning rate, say) fails with a message; at each epoch's end (before the model's own
     * listeners' {@code onEpochEnd}), in {@link #checkpointing checkpoints} and after {@code fit} it is whole. Turn
     * the split off to read the state mid-epoch. Listeners that read the gradient in {@code onGradientCalculation}
     * see their own process's gradient, not the mean, which exists only after the updater's step.
     *
     * @param shard true to split the updater's work between the processes.
     * @return this trainer.
     */
    public AcceleratedTrainer<M> shardUpdater(final boolean shard)
    {
        this.shardUpdater = shard;
        return this;
    }

    /**
     * @return the model being trained, identical on every process after each step.
     */
    public M model()
    {
        return model;
    }

    /**
     * Trains for up to {@code epochs} epochs on this process's shard of {@code data}. Collective.
     *
     * @param data   the whole training set, read in the same order by every process; must support reset for
     *               more than one epoch.
     * @param epochs the number of epochs.
     * @return the global loss of each epoch run (the mean minibatch loss over all processes), identical everywhere;
     *         shorter than {@code epochs} if the stop condition fired.
     */
    public List<Double> fit(final DataSetIterator data, final int epochs)
    {
        if (epochs < 1)
        {
            throw new IllegalArgumentException("epochs=" + epochs + " must be at least 1");
        }
        final DataSetIterator shard = accelerator.shard(data);
        final List<Double> losses = new ArrayList<>();
        int firstEpoch = 0;
        long skip = 0;
        if (checkpointRoot != null)
        {
            final Optional<Map<String, String>> resumed = accelerator.checkpointer().load(checkpointRoot);
            if (resumed.isPresent())
            {
                firstEpoch = Integer.parseInt(resumed.get().getOrDefault("fitEpoch", "0"));
                skip = Long.parseLong(resumed.get().getOrDefault("batchesConsumed", "0"));
                if (accelerator.isMainProcess())
                {
                    carriedScoreSum = Double.longBitsToDouble(
                        Long.parseUnsignedLong(resumed.get().getOrDefault("epochScoreSum", "0"), 16));
                    carriedSteps = Long.parseLong(resumed.get().getOrDefault("epochSteps", "0"));
                }
                accelerator.print("resumed from checkpoint-" + resumed.get().get("step") + ": epoch " + (firstEpoch + 1) +
                    ", " + skip + " batches of it already done");
            }
        }
        for (int epoch = firstEpoch; epoch < epochs; epoch++)
        {
            fitEpoch = epoch;
            final double[] loss = runEpoch(shard, epoch, epochs, null, epoch == firstEpoch ? skip : 0);
            losses.add(loss[0]);
            if (stopRequestedAfter(epoch, loss[1]))
            {
                break;
            }
        }
        return Collections.unmodifiableList(losses);
    }

    /**
     * Trains with DL4J's early stopping, the decision identical on every process: the score is computed by the
     * configuration's score calculator (the same on every process, as the models are identical) and rank 0's
     * value is used everywhere; epoch and iteration termination conditions, and the {@link #stopWhen} condition,
     * stop every process when they hold on any. The configuration's model saver runs on rank 0 only, except an
     * {@link InMemoryModelSaver}, which every process keeps for itself. Collective.
     *
     * @param data          the whole training set, read in the same order by every process; resettable.
     * @param configuration termination conditions, score calculator, model saver.
     * @return the result, identical on every process (the best model is loaded on each from the saver).
     */
    public EarlyStoppingResult<M> fit(final DataSetIterator data, final EarlyStoppingConfiguration<M> configuration)
    {
        configuration.validate();
        configuration.getEpochTerminationConditions().forEach(EpochTerminationCondition::initialize);
        configuration.getIterationTerminationConditions().forEach(IterationTerminationCondition::initialize);
        final ScoreCalculator<M> calculator = configuration.getScoreCalculator();
        final boolean minimize = calculator == null || calculator.minimizeScore();
        final EarlyStoppingModelSaver<M> saver = configuration.getModelSaver();
        final boolean everyProcessSaves = saver instanceof InMemoryModelSaver;
        final int every = Math.max(1, configuration.getEvaluateEveryNEpochs());
        final DataSetIterator shard = accelerator.shard(data);
        final BooleanSupplier iterationStop = configuration.getIterationTerminationConditions().isEmpty() ? null :
            () -> iterationTerminates(configuration);

        final Map<Integer, Double> scoreVsEpoch = new LinkedHashMap<>();
        double bestScore = minimize ? Double.MAX_VALUE : -Double.MAX_VALUE;
        int bestEpoch = -1;
        EarlyStoppingResult.TerminationReason reason = null;
        String details = null;
        int epoch = 0;
        while (reason == null)
        {
            fitEpoch = epoch;
            final double[] loss = runEpoch(shard, epoch, -1, iterationStop, 0);
            if (epochListener.stopRequested())
            {
                reason = EarlyStoppingResult.TerminationReason.IterationTerminationCondition;
                details = "an iteration termination condition held on some process in epoch " + epoch;
                epoch++;
                break;
            }
            double score = loss[0];
            if (epoch % every == 0)
            {
                // Identical models give identical scores in principle; rank 0's value settles any difference.
                score = accelerator.broadcast(calculator == null ? loss[0] : calculator.calculateScore(model), 0,
                    Codec.DOUBLE);
                scoreVsEpoch.put(epoch, score);
                if (minimize ? score < bestScore : score > bestScore)
                {
                    bestScore = score;
                    bestEpoch = epoch;
                    final double best = score;
                    saveWith(everyProcessSaves, () -> saver.saveBestModel(model, best));
                }
            }
            if (configuration.isSaveLastModel())
            {
                final double latest = score;
                saveWith(everyProcessSaves, () -> saver.saveLatestModel(model, latest));
            }
            String why = null;
            for (final EpochTerminationCondition condition : configuration.getEpochTerminationConditions())
            {
                if (condition.terminate(epoch, score, minimize))
                {
                    why = condition.toString();
                    break;
                }
            }
            if (why != null)
            {
                accelerator.setTrigger();
            }
            final boolean custom = stopCondition != null && stopCondition.shouldStop(epoch, loss[1]);
            if (custom)
            {
                accelerator.setTrigger();
            }
            if (accelerator.checkTrigger())
            {
                reason = EarlyStoppingResult.TerminationReason.EpochTerminationCondition;
                details = why != null ? why : custom ? "the stopWhen condition held on this process" :
                    "an epoch termination condition or stopWhen held on another process";
            }
            epoch++;
        }
        final M best;
        try
        {
            best = saver.getBestModel();
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot load the best model from the early-stopping saver", ex);
        }
        return new EarlyStoppingResult<>(reason, details, scoreVsEpoch, bestEpoch, bestScore, epoch, best);
    }

    /**
     * Evaluates the model on {@code data}, each process on its unpadded shard, and merges the results: every
     * example is counted exactly once. Collective.
     *
     * @param data the whole evaluation set, read in the same order by every process.
     * @return the merged evaluation, identical on every process.
     */
    public Evaluation evaluate(final DataSetIterator data)
    {
        final DataSetIterator shard = accelerator.shard(data, false);
        final Evaluation local = shard.hasNext() ? evaluateLocally(shard) : new Evaluation();
        if (accelerator.numProcesses() == 1)
        {
            return local;
        }
        final List<String> all = accelerator.gather(local.toJson(), 0, Codec.STRING);
        String merged = null;
        if (accelerator.isMainProcess())
        {
            final Evaluation total = new Evaluation();
            for (final String json : all)
            {
                total.merge(Evaluation.fromJson(json));
            }
            merged = total.toJson();
        }
        return Evaluation.fromJson(accelerator.broadcast(merged, 0, Codec.STRING));
    }

    /**
     * Saves the model with {@link ModelSerializer} (weights and updater state) on rank 0 only, to a temporary
     * file beside {@code path} then renamed into place, so the file is whole or absent; every process returns
     * once it is in place and may read it. Collective.
     *
     * @param path where to save.
     * @throws AccelerateException on the other processes if rank 0 failed to save.
     */
    public void save(final Path path)
    {
        accelerator.mainProcessFirst(() ->
        {
            if (accelerator.isMainProcess())
            {
                writeAtomically(model, path);
            }
        });
    }

    static void writeAtomically(final Model model, final Path path)
    {
        final Path target = path.toAbsolutePath();
        Path temporary = null;
        try
        {
            Files.createDirectories(target.getParent());
            temporary = Files.createTempFile(target.getParent(), "." + target.getFileName(), ".tmp");
            ModelSerializer.writeModel(model, temporary.toFile(), true);
            try
            {
                Files.move(temporary, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            }
            catch (final AtomicMoveNotSupportedException ex)
            {
                throw new IOException("the file system of " + target + " cannot rename atomically", ex);
            }
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot save the model to " + target + ": " + ex.getMessage(), ex);
        }
        finally
        {
            if (temporary != null)
            {
                try
                {
                    Files.deleteIfExists(temporary);
                }
                catch (final IOException ignored)
                {
                    // Best effort: a leftover temporary file is named as such and never mistaken for the model.
                }
            }
        }
    }

    /**
     * Runs one epoch on this process's shard.
     *
     * @return the global mean loss and this process's mean loss.
     */
    private double[] runEpoch(
        final DataSetIterator shard, final int epoch, final int epochs, final BooleanSupplier iterationStop,
        final long skip)
    {
        if (shard.resetSupported())
        {
            shard.reset();
        }
        // Resuming mid-epoch: these batches were trained on before the checkpoint.
        for (long i = 0; i < skip && shard.hasNext(); i++)
        {
            shard.next();
        }
        // DL4J resets an exhausted iterator it prefetches from, which would train a resumed epoch's batches again
        // (a checkpoint on an epoch's last batch): a resumed epoch goes unprefetched.
        final DataSetIterator rest = skip > 0 ? new StoppableDataSetIterator(shard, () -> false) : shard;
        final String name = epochs > 0 ? "epoch " + (epoch + 1) + "/" + epochs : "epoch " + (epoch + 1);
        try (ProgressBar progress = accelerator.isMainProcess() ? progressBar(name) : null)
        {
            epochListener.begin(progress, iterationStop, skip);
            final DataSetIterator batches = iterationStop == null ? rest :
                new StoppableDataSetIterator(rest, epochListener::stopRequested);
            if (accelerator.numProcesses() > 1)
            {
                // Every rank takes part, whatever its own wish: the ranks agree on splitting or not.
                sharded = ShardedUpdate.install(model, shardUpdater, accelerator::allReduceMean, accelerator,
                    this::splitRefused);
            }
            if (model instanceof MultiLayerNetwork)
            {
                ((MultiLayerNetwork)model).fit(batches);
            }
            else
            {
                ((ComputationGraph)model).fit(batches);
            }
            if (sharded != null)
            {
                // The data-parallel listener consolidated the state at the epoch's end; DL4J's own updater is
                // put back, so that outside fit the model is a plain DL4J model. After a failed fit the split
                // one stays (its state cannot be gathered from peers in an unknown state): a later fit goes on
                // with it, and reading its state fails rather than hand out stale moments.
                sharded.consolidate();
                sharded.uninstall();
                sharded = null;
            }
            // Counted from the epoch's start when resumed mid-epoch: the next bar's length.
            stepsPerEpoch = skip + epochListener.steps();
            if (progress != null)
            {
                // The bar of an epoch of unknown length (the first) ends showing how long it was.
                progress.maxHint(stepsPerEpoch);
            }
            final INDArray totals = epochTotals();
            accelerator.allReduce(totals, ReduceOp.SUM);
            final double global = totals.getDouble(0) / totals.getDouble(1);
            // A rank with no step of its own in this epoch (resumed after its last batch) judges by the global loss.
            final double local = epochListener.steps() == 0 ? global : epochListener.scoreSum() / epochListener.steps();
            if (progress != null)
            {
                progress.setExtraMessage(String.format(" global loss %.4f", global));
            }
            return new double[] { global, local };
        }
        finally
        {
            // What a resumed epoch carried belongs to it alone.
            carriedScoreSum = 0;
            carriedSteps = 0;
        }
    }

    private void splitRefused(final String why)
    {
        if (!splitRefusalReported)
        {
            splitRefusalReported = true;
            System.err.println("dl4j-accelerate: rank " + accelerator.processIndex() + ": the trainer updates the " +
                "whole model on every process (no split updater): " + why);
        }
    }

    /**
     * Called by the epoch listener after every step, on every rank at the same step. DL4J raises the iteration
     * count only after its listeners ran, so the checkpoint records the count the next step will see.
     */
    private void maybeCheckpoint(final long batchesConsumed)
    {
        if (checkpointRoot == null)
        {
            return;
        }
        final int iterations = Models.iterationCount(model) + 1;
        if (iterations % checkpointEverySteps != 0)
        {
            return;
        }
        // The epoch's global loss so far, so that a resumed epoch reports the loss of all of it. Every rank is
        // here at the same step: a collective is safe.
        final INDArray totals = epochTotals();
        accelerator.allReduce(totals, ReduceOp.SUM);
        if (sharded != null)
        {
            // The checkpoint holds the whole updater state, each share from the process that keeps it.
            sharded.consolidate();
        }
        final int epochs = Models.epochCount(model);
        Models.setCounters(model, epochs, iterations);
        try
        {
            accelerator.checkpointer().save(checkpointRoot, checkpointsKept, Map.of(
                "fitEpoch", Integer.toString(fitEpoch), "batchesConsumed", Long.toString(batchesConsumed),
                "epochScoreSum", Long.toHexString(Double.doubleToRawLongBits(totals.getDouble(0))),
                "epochSteps", Long.toString((long)totals.getDouble(1))));
        }
        finally
        {
            Models.setCounters(model, epochs, iterations - 1);
        }
    }

    /**
     * @return this rank's score sum and step count in the epoch so far, with what was carried into it.
     */
    private INDArray epochTotals()
    {
        return Nd4j.createFromArray(epochListener.scoreSum() + carriedScoreSum,
            (double)(epochListener.steps() + carriedSteps));
    }

    private ProgressBar progressBar(final String name)
    {
        final ProgressBarBuilder builder = new ProgressBarBuilder()
            .setTaskName(name)
            // Unknown until the first epoch has run: iterators need not say how many batches they hold.
            .setInitialMax(stepsPerEpoch)
            .setStyle(ProgressBarStyle.ASCII)
            .setUpdateIntervalMillis(1000)
            .showSpeed();
        if (System.console() == null)
        {
            // Not a terminal (a launcher's pipe, a CI log): one line per update instead of carriage returns.
            builder.setConsumer(new DelegatingProgressBarConsumer(System.out::println, 100));
        }
        return builder.build();
    }

    private boolean stopRequestedAfter(final int epoch, final double localLoss)
    {
        if (stopCondition != null && stopCondition.shouldStop(epoch, localLoss))
        {
            accelerator.setTrigger();
        }
        return accelerator.checkTrigger();
    }

    private boolean iterationTerminates(final EarlyStoppingConfiguration<M> configuration)
    {
        final double score = model.score();
        for (final IterationTerminationCondition condition : configuration.getIterationTerminationConditions())
        {
            if (condition.terminate(score))
            {
                accelerator.setTrigger();
                break;
            }
        }
        return accelerator.checkTrigger();
    }

    private void saveWith(final boolean everyProcess, final SaverCall call)
    {
        final Runnable save = () ->
        {
            try
            {
                call.run();
            }
            catch (final IOException ex)
            {
                throw new UncheckedIOException("the early-stopping model saver failed: " + ex.getMessage(), ex);
            }
        };
        if (everyProcess)
        {
            save.run();
        }
        else
        {
            accelerator.mainProcessFirst(() ->
            {
                if (accelerator.isMainProcess())
                {
                    save.run();
                }
            });
        }
    }

    @FunctionalInterface
    private interface SaverCall
    {
        void run() throws IOException;
    }

    private Evaluation evaluateLocally(final DataSetIterator shard)
    {
        return model instanceof MultiLayerNetwork ? ((MultiLayerNetwork)model).evaluate(shard) :
            ((ComputationGraph)model).evaluate(shard);
    }
}
