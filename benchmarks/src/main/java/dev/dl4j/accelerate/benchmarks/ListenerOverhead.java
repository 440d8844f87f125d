package dev.dl4j.accelerate.benchmarks;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

import dev.dl4j.accelerate.AcceleratedTrainer;
import dev.dl4j.accelerate.Accelerator;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/**
 * What data-parallel training costs a process that runs alone (world size 1, no launcher): the step time of a
 * plain {@code net.fit()} against the same fit with {@link Accelerator#listener()} and
 * {@link AcceleratedTrainer#fit}, in one JVM.
 *
 * <p>One network trains in rounds; in each round it runs one epoch of {@code --steps} steps in each of four
 * configurations, in an order rotated from round to round, so that the drift of a shared machine falls on all of
 * them alike. A configuration is the set of listeners the network has for that epoch (none, none again,
 * {@code acc.listener()}, or a trainer's): one network, because two identical networks in one JVM differ by up to 5%
 * in step time (where their buffers lie), more than the overhead to be measured. The second plain configuration
 * ({@code plain-again}) shows how far two identical configurations differ on this machine, the floor below which an
 * overhead cannot be told from noise. Each round's epoch time of a configuration is divided by {@code plain}'s in
 * the same round; the median of those ratios, minus one, is the overhead.
 *
 * <p>Before every epoch, untimed, the JVM collects its garbage: DL4J's own (~230 KB a step for the MLP) brings a
 * young collection of ~300 ms every few seconds, which would otherwise be charged to whichever epoch it falls in.
 * What each configuration allocates on the training thread is reported instead ({@code alloc_kb_per_step}): its
 * share of the collector's time follows from that. Prints one line per configuration:
 *
 * <pre>
 * RESULT kind=overhead workload=mlp global_batch=64 config=listener rounds=20 steps=200 threads=1
 *     omp_num_threads=1 communication=none step_ms=4.9 ratio=1.004 ratio_p25=0.99 ratio_p75=1.02
 *     alloc_kb_per_step=226.3
 * </pre>
 *
 * (one line in the output). {@code communication=none} says that, after all rounds and with the accelerator still
 * open, no Aeron thread (client conductor, media driver agent) lives in the JVM: at world size 1 nothing may
 * communicate. JMH would fork per configuration and measure them minutes apart; on a noisy
 * machine, alternating within one JVM compares them under the same conditions.
 *
 * <pre>{@code
 * java -cp benchmarks/target/classes:$(cat benchmarks/target/classpath.txt) \
 *     dev.dl4j.accelerate.benchmarks.ListenerOverhead --rounds 20 --steps 200
 * }</pre>
 *
 * <p>Exits non-zero (an uncaught exception) on bad arguments or when started by the launcher: the point is the
 * process alone.
 */
public final class ListenerOverhead
{
    private static final String USAGE = "usage: ListenerOverhead [--workload mlp|lenet] [--global-batch N] " +
        "[--rounds N] [--warmup-rounds N] [--steps N]";
    private static final String[] CONFIGS = { "plain", "plain-again", "listener", "trainer" };

    private ListenerOverhead()
    {
    }

    /**
     * @param args {@code [--workload mlp|lenet] [--global-batch N] [--rounds N] [--warmup-rounds N] [--steps N]};
     *             defaults mlp, 64, 20 timed rounds after 3 untimed ones, 200 steps per epoch.
     */
    public static void main(final String[] args)
    {
        final Options options = Options.parse(args);
        final TrainingWorkload workload = options.workload;
        final int rounds = options.rounds;
        final int steps = options.steps;
        try (Accelerator acc = Accelerator.create())
        {
            if (acc.numProcesses() != 1)
            {
                throw new IllegalStateException("ListenerOverhead measures a process alone; run it without the " +
                    "launcher (it found world size " + acc.numProcesses() + ")");
            }
            final List<DataSet> pool = SyntheticBatches.pool(options.batch);
            final Runnable[] epochs = epochs(acc, workload, pool, steps);
            final double[][] msPerStep = new double[CONFIGS.length][rounds];
            final long[] allocatedBytes = new long[CONFIGS.length];
            final com.sun.management.ThreadMXBean threads =
                (com.sun.management.ThreadMXBean)ManagementFactory.getThreadMXBean();
            final long trainingThread = Thread.currentThread().getId();
            for (int round = 0; round < options.warmupRounds + rounds; round++)
            {
                for (int k = 0; k < CONFIGS.length; k++)
                {
                    final int config = (round + k) % CONFIGS.length;
                    System.gc();
                    final long allocatedBefore = threads.getThreadAllocatedBytes(trainingThread);
                    final long startNs = System.nanoTime();
                    epochs[config].run();
                    final long elapsedNs = System.nanoTime() - startNs;
                    if (round >= options.warmupRounds)
                    {
                        msPerStep[config][round - options.warmupRounds] = elapsedNs / 1e6 / steps;
                        allocatedBytes[config] += threads.getThreadAllocatedBytes(trainingThread) - allocatedBefore;
                    }
                }
            }
            final String communication = transportThreads();
            for (int config = 0; config < CONFIGS.length; config++)
            {
                final double[] ratios = new double[rounds];
                for (int round = 0; round < rounds; round++)
                {
                    ratios[round] = msPerStep[config][round] / msPerStep[0][round];
                }
                System.out.printf(Locale.ROOT, "RESULT kind=overhead workload=%s global_batch=%d config=%s " +
                    "rounds=%d steps=%d threads=%d omp_num_threads=%s communication=%s step_ms=%.4f ratio=%.4f " +
                    "ratio_p25=%.4f ratio_p75=%.4f alloc_kb_per_step=%.1f%n", workload.label(), options.batch,
                    CONFIGS[config], rounds, steps, Nd4j.getEnvironment().maxThreads(),
                    Objects.requireNonNullElse(System.getenv("OMP_NUM_THREADS"), "unset"), communication,
                    Reports.median(msPerStep[config]), Reports.median(ratios), Reports.percentile(ratios, 25),
                    Reports.percentile(ratios, 75), allocatedBytes[config] / 1024.0 / rounds / steps);
            }
        }
    }

    /**
     * One epoch of each configuration, on one network: its listeners are set before each epoch.
     */
    private static Runnable[] epochs(
        final Accelerator acc, final TrainingWorkload workload, final List<DataSet> pool, final int steps)
    {
        final MultiLayerNetwork network = workload.network();
        final AcceleratedTrainer<MultiLayerNetwork> trainer = AcceleratedTrainer.of(acc, network);
        final List<TrainingListener> trainerListeners = new ArrayList<>(network.getListeners());
        final TrainingListener listener = acc.listener();
        final Runnable plain = () ->
        {
            network.setListeners();
            network.fit(SyntheticBatches.counted(pool, steps));
        };
        return new Runnable[] {
            plain,
            plain,
            () ->
            {
                network.setListeners(listener);
                network.fit(acc.shard(SyntheticBatches.counted(pool, steps)));
            },
            () ->
            {
                network.setListeners(trainerListeners);
                trainer.fit(SyntheticBatches.counted(pool, steps), 1);
            } };
    }

    /**
     * @return {@code none} when no thread of Aeron lives in this JVM, as at world size 1 nothing may communicate;
     *         else {@code threads:} and their names. Aeron's client runs {@code aeron-client-conductor}; a media
     *         driver started by the core names its agent after its directory, {@code .../dl4j-accelerate-...}.
     */
    private static String transportThreads()
    {
        final List<String> names = new ArrayList<>();
        for (final Thread thread : Thread.getAllStackTraces().keySet())
        {
            final String name = thread.getName().toLowerCase(Locale.ROOT);
            if (name.contains("aeron") || name.contains("dl4j-accelerate"))
            {
                names.add(thread.getName().replaceAll("\\s+", "_"));
            }
        }
        return names.isEmpty() ? "none" : "threads:" + String.join(",", names);
    }

    /**
     * The command line; see {@link #USAGE}.
     */
    private static final class Options
    {
        TrainingWorkload workload = TrainingWorkload.MLP;
        int batch = 64;
        int rounds = 20;
        int warmupRounds = 3;
        int steps = 200;

        static Options parse(final String[] args)
        {
            final Arguments arguments = new Arguments(USAGE);
            final Options options = new Options();
            arguments.forEach(args, (name, value) ->
            {
                switch (name)
                {
                    case "--workload":
                        options.workload = TrainingWorkload.of(value);
                        break;
                    case "--global-batch":
                        options.batch = arguments.intCount(name, value, 1);
                        break;
                    case "--rounds":
                        options.rounds = arguments.intCount(name, value, 1);
                        break;
                    case "--warmup-rounds":
                        options.warmupRounds = arguments.intCount(name, value, 0);
                        break;
                    case "--steps":
                        options.steps = arguments.intCount(name, value, 1);
                        break;
                    default:
                        throw arguments.unknown(name);
                }
            });
            return options;
        }
    }
}
