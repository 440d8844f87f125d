package dev.dl4j.accelerate.internal.transport;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MediaDriversTest
{
    @TempDir
    Path parent;

    @Test
    void shouldSweepOnlyDirectoriesOfProcessesThatAreGone() throws Exception
    {
        final Process gone = new ProcessBuilder("true").start();
        assertTrue(gone.waitFor(10, TimeUnit.SECONDS));
        final Path orphan = Files.createDirectories(parent.resolve("dl4j-accelerate-launcher-" + gone.pid() + "-0123456789ab"));
        Files.writeString(orphan.resolve("cnc.dat"), "x");
        final Path live = Files.createDirectories(
            parent.resolve("dl4j-accelerate-launcher-" + ProcessHandle.current().pid() + "-0123456789ab"));
        final Path foreign = Files.createDirectories(parent.resolve("dl4j-accelerate-notes"));

        MediaDrivers.sweepOrphans(parent.toFile());

        assertFalse(Files.exists(orphan), "the directory of a dead process must go");
        assertTrue(Files.exists(live), "a live process's directory must stay");
        assertTrue(Files.exists(foreign), "a directory not named by us must stay");
    }
}
