package dev.dl4j.accelerate.cuda;

import java.util.Map;
import java.util.Optional;

import dev.dl4j.accelerate.AccelerateException;
import dev.dl4j.accelerate.launch.GpuSupport;
import org.nd4j.linalg.factory.Nd4j;

/**
 * GPU support for the launcher and the workers, registered in {@code META-INF/services}: put this module on the
 * class path and {@code accelerate launch} gives each local rank a GPU of its own; there is nothing to call.
 *
 * <p>Discovery goes through NVML ({@code libnvidia-ml.so.1}, loaded with JNA), else {@code nvidia-smi}; it never
 * loads ND4J's CUDA backend nor creates a CUDA context. The worker check asks ND4J which backend it loaded.
 * Stateless: any thread may call it.
 */
public final class CudaGpuSupport implements GpuSupport
{
    private final String nvmlLibrary;

    /**
     * Used by {@link java.util.ServiceLoader}.
     */
    public CudaGpuSupport()
    {
        this(GpuDiscovery.NVML_LIBRARY);
    }

    CudaGpuSupport(final String nvmlLibrary)
    {
        this.nvmlLibrary = nvmlLibrary;
    }

    /**
     * {@inheritDoc}
     */
    public Inventory discover(final Map<String, String> env)
    {
        return new GpuDiscovery(nvmlLibrary, env.get("PATH")).discover();
    }

    /**
     * {@inheritDoc}
     */
    public Optional<String> incompatibility(final Gpu gpu)
    {
        return Nd4jCuda.incompatibility(gpu.computeCapability());
    }

    /**
     * {@inheritDoc}
     */
    public void checkWorker(final String assignedGpu, final Map<String, String> env)
    {
        Nd4jCuda.checkWorker(assignedGpu, env.get("CUDA_VISIBLE_DEVICES"), () -> loadedBackend(assignedGpu),
            onClassPath(Nd4jCuda.CUDA_BACKEND), () -> Nd4j.getAffinityManager().getNumberOfDevices());
    }

    private static String loadedBackend(final String assignedGpu)
    {
        try
        {
            return Nd4j.getBackend().getClass().getName();
        }
        catch (final RuntimeException | LinkageError ex)
        {
            throw new AccelerateException("the launcher gave this worker GPU " + assignedGpu + " (" + ASSIGNED_GPU +
                "), but ND4J failed to start: " + ex, ex);
        }
    }

    static boolean onClassPath(final String className)
    {
        try
        {
            Class.forName(className, false, CudaGpuSupport.class.getClassLoader());
            return true;
        }
        catch (final ClassNotFoundException ex)
        {
            return false;
        }
    }
}
