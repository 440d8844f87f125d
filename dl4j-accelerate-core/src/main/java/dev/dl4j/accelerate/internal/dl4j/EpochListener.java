package dev.dl4j.accelerate.internal.dl4j;

import java.util.function.BooleanSupplier;

import me.tongfei.progressbar.ProgressBar;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.optimize.api.BaseTrainingListener;

/**
 * What the trainer watches during an epoch on this rank: the sum of minibatch scores, the step count, the
 * progress bar (main process only), and a collective stop check after every step when one is asked for.
 * Runs on the training thread.
 */
public final class EpochListener extends BaseTrainingListener
{
    private static final long MESSAGE_INTERVAL_NS = 200_000_000L;

    private double scoreSum;
    private long steps;
    private ProgressBar progress;
    private BooleanSupplier stopCheck;
    private boolean stopRequested;
    private long consumed;
    private long messageAtNs;
    private java.util.function.LongConsumer onStep = consumed -> { };

    /**
     * @param onStep called after every step with the number of batches of this epoch consumed so far.
     */
    public void onStep(final java.util.function.LongConsumer onStep)
    {
        this.onStep = onStep;
    }

    /**
     * Starts a new epoch.
     *
     * @param progress  the bar to step, or null.
     * @param stopCheck a collective called after every step, true to stop the epoch; or null.
     * @param skipped   batches of this epoch consumed before it (re)started, when resuming.
     */
    public void begin(final ProgressBar progress, final BooleanSupplier stopCheck, final long skipped)
    {
        this.consumed = skipped;
        this.scoreSum = 0;
        this.steps = 0;
        this.progress = progress;
        // The new bar shows the loss from its first step.
        this.messageAtNs = System.nanoTime() - MESSAGE_INTERVAL_NS;
        if (progress != null && skipped > 0)
        {
            // Resumed mid-epoch: the bar starts where the checkpoint left the epoch.
            progress.stepTo(skipped);
        }
        this.stopCheck = stopCheck;
        this.stopRequested = false;
    }

    @Override
    public void iterationDone(final Model model, final int iteration, final int epoch)
    {
        final double score = model.score();
        scoreSum += score;
        steps++;
        if (progress != null)
        {
            progress.step();
            // The bar redraws once a second: formatting the loss at every step of a small model would cost more
            // than the rest of this listener.
            final long nowNs = System.nanoTime();
            if (nowNs - messageAtNs >= MESSAGE_INTERVAL_NS)
            {
                messageAtNs = nowNs;
                progress.setExtraMessage(String.format(" loss %.4f", score));
            }
        }
        consumed++;
        onStep.accept(consumed);
        if (stopCheck != null && !stopRequested && stopCheck.getAsBoolean())
        {
            stopRequested = true;
        }
    }

    /**
     * @return the sum of this rank's minibatch scores in the epoch.
     */
    public double scoreSum()
    {
        return scoreSum;
    }

    /**
     * @return this rank's steps in the epoch.
     */
    public long steps()
    {
        return steps;
    }

    /**
     * @return true once the collective stop check said to stop.
     */
    public boolean stopRequested()
    {
        return stopRequested;
    }
}
