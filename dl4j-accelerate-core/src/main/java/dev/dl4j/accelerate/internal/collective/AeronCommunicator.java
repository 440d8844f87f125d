package dev.dl4j.accelerate.internal.collective;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;

import dev.dl4j.accelerate.AccelerateException;
import dev.dl4j.accelerate.CollectiveTimeoutException;
import dev.dl4j.accelerate.internal.transport.AeronTransport;
import dev.dl4j.accelerate.internal.transport.Frame;
import dev.dl4j.accelerate.internal.transport.PeerInbox;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Collectives over an {@link AeronTransport}. After any collective fails, every later one fails at once: the
 * peers' state is unknown, so carrying on could mix the frames of different operations.
 *
 * <p>Barriers and flag reductions use the dissemination algorithm: in round k every rank sends to the rank
 * 2^k ahead and waits for the rank 2^k behind, so after ceil(log2 n) rounds each rank has heard, directly or
 * not, from every other. At two ranks that is one message each way, the least any barrier can do; OR is
 * idempotent, so the same rounds reduce the flags. Broadcast and gather of small values go straight between
 * the root and each rank.
 */
public final class AeronCommunicator implements Communicator
{
    private final AeronTransport transport;
    private final int rank;
    private final int[] world;
    private final int worldIndex;
    private final int[] localGroup;
    private final int localIndex;
    private long sequence;
    private AccelerateException failure;

    /**
     * @param transport connected transport; closed with this communicator.
     * @param rank      this process's rank.
     * @param worldSize number of ranks.
     */
    public AeronCommunicator(final AeronTransport transport, final int rank, final int worldSize)
    {
        this.transport = transport;
        this.rank = rank;
        this.world = new int[worldSize];
        for (int i = 0; i < worldSize; i++)
        {
            world[i] = i;
        }
        this.worldIndex = rank;
        this.localGroup = transport.localGroup();
        int index = -1;
        for (int i = 0; i < localGroup.length; i++)
        {
            if (localGroup[i] == rank)
            {
                index = i;
            }
        }
        this.localIndex = index;
    }

    public void barrier()
    {
        anyOf(Frame.BARRIER, false, false, transport.timeoutNs());
    }

    public boolean anyOf(final byte type, final boolean flag, final boolean local, final long timeoutNs)
    {
        checkUsable();
        try
        {
            return disseminate(type, flag, local, timeoutNs);
        }
        catch (final AccelerateException ex)
        {
            failure = ex;
            throw ex;
        }
    }

    private boolean disseminate(final byte type, final boolean flag, final boolean local, final long timeoutNs)
    {
        final long seq = ++sequence;
        final long deadlineNs = System.nanoTime() + timeoutNs;
        final int[] group = local ? localGroup : world;
        final int me = local ? localIndex : worldIndex;
        final int n = group.length;
        final UnsafeBuffer out = transport.sendBuffer();
        boolean result = flag;
        int round = 0;
        for (int distance = 1; distance < n; distance <<= 1, round++)
        {
            final int to = group[(me + distance) % n];
            final int from = group[(me - distance + n) % n];
            out.putByte(Frame.HEADER_LENGTH, (byte)(result ? 1 : 0));
            transport.send(to, type, seq, round, 1, deadlineNs);
            final PeerInbox inbox;
            try
            {
                inbox = transport.await(from, type, seq, deadlineNs);
            }
            catch (final CollectiveTimeoutException ex)
            {
                throw notHeardFrom(ex, group, me, round, from, timeoutNs);
            }
            result |= inbox.buffer().getByte(inbox.frameOffset() + Frame.HEADER_LENGTH) != 0;
            inbox.pop();
        }
        return result;
    }

    /**
     * After rounds 0..k-1 a rank has heard, directly or through others, from the 2^k - 1 ranks behind it; the
     * rank it now waits for may itself be waiting for one of the rest, so name them all.
     */
    private CollectiveTimeoutException notHeardFrom(
        final CollectiveTimeoutException ex, final int[] group, final int me, final int round, final int from,
        final long timeoutNs)
    {
        final int n = group.length;
        final int heard = (1 << round) - 1;
        final List<Integer> missing = new ArrayList<>();
        for (int distance = heard + 1; distance < n; distance++)
        {
            missing.add(group[(me - distance + n) % n]);
        }
        Collections.sort(missing);
        return new CollectiveTimeoutException(ex.operation(), ex.sequence(), missing, ex.operation() + " #" +
            ex.sequence() + " timed out after " + TimeUnit.NANOSECONDS.toMillis(timeoutNs) + " ms on rank " + rank +
            " of " + world.length + ": not yet heard from rank(s) " + missing + " (waiting on rank " + from +
            "; a rank that has not arrived holds up the ranks after it)");
    }

    public byte[] broadcast(final byte[] value, final int root)
    {
        checkUsable();
        try
        {
            return broadcastValue(value, root);
        }
        catch (final AccelerateException ex)
        {
            failure = ex;
            throw ex;
        }
    }

    private byte[] broadcastValue(final byte[] value, final int root)
    {
        final long seq = ++sequence;
        final long deadlineNs = System.nanoTime() + transport.timeoutNs();
        if (rank == root)
        {
            final UnsafeBuffer wrapped = new UnsafeBuffer(value);
            for (final int peer : world)
            {
                if (peer != root)
                {
                    transport.sendValue(peer, Frame.BROADCAST, seq, wrapped, 0, value.length, deadlineNs);
                }
            }
            return value;
        }
        return transport.receiveValue(root, Frame.BROADCAST, seq, deadlineNs);
    }

    public List<byte[]> gather(final byte[] value, final int root)
    {
        checkUsable();
        try
        {
            return gatherValues(value, root);
        }
        catch (final AccelerateException ex)
        {
            failure = ex;
            throw ex;
        }
    }

    private void checkUsable()
    {
        if (failure != null)
        {
            throw new AccelerateException("rank " + rank + " cannot run another collective: an earlier one failed (" +
                failure.getMessage() + "); the peers' state is unknown, so stop this process", failure);
        }
    }

    private List<byte[]> gatherValues(final byte[] value, final int root)
    {
        final long seq = ++sequence;
        final long deadlineNs = System.nanoTime() + transport.timeoutNs();
        if (rank != root)
        {
            transport.sendValue(root, Frame.GATHER, seq, new UnsafeBuffer(value), 0, value.length, deadlineNs);
            return List.of();
        }
        final List<byte[]> values = new ArrayList<>(world.length);
        for (final int peer : world)
        {
            values.add(peer == root ? value : transport.receiveValue(peer, Frame.GATHER, seq, deadlineNs));
        }
        return values;
    }

    public void close()
    {
        transport.close();
    }
}
