package dev.dl4j.accelerate.benchmarks;

import dev.dl4j.accelerate.Accelerator;

/**
 * Hands out the calls of a timing loop in chunks, and between chunks has rank 0 decide whether to go on, so that
 * every rank makes the same number of calls: at least {@code minCalls} and for at least {@code minSeconds}, but
 * never more than {@code maxCalls} nor past {@code maxSeconds}. The decision is an untimed broadcast once per
 * chunk, so its cost stays out of the timed calls; only rank 0's clock counts. The C references in {@code mpi/}
 * follow the same rule.
 *
 * <p>Collective: every rank calls {@link #next()} at the same points of its loop, on the thread that owns the
 * accelerator. A failed broadcast throws out of {@link #next()}, as any collective does.
 */
final class Chunks
{
    private final Accelerator accelerator;
    private final long chunkCalls;
    private final long minCalls;
    private final long maxCalls;
    private final long minNs;
    private final long maxNs;
    private final long startNs;
    private long handedOut;

    /**
     * Starts the clock.
     *
     * @param accelerator the job's accelerator, whose rank 0 decides.
     * @param chunkCalls  calls per chunk (the last chunk may be shorter, to stop at {@code maxCalls}).
     * @param minCalls    calls to hand out even after {@code minSeconds}, unless {@code maxSeconds} has passed.
     * @param maxCalls    calls never to exceed; {@link Long#MAX_VALUE} for no limit.
     * @param minSeconds  how long to go on even after {@code minCalls}.
     * @param maxSeconds  after how long to stop, even short of {@code minCalls};
     *                    {@link Double#POSITIVE_INFINITY} for no limit.
     */
    Chunks(
        final Accelerator accelerator, final long chunkCalls, final long minCalls, final long maxCalls,
        final double minSeconds, final double maxSeconds)
    {
        this.accelerator = accelerator;
        this.chunkCalls = chunkCalls;
        this.minCalls = minCalls;
        this.maxCalls = maxCalls;
        this.minNs = nanos(minSeconds);
        this.maxNs = nanos(maxSeconds);
        this.startNs = System.nanoTime();
    }

    /**
     * @return how many calls to make next, the same on every rank; 0 when the loop is done.
     */
    long next()
    {
        if (handedOut >= maxCalls)
        {
            return 0;
        }
        // Only rank 0's clock counts: the broadcast ignores the others' answers.
        final long elapsedNs = System.nanoTime() - startNs;
        final boolean goOn = elapsedNs < maxNs && (handedOut < minCalls || elapsedNs < minNs);
        if (accelerator.broadcast(new byte[] { (byte)(goOn ? 1 : 0) }, 0)[0] == 0)
        {
            return 0;
        }
        final long calls = Math.min(chunkCalls, maxCalls - handedOut);
        handedOut += calls;
        return calls;
    }

    /** Infinity becomes {@link Long#MAX_VALUE}, as a narrowing cast does. */
    private static long nanos(final double seconds)
    {
        return (long)(seconds * 1e9);
    }
}
