package dev.dl4j.accelerate;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SingleProcessTest
{
    @Test
    @SuppressWarnings("try")
    void shouldWorkWithoutLauncherOrMediaDriver() throws Exception
    {
        final List<String> driversBefore = driverDirectories();
        try (Accelerator acc = Accelerator.create(ProcessTopology.single(), AcceleratorSettings.defaults()))
        {
            assertTrue(acc.isMainProcess());
            assertTrue(acc.isLocalMainProcess());
            assertEquals(0, acc.processIndex());
            assertEquals(1, acc.numProcesses());
            acc.waitForEveryone();
            assertEquals("ran", acc.mainProcessFirst(() -> "ran"));
            assertEquals("ran", acc.localMainProcessFirst(() -> "ran"));
            try (Accelerator.Section ignored = acc.mainProcessFirst())
            {
                assertFalse(acc.checkTrigger());
            }
            acc.setTrigger();
            assertTrue(acc.checkTrigger());
            assertFalse(acc.checkTrigger());
            assertArrayEquals(new byte[] { 1, 2 }, acc.broadcast(new byte[] { 1, 2 }, 0));
            assertEquals(List.of(42L), acc.gather(42L, 0, Codec.LONG));
            final boolean[] ran = { false };
            acc.onMainProcess(() -> ran[0] = true);
            assertTrue(ran[0]);
        }
        assertEquals(driversBefore, driverDirectories(), "a single process must not start a media driver");
    }

    @Test
    void shouldRejectARootOutsideTheWorld()
    {
        try (Accelerator acc = Accelerator.create(ProcessTopology.single(), AcceleratorSettings.defaults()))
        {
            final IllegalArgumentException ex =
                assertThrows(IllegalArgumentException.class, () -> acc.broadcast(new byte[1], 1));
            assertEquals("root=1 is not a rank in [0, 1)", ex.getMessage());
        }
    }

    private static List<String> driverDirectories() throws Exception
    {
        final Path shm = new File("/dev/shm").toPath();
        if (!Files.isDirectory(shm))
        {
            return List.of();
        }
        try (Stream<Path> entries = Files.list(shm))
        {
            return entries.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("dl4j-accelerate-rank"))
                .sorted().toList();
        }
    }
}
