package dev.dl4j.accelerate.benchmarks;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

import dev.dl4j.accelerate.AcceleratedTrainer;
import dev.dl4j.accelerate.Accelerator;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.deeplearning4j.parallelism.ParallelWrapper;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Training throughput, in global samples per second, of one configuration of one workload: a process alone, one
 * of several independent processes, a rank of a data-parallel job started by {@code accelerate launch}, or DL4J's
 * {@link ParallelWrapper}. Every configuration trains the same network on the same synthetic MNIST-shaped batches
 * ({@link SyntheticBatches}); {@code run-training.sh} runs them side by side and {@link TrainingReport} compares
 * them. Prints one machine-readable line (rank 0 only, in a job):
 *
 * <pre>
 * RESULT kind=throughput workload=mlp global_batch=64 config=ddp-listener mode=ddp-listener scope=global processes=2
 *     local_batch=32 threads=1 warmup_steps=200 steps=1500 seconds=7.9 samples_per_s=12151.3 step_ms=5.26
 *     compute_ms=3.1 wait_ms=0.9 wait_longest_ms=1.7 transfer_ms=0.6 rest_ms=0.6 ...
 * </pre>
 *
 * (one line in the output). Modes ({@code --mode}):
 * <ul>
 *   <li>{@code single}: one process, plain {@code net.fit()} at the global batch.</li>
 *   <li>{@code independent}: one of {@code --processes} processes started together that never talk, each at the
 *       local batch a data-parallel rank would have (global / processes): what this machine can do at best. They
 *       agree on a timed window of the wall clock ({@code --start-at-ms}, {@code --seconds}) so that each is timed
 *       only while all of them run, warming up until it opens ({@code --warmup-steps} is then only the least
 *       expected, and {@code --steps} is not used); each prints its own throughput ({@code scope=process}) and
 *       the wall-clock ends of its window, to be summed and checked for overlap.</li>
 *   <li>{@code ddp-trainer}: a rank of a launched job, training with {@link AcceleratedTrainer}, its updater split
 *       between the ranks unless {@code --shard-updater false}.</li>
 *   <li>{@code ddp-listener}: a rank of a launched job, plain {@code net.fit(acc.shard(...))} with
 *       {@link TimedDataParallelListener}: {@link Accelerator#listener()} plus a barrier before each all-reduce,
 *       to split each step into compute, waiting for the slowest rank, transfer and the rest (updater, listeners).
 *       </li>
 *   <li>{@code parallel-wrapper}: DL4J's {@link ParallelWrapper} with {@code --workers} threads in one process,
 *       averaging parameters and updater state every {@code --averaging-frequency} steps.</li>
 * </ul>
 *
 * <p>Each run first trains {@code --warmup-steps} untimed steps (JIT, workspaces, the first synchronisation), then
 * times {@code --steps} steps as one {@code fit()} call: samples per second are steps x global batch / the call's
 * wall time, on rank 0 after a barrier in a job; ParallelWrapper's run fails unless it took every timed batch.
 * Step, compute and split times are medians and means over the timed steps (in a job, of the mean over the ranks
 * of each step).
 *
 * <pre>{@code
 * bin/accelerate launch --nproc-per-node 2 --master-port 0 -- \
 *     java -cp benchmarks/target/classes:$(cat benchmarks/target/classpath.txt) \
 *     dev.dl4j.accelerate.benchmarks.TrainingThroughput --mode ddp-listener --workload mlp --global-batch 64
 * }</pre>
 *
 * <p>Exits non-zero (an uncaught exception) on bad arguments, a batch that does not divide, a job mode started
 * without the launcher's variables, or a failed collective.
 */
public final class TrainingThroughput
{
    private static final String USAGE = "usage: TrainingThroughput --mode single|independent|ddp-trainer|" +
        "ddp-listener|parallel-wrapper [--workload mlp|lenet] [--global-batch N] [--warmup-steps N] [--steps N] " +
        "[--config LABEL] [--processes N --part I --start-at-ms T --seconds S] [--workers N] " +
        "[--averaging-frequency N] [--shard-updater true|false]";

    private TrainingThroughput()
    {
    }

    /**
     * @param args see {@link #USAGE} and the class comment; defaults: workload mlp, global batch 64, 100 warm-up
     *             steps, 500 timed steps, config label = mode, 2 processes/workers, averaging every step.
     */
    public static void main(final String[] args)
    {
        final Options options = Options.parse(args);
        switch (options.mode)
        {
            case "single":
                single(options);
                break;
            case "independent":
                independent(options);
                break;
            case "ddp-trainer":
            case "ddp-listener":
                dataParallel(options);
                break;
            case "parallel-wrapper":
                parallelWrapper(options);
                break;
            default:
                throw Options.usage("unknown --mode '" + options.mode + "'");
        }
    }

    private static void single(final Options options)
    {
        final MultiLayerNetwork net = options.workload.network();
        final List<DataSet> pool = SyntheticBatches.pool(options.globalBatch);
        final StepClock clock = new StepClock();
        net.setListeners(clock);

        net.fit(SyntheticBatches.counted(pool, options.warmupSteps));
        clock.start(options.steps);
        final long startNs = System.nanoTime();
        net.fit(SyntheticBatches.counted(pool, options.steps));
        final long elapsedNs = System.nanoTime() - startNs;
        clock.stop();

        final Result result = new Result(options, net.numParams(), "global", 1, options.globalBatch);
        result.timed(options.warmupSteps, timedSteps(clock, options), elapsedNs, options.globalBatch);
        steps(result, clock);
        System.out.println(result);
    }

    private static void independent(final Options options)
    {
        final int localBatch = divide(options.globalBatch, options.processes, "--processes");
        if (options.startAtMs <= 0 || options.seconds <= 0)
        {
            throw Options.usage("--mode independent needs --start-at-ms and --seconds: the processes' common window");
        }
        final MultiLayerNetwork net = options.workload.network();
        final List<DataSet> pool = SyntheticBatches.pool(localBatch);
        final StepClock clock = new StepClock();
        net.setListeners(clock);

        // Warm up until the common start; a process that got there late says so through warmup_steps.
        final SyntheticBatches warmup = SyntheticBatches.until(pool, options.startAtMs);
        net.fit(warmup);
        final SyntheticBatches timed = SyntheticBatches.until(pool, options.startAtMs + (long)(options.seconds * 1e3));
        clock.start(1024);
        final long windowStartMs = System.currentTimeMillis();
        final long startNs = System.nanoTime();
        net.fit(timed);
        final long elapsedNs = System.nanoTime() - startNs;
        clock.stop();
        if (clock.steps() == 0)
        {
            throw new IllegalStateException("the common window had closed before this process was ready to train " +
                "(" + warmup.served() + " warm-up steps): give the processes more time to start");
        }

        final Result result = new Result(options, net.numParams(), "process", options.processes, localBatch);
        result.add("part", options.part);
        result.add("warmup_target", options.warmupSteps);
        // Wall-clock ends of this process's timed fit, for the report to check that the processes overlapped.
        result.add("window_start_ms", windowStartMs);
        result.add("window_end_ms", System.currentTimeMillis());
        result.timed(warmup.served(), clock.steps(), elapsedNs, localBatch);
        steps(result, clock);
        System.out.println(result);
    }

    /**
     * @return the steps the clock saw, which must be the steps asked for: throughput is counted from them.
     */
    private static int timedSteps(final StepClock clock, final Options options)
    {
        if (clock.steps() != options.steps)
        {
            throw new IllegalStateException("the timed fit() took " + clock.steps() + " steps, not the " +
                options.steps + " asked for");
        }
        return clock.steps();
    }

    private static void steps(final Result result, final StepClock clock)
    {
        result.add("step_ms", Reports.median(clock.stepMs()));
        result.add("compute_ms", Reports.median(clock.computeMs()));
        result.add("step_mean_ms", Reports.mean(clock.stepMs()));
        result.add("compute_mean_ms", Reports.mean(clock.computeMs()));
    }

    private static void dataParallel(final Options options)
    {
        try (Accelerator acc = Accelerator.create())
        {
            final int ranks = acc.numProcesses();
            if (ranks < 2)
            {
                throw new IllegalStateException("--mode " + options.mode + " measures a data-parallel job; start it " +
                    "with `bin/accelerate launch --nproc-per-node 2 --master-port 0 -- java ...`");
            }
            final int localBatch = divide(options.globalBatch, ranks, "the number of processes");
            final MultiLayerNetwork net = options.workload.network();
            final List<DataSet> pool = SyntheticBatches.pool(localBatch);
            final StepClock clock = new StepClock();
            final boolean trainer = "ddp-trainer".equals(options.mode);
            final TimedDataParallelListener timing = trainer ? null : new TimedDataParallelListener(acc);
            final AcceleratedTrainer<MultiLayerNetwork> accelerated;
            if (trainer)
            {
                accelerated = AcceleratedTrainer.of(acc, net).shardUpdater(options.shardUpdater);
                // The clock first, before the trainer's listeners (the data-parallel one aligns the ranks' garbage
                // collections, a collective): "compute" ends at the gradient, before any waiting.
                final List<TrainingListener> listeners = new ArrayList<>(net.getListeners());
                listeners.add(0, clock);
                net.setListeners(listeners);
            }
            else
            {
                net.setListeners(clock, timing);
                accelerated = null;
            }

            // Each rank reads every batch of the source and keeps its own share, as with real data.
            fitShared(acc, net, accelerated, SyntheticBatches.counted(pool, (long)options.warmupSteps * ranks));
            acc.waitForEveryone();
            clock.start(options.steps);
            if (timing != null)
            {
                timing.start(options.steps);
            }
            final long startNs = System.nanoTime();
            fitShared(acc, net, accelerated, SyntheticBatches.counted(pool, (long)options.steps * ranks));
            final long elapsedNs = System.nanoTime() - startNs;
            clock.stop();
            if (timing != null)
            {
                timing.stop();
            }

            final double[][] mine = timing == null ?
                new double[][] { clock.stepMs(), clock.computeMs() } :
                new double[][] { clock.stepMs(), clock.computeMs(), timing.waitMs(), timing.transferMs() };
            final List<byte[]> all = acc.gather(encode(mine), 0);
            if (acc.isMainProcess())
            {
                final List<double[][]> perRank = new ArrayList<>(all.size());
                for (final byte[] bytes : all)
                {
                    perRank.add(decode(bytes));
                }
                final Result result = new Result(options, net.numParams(), "global", ranks, localBatch);
                result.timed(options.warmupSteps, timedSteps(clock, options), elapsedNs, options.globalBatch);
                split(result, perRank);
                System.out.println(result);
            }
            // A rank may close only once no peer needs its messages any more.
            acc.waitForEveryone();
        }
    }

    private static void fitShared(
        final Accelerator acc, final MultiLayerNetwork net, final AcceleratedTrainer<MultiLayerNetwork> trainer,
        final SyntheticBatches source)
    {
        if (trainer != null)
        {
            trainer.fit(source, 1);
        }
        else
        {
            net.fit(acc.shard(source));
        }
    }

    /**
     * Adds the medians over the steps of each component, averaged over the ranks step by step: every rank's
     * components of one step add up to the same step time, so the averages do too.
     */
    private static void split(final Result result, final List<double[][]> perRank)
    {
        final int components = perRank.get(0).length;
        int steps = Integer.MAX_VALUE;
        for (final double[][] rank : perRank)
        {
            for (final double[] component : rank)
            {
                steps = Math.min(steps, component.length);
            }
        }
        final double[][] mean = new double[components][steps];
        final double[] longestWait = new double[steps];
        final double[] rest = new double[steps];
        for (int step = 0; step < steps; step++)
        {
            for (final double[][] rank : perRank)
            {
                for (int c = 0; c < components; c++)
                {
                    mean[c][step] += rank[c][step] / perRank.size();
                }
                if (components > 2)
                {
                    longestWait[step] = Math.max(longestWait[step], rank[2][step]);
                }
            }
            rest[step] = mean[0][step] - mean[1][step] - (components > 2 ? mean[2][step] + mean[3][step] : 0);
        }
        result.add("step_ms", Reports.median(mean[0]));
        result.add("compute_ms", Reports.median(mean[1]));
        result.add("step_mean_ms", Reports.mean(mean[0]));
        result.add("compute_mean_ms", Reports.mean(mean[1]));
        if (components > 2)
        {
            result.add("wait_ms", Reports.median(mean[2]));
            result.add("wait_longest_ms", Reports.median(longestWait));
            result.add("transfer_ms", Reports.median(mean[3]));
            result.add("rest_ms", Reports.median(rest));
            result.add("wait_mean_ms", Reports.mean(mean[2]));
            result.add("transfer_mean_ms", Reports.mean(mean[3]));
        }
        else
        {
            // Without the extra barrier: the all-reduce, its waiting, the updater and the listeners together.
            result.add("after_gradient_ms", Reports.median(rest));
        }
    }

    private static void parallelWrapper(final Options options)
    {
        final int localBatch = divide(options.globalBatch, options.workers, "--workers");
        final MultiLayerNetwork net = options.workload.network();
        final List<DataSet> pool = SyntheticBatches.pool(localBatch);
        // One step here is one batch per worker, then (every averaging-frequency steps) the averaging.
        final long warmupBatches = (long)options.warmupSteps * options.workers;
        final long timedBatches = (long)options.steps * options.workers;
        // Not try-with-resources: close() declares Exception; shutdown() stops the workers all the same.
        final ParallelWrapper wrapper = new ParallelWrapper.Builder<>(net)
            .workers(options.workers)
            .averagingFrequency(options.averagingFrequency)
            .trainingMode(ParallelWrapper.TrainingMode.AVERAGING)
            .averageUpdaters(true)
            .reportScoreAfterAveraging(false)
            .build();
        try
        {
            wrapper.fit(SyntheticBatches.counted(pool, warmupBatches));
            final SyntheticBatches timed = SyntheticBatches.counted(pool, timedBatches);
            final long startNs = System.nanoTime();
            wrapper.fit(timed);
            final long elapsedNs = System.nanoTime() - startNs;
            if (timed.served() != timedBatches)
            {
                throw new IllegalStateException("ParallelWrapper took " + timed.served() + " of the " + timedBatches +
                    " timed batches: its throughput would not be steps x global batch / time");
            }

            final Result result = new Result(options, net.numParams(), "global", options.workers, localBatch);
            result.add("averaging_frequency", options.averagingFrequency);
            result.timed(options.warmupSteps, options.steps, elapsedNs, options.globalBatch);
            result.add("step_mean_ms", elapsedNs / 1e6 / options.steps);
            System.out.println(result);
        }
        finally
        {
            wrapper.shutdown();
        }
    }

    private static int divide(final int globalBatch, final int parts, final String what)
    {
        if (globalBatch % parts != 0)
        {
            throw Options.usage("--global-batch " + globalBatch + " does not divide by " + what + " (" + parts + ")");
        }
        return globalBatch / parts;
    }

    private static byte[] encode(final double[][] arrays)
    {
        int doubles = 0;
        for (final double[] array : arrays)
        {
            doubles += array.length;
        }
        final ByteBuffer buffer = ByteBuffer.allocate(Integer.BYTES * (1 + arrays.length) + Double.BYTES * doubles);
        buffer.putInt(arrays.length);
        for (final double[] array : arrays)
        {
            buffer.putInt(array.length);
            for (final double value : array)
            {
                buffer.putDouble(value);
            }
        }
        return buffer.array();
    }

    private static double[][] decode(final byte[] bytes)
    {
        final ByteBuffer buffer = ByteBuffer.wrap(bytes);
        final double[][] arrays = new double[buffer.getInt()][];
        for (int a = 0; a < arrays.length; a++)
        {
            arrays[a] = new double[buffer.getInt()];
            for (int i = 0; i < arrays[a].length; i++)
            {
                arrays[a][i] = buffer.getDouble();
            }
        }
        return arrays;
    }

    /**
     * One RESULT line, built field by field.
     */
    private static final class Result
    {
        private final StringBuilder line = new StringBuilder("RESULT");

        Result(
            final Options options, final long parameters, final String scope, final int processes, final int localBatch)
        {
            add("kind", "throughput");
            add("workload", options.workload.label());
            add("global_batch", options.globalBatch);
            add("parameters", parameters);
            add("config", options.config);
            add("mode", options.mode);
            add("scope", scope);
            add("processes", processes);
            add("local_batch", localBatch);
            add("threads", Nd4j.getEnvironment().maxThreads());
            add("omp_num_threads", Objects.requireNonNullElse(System.getenv("OMP_NUM_THREADS"), "unset"));
        }

        void timed(final long warmupSteps, final long steps, final long elapsedNs, final int batch)
        {
            final double seconds = elapsedNs / 1e9;
            add("warmup_steps", warmupSteps);
            add("steps", steps);
            add("seconds", seconds);
            add("samples_per_s", steps * batch / seconds);
        }

        void add(final String name, final Object value)
        {
            line.append(' ').append(name).append('=');
            if (value instanceof Double)
            {
                line.append(String.format(Locale.ROOT, "%.4f", (Double)value));
            }
            else
            {
                line.append(value);
            }
        }

        public String toString()
        {
            return line.toString();
        }
    }

    /**
     * The command line, validated once: a bad value fails with its option's name and the usage.
     */
    private static final class Options
    {
        static final Arguments ARGUMENTS = new Arguments(USAGE);

        String mode;
        String config;
        TrainingWorkload workload = TrainingWorkload.MLP;
        int globalBatch = 64;
        int warmupSteps = 100;
        int steps = 500;
        int processes = 2;
        int part;
        long startAtMs;
        double seconds;
        int workers = 2;
        int averagingFrequency = 1;
        boolean shardUpdater = true;

        static Options parse(final String[] args)
        {
            final Options options = new Options();
            ARGUMENTS.forEach(args, (name, value) ->
            {
                switch (name)
                {
                    case "--mode":
                        options.mode = value;
                        break;
                    case "--config":
                        options.config = value;
                        break;
                    case "--workload":
                        options.workload = TrainingWorkload.of(value);
                        break;
                    case "--global-batch":
                        options.globalBatch = ARGUMENTS.intCount(name, value, 1);
                        break;
                    case "--warmup-steps":
                        options.warmupSteps = ARGUMENTS.intCount(name, value, 0);
                        break;
                    case "--steps":
                        options.steps = ARGUMENTS.intCount(name, value, 1);
                        break;
                    case "--processes":
                        options.processes = ARGUMENTS.intCount(name, value, 1);
                        break;
                    case "--part":
                        options.part = ARGUMENTS.intCount(name, value, 0);
                        break;
                    case "--start-at-ms":
                        options.startAtMs = ARGUMENTS.count(name, value, 1);
                        break;
                    case "--seconds":
                        options.seconds = ARGUMENTS.seconds(name, value, false);
                        break;
                    case "--workers":
                        options.workers = ARGUMENTS.intCount(name, value, 1);
                        break;
                    case "--averaging-frequency":
                        options.averagingFrequency = ARGUMENTS.intCount(name, value, 1);
                        break;
                    case "--shard-updater":
                        if (!"true".equals(value) && !"false".equals(value))
                        {
                            throw usage("--shard-updater '" + value + "' must be true or false");
                        }
                        options.shardUpdater = Boolean.parseBoolean(value);
                        break;
                    default:
                        throw ARGUMENTS.unknown(name);
                }
            });
            if (options.mode == null)
            {
                throw usage("--mode is required");
            }
            if (options.config == null)
            {
                options.config = options.mode;
            }
            if (options.config.isBlank() || options.config.chars().anyMatch(Character::isWhitespace))
            {
                throw usage("--config '" + options.config + "' must be one word: it is a field of the RESULT line");
            }
            return options;
        }

        static IllegalArgumentException usage(final String problem)
        {
            return ARGUMENTS.usage(problem);
        }
    }
}
