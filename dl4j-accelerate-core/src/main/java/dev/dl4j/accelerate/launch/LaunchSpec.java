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
    int restartCount)
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
