package dev.dl4j.accelerate.internal.collective;

import java.util.List;

import dev.dl4j.accelerate.ReduceOp;
import org.agrona.MutableDirectBuffer;

/**
 * World size 1: every collective completes at once, touching neither Aeron nor a media driver.
 */
public final class SingleProcessCommunicator implements Communicator
{
    /** The one instance; it holds no state. */
    public static final SingleProcessCommunicator INSTANCE = new SingleProcessCommunicator();

    private SingleProcessCommunicator()
    {
    }

    public void barrier()
    {
    }

    public boolean anyOf(final byte type, final boolean flag, final boolean local, final long timeoutNs)
    {
        return flag;
    }

    public byte[] broadcast(final byte[] value, final int root)
    {
        return value;
    }

    public List<byte[]> gather(final byte[] value, final int root)
    {
        return List.of(value);
    }

    public void allReduce(
        final MutableDirectBuffer data, final int bytes, final boolean isDouble, final ReduceOp op,
        final OwnedElements owned)
    {
        if (owned != null)
        {
            owned.process(0, bytes / (isDouble ? Double.BYTES : Float.BYTES));
        }
    }

    public void broadcast(final MutableDirectBuffer data, final int bytes, final int root)
    {
    }

    public void timeout(final long timeoutNs)
    {
        // Nothing here ever waits.
    }

    public long timeoutNs()
    {
        return Long.MAX_VALUE;
    }

    public void close()
    {
    }
}
