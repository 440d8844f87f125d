package dev.dl4j.accelerate.cuda;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;

import dev.dl4j.accelerate.launch.GpuSupport.Gpu;
import dev.dl4j.accelerate.launch.GpuSupport.Inventory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Discovery without a GPU: NVML played by {@link FakeNvml}, nvidia-smi by a script on PATH, and no driver at all.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class GpuDiscoveryTest
{
    /** What nvidia-smi 550 printed for NVIDIA_SMI_QUERY on a 2-GPU host (the UUIDs shortened to stay recognisable). */
    private static final String TWO_H200 =
        "0, GPU-4b0c5e7c-8f3a-d1e2-0b6f-7a9e8c2d1f00, NVIDIA H200, 143771, 00000000:19:00.0, 550.54.15\n" +
        "1, GPU-9d2f1a3b-6c4e-5f70-8a1b-2c3d4e5f6a7b, NVIDIA H200, 143771, 00000000:3B:00.0, 550.54.15\n";
    private static final String ABSENT_NVML = "libnvidia-ml-absent.so.1";

    @TempDir
    Path dir;

    @Test
    void shouldParseRecordedNvidiaSmiOutput()
    {
        final List<Gpu> gpus = GpuDiscovery.parseNvidiaSmi(TWO_H200);
        assertEquals(List.of(
            new Gpu(0, "GPU-4b0c5e7c-8f3a-d1e2-0b6f-7a9e8c2d1f00", "NVIDIA H200", 143771, "00000000:19:00.0", ""),
            new Gpu(1, "GPU-9d2f1a3b-6c4e-5f70-8a1b-2c3d4e5f6a7b", "NVIDIA H200", 143771, "00000000:3B:00.0", "")), gpus);
    }

    @Test
    void shouldReadNamesWithCommasAndMemoryItCannotKnow()
    {
        final List<Gpu> gpus = GpuDiscovery.parseNvidiaSmi(
            "\n0, GPU-a, Tesla K80, rev. B, [N/A], 00000000:04:00.0, 470.223.02\r\n\n");
        assertEquals(List.of(new Gpu(0, "GPU-a", "Tesla K80, rev. B", -1, "00000000:04:00.0", "")), gpus);
    }

    @Test
    void shouldRejectOutputItCannotRead()
    {
        final String message = assertThrows(IllegalArgumentException.class,
            () -> GpuDiscovery.parseNvidiaSmi("Field \"driver_version\" is not a valid field to query.")).getMessage();
        assertTrue(message.startsWith("cannot read the line 'Field \"driver_version\" is not a valid field to query.' " +
            "as index,uuid,name,memory.total,pci.bus_id,driver_version"), message);
    }

    @Test
    void shouldFindGpusWithNvidiaSmiWhenNvmlIsMissing() throws IOException
    {
        nvidiaSmi("cat <<'EOF'\n" + TWO_H200 + "EOF");
        final Inventory inventory = new GpuDiscovery(ABSENT_NVML, dir.toString()).discover();
        assertEquals(2, inventory.gpus().size());
        assertEquals("550.54.15", inventory.driverVersion());
        assertEquals("nvidia-smi (" + ABSENT_NVML + " not found)", inventory.source());
        assertEquals("", inventory.problem());
    }

    @Test
    void shouldFindNoGpuWithoutADriver()
    {
        final Inventory inventory = new GpuDiscovery(ABSENT_NVML, dir.toString()).discover();
        assertEquals(new Inventory(List.of(), "", "no NVIDIA driver (" + ABSENT_NVML +
            " not found; nvidia-smi is not on PATH)", ""), inventory);
    }

    @Test
    void shouldFindNoGpuWhereNvidiaSmiCannotReachADriver() throws IOException
    {
        nvidiaSmi("echo \"NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure " +
            "that the latest NVIDIA driver is installed and running.\"; exit 9");
        final Inventory inventory = new GpuDiscovery(ABSENT_NVML, dir.toString()).discover();
        assertEquals(List.of(), inventory.gpus());
        assertEquals("", inventory.problem());
        assertTrue(inventory.source().startsWith("no usable NVIDIA driver"), inventory.source());
    }

    @Test
    void shouldReportANvidiaSmiThatFailsOnAGpuHost() throws IOException
    {
        nvidiaSmi("echo 'Unable to determine the device handle for GPU0000:19:00.0: Unknown Error' >&2; exit 15");
        final Inventory inventory = new GpuDiscovery(ABSENT_NVML, dir.toString()).discover();
        assertEquals(List.of(), inventory.gpus());
        assertTrue(inventory.problem().endsWith("exited with 15: Unable to determine the device handle for " +
            "GPU0000:19:00.0: Unknown Error"), inventory.problem());
    }

    @Test
    void shouldReadEveryGpuThroughNvml()
    {
        final FakeNvml nvml = twoGpus();
        final Inventory inventory = new GpuDiscovery("libfake.so.1", dir.toString()).discover(nvml);
        assertEquals(List.of(
            new Gpu(0, "GPU-aaaa", "NVIDIA A100-SXM4-40GB", 40960, "00000000:07:00.0", "8.0"),
            new Gpu(1, "GPU-bbbb", "NVIDIA H200", 143771, "00000000:0F:00.0", "9.0")), inventory.gpus());
        assertEquals(new Inventory(inventory.gpus(), "550.54.15", "NVML (libfake.so.1)", ""), inventory);
        assertTrue(nvml.shutDown);
    }

    @Test
    void shouldDoWithoutTheBusIdAndCapabilityOfAnOldDriver()
    {
        final FakeNvml nvml = twoGpus();
        nvml.oldDriver = true;
        final Gpu gpu = new GpuDiscovery("libfake.so.1", dir.toString()).discover(nvml).gpus().get(0);
        assertEquals(new Gpu(0, "GPU-aaaa", "NVIDIA A100-SXM4-40GB", 40960, "", ""), gpu);
    }

    @Test
    void shouldTreatAnNvmlWithoutADriverAsNoGpu()
    {
        final FakeNvml nvml = twoGpus();
        nvml.initResult = NvmlLibrary.ERROR_DRIVER_NOT_LOADED;
        final Inventory inventory = new GpuDiscovery("libfake.so.1", dir.toString()).discover(nvml);
        assertEquals(new Inventory(List.of(), "", "no NVIDIA driver (NVML: Driver Not Loaded (9); nvidia-smi is not " +
            "on PATH)", ""), inventory);
    }

    @Test
    void shouldAskNvidiaSmiWhenNvmlCannotReadAGpu() throws IOException
    {
        final FakeNvml nvml = twoGpus();
        nvml.failUuidOf = 1;
        final Inventory withoutSmi = new GpuDiscovery("libfake.so.1", dir.toString()).discover(nvml);
        assertEquals("NVML: nvmlDeviceGetUUID(1) failed: GPU is lost (15); nvidia-smi is not on PATH", withoutSmi.problem());
        assertTrue(nvml.shutDown);

        nvidiaSmi("cat <<'EOF'\n" + TWO_H200 + "EOF");
        final Inventory withSmi = new GpuDiscovery("libfake.so.1", dir.toString()).discover(nvml);
        assertEquals(2, withSmi.gpus().size());
        assertEquals("nvidia-smi (NVML: nvmlDeviceGetUUID(1) failed: GPU is lost (15))", withSmi.source());
    }

    @Test
    void shouldReportAnNvmlThatFailsToStart()
    {
        final FakeNvml nvml = twoGpus();
        nvml.initResult = 999;
        final Inventory inventory = new GpuDiscovery("libfake.so.1", dir.toString()).discover(nvml);
        assertEquals("NVML: Unknown Error (999); nvidia-smi is not on PATH", inventory.problem());
    }

    private static FakeNvml twoGpus()
    {
        final FakeNvml nvml = new FakeNvml();
        nvml.devices.add(new FakeNvml.Device("GPU-aaaa", "NVIDIA A100-SXM4-40GB", 40960L << 20, "00000000:07:00.0", 8, 0));
        nvml.devices.add(new FakeNvml.Device("GPU-bbbb", "NVIDIA H200", 143771L << 20, "00000000:0F:00.0", 9, 0));
        return nvml;
    }

    private void nvidiaSmi(final String body) throws IOException
    {
        final Path script = dir.resolve("nvidia-smi");
        Files.writeString(script, "#!/bin/sh\n" + body + "\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
}
