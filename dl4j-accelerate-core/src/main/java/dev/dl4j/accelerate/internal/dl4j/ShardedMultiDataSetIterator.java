package dev.dl4j.accelerate.internal.dl4j;

import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.dataset.api.MultiDataSetPreProcessor;
import org.nd4j.linalg.dataset.api.iterator.MultiDataSetIterator;

/**
 * A {@link MultiDataSetIterator} over one rank's share of another; see {@link Shard}.
 */
public final class ShardedMultiDataSetIterator implements MultiDataSetIterator
{
    private static final long serialVersionUID = 1L;

    private final MultiDataSetIterator source;
    private final transient Shard<MultiDataSet> shard;

    /**
     * @param source the whole data, in the same order on every rank.
     * @param rank   this rank.
     * @param ranks  the number of ranks.
     * @param even   give every rank the same number of batches, wrapping round.
     */
    public ShardedMultiDataSetIterator(
        final MultiDataSetIterator source, final int rank, final int ranks, final boolean even)
    {
        this.source = source;
        this.shard = new Shard<>(source, rank, ranks, even);
    }

    public boolean hasNext()
    {
        return shard.hasNext();
    }

    public MultiDataSet next()
    {
        return shard.next();
    }

    public MultiDataSet next(final int num)
    {
        throw new UnsupportedOperationException("a sharded iterator serves whole batches; use next()");
    }

    public void setPreProcessor(final MultiDataSetPreProcessor preProcessor)
    {
        source.setPreProcessor(preProcessor);
    }

    public MultiDataSetPreProcessor getPreProcessor()
    {
        return source.getPreProcessor();
    }

    public boolean resetSupported()
    {
        return source.resetSupported();
    }

    public boolean asyncSupported()
    {
        return source.asyncSupported();
    }

    public void reset()
    {
        source.reset();
        shard.restart(source);
    }
}
