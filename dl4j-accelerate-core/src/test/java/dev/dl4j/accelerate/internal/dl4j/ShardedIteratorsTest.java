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
import org.nd4j.linalg.indexing.NDArrayIndex;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
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

    /**
     * 19 examples in batches of 4: the fifth batch holds 3, and whichever rank gets it gets it completed with the
     * data's first example, so every rank steps on 4 examples; not so for evaluation, which must count each once.
     */
    @Test
    void shouldCompleteAShortLastBatchWithTheFirstExamples()
    {
        assertEquals(List.of(List.of(0.0, 1.0, 2.0, 3.0), List.of(8.0, 9.0, 10.0, 11.0), List.of(16.0, 17.0, 18.0, 0.0)),
            examplesOf(new ShardedDataSetIterator(new ListDataSetIterator<>(examples(19), 4), 0, 2, true)));
        assertEquals(List.of(List.of(4.0, 5.0, 6.0, 7.0), List.of(12.0, 13.0, 14.0, 15.0), List.of(0.0, 1.0, 2.0, 3.0)),
            examplesOf(new ShardedDataSetIterator(new ListDataSetIterator<>(examples(19), 4), 1, 2, true)));
        assertEquals(List.of(List.of(0.0, 1.0, 2.0, 3.0), List.of(8.0, 9.0, 10.0, 11.0), List.of(16.0, 17.0, 18.0)),
            examplesOf(new ShardedDataSetIterator(new ListDataSetIterator<>(examples(19), 4), 0, 2, false)));
        final MultiDataSetIterator multi = new ShardedMultiDataSetIterator(
            new MultiDataSetIteratorAdapter(new ListDataSetIterator<>(examples(19), 4)), 0, 2, true);
        final List<List<Double>> batches = new ArrayList<>();
        while (multi.hasNext())
        {
            final MultiDataSet batch = multi.next();
            batches.add(column(batch.getFeatures(0)));
            assertEquals(column(batch.getFeatures(0)).size(), batch.getLabels(0).size(0), "labels completed too");
        }
        assertEquals(List.of(List.of(0.0, 1.0, 2.0, 3.0), List.of(8.0, 9.0, 10.0, 11.0), List.of(16.0, 17.0, 18.0, 0.0)),
            batches);
    }

    /**
     * Time series with masks: the completed batch keeps each example's mask row, the first example's included.
     */
    @Test
    void shouldCompleteAShortBatchOfMaskedTimeSeriesWithTheirMasks()
    {
        final List<DataSet> series = new ArrayList<>();
        for (int i = 0; i < 5; i++)
        {
            final org.nd4j.linalg.api.ndarray.INDArray features = Nd4j.zeros(1, 1, 3).addi(i);
            // Example i is i % 3 + 1 steps long.
            final org.nd4j.linalg.api.ndarray.INDArray mask = Nd4j.zeros(1, 3);
            for (int t = 0; t <= i % 3; t++)
            {
                mask.putScalar(0, t, 1);
            }
            series.add(new DataSet(features, Nd4j.ones(1, 2, 3), mask, mask.dup()));
        }
        // Batches of 2: {0,1}, {2,3}, {4}; rank 0 of 2 gets {0,1} and {4}, completed with example 0.
        final ShardedDataSetIterator shard = new ShardedDataSetIterator(new ListDataSetIterator<>(series, 2), 0, 2, true);
        shard.next();
        final DataSet last = shard.next();
        assertEquals(2, last.numExamples());
        assertEquals(List.of(4.0, 0.0), column(last.getFeatures().get(NDArrayIndex.all(), NDArrayIndex.point(0),
            NDArrayIndex.point(0)).reshape(2, 1)));
        // Example 4 is 2 steps long, example 0 one.
        assertArrayEquals(new double[] { 1, 1, 0, 1, 0, 0 }, last.getFeaturesMaskArray().dup('c').data().asDouble());
        assertEquals(last.getFeaturesMaskArray(), last.getLabelsMaskArray());
        assertFalse(shard.hasNext());
    }

    private static List<List<Double>> examplesOf(final ShardedDataSetIterator iterator)
    {
        final List<List<Double>> batches = new ArrayList<>();
        while (iterator.hasNext())
        {
            final DataSet batch = iterator.next();
            batches.add(column(batch.getFeatures()));
            assertEquals(batch.getFeatures().size(0), batch.getLabels().size(0), "labels completed too");
        }
        return batches;
    }

    private static List<Double> column(final org.nd4j.linalg.api.ndarray.INDArray features)
    {
        final List<Double> values = new ArrayList<>();
        for (long i = 0; i < features.size(0); i++)
        {
            values.add(features.getDouble(i, 0));
        }
        return values;
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
