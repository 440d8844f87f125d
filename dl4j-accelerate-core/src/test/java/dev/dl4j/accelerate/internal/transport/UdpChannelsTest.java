package dev.dl4j.accelerate.internal.transport;

import java.io.InputStream;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import io.aeron.Aeron;
import io.aeron.ExclusivePublication;
import io.aeron.FragmentAssembler;
import io.aeron.Subscription;
import io.aeron.driver.MediaDriver;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class UdpChannelsTest
{
    private static final UdpChannels.KernelLimits ROOMY = new UdpChannels.KernelLimits(8 << 20, 8 << 20);
    private static final UdpChannels.KernelLimits DEFAULT_LINUX = new UdpChannels.KernelLimits(212992, 212992);

    @Test
    void shouldPickFreePortsOutsideTheEphemeralRange() throws Exception
    {
        final int[] ephemeral = UdpChannels.ephemeralRange(Path.of("/proc/sys/net/ipv4/ip_local_port_range"));
        for (int i = 0; i < 20; i++)
        {
            final int port = UdpChannels.freePort(InetAddress.getLoopbackAddress());
            assertTrue(port < ephemeral[0] || port > ephemeral[1], port + " is in " + ephemeral[0] + "-" + ephemeral[1]);
            // Free: it binds.
            new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), port)).close();
        }
    }

    @Test
    void shouldReadTheEphemeralRangeOrAssumeLinuxDefault(@TempDir final Path dir) throws Exception
    {
        final Path range = dir.resolve("ip_local_port_range");
        Files.writeString(range, "10000\t20000\n");
        assertArrayEquals(new int[] { 10000, 20000 }, UdpChannels.ephemeralRange(range));
        Files.writeString(range, "garbage\n");
        assertArrayEquals(new int[] { 32768, 60999 }, UdpChannels.ephemeralRange(range));
        assertArrayEquals(new int[] { 32768, 60999 }, UdpChannels.ephemeralRange(dir.resolve("absent")));
    }

    @Test
    void shouldAskForLargeDatagramsBuffersAndWindowWhenTheKernelAllows()
    {
        assertEquals("aeron:udp?endpoint=10.0.0.2:0|so-rcvbuf=4194304|rcv-wnd=2097152",
            UdpChannels.subscription("10.0.0.2:0", ROOMY));
        assertEquals("aeron:udp?endpoint=10.0.0.3:4000|interface=10.0.0.2:0|term-length=4194304|sparse=false" +
            "|mtu=65504|so-sndbuf=4194304", UdpChannels.publication("10.0.0.3:4000", "10.0.0.2:0", ROOMY));
        assertNull(UdpChannels.kernelLimitWarning(ROOMY));
    }

    @Test
    void shouldKeepTheWindowWithinWhatTheKernelGrantsAndSayHowToRaiseIt()
    {
        assertEquals("aeron:udp?endpoint=10.0.0.2:0|so-rcvbuf=212992|rcv-wnd=212992",
            UdpChannels.subscription("10.0.0.2:0", DEFAULT_LINUX));
        assertTrue(UdpChannels.publication("10.0.0.3:4000", "10.0.0.2:0", DEFAULT_LINUX).endsWith("|so-sndbuf=212992"));
        final String warning = UdpChannels.kernelLimitWarning(DEFAULT_LINUX);
        assertTrue(warning.contains("net.core.rmem_max=212992 and net.core.wmem_max=212992"), warning);
        assertTrue(warning.contains("sysctl -w net.core.rmem_max=4194304 net.core.wmem_max=4194304"), warning);
    }

    @Test
    void shouldReadTheLimitsFromProcAndAssumeNoneWhereItIsMissing(@TempDir final Path netCore) throws Exception
    {
        Files.writeString(netCore.resolve("rmem_max"), "212992\n");
        Files.writeString(netCore.resolve("wmem_max"), "4194304\n");
        assertEquals(new UdpChannels.KernelLimits(212992, 4194304), UdpChannels.KernelLimits.read(netCore));
        assertEquals(UdpChannels.KernelLimits.UNKNOWN, UdpChannels.KernelLimits.read(netCore.resolve("absent")));
        assertNull(UdpChannels.kernelLimitWarning(UdpChannels.KernelLimits.UNKNOWN));
    }

    @Test
    void shouldReadTheKernelsOwnFilesWhole() throws Exception
    {
        final Path netCore = Path.of("/proc/sys/net/core");
        Assumptions.assumeTrue(Files.isReadable(netCore.resolve("rmem_max")), "no /proc/sys/net/core here");
        try (InputStream in = Files.newInputStream(netCore.resolve("rmem_max")))
        {
            final int whole = Integer.parseInt(new String(in.readNBytes(64), StandardCharsets.US_ASCII).trim());
            assertEquals(whole, UdpChannels.KernelLimits.read(netCore).receiveMax());
        }
    }

    @Test
    void shouldCarryAMessageLargerThanTheWindowOverTheTunedChannelsEvenWithTheKernelDefaults()
    {
        final String directory = MediaDrivers.newDirectory("test");
        try (MediaDriver driver = MediaDrivers.launch(directory);
            Aeron aeron = Aeron.connect(new Aeron.Context().aeronDirectoryName(directory)))
        {
            for (final UdpChannels.KernelLimits limits : new UdpChannels.KernelLimits[] { ROOMY, DEFAULT_LINUX })
            {
                try (Subscription subscription = aeron.addSubscription(UdpChannels.subscription("127.0.0.1:0", limits), 7))
                {
                    final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                    while (subscription.localSocketAddresses().isEmpty())
                    {
                        assertTrue(System.nanoTime() < deadline, "the driver never bound " + subscription.channel());
                        Thread.onSpinWait();
                    }
                    try (ExclusivePublication publication = aeron.addExclusivePublication(UdpChannels.publication(
                        subscription.localSocketAddresses().get(0), "127.0.0.1:0", limits), 7))
                    {
                        final UnsafeBuffer message = new UnsafeBuffer(ByteBuffer.allocateDirect(300_000));
                        message.setMemory(0, message.capacity(), (byte)7);
                        while (publication.offer(message) < 0)
                        {
                            assertTrue(System.nanoTime() < deadline, "the 300 KB message was never accepted");
                            Thread.onSpinWait();
                        }
                        final int[] received = { 0 };
                        final FragmentAssembler assembler =
                            new FragmentAssembler((buffer, offset, length, header) -> received[0] = length);
                        while (received[0] == 0)
                        {
                            assertTrue(System.nanoTime() < deadline, "the 300 KB message never arrived");
                            subscription.poll(assembler, 10);
                        }
                        assertEquals(300_000, received[0]);
                    }
                }
            }
        }
    }
}
