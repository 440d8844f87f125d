package dev.dl4j.accelerate.internal.dl4j;

import dev.dl4j.accelerate.Accelerator;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.updater.graph.ComputationGraphUpdater;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * DL4J's updater for a {@link ComputationGraph}, over the same state array, with its step split between the ranks
 * ({@link ShardedUpdate}). The twin of {@link ShardedMultiLayerUpdater}: DL4J's two model types take updaters of two
 * classes, and a class can extend only one; each override only hands over to {@link ShardedUpdate}.
 */
final class ShardedGraphUpdater extends ComputationGraphUpdater implements ShardedUpdate.Updater
{
    private static final long serialVersionUID = 1L;

    private final transient ShardedUpdate sharded;

    ShardedGraphUpdater(
        final ComputationGraph network, final INDArray state, final ShardedUpdate.Exchange exchange,
        final Accelerator accelerator)
    {
        super(network, state);
        this.sharded = new ShardedUpdate(this, getOrderedLayers(), getParams(), isMiniBatch(), exchange, accelerator);
    }

    @Override
    public ShardedUpdate sharded()
    {
        return sharded;
    }

    @Override
    public String unsupported()
    {
        return ShardedUpdate.unsupported(this, getOrderedLayers());
    }

    @Override
    public synchronized void update(
        final Gradient gradient, final int iteration, final int epoch, final int batchSize,
        final LayerWorkspaceMgr workspaceMgr)
    {
        ShardedUpdate.requireOwnGradient(gradient, getFlattenedGradientsView());
        sharded.update(iteration, epoch, batchSize, workspaceMgr);
    }

    @Override
    public INDArray getStateViewArray()
    {
        ShardedUpdate.requireWhole(sharded);
        return super.getStateViewArray();
    }

    @Override
    public synchronized INDArray getStateViewArrayCopy()
    {
        ShardedUpdate.requireWhole(sharded);
        return super.getStateViewArrayCopy();
    }

    @Override
    public void setStateViewArray(final INDArray viewArray)
    {
        super.setStateViewArray(viewArray);
        if (sharded != null)
        {
            sharded.stateReplaced();
        }
    }
}
