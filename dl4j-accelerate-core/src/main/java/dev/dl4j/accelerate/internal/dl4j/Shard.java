package dev.dl4j.accelerate.internal.dl4j;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;

/**
 * Rank r's share of a stream of batches: batches r, r + n, r + 2n... With {@code even}, every rank gets the same
 * number of batches, ceil(total / n), the short ranks wrapping round to the first batches (Accelerate's
 * {@code even_batches}): a rank with one batch more than the others would wait forever in its all-reduce.
 * The total is known only at the end of the stream, so the first n batches are kept until then. With a
 * {@link Filler} as well, a batch with fewer examples than the first one (the last batch of a data set whose size
 * is not a multiple of the batch size) is completed with the stream's first examples, as Accelerate does: every
 * rank then trains on as many examples in every step. Otherwise the ranks' updaters would divide the same mean
 * gradient by different batch sizes, and their parameters would drift apart.
 *
 * @param <T> the batch type.
 */
final class Shard<T>
{
    /**
     * Counts and completes batches of one type.
     *
     * @param <T> the batch type.
     */
    interface Filler<T>
    {
        /**
         * @param batch a batch.
         * @return its number of examples.
         */
        long size(T batch);

        /**
         * @param batch a batch with fewer than {@code size} examples.
         * @param size  the examples it must have.
         * @param from  batches to take the missing examples from, in order, round and round.
         * @return {@code batch}'s examples followed by the first missing ones of {@code from}.
         */
        T fill(T batch, long size, List<T> from);
    }

    private final int rank;
    private final int ranks;
    private final boolean even;
    private final Filler<T> filler;
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
     * @param filler completes short batches when {@code even}; null to leave them short.
     */
    Shard(final Iterator<T> source, final int rank, final int ranks, final boolean even, final Filler<T> filler)
    {
        this.source = source;
        this.rank = rank;
        this.ranks = ranks;
        this.even = even;
        this.filler = filler;
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
        if (even && filler != null && !head.isEmpty())
        {
            final long size = filler.size(head.get(0));
            if (filler.size(batch) < size)
            {
                return filler.fill(batch, size, head);
            }
        }
        return batch;
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
