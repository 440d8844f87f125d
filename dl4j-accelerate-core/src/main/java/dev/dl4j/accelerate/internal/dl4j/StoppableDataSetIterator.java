package dev.dl4j.accelerate.internal.dl4j;

import java.util.List;
import java.util.function.BooleanSupplier;

import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.DataSetPreProcessor;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;

/**
 * Ends an epoch early when told, between two steps. Reports no async support: DL4J's prefetching wrapper would
 * already hold the next batches and train on them after the stop.
 */
public final class StoppableDataSetIterator implements DataSetIterator
{
    private static final long serialVersionUID = 1L;

    private final DataSetIterator source;
    private final transient BooleanSupplier stopped;

    /**
     * @param source  the batches.
     * @param stopped true once the epoch must end.
     */
    public StoppableDataSetIterator(final DataSetIterator source, final BooleanSupplier stopped)
    {
        this.source = source;
        this.stopped = stopped;
    }

    public boolean hasNext()
    {
        return !stopped.getAsBoolean() && source.hasNext();
    }

    public DataSet next()
    {
        return source.next();
    }

    public DataSet next(final int num)
    {
        return source.next(num);
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
        return false;
    }

    public void reset()
    {
        source.reset();
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
