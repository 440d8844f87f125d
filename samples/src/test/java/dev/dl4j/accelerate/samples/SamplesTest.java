package dev.dl4j.accelerate.samples;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every sample at 2 ranks through the real scripts, exactly as the README runs them:
 * {@code bin/accelerate launch --nproc-per-node 2 -- bin/sample <name>}. Each sample checks its own outcome and
 * fails the job when it is wrong; here we also check the line it prints on success.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class SamplesTest
{
    private static final Path ROOT = Path.of("").toAbsolutePath().getParent();

    @TempDir
    Path dir;

    @Test
    void shouldPrepareDataOnTheMainProcessFirst() throws Exception
    {
        final String output = launch("PrepareDataFirst");
        assertTrue(output.contains("[rank 0] rank 0 downloaded "), output);
        assertTrue(output.contains("all 2 ranks loaded the 300 examples rank 0 downloaded once"), output);
        assertTrue(Files.exists(dir.resolve("cache").resolve("blobs.csv")));
    }

    @Test
    void shouldSaveOnlyAfterEveryoneFinished() throws Exception
    {
        final String output = launch("BarrierBeforeSave");
        assertTrue(output.contains("saved merged.txt with the parts of all 2 ranks"), output);
        assertEquals("result of rank 0\nresult of rank 1\n", Files.readString(dir.resolve("merged.txt")));
    }

    @Test
    void shouldStopEveryRankInTheSameIteration() throws Exception
    {
        final String output = launch("EarlyStoppingByTrigger");
        assertTrue(output.contains("all 2 ranks stopped together at step 50"), output);
    }

    @Test
    void shouldTrainSaveOnRankZeroAndLoadMainFirst() throws Exception
    {
        final String output = launch("TrainTogether");
        assertTrue(output.contains("RESULT: 2 processes stopped together"), output);
        // The trainer's progress bar: on the main process only, ending each epoch with its global loss.
        assertTrue(output.lines().anyMatch(l -> l.matches("\\[rank 0] epoch 1/\\d+ +100% .* global loss \\d+\\.\\d{4}")),
            output);
        assertTrue(output.lines().noneMatch(l -> l.matches("\\[rank 1] epoch \\d+/.*")), output);
        assertTrue(output.contains("identical on every rank"), output);
        assertTrue(output.contains("merged evaluation over all ranks: accuracy"), output);
        assertTrue(Files.exists(dir.resolve("model.zip")));
        try (Stream<Path> files = Files.list(dir))
        {
            assertEquals(List.of(), files.filter(p -> p.toString().endsWith(".tmp")).toList(), "half-written files left");
        }
    }

    @Test
    void shouldNormaliseWithStatisticsFittedOnceOnTheMainProcess() throws Exception
    {
        final String output = launch("NormalizeOnce");
        assertTrue(output.contains("[rank 0] rank 0 fitted the normalizer and cached it"), output);
        assertTrue(output.contains("all 2 ranks normalised with the statistics rank 0 fitted once"), output);
    }

    @Test
    void shouldMakeAPlainFitDataParallelWithTheListener() throws Exception
    {
        final String output = launch("ListenerOnPlainFit");
        assertTrue(output.contains("all 2 ranks hold identical parameters after 120 data-parallel steps"), output);
    }

    private String launch(final String sample) throws IOException, InterruptedException
    {
        final File log = dir.resolve("launcher.log").toFile();
        final ProcessBuilder builder = new ProcessBuilder(
            ROOT.resolve("bin/accelerate").toString(), "launch", "--nproc-per-node", "2", "--master-port", "0", "--",
            ROOT.resolve("bin/sample").toString(), sample, dir.toString())
            .redirectErrorStream(true)
            .redirectOutput(log)
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        builder.environment().keySet().removeIf(name -> name.equals("RANK") || name.equals("WORLD_SIZE") ||
            name.startsWith("ACCELERATE_"));
        final Process launcher = builder.start();
        final boolean finished = launcher.waitFor(200, TimeUnit.SECONDS);
        if (!finished)
        {
            launcher.descendants().forEach(ProcessHandle::destroyForcibly);
            launcher.destroyForcibly();
            launcher.waitFor(10, TimeUnit.SECONDS);
        }
        final String output = Files.readString(log.toPath(), StandardCharsets.UTF_8);
        assertTrue(finished, "the job did not finish in time:\n" + output);
        assertEquals(0, launcher.exitValue(), output);
        assertEquals(List.of(), leftoverDriverDirectories(launcher.pid()), "media driver files left behind");
        return output;
    }

    private static List<Path> leftoverDriverDirectories(final long pid) throws IOException
    {
        try (Stream<Path> entries = Files.list(Path.of("/dev/shm")))
        {
            return entries.filter(p -> p.getFileName().toString().startsWith("dl4j-accelerate-launcher-" + pid + "-"))
                .toList();
        }
    }
}
