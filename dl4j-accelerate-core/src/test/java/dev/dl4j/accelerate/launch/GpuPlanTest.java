package dev.dl4j.accelerate.launch;

import java.util.ArrayList;
import java.util.List;

import dev.dl4j.accelerate.InvalidConfigurationException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import static dev.dl4j.accelerate.launch.FakeGpuSupport.uuid;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GpuPlanTest
{
    private static final GpuSupport.Inventory NO_DRIVER =
        new GpuSupport.Inventory(List.of(), "", "no NVIDIA driver (libnvidia-ml.so.1 not found)", "");

    @Test
    void shouldGiveEachLocalRankItsOwnGpuByUuidAndDefaultToOneRankPerGpu()
    {
        final GpuPlan plan = GpuPlan.assign(null, null, null, false, null, gpus(4));
        assertEquals(4, plan.nprocPerNode());
        assertEquals(List.of(uuid(0), uuid(1), uuid(2), uuid(3)), plan.devices());
        assertEquals("local rank 1: CUDA_VISIBLE_DEVICES=" + uuid(1) + " (GPU 1, NVIDIA A100)", plan.report().get(1));
        assertEquals(4, plan.gpus().size());
    }

    @Test
    void shouldUseTheFirstGpusForFewerRanks()
    {
        final GpuPlan plan = GpuPlan.assign(2, null, null, false, null, gpus(4));
        assertEquals(List.of(uuid(0), uuid(1)), plan.devices());
    }

    @Test
    void shouldRefuseMoreRanksThanGpusUnlessOversubscribed()
    {
        assertMessage("--nproc-per-node 3 asks for more ranks than there are GPUs: 2 from this host (found by fake NVML)" +
            "; one rank per GPU is the model: give --oversubscribe-gpus", () -> GpuPlan.assign(3, null, null, false, null, gpus(2)));
        final GpuPlan shared = GpuPlan.assign(3, null, null, true, null, gpus(2));
        assertEquals(List.of(uuid(0), uuid(1), uuid(0)), shared.devices());
        assertEquals(2, shared.gpus().size());
    }

    @Test
    void shouldTakeGpusByIndexOrUuidFromGpuIds()
    {
        assertEquals(List.of(uuid(2), uuid(0)), GpuPlan.assign(null, null, "2, 0", false, null, gpus(3)).devices());
        assertEquals(List.of(uuid(1)),
            GpuPlan.assign(1, null, uuid(1), false, null, gpus(3)).devices());
        assertEquals(List.of("MIG-4f3e"), GpuPlan.assign(null, null, "MIG-4f3e", false, null, gpus(1)).devices());
    }

    @Test
    void shouldRefuseMistypedFlagsBeforeAnyGpuIsLookedFor()
    {
        // No inventory at all: these must not need discovery, which may wait on nvidia-smi.
        assertMessage("--nproc-per-node 0 must be at least 1", () -> GpuPlan.checkFlags(0, null, null, false));
        assertMessage("--gpus 2 and --gpu-ids 0 both choose GPUs", () -> GpuPlan.checkFlags(null, "2", "0", false));
        assertMessage("--gpus two must be a number of GPUs", () -> GpuPlan.checkFlags(null, "two", null, false));
        assertMessage("--gpu-ids 0,,1: entry 2 is empty", () -> GpuPlan.checkFlags(null, null, "0,,1", false));
        assertMessage("--gpu-ids 1,1: lists '1' twice", () -> GpuPlan.checkFlags(null, null, "1,1", false));
        GpuPlan.checkFlags(2, null, "1,1", true);
        GpuPlan.checkFlags(null, "all", null, false);
    }

    @Test
    void shouldRejectGpuIdsTheHostDoesNotHave()
    {
        final String message = assertThrows(InvalidConfigurationException.class,
            () -> GpuPlan.assign(null, null, "7", false, null, gpus(2))).getMessage();
        assertTrue(message.startsWith("--gpu-ids 7: no GPU '7' on this host; fake NVML found 2:"), message);
        assertTrue(message.contains("1: NVIDIA A100, 40960 MiB, " + uuid(1)), message);
        assertMessage("--gpu-ids GPU-nope: no GPU 'GPU-nope' on this host",
            () -> GpuPlan.assign(null, null, "GPU-nope", false, null, gpus(2)));
    }

    @Test
    void shouldRejectMalformedGpuIds()
    {
        assertMessage("--gpu-ids 0,,1: entry 2 is empty", () -> GpuPlan.assign(null, null, "0,,1", false, null, gpus(2)));
        assertMessage("--gpu-ids 0,x: 'x' is neither a GPU index nor a GPU-/MIG- UUID",
            () -> GpuPlan.assign(null, null, "0,x", false, null, gpus(2)));
        assertMessage("--gpu-ids 1,1: lists '1' twice; one rank per GPU, unless --oversubscribe-gpus is given",
            () -> GpuPlan.assign(null, null, "1,1", false, null, gpus(2)));
        assertEquals(List.of(uuid(1), uuid(1)), GpuPlan.assign(null, null, "1,1", true, null, gpus(2)).devices());
        assertMessage("--gpu-ids 0,1: no GPU '1' on this host", () -> GpuPlan.assign(null, null, "0,1", false, null, gpus(1)));
    }

    @Test
    void shouldRejectGpuCountsTheHostCannotMeet()
    {
        assertMessage("--gpus 3 asks for more GPUs than the 2 of this host (found by fake NVML)",
            () -> GpuPlan.assign(null, "3", null, false, null, gpus(2)));
        assertMessage("--gpus two must be a number of GPUs (0 for none) or 'all'",
            () -> GpuPlan.assign(null, "two", null, false, null, gpus(2)));
        assertMessage("--gpus -1 must be a number", () -> GpuPlan.assign(null, "-1", null, false, null, gpus(2)));
        assertMessage("--nproc-per-node 1 is fewer ranks than the 2 GPUs from --gpus all of this host",
            () -> GpuPlan.assign(1, "all", null, false, null, gpus(2)));
        assertMessage("--nproc-per-node 1 is fewer ranks than the 2 GPUs from --gpu-ids 0,1",
            () -> GpuPlan.assign(1, null, "0,1", false, null, gpus(2)));
        assertMessage("--gpus 1 and --gpu-ids 0 both choose GPUs; give one of them",
            () -> GpuPlan.assign(null, "1", "0", false, null, gpus(2)));
        assertEquals(List.of(uuid(0)), GpuPlan.assign(null, "1", null, false, null, gpus(2)).devices());
    }

    @Test
    void shouldHandEachRankItsEntryOfTheSchedulersList()
    {
        final GpuPlan plan = GpuPlan.assign(null, null, null, false, "2,3", gpus(4));
        assertEquals(2, plan.nprocPerNode());
        assertEquals(List.of("2", "3"), plan.devices());
        assertEquals("local rank 0: CUDA_VISIBLE_DEVICES=2", plan.report().get(0));
        assertEquals(List.of(uuid(3)), GpuPlan.assign(null, null, null, false, uuid(3), gpus(4)).devices());
        assertEquals(List.of("2"), GpuPlan.assign(1, null, null, false, "2,3", gpus(4)).devices());
    }

    @Test
    void shouldRefuseFewerSchedulerEntriesThanRanks()
    {
        assertMessage("--nproc-per-node 3 asks for more ranks than there are GPUs: 2 from CUDA_VISIBLE_DEVICES=2,3 " +
            "(from the environment)", () -> GpuPlan.assign(3, null, null, false, "2,3", gpus(4)));
        assertMessage("--gpu-ids 0 and CUDA_VISIBLE_DEVICES=2,3 (from the environment, e.g. the scheduler) both choose GPUs",
            () -> GpuPlan.assign(null, null, "0", false, "2,3", gpus(4)));
        assertMessage("CUDA_VISIBLE_DEVICES=2,,3 (from the environment): entry 2 is empty",
            () -> GpuPlan.assign(null, null, null, false, "2,,3", gpus(4)));
        assertMessage("CUDA_VISIBLE_DEVICES=0,gpu1 (from the environment): 'gpu1' is neither a GPU index nor a GPU-/MIG- UUID",
            () -> GpuPlan.assign(null, null, null, false, "0,gpu1", gpus(4)));
    }

    @Test
    void shouldLeaveAnEnvironmentThatHidesEveryGpuAsItIs()
    {
        for (final String hidden : List.of("", "-1", "NoDevFiles"))
        {
            final GpuPlan plan = GpuPlan.assign(2, null, null, false, hidden, gpus(2));
            assertEquals(List.of(), plan.devices(), hidden);
        }
        assertMessage("--gpus 1 asks for GPUs, but CUDA_VISIBLE_DEVICES='-1' in the environment hides every GPU",
            () -> GpuPlan.assign(1, "1", null, false, "-1", gpus(2)));
    }

    @Test
    void shouldLeaveCpuHostsUntouchedButNeedARankCount()
    {
        final GpuPlan plan = GpuPlan.assign(2, null, null, false, null, NO_DRIVER);
        assertEquals(2, plan.nprocPerNode());
        assertEquals(List.of(), plan.devices());
        assertEquals(List.of(), plan.report());
        assertMessage("--nproc-per-node is needed: no GPU was found (no NVIDIA driver (libnvidia-ml.so.1 not found))",
            () -> GpuPlan.assign(null, null, null, false, null, NO_DRIVER));
        assertMessage("--gpus 2 asks for GPUs, but no GPU was found",
            () -> GpuPlan.assign(2, "2", null, false, null, NO_DRIVER));
        assertMessage("--gpu-ids 0 asks for GPUs, but no GPU was found",
            () -> GpuPlan.assign(1, null, "0", false, null, NO_DRIVER));
    }

    @Test
    void shouldLookForNoGpuWithoutTheCudaModule()
    {
        assertEquals(List.of(), GpuPlan.assign(2, null, null, false, "0,1", null).devices());
        assertMessage("--gpus 1 asks for GPUs, but GPUs were not looked for: dl4j-accelerate-cuda is not on the " +
            "launcher's class path", () -> GpuPlan.assign(1, "1", null, false, null, null));
        assertMessage("--nproc-per-node is needed: GPUs were not looked for",
            () -> GpuPlan.assign(null, null, null, false, null, null));
    }

    @Test
    void shouldHideEveryGpuForGpusZero()
    {
        final GpuPlan plan = GpuPlan.assign(2, "0", null, false, null, null);
        assertEquals(List.of("", ""), plan.devices());
        assertMessage("--nproc-per-node is needed: --gpus 0 starts CPU workers",
            () -> GpuPlan.assign(null, "0", null, false, null, gpus(2)));
    }

    @Test
    void shouldRefuseToGuessWhenDiscoveryFailed()
    {
        final GpuSupport.Inventory failed = new GpuSupport.Inventory(List.of(), "", "NVML", "nvmlDeviceGetUUID(0) failed");
        assertMessage("GPU discovery failed: nvmlDeviceGetUUID(0) failed; give --gpus 0 to start CPU workers with the " +
            "GPUs hidden", () -> GpuPlan.assign(2, null, null, false, null, failed));
        assertEquals(List.of("", ""), GpuPlan.assign(2, "0", null, false, null, failed).devices());
    }

    @Test
    void shouldRejectZeroRanks()
    {
        assertMessage("--nproc-per-node 0 must be at least 1", () -> GpuPlan.assign(0, null, null, false, null, gpus(2)));
    }

    private static GpuSupport.Inventory gpus(final int count)
    {
        final List<GpuSupport.Gpu> gpus = new ArrayList<>();
        for (int i = 0; i < count; i++)
        {
            gpus.add(new GpuSupport.Gpu(i, uuid(i), "NVIDIA A100", 40960, "", "8.0"));
        }
        return new GpuSupport.Inventory(gpus, "550.54.15", "fake NVML", "");
    }

    private static void assertMessage(final String start, final Executable executable)
    {
        final String message = assertThrows(InvalidConfigurationException.class, executable).getMessage();
        assertTrue(message.startsWith(start), message);
    }
}
