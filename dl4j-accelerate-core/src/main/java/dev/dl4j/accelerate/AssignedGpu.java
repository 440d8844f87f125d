package dev.dl4j.accelerate;

import java.util.Map;
import java.util.Optional;

import dev.dl4j.accelerate.launch.GpuSupport;

/**
 * The worker's half of one-GPU-per-process: when the launcher gave this worker a GPU, nothing may train until
 * the ND4J backend is known to be on exactly that GPU, because ND4J's own fallback is silent (the CPU).
 */
final class AssignedGpu
{
    private AssignedGpu()
    {
    }

    /**
     * @param env     the worker's environment.
     * @param support the GPU support on the class path, if any.
     * @throws InvalidConfigurationException when a GPU was assigned and the worker cannot be shown to use it alone.
     */
    static void check(final Map<String, String> env, final Optional<GpuSupport> support)
    {
        final String gpu = env.get(GpuSupport.ASSIGNED_GPU);
        if (gpu == null || gpu.isEmpty())
        {
            return;
        }
        support.orElseThrow(() -> new InvalidConfigurationException("the launcher gave this worker GPU " + gpu +
            " (" + GpuSupport.ASSIGNED_GPU + "), but dl4j-accelerate-cuda is not on its class path to check that " +
            "ND4J uses it: add dl4j-accelerate-cuda and ND4J's CUDA backend, or launch with --gpus 0 for CPU workers"))
            .checkWorker(gpu, env);
    }
}
