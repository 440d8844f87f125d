package dev.dl4j.accelerate.internal.dl4j;

import java.util.ArrayList;
import java.util.List;

import org.deeplearning4j.datasets.iterator.utilty.ListDataSetIterator;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.adapter.MultiDataSetIteratorAdapter;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.dataset.api.iterator.MultiDataSetIterator;
import org.nd4j.linalg.factory.Nd4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

class ShardedIteratorsTest
{
    @Test
    void shouldShardMultiDataSetsLikeDataSetsAndRestartOnReset()
    {
        final MultiDataSetIterator source = new MultiDataSetIteratorAdapter(new ListDataSetIterator<>(examples(7), 1));
        final ShardedMultiDataSetIterator shard = new ShardedMultiDataSetIterator(source, 1, 3, true);
        assertEquals(List.of(1.0, 4.0, 0.0), firstFeatures(shard));
        shard.reset();
        assertEquals(List.of(1.0, 4.0, 0.0), firstFeatures(shard));
    }

    @Test
    void shouldShardDataSetsWithoutPaddingForEvaluation()
    {
        final ShardedDataSetIterator shard =
            new ShardedDataSetIterator(new ListDataSetIterator<>(examples(7), 1), 2, 3, false);
        final List<Double> seen = new ArrayList<>();
        while (shard.hasNext())
        {
            seen.add(shard.next().getFeatures().getDouble(0));
        }
        assertEquals(List.of(2.0, 5.0), seen);
        assertFalse(shard.hasNext());
    }

    private static List<Double> firstFeatures(final MultiDataSetIterator iterator)
    {
        final List<Double> seen = new ArrayList<>();
        while (iterator.hasNext())
        {
            final MultiDataSet batch = iterator.next();
            seen.add(batch.getFeatures(0).getDouble(0));
        }
        return seen;
    }

    private static List<DataSet> examples(final int count)
    {
        final List<DataSet> examples = new ArrayList<>();
        for (int i = 0; i < count; i++)
        {
            examples.add(new DataSet(Nd4j.createFromArray(new float[][] { { i } }), Nd4j.createFromArray(new float[][] { { 1 } })));
        }
        return examples;
    }
}
