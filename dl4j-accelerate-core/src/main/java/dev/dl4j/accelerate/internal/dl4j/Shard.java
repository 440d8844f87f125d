package dev.dl4j.accelerate.internal.dl4j;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;

/**
 * Rank r's share of a stream of batches: batches r, r + n, r + 2n... With {@code even}, every rank gets the same
 * number of batches, ceil(total / n), the short ranks wrapping round to the first batches (Accelerate's
 * {@code even_batches}): a rank with one batch more than the others would wait forever in its all-reduce.
 * The total is known only at the end of the stream, so the first n batches are kept until then.
 *
 * @param <T> the batch type.
 */
final class Shard<T>
{
    private final int rank;
    private final int ranks;
    private final boolean even;
    private final List<T> head = new ArrayList<>();
    private Iterator<T> source;
    private long index;
    private long served;
    private T next;

    Shard(final Iterator<T> source, final int rank, final int ranks, final boolean even)
    {
        this.source = source;
        this.rank = rank;
        this.ranks = ranks;
        this.even = even;
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
