package dev.dl4j.accelerate.cuda;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import dev.dl4j.accelerate.launch.AccelerateCli;
import dev.dl4j.accelerate.launch.GpuSupport;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * On a real GPU host: the launcher starts one child JVM per GPU, and nvidia-smi shows each on its own GPU only.
 * The children create their CUDA context through the driver API, not ND4J, so this runs on any GPU (Hopper too).
 * Skipped, with the reason printed, where there is no GPU. Run alone with {@code -Dgroups=gpu}.
 */
@Tag("gpu")
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class OneGpuPerRankTest
{
    private static final long READY_SECONDS = 120;

    @TempDir
    Path dir;

    @Test
    void shouldRunEachRankOnItsOwnGpuOnly(final TestInfo test) throws Exception
    {
        final GpuSupport.Inventory inventory = new CudaGpuSupport().discover(System.getenv());
        Skip.unless(!inventory.gpus().isEmpty(), test, "no NVIDIA GPU on this host: " + inventory.source() +
            (inventory.problem().isEmpty() ? "" : "; " + inventory.problem()));
        Skip.unless(GpuDiscovery.findOnPath("nvidia-smi", System.getenv("PATH")) != null, test,
            "nvidia-smi is not on PATH");
        System.out.println("GPUs found by " + inventory.source() + ", driver " + inventory.driverVersion() + ":");
        inventory.gpus().forEach(gpu -> System.out.println("  " + gpu.describe()));
        final int ranks = inventory.gpus().size();
        final Map<String, Integer> before = appsPerGpu(computeApps());

        final List<String> launch = new ArrayList<>(List.of("launch", "--master-port", "0", "--"));
        launch.addAll(Jvm.command(CudaContextProbe.class));
        launch.add(dir.toString());
        final Map<String, String> env = new HashMap<>();
        env.put("CUDA_VISIBLE_DEVICES", null);
        try (Jvm launcher = Jvm.start(env, AccelerateCli.class, launch.toArray(String[]::new)))
        {
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(READY_SECONDS);
            while (countReady() < ranks)
            {
                if (!launcher.process.isAlive() || System.nanoTime() > deadline)
                {
                    fail("the ranks did not all create a context in time; launcher output:\n" + launcher.output());
                }
                Thread.sleep(100);
            }
            final List<String[]> apps = computeApps();
            System.out.println("nvidia-smi --query-compute-apps=pid,gpu_uuid while every rank holds a context:");
            apps.forEach(app -> System.out.println("  " + String.join(", ", app)));

            final Set<Long> listedPids = new HashSet<>();
            apps.forEach(app -> listedPids.add(Long.parseLong(app[0])));
            boolean anyListed = false;
            for (int rank = 0; rank < ranks; rank++)
            {
                final String[] seen = Files.readString(dir.resolve("rank" + rank), StandardCharsets.UTF_8).split(" ");
                final long pid = Long.parseLong(seen[0]);
                final String expected = inventory.gpus().get(rank).uuid();
                System.out.println("rank " + rank + ": pid " + pid + " sees " + seen[1] + " device(s), device 0 is " +
                    seen[2] + ", CUDA_VISIBLE_DEVICES=" + seen[3]);
                assertEquals(expected, seen[3], "rank " + rank + "'s CUDA_VISIBLE_DEVICES");
                assertEquals("1", seen[1], "devices rank " + rank + " sees");
                assertEquals(expected, seen[2], "the GPU rank " + rank + " is on");
                if (listedPids.contains(pid))
                {
                    anyListed = true;
                    final Set<String> gpus = new HashSet<>();
                    apps.stream().filter(app -> Long.parseLong(app[0]) == pid).forEach(app -> gpus.add(app[1]));
                    assertEquals(Set.of(expected), gpus, "GPUs nvidia-smi shows rank " + rank + " (pid " + pid + ") on");
                }
            }
            if (!anyListed)
            {
                // In a container with its own PID namespace nvidia-smi shows the host's pids: count per GPU instead.
                System.out.println("no rank's pid is listed (PID namespace?): comparing processes per GPU instead");
                final Map<String, Integer> after = appsPerGpu(apps);
                for (final GpuSupport.Gpu gpu : inventory.gpus())
                {
                    assertEquals(before.getOrDefault(gpu.uuid(), 0) + 1, after.getOrDefault(gpu.uuid(), 0),
                        "processes nvidia-smi lists on " + gpu.uuid() + " before and while the ranks hold their " +
                        "contexts (none at all: this container's processes are hidden from it; run on the host)");
                }
            }
            Files.createFile(dir.resolve("release"));
            final int code = launcher.waitFor(60);
            assertEquals(0, code, launcher.output());
            assertTrue(launcher.output().contains("accelerate: local rank 0: CUDA_VISIBLE_DEVICES=" +
                inventory.gpus().get(0).uuid()), launcher.output());
        }
    }

    private int countReady() throws IOException
    {
        try (var files = Files.list(dir))
        {
            return (int)files.filter(f -> f.getFileName().toString().matches("rank\\d+")).count();
        }
    }

    /**
     * @return {@code [pid, gpu_uuid]} per process with a context, as nvidia-smi lists them.
     */
    private static List<String[]> computeApps() throws IOException, InterruptedException
    {
        // Into a file, not a pipe: a hung nvidia-smi must not block the read past the bounded wait.
        final Path output = Files.createTempFile("nvidia-smi", ".csv");
        final String text;
        try
        {
            final Process smi = new ProcessBuilder("nvidia-smi", "--query-compute-apps=pid,gpu_uuid",
                "--format=csv,noheader").redirectErrorStream(true).redirectOutput(output.toFile()).start();
            final boolean ended = smi.waitFor(30, TimeUnit.SECONDS);
            if (!ended)
            {
                smi.destroyForcibly();
            }
            text = Files.readString(output, StandardCharsets.UTF_8);
            assertTrue(ended && smi.exitValue() == 0, "nvidia-smi failed or took over 30 s: " + text);
        }
        finally
        {
            Files.deleteIfExists(output);
        }
        final List<String[]> apps = new ArrayList<>();
        for (final String line : text.split("\\R"))
        {
            final String[] fields = line.split(",");
            if (fields.length == 2 && fields[0].trim().matches("\\d+"))
            {
                apps.add(new String[] { fields[0].trim(), fields[1].trim() });
            }
        }
        return apps;
    }

    private static Map<String, Integer> appsPerGpu(final List<String[]> apps)
    {
        final Map<String, Integer> count = new HashMap<>();
        apps.forEach(app -> count.merge(app[1], 1, Integer::sum));
        return count;
    }
}
