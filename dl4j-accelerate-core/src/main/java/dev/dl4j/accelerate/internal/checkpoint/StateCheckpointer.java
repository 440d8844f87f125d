package dev.dl4j.accelerate.internal.checkpoint;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.Supplier;

import dev.dl4j.accelerate.AccelerateException;
import dev.dl4j.accelerate.Accelerator;
import dev.dl4j.accelerate.Codec;
import dev.dl4j.accelerate.internal.dl4j.Models;
import org.deeplearning4j.nn.api.Model;
import org.nd4j.linalg.api.rng.Random;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The collective behind {@code saveState}/{@code loadState}. Only rank 0 touches the file system: the others send it
 * their RNG states when saving and receive everything from it by broadcast when loading, so checkpoints work
 * without a file system shared between hosts. Use from the training thread: ND4J's RNG state is per thread.
 */
public final class StateCheckpointer
{
    private static final String MODEL_FILE = "model.zip";
    /** Two longs: the root and node states of ND4J's generator. */
    private static final int RNG_STATE_BYTES = 16;

    private final Accelerator accelerator;
    private final Map<String, Supplier<byte[]>> savers = new LinkedHashMap<>();
    private final Map<String, Consumer<byte[]>> loaders = new LinkedHashMap<>();
    private Model model;

    /**
     * @param accelerator the process group.
     */
    public StateCheckpointer(final Accelerator accelerator)
    {
        this.accelerator = accelerator;
    }

    /**
     * @param model the network or graph whose weights, updater state and counters checkpoints hold.
     */
    public void register(final Model model)
    {
        Models.iterationCount(model);
        this.model = model;
    }

    /**
     * @param name   names the object's file; letters, digits, dots, dashes, underscores.
     * @param saver  the object's bytes, asked on rank 0 at each save.
     * @param loader restores the object from those bytes, on every rank at each load.
     */
    public void register(final String name, final Supplier<byte[]> saver, final Consumer<byte[]> loader)
    {
        if (!name.matches("[A-Za-z0-9._-]{1,100}"))
        {
            throw new IllegalArgumentException("checkpoint object name '" + name + "' must be 1-100 letters, digits, . _ -");
        }
        savers.put(name, saver);
        loaders.put(name, loader);
    }

    /**
     * Writes {@code checkpoint-<step>} under {@code root}: collective, returning on every rank once it is complete.
     *
     * @param root  the checkpoints folder.
     * @param keep  how many checkpoints to keep; older ones are pruned by rank 0.
     * @param extra further facts for the manifest, e.g. the position in the epoch.
     * @return the checkpoint's directory.
     */
    public Path save(final Path root, final int keep, final Map<String, String> extra)
    {
        requireModel("saveState");
        final Random random = Nd4j.getRandom();
        final byte[] rng = ByteBuffer.allocate(RNG_STATE_BYTES).order(ByteOrder.LITTLE_ENDIAN)
            .putLong(random.rootState()).putLong(random.nodeState()).array();
        final List<byte[]> rngs = accelerator.gather(rng, 0);
        final long step = Models.iterationCount(model);
        final CheckpointStore store = new CheckpointStore(root);
        accelerator.mainProcessFirst(() ->
        {
            if (!accelerator.isMainProcess())
            {
                return;
            }
            final Map<String, byte[]> files = new LinkedHashMap<>();
            try
            {
                files.put(MODEL_FILE, Models.serialize(model));
            }
            catch (final IOException ex)
            {
                throw new UncheckedIOException("cannot serialise the model for checkpoint-" + step, ex);
            }
            for (int rank = 0; rank < rngs.size(); rank++)
            {
                files.put(rngFile(rank), rngs.get(rank));
            }
            savers.forEach((name, saver) -> files.put(objectFile(name), saver.get()));
            final Map<String, String> metadata = new LinkedHashMap<>();
            metadata.put("step", Long.toString(step));
            metadata.put("epoch", Integer.toString(Models.epochCount(model)));
            metadata.put("worldSize", Integer.toString(accelerator.numProcesses()));
            metadata.put("parameters", Long.toString(model.numParams()));
            metadata.putAll(extra);
            store.save(step, metadata, files);
            store.prune(keep);
        });
        return store.root().resolve("checkpoint-" + step);
    }

    /**
     * Restores the newest complete checkpoint under {@code root}, or {@code root} itself if it is a checkpoint:
     * weights, updater state, counters, this rank's RNG state, registered objects. Collective.
     *
     * @param root the checkpoints folder, or one checkpoint directory.
     * @return the checkpoint's manifest facts, or empty when there is none (nothing is changed then).
     * @throws AccelerateException on every rank, naming what was found and what was expected, when the checkpoint
     *                             was written by another world size or for another model, or does not verify.
     */
    public Optional<Map<String, String>> load(final Path root)
    {
        requireModel("loadState");
        final Prepared[] found = new Prepared[1];
        String status = "";
        if (accelerator.isMainProcess())
        {
            status = find(root, found);
        }
        status = accelerator.broadcast(status, 0, Codec.STRING);
        if (status.equals("none"))
        {
            return Optional.empty();
        }
        if (!status.equals("ok"))
        {
            throw new AccelerateException(status);
        }
        // From here on rank 0 only sends what find() already read and checked: nothing fails on rank 0 alone.
        final Prepared prepared = found[0];
        final boolean main = accelerator.isMainProcess();
        final byte[] modelBytes = accelerator.broadcast(main ? prepared.model() : null, 0);
        try
        {
            Models.restoreInto(model, modelBytes);
        }
        catch (final IOException ex)
        {
            throw new AccelerateException("checkpoint model cannot be restored into the registered model: " + ex, ex);
        }
        final byte[] rng = accelerator.broadcast(main ? prepared.rngTable() : null, 0);
        final ByteBuffer states = ByteBuffer.wrap(rng).order(ByteOrder.LITTLE_ENDIAN);
        states.position(RNG_STATE_BYTES * accelerator.processIndex());
        Nd4j.getRandom().setStates(states.getLong(), states.getLong());
        for (final Map.Entry<String, Consumer<byte[]>> loader : loaders.entrySet())
        {
            final byte[] bytes = accelerator.broadcast(main ? prepared.objects().get(loader.getKey()) : null, 0);
            loader.getValue().accept(bytes);
        }
        final String facts = accelerator.broadcast(main ? encode(prepared.metadata()) : null, 0, Codec.STRING);
        return Optional.of(decode(facts));
    }

    /**
     * What rank 0 sends when restoring a checkpoint, read and checked before any rank starts to restore.
     */
    private record Prepared(byte[] model, byte[] rngTable, Map<String, byte[]> objects, Map<String, String> metadata)
    {
    }

    private String find(final Path root, final Prepared[] found)
    {
        try
        {
            final boolean single = Files.isRegularFile(root.resolve(CheckpointStore.MANIFEST));
            final CheckpointStore store = new CheckpointStore(single ? root.toAbsolutePath().getParent() : root);
            final Optional<CheckpointStore.Checkpoint> checkpoint = single ? Optional.of(store.load(root)) : store.newest();
            if (checkpoint.isEmpty())
            {
                return "none";
            }
            final CheckpointStore.Checkpoint c = checkpoint.get();
            final String worldSize = c.metadata().get("worldSize");
            if (!Integer.toString(accelerator.numProcesses()).equals(worldSize))
            {
                return c.directory() + " was written by a job of WORLD_SIZE=" + worldSize + "; this job has WORLD_SIZE=" +
                    accelerator.numProcesses() + " (resuming at another world size changes the global batch and the " +
                    "data order; start from its model.zip instead)";
            }
            final String parameters = c.metadata().get("parameters");
            if (!Long.toString(model.numParams()).equals(parameters))
            {
                return c.directory() + " holds a model with " + parameters + " parameters; the registered model has " +
                    model.numParams();
            }
            if (!c.files().containsKey(MODEL_FILE))
            {
                return c.directory() + " holds no " + MODEL_FILE;
            }
            final ByteBuffer rngTable = ByteBuffer.allocate(RNG_STATE_BYTES * accelerator.numProcesses());
            for (int rank = 0; rank < accelerator.numProcesses(); rank++)
            {
                final byte[] state = c.files().get(rngFile(rank));
                if (state == null || state.length != RNG_STATE_BYTES)
                {
                    return c.directory() + " holds no random-generator state of rank " + rank + " (" + rngFile(rank) +
                        (state == null ? ")" : " has " + state.length + " bytes, not " + RNG_STATE_BYTES + ")");
                }
                rngTable.put(state);
            }
            final Map<String, byte[]> objects = new LinkedHashMap<>();
            for (final String name : loaders.keySet())
            {
                final byte[] bytes = c.files().get(objectFile(name));
                if (bytes == null)
                {
                    return c.directory() + " holds no object '" + name + "' registered for checkpointing";
                }
                objects.put(name, bytes);
            }
            found[0] = new Prepared(c.files().get(MODEL_FILE), rngTable.array(), objects, c.metadata());
            return "ok";
        }
        catch (final AccelerateException ex)
        {
            return ex.getMessage();
        }
    }

    private static String rngFile(final int rank)
    {
        return "rng-" + rank + ".bin";
    }

    private static String objectFile(final String name)
    {
        return "object-" + name + ".bin";
    }

    private void requireModel(final String operation)
    {
        if (model == null)
        {
            throw new IllegalStateException(operation + " needs a model: call registerForCheckpointing(model) first");
        }
    }

    private static String encode(final Map<String, String> metadata)
    {
        final StringBuilder text = new StringBuilder();
        metadata.forEach((key, value) -> text.append(key).append('=').append(value).append('\n'));
        return text.toString();
    }

    private static Map<String, String> decode(final String text)
    {
        final Map<String, String> metadata = new LinkedHashMap<>();
        for (final String line : text.split("\n"))
        {
            final int equals = line.indexOf('=');
            if (equals > 0)
            {
                metadata.put(line.substring(0, equals), line.substring(equals + 1));
            }
        }
        return metadata;
    }
}
