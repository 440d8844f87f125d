package dev.dl4j.accelerate.internal.dl4j;

import java.util.ArrayList;
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

    /** Completes a short batch with the stream's first examples. */
    private static final Shard.Filler<DataSet> FILLER = new Shard.Filler<>()
    {
        public long size(final DataSet batch)
        {
            return batch.numExamples();
        }

        public DataSet fill(final DataSet batch, final long size, final List<DataSet> from)
        {
            final List<org.nd4j.linalg.dataset.api.DataSet> parts = new ArrayList<>();
            parts.add(batch);
            long missing = size - batch.numExamples();
            for (int i = 0; missing > 0; i = (i + 1) % from.size())
            {
                final int take = (int)Math.min(missing, from.get(i).numExamples());
                parts.add(from.get(i).getRange(0, take));
                missing -= take;
            }
            return DataSet.merge(parts);
        }
    };

    private final DataSetIterator source;
    private final transient Shard<DataSet> shard;

    /**
     * @param source the whole data, in the same order on every rank.
     * @param rank   this rank.
     * @param ranks  the number of ranks.
     * @param even   give every rank the same number of batches, wrapping round, each with as many examples as the
     *               first batch.
     */
    public ShardedDataSetIterator(final DataSetIterator source, final int rank, final int ranks, final boolean even)
    {
        this.source = source;
        this.shard = new Shard<>(source, rank, ranks, even, FILLER);
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
