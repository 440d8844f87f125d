package dev.dl4j.accelerate.internal.transport;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Pattern;

import dev.dl4j.accelerate.AccelerateException;
import dev.dl4j.accelerate.PeerLostException;
import io.aeron.Aeron;
import io.aeron.ExclusivePublication;
import io.aeron.FragmentAssembler;
import io.aeron.Subscription;
import io.aeron.logbuffer.FragmentHandler;
import io.aeron.logbuffer.Header;
import org.agrona.CloseHelper;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Knows, at any moment, whether each peer is alive and which collective it is in: a thread of its own sends this
 * rank's whereabouts to every peer every {@link #BEAT_INTERVAL_NS} and reads theirs, whatever the training thread
 * is doing (computing, collecting garbage, waiting). The training thread only reads what it keeps.
 *
 * <p>A peer on another host not heard from for the peer timeout is lost: it was killed or stopped, or its host or
 * link is gone. A peer on this host is lost when its silence is explained: its process has ended or is stopped
 * (SIGSTOP); merely silent, it is only starved of CPU on a crowded machine, and counts as lost only after
 * {@link #LOCAL_SILENCE_NS}. Every wait of the transport then fails at once naming it, instead of running into its deadline;
 * and if the training thread does not come to a collective within {@link #EXIT_GRACE_NS}, the process exits with
 * {@link #PEER_LOST_EXIT_CODE} (when so configured), so that no rank of a broken job lingers: the launcher then
 * stops the rest. A peer that closes its {@code Accelerator} says goodbye first; that is no failure unless
 * someone still waits for it. A process that ends without closing it (stopped by a signal, e.g. by its launcher
 * because another rank of its host failed, or {@code System.exit}) says so on its way out, naming the rank it
 * blames: the one it lost itself, else a rank of its host whose process has ended or is stopped. The others then
 * lose that rank at once, and name it, instead of naming, after the peer timeout, whichever silent rank of that
 * host they noticed first.
 *
 * <p>Heartbeats travel on streams of their own, so they never queue behind or among the collectives' frames.
 */
public final class PeerMonitor implements AutoCloseable
{
    /** Rank r hears heartbeats on stream HEARTBEAT_STREAM_BASE + r. */
    public static final int HEARTBEAT_STREAM_BASE = 0x4143_3000;
    /** Exit status of a process that ended itself because a peer was lost while it was not in a collective. */
    public static final int PEER_LOST_EXIT_CODE = 75;
    /**
     * A worker's output line saying it ended because a peer was lost: PeerLostException's message, uncaught, or
     * the line this monitor prints before ending the process. Group 1 is the lost rank's label ("rank r (node n,
     * host h)"), group 2 its node. Kept beside the texts it reads, for the launcher's root-cause report.
     */
    public static final Pattern PEER_LOST_LINE =
        Pattern.compile("(?:PeerLostException: |ends its process \\(exit code \\d+\\): )" +
            "(rank \\d+ \\(node (\\d+), host [^)]*\\)) was lost");
    /** How often each rank tells every peer where it is. */
    static final long BEAT_INTERVAL_NS = TimeUnit.MILLISECONDS.toNanos(100);
    /** How long a lost peer's news may wait for the training thread before the process ends itself. */
    static final long EXIT_GRACE_NS = TimeUnit.MILLISECONDS.toNanos(1500);

    /** Between collectives; the sequence is the last one begun. */
    public static final byte IDLE = 0;
    /** Inside the collective of the sequence. */
    public static final byte IN = 1;
    /** The collective of the sequence failed on that rank. */
    public static final byte FAILED = 2;
    /** The rank closed its accelerator and left the job. */
    public static final byte CLOSED = 3;
    /** The rank's process is ending without having closed its accelerator; the size field names whom it blames. */
    public static final byte EXITING = 4;

    /** How long a running process on this host may stay silent before it counts as lost anyway. */
    static final long LOCAL_SILENCE_NS = TimeUnit.SECONDS.toNanos(30);

    private static final long POLL_INTERVAL_NS = TimeUnit.MILLISECONDS.toNanos(10);
    /** How long a goodbye must stand before it fails a wait: over UDP, a peer's last frames may come after it. */
    private static final long CLOSED_SETTLE_NS = TimeUnit.MILLISECONDS.toNanos(500);
    private static final int PAYLOAD_LENGTH = 16;
    /** How long a process on its way out waits for the monitor's thread to have said so. */
    private static final long EXIT_GOODBYE_WAIT_NS = TimeUnit.MILLISECONDS.toNanos(300);
    private static final String[] PHASES =
        { "between collectives after", "in", "failed in", "closed after", "ending its process after" };

    private final int rank;
    private final int worldSize;
    private final long token;
    private final long timeoutNs;
    private final boolean exitOnLoss;
    private final String[] hosts;
    private final int[] nodes;
    private final long[] localPids;
    private final AtomicLongArray heard;
    private final Subscription[] subscriptions;
    private final ExclusivePublication[] publications;
    private final FragmentAssembler assembler;
    private final UnsafeBuffer sendBuffer = new UnsafeBuffer(new byte[Frame.HEADER_LENGTH + PAYLOAD_LENGTH]);
    private final Thread thread;
    private final Thread onProcessExit;

    // What this rank does, written by the training thread, read by the monitor's: the sequence, type and phase
    // packed into one long (see pack), so they are always read together; the size is written before it and
    // read as in a seqlock.
    private volatile long myState;
    private volatile long mySize;

    // What each peer last said, the same way, and when (nanoTime).
    private final AtomicLongArray peerState;
    private final AtomicLongArray peerSize;
    private final AtomicLongArray lastHeardNs;
    private final AtomicLongArray closedSinceNs;
    private final AtomicIntegerArray blamed;

    private volatile PeerLostException lost;
    private volatile boolean lossDelivered;
    private volatile boolean running = true;
    private volatile long dropped;
    private long lostAtNs;
    // Set by the shutdown hook, for the monitor's thread: the publications have a single writer.
    private volatile int exitBlames = -1;
    private volatile boolean exitRequested;
    private volatile boolean exitSaid;

    PeerMonitor(
        final Aeron aeron, final int rank, final int worldSize, final long token, final long timeoutNs,
        final boolean exitOnLoss, final Subscription[] subscriptions, final String[] peerChannels,
        final String[] hosts, final int[] nodes, final long[] localPids)
    {
        this.rank = rank;
        this.worldSize = worldSize;
        this.token = token;
        this.timeoutNs = timeoutNs;
        this.exitOnLoss = exitOnLoss;
        this.hosts = hosts.clone();
        this.nodes = nodes.clone();
        this.localPids = localPids.clone();
        this.heard = new AtomicLongArray(worldSize);
        this.subscriptions = subscriptions.clone();
        this.publications = new ExclusivePublication[worldSize];
        this.peerState = new AtomicLongArray(worldSize);
        this.peerSize = new AtomicLongArray(worldSize);
        this.lastHeardNs = new AtomicLongArray(worldSize);
        this.closedSinceNs = new AtomicLongArray(worldSize);
        this.blamed = new AtomicIntegerArray(worldSize);
        final FragmentHandler handler = this::onHeartbeat;
        this.assembler = new FragmentAssembler(handler);
        final long now = System.nanoTime();
        for (int peer = 0; peer < worldSize; peer++)
        {
            lastHeardNs.set(peer, now);
            if (peer != rank)
            {
                try
                {
                    publications[peer] =
                        aeron.addExclusivePublication(peerChannels[peer], HEARTBEAT_STREAM_BASE + peer);
                }
                catch (final RuntimeException ex)
                {
                    CloseHelper.quietCloseAll(publications);
                    throw new AccelerateException("rank " + rank + " cannot open a heartbeat publication to rank " +
                        peer + " on " + peerChannels[peer] + ": " + ex.getMessage(), ex);
                }
            }
        }
        this.thread = new Thread(this::run, "dl4j-accelerate-heartbeat-rank" + rank);
        thread.setDaemon(true);
        this.onProcessExit = new Thread(this::sayExiting, "dl4j-accelerate-goodbye-rank" + rank);
    }

    void start()
    {
        final long now = System.nanoTime();
        for (int peer = 0; peer < worldSize; peer++)
        {
            lastHeardNs.set(peer, now);
        }
        thread.start();
        Runtime.getRuntime().addShutdownHook(onProcessExit);
    }

    /**
     * The training thread enters a collective.
     *
     * @param type     the operation.
     * @param sequence its sequence number.
     * @param size     bytes of its data, or 0.
     */
    public void enter(final byte type, final long sequence, final long size)
    {
        mySize = size;
        myState = pack(sequence, type, IN);
    }

    /**
     * The training thread left its collective: done, or failed.
     *
     * @param failed whether it failed.
     */
    public void leave(final boolean failed)
    {
        final long state = myState;
        myState = pack(sequence(state), type(state), failed ? FAILED : IDLE);
    }

    static long pack(final long sequence, final byte type, final byte phase)
    {
        return sequence << 16 | (type & 0xFFL) << 8 | phase;
    }

    static long sequence(final long state)
    {
        return state >>> 16;
    }

    static byte type(final long state)
    {
        return (byte)(state >>> 8);
    }

    static byte phase(final long state)
    {
        return (byte)state;
    }

    /**
     * Called by the training thread while it waits: fails if the peer it waits for, or any peer, is lost, has left,
     * has failed, or is in another collective than this rank.
     *
     * @param awaited the rank waited for, or -1 when not waiting for a particular one.
     * @throws PeerLostException if a peer was lost.
     * @throws AccelerateException if the awaited peer left, failed or called something else.
     */
    public void check(final int awaited)
    {
        final PeerLostException loss = lost;
        if (loss != null)
        {
            lossDelivered = true;
            // Made here, so that its stack trace shows where the training thread was, not the monitor's.
            throw new PeerLostException(loss.lostRank(), loss.host(), loss.getMessage());
        }
        if (awaited < 0 || awaited == rank)
        {
            return;
        }
        final long theirs = peerState.get(awaited);
        final long mine = myState;
        final byte phase = phase(theirs);
        final long theirSequence = sequence(theirs);
        final long mySequence = sequence(mine);
        if (phase == IDLE || phase == IN && theirSequence != mySequence)
        {
            return;
        }
        if (phase == CLOSED)
        {
            // Over UDP its last frames may still be on their way when its goodbye arrives: give them time.
            if (System.nanoTime() - closedSinceNs.get(awaited) > CLOSED_SETTLE_NS)
            {
                throw new AccelerateException(describe(mine, mySize) + " cannot complete on rank " + rank +
                    ": rank " + awaited + " has closed its Accelerator and left the job (it returned early, or " +
                    "threw: its log says which); every rank must make the same collective calls. " + describeCalls());
            }
            return;
        }
        if (phase == FAILED && theirSequence <= mySequence)
        {
            throw new AccelerateException(describe(mine, mySize) + " cannot complete on rank " + rank + ": rank " +
                awaited + " failed in " + describe(theirs, 0) + " (its log has the cause). " + describeCalls());
        }
        final long theirSize = peerSize.get(awaited);
        if (phase == IN && peerState.get(awaited) == theirs && (type(theirs) != type(mine) || theirSize != mySize))
        {
            throw new AccelerateException("collective mismatch: rank " + rank + " called " + describe(mine, mySize) +
                " but rank " + awaited + " called " + describe(theirs, theirSize) + "; every rank must make the same " +
                "collective calls in the same order, with arrays of the same length and type. " + describeCalls());
        }
    }

    /**
     * @return the ranks that have not arrived in this rank's current collective, by what they last said.
     */
    public List<Integer> notArrived()
    {
        final long mySequence = sequence(myState);
        final List<Integer> missing = new ArrayList<>();
        for (int peer = 0; peer < worldSize; peer++)
        {
            final long theirs = peerState.get(peer);
            if (peer != rank && (sequence(theirs) < mySequence || sequence(theirs) == mySequence && phase(theirs) != IN))
            {
                missing.add(peer);
            }
        }
        return missing;
    }

    /**
     * @return what each rank is calling or last called, e.g. for an error message.
     */
    public String describeCalls()
    {
        final StringBuilder calls = new StringBuilder("What each rank called: ");
        for (int r = 0; r < worldSize; r++)
        {
            calls.append(r > 0 ? "; rank " : "rank ").append(r).append(' ');
            final long state = r == rank ? myState : peerState.get(r);
            final long size = r == rank ? mySize : peerSize.get(r);
            if (sequence(state) == 0)
            {
                calls.append(phase(state) == CLOSED ? "closed" : "no collective yet");
            }
            else
            {
                calls.append(PHASES[phase(state)]).append(' ').append(describe(state, size));
            }
        }
        return calls.toString();
    }

    /**
     * What each rank called, once every peer has said where it is at this rank's collective or later (or has
     * stopped), waiting a few heartbeats at most: right after a mismatch shows, the last heartbeats may predate it.
     *
     * @return as {@link #describeCalls()}.
     */
    public String describeCallsSettled()
    {
        final long deadlineNs = System.nanoTime() + 3 * BEAT_INTERVAL_NS;
        final long mySequence = sequence(myState);
        boolean settled = false;
        while (!settled && System.nanoTime() - deadlineNs < 0)
        {
            settled = true;
            for (int peer = 0; peer < worldSize; peer++)
            {
                final long theirs = peerState.get(peer);
                settled &= peer == rank || sequence(theirs) >= mySequence || phase(theirs) >= FAILED ||
                    System.nanoTime() - lastHeardNs.get(peer) > 2 * BEAT_INTERVAL_NS;
            }
            if (!settled)
            {
                LockSupport.parkNanos(POLL_INTERVAL_NS);
            }
        }
        return describeCalls();
    }

    private static String describe(final long state, final long size)
    {
        return Frame.name(type(state)) + " #" + sequence(state) + (size > 0 ? " (" + size + " bytes)" : "");
    }

    /**
     * @return heartbeats dropped because they carried another job's token, an impossible rank or a wrong length.
     */
    public long droppedFrames()
    {
        return dropped;
    }

    private void run()
    {
        long nextBeat = System.nanoTime();
        long lastRound = nextBeat;
        while (running)
        {
            if (exitRequested)
            {
                goodbye(EXITING, exitBlames);
                exitSaid = true;
                return;
            }
            final long now = System.nanoTime();
            if (now - lastRound > timeoutNs / 2)
            {
                // This thread itself was not run for a while (a stalled VM, a long pause): the peers' silence
                // over that time says nothing about them.
                for (int peer = 0; peer < worldSize; peer++)
                {
                    lastHeardNs.set(peer, now);
                }
            }
            lastRound = now;
            if (now - nextBeat >= 0)
            {
                beat();
                nextBeat = now + BEAT_INTERVAL_NS;
            }
            for (final Subscription subscription : subscriptions)
            {
                subscription.poll(assembler, 64);
            }
            if (lost == null)
            {
                detectLoss(System.nanoTime());
            }
            else if (exitOnLoss && !lossDelivered && phase(myState) != IN && System.nanoTime() - lostAtNs > EXIT_GRACE_NS)
            {
                System.err.println("dl4j-accelerate: rank " + rank + " ends its process (exit code " +
                    PEER_LOST_EXIT_CODE + "): " + lost.getMessage());
                // This thread is the one to say goodbye, and System.exit blocks it until the hooks have run.
                goodbye(EXITING, lost.lostRank());
                exitSaid = true;
                System.exit(PEER_LOST_EXIT_CODE);
            }
            LockSupport.parkNanos(POLL_INTERVAL_NS);
        }
    }


    private void detectLoss(final long now)
    {
        for (int peer = 0; peer < worldSize; peer++)
        {
            if (peer != rank && phase(peerState.get(peer)) == EXITING)
            {
                lostAtNs = now;
                lost = exited(peer, blamed.get(peer));
                return;
            }
        }
        for (int peer = 0; peer < worldSize; peer++)
        {
            if (peer == rank || phase(peerState.get(peer)) == CLOSED)
            {
                continue;
            }
            final long silentNs = now - lastHeardNs.get(peer);
            if (silentNs > timeoutNs)
            {
                String cause = "killed or stopped, or its host or network is gone";
                if (localPids[peer] != 0)
                {
                    cause = whyGone(localPids[peer]);
                    if (cause == null)
                    {
                        if (silentNs <= LOCAL_SILENCE_NS)
                        {
                            continue;
                        }
                        cause = "its process " + localPids[peer] + " runs but says nothing";
                    }
                }
                lostAtNs = now;
                lost = new PeerLostException(peer, hosts[peer], label(peer) + " was lost: nothing heard from it for " +
                    TimeUnit.NANOSECONDS.toMillis(silentNs) + " ms (" + cause + "; " + heard.get(peer) +
                    " heartbeats heard from it before); " + whereabouts(peer));
                return;
            }
        }
    }

    /**
     * The loss a peer's farewell tells of: its own, or that of the rank it blames.
     */
    private PeerLostException exited(final int peer, final int blamed)
    {
        if (blamed < 0 || blamed == peer || blamed >= worldSize)
        {
            return new PeerLostException(peer, hosts[peer], label(peer) + " was lost: its process is ending without " +
                "having closed its Accelerator (stopped by a signal, from its launcher, a scheduler or a user, or " +
                "System.exit); " + whereabouts(peer));
        }
        return new PeerLostException(blamed, hosts[blamed], label(blamed) + " was lost, as " + label(peer) +
            " said while its own process ended (a launcher stops the other ranks of its host when one fails; that " +
            "host's launcher reports how it ended); " + whereabouts(blamed));
    }

    private String label(final int peer)
    {
        return "rank " + peer + " (node " + nodes[peer] + ", host " + hosts[peer] + ")";
    }

    private String whereabouts(final int peer)
    {
        final long theirs = peerState.get(peer);
        final long mine = myState;
        return "it was last " + (sequence(theirs) == 0 ? "before its first collective" : PHASES[phase(theirs)] + " " +
            describe(theirs, peerSize.get(peer))) + "; rank " + rank + " was " + (sequence(mine) == 0 ?
            "before its first collective" : PHASES[phase(mine)] + " " + describe(mine, mySize));
    }

    /**
     * @return why the process on this host is gone, or null if it runs.
     */
    static String whyGone(final long pid)
    {
        return switch (ProcessState.of(pid))
        {
            case ENDED -> "its process " + pid + " has ended";
            case STOPPED -> "its process " + pid + " is stopped (SIGSTOP or a debugger)";
            case RUNNING -> null;
        };
    }

    /**
     * The shutdown hook: this process is ending without having closed its accelerator. Has the monitor's thread
     * tell every peer, naming whom this rank blames, and waits for it (briefly: a process on its way out).
     */
    private void sayExiting()
    {
        exitBlames = blameOnExit();
        exitRequested = true;
        final long deadlineNs = System.nanoTime() + EXIT_GOODBYE_WAIT_NS;
        while (!exitSaid && thread.isAlive() && System.nanoTime() - deadlineNs < 0)
        {
            LockSupport.parkNanos(POLL_INTERVAL_NS);
        }
    }

    /**
     * @return the rank this one blames for its end: the one it lost, else a rank of this host whose process has
     *         ended or is stopped (one that had not closed first, if any), else -1.
     */
    private int blameOnExit()
    {
        final PeerLostException loss = lost;
        if (loss != null)
        {
            return loss.lostRank();
        }
        int closedAndGone = -1;
        for (int peer = 0; peer < worldSize; peer++)
        {
            if (peer != rank && localPids[peer] != 0 && ProcessState.of(localPids[peer]) != ProcessState.RUNNING)
            {
                if (phase(peerState.get(peer)) != CLOSED)
                {
                    return peer;
                }
                closedAndGone = closedAndGone < 0 ? peer : closedAndGone;
            }
        }
        return closedAndGone;
    }

    private void beat()
    {
        long state;
        long size;
        do
        {
            state = myState;
            size = mySize;
        }
        while (state != myState);
        send(state, size);
    }

    /**
     * The last heartbeat: this rank closed ({@link #CLOSED}, with its size), or its process ends ({@link #EXITING},
     * with the rank it blames in the size field).
     */
    private void goodbye(final byte phase, final long payload)
    {
        final long state = myState;
        send(pack(sequence(state), type(state), phase), phase == CLOSED ? mySize : payload);
    }

    private void send(final long state, final long size)
    {
        Frame.writeHeader(sendBuffer, Frame.HEARTBEAT, Frame.FLAG_LAST, 0, rank, sequence(state), token);
        sendBuffer.putLong(Frame.HEADER_LENGTH, state, Frame.ORDER);
        sendBuffer.putLong(Frame.HEADER_LENGTH + 8, size, Frame.ORDER);
        for (final ExclusivePublication publication : publications)
        {
            if (publication != null)
            {
                // Back-pressure or no connection yet: the next beat goes instead; missing ones are what we detect.
                publication.offer(sendBuffer, 0, sendBuffer.capacity());
            }
        }
    }

    private void onHeartbeat(final DirectBuffer buffer, final int offset, final int length, final Header header)
    {
        if (length != Frame.HEADER_LENGTH + PAYLOAD_LENGTH || Frame.token(buffer, offset) != token ||
            Frame.type(buffer, offset) != Frame.HEARTBEAT)
        {
            dropped++;
            return;
        }
        final int source = Frame.source(buffer, offset);
        final long state = buffer.getLong(offset + Frame.HEADER_LENGTH, Frame.ORDER);
        final byte phase = phase(state);
        if (source < 0 || source >= worldSize || source == rank || phase < IDLE || phase > EXITING ||
            sequence(state) != Frame.sequence(buffer, offset))
        {
            dropped++;
            return;
        }
        final long now = System.nanoTime();
        if (phase == CLOSED && phase(peerState.get(source)) != CLOSED)
        {
            closedSinceNs.set(source, now);
        }
        final long size = buffer.getLong(offset + Frame.HEADER_LENGTH + 8, Frame.ORDER);
        if (phase == EXITING)
        {
            blamed.set(source, (int)size);
        }
        else
        {
            peerSize.set(source, size);
        }
        peerState.set(source, state);
        lastHeardNs.set(source, now);
        heard.incrementAndGet(source);
    }

    /**
     * Says goodbye to every peer and stops the thread.
     */
    public void close()
    {
        if (running)
        {
            running = false;
            try
            {
                thread.join(TimeUnit.SECONDS.toMillis(2));
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
            }
            try
            {
                Runtime.getRuntime().removeShutdownHook(onProcessExit);
            }
            catch (final IllegalStateException shuttingDown)
            {
                // The hook runs, or is about to; closing says goodbye anyway, and the hook finds this thread gone.
            }
            goodbye(CLOSED, 0);
            CloseHelper.quietCloseAll(publications);
        }
    }
}
