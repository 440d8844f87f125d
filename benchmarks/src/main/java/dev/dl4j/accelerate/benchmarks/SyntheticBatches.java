package dev.dl4j.accelerate.benchmarks;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Random;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.DataSetPreProcessor;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.factory.Nd4j;

/**
 * MNIST-shaped training batches made in memory, so that the benchmarks measure training and not loading: random
 * features in [0, 1) and one-hot labels, from a fixed seed, the same in every process. A small pool of distinct
 * batches is served round and round, either a given number of them or until a wall-clock deadline.
 *
 * <p>Not asynchronous: DL4J would otherwise put a prefetching thread in front of it, which on two cores takes
 * time from the training threads for data that is already in memory. Not resettable: each phase of a benchmark
 * (warm-up, timed) gets an iterator of its own.
 */
final class SyntheticBatches implements DataSetIterator
{
    private static final long serialVersionUID = 1L;
    private static final long DATA_SEED = 42;
    private static final int DISTINCT_BATCHES = 16;

    private final transient List<DataSet> pool;
    private final long count;
    private final long deadlineMs;
    private long served;

    private SyntheticBatches(final List<DataSet> pool, final long count, final long deadlineMs)
    {
        this.pool = pool;
        this.count = count;
        this.deadlineMs = deadlineMs;
    }

    /**
     * @param batch examples per batch.
     * @return the distinct batches to serve; identical in every process for the same batch size.
     */
    static List<DataSet> pool(final int batch)
    {
        final Random random = new Random(DATA_SEED);
        Nd4j.getRandom().setSeed(DATA_SEED);
        final List<DataSet> pool = new ArrayList<>(DISTINCT_BATCHES);
        for (int b = 0; b < DISTINCT_BATCHES; b++)
        {
            final INDArray features = Nd4j.rand(DataType.FLOAT, batch, TrainingWorkload.FEATURES);
            final INDArray labels = Nd4j.zeros(DataType.FLOAT, batch, TrainingWorkload.CLASSES);
            for (int row = 0; row < batch; row++)
            {
                labels.putScalar(row, random.nextInt(TrainingWorkload.CLASSES), 1.0);
            }
            pool.add(new DataSet(features, labels));
        }
        return Collections.unmodifiableList(pool);
    }

    /**
     * @param pool  the batches to serve, round and round.
     * @param count how many to serve.
     * @return an iterator over {@code count} batches.
     */
    static SyntheticBatches counted(final List<DataSet> pool, final long count)
    {
        return new SyntheticBatches(pool, count, Long.MAX_VALUE);
    }

    /**
     * @param pool       the batches to serve, round and round.
     * @param deadlineMs {@link System#currentTimeMillis()} after which there are no more batches: the wall clock,
     *                   so that independent processes can agree on it without talking to each other.
     * @return an iterator that serves batches until the deadline.
     */
    static SyntheticBatches until(final List<DataSet> pool, final long deadlineMs)
    {
        return new SyntheticBatches(pool, Long.MAX_VALUE, deadlineMs);
    }

    /**
     * @return the number of batches served so far.
     */
    long served()
    {
        return served;
    }

    public boolean hasNext()
    {
        return served < count && System.currentTimeMillis() < deadlineMs;
    }

    public DataSet next()
    {
        if (!hasNext())
        {
            throw new NoSuchElementException("served " + served + " batches, all that were asked for");
        }
        return pool.get((int)(served++ % pool.size()));
    }

    public DataSet next(final int num)
    {
        throw new UnsupportedOperationException("serves whole batches only; use next()");
    }

    public int inputColumns()
    {
        return TrainingWorkload.FEATURES;
    }

    public int totalOutcomes()
    {
        return TrainingWorkload.CLASSES;
    }

    public boolean resetSupported()
    {
        return false;
    }

    public boolean asyncSupported()
    {
        return false;
    }

    public void reset()
    {
        throw new UnsupportedOperationException("not resettable: make a new iterator for each phase");
    }

    public int batch()
    {
        return (int)pool.get(0).getFeatures().size(0);
    }

    public void setPreProcessor(final DataSetPreProcessor preProcessor)
    {
        throw new UnsupportedOperationException("the synthetic batches need no preprocessing");
    }

    public DataSetPreProcessor getPreProcessor()
    {
        return null;
    }

    public List<String> getLabels()
    {
        return null;
    }
}
