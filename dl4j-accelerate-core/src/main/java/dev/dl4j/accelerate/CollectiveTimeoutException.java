package dev.dl4j.accelerate;

import java.util.List;

/**
 * A collective did not complete before its deadline. Names the operation, its sequence number and the
 * ranks this process was still waiting for, so the rank at fault is known without reading every log.
 */
public final class CollectiveTimeoutException extends AccelerateException
{
    private static final long serialVersionUID = 1L;

    private final String operation;
    private final long sequence;
    private final List<Integer> missingRanks;

    /**
     * @param operation    the collective, e.g. {@code waitForEveryone}.
     * @param sequence     the collective's sequence number, identical on every rank for the same call.
     * @param missingRanks the ranks whose contribution had not arrived.
     * @param message      the full description.
     */
    public CollectiveTimeoutException(
        final String operation, final long sequence, final List<Integer> missingRanks, final String message)
    {
        super(message);
        this.operation = operation;
        this.sequence = sequence;
        this.missingRanks = List.copyOf(missingRanks);
    }

    /**
     * @return the collective that timed out, e.g. {@code waitForEveryone}.
     */
    public String operation()
    {
        return operation;
    }

    /**
     * @return the sequence number of the collective, counted from 1 per process group.
     */
    public long sequence()
    {
        return sequence;
    }

    /**
     * @return the ranks this process was still waiting for when the deadline passed.
     */
    public List<Integer> missingRanks()
    {
        return missingRanks;
    }
}
