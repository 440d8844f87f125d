package dev.dl4j.accelerate.internal.collective;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;

import dev.dl4j.accelerate.AccelerateException;
import dev.dl4j.accelerate.CollectiveTimeoutException;
import dev.dl4j.accelerate.ReduceOp;
import dev.dl4j.accelerate.internal.transport.AeronTransport;
import dev.dl4j.accelerate.internal.transport.Frame;
import dev.dl4j.accelerate.internal.transport.PayloadHandler;
import dev.dl4j.accelerate.internal.transport.PeerInbox;
import org.agrona.DirectBuffer;
import org.agrona.ExpandableDirectByteBuffer;
import org.agrona.MutableDirectBuffer;
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
    /**
     * Arrays up to this size take the latency path: every rank sends its array to every other and each sums all
     * of them in rank order, one message deep, where the ring would take 2(n-1) steps.
     */
    static final int DIRECT_ALL_REDUCE_BYTES = 256;
    /**
     * Larger arrays take the latency path too while what each rank receives on it, (n-1) arrays, stays within
     * this; beyond, the ring, which moves 2(n-1)/n of the array per rank whatever n is, wins. Measured on 2
     * cores: at 2 ranks both took ~1 µs at 4 KiB and the ring was faster from 8 KiB; at 4 ranks the ring took 16
     * µs at 4 KiB against 22 µs, and 25 µs at 64 KiB against 213 µs.
     */
    static final int DIRECT_ALL_REDUCE_RECEIVED_BYTES = 4 * 1024;

    private final ExpandableDirectByteBuffer scratch = new ExpandableDirectByteBuffer(DIRECT_ALL_REDUCE_RECEIVED_BYTES);
    private final Reductions reductions = new Reductions();
    private final SegmentReceiver receiver = new SegmentReceiver(reductions);
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
        final long seq = begin(type, 0);
        try
        {
            final boolean result = disseminate(type, seq, flag, local, timeoutNs);
            transport.leave(false);
            return result;
        }
        catch (final RuntimeException ex)
        {
            throw failed(ex);
        }
    }

    private boolean disseminate(
        final byte type, final long seq, final boolean flag, final boolean local, final long timeoutNs)
    {
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
     * Names the ranks that have not arrived: by their heartbeats when they say so, else by the rounds: after rounds
     * 0..k-1 a rank has heard, directly or through others, from the 2^k - 1 ranks behind it, and the rank it now
     * waits for may itself be waiting for one of the rest.
     */
    private CollectiveTimeoutException notHeardFrom(
        final CollectiveTimeoutException ex, final int[] group, final int me, final int round, final int from,
        final long timeoutNs)
    {
        final int n = group.length;
        final List<Integer> missing = new ArrayList<>();
        for (final int peer : transport.notArrived())
        {
            for (final int member : group)
            {
                if (member == peer)
                {
                    missing.add(peer);
                }
            }
        }
        if (missing.isEmpty())
        {
            final int heard = (1 << round) - 1;
            for (int distance = heard + 1; distance < n; distance++)
            {
                missing.add(group[(me - distance + n) % n]);
            }
            Collections.sort(missing);
        }
        return new CollectiveTimeoutException(ex.operation(), ex.sequence(), missing, ex.operation() + " #" +
            ex.sequence() + " timed out after " + TimeUnit.NANOSECONDS.toMillis(timeoutNs) + " ms on rank " + rank +
            " of " + world.length + ": rank(s) " + missing + " have not arrived (waiting on rank " + from + "). " +
            transport.describeCalls());
    }

    public byte[] broadcast(final byte[] value, final int root)
    {
        final long seq = begin(Frame.BROADCAST, 0);
        try
        {
            final byte[] result = broadcastValue(value, root, seq);
            transport.leave(false);
            return result;
        }
        catch (final RuntimeException ex)
        {
            throw failed(ex);
        }
    }

    private byte[] broadcastValue(final byte[] value, final int root, final long seq)
    {
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
        final long seq = begin(Frame.GATHER, 0);
        try
        {
            final List<byte[]> result = gatherValues(value, root, seq);
            transport.leave(false);
            return result;
        }
        catch (final RuntimeException ex)
        {
            throw failed(ex);
        }
    }

    public void allReduce(
        final MutableDirectBuffer data, final int bytes, final boolean isDouble, final ReduceOp op,
        final OwnedElements owned)
    {
        final long seq = begin(Frame.ALL_REDUCE, bytes);
        try
        {
            final long deadlineNs = System.nanoTime() + transport.timeoutNs();
            final boolean direct = bytes <= DIRECT_ALL_REDUCE_BYTES ||
                (long)bytes * (world.length - 1) <= DIRECT_ALL_REDUCE_RECEIVED_BYTES;
            if (direct && bytes <= transport.maxFramePayload())
            {
                allReduceDirect(data, bytes, isDouble, op, seq, deadlineNs);
                if (owned != null)
                {
                    // Every rank holds the whole result: each answers for all of it, with the same bits.
                    owned.process(0, bytes / (isDouble ? Double.BYTES : Float.BYTES));
                }
            }
            else
            {
                allReduceRing(data, bytes, isDouble, op, seq, deadlineNs, owned);
            }
            transport.leave(false);
        }
        catch (final RuntimeException ex)
        {
            throw failed(ex);
        }
    }

    private void allReduceDirect(
        final MutableDirectBuffer data, final int bytes, final boolean isDouble, final ReduceOp op, final long seq,
        final long deadlineNs)
    {
        scratch.putBytes(0, data, 0, bytes);
        for (final int peer : world)
        {
            if (peer != rank)
            {
                transport.sendFrom(peer, Frame.ALL_REDUCE, seq, 0, scratch, 0, bytes, deadlineNs);
            }
        }
        // Rank order, whoever arrives first: every rank then computes ((x0 op x1) op x2)... bit for bit.
        for (final int source : world)
        {
            if (source == rank)
            {
                if (source != 0)
                {
                    reductions.reduce(op, isDouble, data, 0, scratch, 0, bytes);
                }
                continue;
            }
            final PeerInbox inbox = transport.await(source, Frame.ALL_REDUCE, seq, deadlineNs);
            final int length = payloadLength(inbox);
            if (length != bytes)
            {
                throw sizeMismatch(Frame.ALL_REDUCE, seq, source, length, bytes);
            }
            final int offset = inbox.frameOffset() + Frame.HEADER_LENGTH;
            if (source == 0)
            {
                data.putBytes(0, inbox.buffer(), offset, bytes);
            }
            else
            {
                reductions.reduce(op, isDouble, data, 0, inbox.buffer(), offset, bytes);
            }
            inbox.pop();
        }
        if (op == ReduceOp.MEAN)
        {
            reductions.divide(isDouble, data, 0, bytes, world.length);
        }
    }

    /**
     * Ring reduce-scatter then all-gather over n segments: in step s of the first phase each rank sends segment
     * (r - s) to its right and reduces segment (r - s - 1) from its left into its own, so after n - 1 steps it
     * holds the total of segment r + 1; the second phase passes the totals round. Chunks travel on the
     * transport's bulk lane, sent straight from the array's memory and reduced (or copied) straight from the
     * bulk ring into it, so each byte is copied once on the way. Steps are numbered from 1; the direct path's frames
     * are step 0, so a rank that took the other path is caught. Between the phases each rank holds the result of one
     * segment alone, the one {@code owned} works on: what it leaves there is what the all-gather passes round.
     */
    private void allReduceRing(
        final MutableDirectBuffer data, final int bytes, final boolean isDouble, final ReduceOp op, final long seq,
        final long deadlineNs, final OwnedElements ownedWork)
    {
        final int n = world.length;
        final int elementSize = isDouble ? Double.BYTES : Float.BYTES;
        final int elements = bytes / elementSize;
        for (int step = 0; step < n - 1; step++)
        {
            final int send = Math.floorMod(rank - step, n);
            final int receive = Math.floorMod(rank - step - 1, n);
            exchange(data, elements, elementSize, send, receive, 1 + step, true, isDouble, op, seq, deadlineNs);
        }
        final int owned = Math.floorMod(rank + 1, n);
        if (op == ReduceOp.MEAN)
        {
            final int offset = segmentOffset(owned, elements, elementSize);
            reductions.divide(isDouble, data, offset, segmentOffset(owned + 1, elements, elementSize) - offset, n);
        }
        if (ownedWork != null)
        {
            final int first = segmentOffset(owned, elements, elementSize) / elementSize;
            ownedWork.process(first, segmentOffset(owned + 1, elements, elementSize) / elementSize - first);
        }
        for (int step = 0; step < n - 1; step++)
        {
            final int send = Math.floorMod(rank + 1 - step, n);
            final int receive = Math.floorMod(rank - step, n);
            exchange(data, elements, elementSize, send, receive, n + step, false, isDouble, op, seq, deadlineNs);
        }
    }

    /**
     * One ring step: sends a segment to the right while taking one from the left, a chunk at a time and never
     * blocking on either, so that both neighbours keep moving whichever is slower.
     */
    private void exchange(
        final MutableDirectBuffer data, final int elements, final int elementSize, final int send, final int receive,
        final int round, final boolean reduce, final boolean isDouble, final ReduceOp op, final long seq,
        final long deadlineNs)
    {
        final int n = world.length;
        final int right = world[Math.floorMod(rank + 1, n)];
        final int left = world[Math.floorMod(rank - 1, n)];
        final int chunk = transport.bulkFramePayload(right);
        final int sendOffset = segmentOffset(send, elements, elementSize);
        final int sendLength = segmentOffset(send + 1, elements, elementSize) - sendOffset;
        final int receiveOffset = segmentOffset(receive, elements, elementSize);
        final int receiveLength = segmentOffset(receive + 1, elements, elementSize) - receiveOffset;
        receiver.start(data, receiveOffset, reduce, isDouble, op);
        int sent = 0;
        int received = 0;
        while (sent < sendLength || received < receiveLength)
        {
            boolean progressed = false;
            if (sent < sendLength)
            {
                final int part = Math.min(chunk, sendLength - sent);
                if (transport.trySendBulk(right, Frame.ALL_REDUCE, seq, round, data, sendOffset + sent, part))
                {
                    sent += part;
                    progressed = true;
                }
            }
            if (received < receiveLength)
            {
                final int part = transport.receiveBulk(
                    left, Frame.ALL_REDUCE, seq, round, receiveLength - received, receiver);
                received += part;
                progressed |= part > 0;
            }
            final boolean receiving = received < receiveLength;
            transport.awaitProgress(progressed, Frame.ALL_REDUCE, seq, receiving ? left : right, receiving, deadlineNs);
        }
    }

    private int segmentOffset(final int segment, final int elements, final int elementSize)
    {
        return (int)((long)segment * elements / world.length) * elementSize;
    }

    public void broadcast(final MutableDirectBuffer data, final int bytes, final int root)
    {
        final long seq = begin(Frame.TENSOR_BROADCAST, bytes);
        try
        {
            final long deadlineNs = System.nanoTime() + transport.timeoutNs();
            final int chunk = transport.maxFramePayload();
            if (rank == root)
            {
                for (final int peer : world)
                {
                    for (int sent = 0; peer != root && sent < bytes; sent += chunk)
                    {
                        transport.sendFrom(peer, Frame.TENSOR_BROADCAST, seq, 0, data, sent, Math.min(chunk, bytes - sent),
                            deadlineNs);
                    }
                }
                transport.leave(false);
                return;
            }
            int received = 0;
            while (received < bytes)
            {
                final PeerInbox inbox = transport.await(root, Frame.TENSOR_BROADCAST, seq, deadlineNs);
                final int part = payloadLength(inbox);
                if (received + part > bytes)
                {
                    throw sizeMismatch(Frame.TENSOR_BROADCAST, seq, root, received + part, bytes);
                }
                data.putBytes(received, inbox.buffer(), inbox.frameOffset() + Frame.HEADER_LENGTH, part);
                received += part;
                inbox.pop();
            }
            transport.leave(false);
        }
        catch (final RuntimeException ex)
        {
            throw failed(ex);
        }
    }

    private static int payloadLength(final PeerInbox inbox)
    {
        return inbox.frameLength() - Frame.HEADER_LENGTH;
    }

    private AccelerateException sizeMismatch(
        final byte type, final long seq, final int source, final int theirs, final int ours)
    {
        return new AccelerateException("collective mismatch: " + Frame.name(type) + " #" + seq + " on rank " + rank +
            " expected " + ours + " bytes but rank " + source + " sent " + theirs +
            "; every rank must pass arrays of the same length and type." + transport.callsAfterMismatch());
    }

    /**
     * Starts a collective: numbers it, and lets the peers know (through the heartbeats) which it is, so that a
     * mismatch or a missing rank can be named.
     */
    private long begin(final byte type, final long size)
    {
        checkUsable();
        final long seq = ++sequence;
        transport.enter(type, seq, size);
        return seq;
    }

    /**
     * Any failure inside a collective, ours or not (a bounds check, a handler), leaves the frame streams out of
     * step: every later collective must fail at once, and the peers must hear that this one failed.
     */
    private AccelerateException failed(final RuntimeException ex)
    {
        final AccelerateException failed = ex instanceof AccelerateException ? (AccelerateException)ex :
            new AccelerateException("rank " + rank + ": collective #" + sequence + " failed: " + ex, ex);
        failure = failed;
        transport.leave(true);
        return failed;
    }

    private void checkUsable()
    {
        if (failure != null)
        {
            throw new AccelerateException("rank " + rank + " cannot run another collective: an earlier one failed (" +
                failure.getMessage() + "); the peers' state is unknown, so stop this process", failure);
        }
    }

    private List<byte[]> gatherValues(final byte[] value, final int root, final long seq)
    {
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

    public void timeout(final long timeoutNs)
    {
        transport.timeoutNs(timeoutNs);
    }

    public long timeoutNs()
    {
        return transport.timeoutNs();
    }

    public void close()
    {
        transport.close();
    }

    /**
     * Reduces (or copies) the payloads of one ring step into consecutive places of the array, where the transport
     * hands them over: in the bulk ring or an inbox.
     */
    private static final class SegmentReceiver implements PayloadHandler
    {
        private final Reductions reductions;
        private MutableDirectBuffer data;
        private int position;
        private boolean reduce;
        private boolean isDouble;
        private ReduceOp op;

        SegmentReceiver(final Reductions reductions)
        {
            this.reductions = reductions;
        }

        void start(
            final MutableDirectBuffer data, final int offset, final boolean reduce, final boolean isDouble,
            final ReduceOp op)
        {
            this.data = data;
            this.position = offset;
            this.reduce = reduce;
            this.isDouble = isDouble;
            this.op = op;
        }

        public void onPayload(final DirectBuffer buffer, final int offset, final int length)
        {
            if (reduce)
            {
                reductions.reduce(op, isDouble, data, position, buffer, offset, length);
            }
            else
            {
                data.putBytes(position, buffer, offset, length);
            }
            position += length;
        }
    }
}
