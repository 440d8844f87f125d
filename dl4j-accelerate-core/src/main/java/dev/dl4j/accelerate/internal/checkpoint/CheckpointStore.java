package dev.dl4j.accelerate.internal.checkpoint;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.CRC32C;

import dev.dl4j.accelerate.AccelerateException;

/**
 * Checkpoint directories that appear whole or not at all. A checkpoint is written into a temporary directory,
 * every file is fsynced, a manifest listing each file's size and CRC32C is written and fsynced last, and only then
 * is the directory renamed to {@code checkpoint-<step>} (and the parent fsynced). A directory without a valid
 * manifest, or whose files do not match it, is never loaded. Used by one process (rank 0) at a time.
 */
public final class CheckpointStore
{
    /** The file, written last, that makes a checkpoint directory complete. */
    public static final String MANIFEST = "MANIFEST";

    private static final Pattern NAME = Pattern.compile("checkpoint-(\\d{1,18})");
    private static final String TEMPORARY_PREFIX = ".checkpoint-";
    private static final int FORMAT = 1;

    private final Path root;

    /**
     * @param root the folder holding the checkpoints; created on the first save.
     */
    public CheckpointStore(final Path root)
    {
        this.root = root.toAbsolutePath();
    }

    /**
     * @return the folder holding the checkpoints.
     */
    public Path root()
    {
        return root;
    }

    /**
     * Writes a complete checkpoint.
     *
     * @param step     the step it was taken at; names the directory.
     * @param metadata small key/value facts recorded in the manifest (world size, parameter count...).
     * @param files    file name to content.
     * @return the checkpoint's directory.
     * @throws AccelerateException naming the folder when it cannot be written (read-only, full...); the
     *                             checkpoints already there are untouched.
     */
    public Path save(final long step, final Map<String, String> metadata, final Map<String, byte[]> files)
    {
        final Path target = root.resolve("checkpoint-" + step);
        Path temporary = null;
        try
        {
            Files.createDirectories(root);
            if (Files.exists(target))
            {
                throw new AccelerateException("checkpoint " + target + " already exists; refusing to overwrite a " +
                    "complete checkpoint (was training resumed without loading it?)");
            }
            temporary = Files.createTempDirectory(root, TEMPORARY_PREFIX + step + "-");
            final StringBuilder manifest = new StringBuilder("format ").append(FORMAT).append('\n');
            for (final Map.Entry<String, String> entry : metadata.entrySet())
            {
                checkToken(entry.getKey(), "metadata key");
                checkToken(entry.getValue(), "metadata value");
                manifest.append("meta ").append(entry.getKey()).append(' ').append(entry.getValue()).append('\n');
            }
            for (final Map.Entry<String, byte[]> file : files.entrySet())
            {
                checkToken(file.getKey(), "file name");
                writeSynced(temporary.resolve(file.getKey()), file.getValue());
                manifest.append("file ").append(file.getKey()).append(' ').append(file.getValue().length).append(' ')
                    .append(Long.toHexString(crc(file.getValue()))).append('\n');
            }
            writeSynced(temporary.resolve(MANIFEST), manifest.toString().getBytes(StandardCharsets.UTF_8));
            syncDirectory(temporary);
            Files.move(temporary, target, StandardCopyOption.ATOMIC_MOVE);
            temporary = null;
            syncDirectory(root);
            return target;
        }
        catch (final AtomicMoveNotSupportedException ex)
        {
            throw new AccelerateException("cannot save a checkpoint in " + root + ": its file system cannot rename " +
                "a directory atomically", ex);
        }
        catch (final FileAlreadyExistsException ex)
        {
            throw new AccelerateException("checkpoint " + target + " appeared while it was being written", ex);
        }
        catch (final IOException ex)
        {
            throw new AccelerateException("cannot save checkpoint-" + step + " in " + root + ": " + ex +
                " (is the folder writable, the disk full?); the existing checkpoints are untouched", ex);
        }
        finally
        {
            if (temporary != null)
            {
                deleteQuietly(temporary);
            }
        }
    }

    /**
     * @return the complete checkpoints, oldest first: those whose manifest exists and parses (files are checked on
     *         {@link #load}).
     */
    public List<Path> complete()
    {
        if (!Files.isDirectory(root))
        {
            return List.of();
        }
        final List<Path> found = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(root))
        {
            for (final Path entry : entries)
            {
                if (NAME.matcher(entry.getFileName().toString()).matches() && Files.isRegularFile(entry.resolve(MANIFEST)))
                {
                    found.add(entry);
                }
            }
        }
        catch (final IOException ex)
        {
            throw new AccelerateException("cannot list checkpoints in " + root + ": " + ex, ex);
        }
        found.sort(Comparator.comparingLong(CheckpointStore::stepOf));
        return found;
    }

    /**
     * @return the newest checkpoint that verifies, if any; newer ones that do not verify are skipped.
     */
    public Optional<Checkpoint> newest()
    {
        final List<Path> all = complete();
        for (int i = all.size() - 1; i >= 0; i--)
        {
            try
            {
                return Optional.of(load(all.get(i)));
            }
            catch (final AccelerateException corrupt)
            {
                System.err.println("dl4j-accelerate: skipping " + all.get(i) + ": " + corrupt.getMessage());
            }
        }
        return Optional.empty();
    }

    /**
     * Reads and verifies a checkpoint against its manifest.
     *
     * @param directory a checkpoint directory.
     * @return its metadata and files.
     * @throws AccelerateException naming the file when the manifest is missing or malformed, a file is missing,
     *                             or a size or checksum differs.
     */
    public Checkpoint load(final Path directory)
    {
        final Path manifestFile = directory.resolve(MANIFEST);
        final List<String> lines;
        try
        {
            lines = Files.readAllLines(manifestFile, StandardCharsets.UTF_8);
        }
        catch (final NoSuchFileException ex)
        {
            throw new AccelerateException(directory + " is not a complete checkpoint: it has no " + MANIFEST);
        }
        catch (final IOException ex)
        {
            throw new AccelerateException("cannot read " + manifestFile + ": " + ex, ex);
        }
        final Map<String, String> metadata = new LinkedHashMap<>();
        final Map<String, byte[]> files = new LinkedHashMap<>();
        if (lines.isEmpty() || !lines.get(0).equals("format " + FORMAT))
        {
            throw new AccelerateException(manifestFile + " is not a format-" + FORMAT + " manifest");
        }
        for (final String line : lines.subList(1, lines.size()))
        {
            final String[] parts = line.split(" ");
            if (parts.length == 3 && parts[0].equals("meta"))
            {
                metadata.put(parts[1], parts[2]);
            }
            else if (parts.length == 4 && parts[0].equals("file"))
            {
                files.put(parts[1], verified(directory.resolve(parts[1]), parts[2], parts[3]));
            }
            else
            {
                throw new AccelerateException(manifestFile + " has a malformed line: '" + line + "'");
            }
        }
        return new Checkpoint(directory, stepOf(directory), metadata, files);
    }

    /**
     * Deletes all but the newest {@code keep} complete checkpoints, and temporary directories of interrupted saves.
     *
     * @param keep how many complete checkpoints to keep; at least 1.
     */
    public void prune(final int keep)
    {
        final List<Path> all = complete();
        for (int i = 0; i < all.size() - Math.max(1, keep); i++)
        {
            // Remove the manifest first: a half-deleted checkpoint must not look complete.
            deleteQuietly(all.get(i).resolve(MANIFEST));
            deleteQuietly(all.get(i));
        }
        try (Stream<Path> entries = Files.list(root))
        {
            entries.filter(p -> p.getFileName().toString().startsWith(TEMPORARY_PREFIX)).forEach(CheckpointStore::deleteQuietly);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot list " + root, ex);
        }
    }

    private static byte[] verified(final Path file, final String size, final String crc)
    {
        final byte[] content;
        try (InputStream in = Files.newInputStream(file))
        {
            content = in.readAllBytes();
        }
        catch (final NoSuchFileException ex)
        {
            throw new AccelerateException("checkpoint file " + file + " listed in the manifest is missing");
        }
        catch (final IOException ex)
        {
            throw new AccelerateException("cannot read checkpoint file " + file + ": " + ex, ex);
        }
        if (!Long.toString(content.length).equals(size))
        {
            throw new AccelerateException("checkpoint file " + file + " has " + content.length + " bytes, the manifest says " +
                size + " (truncated or edited)");
        }
        if (!Long.toHexString(crc(content)).equals(crc))
        {
            throw new AccelerateException("checkpoint file " + file + " fails its checksum (crc32c " +
                Long.toHexString(crc(content)) + ", the manifest says " + crc + "): it was corrupted or edited");
        }
        return content;
    }

    private static long crc(final byte[] content)
    {
        final CRC32C crc = new CRC32C();
        crc.update(content);
        return crc.getValue();
    }

    private static void writeSynced(final Path file, final byte[] content) throws IOException
    {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE))
        {
            final ByteBuffer buffer = ByteBuffer.wrap(content);
            while (buffer.hasRemaining())
            {
                channel.write(buffer);
            }
            channel.force(true);
        }
    }

    private static void syncDirectory(final Path directory) throws IOException
    {
        // On Linux a directory opened for reading can be fsynced; that makes a rename in it durable.
        try (FileChannel channel = FileChannel.open(directory, StandardOpenOption.READ))
        {
            channel.force(true);
        }
    }

    private static long stepOf(final Path directory)
    {
        final Matcher matcher = NAME.matcher(directory.getFileName().toString());
        return matcher.matches() ? Long.parseLong(matcher.group(1)) : -1;
    }

    private static void checkToken(final String value, final String what)
    {
        if (value.isEmpty() || value.contains(" ") || value.contains("\n") || value.contains("/"))
        {
            throw new IllegalArgumentException(what + " '" + value + "' must be non-empty without spaces or slashes");
        }
    }

    private static void deleteQuietly(final Path path)
    {
        try (Stream<Path> walk = Files.walk(path))
        {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
        catch (final IOException | UncheckedIOException ignored)
        {
            // Already gone, or not ours to delete: nothing to undo.
        }
    }

    /**
     * A verified checkpoint.
     *
     * @param directory where it is.
     * @param step      the step it was taken at.
     * @param metadata  the manifest's key/value facts.
     * @param files     file name to verified content.
     */
    public record Checkpoint(Path directory, long step, Map<String, String> metadata, Map<String, byte[]> files)
    {
    }
}
