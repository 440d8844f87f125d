package dev.dl4j.accelerate.internal.dl4j;

import java.util.List;
import java.util.Map;

import dev.dl4j.accelerate.AccelerateException;
import dev.dl4j.accelerate.Accelerator;
import dev.dl4j.accelerate.Codec;
import dev.dl4j.accelerate.ReduceOp;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Makes an ordinary {@code fit()} data-parallel: before the first step every rank takes rank 0's parameters,
 * updater state and counters (after checking that all ranks hold the same model), and every step's gradient
 * is replaced by its mean over the ranks before the updater applies it, so all ranks take the same step.
 *
 * <p>DL4J hands {@link #onGradientCalculation} the gradient summed over the local minibatch, before the
 * updater divides by the batch size; with equal local batches, its mean over ranks yields exactly the step of
 * one process on the global batch. Where the trainer has split the updater between the ranks
 * ({@link ShardedUpdate}), the split updater all-reduces the gradient itself, and this listener consolidates its
 * state at each epoch's end. Runs on the training thread.
 */
public final class DataParallelListener extends BaseTrainingListener
{
    private final Accelerator accelerator;
    private final AnyRank anyRank;
    private final AlignedCollections collections;
    private Model synced;

    /**
     * A logical OR over the ranks, a collective of its own kind (not a user's {@code checkTrigger}).
     */
    @FunctionalInterface
    public interface AnyRank
    {
        /**
         * @param mine this rank's flag.
         * @return true on every rank if any rank passed true.
         */
        boolean anyOf(boolean mine);
    }

    /**
     * @param accelerator the process group to train with.
     * @param anyRank     the OR over its ranks that decides when they all collect garbage, or null to leave the
     *                    collector alone (and at world size 1).
     */
    public DataParallelListener(final Accelerator accelerator, final AnyRank anyRank)
    {
        this.accelerator = accelerator;
        // At world size 1 there is nothing to align (and the single-process OR would collect on its own flag).
        this.collections = anyRank == null || accelerator.numProcesses() < 2 ? null : AlignedCollections.ofThisJvm();
        this.anyRank = anyRank;
    }

    @Override
    public void onEpochStart(final Model model)
    {
        if (synced != model)
        {
            synchronise(model);
        }
    }

    @Override
    public void onEpochEnd(final Model model)
    {
        // A split updater state is whole again before any later listener reads it. Every rank ends the epoch here.
        ShardedUpdate.consolidate(model);
    }

    @Override
    public void onGradientCalculation(final Model model)
    {
        if (synced != model)
        {
            // fit(DataSet) has no epoch start: align now; the averaged step below then leaves all ranks equal.
            synchronise(model);
        }
        if (collections != null && anyRank.anyOf(collections.due()))
        {
            collections.collect();
        }
        // A sharded updater (the trainer's) all-reduces the gradient itself, with its share of the step in between.
        if (!ShardedUpdate.isInstalled(model))
        {
            accelerator.allReduce(model.getGradientsViewArray(), ReduceOp.MEAN);
        }
    }

    /**
     * Checks that every rank holds the same model, then copies rank 0's parameters, updater state and
     * counters to every rank. Collective.
     *
     * @param model the model being trained.
     * @throws AccelerateException on every rank, naming ranks and sizes, when the models differ.
     */
    public void synchronise(final Model model)
    {
        if (accelerator.numProcesses() > 1)
        {
            checkSameModel(model);
            accelerator.broadcast(model.params(), 0);
            final INDArray state = Models.updaterState(model);
            if (state != null && state.length() > 0)
            {
                accelerator.broadcast(state, 0);
            }
            final long counters = accelerator.broadcast(((long)Models.epochCount(model) << 32) | Models.iterationCount(model), 0,
                Codec.LONG);
            Models.setCounters(model, (int)(counters >>> 32), (int)counters);
        }
        synced = model;
    }

    private void checkSameModel(final Model model)
    {
        final INDArray state = Models.updaterState(model);
        final String mine = model.numParams() + " parameters, updater state " + (state == null ? 0 : state.length()) +
            ", layout " + Integer.toHexString(layout(model).hashCode());
        final List<String> all = accelerator.gather(mine, 0, Codec.STRING);
        String verdict = "";
        for (int rank = 1; rank < all.size(); rank++)
        {
            if (!all.get(rank).equals(all.get(0)))
            {
                verdict = "ranks hold different models: rank 0 has " + all.get(0) + ", rank " + rank + " has " +
                    all.get(rank) + "; every rank must build the same configuration";
                break;
            }
        }
        verdict = accelerator.broadcast(verdict, 0, Codec.STRING);
        if (!verdict.isEmpty())
        {
            throw new AccelerateException(verdict);
        }
    }

    /**
     * The parameter names and shapes: equal exactly when the architectures are.
     */
    private static String layout(final Model model)
    {
        final StringBuilder layout = new StringBuilder();
        for (final Map.Entry<String, INDArray> entry : model.paramTable().entrySet())
        {
            layout.append(entry.getKey()).append(java.util.Arrays.toString(entry.getValue().shape())).append(';');
        }
        return layout.toString();
    }
}
