package dev.dl4j.accelerate.internal.dl4j;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.api.Updater;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.updater.BaseMultiLayerUpdater;
import org.deeplearning4j.nn.updater.graph.ComputationGraphUpdater;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * What the two trainable DL4J model types share but do not expose through one interface: updater state, counters,
 * serialisation. Every method accepts a {@link MultiLayerNetwork} or a {@link ComputationGraph}.
 */
public final class Models
{
    private Models()
    {
    }

    /**
     * @param model a network or graph.
     * @return the updater's state view (e.g. Adam's moments), or null when the updater has none.
     */
    public static INDArray updaterState(final Model model)
    {
        final Object updater = updater(model, true);
        return updater instanceof Updater ? ((Updater)updater).getStateViewArray() :
            ((ComputationGraphUpdater)updater).getStateViewArray();
    }

    /**
     * @param model  a network or graph.
     * @param create make DL4J's updater if the model has none yet.
     * @return its updater (a {@link Updater} for a network, a {@link ComputationGraphUpdater} for a graph), or null.
     */
    public static Object updater(final Model model, final boolean create)
    {
        return model instanceof MultiLayerNetwork ? ((MultiLayerNetwork)model).getUpdater(create) :
            graph(model).getUpdater(create);
    }

    /**
     * @param model a network or graph.
     * @return its training listeners, in the order DL4J calls them; empty if none.
     */
    public static Collection<TrainingListener> listeners(final Model model)
    {
        final Collection<TrainingListener> listeners = model instanceof MultiLayerNetwork ?
            ((MultiLayerNetwork)model).getListeners() : graph(model).getListeners();
        return listeners == null ? List.of() : listeners;
    }

    /**
     * @param model a network or graph.
     * @return the number of epochs it has completed.
     */
    public static int epochCount(final Model model)
    {
        return model instanceof MultiLayerNetwork ? ((MultiLayerNetwork)model).getEpochCount() : graph(model).getEpochCount();
    }

    /**
     * @param model a network or graph.
     * @return the number of steps it has taken.
     */
    public static int iterationCount(final Model model)
    {
        return model instanceof MultiLayerNetwork ? ((MultiLayerNetwork)model).getIterationCount() :
            graph(model).getIterationCount();
    }

    /**
     * @param model      a network or graph.
     * @param epochs     completed epochs.
     * @param iterations steps taken.
     */
    public static void setCounters(final Model model, final int epochs, final int iterations)
    {
        if (model instanceof MultiLayerNetwork)
        {
            ((MultiLayerNetwork)model).setEpochCount(epochs);
            ((MultiLayerNetwork)model).setIterationCount(iterations);
        }
        else
        {
            graph(model).getConfiguration().setEpochCount(epochs);
            graph(model).getConfiguration().setIterationCount(iterations);
        }
    }

    /**
     * @param model a network or graph.
     * @return its {@link ModelSerializer} zip with updater state.
     * @throws IOException if serialisation fails.
     */
    public static byte[] serialize(final Model model) throws IOException
    {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        ModelSerializer.writeModel(model, out, true);
        return out.toByteArray();
    }

    /**
     * Copies parameters, updater state and counters from a serialised model into {@code model} in place, so
     * listeners and references to it stay valid.
     *
     * @param model    the live network or graph.
     * @param zip      bytes from {@link #serialize}.
     * @throws IOException if the bytes do not hold a model of this type.
     */
    public static void restoreInto(final Model model, final byte[] zip) throws IOException
    {
        requireOnlyModelEntries(zip);
        final Model saved = model instanceof MultiLayerNetwork ?
            ModelSerializer.restoreMultiLayerNetwork(new ByteArrayInputStream(zip), true) :
            ModelSerializer.restoreComputationGraph(new ByteArrayInputStream(zip), true);
        model.params().assign(saved.params());
        final INDArray savedState = updaterState(saved);
        if (savedState != null)
        {
            // Through the updater, not into the array it hands out: a split updater (the trainer's, after a failed
            // fit) refuses to hand out a stale state, and learns here that the whole state is current again.
            final Object updater = updater(model, true);
            if (updater instanceof BaseMultiLayerUpdater)
            {
                ((BaseMultiLayerUpdater<?>)updater).setStateViewArray(savedState);
            }
            else
            {
                updaterState(model).assign(savedState);
            }
        }
        setCounters(model, epochCount(saved), iterationCount(saved));
    }

    /**
     * What {@link #serialize} writes. ModelSerializer would also read a {@code preprocessor.bin} (and others) with
     * Java deserialisation, which must never run on bytes from a file or a peer: such zips are refused.
     */
    static final Set<String> MODEL_ENTRIES =
        Set.of("configuration.json", "coefficients.bin", "updaterState.bin", "noParams.marker");

    static void requireOnlyModelEntries(final byte[] zip) throws IOException
    {
        try (ZipInputStream entries = new ZipInputStream(new ByteArrayInputStream(zip)))
        {
            for (ZipEntry entry = entries.getNextEntry(); entry != null; entry = entries.getNextEntry())
            {
                if (!MODEL_ENTRIES.contains(entry.getName()))
                {
                    throw new IOException("refusing a saved model holding '" + entry.getName() + "': only " +
                        new TreeSet<>(MODEL_ENTRIES) + " are read, since DL4J would Java-deserialise the rest");
                }
            }
        }
    }

    private static ComputationGraph graph(final Model model)
    {
        if (model instanceof ComputationGraph)
        {
            return (ComputationGraph)model;
        }
        throw new IllegalArgumentException("dl4j-accelerate supports MultiLayerNetwork and ComputationGraph, not " +
            model.getClass().getName());
    }
}
