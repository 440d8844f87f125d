package dev.dl4j.accelerate.internal.checkpoint;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import dev.dl4j.accelerate.AccelerateException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CheckpointStoreTest
{
    @TempDir
    Path root;

    @Test
    void shouldSaveAndLoadVerifiedContent()
    {
        final CheckpointStore store = new CheckpointStore(root);
        store.save(10, Map.of("worldSize", "2"), Map.of("model.zip", bytes("weights"), "rng-0.bin", bytes("r0")));
        final CheckpointStore.Checkpoint loaded = store.newest().orElseThrow();
        assertEquals(10, loaded.step());
        assertEquals("2", loaded.metadata().get("worldSize"));
        assertArrayEquals(bytes("weights"), loaded.files().get("model.zip"));
    }

    @Test
    void shouldPickTheNewestCompleteCheckpointAndSkipOnesThatDoNotVerify() throws Exception
    {
        final CheckpointStore store = new CheckpointStore(root);
        store.save(5, Map.of(), Map.of("model.zip", bytes("five")));
        store.save(12, Map.of(), Map.of("model.zip", bytes("twelve")));
        store.save(40, Map.of(), Map.of("model.zip", bytes("forty")));
        Files.write(root.resolve("checkpoint-40").resolve("model.zip"), bytes("FORTY"));
        Files.createDirectories(root.resolve("checkpoint-99"));
        Files.write(root.resolve("checkpoint-99").resolve("model.zip"), bytes("no manifest"));
        assertEquals(12, store.newest().orElseThrow().step());
    }

    @Test
    void shouldNameTheFileThatIsTruncatedEditedOrMissing() throws Exception
    {
        final CheckpointStore store = new CheckpointStore(root);
        final Path dir = store.save(1, Map.of(), Map.of("model.zip", bytes("0123456789"), "rng-0.bin", bytes("rng")));
        Files.write(dir.resolve("model.zip"), bytes("01234"));
        assertTrue(assertThrows(AccelerateException.class, () -> store.load(dir)).getMessage()
            .contains("model.zip has 5 bytes, the manifest says 10 (truncated or edited)"));
        Files.write(dir.resolve("model.zip"), bytes("0123456780"));
        assertTrue(assertThrows(AccelerateException.class, () -> store.load(dir)).getMessage()
            .contains("model.zip fails its checksum"));
        Files.delete(dir.resolve("rng-0.bin"));
        Files.write(dir.resolve("model.zip"), bytes("0123456789"));
        assertTrue(assertThrows(AccelerateException.class, () -> store.load(dir)).getMessage()
            .contains("rng-0.bin listed in the manifest is missing"));
        Files.delete(dir.resolve(CheckpointStore.MANIFEST));
        assertTrue(assertThrows(AccelerateException.class, () -> store.load(dir)).getMessage()
            .contains("is not a complete checkpoint: it has no MANIFEST"));
    }

    @Test
    void shouldKeepOnlyTheNewestOnPruneAndRemoveInterruptedSaves() throws Exception
    {
        final CheckpointStore store = new CheckpointStore(root);
        for (int step = 1; step <= 5; step++)
        {
            store.save(step, Map.of(), Map.of("model.zip", bytes("s" + step)));
        }
        Files.createDirectories(root.resolve(".checkpoint-6-123"));
        store.prune(2);
        assertEquals(List.of(root.resolve("checkpoint-4"), root.resolve("checkpoint-5")), store.complete());
        assertEquals(2, Files.list(root).count());
    }

    @Test
    void shouldRefuseAReadOnlyFolderLeavingCheckpointsUntouched() throws Exception
    {
        final CheckpointStore store = new CheckpointStore(root);
        store.save(1, Map.of(), Map.of("model.zip", bytes("one")));
        assertTrue(root.toFile().setWritable(false));
        try
        {
            // As root, permissions are not enforced: a folder below a regular file cannot be created by anyone.
            final boolean enforced = !Files.isWritable(root);
            final CheckpointStore target = enforced ? store : new CheckpointStore(root.resolve("model.txt").resolve("sub"));
            if (!enforced)
            {
                root.toFile().setWritable(true);
                Files.write(root.resolve("model.txt"), bytes("a file where a folder should be"));
            }
            final AccelerateException ex = assertThrows(AccelerateException.class,
                () -> target.save(2, Map.of(), Map.of("model.zip", bytes("two"))));
            assertTrue(ex.getMessage().contains("cannot save checkpoint-2 in " + target.root()), ex.getMessage());
            assertTrue(ex.getMessage().contains("the existing checkpoints are untouched"), ex.getMessage());
        }
        finally
        {
            root.toFile().setWritable(true);
        }
        assertEquals(1, store.newest().orElseThrow().step());
    }

    @Test
    void shouldNotOverwriteACompleteCheckpoint()
    {
        final CheckpointStore store = new CheckpointStore(root);
        store.save(3, Map.of(), Map.of("model.zip", bytes("a")));
        assertTrue(assertThrows(AccelerateException.class, () -> store.save(3, Map.of(), Map.of("model.zip", bytes("b"))))
            .getMessage().contains("already exists"));
        assertArrayEquals(bytes("a"), store.newest().orElseThrow().files().get("model.zip"));
    }

    private static byte[] bytes(final String s)
    {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
