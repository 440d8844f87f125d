package dev.dl4j.accelerate.internal.transport;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.MappedByteBuffer;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;

import org.agrona.BitUtil;
import org.agrona.DirectBuffer;
import org.agrona.IoUtil;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * A ring of records in a memory-mapped file, written by one process and read by another on the same host: the
 * bulk lane between neighbouring ranks of the all-reduce ring.
 *
 * <p><b>Why not an Aeron publication.</b> The driver zeroes every byte of an IPC log once its subscriber has read
 * it, and moves the publisher's limit; measured on 2 cores, during a stream of 1 MiB all-reduces the driver's
 * thread took ~80% of a core for it, a third party on a machine that has two. Here the producer publishes its
 * position with a release store after writing a record, the consumer reads up to it and publishes its own; each
 * side keeps to its own cache line, nothing is zeroed and nobody else is involved. Aeron's own conductor talks to
 * its driver this way (a ring over {@code cnc.dat}).
 *
 * <p><b>Layout.</b> {@code capacity} bytes of records (a power of two), then a trailer with the producer's
 * position (tail), the consumer's position (head), each on its own 128-byte block, and the capacity with a magic
 * number. A record is a 4-byte length, 4 bytes unused, then the record, padded to 64 bytes so that records start
 * on cache lines (an array chunk after the 24-byte frame header then starts 32 bytes into one; the vector loops
 * take unaligned loads); a negative length marks padding to the end of the ring.
 * Positions only grow.
 *
 * <p><b>Life.</b> The consumer {@link #create creates} the file (under a temporary name, renamed when complete, so
 * a producer never maps half of it) and deletes it when closed; the producer {@link #openIfExists opens} it. One
 * thread per side.
 */
final class SharedRing implements AutoCloseable
{
    /** Records start on cache lines. */
    static final int ALIGNMENT = 64;
    /** The length field and its padding before each record. */
    static final int RECORD_HEADER_LENGTH = 8;
    /** Bytes after the records. */
    static final int TRAILER_LENGTH = 512;

    /** What a {@link RecordHandler} may answer. */
    static final int CONTINUE = 0;
    /** Take this record, then stop reading. */
    static final int BREAK = 1;
    /** Leave this record where it is and stop reading. */
    static final int ABORT = 2;

    private static final int TAIL_OFFSET = 0;
    private static final int HEAD_OFFSET = 128;
    private static final int CAPACITY_OFFSET = 256;
    private static final int MAGIC_OFFSET = 260;
    private static final int MAGIC = 0x4143_5249;

    private final MappedByteBuffer mapped;
    private final UnsafeBuffer buffer;
    private final File file;
    private final boolean owner;
    private final int capacity;
    private final int mask;
    private final int tailOffset;
    private final int headOffset;
    private long tail;
    private long head;
    private long headSeen;
    private boolean closed;

    private SharedRing(final MappedByteBuffer mapped, final File file, final boolean owner, final int capacity)
    {
        this.mapped = mapped;
        this.buffer = new UnsafeBuffer(mapped);
        this.file = file;
        this.owner = owner;
        this.capacity = capacity;
        this.mask = capacity - 1;
        this.tailOffset = capacity + TAIL_OFFSET;
        this.headOffset = capacity + HEAD_OFFSET;
        this.tail = buffer.getLongAcquire(tailOffset);
        this.head = buffer.getLongAcquire(headOffset);
        this.headSeen = head;
    }

    /**
     * Creates an empty ring for the consumer, replacing any file of that name (a dead job's).
     *
     * @param file     where; a temporary file next to it is renamed into place once complete.
     * @param capacity bytes of records, a power of two.
     * @return the consumer's side; closing it deletes the file.
     * @throws UncheckedIOException if the file cannot be made, e.g. the file system is full.
     */
    static SharedRing create(final File file, final int capacity)
    {
        if (!BitUtil.isPowerOfTwo(capacity) || capacity < 2 * ALIGNMENT)
        {
            throw new IllegalArgumentException("ring capacity " + capacity + " is not a power of two >= " + 2 * ALIGNMENT);
        }
        final File temporary = new File(file.getPath() + ".new");
        final MappedByteBuffer mapped = IoUtil.mapNewFile(temporary, (long)capacity + TRAILER_LENGTH);
        try
        {
            final UnsafeBuffer trailer = new UnsafeBuffer(mapped);
            trailer.putInt(capacity + CAPACITY_OFFSET, capacity);
            trailer.putIntRelease(capacity + MAGIC_OFFSET, MAGIC);
            Files.move(temporary.toPath(), file.toPath(), StandardCopyOption.ATOMIC_MOVE,
                StandardCopyOption.REPLACE_EXISTING);
            return new SharedRing(mapped, file, true, capacity);
        }
        catch (final IOException ex)
        {
            IoUtil.unmap(mapped);
            IoUtil.deleteIfExists(temporary);
            throw new UncheckedIOException("cannot create " + file, ex);
        }
        catch (final RuntimeException ex)
        {
            IoUtil.unmap(mapped);
            IoUtil.deleteIfExists(temporary);
            throw ex;
        }
    }

    /**
     * Maps the producer's side of a ring its consumer has created.
     *
     * @param file the ring's file.
     * @return the producer's side, or null while the consumer has not created it yet.
     * @throws IllegalStateException if the file is not a ring.
     */
    static SharedRing openIfExists(final File file)
    {
        if (!file.exists())
        {
            return null;
        }
        final MappedByteBuffer mapped = IoUtil.mapExistingFile(file, "bulk ring");
        final int capacity = mapped.capacity() - TRAILER_LENGTH;
        final UnsafeBuffer trailer = new UnsafeBuffer(mapped);
        if (capacity < 2 * ALIGNMENT || !BitUtil.isPowerOfTwo(capacity) ||
            trailer.getIntAcquire(capacity + MAGIC_OFFSET) != MAGIC || trailer.getInt(capacity + CAPACITY_OFFSET) != capacity)
        {
            IoUtil.unmap(mapped);
            throw new IllegalStateException(file + " is not a bulk ring of this version");
        }
        return new SharedRing(mapped, file, false, capacity);
    }

    /**
     * @return the largest record {@link #tryWrite} takes: an eighth of the ring, so that several are in flight.
     */
    int maxRecordLength()
    {
        return capacity / 8 - RECORD_HEADER_LENGTH;
    }

    /**
     * Producer: appends one record made of a header and a payload, if the consumer has left room.
     *
     * @param header        the record's first bytes.
     * @param headerLength  how many, from offset 0 of {@code header}.
     * @param payload       the rest.
     * @param payloadOffset of the rest in {@code payload}.
     * @param payloadLength of the rest.
     * @return true if written; false if the ring is too full now.
     */
    boolean tryWrite(
        final DirectBuffer header, final int headerLength, final DirectBuffer payload, final int payloadOffset,
        final int payloadLength)
    {
        final int length = headerLength + payloadLength;
        if (length > maxRecordLength())
        {
            throw new IllegalArgumentException("record of " + length + " bytes exceeds " + maxRecordLength());
        }
        final int aligned = BitUtil.align(RECORD_HEADER_LENGTH + length, ALIGNMENT);
        int index = (int)(tail & mask);
        final int toEnd = capacity - index;
        final int padding = aligned > toEnd ? toEnd : 0;
        final long needHead = tail + padding + aligned - capacity;
        if (headSeen < needHead)
        {
            headSeen = buffer.getLongAcquire(headOffset);
            if (headSeen < needHead)
            {
                return false;
            }
        }
        long newTail = tail;
        if (padding > 0)
        {
            buffer.putInt(index, -padding);
            newTail += padding;
            index = 0;
        }
        buffer.putInt(index, length);
        buffer.putBytes(index + RECORD_HEADER_LENGTH, header, 0, headerLength);
        buffer.putBytes(index + RECORD_HEADER_LENGTH + headerLength, payload, payloadOffset, payloadLength);
        newTail += aligned;
        tail = newTail;
        buffer.putLongRelease(tailOffset, newTail);
        return true;
    }

    /**
     * Consumer: hands records to {@code handler} in order, where they lie, until it answers {@link #BREAK} or
     * {@link #ABORT}, {@code limit} records were taken, or none is left. What was taken is given back to the
     * producer on return, even if the handler throws.
     *
     * @param handler takes each record.
     * @param limit   most records to take.
     * @return the records taken.
     */
    int read(final RecordHandler handler, final int limit)
    {
        final long available = buffer.getLongAcquire(tailOffset);
        long position = head;
        int taken = 0;
        try
        {
            while (position < available && taken < limit)
            {
                final int index = (int)(position & mask);
                final int length = buffer.getInt(index);
                if (length < 0)
                {
                    position -= length;
                    continue;
                }
                final int action = handler.onRecord(buffer, index + RECORD_HEADER_LENGTH, length);
                if (action == ABORT)
                {
                    break;
                }
                position += BitUtil.align(RECORD_HEADER_LENGTH + length, ALIGNMENT);
                taken++;
                if (action == BREAK)
                {
                    break;
                }
            }
        }
        finally
        {
            if (position != head)
            {
                head = position;
                buffer.putLongRelease(headOffset, position);
            }
        }
        return taken;
    }

    /**
     * @return the ring's file.
     */
    File file()
    {
        return file;
    }

    /**
     * Unmaps the ring; the consumer's side also deletes its file (the producer's mapping stays valid until it
     * closes too). Idempotent.
     */
    public void close()
    {
        if (!closed)
        {
            closed = true;
            IoUtil.unmap(mapped);
            if (owner)
            {
                IoUtil.deleteIfExists(file);
            }
        }
    }

    /**
     * Takes one record of a {@link SharedRing}: must be done with it on return, and must not block.
     */
    @FunctionalInterface
    interface RecordHandler
    {
        /**
         * @param buffer holding the record; valid only during the call.
         * @param offset of the record.
         * @param length of the record.
         * @return {@link #CONTINUE}, {@link #BREAK} or {@link #ABORT}.
         */
        int onRecord(DirectBuffer buffer, int offset, int length);
    }
}
