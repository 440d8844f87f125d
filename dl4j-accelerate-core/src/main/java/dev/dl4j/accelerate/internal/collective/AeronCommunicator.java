package dev.dl4j.accelerate.internal.collective;

import java.util.ArrayList;
import java.util.List;

import dev.dl4j.accelerate.internal.transport.AeronTransport;
import dev.dl4j.accelerate.internal.transport.Frame;
import dev.dl4j.accelerate.internal.transport.PeerInbox;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Collectives over an {@link AeronTransport}.
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
        anyOf(Frame.BARRIER, false, false);
    }

    public boolean anyOf(final byte type, final boolean flag, final boolean local)
    {
        final long seq = ++sequence;
        final long deadlineNs = System.nanoTime() + transport.timeoutNs();
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
            final PeerInbox inbox = transport.await(from, type, seq, deadlineNs);
            result |= inbox.buffer().getByte(inbox.frameOffset() + Frame.HEADER_LENGTH) != 0;
            inbox.pop();
        }
        return result;
    }

    public byte[] broadcast(final byte[] value, final int root)
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
