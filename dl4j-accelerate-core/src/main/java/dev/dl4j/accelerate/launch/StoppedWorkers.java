package dev.dl4j.accelerate.launch;

import java.util.concurrent.TimeUnit;

/**
 * Tells a worker that stays stopped (SIGSTOP, or held by a debugger) from one stopped for a moment: a stopped
 * worker is alive to the launcher, which would wait for it for ever, but dead to its peers, which count it as lost
 * after the peer timeout. One that has been seen stopped at every look for longer than that limit is to be killed.
 *
 * <p>A look that comes long after the one before says nothing about the time between: the launcher itself was not
 * running (the whole process group stopped with Ctrl-Z, a stalled machine), and the count starts again. Used by
 * the launcher's thread only.
 */
final class StoppedWorkers
{
    /**
     * The shortest silence taken for a gap: the launcher looks every 100 ms or a little more, so with the shortest
     * peer timeout (200 ms) half the limit would be a gap at every look, and a stopped worker never killed.
     */
    static final long MIN_GAP_NS = TimeUnit.SECONDS.toNanos(1);

    private final long limitNs;
    private final boolean[] stopped;
    private final long[] stoppedSinceNs;
    private final long[] lastLookNs;
    private final boolean[] looked;

    /**
     * @param workers how many workers there are.
     * @param limitNs how long a worker may stay stopped.
     */
    StoppedWorkers(final int workers, final long limitNs)
    {
        this.limitNs = limitNs;
        this.stopped = new boolean[workers];
        this.stoppedSinceNs = new long[workers];
        this.lastLookNs = new long[workers];
        this.looked = new boolean[workers];
    }

    /**
     * Records one look at a worker.
     *
     * @param worker    its index.
     * @param isStopped whether it was stopped at this look.
     * @param nowNs     when ({@link System#nanoTime()}).
     * @return true when it has been seen stopped at every look, without a gap, for longer than the limit.
     */
    boolean stoppedTooLong(final int worker, final boolean isStopped, final long nowNs)
    {
        final boolean gap = looked[worker] && nowNs - lastLookNs[worker] > Math.max(limitNs / 2, MIN_GAP_NS);
        looked[worker] = true;
        lastLookNs[worker] = nowNs;
        if (!isStopped)
        {
            stopped[worker] = false;
            return false;
        }
        if (!stopped[worker] || gap)
        {
            stopped[worker] = true;
            stoppedSinceNs[worker] = nowNs;
            return false;
        }
        return nowNs - stoppedSinceNs[worker] > limitNs;
    }

    /**
     * @return the limit, in nanoseconds.
     */
    long limitNs()
    {
        return limitNs;
    }
}
