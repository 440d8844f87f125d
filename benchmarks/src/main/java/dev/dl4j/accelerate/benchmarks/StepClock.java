package dev.dl4j.accelerate.benchmarks;

import java.util.Arrays;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.optimize.api.BaseTrainingListener;

/**
 * Times each training step of the timed phase from the training thread: when the gradient is ready
 * ({@code onGradientCalculation}) and when the step is done ({@code iterationDone}). Added to the network
 * before any data-parallel listener, so that its gradient time is taken before the gradient is averaged:
 * "compute" is then the data fetch, forward and backward pass of this process alone.
 */
final class StepClock extends BaseTrainingListener
{
    private long[] gradientNs = new long[0];
    private long[] doneNs = new long[0];
    private long startNs;
    private int steps;
    private boolean recording;

    /**
     * Starts recording, from now.
     *
     * @param capacity the steps expected; more are recorded too, at the cost of growing the arrays.
     */
    void start(final int capacity)
    {
        gradientNs = new long[Math.max(16, capacity)];
        doneNs = new long[gradientNs.length];
        steps = 0;
        startNs = System.nanoTime();
        recording = true;
    }

    /**
     * Stops recording.
     */
    void stop()
    {
        recording = false;
    }

    @Override
    public void onGradientCalculation(final Model model)
    {
        if (recording)
        {
            ensureCapacity();
            gradientNs[steps] = System.nanoTime();
        }
    }

    @Override
    public void iterationDone(final Model model, final int iteration, final int epoch)
    {
        if (recording)
        {
            final long nowNs = System.nanoTime();
            ensureCapacity();
            if (gradientNs[steps] == 0)
            {
                // No gradient callback in this step: count it all as compute rather than leave a hole.
                gradientNs[steps] = nowNs;
            }
            doneNs[steps++] = nowNs;
        }
    }

    private void ensureCapacity()
    {
        if (steps == gradientNs.length)
        {
            gradientNs = Arrays.copyOf(gradientNs, 2 * steps);
            doneNs = Arrays.copyOf(doneNs, 2 * steps);
        }
    }

    /**
     * @return the steps recorded.
     */
    int steps()
    {
        return steps;
    }

    /**
     * @return per recorded step, milliseconds from the end of the previous step (or the start) to its gradient.
     */
    double[] computeMs()
    {
        final double[] ms = new double[steps];
        for (int i = 0; i < steps; i++)
        {
            ms[i] = (gradientNs[i] - (i == 0 ? startNs : doneNs[i - 1])) / 1e6;
        }
        return ms;
    }

    /**
     * @return per recorded step, milliseconds from the end of the previous step (or the start) to its end.
     */
    double[] stepMs()
    {
        final double[] ms = new double[steps];
        for (int i = 0; i < steps; i++)
        {
            ms[i] = (doneNs[i] - (i == 0 ? startNs : doneNs[i - 1])) / 1e6;
        }
        return ms;
    }
}
