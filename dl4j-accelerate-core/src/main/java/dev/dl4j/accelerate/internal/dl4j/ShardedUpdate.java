package dev.dl4j.accelerate.internal.dl4j;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;

import dev.dl4j.accelerate.AccelerateException;
import dev.dl4j.accelerate.Accelerator;
import dev.dl4j.accelerate.ReduceOp;
import dev.dl4j.accelerate.internal.collective.OwnedElements;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.api.Trainable;
import org.deeplearning4j.nn.conf.GradientNormalization;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.updater.BaseMultiLayerUpdater;
import org.deeplearning4j.nn.updater.UpdaterBlock;
import org.deeplearning4j.nn.updater.graph.ComputationGraphUpdater;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.AMSGradUpdater;
import org.nd4j.linalg.learning.AdaBeliefUpdater;
import org.nd4j.linalg.learning.AdaDeltaUpdater;
import org.nd4j.linalg.learning.AdaGradUpdater;
import org.nd4j.linalg.learning.AdaMaxUpdater;
import org.nd4j.linalg.learning.AdamUpdater;
import org.nd4j.linalg.learning.GradientUpdater;
import org.nd4j.linalg.learning.NadamUpdater;
import org.nd4j.linalg.learning.NesterovsUpdater;
import org.nd4j.linalg.learning.NoOpUpdater;
import org.nd4j.linalg.learning.RmsPropUpdater;
import org.nd4j.linalg.learning.SgdUpdater;
import org.nd4j.linalg.learning.regularization.L1Regularization;
import org.nd4j.linalg.learning.regularization.L2Regularization;
import org.nd4j.linalg.learning.regularization.Regularization;
import org.nd4j.linalg.learning.regularization.WeightDecay;

/**
 * The updater's step split between the ranks (ZeRO stage 1): instead of every rank running DL4J's updater (Adam's
 * moments, the division by the batch size, L1/L2/weight decay) over all parameters, each runs it over the ring
 * segment of the gradient it holds the sum of after the all-reduce's reduce-scatter, and the all-gather then
 * passes the finished updates round in place of the mean gradients. Same traffic per step as the plain
 * all-reduce; each rank does 1/n of the updater's work, which for Adam on a small network is a large part of a step
 * (ND4J's Adam takes ~5.6 ns an element on one thread here, ~1.1 ms a step for the 203,530-parameter benchmark MLP).
 *
 * <p>Exact: every piece of the updater's work is element-wise, so it runs DL4J's own code (each block's
 * {@link GradientUpdater}, re-made over sub-views of the very state arrays, and the same regularisations) on the
 * elements each rank owns; ranks end bit-identical because each element's update is computed once and copied.
 * Only updaters and regularisations known to be element-wise are split, and none with gradient normalisation
 * (which needs norms over whole layers): {@link #unsupported} says why a model is not.
 *
 * <p>The price: between {@link #consolidate()}s each rank's updater state is current only for its own segment.
 * Reads of the state during that time fail (see the updaters' {@code getStateViewArray}) rather than return
 * moments that are partly stale; consolidation, a collective, copies every segment's state from its owner (the size
 * of the state in all, once an epoch and once a checkpoint). Listeners that read the gradient in
 * {@code onGradientCalculation} see this rank's own gradient: the mean exists only after the updater's step.
 *
 * <p>Training thread only.
 */
public final class ShardedUpdate
{
    /** GradientUpdaters whose state arrays are element-wise aligned with the gradient and whose step is too. */
    private static final Set<Class<?>> ELEMENT_WISE_UPDATERS = Set.of(AdamUpdater.class, AdaMaxUpdater.class,
        AdaBeliefUpdater.class, AdaDeltaUpdater.class, AdaGradUpdater.class, AMSGradUpdater.class, NadamUpdater.class,
        NesterovsUpdater.class, NoOpUpdater.class, RmsPropUpdater.class, SgdUpdater.class);
    private static final Set<Class<?>> ELEMENT_WISE_REGULARIZATIONS =
        Set.of(L1Regularization.class, L2Regularization.class, WeightDecay.class);

    /**
     * An all-reduce to the mean that lets this rank work on the elements it answers for before the result is shared.
     */
    @FunctionalInterface
    public interface Exchange
    {
        /**
         * @param gradient the flattened gradient, contiguous; left holding, on every rank, what the owners made of
         *                 their elements.
         * @param owned    the work on this rank's elements.
         */
        void meanOf(INDArray gradient, OwnedElements owned);
    }

    /**
     * A DL4J updater whose step is split: {@link ShardedMultiLayerUpdater}, {@link ShardedGraphUpdater}.
     */
    interface Updater
    {
        /**
         * @return its split step.
         */
        ShardedUpdate sharded();

        /**
         * @return null if its blocks can be split, else why not.
         */
        String unsupported();
    }

    /**
     * A split updater put in place of a model's own, which it shares the state array with.
     */
    public static final class Installation
    {
        private final Model model;
        private final Object original;
        private final Updater split;

        private Installation(final Model model, final Object original, final Updater split)
        {
            this.model = model;
            this.original = original;
            this.split = split;
        }

        /**
         * Makes the whole updater state current on every rank ({@link ShardedUpdate#consolidate()}). Collective.
         */
        public void consolidate()
        {
            split.sharded().consolidate();
        }

        /**
         * Puts DL4J's own updater back, over the same state, once the state is whole; unless DL4J has already put
         * another in place of the split one (a learning-rate change rebuilds the updater), which then stays.
         *
         * @throws IllegalStateException if not consolidated since the last split step.
         */
        public void uninstall()
        {
            if (split.sharded().stale())
            {
                throw new IllegalStateException("consolidate the sharded updater state before putting DL4J's back");
            }
            if (model instanceof MultiLayerNetwork && ((MultiLayerNetwork)model).getUpdater(false) == split)
            {
                ((MultiLayerNetwork)model).setUpdater((org.deeplearning4j.nn.api.Updater)original);
            }
            else if (model instanceof ComputationGraph && ((ComputationGraph)model).getUpdater(false) == split)
            {
                ((ComputationGraph)model).setUpdater((ComputationGraphUpdater)original);
            }
        }
    }

    private final BaseMultiLayerUpdater<?> updater;
    private final Trainable[] layers;
    private final boolean miniBatch;
    private final Exchange exchange;
    private final Accelerator accelerator;
    private final INDArray gradient;
    private final INDArray params;
    private final long total;
    private final boolean hasState;
    private Installation installation;
    private Plan plan;
    // Read by getStateViewArray on whatever thread asks; written on the training thread.
    private volatile boolean stale;
    private int iteration;
    private int epoch;
    private int batchSize;
    private LayerWorkspaceMgr workspaces;

    /**
     * @param updater     the sharded updater this works for; its blocks are DL4J's, over the model's arrays.
     * @param layers      its layers in the order of the flattened parameters.
     * @param params      the model's flattened parameters.
     * @param miniBatch   whether DL4J divides gradients by the batch size.
     * @param exchange    the all-reduce with work on owned elements.
     * @param accelerator the process group, for consolidation.
     */
    ShardedUpdate(
        final BaseMultiLayerUpdater<?> updater, final Trainable[] layers, final INDArray params,
        final boolean miniBatch, final Exchange exchange, final Accelerator accelerator)
    {
        this.updater = updater;
        this.layers = layers.clone();
        this.miniBatch = miniBatch;
        this.exchange = exchange;
        this.accelerator = accelerator;
        final INDArray view = updater.getFlattenedGradientsView();
        this.gradient = view.reshape(view.length());
        this.params = params.reshape(params.length());
        this.total = view.length();
        this.hasState = updater.getStateViewArray() != null;
    }

    /**
     * Puts a split updater in place of the model's own, over the same state array, if every rank wants it and every
     * rank's model can be split; else every rank keeps its own updater (and the data-parallel listener all-reduces
     * the gradient as usual). A split left in place by a failed fit goes on whatever is wanted: its state is whole
     * only once consolidated. The ranks agree first: a rank splitting its step while another does not would average
     * finished updates with gradients, silently. Collective.
     *
     * @param model       a network or graph; its DL4J updater is made here if it has none yet.
     * @param wanted      this rank's wish to split.
     * @param exchange    the all-reduce with work on owned elements.
     * @param accelerator the process group.
     * @param refused     told why, where this rank wanted the split and the ranks did not agree to it.
     * @return the installation, or null when the ranks keep their own updaters.
     * @throws AccelerateException on every rank if only some ranks hold a split left by a failed fit.
     */
    public static Installation install(
        final Model model, final boolean wanted, final Exchange exchange, final Accelerator accelerator,
        final Consumer<String> refused)
    {
        final Object current = Models.updater(model, true);
        final boolean leftover = current instanceof Updater;
        Updater split = null;
        String unsupported = null;
        if (!leftover && wanted)
        {
            if (model instanceof MultiLayerNetwork)
            {
                final MultiLayerNetwork network = (MultiLayerNetwork)model;
                split = new ShardedMultiLayerUpdater(network, network.getUpdater().getStateViewArray(), exchange,
                    accelerator);
            }
            else
            {
                final ComputationGraph graph = (ComputationGraph)model;
                split = new ShardedGraphUpdater(graph, graph.getUpdater().getStateViewArray(), exchange, accelerator);
            }
            unsupported = split.unsupported();
        }
        // The minimum over the ranks of: splitting is possible and wanted; a leftover split; no leftover split.
        final INDArray votes = Nd4j.createFromArray(split != null && unsupported == null ? 1.0 : 0.0,
            leftover ? 1.0 : 0.0, leftover ? 0.0 : 1.0);
        accelerator.allReduce(votes, ReduceOp.MIN);
        final boolean everyLeftover = votes.getDouble(1) == 1.0;
        final boolean noLeftover = votes.getDouble(2) == 1.0;
        if (!everyLeftover && !noLeftover)
        {
            throw new AccelerateException("rank " + accelerator.processIndex() + (leftover ? " holds" : " does not " +
                "hold") + " a split updater state left by a failed fit, and some other rank " + (leftover ?
                "does not" : "does") + ": the ranks' updater states differ; restart from a checkpoint");
        }
        if (everyLeftover)
        {
            return ((Updater)current).sharded().installation;
        }
        if (votes.getDouble(0) != 1.0)
        {
            if (wanted)
            {
                refused.accept(unsupported != null ? unsupported : "another process's model cannot be split, or it " +
                    "turned the split off");
            }
            return null;
        }
        if (model instanceof MultiLayerNetwork)
        {
            ((MultiLayerNetwork)model).setUpdater((org.deeplearning4j.nn.api.Updater)split);
        }
        else
        {
            ((ComputationGraph)model).setUpdater((ComputationGraphUpdater)split);
        }
        split.sharded().installation = new Installation(model, current, split);
        return split.sharded().installation;
    }

    /**
     * @param model a network or graph.
     * @return true if its updater is a split one, which all-reduces the gradient itself.
     */
    public static boolean isInstalled(final Model model)
    {
        return Models.updater(model, false) instanceof Updater;
    }

    /**
     * Consolidates the model's split updater state, if it has a split updater. Collective when it has.
     *
     * @param model a network or graph.
     */
    public static void consolidate(final Model model)
    {
        final Object current = Models.updater(model, false);
        if (current instanceof Updater)
        {
            ((Updater)current).sharded().consolidate();
        }
    }

    /**
     * DL4J hands a model's updater its own gradient memory (as a fresh view each step); another array ("external",
     * RL4J-style) is not split.
     */
    static void requireOwnGradient(final Gradient gradient, final INDArray own)
    {
        final INDArray given = gradient.gradient();
        if (given.length() != own.length() || ArrayMemory.address(given) != ArrayMemory.address(own))
        {
            throw new AccelerateException("the data-parallel trainer's sharded updater applies only the model's own " +
                "gradient, not an external one; train this model without AcceleratedTrainer.shardUpdater");
        }
    }

    /**
     * Refuses to hand out a state that is current only for this rank's elements: such moments, saved or copied,
     * would resume training silently wrong.
     */
    static void requireWhole(final ShardedUpdate sharded)
    {
        // Null while the split updater is being made: nothing is split yet.
        if (sharded != null && sharded.stale())
        {
            throw new AccelerateException("the updater state is split between the processes during " +
                "AcceleratedTrainer.fit (each process keeps its share of it current) and cannot be read in the middle " +
                "of an epoch; read or save it after fit returns, checkpoint with AcceleratedTrainer.checkpointing, or " +
                "turn the split off with AcceleratedTrainer.shardUpdater(false)");
        }
    }

    /**
     * @param updater a model's DL4J updater.
     * @param layers  its layers in the order of the flattened parameters.
     * @return null if the updater's step can be split element by element, else why not, for a message.
     */
    public static String unsupported(final BaseMultiLayerUpdater<?> updater, final Trainable[] layers)
    {
        final INDArray view = updater.getFlattenedGradientsView();
        if (view == null || view.length() == 0)
        {
            return "the model has no parameters";
        }
        if (!ArrayMemory.isContiguous(view) || (view.dataType() != DataType.FLOAT && view.dataType() != DataType.DOUBLE))
        {
            return "its gradient is not one contiguous FLOAT or DOUBLE array";
        }
        for (final Trainable layer : layers)
        {
            final GradientNormalization normalization = layer.getConfig().getGradientNormalization();
            if (normalization != null && normalization != GradientNormalization.None)
            {
                return "layer " + layer.getConfig().getLayerName() + " normalises its gradient (" + normalization +
                    "), which needs the whole layer's gradient";
            }
            for (final String param : layer.paramTable(false).keySet())
            {
                final List<Regularization> regularizations = layer.getConfig().getRegularizationByParam(param);
                for (final Regularization regularization :
                    regularizations == null ? List.<Regularization>of() : regularizations)
                {
                    if (!ELEMENT_WISE_REGULARIZATIONS.contains(regularization.getClass()))
                    {
                        return "parameter " + param + " of layer " + layer.getConfig().getLayerName() + " has the " +
                            "regularisation " + regularization.getClass().getName() + ", not known to be element-wise";
                    }
                }
            }
        }
        for (final UpdaterBlock block : updater.getUpdaterBlocks())
        {
            final GradientUpdater<?> whole = block.getGradientUpdater();
            if (!ELEMENT_WISE_UPDATERS.contains(whole.getClass()))
            {
                return "the updater " + whole.getClass().getName() + " is not known to be element-wise";
            }
            final long length = block.getParamOffsetEnd() - block.getParamOffsetStart();
            for (final Map.Entry<String, INDArray> state : whole.getState().entrySet())
            {
                if (state.getValue() == null || state.getValue().length() != length)
                {
                    return "the state '" + state.getKey() + "' of " + whole.getClass().getSimpleName() +
                        " is not one value per parameter";
                }
            }
        }
        return null;
    }

    /**
     * DL4J's updater step on the mean gradient, split between the ranks; on return every rank's gradient array holds
     * the whole update, as after DL4J's own {@code update}.
     *
     * @param iteration  the iteration DL4J passed.
     * @param epoch      the epoch DL4J passed.
     * @param batchSize  the local batch size DL4J passed.
     * @param workspaces DL4J's workspace manager for the updater's working memory.
     */
    void update(final int iteration, final int epoch, final int batchSize, final LayerWorkspaceMgr workspaces)
    {
        this.iteration = iteration;
        this.epoch = epoch;
        this.batchSize = batchSize;
        this.workspaces = workspaces;
        exchange.meanOf(gradient, this::updateOwned);
    }

    /**
     * @return true while some rank's updater state is current only for its own elements.
     */
    boolean stale()
    {
        return stale;
    }

    /**
     * The whole state holds what its owners hold again: the state arrays (and later reads of them) are then the
     * same on every rank as after DL4J's own updater. Collective, whether or not this rank is stale: one small
     * all-reduce of every rank's segment and staleness, then, if any is stale, one broadcast per segment.
     */
    void consolidate()
    {
        final int n = accelerator.numProcesses();
        final int me = accelerator.processIndex();
        final INDArray segments = Nd4j.zeros(DataType.DOUBLE, 2L * n + 1);
        if (plan != null)
        {
            segments.putScalar(2L * me, plan.first);
            segments.putScalar(2L * me + 1, plan.end - plan.first);
        }
        segments.putScalar(2L * n, stale ? 1 : 0);
        accelerator.allReduce(segments, ReduceOp.SUM);
        if (segments.getDouble(2L * n) == 0)
        {
            return;
        }
        for (int rank = 0; rank < n; rank++)
        {
            final long first = (long)segments.getDouble(2L * rank);
            final long count = (long)segments.getDouble(2L * rank + 1);
            if (count == 0)
            {
                continue;
            }
            final List<INDArray> pieces = rank == me ? plan.state : plan(first, first + count).state;
            long length = 0;
            for (final INDArray piece : pieces)
            {
                length += piece.length();
            }
            if (length == 0)
            {
                continue;
            }
            final INDArray packed = Nd4j.createUninitialized(pieces.get(0).dataType(), length);
            copy(pieces, packed, true);
            accelerator.broadcast(packed, rank);
            if (rank != me)
            {
                copy(pieces, packed, false);
            }
        }
        stale = false;
    }

    /**
     * Forgets that the state was split: after the caller has set the whole state on every rank alike.
     */
    void stateReplaced()
    {
        stale = false;
    }

    private static void copy(final List<INDArray> pieces, final INDArray packed, final boolean pack)
    {
        long at = 0;
        for (final INDArray piece : pieces)
        {
            final INDArray slot = packed.get(NDArrayIndex.interval(at, at + piece.length()));
            if (pack)
            {
                slot.assign(piece);
            }
            else
            {
                piece.assign(slot);
            }
            at += piece.length();
        }
    }

    /**
     * DL4J's {@code BaseMultiLayerUpdater.update} on elements [first, first + count): the division by the batch
     * size, then per block the regularisations before the updater, the updater, the regularisations after it.
     * Gradient normalisation, which comes between, is ruled out by {@link #unsupported}.
     */
    private void updateOwned(final int first, final int count)
    {
        if (plan == null || plan.first != first || plan.end != first + count)
        {
            plan = plan(first, first + count);
        }
        if (miniBatch)
        {
            for (final INDArray divided : plan.divided)
            {
                divided.divi(batchSize);
            }
        }
        for (final Piece piece : plan.pieces)
        {
            try (MemoryWorkspace ignored = workspaces.notifyScopeEntered(ArrayType.UPDATER_WORKING_MEM))
            {
                final double lr = piece.updater.getConfig().hasLearningRate() ?
                    piece.updater.getConfig().getLearningRate(iteration, epoch) : 1.0;
                regularize(piece, Regularization.ApplyStep.BEFORE_UPDATER, lr);
                piece.updater.applyUpdater(piece.gradient, iteration, epoch);
                regularize(piece, Regularization.ApplyStep.POST_UPDATER, lr);
            }
        }
        // Without state (SGD) there is nothing a rank could hold stale.
        stale = count < total && hasState;
    }

    private void regularize(final Piece piece, final Regularization.ApplyStep step, final double lr)
    {
        for (final Regularized variable : piece.regularized)
        {
            for (final Regularization regularization : variable.regularizations)
            {
                if (regularization.applyStep() == step)
                {
                    regularization.apply(variable.params, variable.gradient, lr, iteration, epoch);
                }
            }
        }
    }

    /**
     * The views for elements [first, end): made once per segment, outside any workspace, and reused every step.
     */
    private Plan plan(final long first, final long end)
    {
        try (MemoryWorkspace ignored = Nd4j.getMemoryManager().scopeOutOfWorkspaces())
        {
            final Plan plan = new Plan(first, end);
            long offset = 0;
            for (final Trainable layer : layers)
            {
                for (final Map.Entry<String, INDArray> param : layer.paramTable(false).entrySet())
                {
                    final long length = param.getValue().length();
                    if (layer.updaterDivideByMinibatch(param.getKey()))
                    {
                        final INDArray part = slice(gradient, offset, offset + length, first, end);
                        if (part != null)
                        {
                            plan.divided.add(part);
                        }
                    }
                    offset += length;
                }
            }
            for (final UpdaterBlock block : updater.getUpdaterBlocks())
            {
                final long start = block.getParamOffsetStart();
                final long lo = Math.max(start, first);
                final long hi = Math.min(block.getParamOffsetEnd(), end);
                // DL4J's supervised step skips pretraining parameters (a VAE's decoder, say): so does this.
                if (lo >= hi || block.skipDueToPretrainConfig(false))
                {
                    continue;
                }
                final GradientUpdater<?> whole = block.getGradientUpdater();
                // Sorted, so that every rank packs the state in one order when consolidating.
                final Map<String, INDArray> state = new TreeMap<>();
                for (final Map.Entry<String, INDArray> array : whole.getState().entrySet())
                {
                    final INDArray part = array.getValue().reshape(array.getValue().length())
                        .get(NDArrayIndex.interval(lo - start, hi - start));
                    state.put(array.getKey(), part);
                    plan.state.add(part);
                }
                final List<Regularized> regularized = new ArrayList<>();
                for (final UpdaterBlock.ParamState variable : block.getLayersAndVariablesInBlock())
                {
                    final List<Regularization> regularizations =
                        variable.getLayer().getConfig().getRegularizationByParam(variable.getParamName());
                    final INDArray gradientPart =
                        slice(gradient, variable.getParamOffsetStart(), variable.getParamOffsetEnd(), lo, hi);
                    if (regularizations != null && !regularizations.isEmpty() && gradientPart != null)
                    {
                        regularized.add(new Regularized(regularizations, gradientPart,
                            slice(params, variable.getParamOffsetStart(), variable.getParamOffsetEnd(), lo, hi)));
                    }
                }
                plan.pieces.add(new Piece(whole.getConfig().instantiate(state, false),
                    gradient.get(NDArrayIndex.interval(lo, hi)), regularized));
            }
            return plan;
        }
    }

    /**
     * @return the part of {@code array}'s elements [start, end) that lies in [first, last), or null if none.
     */
    private static INDArray slice(
        final INDArray array, final long start, final long end, final long first, final long last)
    {
        final long lo = Math.max(start, first);
        final long hi = Math.min(end, last);
        return lo < hi ? array.get(NDArrayIndex.interval(lo, hi)) : null;
    }

    /** The views for one segment of the flattened arrays. */
    private static final class Plan
    {
        final long first;
        final long end;
        final List<INDArray> divided = new ArrayList<>();
        final List<Piece> pieces = new ArrayList<>();
        final List<INDArray> state = new ArrayList<>();

        Plan(final long first, final long end)
        {
            this.first = first;
            this.end = end;
        }
    }

    /** One updater block's part of the segment, with an updater of the block's kind over its part of the state. */
    private static final class Piece
    {
        final GradientUpdater<?> updater;
        final INDArray gradient;
        final List<Regularized> regularized;

        Piece(final GradientUpdater<?> updater, final INDArray gradient, final List<Regularized> regularized)
        {
            this.updater = updater;
            this.gradient = gradient;
            this.regularized = regularized;
        }
    }

    /** One regularised variable's part of the segment. */
    private static final class Regularized
    {
        final List<Regularization> regularizations;
        final INDArray gradient;
        final INDArray params;

        Regularized(final List<Regularization> regularizations, final INDArray gradient, final INDArray params)
        {
            this.regularizations = regularizations;
            this.gradient = gradient;
            this.params = params;
        }
    }
}
