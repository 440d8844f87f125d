package dev.dl4j.accelerate.internal.dl4j;

import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryUsage;

/**
 * A child JVM for {@link AlignedCollectionsTest}: "trains" for a number of steps that each allocate the same
 * amount, asks {@link AlignedCollections#due()} once per step as the data-parallel listener does, collects when
 * told, and prints how many young collections it brought forward and how many came on their own.
 *
 * <p>Given a second argument, a fraction of the eden, it plays a rank that far behind a peer: the peer's vote,
 * not its own, decides, and the peer is due whenever this rank's eden is that fraction short of full.
 */
public final class CollectionSteps
{
    private static final int ARRAYS_PER_STEP = 64;
    private static final int ARRAY_BYTES = 8 * 1024;

    // Keeps each step's arrays reachable for a moment, as a step's temporaries are.
    @SuppressWarnings("unused")
    private static volatile Object sink;

    private CollectionSteps()
    {
    }

    /**
     * @param args the number of steps, and optionally how far behind its peer this rank is (a fraction of its eden).
     */
    public static void main(final String[] args)
    {
        final int steps = Integer.parseInt(args[0]);
        final double behind = args.length > 1 ? Double.parseDouble(args[1]) : 0;
        final AlignedCollections collections = AlignedCollections.ofThisJvm();
        if (collections == null)
        {
            System.out.println("RESULT unsupported");
            return;
        }
        final GarbageCollectorMXBean young = AlignedCollections.youngCollector();
        final MemoryPoolMXBean eden = AlignedCollections.edenOf(young);
        long natural = 0;
        long seen = young.getCollectionCount();
        for (int step = 0; step < steps; step++)
        {
            final byte[][] temporaries = new byte[ARRAYS_PER_STEP][];
            for (int i = 0; i < ARRAYS_PER_STEP; i++)
            {
                temporaries[i] = new byte[ARRAY_BYTES];
            }
            sink = temporaries;
            natural += young.getCollectionCount() - seen;
            final boolean due = collections.due();
            final MemoryUsage usage = eden.getUsage();
            final boolean peerDue = usage.getUsed() >= (1 - behind) * usage.getCommitted();
            if (behind > 0 ? peerDue : due)
            {
                collections.collect();
            }
            seen = young.getCollectionCount();
        }
        System.out.println("RESULT natural=" + natural + " forced=" + collections.forced() + " missed=" +
            collections.missed());
    }
}
