package dev.dl4j.accelerate.launch;

import java.lang.module.ModuleFinder;
import java.util.Map;
import java.util.TreeMap;

/**
 * Builds a worker's environment: the launcher's only channel to its workers, as in torchrun and Accelerate.
 * A pure function, so every rule is unit-tested without starting anything.
 *
 * <p>A worker given a GPU sees only it: {@code CUDA_VISIBLE_DEVICES} is that GPU's entry (its UUID when the
 * launcher chose it, a scheduler's entry when one chose), {@code CUDA_DEVICE_ORDER=PCI_BUS_ID} unless set, and
 * {@value GpuSupport#ASSIGNED_GPU} the same entry, which the worker checks at start-up.
 */
public final class WorkerEnvironment
{
    /** Lets Aeron and Agrona reach {@code jdk.internal.misc.Unsafe} on Java 17+; every JVM that uses them needs it. */
    public static final String AERON_JVM_FLAGS = "--add-exports java.base/jdk.internal.misc=ALL-UNNAMED";
    /**
     * Gives the all-reduce its vector loops (4-5x faster than the scalar ones it falls back to without). The JVM
     * then prints one "WARNING: Using incubator modules" line at start.
     */
    public static final String VECTOR_JVM_FLAGS = "--add-modules jdk.incubator.vector";
    /**
     * Whether this JDK has the Vector API: a runtime made with jlink may not, and a worker asked to add a module
     * it lacks would not start.
     */
    static final boolean VECTOR_API_PRESENT = ModuleFinder.ofSystem().find("jdk.incubator.vector").isPresent();

    private WorkerEnvironment()
    {
    }

    /**
     * @param spec      the launch.
     * @param localRank the worker's rank on this host.
     * @param parent    the launcher's own environment, inherited by the worker.
     * @param cores     processors available on this host.
     * @return the worker's complete environment.
     */
    public static Map<String, String> of(
        final LaunchSpec spec, final int localRank, final Map<String, String> parent, final int cores)
    {
        final Map<String, String> env = new TreeMap<>(parent);
        env.put("RANK", Integer.toString(spec.globalRank(localRank)));
        env.put("WORLD_SIZE", Integer.toString(spec.worldSize()));
        env.put("LOCAL_RANK", Integer.toString(localRank));
        env.put("LOCAL_WORLD_SIZE", Integer.toString(spec.nprocPerNode()));
        env.put("NODE_RANK", Integer.toString(spec.nodeRank()));
        env.put("MASTER_ADDR", spec.masterAddress());
        env.put("MASTER_PORT", Integer.toString(spec.masterPort()));
        env.put("ACCELERATE_AERON_DIR", spec.aeronDir());
        env.put("ACCELERATE_JOB_TOKEN", spec.jobToken());
        env.put("ACCELERATE_RESTART_COUNT", Integer.toString(spec.restartCount()));

        // More native threads than cores is ruinous (measured: two workers with 2 threads each on 2 cores ran
        // ~10x slower), so split the host's cores unless the user chose a number.
        if (!parent.containsKey("OMP_NUM_THREADS"))
        {
            env.put("OMP_NUM_THREADS", Integer.toString(Math.max(1, cores / spec.nprocPerNode())));
        }

        // The launcher alone says which GPU a worker has: one inherited from an outer job must not survive.
        env.remove(GpuSupport.ASSIGNED_GPU);
        if (!spec.gpus().isEmpty())
        {
            final String device = spec.gpus().get(localRank);
            // One GPU visible is the only binding ND4J cannot undo: its native start-up touches every visible GPU.
            env.put("CUDA_VISIBLE_DEVICES", device);
            if (!device.isEmpty())
            {
                env.put(GpuSupport.ASSIGNED_GPU, device);
                // CUDA's default order (fastest first) differs from nvidia-smi's; a scheduler's index means the latter.
                env.putIfAbsent("CUDA_DEVICE_ORDER", "PCI_BUS_ID");
            }
        }

        final String userOptions = parent.getOrDefault("JDK_JAVA_OPTIONS", "").strip();
        final String withAeron = userOptions.contains("java.base/jdk.internal.misc=ALL-UNNAMED") ? userOptions :
            append(userOptions, AERON_JVM_FLAGS);
        env.put("JDK_JAVA_OPTIONS", VECTOR_API_PRESENT && !withAeron.contains("jdk.incubator.vector") ?
            append(withAeron, VECTOR_JVM_FLAGS) : withAeron);
        return env;
    }

    private static String append(final String options, final String flags)
    {
        return options.isEmpty() ? flags : options + " " + flags;
    }
}
