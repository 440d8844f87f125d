package dev.dl4j.accelerate.cuda;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A worker given a GPU refuses to start on ND4J's CPU backend, through the real path: ServiceLoader finds this
 * module from {@code Accelerator.create()}, which asks ND4J which backend it loaded.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class WorkerStartupTest
{
    @Test
    void shouldRefuseToTrainOnTheCpuWhenTheLauncherGaveAGpu(final TestInfo test) throws Exception
    {
        Skip.unless(!CudaGpuSupport.onClassPath(Nd4jCuda.CUDA_BACKEND), test,
            "ND4J's CUDA backend is on the class path (-Pgpu): this test needs ND4J to load its CPU backend");
        final Map<String, String> env = new HashMap<>();
        env.put("ACCELERATE_GPU", "GPU-11111111-2222-3333-4444-555555555555");
        env.put("CUDA_VISIBLE_DEVICES", "GPU-11111111-2222-3333-4444-555555555555");
        try (Jvm worker = Jvm.start(env, StartupProbe.class))
        {
            final int code = worker.waitFor(100);
            final String output = worker.output();
            assertNotEquals(0, code, output);
            assertTrue(output.contains("the launcher gave this worker GPU GPU-11111111-2222-3333-4444-555555555555 " +
                "(ACCELERATE_GPU), but ND4J loaded nd4j-native, the CPU backend"), output);
            assertFalse(output.contains("STARTED"), output);
        }
    }
}
