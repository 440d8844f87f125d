package dev.dl4j.accelerate;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalLong;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.function.Supplier;

import dev.dl4j.accelerate.internal.checkpoint.StateCheckpointer;
import dev.dl4j.accelerate.internal.collective.AeronCommunicator;
import dev.dl4j.accelerate.internal.collective.Communicator;
import dev.dl4j.accelerate.internal.collective.OwnedElements;
import dev.dl4j.accelerate.internal.collective.SingleProcessCommunicator;
import dev.dl4j.accelerate.internal.dl4j.ArrayMemory;
import dev.dl4j.accelerate.internal.dl4j.DataParallelListener;
import dev.dl4j.accelerate.internal.dl4j.ShardedDataSetIterator;
import dev.dl4j.accelerate.internal.dl4j.ShardedMultiDataSetIterator;
import dev.dl4j.accelerate.internal.transport.AeronTransport;
import dev.dl4j.accelerate.internal.transport.Frame;
import dev.dl4j.accelerate.launch.GpuSupport;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.BusySpinIdleStrategy;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.YieldingIdleStrategy;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.dataset.api.iterator.MultiDataSetIterator;

/**
 * One process's handle on the job: who it is, and the process control of Hugging Face Accelerate
 * ({@code wait_for_everyone}, {@code main_process_first}, {@code set_trigger}/{@code check_trigger}...) across
 * the JVMs started by {@code accelerate launch}, over Aeron.
 *
 * <pre>{@code
 * try (Accelerator acc = Accelerator.create())
 * {
 *     DataSet data = acc.mainProcessFirst(() -> loadOrDownload(cache));   // rank 0 fills the cache first
 *     ...
 *     if (loss < target) acc.setTrigger();
 *     if (acc.checkTrigger()) break;                                       // true on every rank at once
 *     ...
 *     acc.waitForEveryone();
 *     acc.onMainProcess(() -> save(net));
 * }
 * }</pre>
 *
 * <p><b>Collectives.</b> {@link #waitForEveryone()}, {@link #mainProcessFirst}, {@link #localMainProcessFirst},
 * {@link #checkTrigger()}, {@link #broadcast} and {@link #gather} are collectives: every rank must call them, in
 * the same order. Each has a deadline ({@link AcceleratorSettings#timeout()}); when it passes, the call throws
 * {@link CollectiveTimeoutException} naming the ranks not heard from. A rank that calls a different
 * collective than its peers gets an {@link AccelerateException} saying what each called. After either, every
 * later collective fails at once: close the accelerator and let the process fail.
 *
 * <p><b>Threads.</b> Collectives must be called from one thread at a time (normally the training thread).
 * {@link #setTrigger()} and the topology queries may be called from any thread.
 *
 * <p><b>World size 1.</b> Without launcher variables the process is alone; every collective returns at once and
 * neither Aeron nor a media driver is started.
 */
public final class Accelerator implements AutoCloseable
{
    private static final int YIELD_SPINS = 100;

    private final ProcessTopology topology;
    private final AcceleratorSettings settings;
    private final Communicator communicator;
    private final AtomicBoolean trigger = new AtomicBoolean();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final StateCheckpointer checkpointer = new StateCheckpointer(this);

    private Accelerator(
        final ProcessTopology topology, final AcceleratorSettings settings, final Communicator communicator)
    {
        this.topology = topology;
        this.settings = settings;
        this.communicator = communicator;
    }

    /**
     * Joins the job described by the environment ({@link ProcessTopology#fromEnvironment()},
     * {@link AcceleratorSettings#fromEnvironment()}). Blocks until every rank has joined, or the deadline passes.
     *
     * <p>When the launcher gave this process a GPU ({@value GpuSupport#ASSIGNED_GPU}), it first checks, through
     * {@code dl4j-accelerate-cuda}, that ND4J loaded its CUDA backend and sees that one GPU only; this initialises ND4J.
     *
     * @return this process's accelerator; close it when done.
     * @throws InvalidConfigurationException if a variable is malformed, or a GPU was assigned and ND4J is not on
     *                                       it alone (e.g. it fell back to the CPU); nothing is started then.
     * @throws CollectiveTimeoutException if the other ranks did not join in time.
     */
    public static Accelerator create()
    {
        final ProcessTopology topology = ProcessTopology.fromEnvironment();
        final AcceleratorSettings settings = AcceleratorSettings.fromEnvironment();
        AssignedGpu.check(System.getenv(), GpuSupport.installed());
        return create(topology, settings);
    }

    /**
     * Joins the job with an explicit topology and settings, e.g. several ranks inside one JVM in tests.
     *
     * @param topology where this process sits.
     * @param settings how it talks to the others.
     * @return this process's accelerator; close it when done.
     * @throws CollectiveTimeoutException if the other ranks did not join in time.
     */
    public static Accelerator create(final ProcessTopology topology, final AcceleratorSettings settings)
    {
        Objects.requireNonNull(topology, "topology");
        Objects.requireNonNull(settings, "settings");
        if (topology.isSingleProcess())
        {
            return new Accelerator(topology, settings, SingleProcessCommunicator.INSTANCE);
        }
        final int cores = Runtime.getRuntime().availableProcessors();
        if (settings.waitStrategy() == AcceleratorSettings.WaitStrategy.SPIN && topology.localWorldSize() > cores)
        {
            System.err.println("dl4j-accelerate: warning: ACCELERATE_WAIT=spin with " + topology.localWorldSize() +
                " processes on " + cores + " cores: spinning ranks starve each other and the media driver " +
                "(measured: a 4-rank barrier on 2 cores took ~2 ms instead of ~4 us); use yield");
        }
        final AeronTransport transport = AeronTransport.connect(
            topology, settings, idleStrategy(settings, topology.localWorldSize() <= cores));
        return new Accelerator(topology, settings, new AeronCommunicator(transport, topology.rank(), topology.worldSize()));
    }

    /**
     * A yield costs ~0.5 us on a VM, longer than a message takes over shared memory, so when every local rank has
     * a core of its own the yielding wait first spins a little (measured at 2 ranks on 2 cores: p50 0.68 -> ~0.16
     * us). With more ranks than cores the spins only steal the time the peer needs: yield at once.
     */
    private static IdleStrategy idleStrategy(final AcceleratorSettings settings, final boolean coreEach)
    {
        switch (settings.waitStrategy())
        {
            case SPIN:
                return new BusySpinIdleStrategy();
            case BACKOFF:
                return new BackoffIdleStrategy();
            default:
                return coreEach ? new BackoffIdleStrategy(YIELD_SPINS, Long.MAX_VALUE, 1_000, 1_000) :
                    new YieldingIdleStrategy();
        }
    }

    /**
     * @return where this process sits in the job.
     */
    public ProcessTopology topology()
    {
        return topology;
    }

    /**
     * @return the settings this accelerator was created with.
     */
    public AcceleratorSettings settings()
    {
        return settings;
    }

    /**
     * @return true on rank 0, the process that saves, logs and prepares shared data.
     */
    public boolean isMainProcess()
    {
        return topology.rank() == 0;
    }

    /**
     * @return true on local rank 0, the first process of its host.
     */
    public boolean isLocalMainProcess()
    {
        return topology.localRank() == 0;
    }

    /**
     * @return this process's global rank, in [0, {@link #numProcesses()}).
     */
    public int processIndex()
    {
        return topology.rank();
    }

    /**
     * @return this process's rank on its host.
     */
    public int localProcessIndex()
    {
        return topology.localRank();
    }

    /**
     * @return the number of processes in the job.
     */
    public int numProcesses()
    {
        return topology.worldSize();
    }

    /**
     * Blocks until every process has called it. Collective.
     *
     * @throws CollectiveTimeoutException if some rank did not arrive before the deadline.
     */
    public void waitForEveryone()
    {
        communicator.barrier();
    }

    /**
     * Runs {@code body} on the main process, then on every other process once the main one has finished:
     * the main process downloads or prepares, the others then read what it prepared. Collective.
     *
     * <p>If the body throws on the main process, the other processes do not run theirs: they throw an
     * {@link AccelerateException} saying the main process failed, and the main process rethrows its failure.
     * The others wait for the main process's body up to {@link AcceleratorSettings#sectionTimeout()}, which is
     * longer than other collectives' deadline because preparing data can take a while.
     *
     * @param body work to run on every process, main process first.
     * @throws AccelerateException on the other processes when the main process's body failed.
     */
    public void mainProcessFirst(final Runnable body)
    {
        ordered(asSupplier(body), isMainProcess(), Frame.MAIN_FIRST, false);
    }

    /**
     * As {@link #mainProcessFirst(Runnable)}, returning the body's result on each process.
     *
     * @param body work to run on every process, main process first.
     * @param <T>  the result type.
     * @return what {@code body} returned on this process.
     */
    public <T> T mainProcessFirst(final Supplier<T> body)
    {
        return ordered(body, isMainProcess(), Frame.MAIN_FIRST, false);
    }

    /**
     * The try-with-resources form of {@link #mainProcessFirst(Runnable)}: other processes wait here until the
     * main process closes its section.
     *
     * <pre>{@code
     * try (Accelerator.Section first = acc.mainProcessFirst()) { prepare(cache); }
     * }</pre>
     *
     * <p>Java does not tell {@code close()} whether the block threw, so here the other processes proceed even
     * when the main process's block failed; use the {@link Runnable} form to stop them instead.
     *
     * @return a section to close at the end of the block.
     */
    public Section mainProcessFirst()
    {
        return section(isMainProcess(), Frame.MAIN_FIRST, false);
    }

    /**
     * As {@link #mainProcessFirst(Runnable)}, per host: the first process of each host runs {@code body}, then
     * the host's other processes. Hosts do not wait for each other.
     *
     * @param body work to run on every process, local main process first.
     */
    public void localMainProcessFirst(final Runnable body)
    {
        ordered(asSupplier(body), isLocalMainProcess(), Frame.LOCAL_MAIN_FIRST, true);
    }

    /**
     * As {@link #localMainProcessFirst(Runnable)}, returning the body's result on each process.
     *
     * @param body work to run on every process, local main process first.
     * @param <T>  the result type.
     * @return what {@code body} returned on this process.
     */
    public <T> T localMainProcessFirst(final Supplier<T> body)
    {
        return ordered(body, isLocalMainProcess(), Frame.LOCAL_MAIN_FIRST, true);
    }

    /**
     * The try-with-resources form of {@link #localMainProcessFirst(Runnable)}; see {@link #mainProcessFirst()}.
     *
     * @return a section to close at the end of the block.
     */
    public Section localMainProcessFirst()
    {
        return section(isLocalMainProcess(), Frame.LOCAL_MAIN_FIRST, true);
    }

    /**
     * Runs {@code body} on the main process only; a no-op elsewhere. Not a collective.
     *
     * @param body work for the main process, e.g. saving the model.
     */
    public void onMainProcess(final Runnable body)
    {
        if (isMainProcess())
        {
            body.run();
        }
    }

    /**
     * Prints a line to standard output on the main process only, so a job's log holds each message once.
     *
     * @param message what to print.
     */
    public void print(final Object message)
    {
        if (isMainProcess())
        {
            System.out.println(message);
        }
    }

    /**
     * Raises this process's trigger, e.g. when its loss says training should stop. The next
     * {@link #checkTrigger()} returns true on every process. Any thread may call it.
     */
    public void setTrigger()
    {
        trigger.set(true);
    }

    /**
     * Tells every process whether any process called {@link #setTrigger()} since the trigger was last seen,
     * and resets it on every process when so. Collective: each process gets the same answer in the same call.
     *
     * @return true on every process if any process set the trigger.
     */
    public boolean checkTrigger()
    {
        // Take the flag before reducing: a setTrigger() racing with this call counts for the next check. The
        // plain read first spares the common case (not set) an atomic exchange.
        final boolean mine = trigger.get() && trigger.getAndSet(false);
        return communicator.anyOf(Frame.TRIGGER, mine, false, communicator.timeoutNs());
    }

    /**
     * Runs {@code body} with another deadline for each collective it makes than {@link AcceleratorSettings#timeout()}:
     * e.g. a short one around a barrier that should be quick, or a long one around a broadcast of a large model.
     * Not collective itself. Nested calls restore the outer deadline when they return. The wait of the other
     * processes for the main process in {@code mainProcessFirst} and {@code localMainProcessFirst} keeps its own bound,
     * {@link AcceleratorSettings#sectionTimeout()}: that wait is for the main process's work, not for a message.
     *
     * @param timeout the deadline of each collective in {@code body}; positive.
     * @param body    the collectives (and anything else) to run.
     * @param <T>     what {@code body} returns.
     * @return what {@code body} returned.
     * @throws InvalidConfigurationException if the timeout is not positive.
     */
    public <T> T withTimeout(final Duration timeout, final Supplier<T> body)
    {
        if (timeout.isNegative() || timeout.isZero())
        {
            throw new InvalidConfigurationException("withTimeout(" + timeout + "): the deadline must be positive");
        }
        final long outer = communicator.timeoutNs();
        communicator.timeout(timeout.toNanos());
        try
        {
            return body.get();
        }
        finally
        {
            communicator.timeout(outer);
        }
    }

    /**
     * As {@link #withTimeout(Duration, Supplier)}, for a body that returns nothing.
     *
     * @param timeout the deadline of each collective in {@code body}; positive.
     * @param body    the collectives (and anything else) to run.
     */
    public void withTimeout(final Duration timeout, final Runnable body)
    {
        withTimeout(timeout, asSupplier(body));
    }

    /**
     * Sends the root's bytes to every process. Collective.
     *
     * @param value the value on the root; ignored elsewhere (may be null there).
     * @param root  the rank whose value is sent.
     * @return the root's value on every process.
     */
    public byte[] broadcast(final byte[] value, final int root)
    {
        checkRoot(root);
        if (processIndex() == root)
        {
            Objects.requireNonNull(value, "value on the root");
        }
        return communicator.broadcast(value, root);
    }

    /**
     * Sends the root's value to every process, encoded with {@code codec}. Collective.
     *
     * @param value the value on the root; ignored elsewhere (may be null there).
     * @param root  the rank whose value is sent.
     * @param codec how the value travels.
     * @param <T>   the value type.
     * @return the root's value on every process.
     */
    public <T> T broadcast(final T value, final int root, final Codec<T> codec)
    {
        final byte[] bytes = broadcast(processIndex() == root ? codec.encode(value) : null, root);
        return processIndex() == root ? value : codec.decode(bytes);
    }

    /**
     * Collects every process's bytes on the root. Collective.
     *
     * @param value this process's value.
     * @param root  the rank that receives them.
     * @return on the root, every process's value in rank order; elsewhere an empty list.
     */
    public List<byte[]> gather(final byte[] value, final int root)
    {
        checkRoot(root);
        return communicator.gather(Objects.requireNonNull(value, "value"), root);
    }

    /**
     * Collects every process's value on the root, encoded with {@code codec}. Collective.
     *
     * @param value this process's value.
     * @param root  the rank that receives them.
     * @param codec how the values travel.
     * @param <T>   the value type.
     * @return on the root, every process's value in rank order; elsewhere an empty list.
     */
    public <T> List<T> gather(final T value, final int root, final Codec<T> codec)
    {
        final List<byte[]> bytes = gather(codec.encode(value), root);
        final List<T> values = new ArrayList<>(bytes.size());
        for (final byte[] b : bytes)
        {
            values.add(codec.decode(b));
        }
        return Collections.unmodifiableList(values);
    }

    /**
     * Combines every process's array element by element and leaves the result, identical to the bit on every
     * process, in each one's array: the operation behind data-parallel training. Collective; every process must
     * pass an array of the same length and data type (FLOAT or DOUBLE). Small arrays take one message per pair
     * of processes; large ones a ring that moves 2(n-1)/n of the array through each process.
     *
     * @param array the array to combine in place.
     * @param op    how to combine.
     * @throws IllegalArgumentException for another data type.
     * @throws AccelerateException if the processes' arrays differ in length.
     */
    public void allReduce(final INDArray array, final ReduceOp op)
    {
        Objects.requireNonNull(op, "op");
        ArrayMemory.check(array, "allReduce");
        if (topology.isSingleProcess())
        {
            return;
        }
        if (ArrayMemory.isContiguous(array))
        {
            final UnsafeBuffer memory = ArrayMemory.wrap(array);
            communicator.allReduce(memory, memory.capacity(), array.dataType() == DataType.DOUBLE, op);
        }
        else
        {
            final INDArray copy = array.dup('c');
            allReduce(copy, op);
            array.assign(copy);
        }
    }

    /**
     * {@link #allReduce(INDArray, ReduceOp)} to the mean with work on the elements this process answers for in
     * between: the exchange of the trainer's sharded updater.
     *
     * @param array a contiguous FLOAT or DOUBLE array, the same length on every process.
     * @param owned the work; at world size 1 it gets every element.
     */
    void allReduceMean(final INDArray array, final OwnedElements owned)
    {
        ArrayMemory.check(array, "allReduce");
        if (!ArrayMemory.isContiguous(array))
        {
            throw new IllegalArgumentException("a sharded all-reduce needs a contiguous array, got shape " +
                java.util.Arrays.toString(array.shape()) + " with element stride " + array.elementWiseStride());
        }
        if (topology.isSingleProcess())
        {
            owned.process(0, (int)array.length());
            return;
        }
        final UnsafeBuffer memory = ArrayMemory.wrap(array);
        communicator.allReduce(memory, memory.capacity(), array.dataType() == DataType.DOUBLE, ReduceOp.MEAN, owned);
    }

    /**
     * Copies the root's array into every other process's array of the same shape and type. Collective.
     *
     * @param array the array: read on the root, overwritten elsewhere.
     * @param root  the rank whose array is sent.
     * @throws IllegalArgumentException for a root outside the job or a data type other than FLOAT or DOUBLE.
     */
    public void broadcast(final INDArray array, final int root)
    {
        checkRoot(root);
        ArrayMemory.check(array, "broadcast");
        if (topology.isSingleProcess())
        {
            return;
        }
        if (ArrayMemory.isContiguous(array))
        {
            final UnsafeBuffer memory = ArrayMemory.wrap(array);
            communicator.broadcast(memory, memory.capacity(), root);
        }
        else
        {
            final INDArray copy = array.dup('c');
            broadcast(copy, root);
            array.assign(copy);
        }
    }

    /**
     * A listener that makes an existing {@code fit()} data-parallel: add it to a {@code MultiLayerNetwork} or
     * {@code ComputationGraph} on every rank and feed each rank its {@link #shard(DataSetIterator) shard}.
     * Before the first step every rank takes rank 0's parameters, updater state and iteration/epoch counters,
     * after checking that all ranks hold the same model (else every rank fails, naming the sizes); each step's
     * gradient is then averaged over the ranks before the updater applies it. At world size 1 it does nothing.
     *
     * <pre>{@code
     * net.addListeners(acc.listener());
     * net.fit(acc.shard(trainData), epochs);
     * }</pre>
     *
     * @return a new listener for one model.
     */
    public TrainingListener listener()
    {
        // It aligns the ranks' garbage collections unless the settings say not to.
        return new DataParallelListener(this, settings.alignCollections() ?
            mine -> communicator.anyOf(Frame.COLLECT, mine, false, communicator.timeoutNs()) : null);
    }

    /**
     * This process's share of the batches: batch i goes to rank i mod n. Every rank gets the same number of
     * batches, the short ones wrapping round to the first (Accelerate's {@code even_batches}), so no rank
     * waits forever for another's extra step; and a batch smaller than the first (a short last batch) is completed
     * with the data's first examples, as Accelerate does, so that every rank's step divides by the same batch size
     * and the ranks stay identical. Every rank must read the same data in the same order.
     *
     * @param data the whole data set, identical on every rank.
     * @return an iterator over this process's batches.
     */
    public DataSetIterator shard(final DataSetIterator data)
    {
        return shard(data, true);
    }

    /**
     * As {@link #shard(DataSetIterator)}, optionally without padding: for evaluation, where each example must
     * be counted once.
     *
     * @param data         the whole data set, identical on every rank.
     * @param evenBatches  pad so every rank gets the same number of batches, none smaller than the first.
     * @return an iterator over this process's batches.
     */
    public DataSetIterator shard(final DataSetIterator data, final boolean evenBatches)
    {
        return topology.isSingleProcess() ? Objects.requireNonNull(data, "data") :
            new ShardedDataSetIterator(data, processIndex(), numProcesses(), evenBatches);
    }

    /**
     * As {@link #shard(DataSetIterator, boolean)} for multi-input, multi-output data.
     *
     * @param data         the whole data set, identical on every rank.
     * @param evenBatches  pad so every rank gets the same number of batches, none smaller than the first.
     * @return an iterator over this process's batches.
     */
    public MultiDataSetIterator shard(final MultiDataSetIterator data, final boolean evenBatches)
    {
        return topology.isSingleProcess() ? Objects.requireNonNull(data, "data") :
            new ShardedMultiDataSetIterator(data, processIndex(), numProcesses(), evenBatches);
    }

    /**
     * Makes {@link #saveState} and {@link #loadState} include this model: weights, updater state and the
     * iteration/epoch counters. One model per accelerator; register it on every process.
     *
     * @param model a {@code MultiLayerNetwork} or {@code ComputationGraph}.
     */
    public void registerForCheckpointing(final Model model)
    {
        checkpointer.register(Objects.requireNonNull(model, "model"));
    }

    /**
     * Makes {@link #saveState} and {@link #loadState} include an object of your own, e.g. a fitted normaliser
     * ({@code NormalizerSerializer.getDefault().write(...)} / {@code restore(...)}). Register it on every process.
     *
     * @param name   names its file in the checkpoint: letters, digits, {@code . _ -}.
     * @param saver  gives its bytes; called on rank 0 at each save.
     * @param loader restores it from those bytes; called on every process at each load.
     */
    public void registerForCheckpointing(final String name, final Supplier<byte[]> saver, final Consumer<byte[]> loader)
    {
        checkpointer.register(name, Objects.requireNonNull(saver, "saver"), Objects.requireNonNull(loader, "loader"));
    }

    /**
     * Saves the registered model (weights, updater state, counters), each process's ND4J random state and the
     * registered objects as {@code <root>/checkpoint-<step>}, with the world size it was written with. Rank 0
     * writes everything (the others send it their random states), crash-safely: into a temporary directory,
     * files fsynced, a manifest with sizes and checksums last, then renamed into place; a directory without a
     * valid manifest is never loaded. Collective: every process returns once the checkpoint is complete, or
     * fails if rank 0 could not write it (the existing checkpoints stay untouched). Call it from the training
     * thread: the random state is per thread.
     *
     * @param root the checkpoints folder.
     * @return the new checkpoint's directory.
     */
    public Path saveState(final Path root)
    {
        return checkpointer.save(root, Integer.MAX_VALUE, Map.of());
    }

    /**
     * Restores the newest complete checkpoint under {@code root} (or {@code root} itself if it is one) into the
     * registered model and objects, and each process's random state, after verifying every file's checksum.
     * Collective; call it from the training thread.
     *
     * @param root the checkpoints folder, or one checkpoint directory.
     * @return the step of the restored checkpoint; empty if there is none (nothing changes then).
     * @throws AccelerateException on every process, saying what was found and what was expected, when the
     *                             checkpoint was written by another world size or for another model, or a file
     *                             is truncated, edited or missing.
     */
    public OptionalLong loadState(final Path root)
    {
        return checkpointer.load(root).map(facts -> OptionalLong.of(Long.parseLong(facts.get("step"))))
            .orElse(OptionalLong.empty());
    }

    /**
     * {@link #saveState(Path)} into {@link AcceleratorSettings#checkpointDirectory()}
     * ({@code ACCELERATE_CHECKPOINT_DIR}, by default {@code ./checkpoints}). Collective.
     *
     * @return the new checkpoint's directory.
     */
    public Path saveState()
    {
        return saveState(settings.checkpointDirectory());
    }

    /**
     * {@link #loadState(Path)} of the newest complete checkpoint in {@link AcceleratorSettings#checkpointDirectory()}.
     * Collective.
     *
     * @return the step of the restored checkpoint; empty if there is none.
     */
    public OptionalLong loadState()
    {
        return loadState(settings.checkpointDirectory());
    }

    StateCheckpointer checkpointer()
    {
        return checkpointer;
    }

    /**
     * Leaves the job and releases Aeron resources (and this process's own media driver, if it runs one, after
     * it has sent what was offered). Not a collective: call {@link #waitForEveryone()} first if peers may still
     * need this process. Call it from the thread that runs the collectives, or after that thread has stopped:
     * closing unmaps the buffers a collective may be reading. Idempotent.
     */
    public void close()
    {
        if (closed.compareAndSet(false, true))
        {
            communicator.close();
        }
    }

    private void checkRoot(final int root)
    {
        if (root < 0 || root >= numProcesses())
        {
            throw new IllegalArgumentException("root=" + root + " is not a rank in [0, " + numProcesses() + ")");
        }
    }

    private <T> T ordered(final Supplier<T> body, final boolean first, final byte type, final boolean local)
    {
        final long timeoutNs = settings.sectionTimeout().toNanos();
        if (!first)
        {
            if (communicator.anyOf(type, false, local, timeoutNs))
            {
                throw new AccelerateException(Frame.name(type) + ": the " + (local ? "local " : "") +
                    "main process failed in its body, so rank " + processIndex() + " did not run its own");
            }
            return body.get();
        }
        final T result;
        try
        {
            result = body.get();
        }
        catch (final Throwable ex)
        {
            // Tell the waiting ranks not to run their bodies. Whatever failed (a checkpoint that could not be
            // written throws an AccelerateException too); if the group itself failed, this throws at once.
            try
            {
                communicator.anyOf(type, true, local, timeoutNs);
            }
            catch (final RuntimeException releaseFailure)
            {
                ex.addSuppressed(releaseFailure);
            }
            throw ex;
        }
        communicator.anyOf(type, false, local, timeoutNs);
        return result;
    }

    private Section section(final boolean first, final byte type, final boolean local)
    {
        if (!first)
        {
            ordered(() -> null, false, type, local);
            return () -> {};
        }
        return () -> communicator.anyOf(type, false, local, settings.sectionTimeout().toNanos());
    }

    private static Supplier<Void> asSupplier(final Runnable body)
    {
        Objects.requireNonNull(body, "body");
        return () ->
        {
            body.run();
            return null;
        };
    }

    /**
     * A block of code that the main process (or a host's first process) runs before the others; see
     * {@link #mainProcessFirst()}. Close it exactly once, on the thread that opened it.
     */
    @FunctionalInterface
    public interface Section extends AutoCloseable
    {
        /**
         * Ends the block; on the main process this releases the others.
         */
        void close();
    }

    public String toString()
    {
        return "Accelerator{" + topology + ", " + settings + "}";
    }
}
