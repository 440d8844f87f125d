package dev.dl4j.accelerate.internal.dl4j;

import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.management.MemoryUsage;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Lets the ranks of a data-parallel job take their young garbage collections at the same step.
 *
 * <p>Why: the ranks step in lock-step, so a rank paused by its collector holds every other rank at the next
 * all-reduce. DL4J leaves hundreds of thousands of small reference objects per few seconds for the young
 * collector to copy (ND4J's and JavaCPP's deallocation bookkeeping), so its pauses are long (150-450 ms every 3-6
 * s measured for the benchmark MLP on this project's 2-core machines, ~9% of a core). Left alone, each rank
 * collects at its own moment and the job pays every rank's pauses one after the other; collected at the same step,
 * it pays them once, as independent processes would. (Megatron-LM's and torchtitan's manual GC exist for the same
 * straggler effect in Python.)
 *
 * <p>How: every rank does the same work per step, so its eden fills at nearly the same rate. After each step's
 * gradient each rank says whether its eden would overflow within about a step ({@link #due()}); when any rank says
 * so, every rank collects at once ({@link #collect()}) by allocating what is left of its eden, which makes the
 * collector run just as it would have a step or so later. Nothing else changes: no full collection, no
 * System.gc(). The vote is one small collective per step (about a microsecond between two processes of a host).
 *
 * <p>Only for collectors whose young collections stop the application: Serial, Parallel and G1 (recognised by
 * their management beans' names); with any other, {@link #ofThisJvm()} returns null and nothing is aligned. Serial
 * and Parallel start a collection when the eden is full, so every collection is announced a step ahead. G1 starts
 * earlier and moves that point as it resizes each JVM's young generation on its own; the point is learnt from each
 * collection, so with a fixed young generation ({@code -Xmn}) most are announced, but left to size it G1 gives the
 * ranks edens of different sizes, and those stay apart (a rank gives up bringing its collection forward past a
 * quarter of its eden, so as not to clear that much memory at every collection). With Serial and Parallel a rank
 * follows however far behind it is: Serial's edens are alike on every rank with {@code -Xms} = {@code -Xmx}, so
 * once together the ranks stay together, while a rank that gave up would stay a fixed part of an eden apart for
 * good, each rank's pause then holding the other (seen: a rank 27% of an eden behind at the first collection, past
 * the quarter, never caught up). Parallel resizes each JVM's eden on its own unless {@code -Xmn} fixes it; a rank
 * with a larger eden then clears the difference at each collection, a few ms against a pause of hundreds.
 */
public final class AlignedCollections
{
    /** Serial's and Parallel's young collectors, by their management names: a rank follows however far behind. */
    private static final Set<String> UNBOUNDED_CATCH_UP = Set.of("Copy", "PS Scavenge");
    /** The young collectors whose pauses are worth aligning: those two and G1's. */
    private static final Set<String> YOUNG_COLLECTORS = Stream.concat(UNBOUNDED_CATCH_UP.stream(),
        Stream.of("G1 Young Generation")).collect(Collectors.toUnmodifiableSet());
    /** Collect when less than this many steps' allocation is left: one for the coming step, one for its spread. */
    private static final int STEPS_AHEAD = 2;
    /** The size of each filler array: small enough for G1 not to take it as humongous (regions are >= 1 MiB). */
    private static final int FILLER_BYTES = 256 * 1024;

    private final MemoryPoolMXBean eden;
    private final GarbageCollectorMXBean young;
    private final boolean boundedCatchUp;
    private long lastUsed = -1;
    private long lastCollections = -1;
    private long stepBytes;
    private long triggerBytes;
    private long forced;
    private long missed;

    // Keeps the filler arrays from being optimised away: they must really be allocated.
    @SuppressWarnings("unused")
    private static volatile byte[] sink;

    private AlignedCollections(final MemoryPoolMXBean eden, final GarbageCollectorMXBean young)
    {
        this.eden = eden;
        this.young = young;
        // G1 sizes each JVM's young generation on its own; any collector added to the list later keeps the limit.
        this.boundedCatchUp = !UNBOUNDED_CATCH_UP.contains(young.getName());
    }

    /**
     * @return an aligner for this JVM's collector, or null if it has no stop-the-world young collections to align.
     */
    public static AlignedCollections ofThisJvm()
    {
        final GarbageCollectorMXBean young = youngCollector();
        final MemoryPoolMXBean eden = young == null ? null : edenOf(young);
        return eden == null ? null : new AlignedCollections(eden, young);
    }

    /**
     * @param young a young collector.
     * @return the eden it collects, or null if it names none.
     */
    static MemoryPoolMXBean edenOf(final GarbageCollectorMXBean young)
    {
        final List<String> pools = List.of(young.getMemoryPoolNames());
        for (final MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans())
        {
            if (pool.getType() == MemoryType.HEAP && pool.getName().endsWith("Eden Space") &&
                pools.contains(pool.getName()))
            {
                return pool;
            }
        }
        return null;
    }

    /**
     * @return this JVM's stop-the-world young collector, or null if it has none.
     */
    static GarbageCollectorMXBean youngCollector()
    {
        for (final GarbageCollectorMXBean collector : ManagementFactory.getGarbageCollectorMXBeans())
        {
            if (YOUNG_COLLECTORS.contains(collector.getName()))
            {
                return collector;
            }
        }
        return null;
    }

    /**
     * Reads this rank's eden once per step, at the same point of every step.
     *
     * @return true if a young collection is likely before this point of the next step but one.
     */
    public boolean due()
    {
        final MemoryUsage usage = eden.getUsage();
        final long used = usage.getUsed();
        final long collections = young.getCollectionCount();
        if (collections == lastCollections)
        {
            if (lastUsed >= 0 && used >= lastUsed)
            {
                // A slowly decaying maximum: TLABs and G1's regions make the readings jump, and a step that
                // allocates more than the last few must not catch the rank unaligned.
                stepBytes = Math.max(used - lastUsed, stepBytes - (stepBytes >> 4));
            }
        }
        else if (lastUsed >= 0)
        {
            // The collector ran on its own within the last step: it starts at about this fill. G1 starts well
            // before its eden's committed size, Serial and Parallel when the eden is full.
            triggerBytes = lastUsed + stepBytes;
        }
        lastUsed = used;
        lastCollections = collections;
        final long capacity = triggerBytes > 0 ? Math.min(usage.getCommitted(), triggerBytes) : usage.getCommitted();
        return stepBytes > 0 && capacity - used < STEPS_AHEAD * stepBytes;
    }

    /**
     * Brings this rank's next young collection forward to now: allocates until the collector has run. Costs
     * about the pause the collector would have taken a step later, plus clearing what was left of the eden.
     */
    public void collect()
    {
        final long before = young.getCollectionCount();
        final MemoryUsage usage = eden.getUsage();
        // The collector runs at the latest when the eden is full; the reading counts the thread-local buffers
        // handed out as used, so up to about a step's allocation may still fit after it reads full. A rank
        // far behind its peers (the first time: the JVMs started apart) catches up at once, which costs clearing
        // that memory, a few ms, against a pause of hundreds; but one whose eden is much larger than its peers'
        // (G1 sizes each JVM's on its own) would pay that at every collection: under G1 it gives up past a
        // quarter of its eden and collects on its own time.
        final long committed = usage.getCommitted();
        final long free = Math.max(0, committed - usage.getUsed());
        final long limit = (boundedCatchUp ? Math.min(free, committed / 4) : free) + 2 * stepBytes + 2L * FILLER_BYTES;
        long allocated = 0;
        while (young.getCollectionCount() == before && allocated < limit)
        {
            sink = new byte[FILLER_BYTES];
            allocated += FILLER_BYTES;
        }
        sink = null;
        if (young.getCollectionCount() == before)
        {
            missed++;
            triggerBytes = 0;
        }
        else
        {
            forced++;
            // Where the collector really started this time: G1 moves it as it resizes its young generation.
            triggerBytes = usage.getUsed() + allocated;
        }
        // The next reading starts afresh: the eden is empty now, not one step fuller.
        lastUsed = -1;
        lastCollections = young.getCollectionCount();
    }

    /**
     * @return collections brought forward so far.
     */
    public long forced()
    {
        return forced;
    }

    /**
     * @return times the allocation ended without a collection (the collector placed the fillers elsewhere).
     */
    public long missed()
    {
        return missed;
    }
}
