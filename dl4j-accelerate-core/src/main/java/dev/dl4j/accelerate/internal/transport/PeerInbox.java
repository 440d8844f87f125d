package dev.dl4j.accelerate.internal.transport;

import org.agrona.DirectBuffer;
import org.agrona.ExpandableArrayBuffer;

/**
 * Frames received from one peer, in arrival order, waiting for the operation that consumes them. A peer may
 * run ahead (a broadcast root does not wait), so frames are copied out of Aeron's log as they arrive and
 * consumed when this rank reaches the matching operation. Single-threaded; no allocation once grown.
 */
public final class PeerInbox
{
    private static final int LENGTH_PREFIX = Integer.BYTES;

    private final ExpandableArrayBuffer buffer = new ExpandableArrayBuffer(4096);
    private int head;
    private int tail;

    /**
     * @return true when no frame is waiting.
     */
    public boolean isEmpty()
    {
        return head == tail;
    }

    /**
     * @param source buffer holding the frame.
     * @param offset of the frame.
     * @param length of the frame.
     */
    public void append(final DirectBuffer source, final int offset, final int length)
    {
        if (head > 0 && head >= buffer.capacity() >> 1)
        {
            compact();
        }
        buffer.putInt(tail, length, Frame.ORDER);
        buffer.putBytes(tail + LENGTH_PREFIX, source, offset, length);
        tail += LENGTH_PREFIX + length;
    }

    /**
     * @return the buffer holding the oldest frame; valid until {@link #pop()}.
     */
    public DirectBuffer buffer()
    {
        return buffer;
    }

    /**
     * @return the offset of the oldest frame in {@link #buffer()}.
     */
    public int frameOffset()
    {
        return head + LENGTH_PREFIX;
    }

    /**
     * @return the length of the oldest frame.
     */
    public int frameLength()
    {
        return buffer.getInt(head, Frame.ORDER);
    }

    /**
     * Discards the oldest frame.
     */
    public void pop()
    {
        head += LENGTH_PREFIX + frameLength();
        if (head == tail)
        {
            head = 0;
            tail = 0;
        }
    }

    private void compact()
    {
        final int remaining = tail - head;
        buffer.putBytes(0, buffer, head, remaining);
        head = 0;
        tail = remaining;
    }
}
