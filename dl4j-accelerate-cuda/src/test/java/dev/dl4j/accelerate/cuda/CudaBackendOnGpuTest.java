package dev.dl4j.accelerate.cuda;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import dev.dl4j.accelerate.launch.AccelerateCli;
import dev.dl4j.accelerate.launch.GpuSupport;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * On a GPU ND4J 1.0.0-M2.1 supports, with its CUDA backend ({@code -Pgpu}): every rank the launcher starts passes
 * the start-up check, on the CUDA backend with one device. Skipped, with the reason printed, elsewhere.
 */
@Tag("gpu")
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class CudaBackendOnGpuTest
{
    @Test
    void shouldStartEveryRankOnTheCudaBackendWithOneDevice(final TestInfo test) throws Exception
    {
        final CudaGpuSupport support = new CudaGpuSupport();
        final GpuSupport.Inventory inventory = support.discover(System.getenv());
        Skip.unless(!inventory.gpus().isEmpty(), test, "no NVIDIA GPU on this host: " + inventory.source() +
            (inventory.problem().isEmpty() ? "" : "; " + inventory.problem()));
        Skip.unless(CudaGpuSupport.onClassPath(Nd4jCuda.CUDA_BACKEND), test,
            "ND4J's CUDA backend is not on the class path: run with -Pgpu");
        final Optional<String> unsupported = inventory.gpus().stream()
            .map(support::incompatibility).flatMap(Optional::stream).findFirst();
        Skip.unless(unsupported.isEmpty(), test, unsupported.orElse(""));

        final List<String> launch = new java.util.ArrayList<>(List.of("launch", "--master-port", "0", "--"));
        launch.addAll(Jvm.command(StartupProbe.class));
        final Map<String, String> env = new HashMap<>();
        env.put("CUDA_VISIBLE_DEVICES", null);
        try (Jvm launcher = Jvm.start(env, AccelerateCli.class, launch.toArray(String[]::new)))
        {
            final int code = launcher.waitFor(240);
            final String output = launcher.output();
            System.out.println(output);
            assertEquals(0, code, output);
            for (int rank = 0; rank < inventory.gpus().size(); rank++)
            {
                assertTrue(output.contains("STARTED rank " + rank + " backend=JCublasBackend devices=1 gpu=" +
                    inventory.gpus().get(rank).uuid()), output);
            }
        }
    }
}
