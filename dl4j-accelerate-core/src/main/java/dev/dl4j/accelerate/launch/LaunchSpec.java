package dev.dl4j.accelerate.launch;

import java.util.List;

import dev.dl4j.accelerate.InvalidConfigurationException;

/**
 * What one host's launcher was asked to start: validated once, then turned into each worker's environment by
 * {@link WorkerEnvironment#of}.
 *
 * @param nprocPerNode  workers on this host.
 * @param nnodes        hosts in the job.
 * @param nodeRank      this host's index.
 * @param masterAddress where rank 0 meets the others.
 * @param masterPort    UDP port of the rendezvous, already resolved (never 0 here).
 * @param aeronDir      directory of the media driver this launcher runs for its workers.
 * @param jobToken      identifies the job's messages; identical on every host.
 * @param command       the worker command line.
 * @param restartCount  how many times the group was restarted after a failure before this start.
 * @param gpus          per local rank, the {@code CUDA_VISIBLE_DEVICES} entry of its GPU (an empty entry hides every
 *                      GPU); an empty list leaves {@code CUDA_VISIBLE_DEVICES} as the launcher found it.
 */
public record LaunchSpec(
    int nprocPerNode,
    int nnodes,
    int nodeRank,
    String masterAddress,
    int masterPort,
    String aeronDir,
    String jobToken,
    List<String> command,
    int restartCount,
    List<String> gpus)
{
    /**
     * Validates the launch once, before anything starts.
     *
     * @param nprocPerNode  workers on this host.
     * @param nnodes        hosts in the job.
     * @param nodeRank      this host's index.
     * @param masterAddress where rank 0 meets the others.
     * @param masterPort    UDP port of the rendezvous.
     * @param aeronDir      directory of this host's media driver.
     * @param jobToken      identifies the job's messages.
     * @param command       the worker command line.
     * @param restartCount  restarts before this start.
     * @param gpus          per local rank, its {@code CUDA_VISIBLE_DEVICES} entry; or empty for no GPU.
     * @throws InvalidConfigurationException naming the flag and value when one is out of range.
     */
    public LaunchSpec
    {
        if (nprocPerNode < 1)
        {
            throw new InvalidConfigurationException("--nproc-per-node " + nprocPerNode + " must be at least 1");
        }
        if (nnodes < 1)
        {
            throw new InvalidConfigurationException("--nnodes " + nnodes + " must be at least 1");
        }
        if (nodeRank < 0 || nodeRank >= nnodes)
        {
            throw new InvalidConfigurationException(
                "--node-rank " + nodeRank + " must be in [0, --nnodes " + nnodes + ")");
        }
        if (masterPort < 1 || masterPort > 65535)
        {
            throw new InvalidConfigurationException("--master-port " + masterPort + " must be in [1, 65535]");
        }
        if (command == null || command.isEmpty())
        {
            throw new InvalidConfigurationException("no worker command given: accelerate launch [options] -- <command...>");
        }
        command = List.copyOf(command);
        if (restartCount < 0)
        {
            throw new InvalidConfigurationException("restart count " + restartCount + " must not be negative");
        }
        gpus = List.copyOf(gpus);
        if (!gpus.isEmpty() && gpus.size() != nprocPerNode)
        {
            throw new InvalidConfigurationException(gpus.size() + " GPU entries " + gpus + " for --nproc-per-node " +
                nprocPerNode + ": one per local rank is needed");
        }
    }

    /**
     * A launch that leaves GPUs as the launcher found them (no GPU on this host).
     *
     * @param nprocPerNode  workers on this host.
     * @param nnodes        hosts in the job.
     * @param nodeRank      this host's index.
     * @param masterAddress where rank 0 meets the others.
     * @param masterPort    UDP port of the rendezvous.
     * @param aeronDir      directory of this host's media driver.
     * @param jobToken      identifies the job's messages.
     * @param command       the worker command line.
     * @param restartCount  restarts before this start.
     * @throws InvalidConfigurationException naming the flag and value when one is out of range.
     */
    public LaunchSpec(
        final int nprocPerNode,
        final int nnodes,
        final int nodeRank,
        final String masterAddress,
        final int masterPort,
        final String aeronDir,
        final String jobToken,
        final List<String> command,
        final int restartCount)
    {
        this(nprocPerNode, nnodes, nodeRank, masterAddress, masterPort, aeronDir, jobToken, command, restartCount,
            List.of());
    }

    /**
     * @return processes in the whole job.
     */
    public int worldSize()
    {
        return nprocPerNode * nnodes;
    }

    /**
     * @param localRank a worker's rank on this host.
     * @return its global rank.
     */
    public int globalRank(final int localRank)
    {
        return nodeRank * nprocPerNode + localRank;
    }
}
