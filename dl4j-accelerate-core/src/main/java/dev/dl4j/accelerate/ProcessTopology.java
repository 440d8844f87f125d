package dev.dl4j.accelerate;

import java.util.Map;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where this process sits in the job: its rank, the world size, its place on its host and where to meet
 * the others. Immutable; read once from the environment by {@link #fromEnvironment(Map)}.
 *
 * <p>Variables are read with torchrun's names first ({@code RANK}, {@code WORLD_SIZE}, {@code LOCAL_RANK},
 * {@code LOCAL_WORLD_SIZE}, {@code NODE_RANK}, {@code MASTER_ADDR}, {@code MASTER_PORT}), so launchers and
 * schedulers written for PyTorch work unchanged; then SLURM's ({@code SLURM_PROCID}, {@code SLURM_NTASKS},
 * {@code SLURM_LOCALID}, {@code SLURM_NODEID}, {@code SLURM_TASKS_PER_NODE}); then Open MPI's
 * ({@code OMPI_COMM_WORLD_RANK}, {@code OMPI_COMM_WORLD_SIZE}, {@code OMPI_COMM_WORLD_LOCAL_RANK},
 * {@code OMPI_COMM_WORLD_LOCAL_SIZE}). With none of them set the process is alone: world size 1.
 */
public final class ProcessTopology
{
    private static final Pattern SLURM_TASKS = Pattern.compile("(\\d{1,6})(?:\\(x(\\d{1,6})\\))?");
    private static final ProcessTopology SINGLE = new ProcessTopology(0, 1, 0, 1, 0, null, 0, "none");

    private final int rank;
    private final int worldSize;
    private final int localRank;
    private final int localWorldSize;
    private final int nodeRank;
    private final String masterAddress;
    private final int masterPort;
    private final String source;

    private ProcessTopology(
        final int rank,
        final int worldSize,
        final int localRank,
        final int localWorldSize,
        final int nodeRank,
        final String masterAddress,
        final int masterPort,
        final String source)
    {
        this.rank = rank;
        this.worldSize = worldSize;
        this.localRank = localRank;
        this.localWorldSize = localWorldSize;
        this.nodeRank = nodeRank;
        this.masterAddress = masterAddress;
        this.masterPort = masterPort;
        this.source = source;
    }

    /**
     * @return the topology of a process that runs alone: rank 0 of 1.
     */
    public static ProcessTopology single()
    {
        return SINGLE;
    }

    /**
     * Builds and validates a topology from explicit values, e.g. for several ranks inside one JVM in tests.
     *
     * @param rank           this process's global rank.
     * @param worldSize      the number of processes in the job.
     * @param localRank      this process's rank among those on its host.
     * @param localWorldSize the number of processes on this host.
     * @param nodeRank       the index of this host.
     * @param masterAddress  the address rank 0 listens on for the rendezvous; required when worldSize &gt; 1.
     * @param masterPort     the UDP port rank 0 listens on for the rendezvous; required when worldSize &gt; 1.
     * @return the topology.
     * @throws InvalidConfigurationException if the values contradict each other.
     */
    public static ProcessTopology of(
        final int rank,
        final int worldSize,
        final int localRank,
        final int localWorldSize,
        final int nodeRank,
        final String masterAddress,
        final int masterPort)
    {
        final ProcessTopology topology = new ProcessTopology(
            rank, worldSize, localRank, localWorldSize, nodeRank, masterAddress, masterPort, "explicit");
        topology.validate("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "NODE_RANK");
        return topology;
    }

    /**
     * Reads the topology of this process from the environment.
     *
     * @return the topology; {@link #single()} when no launcher variables are set.
     * @throws InvalidConfigurationException naming the variable and value when one is malformed.
     */
    public static ProcessTopology fromEnvironment()
    {
        return fromEnvironment(System.getenv());
    }

    /**
     * Reads a topology from the given variables: the single place the launcher's contract is decoded.
     *
     * @param env environment variables, usually {@link System#getenv()}.
     * @return the topology; {@link #single()} when no launcher variables are set.
     * @throws InvalidConfigurationException naming the variable and value when one is malformed.
     */
    public static ProcessTopology fromEnvironment(final Map<String, String> env)
    {
        Objects.requireNonNull(env, "env");
        if (env.containsKey("RANK") || env.containsKey("WORLD_SIZE"))
        {
            return torchrun(env);
        }
        if (env.containsKey("SLURM_PROCID"))
        {
            return slurm(env);
        }
        if (env.containsKey("OMPI_COMM_WORLD_RANK"))
        {
            return openMpi(env);
        }
        return SINGLE;
    }

    private static ProcessTopology torchrun(final Map<String, String> env)
    {
        final int rank = required(env, "RANK");
        final int worldSize = required(env, "WORLD_SIZE");
        // Without per-host variables the job is taken to run on one host, as a plain `RANK=.. WORLD_SIZE=..` does.
        final int localRank = optional(env, "LOCAL_RANK", rank);
        final int localWorldSize = optional(env, "LOCAL_WORLD_SIZE", worldSize);
        final int nodeRank = optional(env, "NODE_RANK", optional(env, "GROUP_RANK", 0));
        return build(env, rank, worldSize, localRank, localWorldSize, nodeRank, "torchrun variables",
            "RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "NODE_RANK");
    }

    private static ProcessTopology slurm(final Map<String, String> env)
    {
        final int rank = required(env, "SLURM_PROCID");
        final int worldSize = required(env, "SLURM_NTASKS");
        final int localRank = required(env, "SLURM_LOCALID");
        final int nodeRank = optional(env, "SLURM_NODEID", 0);
        final int localWorldSize = env.containsKey("SLURM_TASKS_PER_NODE") ?
            tasksOnNode(env.get("SLURM_TASKS_PER_NODE"), nodeRank) : worldSize;
        return build(env, rank, worldSize, localRank, localWorldSize, nodeRank, "SLURM variables",
            "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID", "SLURM_TASKS_PER_NODE", "SLURM_NODEID");
    }

    private static ProcessTopology openMpi(final Map<String, String> env)
    {
        final int rank = required(env, "OMPI_COMM_WORLD_RANK");
        final int worldSize = required(env, "OMPI_COMM_WORLD_SIZE");
        final int localRank = required(env, "OMPI_COMM_WORLD_LOCAL_RANK");
        final int localWorldSize = required(env, "OMPI_COMM_WORLD_LOCAL_SIZE");
        // Open MPI gives no host index; by-slot mapping (its default) places ranks on hosts in blocks.
        final int nodeRank = optional(env, "NODE_RANK", localWorldSize > 0 ? rank / localWorldSize : 0);
        return build(env, rank, worldSize, localRank, localWorldSize, nodeRank, "Open MPI variables",
            "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK",
            "OMPI_COMM_WORLD_LOCAL_SIZE", "NODE_RANK");
    }

    /**
     * Decodes SLURM's compressed task counts, e.g. {@code "2(x3),1"}: 2 tasks on each of the first three
     * nodes, then 1.
     */
    static int tasksOnNode(final String tasksPerNode, final int nodeRank)
    {
        int node = 0;
        for (final String part : tasksPerNode.split(","))
        {
            final Matcher matcher = SLURM_TASKS.matcher(part.trim());
            if (!matcher.matches())
            {
                throw new InvalidConfigurationException(
                    "SLURM_TASKS_PER_NODE='" + tasksPerNode + "' is not of the form 'N' or 'N(xM)' separated by commas");
            }
            final int tasks = Integer.parseInt(matcher.group(1));
            final int repeat = matcher.group(2) == null ? 1 : Integer.parseInt(matcher.group(2));
            if (nodeRank < node + repeat)
            {
                return tasks;
            }
            node += repeat;
        }
        throw new InvalidConfigurationException(
            "SLURM_TASKS_PER_NODE='" + tasksPerNode + "' lists " + node + " nodes but SLURM_NODEID=" + nodeRank);
    }

    private static ProcessTopology build(
        final Map<String, String> env,
        final int rank,
        final int worldSize,
        final int localRank,
        final int localWorldSize,
        final int nodeRank,
        final String source,
        final String rankVar,
        final String worldVar,
        final String localRankVar,
        final String localWorldVar,
        final String nodeVar)
    {
        final String masterAddress = blankToNull(env.get("MASTER_ADDR"));
        final int masterPort = env.containsKey("MASTER_PORT") ? required(env, "MASTER_PORT") : 0;
        final ProcessTopology topology = new ProcessTopology(
            rank, worldSize, localRank, localWorldSize, nodeRank, masterAddress, masterPort, source);
        topology.validate(rankVar, worldVar, localRankVar, localWorldVar, nodeVar);
        return topology;
    }

    private void validate(
        final String rankVar,
        final String worldVar,
        final String localRankVar,
        final String localWorldVar,
        final String nodeVar)
    {
        if (worldSize < 1)
        {
            throw invalid(worldVar + "=" + worldSize + " must be at least 1");
        }
        if (rank < 0 || rank >= worldSize)
        {
            throw invalid(rankVar + "=" + rank + " must be in [0, " + worldVar + "=" + worldSize + ")");
        }
        if (localWorldSize < 1 || localWorldSize > worldSize)
        {
            throw invalid(localWorldVar + "=" + localWorldSize + " must be in [1, " + worldVar + "=" + worldSize + "]");
        }
        if (localRank < 0 || localRank >= localWorldSize)
        {
            throw invalid(
                localRankVar + "=" + localRank + " must be in [0, " + localWorldVar + "=" + localWorldSize + ")");
        }
        if (nodeRank < 0)
        {
            throw invalid(nodeVar + "=" + nodeRank + " must not be negative");
        }
        if (worldSize > 1)
        {
            if (masterAddress == null)
            {
                throw invalid(worldVar + "=" + worldSize + " needs MASTER_ADDR, the address rank 0 listens on, but it is not set");
            }
            if (masterPort < 1 || masterPort > 65535)
            {
                throw invalid("MASTER_PORT=" + masterPort + " must be a port in [1, 65535] when " +
                    worldVar + "=" + worldSize + (masterPort == 0 ? " (is it set?)" : ""));
            }
        }
    }

    private InvalidConfigurationException invalid(final String what)
    {
        return new InvalidConfigurationException(what + " (read from " + source + ")");
    }

    private static int required(final Map<String, String> env, final String name)
    {
        final String value = env.get(name);
        if (value == null || value.isBlank())
        {
            throw new InvalidConfigurationException(name + " is not set, but the launcher variables around it are");
        }
        return parse(name, value);
    }

    private static int optional(final Map<String, String> env, final String name, final int defaultValue)
    {
        final String value = env.get(name);
        return value == null || value.isBlank() ? defaultValue : parse(name, value);
    }

    private static int parse(final String name, final String value)
    {
        final int parsed;
        try
        {
            parsed = Integer.parseInt(value.trim());
        }
        catch (final NumberFormatException ex)
        {
            throw new InvalidConfigurationException(name + "='" + value + "' is not an integer");
        }
        if (parsed < 0)
        {
            throw new InvalidConfigurationException(name + "=" + parsed + " must not be negative");
        }
        return parsed;
    }

    private static String blankToNull(final String value)
    {
        return value == null || value.isBlank() ? null : value.trim();
    }

    /**
     * @return this process's global rank, in [0, worldSize).
     */
    public int rank()
    {
        return rank;
    }

    /**
     * @return the number of processes in the job.
     */
    public int worldSize()
    {
        return worldSize;
    }

    /**
     * @return this process's rank among the processes on its host, in [0, localWorldSize).
     */
    public int localRank()
    {
        return localRank;
    }

    /**
     * @return the number of processes on this host.
     */
    public int localWorldSize()
    {
        return localWorldSize;
    }

    /**
     * @return the index of this host in the job.
     */
    public int nodeRank()
    {
        return nodeRank;
    }

    /**
     * @return the address rank 0 listens on for the rendezvous, or null for a single process.
     */
    public String masterAddress()
    {
        return masterAddress;
    }

    /**
     * @return the UDP port rank 0 listens on for the rendezvous, or 0 for a single process.
     */
    public int masterPort()
    {
        return masterPort;
    }

    /**
     * @return which family of variables the topology was read from, e.g. {@code "torchrun variables"}.
     */
    public String source()
    {
        return source;
    }

    /**
     * @return true when this process is the whole job, so every collective is a no-op.
     */
    public boolean isSingleProcess()
    {
        return worldSize == 1;
    }

    public boolean equals(final Object other)
    {
        if (this == other)
        {
            return true;
        }
        if (!(other instanceof ProcessTopology))
        {
            return false;
        }
        final ProcessTopology that = (ProcessTopology)other;
        return rank == that.rank && worldSize == that.worldSize && localRank == that.localRank &&
            localWorldSize == that.localWorldSize && nodeRank == that.nodeRank && masterPort == that.masterPort &&
            Objects.equals(masterAddress, that.masterAddress);
    }

    public int hashCode()
    {
        return Objects.hash(rank, worldSize, localRank, localWorldSize, nodeRank, masterAddress, masterPort);
    }

    public String toString()
    {
        return "rank " + rank + "/" + worldSize + " (local " + localRank + "/" + localWorldSize + ", node " + nodeRank +
            (masterAddress == null ? "" : ", master " + masterAddress + ":" + masterPort) + ", from " + source + ")";
    }
}
