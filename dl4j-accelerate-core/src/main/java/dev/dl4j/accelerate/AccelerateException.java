package dev.dl4j.accelerate;

/**
 * Root of every exception dl4j-accelerate throws. Unchecked, because a failed collective leaves the
 * process group unusable and the only sensible reaction is to stop the worker (the launcher then stops
 * the rest and reports the root cause).
 */
public class AccelerateException extends RuntimeException
{
    private static final long serialVersionUID = 1L;

    /**
     * @param message what failed, with the values involved.
     */
    public AccelerateException(final String message)
    {
        super(message);
    }

    /**
     * @param message what failed, with the values involved.
     * @param cause   the underlying failure.
     */
    public AccelerateException(final String message, final Throwable cause)
    {
        super(message, cause);
    }
}
