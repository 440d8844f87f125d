package dev.dl4j.accelerate.internal.checkpoint;

import java.nio.file.Path;
import java.util.Map;
import java.util.Random;

/**
 * Saves checkpoints in a loop until killed, printing each step once it is complete: the victim of the crash
 * safety test. Content is derived from the step so the test can check what it loads.
 */
public final class CheckpointHammer
{
    private CheckpointHammer()
    {
    }

    public static void main(final String[] args)
    {
        final CheckpointStore store = new CheckpointStore(Path.of(args[0]));
        final long start = store.complete().isEmpty() ? 1 : store.newest().orElseThrow().step() + 1;
        for (long step = start; ; step++)
        {
            store.save(step, Map.of("step", Long.toString(step)), Map.of("model.bin", content(step, 3_000_000),
                "rng-0.bin", content(step + 1, 64), "rng-1.bin", content(step + 2, 64)));
            store.prune(2);
            System.out.println("saved " + step);
        }
    }

    static byte[] content(final long seed, final int length)
    {
        final byte[] bytes = new byte[length];
        new Random(seed).nextBytes(bytes);
        return bytes;
    }
}
