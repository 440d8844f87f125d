package dev.dl4j.accelerate.internal.dl4j;

import java.util.ArrayList;
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

    /** Completes a short batch with the stream's first examples. */
    private static final Shard.Filler<MultiDataSet> FILLER = new Shard.Filler<>()
    {
        public long size(final MultiDataSet batch)
        {
            return batch.getFeatures(0).size(0);
        }

        public MultiDataSet fill(final MultiDataSet batch, final long size, final List<MultiDataSet> from)
        {
            final List<MultiDataSet> parts = new ArrayList<>();
            parts.add(batch);
            long missing = size - size(batch);
            for (int i = 0; missing > 0; i = (i + 1) % from.size())
            {
                final long take = Math.min(missing, size(from.get(i)));
                parts.add(first(from.get(i), take));
                missing -= take;
            }
            return org.nd4j.linalg.dataset.MultiDataSet.merge(parts);
        }
    };

    private final MultiDataSetIterator source;
    private final transient Shard<MultiDataSet> shard;

    /**
     * @param source the whole data, in the same order on every rank.
     * @param rank   this rank.
     * @param ranks  the number of ranks.
     * @param even   give every rank the same number of batches, wrapping round, each with as many examples as the
     *               first batch.
     */
    public ShardedMultiDataSetIterator(
        final MultiDataSetIterator source, final int rank, final int ranks, final boolean even)
    {
        this.source = source;
        this.shard = new Shard<>(source, rank, ranks, even, FILLER);
    }

    /**
     * @return the first {@code count} examples of {@code batch}: every array and mask cut along its first dimension.
     */
    private static MultiDataSet first(final MultiDataSet batch, final long count)
    {
        return new org.nd4j.linalg.dataset.MultiDataSet(first(batch.getFeatures(), count), first(batch.getLabels(), count),
            first(batch.getFeaturesMaskArrays(), count), first(batch.getLabelsMaskArrays(), count));
    }

    private static INDArray[] first(final INDArray[] arrays, final long count)
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
