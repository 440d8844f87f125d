package dev.dl4j.accelerate.launch;

import java.util.List;
import java.util.Map;

import dev.dl4j.accelerate.InvalidConfigurationException;
import dev.dl4j.accelerate.ProcessTopology;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
    }
}
