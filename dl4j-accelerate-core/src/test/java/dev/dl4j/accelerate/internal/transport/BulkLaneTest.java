package dev.dl4j.accelerate.internal.transport;

import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import dev.dl4j.accelerate.AccelerateException;
import dev.dl4j.accelerate.AcceleratorSettings;
import dev.dl4j.accelerate.ProcessTopology;
import io.aeron.driver.MediaDriver;
import org.agrona.CloseHelper;
import org.agrona.ExpandableArrayBuffer;
import org.agrona.concurrent.BusySpinIdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The bulk lane between two ranks on one driver: frames taken where they lie in the shared ring, one
 * operation's step at a time, while the control lane's frames queue in the inbox.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class BulkLaneTest
{
    private static final long DEADLINE_NS = TimeUnit.SECONDS.toNanos(20);

    private MediaDriver driver;
    private AeronTransport sender;
    private AeronTransport receiver;

    @BeforeEach
    void connect() throws Exception
    {
        final String directory = MediaDrivers.newDirectory("test");
        driver = MediaDrivers.launch(directory);
        // Outside the ephemeral range, as the launcher picks it: no socket bound to port 0 can take it first.
        final int port = UdpChannels.freePort(InetAddress.getLoopbackAddress());
        final AcceleratorSettings settings = AcceleratorSettings.defaults().withExitOnPeerLoss(false)
            .withAeronDirectory(directory).withTimeout(Duration.ofSeconds(20)).withJobToken("bulk-" + port);
        final ExecutorService threads = Executors.newFixedThreadPool(2);
        try
        {
            final Future<AeronTransport> first = threads.submit(() -> AeronTransport.connect(
                ProcessTopology.of(0, 2, 0, 2, 0, "127.0.0.1", port), settings, new BusySpinIdleStrategy()));
            final Future<AeronTransport> second = threads.submit(() -> AeronTransport.connect(
                ProcessTopology.of(1, 2, 1, 2, 0, "127.0.0.1", port), settings, new BusySpinIdleStrategy()));
            sender = first.get(30, TimeUnit.SECONDS);
            receiver = second.get(30, TimeUnit.SECONDS);
        }
        finally
        {
            threads.shutdownNow();
        }
    }

    @AfterEach
    void close()
    {
        CloseHelper.quietCloseAll(sender, receiver, driver);
    }

    @Test
    void shouldTakeEachStepInPlaceAndStopAtItsLastByteWhileThePeerRunsSeveralOperationsAhead()
    {
        // The sender does its side of five operations before the receiver starts its first.
        final float[] a1 = floats(100, 1);
        final float[] a2 = floats(37, 1000);
        final float[] a3 = floats(64, 2000);
        final float[] b1 = floats(10, 3000);
        final float[] c1 = floats(5, 4000);
        sendBulk(1, 1, a1);
        sendBulk(1, 1, a2);
        sendBulk(1, 2, a3);
        sender.sendBuffer().putByte(Frame.HEADER_LENGTH, (byte)7);
        sender.send(1, Frame.BARRIER, 2, 0, 1, deadline());
        sendBulk(3, 1, b1);
        sender.sendValue(1, Frame.BROADCAST, 4, new UnsafeBuffer(new byte[] { 1, 2, 3 }), 0, 3, deadline());
        sendBulk(5, 1, c1);
        // Control frames move to the inbox; the bulk frames must stay in the log, in order, until asked for.
        while (receiver.poll() > 0)
        {
            Thread.onSpinWait();
        }

        assertArrayEquals(concat(a1, a2), receiveBulk(1, 1, a1.length + a2.length));
        assertArrayEquals(a3, receiveBulk(1, 2, a3.length));
        final PeerInbox barrier = receiver.await(0, Frame.BARRIER, 2, deadline());
        assertEquals(7, barrier.buffer().getByte(barrier.frameOffset() + Frame.HEADER_LENGTH));
        barrier.pop();
        assertArrayEquals(b1, receiveBulk(3, 1, b1.length));
        assertArrayEquals(new byte[] { 1, 2, 3 }, receiver.receiveValue(0, Frame.BROADCAST, 4, deadline()));
        final AccelerateException wrongStep = assertThrows(AccelerateException.class,
            () -> receiver.receiveBulk(0, Frame.ALL_REDUCE, 5, 2, c1.length * Float.BYTES, (b, o, l) -> {}));
        assertTrue(wrongStep.getMessage().contains("expected step 2 but rank 0 sent step 1"), wrongStep.getMessage());
        assertArrayEquals(c1, receiveBulk(5, 1, c1.length), "a refused frame stays where it was");
    }

    @Test
    void shouldRefuseMoreBytesThanTheStepExpects()
    {
        sendBulk(1, 1, floats(16, 0));
        final AccelerateException tooMany = assertThrows(AccelerateException.class, () ->
        {
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (receiver.receiveBulk(0, Frame.ALL_REDUCE, 1, 1, 8 * Float.BYTES, (b, o, l) -> {}) == 0)
            {
                assertTrue(System.nanoTime() < deadline, "the chunk never arrived");
                Thread.onSpinWait();
            }
        });
        assertTrue(tooMany.getMessage().contains("expected at most 32 more bytes but rank 0 sent 64"), tooMany.getMessage());
    }

    @Test
    void shouldReportAPeerThatIsInAnotherCollectiveOnTheBulkLane()
    {
        sendBulk(1, 1, floats(16, 0));
        final AccelerateException mismatch = assertThrows(AccelerateException.class,
            () -> receiver.await(0, Frame.BARRIER, 1, deadline()));
        assertTrue(mismatch.getMessage().contains("rank 1 is in waitForEveryone #1 but rank 0 sent allReduce #1"),
            mismatch.getMessage());
    }

    private void sendBulk(final long sequence, final int round, final float[] values)
    {
        final UnsafeBuffer payload = new UnsafeBuffer(ByteBuffer.allocateDirect(values.length * Float.BYTES));
        for (int i = 0; i < values.length; i++)
        {
            payload.putFloat(i * Float.BYTES, values[i]);
        }
        assertTrue(values.length * Float.BYTES <= sender.bulkFramePayload(1));
        final long deadline = deadline();
        while (!sender.trySendBulk(1, Frame.ALL_REDUCE, sequence, round, payload, 0, payload.capacity()))
        {
            sender.awaitProgress(false, Frame.ALL_REDUCE, sequence, 1, false, deadline);
        }
    }

    private float[] receiveBulk(final long sequence, final int round, final int count)
    {
        final ExpandableArrayBuffer received = new ExpandableArrayBuffer();
        final int[] position = { 0 };
        final long deadline = deadline();
        while (position[0] < count * Float.BYTES)
        {
            final int part = receiver.receiveBulk(0, Frame.ALL_REDUCE, sequence, round, count * Float.BYTES - position[0],
                (buffer, offset, length) ->
                {
                    received.putBytes(position[0], buffer, offset, length);
                    position[0] += length;
                });
            receiver.awaitProgress(part > 0, Frame.ALL_REDUCE, sequence, 0, true, deadline);
        }
        final float[] values = new float[count];
        for (int i = 0; i < count; i++)
        {
            values[i] = received.getFloat(i * Float.BYTES);
        }
        return values;
    }

    private static float[] floats(final int count, final int first)
    {
        final float[] values = new float[count];
        for (int i = 0; i < count; i++)
        {
            values[i] = first + i;
        }
        return values;
    }

    private static float[] concat(final float[] a, final float[] b)
    {
        final float[] both = new float[a.length + b.length];
        System.arraycopy(a, 0, both, 0, a.length);
        System.arraycopy(b, 0, both, a.length, b.length);
        return both;
    }

    private static long deadline()
    {
        return System.nanoTime() + DEADLINE_NS;
    }
}
