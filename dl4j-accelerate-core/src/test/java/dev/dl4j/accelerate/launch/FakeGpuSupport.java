package dev.dl4j.accelerate.launch;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Plays a GPU host for the launcher's tests: {@code FAKE_GPUS=N} in the launcher's environment gives N GPUs,
 * {@code FAKE_GPUS=fail} a driver that cannot be read; without it, a host with no driver. Registered in this
 * module's test {@code META-INF/services}.
 */
public final class FakeGpuSupport implements GpuSupport
{
    static final String VARIABLE = "FAKE_GPUS";

    /**
     * @param index the GPU's index.
     * @return the UUID of fake GPU {@code index}.
     */
    public static String uuid(final int index)
    {
        return String.format("GPU-00000000-0000-0000-0000-%012d", index);
    }

    public Inventory discover(final Map<String, String> env)
    {
        final String fake = env.get(VARIABLE);
        if (fake == null)
        {
            return new Inventory(List.of(), "", "no NVIDIA driver (fake)", "");
        }
        if (fake.equals("fail"))
        {
            return new Inventory(List.of(), "", "fake", "fake NVML: GPU is lost (15)");
        }
        final List<Gpu> gpus = new ArrayList<>();
        for (int i = 0; i < Integer.parseInt(fake); i++)
        {
            gpus.add(new Gpu(i, uuid(i), i == 0 ? "NVIDIA H200" : "NVIDIA A100-SXM4-40GB", 40960, "", i == 0 ? "9.0" : "8.0"));
        }
        return new Inventory(gpus, "550.54.15", "fake NVML", "");
    }

    public Optional<String> incompatibility(final Gpu gpu)
    {
        return gpu.computeCapability().equals("9.0") ? Optional.of("fake: too new") : Optional.empty();
    }

    public void checkWorker(final String assignedGpu, final Map<String, String> env)
    {
        throw new UnsupportedOperationException("the launcher's tests start no worker that checks its GPU");
    }
}
