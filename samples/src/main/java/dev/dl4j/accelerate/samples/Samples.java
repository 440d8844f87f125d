package dev.dl4j.accelerate.samples;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * What the samples share: where they write, how they check their own outcome.
 */
final class Samples
{
    private Samples()
    {
    }

    /**
     * @param args the sample's arguments; the first, if any, is the output directory.
     * @param name the sample's name, for the default directory {@code target/samples/<name>}.
     * @return the output directory, created.
     */
    static Path outputDirectory(final String[] args, final String name)
    {
        final Path dir = args.length > 0 ? Path.of(args[0]) : Path.of("target", "samples", name);
        try
        {
            return Files.createDirectories(dir);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot create output directory " + dir.toAbsolutePath(), ex);
        }
    }

    /**
     * Fails the sample, and through the launcher the whole job, when its outcome is wrong.
     */
    static void check(final boolean condition, final String what)
    {
        if (!condition)
        {
            throw new IllegalStateException("sample check failed: " + what);
        }
    }

    /**
     * Writes a file whole or not at all: readers never see half of it.
     */
    static void writeAtomically(final Path file, final byte[] content)
    {
        try
        {
            final Path temporary = Files.createTempFile(file.getParent(), file.getFileName().toString(), ".tmp");
            Files.write(temporary, content);
            Files.move(temporary, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot write " + file.toAbsolutePath(), ex);
        }
    }
}
