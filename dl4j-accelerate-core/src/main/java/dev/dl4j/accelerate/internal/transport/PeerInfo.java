package dev.dl4j.accelerate.internal.transport;

import java.nio.charset.StandardCharsets;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * What a rank tells the others at the rendezvous: where it runs and how to reach it.
 *
 * @param rank        global rank.
 * @param nodeRank    index of its host.
 * @param localRank   rank on its host.
 * @param driverId    identifies its media driver; ranks with the same driver talk over {@code aeron:ipc}.
 * @param udpEndpoint {@code address:port} of its UDP subscription, for ranks on other hosts.
 * @param heartbeatEndpoint {@code address:port} of its UDP heartbeat subscription (see {@link PeerMonitor}).
 * @param pid         its process id, for ranks on the same host to see whether it still runs.
 */
record PeerInfo(
    int rank, int nodeRank, int localRank, String driverId, String udpEndpoint, String heartbeatEndpoint, long pid)
{
    int encode(final MutableDirectBuffer buffer, final int offset)
    {
        int at = offset;
        buffer.putInt(at, rank, Frame.ORDER);
        buffer.putInt(at + 4, nodeRank, Frame.ORDER);
        buffer.putInt(at + 8, localRank, Frame.ORDER);
        buffer.putLong(at + 12, pid, Frame.ORDER);
        at += 20;
        at += putString(buffer, at, driverId);
        at += putString(buffer, at, udpEndpoint);
        at += putString(buffer, at, heartbeatEndpoint);
        return at - offset;
    }

    static PeerInfo decode(final DirectBuffer buffer, final int offset, final int limit, final int[] consumed)
    {
        int at = offset;
        require(at + 20, limit);
        final int rank = buffer.getInt(at, Frame.ORDER);
        final int nodeRank = buffer.getInt(at + 4, Frame.ORDER);
        final int localRank = buffer.getInt(at + 8, Frame.ORDER);
        final long pid = buffer.getLong(at + 12, Frame.ORDER);
        at += 20;
        final String driverId = getString(buffer, at, limit);
        at += 4 + buffer.getInt(at, Frame.ORDER);
        final String endpoint = getString(buffer, at, limit);
        at += 4 + buffer.getInt(at, Frame.ORDER);
        final String heartbeatEndpoint = getString(buffer, at, limit);
        at += 4 + buffer.getInt(at, Frame.ORDER);
        consumed[0] = at - offset;
        return new PeerInfo(rank, nodeRank, localRank, driverId, endpoint, heartbeatEndpoint, pid);
    }

    private static int putString(final MutableDirectBuffer buffer, final int offset, final String value)
    {
        final byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
        buffer.putInt(offset, bytes.length, Frame.ORDER);
        buffer.putBytes(offset + 4, bytes);
        return 4 + bytes.length;
    }

    private static String getString(final DirectBuffer buffer, final int offset, final int limit)
    {
        require(offset + 4, limit);
        final int length = buffer.getInt(offset, Frame.ORDER);
        if (length < 0)
        {
            throw new IllegalArgumentException("negative string length " + length + " in rendezvous frame");
        }
        require(offset + 4 + length, limit);
        final byte[] bytes = new byte[length];
        buffer.getBytes(offset + 4, bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    private static void require(final int end, final int limit)
    {
        if (end > limit)
        {
            throw new IllegalArgumentException("rendezvous frame truncated: needs " + end + " bytes, has " + limit);
        }
    }
}
