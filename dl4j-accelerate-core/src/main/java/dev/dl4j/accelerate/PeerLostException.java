package dev.dl4j.accelerate;

/**
 * A peer stopped answering: it was killed, is stopped or hung, or its host or network is gone. Every surviving
 * rank's current or next collective fails with this, within seconds (see {@code ACCELERATE_PEER_TIMEOUT_MS}),
 * instead of waiting for the collective's deadline.
 */
public final class PeerLostException extends AccelerateException
{
    private static final long serialVersionUID = 1L;

    private final int lostRank;
    private final String host;

    /**
     * @param lostRank the rank that was lost.
     * @param host     the host it ran on, as it named itself at the rendezvous.
     * @param message  the full description.
     */
    public PeerLostException(final int lostRank, final String host, final String message)
    {
        super(message);
        this.lostRank = lostRank;
        this.host = host;
    }

    /**
     * @return the rank that was lost.
     */
    public int lostRank()
    {
        return lostRank;
    }

    /**
     * @return the host the lost rank ran on.
     */
    public String host()
    {
        return host;
    }
}
