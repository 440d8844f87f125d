package dev.dl4j.accelerate.internal.transport;

import java.io.File;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.aeron.AeronCounters;
import io.aeron.driver.MediaDriver;
import io.aeron.driver.ThreadingMode;
import org.agrona.IoUtil;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.status.CountersReader;

/**
 * The one way this project configures an Aeron media driver, whether the launcher runs it for a host or a
 * worker started without the launcher runs its own.
 */
public final class MediaDrivers
{
    /** IPC term length: the default 64 MiB adds page-fault tails of 20-40 µs; 1 MiB does not. */
    public static final int IPC_TERM_LENGTH = 1024 * 1024;
    /** UDP term length: large enough for several in-flight chunks of a value. */
    public static final int UDP_TERM_LENGTH = 4 * 1024 * 1024;

    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Pattern DIRECTORY_NAME = Pattern.compile("dl4j-accelerate-[a-z0-9]+-(\\d{1,10})-[0-9a-f]{12}");

    private MediaDrivers()
    {
    }

    /**
     * @param tag short label that makes the directory recognisable, e.g. {@code launcher}.
     * @return a fresh directory path for a driver, in shared memory when the host has it.
     */
    public static String newDirectory(final String tag)
    {
        final File shm = new File("/dev/shm");
        final String parent = shm.isDirectory() && shm.canWrite() ? shm.getPath() : System.getProperty("java.io.tmpdir");
        sweepOrphans(new File(parent));
        final byte[] suffix = new byte[6];
        RANDOM.nextBytes(suffix);
        return new File(parent, "dl4j-accelerate-" + tag + "-" + ProcessHandle.current().pid() + "-" +
            HexFormat.of().formatHex(suffix)).getPath();
    }

    /**
     * Removes driver directories whose process is gone: a launcher or worker killed with SIGKILL cannot remove
     * its own, and each holds megabytes of shared memory.
     */
    static void sweepOrphans(final File parent)
    {
        final File[] entries = parent.listFiles((dir, name) -> name.startsWith("dl4j-accelerate-"));
        if (entries == null)
        {
            return;
        }
        for (final File entry : entries)
        {
            final Matcher matcher = DIRECTORY_NAME.matcher(entry.getName());
            if (matcher.matches() && ProcessHandle.of(Long.parseLong(matcher.group(1))).isEmpty())
            {
                IoUtil.delete(entry, true);
            }
        }
    }

    /**
     * Waits, boundedly, until a driver in this JVM holds no UDP publication. Aeron removes a closed publication
     * once everything in it was sent and its receiver acknowledged the end of the stream, which includes
     * retransmitting whatever the network lost; or, when the receiver is gone, after its linger time. Closing the
     * driver earlier would take the retransmission of a lost last datagram with it, and the rank on the other
     * host waiting for that datagram would wait until its deadline.
     *
     * @param driver    a driver launched by {@link #launch(String)}, whose clients have closed their publications.
     * @param timeoutNs the longest to wait.
     * @return true if no UDP publication remains.
     */
    public static boolean awaitNetworkPublicationsDone(final MediaDriver driver, final long timeoutNs)
    {
        final CountersReader counters = driver.context().countersManager();
        final long deadlineNs = System.nanoTime() + timeoutNs;
        final IdleStrategy idle = new BackoffIdleStrategy();
        while (hasNetworkPublication(counters))
        {
            if (System.nanoTime() - deadlineNs > 0)
            {
                return false;
            }
            idle.idle();
        }
        return true;
    }

    private static boolean hasNetworkPublication(final CountersReader counters)
    {
        final boolean[] found = { false };
        counters.forEach((counterId, typeId, key, label) ->
            found[0] |= typeId == AeronCounters.DRIVER_SENDER_POSITION_TYPE_ID);
        return found[0];
    }

    /**
     * Aeron's threads (the client's conductor, a driver of a worker's own) must not keep a worker's JVM alive: a
     * {@code main} that ends, by an exception or a return, without closing its {@code Accelerator} would otherwise
     * leave the process running for ever, alive to its launcher and to the heartbeats, holding up its peers until
     * their deadlines and its launcher for good. Daemon threads let the JVM end; the peers learn it at once.
     *
     * @param task what the thread runs.
     * @return a daemon thread for it.
     */
    static Thread daemon(final Runnable task)
    {
        final Thread thread = new Thread(task);
        thread.setDaemon(true);
        return thread;
    }

    /**
     * Starts a driver in this JVM. It deletes its directory when closed.
     *
     * @param directory from {@link #newDirectory(String)}.
     * @return the running driver; close it to stop it.
     */
    public static MediaDriver launch(final String directory)
    {
        final MediaDriver.Context context = new MediaDriver.Context()
            .aeronDirectoryName(directory)
            .dirDeleteOnStart(true)
            .dirDeleteOnShutdown(true)
            // One thread for conductor, sender and receiver: workers already take the cores, and on IPC the
            // driver's only job is to advance publisher limits, which backoff idling does promptly enough.
            .threadingMode(ThreadingMode.SHARED)
            .sharedIdleStrategy(new BackoffIdleStrategy())
            .ipcTermBufferLength(IPC_TERM_LENGTH)
            .publicationTermBufferLength(UDP_TERM_LENGTH)
            // Pre-fault the log buffers so the first messages do not pay for page faults.
            .termBufferSparseFile(false)
            // Long stop-the-world pauses (ND4J calls System.gc()) must not make the driver drop a client or a
            // peer's stream; a dead peer is a matter for the collectives' own deadlines.
            .clientLivenessTimeoutNs(TimeUnit.SECONDS.toNanos(60))
            .publicationUnblockTimeoutNs(TimeUnit.SECONDS.toNanos(75))
            .imageLivenessTimeoutNs(TimeUnit.SECONDS.toNanos(60))
            .warnIfDirectoryExists(false)
            .sharedThreadFactory(MediaDrivers::daemon);
        return MediaDriver.launch(context);
    }
}
