package dev.dl4j.accelerate.internal.dl4j;

import java.util.List;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.dataset.api.MultiDataSetPreProcessor;
import org.nd4j.linalg.dataset.api.iterator.MultiDataSetIterator;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * A {@link MultiDataSetIterator} over one rank's share of another; see {@link Shard}.
 */
public final class ShardedMultiDataSetIterator implements MultiDataSetIterator
{
    private static final long serialVersionUID = 1L;

    private static final Shard.Batches<MultiDataSet> MULTI_DATA_SETS = new Shard.Batches<>()
    {
        public long size(final MultiDataSet batch)
        {
            return batch.getFeatures(0).size(0);
        }

        public MultiDataSet first(final MultiDataSet batch, final long count)
        {
            return new org.nd4j.linalg.dataset.MultiDataSet(firstOf(batch.getFeatures(), count),
                firstOf(batch.getLabels(), count), firstOf(batch.getFeaturesMaskArrays(), count),
                firstOf(batch.getLabelsMaskArrays(), count));
        }

        public MultiDataSet merge(final List<MultiDataSet> parts)
        {
            return org.nd4j.linalg.dataset.MultiDataSet.merge(parts);
        }

        public void detach(final MultiDataSet batch)
        {
            batch.detach();
        }
    };

    private final MultiDataSetIterator source;
    private final transient Shard<MultiDataSet> shard;

    /**
     * @param source the whole data, in the same order on every rank.
     * @param rank   this rank.
     * @param ranks  the number of ranks.
     * @param even   give every rank the same number of batches, wrapping round, and complete a batch smaller than
     *               the first.
     */
    public ShardedMultiDataSetIterator(
        final MultiDataSetIterator source, final int rank, final int ranks, final boolean even)
    {
        this.source = source;
        this.shard = new Shard<>(source, rank, ranks, even, MULTI_DATA_SETS);
    }

    /**
     * @return each array's first {@code count} examples (along its first dimension), copied; null stays null.
     */
    private static INDArray[] firstOf(final INDArray[] arrays, final long count)
    {
        if (arrays == null)
        {
            return null;
        }
        final INDArray[] cut = new INDArray[arrays.length];
        for (int i = 0; i < arrays.length; i++)
        {
            cut[i] = arrays[i] == null ? null : arrays[i].get(NDArrayIndex.interval(0, count)).dup();
        }
        return cut;
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
