package dev.dl4j.accelerate.internal.transport;

import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

import dev.dl4j.accelerate.AcceleratorSettings;
import dev.dl4j.accelerate.ProcessTopology;
import io.aeron.Aeron;
import io.aeron.ExclusivePublication;
import io.aeron.driver.MediaDriver;
import org.agrona.CloseHelper;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.YieldingIdleStrategy;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Frames that are not the job's are dropped before anything reads them, counted by reason, and never reach a
 * collective: another token, too short for a header, or (with the token) a source that is not a peer.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class DroppedFramesTest
{
    private static final String JOB_TOKEN = "dropped-frames-test";
    private static final long TOKEN = Frame.tokenHash(JOB_TOKEN);
    private static final long DEADLINE_NS = TimeUnit.SECONDS.toNanos(20);

    private final ExecutorService threads = Executors.newFixedThreadPool(2);
    private final UnsafeBuffer frame = new UnsafeBuffer(ByteBuffer.allocateDirect(256));
    private MediaDriver driver;
    private Aeron forger;
    private AeronTransport rank0;
    private AeronTransport rank1;

    @AfterEach
    void closeAll()
    {
        CloseHelper.quietCloseAll(rank0, rank1, forger, driver);
        threads.shutdownNow();
    }

    @Test
    void shouldDropFramesOnSharedMemoryWithAnotherTokenAShortHeaderOrASourceThatIsNotAPeer() throws Exception
    {
        final String directory = MediaDrivers.newDirectory("test");
        driver = MediaDrivers.launch(directory);
        connect(AcceleratorSettings.defaults().withAeronDirectory(directory));
        forger = Aeron.connect(new Aeron.Context().aeronDirectoryName(directory));
        // What a process on this host could send to rank 1 (anyone there can map the driver's files).
        final ExclusivePublication forged =
            forger.addExclusivePublication("aeron:ipc?term-length=64k", AeronTransport.DATA_STREAM_BASE + 1);
        sprayAndCheck(forged);
    }

    @Test
    void shouldDropFramesOnUdpAndLetTheDriverDiscardDatagramsThatAreNotAeron() throws Exception
    {
        // Each rank runs its own driver, so they talk over UDP, as between hosts.
        connect(AcceleratorSettings.defaults());
        final String directory = MediaDrivers.newDirectory("test");
        driver = MediaDrivers.launch(directory);
        forger = Aeron.connect(new Aeron.Context().aeronDirectoryName(directory));
        final String endpoint = rank1.udpEndpoint();
        assertTrue(endpoint.startsWith("127.0.0.1:"), "rank 1 must bind to the interface reaching MASTER_ADDR: " + endpoint);

        final long invalidBefore = rank1.driverInvalidPackets();
        final int colon = endpoint.lastIndexOf(':');
        try (DatagramSocket raw = new DatagramSocket())
        {
            for (int length = 1; length <= 40; length++)
            {
                final byte[] junk = new byte[length];
                Arrays.fill(junk, (byte)(0x80 | length));
                raw.send(new DatagramPacket(junk, length,
                    new InetSocketAddress(endpoint.substring(0, colon), Integer.parseInt(endpoint.substring(colon + 1)))));
            }
        }
        awaitTrue(() -> rank1.driverInvalidPackets() >= invalidBefore + 40,
            () -> "the driver counted " + (rank1.driverInvalidPackets() - invalidBefore) + " of 40 random datagrams");

        final ExclusivePublication forged = forger.addExclusivePublication(
            "aeron:udp?endpoint=" + endpoint + "|term-length=64k", AeronTransport.DATA_STREAM_BASE + 1);
        sprayAndCheck(forged);
    }

    private void connect(final AcceleratorSettings base) throws Exception
    {
        // Outside the ephemeral range, as the launcher picks it: no socket bound to port 0 can take it first.
        final int port = UdpChannels.freePort(InetAddress.getLoopbackAddress());
        final AcceleratorSettings settings = base.withTimeout(Duration.ofSeconds(20)).withJobToken(JOB_TOKEN);
        final Future<AeronTransport> first = threads.submit(() -> AeronTransport.connect(
            ProcessTopology.of(0, 2, 0, 1, 0, "127.0.0.1", port), settings, new YieldingIdleStrategy()));
        final Future<AeronTransport> second = threads.submit(() -> AeronTransport.connect(
            ProcessTopology.of(1, 2, 0, 1, 1, "127.0.0.1", port), settings, new YieldingIdleStrategy()));
        try
        {
            rank0 = first.get(30, TimeUnit.SECONDS);
        }
        finally
        {
            rank1 = second.get(30, TimeUnit.SECONDS);
        }
    }

    private void sprayAndCheck(final ExclusivePublication forged)
    {
        awaitTrue(forged::isConnected, () -> "the forger's stream never reached rank 1");
        final long before = rank1.droppedFrames();
        // Another job's frames, shaped like a barrier from rank 0.
        for (int i = 0; i < 3; i++)
        {
            offer(forged, 0, TOKEN + 1 + i, Frame.HEADER_LENGTH + 1);
        }
        // Too short to hold a header, whatever they hold.
        offer(forged, 0, TOKEN, Frame.HEADER_LENGTH - 1);
        offer(forged, 0, TOKEN, 1);
        // The job's token, but a source that is no peer of rank 1: outside [0, 2), or rank 1 itself.
        for (final int source : List.of(2, -1, 99, 1))
        {
            offer(forged, source, TOKEN, Frame.HEADER_LENGTH + 1);
        }
        awaitTrue(() -> rank1.droppedFrames() >= before + 9, () -> "rank 1 dropped " + rank1.droppedFrames() + " frames");
        assertEquals(3, rank1.droppedForeignFrames(), "with another token");
        assertEquals(2, rank1.droppedMalformedFrames(), "too short");
        assertEquals(4, rank1.droppedOutsideWorldFrames(), "not from a peer");

        // Nothing of that reached rank 1's inbox: the next frame from rank 0 is the real one.
        final long deadlineNs = System.nanoTime() + DEADLINE_NS;
        rank0.sendBuffer().putByte(Frame.HEADER_LENGTH, (byte)42);
        rank0.send(1, Frame.BARRIER, 7, 0, 1, deadlineNs);
        final PeerInbox inbox = rank1.await(0, Frame.BARRIER, 7, deadlineNs);
        assertEquals(42, inbox.buffer().getByte(inbox.frameOffset() + Frame.HEADER_LENGTH));
        inbox.pop();
        assertTrue(inbox.isEmpty());
        assertEquals(0, rank0.droppedFrames(), "rank 0 was not sprayed");
    }

    private void offer(final ExclusivePublication publication, final int source, final long token, final int length)
    {
        Frame.writeHeader(frame, Frame.BARRIER, Frame.FLAG_LAST, 0, source, 7, token);
        frame.putByte(Frame.HEADER_LENGTH, (byte)13);
        final long deadlineNs = System.nanoTime() + DEADLINE_NS;
        while (publication.offer(frame, 0, length) < 0)
        {
            assertTrue(System.nanoTime() < deadlineNs, "could not offer a forged frame");
            Thread.onSpinWait();
        }
    }

    private void awaitTrue(final BooleanSupplier condition, final Supplier<String> message)
    {
        final long deadlineNs = System.nanoTime() + DEADLINE_NS;
        while (!condition.getAsBoolean())
        {
            assertTrue(System.nanoTime() < deadlineNs, message);
            rank1.poll();
            Thread.yield();
        }
    }
}
