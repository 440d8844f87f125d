package dev.dl4j.accelerate;

import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;

import dev.dl4j.accelerate.launch.GpuSupport;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AssignedGpuTest
{
    @Test
    void shouldCheckNothingWhenNoGpuWasAssigned()
    {
        final AtomicReference<String> checked = new AtomicReference<>();
        AssignedGpu.check(Map.of("CUDA_VISIBLE_DEVICES", "0"), Optional.of(recording(checked)));
        AssignedGpu.check(Map.of("ACCELERATE_GPU", ""), Optional.of(recording(checked)));
        AssignedGpu.check(Map.of(), Optional.empty());
        assertNull(checked.get());
    }

    @Test
    void shouldAskTheGpuSupportToCheckTheAssignedGpu()
    {
        final AtomicReference<String> checked = new AtomicReference<>();
        AssignedGpu.check(Map.of("ACCELERATE_GPU", "GPU-a"), Optional.of(recording(checked)));
        assertEquals("GPU-a", checked.get());
    }

    @Test
    void shouldRefuseAnAssignedGpuWithoutTheCudaModule()
    {
        final String message = assertThrows(InvalidConfigurationException.class,
            () -> AssignedGpu.check(Map.of("ACCELERATE_GPU", "GPU-a"), Optional.empty())).getMessage();
        assertTrue(message.startsWith("the launcher gave this worker GPU GPU-a (ACCELERATE_GPU), but " +
            "dl4j-accelerate-cuda is not on its class path"), message);
    }

    private static GpuSupport recording(final AtomicReference<String> checked)
    {
        return new GpuSupport()
        {
            public Inventory discover(final Map<String, String> env)
            {
                throw new UnsupportedOperationException();
            }

            public Optional<String> incompatibility(final Gpu gpu)
            {
                return Optional.empty();
            }

            public void checkWorker(final String assignedGpu, final Map<String, String> env)
            {
                checked.set(assignedGpu);
            }
        };
    }
}
