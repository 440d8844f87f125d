package dev.dl4j.accelerate;

import java.util.HashMap;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ProcessTopologyTest
{
    @Test
    void shouldBeASingleProcessWithoutLauncherVariables()
    {
        final ProcessTopology topology = ProcessTopology.fromEnvironment(Map.of("PATH", "/usr/bin", "HOME", "/root"));
        assertSame(ProcessTopology.single(), topology);
        assertTrue(topology.isSingleProcess());
        assertEquals(0, topology.rank());
        assertEquals(1, topology.worldSize());
    }

    @Test
    void shouldReadTorchrunVariables()
    {
        final ProcessTopology topology = ProcessTopology.fromEnvironment(Map.of(
            "RANK", "5", "WORLD_SIZE", "8", "LOCAL_RANK", "1", "LOCAL_WORLD_SIZE", "4", "NODE_RANK", "1",
            "MASTER_ADDR", "10.0.0.1", "MASTER_PORT", "29500"));
        assertEquals(ProcessTopology.of(5, 8, 1, 4, 1, "10.0.0.1", 29500), topology);
        assertEquals("torchrun variables", topology.source());
    }

    @Test
    void shouldTakeAPlainRankAndWorldSizeAsOneHost()
    {
        final ProcessTopology topology = ProcessTopology.fromEnvironment(Map.of(
            "RANK", "2", "WORLD_SIZE", "3", "MASTER_ADDR", "127.0.0.1", "MASTER_PORT", "1234"));
        assertEquals(2, topology.localRank());
        assertEquals(3, topology.localWorldSize());
        assertEquals(0, topology.nodeRank());
    }

    @Test
    void shouldFallBackToSlurmVariables()
    {
        final ProcessTopology topology = ProcessTopology.fromEnvironment(Map.of(
            "SLURM_PROCID", "5", "SLURM_NTASKS", "7", "SLURM_LOCALID", "0", "SLURM_NODEID", "2",
            "SLURM_TASKS_PER_NODE", "3(x2),1", "MASTER_ADDR", "node0", "MASTER_PORT", "29500"));
        assertEquals(5, topology.rank());
        assertEquals(7, topology.worldSize());
        assertEquals(1, topology.localWorldSize());
        assertEquals(2, topology.nodeRank());
        assertEquals("SLURM variables", topology.source());
    }

    @Test
    void shouldFallBackToOpenMpiVariables()
    {
        final ProcessTopology topology = ProcessTopology.fromEnvironment(Map.of(
            "OMPI_COMM_WORLD_RANK", "3", "OMPI_COMM_WORLD_SIZE", "4", "OMPI_COMM_WORLD_LOCAL_RANK", "1",
            "OMPI_COMM_WORLD_LOCAL_SIZE", "2", "MASTER_ADDR", "127.0.0.1", "MASTER_PORT", "29500"));
        assertEquals(3, topology.rank());
        assertEquals(1, topology.localRank());
        assertEquals(1, topology.nodeRank());
        assertEquals("Open MPI variables", topology.source());
    }

    @Test
    void shouldPreferTorchrunVariablesOverSchedulerOnes()
    {
        final Map<String, String> env = torchrun("1", "2");
        env.put("SLURM_PROCID", "0");
        env.put("SLURM_NTASKS", "1");
        assertEquals(1, ProcessTopology.fromEnvironment(env).rank());
    }

    @ParameterizedTest(name = "{0}={1}")
    @CsvSource({
        "RANK, 2, 'RANK=2 must be in [0, WORLD_SIZE=2)'",
        "RANK, -1, 'RANK=-1 must not be negative'",
        "RANK, abc, 'RANK=''abc'' is not an integer'",
        "WORLD_SIZE, 0, 'WORLD_SIZE=0 must be at least 1'",
        "WORLD_SIZE, 2x, 'WORLD_SIZE=''2x'' is not an integer'",
        "MASTER_PORT, 70000, 'MASTER_PORT=70000 must be a port in [1, 65535]'",
        "MASTER_PORT, http, 'MASTER_PORT=''http'' is not an integer'",
        "LOCAL_RANK, 3, 'LOCAL_RANK=3 must be in [0, LOCAL_WORLD_SIZE=2)'",
        "LOCAL_WORLD_SIZE, 5, 'LOCAL_WORLD_SIZE=5 must be in [1, WORLD_SIZE=2]'",
    })
    void shouldNameTheVariableAndValueWhenOneIsBad(final String name, final String value, final String expected)
    {
        final Map<String, String> env = torchrun("1", "2");
        env.put("LOCAL_RANK", "1");
        env.put("LOCAL_WORLD_SIZE", "2");
        env.put(name, value);
        final InvalidConfigurationException ex =
            assertThrows(InvalidConfigurationException.class, () -> ProcessTopology.fromEnvironment(env));
        assertTrue(ex.getMessage().startsWith(expected), ex.getMessage());
    }

    @Test
    void shouldRequireMasterAddressForMoreThanOneProcess()
    {
        final Map<String, String> env = torchrun("0", "2");
        env.remove("MASTER_ADDR");
        final InvalidConfigurationException ex =
            assertThrows(InvalidConfigurationException.class, () -> ProcessTopology.fromEnvironment(env));
        assertTrue(ex.getMessage().contains("WORLD_SIZE=2 needs MASTER_ADDR"), ex.getMessage());
    }

    @Test
    void shouldRequireWorldSizeWhenRankIsSet()
    {
        final InvalidConfigurationException ex = assertThrows(
            InvalidConfigurationException.class, () -> ProcessTopology.fromEnvironment(Map.of("RANK", "0")));
        assertTrue(ex.getMessage().startsWith("WORLD_SIZE is not set"), ex.getMessage());
    }

    @Test
    void shouldRejectMalformedSlurmTaskCounts()
    {
        final InvalidConfigurationException ex =
            assertThrows(InvalidConfigurationException.class, () -> ProcessTopology.tasksOnNode("2(y3)", 0));
        assertTrue(ex.getMessage().contains("SLURM_TASKS_PER_NODE='2(y3)'"), ex.getMessage());
        assertEquals(2, ProcessTopology.tasksOnNode("2(x3),1", 2));
        assertEquals(1, ProcessTopology.tasksOnNode("2(x3),1", 3));
    }

    private static Map<String, String> torchrun(final String rank, final String worldSize)
    {
        final Map<String, String> env = new HashMap<>();
        env.put("RANK", rank);
        env.put("WORLD_SIZE", worldSize);
        env.put("MASTER_ADDR", "127.0.0.1");
        env.put("MASTER_PORT", "29500");
        return env;
    }
}
