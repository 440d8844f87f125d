package dev.dl4j.accelerate.cuda;

import java.util.Optional;
import java.util.function.Supplier;

import dev.dl4j.accelerate.InvalidConfigurationException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class Nd4jCudaTest
{
    private static final Supplier<String> NOT_TO_BE_ASKED = () ->
    {
        throw new AssertionError("ND4J was initialised before the variables were checked");
    };

    @Test
    void shouldRunOnKeplerK80ToAmpere()
    {
        for (final String capability : new String[] { "3.7", "5.0", "6.1", "7.0", "7.5", "8.0", "8.6", "" })
        {
            assertEquals(Optional.empty(), Nd4jCuda.incompatibility(capability), capability);
        }
    }

    @Test
    void shouldNotRunOnHopperOrBeforeK80()
    {
        for (final String capability : new String[] { "9.0", "10.0", "12.0", "3.5", "3.0" })
        {
            final String why = Nd4jCuda.incompatibility(capability).orElseThrow();
            assertTrue(why.startsWith("compute capability " + capability + ": ND4J 1.0.0-M2.1's CUDA backend " +
                "(nd4j-cuda-11.6) has kernels for compute capability 3.7 to 8.6 only, and no PTX, so it cannot run"), why);
        }
    }

    @Test
    void shouldCallAdaUntested()
    {
        final String why = Nd4jCuda.incompatibility("8.9").orElseThrow();
        assertTrue(why.endsWith("CUDA 11.6 predates this GPU and it is untested"), why);
    }

    @Test
    void shouldPassAWorkerOnItsGpuAloneWithTheCudaBackend()
    {
        Nd4jCuda.checkWorker("GPU-a", "GPU-a", () -> Nd4jCuda.CUDA_BACKEND, true, () -> 1);
    }

    @Test
    void shouldRefuseAWorkerWhoseVisibleDevicesWereChanged()
    {
        assertMessage("the launcher gave this worker GPU GPU-a (ACCELERATE_GPU), but CUDA_VISIBLE_DEVICES=0,1: " +
            "something between the launcher and this JVM changed it",
            () -> Nd4jCuda.checkWorker("GPU-a", "0,1", NOT_TO_BE_ASKED, true, () -> 2));
        assertMessage("the launcher gave this worker GPU GPU-a (ACCELERATE_GPU), but CUDA_VISIBLE_DEVICES=null",
            () -> Nd4jCuda.checkWorker("GPU-a", null, NOT_TO_BE_ASKED, true, () -> 2));
    }

    @Test
    void shouldRefuseTheCpuBackendNamingWhyTheCudaOneIsMissing()
    {
        assertMessage("the launcher gave this worker GPU GPU-a (ACCELERATE_GPU), but ND4J loaded nd4j-native, the CPU " +
            "backend (org.nd4j.linalg.cpu.nativecpu.CpuBackend), not its CUDA backend: nd4j-cuda-11.6 is not on this " +
            "worker's class path (build with -Pgpu",
            () -> Nd4jCuda.checkWorker("GPU-a", "GPU-a", () -> Nd4jCuda.CPU_BACKEND, false, () -> 1));
        assertMessage("the launcher gave this worker GPU GPU-a (ACCELERATE_GPU), but ND4J loaded nd4j-native, the CPU " +
            "backend (org.nd4j.linalg.cpu.nativecpu.CpuBackend), not its CUDA backend: nd4j-cuda is on the class path, " +
            "but ND4J skipped it as unavailable",
            () -> Nd4jCuda.checkWorker("GPU-a", "GPU-a", () -> Nd4jCuda.CPU_BACKEND, true, () -> 1));
    }

    @Test
    void shouldRefuseACudaBackendThatSeesMoreThanOneGpu()
    {
        assertMessage("the launcher gave this worker GPU GPU-a (ACCELERATE_GPU), but ND4J's CUDA backend sees 2 GPUs, " +
            "not only the one in CUDA_VISIBLE_DEVICES=GPU-a",
            () -> Nd4jCuda.checkWorker("GPU-a", "GPU-a", () -> Nd4jCuda.CUDA_BACKEND, true, () -> 2));
    }

    private static void assertMessage(final String start, final Executable executable)
    {
        final String message = assertThrows(InvalidConfigurationException.class, executable).getMessage();
        assertTrue(message.startsWith(start), message);
    }
}
