package dev.dl4j.accelerate.internal.transport;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The producer and consumer map the file separately, as two processes would.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SharedRingTest
{
    private static final int CAPACITY = 4096;

    @TempDir
    Path dir;

    @Test
    void shouldDeliverRecordsInOrderAcrossTheWrapAndRefuseToOverwriteUnreadOnes()
    {
        final File file = dir.resolve("ring").toFile();
        assertNull(SharedRing.openIfExists(file), "no ring before the consumer makes it");
        try (SharedRing consumer = SharedRing.create(file, CAPACITY); SharedRing producer = SharedRing.openIfExists(file))
        {
            final List<byte[]> received = new ArrayList<>();
            int next = 0;
            int expected = 0;
            for (int round = 0; round < 200; round++)
            {
                // Lengths that do not divide the ring, so records wrap at every place, padding included.
                while (producer.tryWrite(header(next), 4, payload(next), 0, 37 + next % 300))
                {
                    next++;
                }
                if (round == 0)
                {
                    assertTrue(next > expected, "an empty ring takes a record");
                }
                consumer.read((buffer, offset, length) ->
                {
                    received.add(bytes(buffer, offset, length));
                    return SharedRing.CONTINUE;
                }, 1 + round % 5);
                while (expected < received.size())
                {
                    assertArrayEquals(record(expected), received.get(expected), "record " + expected);
                    expected++;
                }
            }
            assertTrue(expected > 500, "went round the ring many times: " + expected);
        }
    }

    @Test
    void shouldLeaveAnAbortedRecordForTheNextReadAndStopAfterABreak()
    {
        final File file = dir.resolve("ring").toFile();
        try (SharedRing consumer = SharedRing.create(file, CAPACITY); SharedRing producer = SharedRing.openIfExists(file))
        {
            for (int i = 0; i < 3; i++)
            {
                assertTrue(producer.tryWrite(header(i), 4, payload(i), 0, 10));
            }
            assertEquals(0, consumer.read((buffer, offset, length) -> SharedRing.ABORT, 10));
            final List<Integer> seen = new ArrayList<>();
            assertEquals(1, consumer.read((buffer, offset, length) ->
            {
                seen.add(buffer.getInt(offset));
                return SharedRing.BREAK;
            }, 10));
            assertEquals(2, consumer.read((buffer, offset, length) ->
            {
                seen.add(buffer.getInt(offset));
                return SharedRing.CONTINUE;
            }, 10));
            assertEquals(List.of(0, 1, 2), seen);
            assertEquals(0, consumer.read((buffer, offset, length) -> SharedRing.CONTINUE, 10), "nothing left");
        }
    }

    @Test
    void shouldGiveBackWhatWasTakenWhenTheHandlerThrows()
    {
        final File file = dir.resolve("ring").toFile();
        try (SharedRing consumer = SharedRing.create(file, CAPACITY); SharedRing producer = SharedRing.openIfExists(file))
        {
            final int big = producer.maxRecordLength() - 4;
            int written = 0;
            while (producer.tryWrite(header(written), 4, new UnsafeBuffer(new byte[big]), 0, big))
            {
                written++;
            }
            final int[] calls = { 0 };
            assertThrows(IllegalStateException.class, () -> consumer.read((buffer, offset, length) ->
            {
                if (++calls[0] == 2)
                {
                    throw new IllegalStateException("handler failed");
                }
                return SharedRing.CONTINUE;
            }, 10));
            assertTrue(producer.tryWrite(header(written), 4, new UnsafeBuffer(new byte[big]), 0, big),
                "the record taken before the failure made room");
        }
    }

    @Test
    void shouldReplaceADeadJobsFileAndDeleteItsOwnWhenClosed() throws Exception
    {
        final File file = dir.resolve("ring").toFile();
        Files.write(file.toPath(), new byte[100]);
        final SharedRing consumer = SharedRing.create(file, CAPACITY);
        try (SharedRing producer = SharedRing.openIfExists(file))
        {
            assertTrue(producer.tryWrite(header(1), 4, payload(1), 0, 1));
        }
        consumer.close();
        assertFalse(file.exists(), "the consumer removes its ring");
        assertFalse(new File(file.getPath() + ".new").exists());
    }

    @Test
    void shouldRejectAFileThatIsNotARing() throws Exception
    {
        final File file = dir.resolve("ring").toFile();
        Files.write(file.toPath(), new byte[CAPACITY + SharedRing.TRAILER_LENGTH]);
        final IllegalStateException ex = assertThrows(IllegalStateException.class, () -> SharedRing.openIfExists(file));
        assertTrue(ex.getMessage().contains("is not a bulk ring"), ex.getMessage());
    }

    private static UnsafeBuffer header(final int index)
    {
        final UnsafeBuffer header = new UnsafeBuffer(new byte[4]);
        header.putInt(0, index);
        return header;
    }

    private static UnsafeBuffer payload(final int index)
    {
        final byte[] bytes = new byte[400];
        for (int i = 0; i < bytes.length; i++)
        {
            bytes[i] = (byte)(index * 31 + i);
        }
        return new UnsafeBuffer(bytes);
    }

    private static byte[] record(final int index)
    {
        final byte[] record = new byte[4 + 37 + index % 300];
        header(index).getBytes(0, record, 0, 4);
        payload(index).getBytes(0, record, 4, record.length - 4);
        return record;
    }

    private static byte[] bytes(final DirectBuffer buffer, final int offset, final int length)
    {
        final byte[] bytes = new byte[length];
        buffer.getBytes(offset, bytes);
        return bytes;
    }
}
