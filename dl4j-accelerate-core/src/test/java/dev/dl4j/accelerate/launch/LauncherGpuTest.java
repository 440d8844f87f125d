package dev.dl4j.accelerate.launch;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import static dev.dl4j.accelerate.launch.FakeGpuSupport.uuid;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The launcher on a (fake) GPU host: one worker per GPU by default, each seeing only its own, and bad GPU input
 * refused before anything starts.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LauncherGpuTest
{
    @TempDir
    Path dir;

    @Test
    void shouldStartOneWorkerPerGpuEachSeeingOnlyItsOwn() throws IOException
    {
        final CliResult result = launch(Map.of(FakeGpuSupport.VARIABLE, "2"));
        assertEquals(0, result.code, result.err);
        assertEquals(uuid(0) + " " + uuid(0) + " PCI_BUS_ID", seenBy(0));
        assertEquals(uuid(1) + " " + uuid(1) + " PCI_BUS_ID", seenBy(1));
        assertTrue(result.err.contains("accelerate: local rank 1: CUDA_VISIBLE_DEVICES=" + uuid(1) +
            " (GPU 1, NVIDIA A100-SXM4-40GB)"), result.err);
        assertTrue(result.err.contains("accelerate: warning: GPU 0 (NVIDIA H200): fake: too new"), result.err);
    }

    @Test
    void shouldHandEachRankItsEntryOfTheSchedulersList() throws IOException
    {
        final CliResult result = launch(Map.of(FakeGpuSupport.VARIABLE, "8", "CUDA_VISIBLE_DEVICES", "5,6"));
        assertEquals(0, result.code, result.err);
        assertEquals("5 5 PCI_BUS_ID", seenBy(0));
        assertEquals("6 6 PCI_BUS_ID", seenBy(1));
    }

    @Test
    void shouldStartNothingWhenTheSchedulerListsFewerGpusThanRanks()
    {
        final CliResult result = launch(Map.of(FakeGpuSupport.VARIABLE, "8", "CUDA_VISIBLE_DEVICES", "5"), "-n", "2");
        assertEquals(2, result.code);
        assertTrue(result.err.contains("--nproc-per-node 2 asks for more ranks than there are GPUs: 1 from " +
            "CUDA_VISIBLE_DEVICES=5 (from the environment)"), result.err);
        assertNothingStarted();
    }

    @Test
    void shouldStartNothingForMoreRanksThanGpus()
    {
        final CliResult result = launch(Map.of(FakeGpuSupport.VARIABLE, "2"), "-n", "3");
        assertEquals(2, result.code);
        assertTrue(result.err.contains("give --oversubscribe-gpus to let ranks share GPUs"), result.err);
        assertNothingStarted();
    }

    @Test
    void shouldShareGpusWhenOversubscriptionIsAskedFor() throws IOException
    {
        final CliResult result = launch(Map.of(FakeGpuSupport.VARIABLE, "2"), "-n", "3", "--oversubscribe-gpus");
        assertEquals(0, result.code, result.err);
        assertEquals(uuid(0) + " " + uuid(0) + " PCI_BUS_ID", seenBy(2));
    }

    @Test
    void shouldStartNothingForAGpuTheHostDoesNotHave()
    {
        final CliResult result = launch(Map.of(FakeGpuSupport.VARIABLE, "2"), "--gpu-ids", "7");
        assertEquals(2, result.code);
        assertTrue(result.err.contains("accelerate: --gpu-ids 7: no GPU '7' on this host; fake NVML found 2:"), result.err);
        assertNothingStarted();
    }

    @Test
    void shouldStartNothingWhenDiscoveryFailed()
    {
        final CliResult result = launch(Map.of(FakeGpuSupport.VARIABLE, "fail"), "-n", "1");
        assertEquals(2, result.code);
        assertTrue(result.err.contains("GPU discovery failed: fake NVML: GPU is lost (15); give --gpus 0"), result.err);
        assertNothingStarted();
    }

    @Test
    void shouldStartCpuWorkersAsBeforeOnAHostWithoutGpus() throws IOException
    {
        final CliResult result = launch(Map.of(), "-n", "1");
        assertEquals(0, result.code, result.err);
        assertEquals("unset unset unset", seenBy(0));
        assertFalse(result.err.contains("CUDA_VISIBLE_DEVICES"), result.err);

        final CliResult noCount = launch(Map.of());
        assertEquals(2, noCount.code);
        assertTrue(noCount.err.contains("--nproc-per-node is needed: no GPU was found (no NVIDIA driver (fake))"),
            noCount.err);
    }

    @Test
    void shouldHideEveryGpuFromCpuWorkers() throws IOException
    {
        final CliResult result = launch(Map.of(FakeGpuSupport.VARIABLE, "2"), "-n", "1", "--gpus", "0");
        assertEquals(0, result.code, result.err);
        assertEquals(" unset unset", seenBy(0));
    }

    @Test
    void shouldListTheGpusTheDriverAndTheBackendAWorkerWouldLoad()
    {
        final CliResult result = CliResult.run(Map.of(FakeGpuSupport.VARIABLE, "2"), "env");
        assertEquals(0, result.code, result.err);
        assertTrue(result.out.contains("GPUs:      2, found by fake NVML\nDriver:    NVIDIA 550.54.15\n" +
            "  0: NVIDIA H200, 40960 MiB, " + uuid(0) + ", compute capability 9.0\n     fake: too new\n" +
            "  1: NVIDIA A100-SXM4-40GB"), result.out);
        assertTrue(result.out.contains("Backend:   nd4j-native (CPU); nd4j-cuda is not on the class path, so a worker " +
            "given a GPU refuses to start"), result.out);

        final CliResult none = CliResult.run(Map.of(), "env");
        assertTrue(none.out.contains("GPUs:      none: no NVIDIA driver (fake)\nBackend:   nd4j-native (CPU)\n"), none.out);
    }

    private CliResult launch(final Map<String, String> env, final String... flags)
    {
        final List<String> args = new ArrayList<>(List.of("launch", "--master-port", "0"));
        args.addAll(List.of(flags));
        args.addAll(List.of("--", "sh", "-c", "echo \"${CUDA_VISIBLE_DEVICES-unset} ${ACCELERATE_GPU-unset} " +
            "${CUDA_DEVICE_ORDER-unset}\" > " + dir + "/rank$LOCAL_RANK"));
        return CliResult.run(env, args.toArray(String[]::new));
    }

    private String seenBy(final int localRank) throws IOException
    {
        return Files.readString(dir.resolve("rank" + localRank)).stripTrailing();
    }

    private void assertNothingStarted()
    {
        assertFalse(Files.exists(dir.resolve("rank0")), "a worker was started");
    }
}
