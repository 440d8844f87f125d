package dev.dl4j.accelerate.benchmarks;

import java.nio.ByteBuffer;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

import dev.dl4j.accelerate.internal.transport.MediaDrivers;
import dev.dl4j.accelerate.internal.transport.UdpChannels;
import io.aeron.Aeron;
import io.aeron.ExclusivePublication;
import io.aeron.FragmentAssembler;
import io.aeron.Subscription;
import io.aeron.driver.MediaDriver;
import io.aeron.logbuffer.FragmentHandler;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * One-way Aeron UDP throughput between two processes (two hosts, or two network namespaces), each with a media
 * driver configured as the launcher's, sending 128 KiB messages (what the ring all-reduce sends) as fast as the
 * stream takes them. Profile {@code tuned} uses the project's channels ({@link UdpChannels}: 64 KiB datagrams,
 * 4 MiB socket buffers, a 2 MiB receiver window); {@code plain} the channels before tuning (Aeron's 1408-byte
 * datagrams, the kernel's default socket buffers, Aeron's 128 KiB window), same 4 MiB terms. The receiver prints
 * {@code RESULT <profile> <GB/s>}.
 *
 * <pre>
 * # receiver first, then the sender, e.g. in two network namespaces joined by a veth pair:
 * ip netns exec a java --add-exports java.base/jdk.internal.misc=ALL-UNNAMED -cp CLASSPATH \
 *     dev.dl4j.accelerate.benchmarks.UdpThroughput receive 10.0.0.1:40123 tuned 10
 * ip netns exec b java --add-exports java.base/jdk.internal.misc=ALL-UNNAMED -cp CLASSPATH \
 *     dev.dl4j.accelerate.benchmarks.UdpThroughput send 10.0.0.1:40123 10.0.0.2 tuned 10
 * </pre>
 */
public final class UdpThroughput
{
    private static final int STREAM_ID = 7;
    private static final int MESSAGE_LENGTH = 128 * 1024;
    private static final long WARM_UP_NS = TimeUnit.SECONDS.toNanos(2);
    /** How long either side waits for the other before giving up: it may not have started at all. */
    private static final long CONNECT_TIMEOUT_NS = TimeUnit.SECONDS.toNanos(30);
    private static final String USAGE = "usage: UdpThroughput receive <address:port> <plain|tuned> <seconds> | " +
        "send <address:port> <local address> <plain|tuned> <seconds>";

    private UdpThroughput()
    {
    }

    /**
     * @param args {@code receive <address:port> <plain|tuned> <seconds>} or
     *             {@code send <address:port> <local address> <plain|tuned> <seconds>}; anything else is refused
     *             naming what was given.
     */
    public static void main(final String[] args) throws InterruptedException
    {
        final boolean receive = args.length > 0 && "receive".equals(args[0]);
        if (args.length != (receive ? 4 : 5) || !receive && !"send".equals(args[0]))
        {
            throw new IllegalArgumentException(USAGE + "; got: " + String.join(" ", args));
        }
        final String profile = args[receive ? 2 : 3];
        if (!"tuned".equals(profile) && !"plain".equals(profile))
        {
            throw new IllegalArgumentException("profile '" + profile + "' is neither plain nor tuned; " + USAGE);
        }
        final boolean tuned = "tuned".equals(profile);
        final String secondsText = args[receive ? 3 : 4];
        final long seconds;
        try
        {
            seconds = Long.parseLong(secondsText);
        }
        catch (final NumberFormatException ex)
        {
            throw new IllegalArgumentException("seconds '" + secondsText + "' is not a whole number; " + USAGE, ex);
        }
        if (seconds < 1)
        {
            throw new IllegalArgumentException("seconds=" + seconds + " must be at least 1; " + USAGE);
        }
        final String directory = MediaDrivers.newDirectory("bench");
        try (MediaDriver driver = MediaDrivers.launch(directory);
            Aeron aeron = Aeron.connect(new Aeron.Context().aeronDirectoryName(directory)))
        {
            if (receive)
            {
                receive(aeron, tuned ? UdpChannels.subscription(args[1]) : "aeron:udp?endpoint=" + args[1],
                    tuned ? "tuned" : "plain", seconds);
            }
            else
            {
                send(aeron, tuned ? UdpChannels.publication(args[1], args[2] + ":0") :
                    "aeron:udp?endpoint=" + args[1] + "|interface=" + args[2] + ":0|term-length=" +
                    MediaDrivers.UDP_TERM_LENGTH + "|sparse=false", seconds);
            }
        }
    }

    private static void receive(final Aeron aeron, final String channel, final String profile, final long seconds)
    {
        final long[] bytes = { 0 };
        final FragmentHandler counter = new FragmentAssembler((buffer, offset, length, header) -> bytes[0] += length);
        final IdleStrategy idle = new BackoffIdleStrategy();
        try (Subscription subscription = aeron.addSubscription(channel, STREAM_ID))
        {
            final long connectDeadlineNs = System.nanoTime() + CONNECT_TIMEOUT_NS;
            while (subscription.imageCount() == 0)
            {
                checkDeadline(connectDeadlineNs, "no sender reached " + channel);
                idle.idle();
            }
            final long warmEndNs = System.nanoTime() + WARM_UP_NS;
            while (System.nanoTime() < warmEndNs)
            {
                idle.idle(subscription.poll(counter, 256));
            }
            bytes[0] = 0;
            final long startNs = System.nanoTime();
            final long endNs = startNs + TimeUnit.SECONDS.toNanos(seconds);
            while (System.nanoTime() < endNs)
            {
                idle.idle(subscription.poll(counter, 256));
            }
            final double elapsed = (System.nanoTime() - startNs) / 1e9;
            System.out.println(String.format(Locale.ROOT, "RESULT %s %.3f GB/s (%d MiB in %.1f s, %s)", profile,
                bytes[0] / elapsed / 1e9, bytes[0] >> 20, elapsed, channel));
        }
    }

    private static void send(final Aeron aeron, final String channel, final long seconds) throws InterruptedException
    {
        final UnsafeBuffer message = new UnsafeBuffer(ByteBuffer.allocateDirect(MESSAGE_LENGTH));
        final IdleStrategy idle = new BackoffIdleStrategy();
        try (ExclusivePublication publication = aeron.addExclusivePublication(channel, STREAM_ID))
        {
            final long connectDeadlineNs = System.nanoTime() + CONNECT_TIMEOUT_NS;
            while (!publication.isConnected())
            {
                checkDeadline(connectDeadlineNs, "no receiver answered on " + channel);
                idle.idle();
            }
            final long endNs = System.nanoTime() + WARM_UP_NS + TimeUnit.SECONDS.toNanos(seconds + 1);
            while (System.nanoTime() < endNs)
            {
                idle.idle(publication.offer(message) > 0 ? 1 : 0);
            }
        }
    }

    private static void checkDeadline(final long deadlineNs, final String what)
    {
        if (System.nanoTime() - deadlineNs > 0)
        {
            throw new IllegalStateException(what + " within " + TimeUnit.NANOSECONDS.toSeconds(CONNECT_TIMEOUT_NS) +
                " s: is the other side running, and can it reach this address?");
        }
    }
}
