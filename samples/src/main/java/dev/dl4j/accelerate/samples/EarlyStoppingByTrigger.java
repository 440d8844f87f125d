package dev.dl4j.accelerate.samples;

import java.util.List;

import dev.dl4j.accelerate.Accelerator;
import dev.dl4j.accelerate.Codec;

/**
 * The seed's "early stopping": each process watches its own loss; the first that sees it good enough sets the
 * trigger, and every process leaves the loop in the same iteration.
 *
 * <pre>bin/accelerate launch --nproc-per-node 2 -- bin/sample EarlyStoppingByTrigger</pre>
 */
public final class EarlyStoppingByTrigger
{
    private EarlyStoppingByTrigger()
    {
    }

    /**
     * @param args unused.
     */
    public static void main(final String[] args)
    {
        try (Accelerator acc = Accelerator.create())
        {
            final int rank = acc.processIndex();
            long stoppedAt = -1;
            for (long step = 0; step < 1_000; step++)
            {
                // Each rank's loss differs slightly; the last rank's falls fastest.
                final double loss = 1.0 / (1 + step * (1 + rank));
                if (loss < 0.01)
                {
                    acc.setTrigger();
                }
                if (acc.checkTrigger())
                {
                    stoppedAt = step;
                    break;
                }
            }
            final List<Long> stops = acc.gather(stoppedAt, 0, Codec.LONG);
            acc.onMainProcess(() ->
            {
                // The last rank's loss 1/(1 + step * N) first drops below 0.01 at step 99 / N + 1.
                final long expected = 99 / acc.numProcesses() + 1;
                Samples.check(stops.stream().distinct().count() == 1, "ranks stopped at different steps: " + stops);
                Samples.check(stops.get(0) == expected, "stopped at step " + stops.get(0) + ", expected " + expected);
                System.out.println("all " + stops.size() + " ranks stopped together at step " + stops.get(0));
            });
        }
    }
}
