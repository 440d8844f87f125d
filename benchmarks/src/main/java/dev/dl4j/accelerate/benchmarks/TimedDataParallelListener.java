package dev.dl4j.accelerate.benchmarks;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

import dev.dl4j.accelerate.Accelerator;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * {@link Accelerator#listener()} with a stopwatch, built on the public API only: before each gradient all-reduce
 * it calls {@link Accelerator#waitForEveryone()}, so that the time a rank spends waiting for the slowest one is
 * measured apart from the all-reduce itself, which then starts on every rank at about the same moment and
 * measures the transfer alone. The extra barrier costs a few microseconds per step.
 *
 * <p>Runs on the training thread, as DL4J calls listeners there.
 */
final class TimedDataParallelListener implements TrainingListener
{
    private final Accelerator accelerator;
    private final TrainingListener dataParallel;
    private double[] waitMs = new double[0];
    private double[] transferMs = new double[0];
    private int steps;
    private boolean recording;

    /**
     * @param accelerator the process group; its listener does the work.
     */
    TimedDataParallelListener(final Accelerator accelerator)
    {
        this.accelerator = accelerator;
        this.dataParallel = accelerator.listener();
    }

    /**
     * Starts recording up to {@code capacity} steps.
     *
     * @param capacity the steps expected.
     */
    void start(final int capacity)
    {
        waitMs = new double[capacity];
        transferMs = new double[capacity];
        steps = 0;
        recording = true;
    }

    /**
     * Stops recording.
     */
    void stop()
    {
        recording = false;
    }

    /**
     * @return per recorded step, milliseconds in the barrier before the all-reduce.
     */
    double[] waitMs()
    {
        return Arrays.copyOf(waitMs, steps);
    }

    /**
     * @return per recorded step, milliseconds in the listener's all-reduce of the gradient.
     */
    double[] transferMs()
    {
        return Arrays.copyOf(transferMs, steps);
    }

    @Override
    public void onGradientCalculation(final Model model)
    {
        final long arrivedNs = System.nanoTime();
        accelerator.waitForEveryone();
        final long releasedNs = System.nanoTime();
        dataParallel.onGradientCalculation(model);
        final long reducedNs = System.nanoTime();
        if (recording && steps < waitMs.length)
        {
            waitMs[steps] = (releasedNs - arrivedNs) / 1e6;
            transferMs[steps] = (reducedNs - releasedNs) / 1e6;
            steps++;
        }
    }

    @Override
    public void iterationDone(final Model model, final int iteration, final int epoch)
    {
        dataParallel.iterationDone(model, iteration, epoch);
    }

    @Override
    public void onEpochStart(final Model model)
    {
        dataParallel.onEpochStart(model);
    }

    @Override
    public void onEpochEnd(final Model model)
    {
        dataParallel.onEpochEnd(model);
    }

    @Override
    public void onForwardPass(final Model model, final List<INDArray> activations)
    {
        dataParallel.onForwardPass(model, activations);
    }

    @Override
    public void onForwardPass(final Model model, final Map<String, INDArray> activations)
    {
        dataParallel.onForwardPass(model, activations);
    }

    @Override
    public void onBackwardPass(final Model model)
    {
        dataParallel.onBackwardPass(model);
    }
}
