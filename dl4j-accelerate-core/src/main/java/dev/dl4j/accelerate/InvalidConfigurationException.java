package dev.dl4j.accelerate;

/**
 * A setting read from the environment, a system property or the command line is missing or malformed.
 * The message names the variable and the offending value; nothing has been started when it is thrown.
 */
public final class InvalidConfigurationException extends AccelerateException
{
    private static final long serialVersionUID = 1L;

    /**
     * @param message names the variable, its value and what was expected.
     */
    public InvalidConfigurationException(final String message)
    {
        super(message);
    }
}
