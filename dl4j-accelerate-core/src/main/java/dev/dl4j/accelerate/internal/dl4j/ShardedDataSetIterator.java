package dev.dl4j.accelerate.internal.dl4j;

import java.util.List;

import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.DataSetPreProcessor;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;

/**
 * A {@link DataSetIterator} over one rank's share of another; see {@link Shard}.
 */
public final class ShardedDataSetIterator implements DataSetIterator
{
    private static final long serialVersionUID = 1L;

    private static final Shard.Batches<DataSet> DATA_SETS = new Shard.Batches<>()
    {
        public long size(final DataSet batch)
        {
            return batch.numExamples();
        }

        public DataSet first(final DataSet batch, final long count)
        {
            return (DataSet)batch.getRange(0, (int)count);
        }

        public DataSet merge(final List<DataSet> parts)
        {
            return DataSet.merge(parts);
        }

        public void detach(final DataSet batch)
        {
            batch.detach();
        }
    };

    private final DataSetIterator source;
    private final transient Shard<DataSet> shard;

    /**
     * @param source the whole data, in the same order on every rank.
     * @param rank   this rank.
     * @param ranks  the number of ranks.
     * @param even   give every rank the same number of batches, wrapping round, and complete a batch smaller than
     *               the first.
     */
    public ShardedDataSetIterator(final DataSetIterator source, final int rank, final int ranks, final boolean even)
    {
        this.source = source;
        this.shard = new Shard<>(source, rank, ranks, even, DATA_SETS);
    }

    public boolean hasNext()
    {
        return shard.hasNext();
    }

    public DataSet next()
    {
        return shard.next();
    }

    public DataSet next(final int num)
    {
        throw new UnsupportedOperationException("a sharded iterator serves whole batches; use next()");
    }

    public int inputColumns()
    {
        return source.inputColumns();
    }

    public int totalOutcomes()
    {
        return source.totalOutcomes();
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

    public int batch()
    {
        return source.batch();
    }

    public void setPreProcessor(final DataSetPreProcessor preProcessor)
    {
        source.setPreProcessor(preProcessor);
    }

    public DataSetPreProcessor getPreProcessor()
    {
        return source.getPreProcessor();
    }

    public List<String> getLabels()
    {
        return source.getLabels();
    }
}
