package dev.dl4j.accelerate.internal.dl4j;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;

/**
 * Rank r's share of a stream of batches: batches r, r + n, r + 2n... With {@code even}, every rank gets the same
 * number of batches, ceil(total / n), the short ranks wrapping round to the first batches (Accelerate's
 * {@code even_batches}): a rank with one batch more than the others would wait forever in its all-reduce.
 * The total is known only at the end of the stream, so the first n batches are kept until then. Given the
 * {@link Batches} of the type as well, a batch with fewer examples than the first one (the last batch of a data
 * set whose size is not a multiple of the batch size) is completed with the stream's first examples, as Accelerate
 * does: DL4J's updater divides a rank's gradient by that rank's batch size, so ranks stepping on batches of
 * different sizes would drift apart. (A stream whose batches vary in size otherwise is not evened out.)
 *
 * @param <T> the batch type.
 */
final class Shard<T>
{
    /**
     * What the shard needs to know of a batch type to keep and complete batches.
     *
     * @param <T> the batch type.
     */
    interface Batches<T>
    {
        /**
         * @param batch a batch.
         * @return its number of examples.
         */
        long size(T batch);

        /**
         * @param batch a batch.
         * @param count at most its size.
         * @return a batch of its first {@code count} examples.
         */
        T first(T batch, long count);

        /**
         * @param parts batches.
         * @return one batch of their examples, in order.
         */
        T merge(List<T> parts);

        /**
         * Moves the batch's arrays out of any workspace, so that it stays valid when kept until the end of the
         * stream: DL4J's prefetching iterator reuses a cyclic workspace for what its source returns.
         *
         * @param batch a batch to keep.
         */
        void detach(T batch);
    }

    private final int rank;
    private final int ranks;
    private final boolean even;
    private final Batches<T> batches;
    private final List<T> head = new ArrayList<>();
    private Iterator<T> source;
    private long index;
    private long served;
    private T next;

    Shard(final Iterator<T> source, final int rank, final int ranks, final boolean even)
    {
        this(source, rank, ranks, even, null);
    }

    /**
     * @param batches the batch type's operations, to keep the first batches safely and complete short ones when
     *                {@code even}; null to keep them as they come and leave short ones short.
     */
    Shard(final Iterator<T> source, final int rank, final int ranks, final boolean even, final Batches<T> batches)
    {
        this.source = source;
        this.rank = rank;
        this.ranks = ranks;
        this.even = even;
        this.batches = batches;
    }

    boolean hasNext()
    {
        if (next == null)
        {
            next = advance();
        }
        return next != null;
    }

    T next()
    {
        if (!hasNext())
        {
            throw new NoSuchElementException("rank " + rank + "'s shard is exhausted after " + served + " batches");
        }
        final T batch = next;
        next = null;
        served++;
        if (even && batches != null && !head.isEmpty() && batches.size(batch) < batches.size(head.get(0)))
        {
            return complete(batch, batches.size(head.get(0)));
        }
        return batch;
    }

    /**
     * @return {@code batch} followed by the stream's first examples, {@code size} in all.
     */
    private T complete(final T batch, final long size)
    {
        final List<T> parts = new ArrayList<>();
        parts.add(batch);
        long missing = size - batches.size(batch);
        for (int i = 0; missing > 0; i = (i + 1) % head.size())
        {
            final long take = Math.min(missing, batches.size(head.get(i)));
            parts.add(batches.first(head.get(i), take));
            missing -= take;
        }
        return batches.merge(parts);
    }

    void restart(final Iterator<T> source)
    {
        this.source = source;
        head.clear();
        index = 0;
        served = 0;
        next = null;
    }

    private T advance()
    {
        while (source.hasNext())
        {
            final T batch = source.next();
            final long i = index++;
            if (even && i < ranks)
            {
                if (batches != null)
                {
                    batches.detach(batch);
                }
                head.add(batch);
            }
            if (i % ranks == rank)
            {
                return batch;
            }
        }
        if (!even || index == 0)
        {
            return null;
        }
        final long perRank = (index + ranks - 1) / ranks;
        if (served >= perRank)
        {
            return null;
        }
        // This rank's next position, rank + served * n, lies past the end by less than n: wrap round.
        return head.get((int)((rank + served * ranks) % index));
    }
}
