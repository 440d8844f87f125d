package dev.dl4j.accelerate.launch;

import java.util.List;
import java.util.Map;

import dev.dl4j.accelerate.InvalidConfigurationException;
import dev.dl4j.accelerate.ProcessTopology;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class WorkerEnvironmentTest
{
    private static final LaunchSpec TWO_HOSTS_OF_THREE = new LaunchSpec(
        3, 2, 1, "10.0.0.1", 29500, "/dev/shm/driver", "token", List.of("java", "Main"), 0);

    @Test
    void shouldGiveEachWorkerTheTorchrunVariablesOfItsPlace()
    {
        final Map<String, String> env = WorkerEnvironment.of(TWO_HOSTS_OF_THREE, 2, Map.of("PATH", "/bin"), 12);
        assertEquals("5", env.get("RANK"));
        assertEquals("6", env.get("WORLD_SIZE"));
        assertEquals("2", env.get("LOCAL_RANK"));
        assertEquals("3", env.get("LOCAL_WORLD_SIZE"));
        assertEquals("1", env.get("NODE_RANK"));
        assertEquals("10.0.0.1", env.get("MASTER_ADDR"));
        assertEquals("29500", env.get("MASTER_PORT"));
        assertEquals("/dev/shm/driver", env.get("ACCELERATE_AERON_DIR"));
        assertEquals("token", env.get("ACCELERATE_JOB_TOKEN"));
        assertEquals("/bin", env.get("PATH"));
        // What the worker reads back is exactly the place the launcher meant.
        assertEquals(ProcessTopology.of(5, 6, 2, 3, 1, "10.0.0.1", 29500), ProcessTopology.fromEnvironment(env));
    }

    @Test
    void shouldSplitCoresBetweenLocalWorkersButKeepTheUsersChoice()
    {
        assertEquals("4", WorkerEnvironment.of(TWO_HOSTS_OF_THREE, 0, Map.of(), 12).get("OMP_NUM_THREADS"));
        assertEquals("1", WorkerEnvironment.of(TWO_HOSTS_OF_THREE, 0, Map.of(), 2).get("OMP_NUM_THREADS"));
        assertEquals("3", WorkerEnvironment.of(TWO_HOSTS_OF_THREE, 0, Map.of("OMP_NUM_THREADS", "3"), 2)
            .get("OMP_NUM_THREADS"));
    }

    @Test
    void shouldAddAeronsAndTheVectorApisJvmFlagsOnceToTheUsersJavaOptions()
    {
        final String flags = WorkerEnvironment.AERON_JVM_FLAGS +
            (WorkerEnvironment.VECTOR_API_PRESENT ? " " + WorkerEnvironment.VECTOR_JVM_FLAGS : "");
        assertEquals(flags, WorkerEnvironment.of(TWO_HOSTS_OF_THREE, 0, Map.of(), 2).get("JDK_JAVA_OPTIONS"));
        assertEquals("-Xmx1g " + flags,
            WorkerEnvironment.of(TWO_HOSTS_OF_THREE, 0, Map.of("JDK_JAVA_OPTIONS", "-Xmx1g"), 2).get("JDK_JAVA_OPTIONS"));
        final String already = "-Xmx1g " + flags;
        assertEquals(already,
            WorkerEnvironment.of(TWO_HOSTS_OF_THREE, 0, Map.of("JDK_JAVA_OPTIONS", already), 2).get("JDK_JAVA_OPTIONS"));
        final String ownVectorFlag = "--add-modules=jdk.incubator.vector";
        assertEquals(ownVectorFlag + " " + WorkerEnvironment.AERON_JVM_FLAGS,
            WorkerEnvironment.of(TWO_HOSTS_OF_THREE, 0, Map.of("JDK_JAVA_OPTIONS", ownVectorFlag), 2)
            .get("JDK_JAVA_OPTIONS"));
    }

    @Test
    void shouldShowEachWorkerOnlyItsGpu()
    {
        final LaunchSpec spec = new LaunchSpec(2, 1, 0, "127.0.0.1", 29500, "d", "t", List.of("java"), 0,
            List.of("GPU-a", "GPU-b"));
        final Map<String, String> env = WorkerEnvironment.of(spec, 1, Map.of("CUDA_VISIBLE_DEVICES", "GPU-a,GPU-b"), 2);
        assertEquals("GPU-b", env.get("CUDA_VISIBLE_DEVICES"));
        assertEquals("GPU-b", env.get("ACCELERATE_GPU"));
        assertEquals("PCI_BUS_ID", env.get("CUDA_DEVICE_ORDER"));
        assertEquals("FASTEST_FIRST",
            WorkerEnvironment.of(spec, 0, Map.of("CUDA_DEVICE_ORDER", "FASTEST_FIRST"), 2).get("CUDA_DEVICE_ORDER"));
    }

    @Test
    void shouldHideEveryGpuFromAWorkerWithAnEmptyEntry()
    {
        final LaunchSpec spec = new LaunchSpec(1, 1, 0, "127.0.0.1", 29500, "d", "t", List.of("java"), 0, List.of(""));
        final Map<String, String> env = WorkerEnvironment.of(spec, 0, Map.of("ACCELERATE_GPU", "GPU-outer"), 2);
        assertEquals("", env.get("CUDA_VISIBLE_DEVICES"));
        assertFalse(env.containsKey("ACCELERATE_GPU"));
        assertFalse(env.containsKey("CUDA_DEVICE_ORDER"));
    }

    @Test
    void shouldLeaveCudaVariablesAloneWithoutGpus()
    {
        final Map<String, String> env = WorkerEnvironment.of(TWO_HOSTS_OF_THREE, 0,
            Map.of("CUDA_VISIBLE_DEVICES", "3", "ACCELERATE_GPU", "GPU-outer"), 2);
        assertEquals("3", env.get("CUDA_VISIBLE_DEVICES"));
        assertFalse(env.containsKey("ACCELERATE_GPU"));
        assertFalse(env.containsKey("CUDA_DEVICE_ORDER"));
    }

    @Test
    void shouldRejectImpossibleLaunches()
    {
        assertTrue(assertThrows(InvalidConfigurationException.class,
            () -> new LaunchSpec(0, 1, 0, "a", 1, "d", "t", List.of("x"), 0)).getMessage()
            .startsWith("--nproc-per-node 0"));
        assertTrue(assertThrows(InvalidConfigurationException.class,
            () -> new LaunchSpec(1, 2, 2, "a", 1, "d", "t", List.of("x"), 0)).getMessage()
            .startsWith("--node-rank 2 must be in [0, --nnodes 2)"));
        assertTrue(assertThrows(InvalidConfigurationException.class,
            () -> new LaunchSpec(1, 1, 0, "a", 1, "d", "t", List.of(), 0)).getMessage()
            .startsWith("no worker command"));
        assertTrue(assertThrows(InvalidConfigurationException.class,
            () -> new LaunchSpec(2, 1, 0, "a", 1, "d", "t", List.of("x"), 0, List.of("GPU-a"))).getMessage()
            .startsWith("1 GPU entries [GPU-a] for --nproc-per-node 2"));
    }
}
