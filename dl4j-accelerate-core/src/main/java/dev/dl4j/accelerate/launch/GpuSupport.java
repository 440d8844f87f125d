package dev.dl4j.accelerate.launch;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.ServiceLoader;

/**
 * The seam through which GPU support plugs into the launcher and the workers, so that core needs no CUDA:
 * {@code dl4j-accelerate-cuda} implements it and registers it in {@code META-INF/services}. Without an
 * implementation on the class path the launcher looks for no GPU and starts CPU workers as it always did.
 *
 * <p>The launcher calls {@link #discover} once per launch; a worker whose launcher gave it a GPU (the
 * {@value #ASSIGNED_GPU} variable) calls {@link #checkWorker} in {@code Accelerator.create()}, before it
 * joins the others. Implementations are stateless and may be called from any thread.
 */
public interface GpuSupport
{
    /**
     * The variable the launcher sets in a worker it gave a GPU: that GPU's {@code CUDA_VISIBLE_DEVICES} entry.
     */
    String ASSIGNED_GPU = "ACCELERATE_GPU";

    /**
     * Lists this host's GPUs without creating a GPU context (creating one would put the launcher on every GPU).
     *
     * @param env the environment to look in (e.g. {@code PATH} for tools).
     * @return the GPUs; an empty list when there is no NVIDIA driver. Never throws for a missing driver.
     */
    Inventory discover(Map<String, String> env);

    /**
     * @param gpu a GPU {@link #discover} found.
     * @return why the CUDA backend this implementation supports cannot run on it, or empty if it can.
     */
    Optional<String> incompatibility(Gpu gpu);

    /**
     * Checks, in a worker the launcher gave {@code assignedGpu}, that ND4J trains on exactly that GPU: the CUDA
     * backend is the one loaded, and it sees one device. Initialises ND4J.
     *
     * @param assignedGpu the {@value #ASSIGNED_GPU} value.
     * @param env         the worker's environment.
     * @throws dev.dl4j.accelerate.InvalidConfigurationException naming what was found instead, e.g. ND4J's CPU
     *                                                            backend, so no worker silently trains on the CPU.
     */
    void checkWorker(String assignedGpu, Map<String, String> env);

    /**
     * @return the implementation on the class path of the calling thread's context class loader, if any.
     */
    static Optional<GpuSupport> installed()
    {
        return ServiceLoader.load(GpuSupport.class).findFirst();
    }

    /**
     * One GPU as the driver reports it.
     *
     * @param index             the driver's index ({@code nvidia-smi}'s, in PCI bus order).
     * @param uuid              e.g. {@code GPU-5a1c...}; what the launcher puts in {@code CUDA_VISIBLE_DEVICES}.
     * @param name              e.g. {@code NVIDIA A100-SXM4-40GB}.
     * @param memoryMiB         total memory, or -1 if unknown.
     * @param pciBusId          e.g. {@code 00000000:07:00.0}, or empty if unknown.
     * @param computeCapability e.g. {@code 8.0}, or empty if unknown.
     */
    record Gpu(int index, String uuid, String name, long memoryMiB, String pciBusId, String computeCapability)
    {
        /**
         * @param index             the driver's index.
         * @param uuid              the GPU's UUID.
         * @param name              the product name.
         * @param memoryMiB         total memory, or -1.
         * @param pciBusId          PCI bus id, or empty.
         * @param computeCapability major.minor, or empty.
         */
        public Gpu
        {
            Objects.requireNonNull(uuid, "uuid");
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(pciBusId, "pciBusId");
            Objects.requireNonNull(computeCapability, "computeCapability");
        }

        /**
         * @return one line for people: index, name, memory, UUID, bus id and compute capability.
         */
        public String describe()
        {
            return index + ": " + name + (memoryMiB >= 0 ? ", " + memoryMiB + " MiB" : "") + ", " + uuid +
                (pciBusId.isEmpty() ? "" : ", bus " + pciBusId) +
                (computeCapability.isEmpty() ? "" : ", compute capability " + computeCapability);
        }
    }

    /**
     * What discovery found.
     *
     * @param gpus          the GPUs, in the driver's index order; empty without a driver.
     * @param driverVersion the NVIDIA driver's version, or empty if unknown.
     * @param source        how the GPUs were found (e.g. {@code NVML}), or why none were.
     * @param problem       set when a driver seems present but discovery failed, else empty: the launcher then
     *                      refuses to guess rather than start CPU workers on a GPU host.
     */
    record Inventory(List<Gpu> gpus, String driverVersion, String source, String problem)
    {
        /**
         * @param gpus          the GPUs.
         * @param driverVersion the driver version, or empty.
         * @param source        how they were found, or why none were.
         * @param problem       why discovery failed, or empty.
         */
        public Inventory
        {
            gpus = List.copyOf(gpus);
            Objects.requireNonNull(driverVersion, "driverVersion");
            Objects.requireNonNull(source, "source");
            Objects.requireNonNull(problem, "problem");
        }
    }
}
