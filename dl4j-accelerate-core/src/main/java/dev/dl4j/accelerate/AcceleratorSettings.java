package dev.dl4j.accelerate;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * How this process talks to the others: how it waits, how long a collective may take, which media driver
 * it uses. Immutable; read once from the environment by {@link #fromEnvironment(Map)} and adjusted with the
 * {@code with...} methods.
 *
 * <table>
 *   <caption>Variables read</caption>
 *   <tr><th>variable</th><th>meaning</th><th>default</th></tr>
 *   <tr><td>{@code ACCELERATE_WAIT}</td><td>{@code yield}, {@code spin} or {@code backoff}: how a rank waits
 *   for its peers. Spinning is fastest only while every rank and the media driver have a core of their own.
 *   </td><td>{@code yield}</td></tr>
 *   <tr><td>{@code ACCELERATE_TIMEOUT_SECONDS}</td><td>deadline of every collective</td><td>300</td></tr>
 *   <tr><td>{@code ACCELERATE_SECTION_TIMEOUT_SECONDS}</td><td>how long the other processes wait for the main
 *   process's body in {@code mainProcessFirst} (downloads and preprocessing take long)</td><td>1800</td></tr>
 *   <tr><td>{@code ACCELERATE_AERON_DIR}</td><td>the media driver shared by this host's ranks, set by the
 *   launcher; without it the process runs a driver of its own</td><td>none</td></tr>
 *   <tr><td>{@code ACCELERATE_JOB_TOKEN}</td><td>identifies this job's messages; set by the launcher</td>
 *   <td>derived from {@code MASTER_ADDR:MASTER_PORT}</td></tr>
 *   <tr><td>{@code ACCELERATE_CHECKPOINT_DIR}</td><td>where {@code saveState()} and {@code loadState()} without
 *   an argument keep checkpoints</td><td>{@code checkpoints}, in the working directory</td></tr>
 *   <tr><td>{@code ACCELERATE_BIND_ADDRESS}</td><td>the local address UDP endpoints bind to</td>
 *   <td>the one that reaches {@code MASTER_ADDR}</td></tr>
 *   <tr><td>{@code ACCELERATE_PEER_TIMEOUT_MS}</td><td>a peer not heard from for this long is lost: every wait
 *   for any peer then fails naming it (raise it if long garbage-collection pauses are normal for you)</td>
 *   <td>2000</td></tr>
 *   <tr><td>{@code ACCELERATE_EXIT_ON_PEER_LOSS}</td><td>{@code true}: a process that is not in a collective when
 *   a peer is lost ends itself (exit code 75) after 1.5 s, so no rank of a broken job lingers</td>
 *   <td>{@code true}</td></tr>
 *   <tr><td>{@code ACCELERATE_ALIGN_GC}</td><td>{@code true}: the data-parallel listener has every rank take its
 *   young garbage collection at the same step, so the job pays each pause once instead of once per rank (see
 *   {@code AlignedCollections}); {@code false} leaves the collector alone</td>
 *   <td>{@code true}</td></tr>
 * </table>
 */
public final class AcceleratorSettings
{
    /** How a rank waits for messages from its peers. */
    public enum WaitStrategy
    {
        /**
         * {@link Thread#yield()} between polls, after a hundred spins when every local rank has a core of its own:
         * near-spinning latency without starving the media driver.
         */
        YIELD,
        /** Busy spin: lowest latency when every rank and the driver have a core; collapses when oversubscribed. */
        SPIN,
        /** Spin, then yield, then park with growing pauses: for long waits on a busy machine. */
        BACKOFF
    }

    static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(300);
    static final Duration DEFAULT_SECTION_TIMEOUT = Duration.ofSeconds(1800);
    static final Path DEFAULT_CHECKPOINTS = Path.of("checkpoints");
    static final Duration DEFAULT_PEER_TIMEOUT = Duration.ofMillis(2000);
    /** Two heartbeat intervals (PeerMonitor beats every 100 ms): any less and a healthy peer would be lost. */
    static final Duration MIN_PEER_TIMEOUT = Duration.ofMillis(200);

    private final WaitStrategy waitStrategy;
    private final Duration timeout;
    private final Duration sectionTimeout;
    private final String aeronDirectory;
    private final String jobToken;
    private final String bindAddress;
    private final Path checkpointDirectory;
    private final Duration peerTimeout;
    private final boolean exitOnPeerLoss;
    private final boolean alignCollections;

    private AcceleratorSettings(
        final WaitStrategy waitStrategy,
        final Duration timeout,
        final Duration sectionTimeout,
        final String aeronDirectory,
        final String jobToken,
        final String bindAddress,
        final Path checkpointDirectory,
        final Duration peerTimeout,
        final boolean exitOnPeerLoss,
        final boolean alignCollections)
    {
        this.waitStrategy = Objects.requireNonNull(waitStrategy, "waitStrategy");
        this.timeout = Objects.requireNonNull(timeout, "timeout");
        this.sectionTimeout = Objects.requireNonNull(sectionTimeout, "sectionTimeout");
        if (timeout.isNegative() || timeout.isZero() || sectionTimeout.isNegative() || sectionTimeout.isZero())
        {
            throw new InvalidConfigurationException(
                "timeouts must be positive, got timeout=" + timeout + ", sectionTimeout=" + sectionTimeout);
        }
        this.aeronDirectory = aeronDirectory;
        this.jobToken = jobToken;
        this.bindAddress = bindAddress;
        this.checkpointDirectory = Objects.requireNonNull(checkpointDirectory, "checkpointDirectory");
        this.peerTimeout = Objects.requireNonNull(peerTimeout, "peerTimeout");
        if (peerTimeout.compareTo(MIN_PEER_TIMEOUT) < 0)
        {
            throw new InvalidConfigurationException("the peer timeout must be at least 200 ms (heartbeats go every " +
                "100 ms), got " + peerTimeout.toMillis() + " ms");
        }
        this.exitOnPeerLoss = exitOnPeerLoss;
        this.alignCollections = alignCollections;
    }

    /**
     * @return the settings used when nothing is configured: yielding waits, 300 s deadlines, own driver.
     */
    public static AcceleratorSettings defaults()
    {
        return new AcceleratorSettings(WaitStrategy.YIELD, DEFAULT_TIMEOUT, DEFAULT_SECTION_TIMEOUT, null, null, null,
            DEFAULT_CHECKPOINTS, DEFAULT_PEER_TIMEOUT, true, true);
    }

    /**
     * @return the settings read from {@link System#getenv()}.
     * @throws InvalidConfigurationException naming the variable and value when one is malformed.
     */
    public static AcceleratorSettings fromEnvironment()
    {
        return fromEnvironment(System.getenv());
    }

    /**
     * @param env environment variables, usually {@link System#getenv()}.
     * @return the settings read from them.
     * @throws InvalidConfigurationException naming the variable and value when one is malformed.
     */
    public static AcceleratorSettings fromEnvironment(final Map<String, String> env)
    {
        WaitStrategy wait = WaitStrategy.YIELD;
        final String waitValue = env.get("ACCELERATE_WAIT");
        if (waitValue != null && !waitValue.isBlank())
        {
            try
            {
                wait = WaitStrategy.valueOf(waitValue.trim().toUpperCase(Locale.ROOT));
            }
            catch (final IllegalArgumentException ex)
            {
                throw new InvalidConfigurationException(
                    "ACCELERATE_WAIT='" + waitValue + "' must be one of yield, spin, backoff");
            }
        }

        final Duration timeout = seconds(env, "ACCELERATE_TIMEOUT_SECONDS", DEFAULT_TIMEOUT);
        final Duration sectionTimeout = seconds(env, "ACCELERATE_SECTION_TIMEOUT_SECONDS", DEFAULT_SECTION_TIMEOUT);

        return new AcceleratorSettings(
            wait, timeout, sectionTimeout, blankToNull(env.get("ACCELERATE_AERON_DIR")), blankToNull(env.get("ACCELERATE_JOB_TOKEN")),
            blankToNull(env.get("ACCELERATE_BIND_ADDRESS")),
            env.containsKey("ACCELERATE_CHECKPOINT_DIR") && !env.get("ACCELERATE_CHECKPOINT_DIR").isBlank() ?
                Path.of(env.get("ACCELERATE_CHECKPOINT_DIR").trim()) : DEFAULT_CHECKPOINTS,
            millis(env, "ACCELERATE_PEER_TIMEOUT_MS", DEFAULT_PEER_TIMEOUT, MIN_PEER_TIMEOUT),
            bool(env, "ACCELERATE_EXIT_ON_PEER_LOSS", true),
            bool(env, "ACCELERATE_ALIGN_GC", true));
    }

    private static Duration millis(
        final Map<String, String> env, final String name, final Duration defaultValue, final Duration least)
    {
        final String value = env.get(name);
        if (value == null || value.isBlank())
        {
            return defaultValue;
        }
        final Duration duration;
        try
        {
            duration = Duration.ofMillis(Long.parseLong(value.trim()));
        }
        catch (final NumberFormatException ex)
        {
            throw new InvalidConfigurationException(name + "='" + value + "' is not a whole number of milliseconds");
        }
        if (duration.compareTo(least) < 0)
        {
            throw new InvalidConfigurationException(name + "='" + value + "' must be at least " + least.toMillis() +
                " ms (heartbeats go every 100 ms)");
        }
        return duration;
    }

    private static boolean bool(final Map<String, String> env, final String name, final boolean defaultValue)
    {
        final String value = env.get(name);
        if (value == null || value.isBlank())
        {
            return defaultValue;
        }
        return switch (value.trim().toLowerCase(Locale.ROOT))
        {
            case "true", "1", "yes" -> true;
            case "false", "0", "no" -> false;
            default -> throw new InvalidConfigurationException(name + "='" + value + "' must be true or false");
        };
    }

    private static Duration seconds(final Map<String, String> env, final String name, final Duration defaultValue)
    {
        final String value = env.get(name);
        if (value == null || value.isBlank())
        {
            return defaultValue;
        }
        final double seconds;
        try
        {
            seconds = Double.parseDouble(value.trim());
        }
        catch (final NumberFormatException ex)
        {
            throw new InvalidConfigurationException(name + "='" + value + "' is not a number of seconds");
        }
        if (!(seconds >= 0.001) || Double.isInfinite(seconds))
        {
            throw new InvalidConfigurationException(name + "='" + value + "' must be a finite number of seconds, at least 0.001");
        }
        return Duration.ofNanos((long)(seconds * 1e9));
    }

    private static String blankToNull(final String value)
    {
        return value == null || value.isBlank() ? null : value.trim();
    }

    /**
     * @param waitStrategy how to wait for peers.
     * @return a copy with the given wait strategy.
     */
    public AcceleratorSettings withWaitStrategy(final WaitStrategy waitStrategy)
    {
        return new AcceleratorSettings(waitStrategy, timeout, sectionTimeout, aeronDirectory, jobToken, bindAddress,
            checkpointDirectory, peerTimeout, exitOnPeerLoss, alignCollections);
    }

    /**
     * @param timeout deadline of every collective; positive.
     * @return a copy with the given deadline.
     */
    public AcceleratorSettings withTimeout(final Duration timeout)
    {
        return new AcceleratorSettings(waitStrategy, timeout, sectionTimeout, aeronDirectory, jobToken, bindAddress,
            checkpointDirectory, peerTimeout, exitOnPeerLoss, alignCollections);
    }

    /**
     * @param sectionTimeout how long the other processes wait for the main process's body in
     *                       {@code mainProcessFirst}; positive.
     * @return a copy with the given section deadline.
     */
    public AcceleratorSettings withSectionTimeout(final Duration sectionTimeout)
    {
        return new AcceleratorSettings(waitStrategy, timeout, sectionTimeout, aeronDirectory, jobToken, bindAddress,
            checkpointDirectory, peerTimeout, exitOnPeerLoss, alignCollections);
    }

    /**
     * @param aeronDirectory directory of a running media driver to use, or null to run one in this process.
     * @return a copy using the given driver.
     */
    public AcceleratorSettings withAeronDirectory(final String aeronDirectory)
    {
        return new AcceleratorSettings(waitStrategy, timeout, sectionTimeout, aeronDirectory, jobToken, bindAddress,
            checkpointDirectory, peerTimeout, exitOnPeerLoss, alignCollections);
    }

    /**
     * @param jobToken the job's token, identical on every rank, or null to derive one from the master address.
     * @return a copy with the given token.
     */
    public AcceleratorSettings withJobToken(final String jobToken)
    {
        return new AcceleratorSettings(waitStrategy, timeout, sectionTimeout, aeronDirectory, jobToken, bindAddress,
            checkpointDirectory, peerTimeout, exitOnPeerLoss, alignCollections);
    }

    /**
     * @param checkpointDirectory where {@code saveState()} and {@code loadState()} without an argument keep checkpoints.
     * @return a copy with the given folder.
     */
    public AcceleratorSettings withCheckpointDirectory(final Path checkpointDirectory)
    {
        return new AcceleratorSettings(waitStrategy, timeout, sectionTimeout, aeronDirectory, jobToken, bindAddress,
            checkpointDirectory, peerTimeout, exitOnPeerLoss, alignCollections);
    }

    /**
     * @param peerTimeout how long a peer may stay silent before it counts as lost; at least 200 ms.
     * @return a copy with the given peer timeout.
     */
    public AcceleratorSettings withPeerTimeout(final Duration peerTimeout)
    {
        return new AcceleratorSettings(waitStrategy, timeout, sectionTimeout, aeronDirectory, jobToken, bindAddress,
            checkpointDirectory, peerTimeout, exitOnPeerLoss, alignCollections);
    }

    /**
     * @param exitOnPeerLoss whether a process not in a collective when a peer is lost ends itself.
     * @return a copy with the given choice.
     */
    public AcceleratorSettings withExitOnPeerLoss(final boolean exitOnPeerLoss)
    {
        return new AcceleratorSettings(waitStrategy, timeout, sectionTimeout, aeronDirectory, jobToken, bindAddress,
            checkpointDirectory, peerTimeout, exitOnPeerLoss, alignCollections);
    }

    /**
     * @param alignCollections whether data-parallel training brings every rank's young garbage collection to the
     *                         same step.
     * @return a copy with the given choice.
     */
    public AcceleratorSettings withAlignedCollections(final boolean alignCollections)
    {
        return new AcceleratorSettings(waitStrategy, timeout, sectionTimeout, aeronDirectory, jobToken, bindAddress,
            checkpointDirectory, peerTimeout, exitOnPeerLoss, alignCollections);
    }

    /**
     * @return whether data-parallel training brings every rank's young garbage collection to the same step.
     */
    public boolean alignCollections()
    {
        return alignCollections;
    }

    /**
     * @return how long a peer may stay silent before it counts as lost.
     */
    public Duration peerTimeout()
    {
        return peerTimeout;
    }

    /**
     * @return whether a process not in a collective when a peer is lost ends itself.
     */
    public boolean exitOnPeerLoss()
    {
        return exitOnPeerLoss;
    }

    /**
     * @return where {@code saveState()} and {@code loadState()} without an argument keep checkpoints.
     */
    public Path checkpointDirectory()
    {
        return checkpointDirectory;
    }

    /**
     * @return how a rank waits for its peers.
     */
    public WaitStrategy waitStrategy()
    {
        return waitStrategy;
    }

    /**
     * @return the deadline of every collective.
     */
    public Duration timeout()
    {
        return timeout;
    }

    /**
     * @return how long the other processes wait for the main process's body in {@code mainProcessFirst}.
     */
    public Duration sectionTimeout()
    {
        return sectionTimeout;
    }

    /**
     * @return the directory of the media driver shared by this host's ranks, or null to run one in-process.
     */
    public String aeronDirectory()
    {
        return aeronDirectory;
    }

    /**
     * @return the job token, or null to derive one from the master address.
     */
    public String jobToken()
    {
        return jobToken;
    }

    /**
     * @return the local address UDP endpoints bind to, or null for the one that reaches the master.
     */
    public String bindAddress()
    {
        return bindAddress;
    }

    public String toString()
    {
        return "wait=" + waitStrategy.name().toLowerCase(Locale.ROOT) + ", timeout=" + timeout.toMillis() + "ms" +
            (aeronDirectory == null ? ", own media driver" : ", media driver " + aeronDirectory);
    }
}
