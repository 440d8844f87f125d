package dev.dl4j.accelerate.benchmarks;

import java.util.concurrent.TimeUnit;

import dev.dl4j.accelerate.Accelerator;
import dev.dl4j.accelerate.AcceleratorSettings;
import dev.dl4j.accelerate.ProcessTopology;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * What the collectives cost a process that runs alone (world size 1, no launcher): the path a single-device
 * training script takes through {@link Accelerator#waitForEveryone()} and {@link Accelerator#checkTrigger()}
 * on every step. It should be a few nanoseconds, so that code written for many devices costs nothing on one.
 * {@link #baseline(Blackhole)} is the floor of the harness itself, to subtract.
 *
 * <p>Run from the repository root after {@code mvn -B -DskipTests package}:
 * <pre>{@code
 * benchmarks/run-jmh.sh                       # all benchmarks, summary appended to benchmarks/RESULTS.md
 * java -cp benchmarks/target/classes:$(cat benchmarks/target/classpath.txt) \
 *     org.openjdk.jmh.Main SingleProcessCollectivesBenchmark
 * }</pre>
 * The runs are short (3 x 1 s warm-up, 5 x 1 s measurement, 1 fork per benchmark) so that all of them finish
 * in well under a minute on a 2-core machine; pass JMH's {@code -wi -i -f} options for longer ones.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = { "--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED" })
public class SingleProcessCollectivesBenchmark
{
    private Accelerator accelerator;

    /**
     * Creates the world-size-1 accelerator once per trial: creating it is not what is measured.
     */
    @Setup(Level.Trial)
    public void setUp()
    {
        accelerator = Accelerator.create(ProcessTopology.single(), AcceleratorSettings.defaults());
    }

    /**
     * Closes the accelerator created by {@link #setUp()}.
     */
    @TearDown(Level.Trial)
    public void tearDown()
    {
        accelerator.close();
    }

    /**
     * The harness alone: one {@link Blackhole} sink of a field read, what every other benchmark here also does.
     *
     * @param blackhole keeps the read from being optimised away.
     */
    @Benchmark
    public void baseline(final Blackhole blackhole)
    {
        blackhole.consume(accelerator);
    }

    /**
     * A barrier with nobody to wait for.
     *
     * @param blackhole sinks the accelerator, so the call cannot be hoisted out of the loop with its receiver.
     */
    @Benchmark
    public void waitForEveryone(final Blackhole blackhole)
    {
        accelerator.waitForEveryone();
        blackhole.consume(accelerator);
    }

    /**
     * The per-step check of a training loop when no process raised the trigger: the common case.
     *
     * @param blackhole sinks the answer.
     */
    @Benchmark
    public void checkTrigger(final Blackhole blackhole)
    {
        blackhole.consume(accelerator.checkTrigger());
    }

    /**
     * Raising the trigger and seeing it, the step on which training stops: includes the reset of the flag.
     *
     * @param blackhole sinks the answer.
     */
    @Benchmark
    public void setAndCheckTrigger(final Blackhole blackhole)
    {
        accelerator.setTrigger();
        blackhole.consume(accelerator.checkTrigger());
    }
}
