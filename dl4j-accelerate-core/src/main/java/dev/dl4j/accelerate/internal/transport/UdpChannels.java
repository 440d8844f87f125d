package dev.dl4j.accelerate.internal.transport;

import java.io.IOException;
import java.io.PrintStream;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The Aeron UDP channels between hosts, tuned for throughput, and the kernel limits that cap them.
 *
 * <p>Aeron's defaults (1408-byte datagrams, the kernel's default socket buffers, a 128 KiB receiver window) gave
 * 0.24 GB/s one way between two processes on loopback, 0.20 GB/s between network namespaces over a veth with a
 * 1500-byte MTU; these channels give 1.9 and 0.54 GB/s (benchmarks/RESULTS.md). A datagram larger than the link's MTU travels as IP fragments, and losing
 * one fragment loses the datagram; Aeron then retransmits it, so nothing is lost, only time on a lossy link.
 *
 * <p>Linux silently caps socket buffers at {@code net.core.rmem_max} / {@code net.core.wmem_max} (often 208 KiB).
 * A receiver window larger than the socket buffer would invite the sender to overrun it, so the window follows
 * the cap, and {@link #warnIfKernelCapsBuffers(PrintStream)} says once per process how to raise it.
 */
public final class UdpChannels
{
    /** Largest datagram payload Aeron sends (a UDP datagram holds 65,507 bytes; Aeron aligns frames to 32). */
    public static final int MTU_LENGTH = 65504;
    /** Socket send and receive buffers asked of the kernel, and the receiver window when the kernel allows. */
    public static final int SOCKET_BUFFER_LENGTH = 4 * 1024 * 1024;
    /** Aeron caps a receiver window at half a term: the window actually used. */
    public static final int RECEIVER_WINDOW_LENGTH = Math.min(SOCKET_BUFFER_LENGTH, MediaDrivers.UDP_TERM_LENGTH / 2);
    /** Below this the window would not hold two full datagrams; Aeron's own default window. */
    static final int MIN_BUFFER_LENGTH = 128 * 1024;

    private static final Path PROC_NET_CORE = Path.of("/proc/sys/net/core");
    private static final Path PROC_LOCAL_PORT_RANGE = Path.of("/proc/sys/net/ipv4/ip_local_port_range");
    /** The lowest port {@link #freePort} picks: above the ports of most well-known services. */
    private static final int FIRST_PICKED_PORT = 20000;
    private static final AtomicBoolean WARNED = new AtomicBoolean();
    private static volatile KernelLimits kernelLimits;

    private UdpChannels()
    {
    }

    /**
     * The largest socket buffers this host's kernel grants an unprivileged socket.
     *
     * @param receiveMax {@code net.core.rmem_max} in bytes, or {@link Integer#MAX_VALUE} if unknown.
     * @param sendMax    {@code net.core.wmem_max} in bytes, or {@link Integer#MAX_VALUE} if unknown.
     */
    record KernelLimits(int receiveMax, int sendMax)
    {
        static final KernelLimits UNKNOWN = new KernelLimits(Integer.MAX_VALUE, Integer.MAX_VALUE);

        static KernelLimits read(final Path netCore)
        {
            return new KernelLimits(readInt(netCore.resolve("rmem_max")), readInt(netCore.resolve("wmem_max")));
        }

        private static int readInt(final Path file)
        {
            try
            {
                // One read into a large buffer: Files.readString reads a byte first, and these /proc files then
                // answer the read at offset 1 with end-of-file ("4" for 4194304).
                return Integer.parseInt(Files.readAllLines(file).get(0).trim());
            }
            catch (final IOException | RuntimeException ex)
            {
                // Not Linux, or /proc hidden: nothing to adapt to, and nothing to warn about.
                return Integer.MAX_VALUE;
            }
        }

        int receiveBuffer()
        {
            return Math.max(MIN_BUFFER_LENGTH, Math.min(SOCKET_BUFFER_LENGTH, receiveMax));
        }

        int sendBuffer()
        {
            return Math.max(MIN_BUFFER_LENGTH, Math.min(SOCKET_BUFFER_LENGTH, sendMax));
        }

        int receiverWindow()
        {
            return Math.min(RECEIVER_WINDOW_LENGTH, receiveBuffer());
        }

        boolean capped()
        {
            return receiveMax < SOCKET_BUFFER_LENGTH || sendMax < SOCKET_BUFFER_LENGTH;
        }
    }

    static KernelLimits kernelLimits()
    {
        KernelLimits limits = kernelLimits;
        if (limits == null)
        {
            limits = KernelLimits.read(PROC_NET_CORE);
            kernelLimits = limits;
        }
        return limits;
    }

    /**
     * @param endpoint {@code address:port} to receive on; port 0 for any free one.
     * @return the channel of a rank's UDP subscription.
     */
    public static String subscription(final String endpoint)
    {
        return subscription(endpoint, kernelLimits());
    }

    static String subscription(final String endpoint, final KernelLimits limits)
    {
        return "aeron:udp?endpoint=" + endpoint + "|so-rcvbuf=" + limits.receiveBuffer() +
            "|rcv-wnd=" + limits.receiverWindow();
    }

    /**
     * @param endpoint    the peer's {@code address:port}.
     * @param bindAddress the local {@code address:port} to send from (port 0 for any), so that nothing listens on
     *                    any other interface: a publication's socket also receives its receivers' status messages.
     * @return the channel of a publication to a rank on another host.
     */
    public static String publication(final String endpoint, final String bindAddress)
    {
        return publication(endpoint, bindAddress, kernelLimits());
    }

    static String publication(final String endpoint, final String bindAddress, final KernelLimits limits)
    {
        return "aeron:udp?endpoint=" + endpoint + "|interface=" + bindAddress + "|term-length=" +
            MediaDrivers.UDP_TERM_LENGTH + "|sparse=false|mtu=" + MTU_LENGTH + "|so-sndbuf=" + limits.sendBuffer();
    }

    /**
     * Prints, at most once per process, how to raise the kernel's socket buffer limits when they are below
     * {@link #SOCKET_BUFFER_LENGTH}. Called by whoever runs a media driver that carries traffic between hosts.
     *
     * @param err where to print.
     * @return true if this call printed the warning.
     */
    public static boolean warnIfKernelCapsBuffers(final PrintStream err)
    {
        final String warning = kernelLimitWarning(kernelLimits());
        if (warning == null || !WARNED.compareAndSet(false, true))
        {
            return false;
        }
        err.println(warning);
        return true;
    }

    static String kernelLimitWarning(final KernelLimits limits)
    {
        if (!limits.capped())
        {
            return null;
        }
        return "dl4j-accelerate: warning: the kernel caps UDP socket buffers at net.core.rmem_max=" + limits.receiveMax() +
            " and net.core.wmem_max=" + limits.sendMax() + " bytes, below the " + SOCKET_BUFFER_LENGTH + " asked for: " +
            "traffic between hosts runs with a " + limits.receiverWindow() / 1024 + " KiB receiver window and " +
            "less throughput. Raise the limits on every host (as root): sysctl -w net.core.rmem_max=" +
            SOCKET_BUFFER_LENGTH + " net.core.wmem_max=" + SOCKET_BUFFER_LENGTH +
            " (and keep them in /etc/sysctl.d/ to survive a reboot)";
    }

    /**
     * A UDP port that is free on {@code address} now and lies outside the kernel's ephemeral range, for a job's
     * rendezvous when the user asks for any port. A port taken by binding port 0 and released would come from that
     * range, from which the kernel also hands ports to every socket bound to port 0 (Aeron's channels among them):
     * one of them could take it before rank 0 binds it, and the job would fail at its start.
     *
     * @param address where rank 0 will listen.
     * @return the port; one from the ephemeral range only if no other is free.
     * @throws SocketException if no port at all can be bound on the address.
     */
    public static int freePort(final InetAddress address) throws SocketException
    {
        final int[] ephemeral = ephemeralRange(PROC_LOCAL_PORT_RANGE);
        // Below the range when it leaves room there (Linux: 32768-60999), else above it.
        final boolean below = ephemeral[0] - 1 >= FIRST_PICKED_PORT + 1024;
        final int low = below ? FIRST_PICKED_PORT : ephemeral[1] + 1;
        final int high = below ? ephemeral[0] - 1 : 65535;
        final ThreadLocalRandom random = ThreadLocalRandom.current();
        for (int attempt = 0; attempt < 64 && high - low >= 1024; attempt++)
        {
            final int port = random.nextInt(low, high + 1);
            try (DatagramSocket socket = new DatagramSocket(new InetSocketAddress(address, port)))
            {
                return socket.getLocalPort();
            }
            catch (final SocketException ex)
            {
                // Taken: try another.
            }
        }
        try (DatagramSocket socket = new DatagramSocket(new InetSocketAddress(address, 0)))
        {
            return socket.getLocalPort();
        }
    }

    /**
     * @return the first and last port of the kernel's ephemeral range, from {@code ip_local_port_range}; Linux's
     *         default, 32768-60999, if it cannot be read.
     */
    static int[] ephemeralRange(final Path localPortRange)
    {
        try
        {
            // Read as lines, as KernelLimits does: one read, which these /proc files need.
            final String[] parts = Files.readAllLines(localPortRange).get(0).trim().split("\\s+");
            if (parts.length == 2)
            {
                final int first = Integer.parseInt(parts[0]);
                final int last = Integer.parseInt(parts[1]);
                if (first >= 1 && first <= last && last <= 65535)
                {
                    return new int[] { first, last };
                }
            }
        }
        catch (final IOException | RuntimeException ex)
        {
            // Not Linux, or an unreadable file: assume Linux's default.
        }
        return new int[] { 32768, 60999 };
    }
}
