package dev.dl4j.accelerate.internal.transport;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.DatagramSocket;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import dev.dl4j.accelerate.AccelerateException;
import dev.dl4j.accelerate.AcceleratorSettings;
import dev.dl4j.accelerate.CollectiveTimeoutException;
import dev.dl4j.accelerate.InvalidConfigurationException;
import dev.dl4j.accelerate.ProcessTopology;
import io.aeron.Aeron;
import io.aeron.AeronCounters;
import io.aeron.ExclusivePublication;
import io.aeron.FragmentAssembler;
import io.aeron.Publication;
import io.aeron.Subscription;
import io.aeron.driver.MediaDriver;
import io.aeron.exceptions.DriverTimeoutException;
import io.aeron.exceptions.RegistrationException;
import io.aeron.logbuffer.FragmentHandler;
import io.aeron.logbuffer.Header;
import org.agrona.CloseHelper;
import org.agrona.DirectBuffer;
import org.agrona.ExpandableArrayBuffer;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.status.CountersReader;

/**
 * Point-to-point frames between the ranks of one job over Aeron: {@code aeron:ipc} to ranks that share this
 * host's media driver, {@code aeron:udp} to the others. Every rank owns one subscription per medium; every
 * peer reaches it through one exclusive publication, so frames from one peer arrive in the order sent.
 *
 * <p>Received frames are copied into a {@link PeerInbox} per source; the collectives consume them in
 * program order. Every wait is bounded by a deadline and idles with the configured {@link IdleStrategy}.
 * Single-threaded: one thread drives all operations.
 *
 * <p><b>Bulk lane.</b> The chunks of large transfers from a rank to the next one ({@link #trySendBulk},
 * {@link #receiveBulk}), the steps of the all-reduce ring, go through a {@link SharedRing} in the media driver's
 * directory when both ranks use the same driver, and are taken where they lie, never copied into an inbox: the
 * receiver reads the ring only for the step it is in, and stops exactly at its last byte, so the chunks of the
 * peer's next steps and operations wait in the ring until their turn. Each lane is in order; a peer's bulk
 * frames never belong to an operation whose control frames this rank still expects. Between ranks on different
 * drivers the chunks take the control lane.
 */
public final class AeronTransport implements AutoCloseable
{
    /** Stream on MASTER_ADDR:MASTER_PORT where ranks introduce themselves to rank 0. */
    public static final int RENDEZVOUS_STREAM_ID = 0x4143_0001;
    /** Rank r receives on stream DATA_STREAM_BASE + r. */
    public static final int DATA_STREAM_BASE = 0x4143_1000;
    /**
     * Bytes of records in each bulk ring: how far a sender may run ahead of its receiver. Small enough that the
     * ring stays in the caches while the two copy through it: at 2 and 4 ranks, 1 MiB all-reduces took ~80 and
     * ~260 µs with 2 MiB, ~95 and ~470 µs with 8 MiB. Each rank maps one, in the driver's directory.
     */
    public static final int BULK_RING_CAPACITY = 2 * 1024 * 1024;
    /**
     * Largest payload of a bulk frame: a chunk is received only once it is all written, so chunks much smaller
     * than the ring keep sender and receiver copying at the same time.
     */
    private static final int BULK_CHUNK = 128 * 1024;

    private static final int FRAGMENT_LIMIT = 64;
    /** Bulk frames taken per {@link #receiveBulk} call: a little at a time, so the caller keeps sending too. */
    private static final int BULK_FRAME_LIMIT = 4;
    /** A waiting rank looks at its bulk lane for a peer in another collective once per so many idle rounds. */
    private static final int PEEK_INTERVAL = 1024;
    private static final long NO_SEQUENCE = -1;
    private static final long CLOSE_DRAIN_NS = TimeUnit.SECONDS.toNanos(2);

    private final int rank;
    private final int worldSize;
    private final long token;
    private long timeoutNs;
    private final IdleStrategy idle;
    private final MediaDriver ownDriver;
    private final Aeron aeron;
    private final String driverId;
    private final Subscription ipcSubscription;
    private final Subscription udpSubscription;
    private final Subscription heartbeatIpcSubscription;
    private final Subscription heartbeatUdpSubscription;
    private final AcceleratorSettings settings;
    private PeerMonitor monitor;
    private final FragmentAssembler ipcAssembler;
    private final FragmentAssembler udpAssembler;
    private final ExclusivePublication[] publications;
    private final boolean[] sameDriver;
    private final String aeronDirectory;
    private final int left;
    private final int right;
    private final SharedRing inboundRing;
    private SharedRing outboundRing;
    private final PeerInbox[] inboxes;
    private final UnsafeBuffer sendBuffer;
    private final ExpandableArrayBuffer valueBuffer = new ExpandableArrayBuffer(1024);
    private int maxFramePayload;
    private boolean pollUdp = true;
    private int[] localGroup;
    private final String bindAddress;
    private long droppedForeign;
    private long droppedMalformed;
    private long droppedOutsideWorld;
    private long droppedAtRendezvous;
    private volatile Throwable clientError;
    private boolean closed;

    private final SharedRing.RecordHandler bulkHandler = this::onBulkRecord;
    private final SharedRing.RecordHandler peekHandler = this::onBulkPeek;
    private int bulkPeer;
    private byte bulkType;
    private long bulkSequence;
    private int bulkRound;
    private int bulkRemaining;
    private int bulkDelivered;
    private PayloadHandler bulkConsumer;
    private AccelerateException bulkError;
    private int peekPeer;
    private byte peekType;
    private long peekSequence;

    private AeronTransport(
        final ProcessTopology topology,
        final AcceleratorSettings settings,
        final IdleStrategy idle,
        final MediaDriver ownDriver,
        final Aeron aeron,
        final String aeronDirectory)
    {
        this.rank = topology.rank();
        this.worldSize = topology.worldSize();
        this.settings = settings;
        this.timeoutNs = settings.timeout().toNanos();
        this.idle = idle;
        this.ownDriver = ownDriver;
        this.aeron = aeron;
        // Without a launcher-made token, ranks agree on the resolved rendezvous endpoint, however they spell it.
        this.token = Frame.tokenHash(settings.jobToken() != null ? settings.jobToken() :
            endpoint(topology.masterAddress(), topology.masterPort()));
        this.driverId = hostName() + ":" + aeronDirectory;
        this.publications = new ExclusivePublication[worldSize];
        this.sameDriver = new boolean[worldSize];
        this.aeronDirectory = aeronDirectory;
        this.left = Math.floorMod(rank - 1, worldSize);
        this.right = Math.floorMod(rank + 1, worldSize);
        this.inboxes = new PeerInbox[worldSize];
        for (int i = 0; i < worldSize; i++)
        {
            inboxes[i] = new PeerInbox();
        }
        this.sendBuffer = new UnsafeBuffer(ByteBuffer.allocateDirect(MediaDrivers.IPC_TERM_LENGTH / 8));
        this.maxFramePayload = sendBuffer.capacity() - Frame.HEADER_LENGTH;

        final FragmentHandler handler = this::onFragment;
        this.ipcAssembler = new FragmentAssembler(handler);
        this.udpAssembler = new FragmentAssembler(handler);
        this.ipcSubscription = aeron.addSubscription("aeron:ipc", DATA_STREAM_BASE + rank);
        this.bindAddress = settings.bindAddress() != null ?
            checkedBindAddress(settings.bindAddress()) : localAddressReaching(topology.masterAddress());
        this.heartbeatIpcSubscription = aeron.addSubscription("aeron:ipc", PeerMonitor.HEARTBEAT_STREAM_BASE + rank);
        try
        {
            this.udpSubscription = aeron.addSubscription(
                UdpChannels.subscription(endpoint(bindAddress, 0)), DATA_STREAM_BASE + rank);
            // Heartbeats are small: the default socket buffers and MTU do.
            this.heartbeatUdpSubscription = aeron.addSubscription(
                "aeron:udp?endpoint=" + endpoint(bindAddress, 0), PeerMonitor.HEARTBEAT_STREAM_BASE + rank);
        }
        catch (final RegistrationException ex)
        {
            throw new InvalidConfigurationException("rank " + rank + " cannot bind a UDP endpoint on " + bindAddress +
                (settings.bindAddress() != null ? " (ACCELERATE_BIND_ADDRESS)" : " (the interface reaching MASTER_ADDR)") +
                ": " + ex.getMessage());
        }
        // Made before this rank says hello, so a left neighbour, which opens it only after the rendezvous, never
        // finds a dead job's file of the same name. A driver of our own is no one else's: no neighbour to feed us.
        this.inboundRing = ownDriver != null ? null : createInboundRing();
    }

    private SharedRing createInboundRing()
    {
        try
        {
            return SharedRing.create(ringFile(rank), BULK_RING_CAPACITY);
        }
        catch (final RuntimeException ex)
        {
            throw new AccelerateException("rank " + rank + " cannot create its bulk ring " + ringFile(rank) + " (" + ex +
                "; it takes " + (BULK_RING_CAPACITY >> 20) + " MiB of shared memory: is /dev/shm large enough? " +
                "containers often give it 64 MiB: raise it with --shm-size or use --ipc=host)", ex);
        }
    }

    private SharedRing openRing(final int consumer)
    {
        try
        {
            return SharedRing.openIfExists(ringFile(consumer));
        }
        catch (final RuntimeException ex)
        {
            throw new AccelerateException("rank " + rank + " cannot open the bulk ring of rank " + consumer + ": " + ex, ex);
        }
    }

    private File ringFile(final int consumer)
    {
        return new File(aeronDirectory, "dl4j-accelerate-bulk-" + Long.toHexString(token) + "-to-" + consumer);
    }

    private static String checkedBindAddress(final String address)
    {
        try
        {
            final InetAddress resolved = InetAddress.getByName(address);
            if (resolved.isAnyLocalAddress())
            {
                throw new InvalidConfigurationException("ACCELERATE_BIND_ADDRESS=" + address +
                    " is a wildcard; peers need an address that reaches this host, e.g. its interface's address");
            }
            return resolved.getHostAddress();
        }
        catch (final UnknownHostException ex)
        {
            throw new InvalidConfigurationException("ACCELERATE_BIND_ADDRESS=" + address + " does not resolve");
        }
    }

    /**
     * Connects this rank to the job: attaches to (or starts) the media driver, meets rank 0 at
     * {@code MASTER_ADDR:MASTER_PORT}, learns every peer and opens a publication to each.
     *
     * @param topology where this rank sits; world size &gt; 1.
     * @param settings driver, timeout, token.
     * @param idle     how to wait.
     * @return a transport connected to every peer.
     * @throws CollectiveTimeoutException if the peers did not all arrive before the deadline.
     * @throws InvalidConfigurationException if the master endpoint cannot be used.
     */
    public static AeronTransport connect(
        final ProcessTopology topology, final AcceleratorSettings settings, final IdleStrategy idle)
    {
        MediaDriver driver = null;
        Aeron aeron = null;
        AeronTransport transport = null;
        try
        {
            String directory = settings.aeronDirectory();
            if (directory == null)
            {
                directory = MediaDrivers.newDirectory("rank" + topology.rank());
                driver = MediaDrivers.launch(directory);
            }
            else if (!new File(directory, "cnc.dat").exists())
            {
                throw new InvalidConfigurationException("ACCELERATE_AERON_DIR=" + directory +
                    " holds no running media driver (no cnc.dat); unset it to run a driver in this process");
            }
            final Throwable[] earlyError = new Throwable[1];
            final AeronTransport[] owner = new AeronTransport[1];
            try
            {
                aeron = Aeron.connect(new Aeron.Context()
                    .aeronDirectoryName(directory)
                    .errorHandler(error -> onClientError(owner[0], earlyError, error))
                    .threadFactory(MediaDrivers::daemon)
                    .driverTimeoutMs(Math.min(settings.timeout().toMillis(), 30_000)));
            }
            catch (final DriverTimeoutException ex)
            {
                throw new InvalidConfigurationException("the media driver in " + directory +
                    (settings.aeronDirectory() != null ? " (ACCELERATE_AERON_DIR)" : "") +
                    " does not answer: " + ex.getMessage() + "; is it a stale directory of a stopped launcher?");
            }
            transport = new AeronTransport(topology, settings, idle, driver, aeron, directory);
            owner[0] = transport;
            transport.clientError = earlyError[0];
            transport.rendezvous(topology, System.nanoTime() + settings.timeout().toNanos());
            return transport;
        }
        catch (final Throwable ex)
        {
            if (transport != null)
            {
                transport.close();
            }
            else
            {
                CloseHelper.quietCloseAll(aeron, driver);
            }
            throw ex;
        }
    }

    private static void onClientError(final AeronTransport transport, final Throwable[] early, final Throwable error)
    {
        // Runs on Aeron's conductor thread. Keep the first error: the next wait fails with it instead of
        // running into its deadline with no hint.
        System.err.println("dl4j-accelerate: Aeron client error: " + error);
        if (transport == null)
        {
            early[0] = early[0] == null ? error : early[0];
        }
        else if (transport.clientError == null)
        {
            transport.clientError = error;
        }
    }

    private void checkClient()
    {
        final Throwable error = clientError;
        if (error != null)
        {
            throw new AccelerateException("rank " + rank + ": the Aeron client failed: " + error, error);
        }
    }

    private void rendezvous(final ProcessTopology topology, final long deadlineNs)
    {
        final PeerInfo self = new PeerInfo(rank, topology.nodeRank(), topology.localRank(), driverId,
            awaitUdpEndpoint(udpSubscription, deadlineNs), awaitUdpEndpoint(heartbeatUdpSubscription, deadlineNs),
            ProcessHandle.current().pid());
        final String masterEndpoint = endpoint(topology.masterAddress(), topology.masterPort());
        final PeerInfo[] peers;
        if (rank == 0)
        {
            peers = collectHellos(topology, self, masterEndpoint, deadlineNs);
            openPublications(peers);
            final int length = encodeTable(peers);
            for (int peer = 1; peer < worldSize; peer++)
            {
                sendValue(peer, Frame.WELCOME, 0, valueBuffer, 0, length, deadlineNs);
            }
        }
        else
        {
            sendHello(topology, self, masterEndpoint, deadlineNs);
            final byte[] table = receiveValue(0, Frame.WELCOME, 0, deadlineNs);
            peers = decodeTable(table);
            openPublications(peers);
        }
        localGroup = localGroupOf(peers, topology);
        awaitConnected(deadlineNs);
        startMonitor(peers);

        pollUdp = false;
        for (final PeerInfo peer : peers)
        {
            pollUdp |= !peer.driverId().equals(driverId);
        }
        droppedAtRendezvous = droppedFrames();
        if (pollUdp && ownDriver != null)
        {
            // A launcher warns for its host; a rank running its own driver has no one to do it.
            UdpChannels.warnIfKernelCapsBuffers(System.err);
        }
    }

    private PeerInfo[] collectHellos(
        final ProcessTopology topology, final PeerInfo self, final String masterEndpoint, final long deadlineNs)
    {
        final Subscription master;
        try
        {
            master = aeron.addSubscription("aeron:udp?endpoint=" + masterEndpoint, RENDEZVOUS_STREAM_ID);
        }
        catch (final RegistrationException ex)
        {
            throw new InvalidConfigurationException("rank 0 cannot listen on MASTER_ADDR:MASTER_PORT=" + masterEndpoint +
                " (" + ex.getMessage() + "); is the port in use by another job, or the address not this host's?");
        }
        try
        {
            final PeerInfo[] peers = new PeerInfo[worldSize];
            peers[0] = self;
            final int[] arrived = { 1 };
            final FragmentHandler onHello = new FragmentAssembler((buffer, offset, length, header) ->
            {
                if (!isOurs(buffer, offset, length))
                {
                    return;
                }
                if (length < Frame.HEADER_LENGTH + 8 || Frame.type(buffer, offset) != Frame.HELLO)
                {
                    droppedMalformed++;
                    return;
                }
                final int at = offset + Frame.HEADER_LENGTH;
                final int theirWorld = buffer.getInt(at, Frame.ORDER);
                final PeerInfo info;
                try
                {
                    info = PeerInfo.decode(buffer, at + 4, offset + length, new int[1]);
                }
                catch (final IllegalArgumentException malformed)
                {
                    droppedMalformed++;
                    return;
                }
                if (theirWorld != worldSize)
                {
                    throw new InvalidConfigurationException("rank " + info.rank() + " (" + info.driverId() +
                        ") was started with WORLD_SIZE=" + theirWorld + " but rank 0 has WORLD_SIZE=" + worldSize);
                }
                if (info.rank() <= 0 || info.rank() >= worldSize)
                {
                    droppedOutsideWorld++;
                    return;
                }
                if (peers[info.rank()] != null)
                {
                    throw new InvalidConfigurationException("two processes claim RANK=" + info.rank() + ": " +
                        peers[info.rank()].driverId() + " and " + info.driverId());
                }
                peers[info.rank()] = info;
                arrived[0]++;
            });
            idle.reset();
            while (arrived[0] < worldSize)
            {
                if (master.poll(onHello, FRAGMENT_LIMIT) == 0)
                {
                    if (System.nanoTime() - deadlineNs > 0)
                    {
                        final List<Integer> missing = new ArrayList<>();
                        for (int r = 0; r < worldSize; r++)
                        {
                            if (peers[r] == null)
                            {
                                missing.add(r);
                            }
                        }
                        throw new CollectiveTimeoutException("rendezvous", 0, missing, "rank 0 waited " +
                            TimeUnit.NANOSECONDS.toSeconds(timeoutNs) + " s at " + masterEndpoint + " for ranks " +
                            missing + " of " + worldSize + " to start; did they get the same MASTER_ADDR/MASTER_PORT?" +
                            (droppedFrames() > 0 ? " " + droppedFrames() + " frame(s) from other jobs or with another " +
                            "job token (ACCELERATE_JOB_TOKEN) were dropped." : ""));
                    }
                    idle.idle();
                }
            }
            return peers;
        }
        finally
        {
            master.close();
        }
    }

    private void sendHello(
        final ProcessTopology topology, final PeerInfo self, final String masterEndpoint, final long deadlineNs)
    {
        try (ExclusivePublication hello = aeron.addExclusivePublication(
            "aeron:udp?endpoint=" + masterEndpoint + "|interface=" + endpoint(bindAddress, 0) + "|term-length=64k",
            RENDEZVOUS_STREAM_ID))
        {
            Frame.writeHeader(sendBuffer, Frame.HELLO, Frame.FLAG_LAST, 0, rank, 0, token);
            sendBuffer.putInt(Frame.HEADER_LENGTH, worldSize, Frame.ORDER);
            final int length = Frame.HEADER_LENGTH + 4 + self.encode(sendBuffer, Frame.HEADER_LENGTH + 4);
            idle.reset();
            while (true)
            {
                final long result = hello.offer(sendBuffer, 0, length);
                if (result > 0)
                {
                    break;
                }
                if (result == Publication.CLOSED || result == Publication.MAX_POSITION_EXCEEDED)
                {
                    throw new AccelerateException("rendezvous publication to " + masterEndpoint + " failed: " +
                        Publication.errorString(result));
                }
                if (System.nanoTime() - deadlineNs > 0)
                {
                    throw new CollectiveTimeoutException("rendezvous", 0, List.of(0), "rank " + rank +
                        " could not reach rank 0 at MASTER_ADDR:MASTER_PORT=" + masterEndpoint + " within " +
                        TimeUnit.NANOSECONDS.toSeconds(timeoutNs) + " s; is rank 0 running and the address right?");
                }
                poll();
                idle.idle();
            }
        }
    }

    private int encodeTable(final PeerInfo[] peers)
    {
        valueBuffer.putInt(0, peers.length, Frame.ORDER);
        int at = 4;
        for (final PeerInfo peer : peers)
        {
            at += peer.encode(valueBuffer, at);
        }
        return at;
    }

    private PeerInfo[] decodeTable(final byte[] table)
    {
        final UnsafeBuffer buffer = new UnsafeBuffer(table);
        final int count = buffer.getInt(0, Frame.ORDER);
        if (count != worldSize)
        {
            throw new InvalidConfigurationException(
                "rank 0 has WORLD_SIZE=" + count + " but rank " + rank + " has WORLD_SIZE=" + worldSize);
        }
        final PeerInfo[] peers = new PeerInfo[count];
        final int[] consumed = new int[1];
        int at = 4;
        for (int i = 0; i < count; i++)
        {
            peers[i] = PeerInfo.decode(buffer, at, table.length, consumed);
            at += consumed[0];
        }
        return peers;
    }

    private void openPublications(final PeerInfo[] peers)
    {
        for (final PeerInfo peer : peers)
        {
            if (peer.rank() == rank)
            {
                continue;
            }
            sameDriver[peer.rank()] = peer.driverId().equals(driverId);
            final String channel = sameDriver[peer.rank()] ?
                "aeron:ipc?term-length=" + MediaDrivers.IPC_TERM_LENGTH + "|sparse=false" :
                UdpChannels.publication(peer.udpEndpoint(), endpoint(bindAddress, 0));
            final ExclusivePublication publication;
            try
            {
                publication = aeron.addExclusivePublication(channel, DATA_STREAM_BASE + peer.rank());
            }
            catch (final RegistrationException ex)
            {
                throw new AccelerateException("rank " + rank + " cannot open a publication to rank " + peer.rank() +
                    " on " + channel + ": " + ex.getMessage() + " (each costs 3 terms of shared memory; is /dev/shm " +
                    "large enough? containers often give it 64 MiB: raise it with --shm-size or use --ipc=host)", ex);
            }
            publications[peer.rank()] = publication;
            maxFramePayload = Math.min(maxFramePayload, publication.maxMessageLength() - Frame.HEADER_LENGTH);
        }
    }

    private int[] localGroupOf(final PeerInfo[] peers, final ProcessTopology topology)
    {
        final int[] group = Arrays.stream(peers)
            .filter(p -> p.nodeRank() == topology.nodeRank())
            .sorted((a, b) -> Integer.compare(a.localRank(), b.localRank()))
            .mapToInt(PeerInfo::rank)
            .toArray();
        for (int i = 0; i < group.length; i++)
        {
            if (peers[group[i]].localRank() != i || group.length != topology.localWorldSize())
            {
                final StringBuilder seen = new StringBuilder();
                for (final int r : group)
                {
                    seen.append(" rank ").append(r).append("=LOCAL_RANK ").append(peers[r].localRank());
                }
                throw new InvalidConfigurationException("node " + topology.nodeRank() + " should hold LOCAL_WORLD_SIZE=" +
                    topology.localWorldSize() + " ranks with LOCAL_RANK 0.." + (topology.localWorldSize() - 1) +
                    " but holds" + seen);
            }
        }
        return group;
    }

    private void awaitConnected(final long deadlineNs)
    {
        idle.reset();
        for (int peer = 0; peer < worldSize; peer++)
        {
            final ExclusivePublication publication = publications[peer];
            while (publication != null && !publication.isConnected())
            {
                if (System.nanoTime() - deadlineNs > 0)
                {
                    throw new CollectiveTimeoutException("rendezvous", 0, List.of(peer), "rank " + rank +
                        " could not connect to rank " + peer + " on " + publication.channel());
                }
                poll();
                idle.idle();
            }
        }
    }

    private void startMonitor(final PeerInfo[] peers)
    {
        final String[] channels = new String[worldSize];
        final String[] hosts = new String[worldSize];
        final int[] nodes = new int[worldSize];
        final long[] localPids = new long[worldSize];
        for (final PeerInfo peer : peers)
        {
            hosts[peer.rank()] = peer.driverId().substring(0, peer.driverId().indexOf(':'));
            nodes[peer.rank()] = peer.nodeRank();
            localPids[peer.rank()] = peer.driverId().equals(driverId) ? peer.pid() : 0;
            channels[peer.rank()] = peer.driverId().equals(driverId) ? "aeron:ipc?term-length=64k" :
                "aeron:udp?endpoint=" + peer.heartbeatEndpoint() + "|interface=" + endpoint(bindAddress, 0) +
                "|term-length=64k";
        }
        monitor = new PeerMonitor(aeron, rank, worldSize, token, settings.peerTimeout().toNanos(),
            settings.exitOnPeerLoss(), new Subscription[] { heartbeatIpcSubscription, heartbeatUdpSubscription },
            channels, hosts, nodes, localPids);
        monitor.start();
    }

    /**
     * The calling rank enters a collective: its peers learn which, through the heartbeats.
     *
     * @param type     the operation.
     * @param sequence its sequence number.
     * @param size     bytes of its data, or 0.
     */
    public void enter(final byte type, final long sequence, final long size)
    {
        monitor.enter(type, sequence, size);
    }

    /**
     * The calling rank is done with its collective.
     *
     * @param failed whether the collective failed.
     */
    public void leave(final boolean failed)
    {
        monitor.leave(failed);
    }

    /**
     * @return the ranks that, by what they last said, have not arrived in this rank's current collective.
     */
    public List<Integer> notArrived()
    {
        return monitor.notArrived();
    }

    /**
     * @return what each rank is calling or last called, for error messages.
     */
    public String describeCalls()
    {
        return monitor.describeCalls();
    }

    /**
     * @return for a mismatch's message: what each rank called, once the heartbeats have caught up with it.
     */
    public String callsAfterMismatch()
    {
        return monitor != null ? " " + monitor.describeCallsSettled() : "";
    }

    private void checkPeers(final int awaited)
    {
        if (monitor != null)
        {
            monitor.check(awaited);
        }
    }

    private String awaitUdpEndpoint(final Subscription subscription, final long deadlineNs)
    {
        idle.reset();
        while (true)
        {
            final List<String> addresses = subscription.localSocketAddresses();
            if (!addresses.isEmpty())
            {
                return addresses.get(0);
            }
            if (System.nanoTime() - deadlineNs > 0)
            {
                throw new AccelerateException(
                    "rank " + rank + ": the media driver did not bind " + subscription.channel());
            }
            idle.idle();
        }
    }

    /**
     * The first check on anything received, before any other field is read: long enough for a header and
     * carrying this job's token. Counts what fails it.
     */
    private boolean isOurs(final DirectBuffer buffer, final int offset, final int length)
    {
        if (length < Frame.HEADER_LENGTH)
        {
            droppedMalformed++;
            return false;
        }
        if (Frame.token(buffer, offset) != token)
        {
            droppedForeign++;
            return false;
        }
        return true;
    }

    private void onFragment(final DirectBuffer buffer, final int offset, final int length, final Header header)
    {
        if (!isOurs(buffer, offset, length))
        {
            return;
        }
        final int source = Frame.source(buffer, offset);
        if (source < 0 || source >= worldSize || source == rank)
        {
            droppedOutsideWorld++;
            return;
        }
        inboxes[source].append(buffer, offset, length);
    }

    /**
     * Moves whatever has arrived into the inboxes.
     *
     * @return the number of fragments read; 0 when nothing arrived.
     */
    public int poll()
    {
        int work = ipcSubscription.poll(ipcAssembler, FRAGMENT_LIMIT);
        if (pollUdp)
        {
            work += udpSubscription.poll(udpAssembler, FRAGMENT_LIMIT);
        }
        return work;
    }

    /**
     * @return a buffer to write a frame's payload into at {@link Frame#HEADER_LENGTH}, then pass to
     *         {@link #send(int, byte, long, int, int, long)}.
     */
    public UnsafeBuffer sendBuffer()
    {
        return sendBuffer;
    }

    /**
     * Sends one frame whose payload was written into {@link #sendBuffer()}.
     *
     * @param peer          destination rank.
     * @param type          operation type.
     * @param sequence      operation sequence number.
     * @param round         step within the operation.
     * @param payloadLength bytes of payload after the header, at most {@link #maxFramePayload()}.
     * @param deadlineNs    {@link System#nanoTime()} after which to give up.
     */
    public void send(
        final int peer, final byte type, final long sequence, final int round, final int payloadLength,
        final long deadlineNs)
    {
        Frame.writeHeader(sendBuffer, type, Frame.FLAG_LAST, round, rank, sequence, token);
        offer(peer, type, sequence, Frame.HEADER_LENGTH + payloadLength, deadlineNs);
    }

    /**
     * Sends a value of any length, split into frames when it exceeds {@link #maxFramePayload()}.
     *
     * @param peer       destination rank.
     * @param type       operation type.
     * @param sequence   operation sequence number.
     * @param value      buffer holding the value.
     * @param offset     of the value.
     * @param length     of the value.
     * @param deadlineNs {@link System#nanoTime()} after which to give up.
     */
    public void sendValue(
        final int peer, final byte type, final long sequence, final DirectBuffer value, final int offset,
        final int length, final long deadlineNs)
    {
        int sent = 0;
        int chunk = 0;
        do
        {
            final int part = Math.min(maxFramePayload, length - sent);
            final byte flags = sent + part == length ? Frame.FLAG_LAST : 0;
            Frame.writeHeader(sendBuffer, type, flags, chunk++, rank, sequence, token);
            sendBuffer.putBytes(Frame.HEADER_LENGTH, value, offset + sent, part);
            offer(peer, type, sequence, Frame.HEADER_LENGTH + part, deadlineNs);
            sent += part;
        }
        while (sent < length);
    }

    /**
     * Receives a value sent with {@link #sendValue}.
     *
     * @param peer       source rank.
     * @param type       expected operation type.
     * @param sequence   expected sequence number.
     * @param deadlineNs {@link System#nanoTime()} after which to give up.
     * @return the value's bytes.
     */
    public byte[] receiveValue(final int peer, final byte type, final long sequence, final long deadlineNs)
    {
        int length = 0;
        boolean last;
        do
        {
            final PeerInbox inbox = await(peer, type, sequence, deadlineNs);
            final int offset = inbox.frameOffset();
            final int part = inbox.frameLength() - Frame.HEADER_LENGTH;
            valueBuffer.putBytes(length, inbox.buffer(), offset + Frame.HEADER_LENGTH, part);
            length += part;
            last = (Frame.flags(inbox.buffer(), offset) & Frame.FLAG_LAST) != 0;
            inbox.pop();
        }
        while (!last);
        final byte[] bytes = new byte[length];
        valueBuffer.getBytes(0, bytes);
        return bytes;
    }

    /**
     * Waits until the next frame from a peer has arrived and checks that it belongs to the expected operation.
     *
     * @param peer       source rank.
     * @param type       expected operation type.
     * @param sequence   expected sequence number.
     * @param deadlineNs {@link System#nanoTime()} after which to give up.
     * @return the peer's inbox with the frame at its head; {@link PeerInbox#pop()} it when done.
     * @throws CollectiveTimeoutException if nothing arrived in time.
     * @throws AccelerateException if the peer is in a different operation.
     */
    public PeerInbox await(final int peer, final byte type, final long sequence, final long deadlineNs)
    {
        final PeerInbox inbox = inboxes[peer];
        if (inbox.isEmpty())
        {
            idle.reset();
            int idleRounds = 0;
            do
            {
                if (poll() == 0)
                {
                    if (++idleRounds % PEEK_INTERVAL == 0 && isRingFrom(peer))
                    {
                        checkBulkLane(peer, type, sequence);
                    }
                    checkPeers(peer);
                    if (System.nanoTime() - deadlineNs > 0)
                    {
                        checkClient();
                        throw timedOut(type, sequence, peer, "still waiting for rank " + peer);
                    }
                    if (clientError != null)
                    {
                        checkClient();
                    }
                    idle.idle();
                }
            }
            while (inbox.isEmpty());
        }
        final DirectBuffer buffer = inbox.buffer();
        final int offset = inbox.frameOffset();
        final byte theirType = Frame.type(buffer, offset);
        final long theirSequence = Frame.sequence(buffer, offset);
        if (theirType != type || theirSequence != sequence)
        {
            throw mismatch(peer, type, sequence, 0, theirType, theirSequence, 0);
        }
        return inbox;
    }

    /**
     * Sends one frame whose payload stays where it is, e.g. in an ND4J array's memory: no copy on this side.
     *
     * @param peer          destination rank.
     * @param type          operation type.
     * @param sequence      operation sequence number.
     * @param round         step within the operation.
     * @param payload       buffer holding the payload.
     * @param offset        of the payload.
     * @param length        of the payload, at most {@link #maxFramePayload()}.
     * @param deadlineNs    {@link System#nanoTime()} after which to give up.
     */
    public void sendFrom(
        final int peer, final byte type, final long sequence, final int round, final DirectBuffer payload,
        final int offset, final int length, final long deadlineNs)
    {
        Frame.writeHeader(sendBuffer, type, Frame.FLAG_LAST, round, rank, sequence, token);
        offer(peer, type, sequence, Frame.HEADER_LENGTH, payload, offset, length, deadlineNs);
    }

    /**
     * The largest payload of one frame of a bulk transfer to {@code peer}: a multiple of 64 bytes, so that the
     * chunks of an array stay aligned for the vector loops.
     *
     * @param peer destination rank.
     * @return bytes of payload per frame.
     */
    public int bulkFramePayload(final int peer)
    {
        return isRingTo(peer) ? BULK_CHUNK : maxFramePayload & ~63;
    }

    private boolean isRingTo(final int peer)
    {
        return peer == right && sameDriver[peer];
    }

    /**
     * @return true if {@code peer}'s bulk frames come through this rank's shared ring: its left neighbour on this
     * driver (one on another host sends them over UDP).
     */
    private boolean isRingFrom(final int peer)
    {
        return peer == left && inboundRing != null && sameDriver[peer];
    }

    /**
     * One attempt to send one frame of a bulk transfer, straight from {@code payload}: returns at once, so the
     * caller can go on receiving while its peer catches up.
     *
     * @param peer       destination rank.
     * @param type       operation type.
     * @param sequence   operation sequence number.
     * @param round      step within the operation.
     * @param payload    buffer holding the payload.
     * @param offset     of the payload.
     * @param length     of the payload, at most {@link #bulkFramePayload(int)}.
     * @return true if sent; false if the peer has not made room yet (try again).
     * @throws AccelerateException if the way to the peer is broken: its publication closed, or a file in place
     *         of its ring that is not one.
     */
    public boolean trySendBulk(
        final int peer, final byte type, final long sequence, final int round, final DirectBuffer payload,
        final int offset, final int length)
    {
        Frame.writeHeader(sendBuffer, type, Frame.FLAG_LAST, round, rank, sequence, token);
        if (isRingTo(peer))
        {
            if (outboundRing == null)
            {
                // The neighbour makes it before the rendezvous ends; until we see it, it is as if full.
                outboundRing = openRing(peer);
                if (outboundRing == null)
                {
                    return false;
                }
            }
            return outboundRing.tryWrite(sendBuffer, Frame.HEADER_LENGTH, payload, offset, length);
        }
        final long result = publications[peer].offer(sendBuffer, 0, Frame.HEADER_LENGTH, payload, offset, length);
        if (result > 0)
        {
            return true;
        }
        if (result == Publication.CLOSED || result == Publication.MAX_POSITION_EXCEEDED)
        {
            throw new AccelerateException(Frame.name(type) + " #" + sequence + ": publication from rank " + rank +
                " to rank " + peer + " failed: " + Publication.errorString(result));
        }
        return false;
    }

    /**
     * Hands the payload of the frames of one step of a bulk transfer from {@code peer} to {@code handler} where
     * they lie, in order, up to {@code maxBytes}, without waiting: frames that came over the control lane (from
     * another driver, or a rank that is not the left neighbour) first, then those in the bulk ring. It stops at
     * the step's last byte, so what follows (the peer's next step or operation) stays where it is.
     *
     * @param peer     source rank.
     * @param type     expected operation type.
     * @param sequence expected operation sequence number.
     * @param round    expected step within the operation.
     * @param maxBytes payload bytes still expected in this step.
     * @param handler  takes each payload; must not block.
     * @return the payload bytes handed over by this call; 0 when none had arrived.
     * @throws AccelerateException if the peer sent a frame of another operation or step, or too many bytes.
     */
    public int receiveBulk(
        final int peer, final byte type, final long sequence, final int round, final int maxBytes,
        final PayloadHandler handler)
    {
        final PeerInbox inbox = inboxes[peer];
        final boolean ring = isRingFrom(peer);
        if (inbox.isEmpty() && !ring)
        {
            poll();
        }
        int delivered = 0;
        while (delivered < maxBytes && !inbox.isEmpty())
        {
            final DirectBuffer buffer = inbox.buffer();
            final int offset = inbox.frameOffset();
            final long theirSequence = Frame.sequence(buffer, offset);
            final byte theirType = Frame.type(buffer, offset);
            if (theirType != type || theirSequence != sequence || Frame.round(buffer, offset) != round)
            {
                // From the left neighbour the step's frames are in the ring, and the inbox may hold its next
                // operation's; anything else is a mismatch.
                if (ring && theirSequence != sequence)
                {
                    break;
                }
                throw mismatch(peer, type, sequence, round, theirType, theirSequence, Frame.round(buffer, offset));
            }
            final int part = inbox.frameLength() - Frame.HEADER_LENGTH;
            if (part > maxBytes - delivered)
            {
                throw tooLong(peer, type, sequence, part, maxBytes - delivered);
            }
            handler.onPayload(buffer, offset + Frame.HEADER_LENGTH, part);
            delivered += part;
            inbox.pop();
        }
        if (delivered < maxBytes && ring)
        {
            bulkPeer = peer;
            bulkType = type;
            bulkSequence = sequence;
            bulkRound = round;
            bulkRemaining = maxBytes - delivered;
            bulkDelivered = 0;
            bulkConsumer = handler;
            try
            {
                inboundRing.read(bulkHandler, BULK_FRAME_LIMIT);
            }
            finally
            {
                bulkConsumer = null;
            }
            delivered += bulkDelivered;
            if (bulkError != null)
            {
                final AccelerateException error = bulkError;
                bulkError = null;
                throw error;
            }
        }
        return delivered;
    }

    /**
     * Called between attempts of a bulk transfer: when the last attempt made no progress, moves the control lane
     * into the inboxes and idles, or fails once the deadline has passed.
     *
     * @param progressed whether the last attempt sent or received anything.
     * @param type       the operation, for the error.
     * @param sequence   its sequence number, for the error.
     * @param waitingFor the rank this one waits on.
     * @param receiving  true if waiting for its frames, false if waiting for it to make room.
     * @param deadlineNs {@link System#nanoTime()} after which to give up.
     * @throws CollectiveTimeoutException once the deadline has passed.
     */
    public void awaitProgress(
        final boolean progressed, final byte type, final long sequence, final int waitingFor, final boolean receiving,
        final long deadlineNs)
    {
        if (progressed)
        {
            idle.reset();
            return;
        }
        if (poll() == 0)
        {
            if (clientError != null)
            {
                checkClient();
            }
            checkPeers(waitingFor);
            if (System.nanoTime() - deadlineNs > 0)
            {
                throw timedOut(type, sequence, waitingFor, receiving ? "still waiting for rank " + waitingFor :
                    "rank " + waitingFor + " did not accept data");
            }
            idle.idle();
        }
    }

    private int onBulkRecord(final DirectBuffer buffer, final int offset, final int length)
    {
        if (length < Frame.HEADER_LENGTH || Frame.token(buffer, offset) != token || Frame.source(buffer, offset) != bulkPeer)
        {
            final String what = length < Frame.HEADER_LENGTH ? "a " + length + "-byte record, shorter than a header" :
                "a record from rank " + Frame.source(buffer, offset) + " (expected rank " + bulkPeer + ") with " +
                (Frame.token(buffer, offset) == token ? "this job's token" : "another job's token");
            bulkError = new AccelerateException("rank " + rank + " found a foreign record in its bulk ring " +
                inboundRing.file() + ": " + what + "; is another job using the same media driver directory?");
            return SharedRing.ABORT;
        }
        if (bulkRemaining == 0 || bulkError != null)
        {
            return SharedRing.ABORT;
        }
        final byte theirType = Frame.type(buffer, offset);
        final long theirSequence = Frame.sequence(buffer, offset);
        final int theirRound = Frame.round(buffer, offset);
        final int part = length - Frame.HEADER_LENGTH;
        if (theirType != bulkType || theirSequence != bulkSequence || theirRound != bulkRound)
        {
            bulkError = mismatch(bulkPeer, bulkType, bulkSequence, bulkRound, theirType, theirSequence, theirRound);
            return SharedRing.ABORT;
        }
        if (part > bulkRemaining)
        {
            bulkError = tooLong(bulkPeer, bulkType, bulkSequence, part, bulkRemaining);
            return SharedRing.ABORT;
        }
        bulkConsumer.onPayload(buffer, offset + Frame.HEADER_LENGTH, part);
        bulkRemaining -= part;
        bulkDelivered += part;
        return bulkRemaining == 0 ? SharedRing.BREAK : SharedRing.CONTINUE;
    }

    /**
     * A rank waiting for a control frame whose peer is in the same operation on the bulk lane would otherwise
     * only time out: fail at once with what each called.
     */
    private void checkBulkLane(final int peer, final byte type, final long sequence)
    {
        peekPeer = peer;
        peekSequence = NO_SEQUENCE;
        inboundRing.read(peekHandler, 1);
        if (peekSequence == sequence)
        {
            throw peekType != type ? mismatch(peer, type, sequence, 0, peekType, peekSequence, 0) :
                new AccelerateException("collective mismatch: " + Frame.name(type) + " #" + sequence + " on rank " +
                rank + " expected one message but rank " + peer + " is sending its array in chunks, so its array is " +
                "larger; every rank must pass arrays of the same length and type." + callsAfterMismatch());
        }
    }

    private int onBulkPeek(final DirectBuffer buffer, final int offset, final int length)
    {
        if (length >= Frame.HEADER_LENGTH && Frame.token(buffer, offset) == token &&
            Frame.source(buffer, offset) == peekPeer)
        {
            peekType = Frame.type(buffer, offset);
            peekSequence = Frame.sequence(buffer, offset);
        }
        return SharedRing.ABORT;
    }

    private AccelerateException mismatch(
        final int peer, final byte type, final long sequence, final int round, final byte theirType,
        final long theirSequence, final int theirRound)
    {
        if (theirType == type && theirSequence == sequence)
        {
            return new AccelerateException("collective mismatch: " + Frame.name(type) + " #" + sequence + " on rank " +
                rank + " expected step " + round + " but rank " + peer + " sent step " + theirRound +
                "; every rank must pass arrays of the same length and type." + callsAfterMismatch());
        }
        return new AccelerateException("collective mismatch: rank " + rank + " is in " + Frame.name(type) + " #" +
            sequence + " but rank " + peer + " sent " + Frame.name(theirType) + " #" + theirSequence +
            "; every rank must call the same collectives in the same order." + callsAfterMismatch());
    }

    private AccelerateException tooLong(
        final int peer, final byte type, final long sequence, final int theirs, final int expected)
    {
        return new AccelerateException("collective mismatch: " + Frame.name(type) + " #" + sequence + " on rank " +
            rank + " expected at most " + expected + " more bytes but rank " + peer + " sent " + theirs +
            "; every rank must pass arrays of the same length and type." + callsAfterMismatch());
    }

    private void offer(final int peer, final byte type, final long sequence, final int length, final long deadlineNs)
    {
        offer(peer, type, sequence, length, null, 0, 0, deadlineNs);
    }

    private void offer(
        final int peer, final byte type, final long sequence, final int length, final DirectBuffer payload,
        final int payloadOffset, final int payloadLength, final long deadlineNs)
    {
        final ExclusivePublication publication = publications[peer];
        idle.reset();
        while (true)
        {
            final long result = payload == null ? publication.offer(sendBuffer, 0, length) :
                publication.offer(sendBuffer, 0, length, payload, payloadOffset, payloadLength);
            if (result > 0)
            {
                return;
            }
            if (result == Publication.CLOSED || result == Publication.MAX_POSITION_EXCEEDED)
            {
                throw new AccelerateException(Frame.name(type) + " #" + sequence + ": publication from rank " + rank +
                    " to rank " + peer + " failed: " + Publication.errorString(result));
            }
            // Back-pressured, not yet connected or an admin action: drain our own inbound meanwhile so that
            // a peer blocked on sending to us can make progress, then retry until the deadline.
            if (poll() == 0)
            {
                if (clientError != null)
                {
                    checkClient();
                }
                checkPeers(peer);
                if (System.nanoTime() - deadlineNs > 0)
                {
                    throw timedOut(type, sequence, peer,
                        "rank " + peer + " did not accept data (" + Publication.errorString(result) + ")");
                }
                idle.idle();
            }
        }
    }

    /**
     * A collective's deadline passed: names the ranks that, by their heartbeats, have not arrived in it (or, before
     * the heartbeats run, the one this rank waited for), and what every rank is calling.
     */
    private CollectiveTimeoutException timedOut(
        final byte type, final long sequence, final int waitingFor, final String detail)
    {
        final List<Integer> notArrived = monitor != null ? monitor.notArrived() : List.of();
        final List<Integer> missing = notArrived.isEmpty() ? List.of(waitingFor) : notArrived;
        return new CollectiveTimeoutException(Frame.name(type), sequence, missing, Frame.name(type) + " #" + sequence +
            " timed out after " + TimeUnit.NANOSECONDS.toMillis(timeoutNs) + " ms on rank " + rank + " of " +
            worldSize + ": " + detail + "; rank(s) " + missing + " have not arrived" +
            (monitor != null ? ". " + monitor.describeCalls() : ""));
    }

    /**
     * @return the largest payload {@link #send} accepts in one frame.
     */
    public int maxFramePayload()
    {
        return maxFramePayload;
    }

    /**
     * @return the global ranks on this rank's host, ordered by local rank.
     */
    public int[] localGroup()
    {
        return localGroup.clone();
    }

    /**
     * @param timeoutNs the deadline length of the operations that follow, in nanoseconds.
     */
    public void timeoutNs(final long timeoutNs)
    {
        this.timeoutNs = timeoutNs;
    }

    /**
     * @return the deadline length of an operation, in nanoseconds.
     */
    public long timeoutNs()
    {
        return timeoutNs;
    }

    /**
     * @return frames dropped, never parsed: {@link #droppedForeignFrames()} + {@link #droppedMalformedFrames()} +
     *         {@link #droppedOutsideWorldFrames()}.
     */
    public long droppedFrames()
    {
        return droppedForeign + droppedMalformed + droppedOutsideWorld + heartbeatsDropped();
    }

    private long heartbeatsDropped()
    {
        return monitor != null ? monitor.droppedFrames() : 0;
    }

    /**
     * @return frames dropped because they carried another token than this job's: another job's, or forged.
     */
    public long droppedForeignFrames()
    {
        return droppedForeign;
    }

    /**
     * @return frames dropped because they were too short for a header, or a rendezvous frame that does not decode.
     */
    public long droppedMalformedFrames()
    {
        return droppedMalformed;
    }

    /**
     * @return frames with this job's token dropped because their source is not a peer: a rank outside
     *         {@code [0, WORLD_SIZE)}, or this rank itself.
     */
    public long droppedOutsideWorldFrames()
    {
        return droppedOutsideWorld;
    }

    /**
     * @return this rank's UDP endpoint, {@code address:port}, where ranks on other hosts send to it.
     */
    public String udpEndpoint()
    {
        final List<String> addresses = udpSubscription.localSocketAddresses();
        return addresses.isEmpty() ? null : addresses.get(0);
    }

    /**
     * @return datagrams this host's media driver discarded as not Aeron's (too short, unknown type, bad
     *         version): what a stray sender of random bytes to a UDP port costs. Shared by the host's ranks.
     */
    public long driverInvalidPackets()
    {
        return closed ? 0 : systemCounter(aeron.countersReader(), AeronCounters.SYSTEM_COUNTER_ID_INVALID_PACKETS);
    }

    private static long systemCounter(final CountersReader counters, final int descriptorId)
    {
        final long[] value = { 0 };
        counters.forEach((counterId, typeId, key, label) ->
        {
            if (typeId == AeronCounters.DRIVER_SYSTEM_COUNTER_TYPE_ID && key.getInt(0) == descriptorId)
            {
                value[0] = counters.getCounterValue(counterId);
            }
        });
        return value[0];
    }

    /**
     * One line on stderr when anything was dropped, so a job under attack, or sharing its ports with another,
     * shows it; silent otherwise.
     */
    private void reportDrops()
    {
        final long invalid = driverInvalidPackets();
        if (droppedFrames() == 0 && invalid == 0)
        {
            return;
        }
        System.err.println("dl4j-accelerate: rank " + rank + " dropped " + droppedFrames() + " frame(s) unread: " +
            droppedForeign + " with another job's token, " + droppedMalformed + " malformed, " + droppedOutsideWorld +
            " from a rank outside the world [0, " + worldSize + "), " + heartbeatsDropped() + " forged or foreign " +
            "heartbeat(s); " + droppedAtRendezvous +
            " of them at the rendezvous. This host's media driver discarded " + invalid + " invalid datagram(s).");
    }

    /**
     * Closes the publications, subscriptions and client, then the media driver if this rank runs its own.
     */
    public void close()
    {
        if (!closed)
        {
            try
            {
                // An Aeron client that closed itself (its driver timed out) refuses the counters: then skip these.
                if (!aeron.isClosed())
                {
                    reportDrops();
                }
                // Before the rest, so that peers learn this rank left rather than died.
                CloseHelper.quietClose(monitor);
                if (ownDriver != null && !aeron.isClosed())
                {
                    awaitSent();
                }
            }
            finally
            {
                closed = true;
                CloseHelper.quietCloseAll(monitor, inboundRing, outboundRing, aeron, ownDriver);
            }
        }
    }

    /**
     * A driver of our own dies with this process and does not drain what it has not sent yet: without this, a
     * peer could wait forever for this rank's last frame. Waits, briefly and boundedly, until the driver has
     * sent everything offered.
     */
    private void awaitSent()
    {
        final CountersReader counters = aeron.countersReader();
        final long deadlineNs = System.nanoTime() + CLOSE_DRAIN_NS;
        final IdleStrategy drainIdle = new BackoffIdleStrategy();
        for (final ExclusivePublication publication : publications)
        {
            if (publication == null || publication.isClosed())
            {
                continue;
            }
            final int counterId = counters.findByTypeIdAndRegistrationId(
                AeronCounters.DRIVER_SENDER_POSITION_TYPE_ID, publication.registrationId());
            while (counterId != CountersReader.NULL_COUNTER_ID &&
                counters.getCounterValue(counterId) < publication.position() && System.nanoTime() - deadlineNs < 0)
            {
                drainIdle.idle();
            }
        }
    }

    static String endpoint(final String address, final int port)
    {
        try
        {
            final InetAddress resolved = InetAddress.getByName(address);
            final String host = resolved.getHostAddress();
            return (resolved instanceof Inet6Address ? "[" + host + "]" : host) + ":" + port;
        }
        catch (final UnknownHostException ex)
        {
            throw new InvalidConfigurationException("address '" + address + "' does not resolve: " + ex.getMessage());
        }
    }

    static String localAddressReaching(final String masterAddress)
    {
        try
        {
            final InetAddress master = InetAddress.getByName(masterAddress);
            if (master.isLoopbackAddress())
            {
                return master.getHostAddress();
            }
            try (DatagramSocket probe = new DatagramSocket())
            {
                // Connecting a datagram socket sends nothing; it only asks the kernel which interface routes there.
                probe.connect(master, 9);
                return probe.getLocalAddress().getHostAddress();
            }
        }
        catch (final UnknownHostException ex)
        {
            throw new InvalidConfigurationException(
                "MASTER_ADDR='" + masterAddress + "' does not resolve: " + ex.getMessage());
        }
        catch (final IOException ex)
        {
            throw new InvalidConfigurationException(
                "no local interface reaches MASTER_ADDR='" + masterAddress + "': " + ex.getMessage());
        }
    }

    private static String hostName()
    {
        try
        {
            return Files.readString(Path.of("/proc/sys/kernel/hostname")).trim();
        }
        catch (final IOException | UncheckedIOException ex)
        {
            final String env = System.getenv("HOSTNAME");
            return env != null ? env : "localhost";
        }
    }
}
