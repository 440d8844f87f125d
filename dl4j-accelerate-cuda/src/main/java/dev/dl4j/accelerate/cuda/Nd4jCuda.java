package dev.dl4j.accelerate.cuda;

import java.util.Optional;
import java.util.function.IntSupplier;
import java.util.function.Supplier;

import dev.dl4j.accelerate.InvalidConfigurationException;
import dev.dl4j.accelerate.launch.GpuSupport;

/**
 * What this module knows of ND4J 1.0.0-M2.1's CUDA backend ({@code nd4j-cuda-11.6}): which GPUs its kernels run
 * on, and how a worker proves it is on the one GPU its launcher gave it.
 */
final class Nd4jCuda
{
    static final String CUDA_BACKEND = "org.nd4j.linalg.jcublas.JCublasBackend";
    static final String CPU_BACKEND = "org.nd4j.linalg.cpu.nativecpu.CpuBackend";
    /** The oldest compute capability nd4j-cuda-11.6 1.0.0-M2.1 has kernels for, as major * 10 + minor. */
    static final int OLDEST_CAPABILITY = 37;
    /** The newest it has kernels for; with no PTX in the binary nothing newer can be compiled at load time. */
    static final int NEWEST_CAPABILITY = 86;

    private Nd4jCuda()
    {
    }

    /**
     * Kernels built for X.y run on X.z with z &ge; y and on no other major version (NVIDIA's binary compatibility),
     * and the binaries hold no PTX for the driver to compile: 9.0 (Hopper) cannot run them at all.
     *
     * @param computeCapability major.minor, or empty if unknown.
     * @return why nd4j-cuda-11.6 cannot (or may not) run there; empty when it can or when the capability is unknown.
     */
    static Optional<String> incompatibility(final String computeCapability)
    {
        final String[] parts = computeCapability.split("\\.");
        if (parts.length != 2 || !parts[0].matches("\\d{1,2}") || !parts[1].matches("\\d"))
        {
            return Optional.empty();
        }
        final int major = Integer.parseInt(parts[0]);
        final int capability = major * 10 + Integer.parseInt(parts[1]);
        final String limits = "ND4J 1.0.0-M2.1's CUDA backend (nd4j-cuda-11.6) has kernels for compute capability " +
            "3.7 to 8.6 only, and no PTX";
        if (capability < OLDEST_CAPABILITY || major > NEWEST_CAPABILITY / 10)
        {
            return Optional.of("compute capability " + computeCapability + ": " + limits + ", so it cannot run on this " +
                "GPU; CPU workers (--gpus 0) can");
        }
        if (capability > NEWEST_CAPABILITY)
        {
            return Optional.of("compute capability " + computeCapability + ": " + limits + "; its 8.6 kernels are " +
                "binary-compatible with " + computeCapability + " by NVIDIA's rules, but CUDA 11.6 predates this GPU " +
                "and it is untested");
        }
        return Optional.empty();
    }

    /**
     * @param assignedGpu   the launcher's {@value GpuSupport#ASSIGNED_GPU}.
     * @param visible       the worker's {@code CUDA_VISIBLE_DEVICES}, or null.
     * @param backend       the class name of the backend ND4J loaded; asked only once the variables are right, since
     *                      it initialises ND4J, which touches every visible GPU.
     * @param cudaAvailable whether ND4J's CUDA backend class is on the class path.
     * @param devices       how many devices the loaded backend sees; asked only of the CUDA backend.
     * @throws InvalidConfigurationException naming what was found when the worker is not on that GPU alone.
     */
    static void checkWorker(
        final String assignedGpu,
        final String visible,
        final Supplier<String> backend,
        final boolean cudaAvailable,
        final IntSupplier devices)
    {
        final String given = "the launcher gave this worker GPU " + assignedGpu + " (" + GpuSupport.ASSIGNED_GPU + ")";
        if (!assignedGpu.equals(visible))
        {
            throw new InvalidConfigurationException(given + ", but CUDA_VISIBLE_DEVICES=" + visible + ": something " +
                "between the launcher and this JVM changed it, so ND4J would not be on that GPU alone");
        }
        final String loaded = backend.get();
        if (!CUDA_BACKEND.equals(loaded))
        {
            throw new InvalidConfigurationException(given + ", but ND4J loaded " + describe(loaded) + ", not its CUDA " +
                "backend: " + (cudaAvailable ? "nd4j-cuda is on the class path, but ND4J skipped it as unavailable " +
                "(see its warning 'Skipped [JCublasBackend] backend (unavailable)': no NVIDIA driver, or no CUDA 11.6 " +
                "runtime libraries)" : "nd4j-cuda-11.6 is not on this worker's class path (build with -Pgpu, or add " +
                "org.nd4j:nd4j-cuda-11.6:1.0.0-M2.1 and its linux-x86_64 classifier)") +
                "; refusing to train on the CPU by accident (launch with --gpus 0 for CPU workers)");
        }
        final int seen = devices.getAsInt();
        if (seen != 1)
        {
            throw new InvalidConfigurationException(given + ", but ND4J's CUDA backend sees " + seen + " GPUs, not " +
                "only the one in CUDA_VISIBLE_DEVICES=" + visible);
        }
    }

    private static String describe(final String backend)
    {
        return CPU_BACKEND.equals(backend) ? "nd4j-native, the CPU backend (" + backend + ")" : backend;
    }
}
