package dev.dl4j.accelerate.launch;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

import dev.dl4j.accelerate.InvalidConfigurationException;

/**
 * Which GPU each local rank gets: a pure function of the launcher's flags, {@code CUDA_VISIBLE_DEVICES} as the
 * launcher found it and what discovery found, so every rule is unit-tested without a GPU.
 *
 * <p>Binding happens here, before any worker JVM starts, because nothing inside the JVM can do it: ND4J's
 * native initialisation touches every visible GPU, and {@code AffinityManager.unsafeSetDevice} binds only the
 * calling thread. A worker that sees one GPU cannot touch another.
 *
 * @param nprocPerNode the number of workers on this host.
 * @param devices      per local rank, its {@code CUDA_VISIBLE_DEVICES} entry (empty entry: every GPU hidden);
 *                     an empty list leaves the variable as the launcher found it (no GPU on this host).
 * @param report       lines the launcher prints: which rank got which GPU.
 * @param gpus         the distinct GPUs given to ranks that discovery knows (a scheduler's index may be unknown).
 */
record GpuPlan(int nprocPerNode, List<String> devices, List<String> report, List<GpuSupport.Gpu> gpus)
{
    static final String VISIBLE_DEVICES = "CUDA_VISIBLE_DEVICES";
    static final String SHARE_FLAG = "--oversubscribe-gpus";

    GpuPlan
    {
        devices = List.copyOf(devices);
        report = List.copyOf(report);
        gpus = List.copyOf(gpus);
    }

    /**
     * @param nproc          {@code --nproc-per-node}, or null when not given.
     * @param gpusOption     {@code --gpus}: a count or {@code all}; null when not given.
     * @param gpuIdsOption   {@code --gpu-ids}: indices or UUIDs, comma-separated; null when not given.
     * @param oversubscribe  {@value #SHARE_FLAG}: more ranks than GPUs may share them.
     * @param visibleDevices {@code CUDA_VISIBLE_DEVICES} in the launcher's environment (a scheduler's choice), or null.
     * @param inventory      what discovery found; null when no {@link GpuSupport} is on the class path.
     * @return the plan.
     * @throws InvalidConfigurationException naming the flag or variable and its value, when they cannot be met.
     */
    static GpuPlan assign(
        final Integer nproc,
        final String gpusOption,
        final String gpuIdsOption,
        final boolean oversubscribe,
        final String visibleDevices,
        final GpuSupport.Inventory inventory)
    {
        checkFlags(nproc, gpusOption, gpuIdsOption, oversubscribe);
        final int count = parseCount(gpusOption);
        final boolean explicit = gpusOption != null || gpuIdsOption != null;
        if (count == 0)
        {
            final int n = require(nproc, "--gpus 0 starts CPU workers");
            return new GpuPlan(n, Collections.nCopies(n, ""), List.of("GPUs hidden from every worker (--gpus 0): " + VISIBLE_DEVICES + "=''"),
                List.of());
        }

        final String noGpu = noGpuReason(inventory, visibleDevices);
        if (noGpu != null)
        {
            if (explicit)
            {
                throw new InvalidConfigurationException((gpusOption != null ? "--gpus " + gpusOption :
                    "--gpu-ids " + gpuIdsOption) + " asks for GPUs, but " + noGpu);
            }
            return untouched(require(nproc, noGpu));
        }

        final List<String> pool;
        final String poolName;
        if (visibleDevices != null)
        {
            if (gpuIdsOption != null)
            {
                throw new InvalidConfigurationException("--gpu-ids " + gpuIdsOption + " and " + VISIBLE_DEVICES + "=" +
                    visibleDevices + " (from the environment, e.g. the scheduler) both choose GPUs; give one of them");
            }
            pool = parseVisible(visibleDevices);
            poolName = VISIBLE_DEVICES + "=" + visibleDevices + " (from the environment)";
        }
        else
        {
            pool = inventory.gpus().stream().map(GpuSupport.Gpu::uuid).toList();
            poolName = "this host (found by " + inventory.source() + ")";
        }

        List<String> selected;
        if (gpuIdsOption != null)
        {
            selected = resolveIds(gpuIdsOption, inventory, oversubscribe);
        }
        else if (count > 0)
        {
            if (count > pool.size())
            {
                throw new InvalidConfigurationException("--gpus " + count + " asks for more GPUs than the " + pool.size() +
                    " of " + poolName);
            }
            selected = pool.subList(0, count);
        }
        else
        {
            selected = pool;
        }

        final int n = nproc != null ? nproc : selected.size();
        final String chosen = gpuIdsOption != null ? "--gpu-ids " + gpuIdsOption : gpusOption != null ?
            "--gpus " + gpusOption + " of " + poolName : poolName;
        if (n < selected.size())
        {
            if (explicit)
            {
                throw new InvalidConfigurationException("--nproc-per-node " + n + " is fewer ranks than the " +
                    selected.size() + " GPUs from " + chosen + ": one rank per GPU, so give as many ranks as GPUs");
            }
            selected = selected.subList(0, n);
        }
        if (n > selected.size() && !oversubscribe)
        {
            throw new InvalidConfigurationException("--nproc-per-node " + n + " asks for more ranks than there are " +
                "GPUs: " + selected.size() + " from " + chosen + "; one rank per GPU is the model: give " + SHARE_FLAG +
                " to let ranks share GPUs (local rank i gets GPU i mod " + selected.size() +
                "), or --gpus 0 for CPU workers");
        }

        final List<String> devices = new ArrayList<>();
        final List<String> report = new ArrayList<>();
        final List<GpuSupport.Gpu> gpus = new ArrayList<>();
        for (int localRank = 0; localRank < n; localRank++)
        {
            final String device = selected.get(localRank % selected.size());
            devices.add(device);
            final GpuSupport.Gpu gpu = byUuid(inventory, device);
            report.add("local rank " + localRank + ": " + VISIBLE_DEVICES + "=" + device +
                (gpu != null ? " (GPU " + gpu.index() + ", " + gpu.name() + ")" : ""));
            if (gpu != null && !gpus.contains(gpu))
            {
                gpus.add(gpu);
            }
        }
        return new GpuPlan(n, devices, report, gpus);
    }

    /**
     * The checks of the launcher's flags that need no GPU discovery, so that a mistyped flag is refused at once
     * rather than after discovery (which may wait on nvidia-smi for up to its timeout).
     *
     * @param nproc         {@code --nproc-per-node}, or null.
     * @param gpusOption    {@code --gpus}, or null.
     * @param gpuIdsOption  {@code --gpu-ids}, or null.
     * @param oversubscribe {@value #SHARE_FLAG}.
     * @throws InvalidConfigurationException naming the flag and its value.
     */
    static void checkFlags(
        final Integer nproc, final String gpusOption, final String gpuIdsOption, final boolean oversubscribe)
    {
        if (nproc != null && nproc < 1)
        {
            throw new InvalidConfigurationException("--nproc-per-node " + nproc + " must be at least 1");
        }
        if (gpusOption != null && gpuIdsOption != null)
        {
            throw new InvalidConfigurationException("--gpus " + gpusOption + " and --gpu-ids " + gpuIdsOption +
                " both choose GPUs; give one of them");
        }
        parseCount(gpusOption);
        if (gpuIdsOption != null)
        {
            parseList(gpuIdsOption, "--gpu-ids " + gpuIdsOption, oversubscribe);
        }
    }

    /**
     * Splits a {@code CUDA_VISIBLE_DEVICES} value the way CUDA reads it, but refuses what CUDA would silently
     * cut short: CUDA stops at the first entry it cannot read and hides every GPU from there on.
     *
     * @param value the variable's value.
     * @return its entries; empty for the values that hide every GPU ({@code ""}, {@code -1}, Slurm's {@code NoDevFiles}).
     */
    static List<String> parseVisible(final String value)
    {
        final String trimmed = value.trim();
        if (trimmed.isEmpty() || trimmed.equals("-1") || trimmed.equals("NoDevFiles"))
        {
            return List.of();
        }
        return parseList(trimmed, VISIBLE_DEVICES + "=" + value + " (from the environment)", false);
    }

    private static List<String> parseList(final String value, final String where, final boolean oversubscribe)
    {
        final List<String> entries = new ArrayList<>();
        final Set<String> seen = new HashSet<>();
        final String[] parts = value.split(",", -1);
        for (int i = 0; i < parts.length; i++)
        {
            final String entry = parts[i].trim();
            if (entry.isEmpty())
            {
                throw new InvalidConfigurationException(where + ": entry " + (i + 1) + " is empty");
            }
            if (!entry.matches("\\d{1,4}") && !entry.startsWith("GPU-") && !entry.startsWith("MIG-"))
            {
                throw new InvalidConfigurationException(where + ": '" + entry +
                    "' is neither a GPU index nor a GPU-/MIG- UUID");
            }
            if (!seen.add(entry.toLowerCase(Locale.ROOT)) && !oversubscribe)
            {
                throw new InvalidConfigurationException(where + ": lists '" + entry + "' twice; one rank per GPU, " +
                    "unless " + SHARE_FLAG + " is given");
            }
            entries.add(entry);
        }
        return entries;
    }

    /**
     * Turns {@code --gpu-ids} into UUIDs, so a worker's GPU does not depend on how CUDA orders devices.
     */
    private static List<String> resolveIds(
        final String ids, final GpuSupport.Inventory inventory, final boolean oversubscribe)
    {
        final String where = "--gpu-ids " + ids;
        final List<String> uuids = new ArrayList<>();
        for (final String entry : parseList(ids, where, oversubscribe))
        {
            if (entry.startsWith("MIG-"))
            {
                // MIG instances are not listed by discovery; CUDA checks them.
                uuids.add(entry);
                continue;
            }
            final GpuSupport.Gpu gpu = entry.startsWith("GPU-") ? byUuid(inventory, entry) : byIndex(inventory, entry);
            if (gpu == null)
            {
                final StringBuilder found = new StringBuilder();
                inventory.gpus().forEach(g -> found.append("\n    ").append(g.describe()));
                throw new InvalidConfigurationException(where + ": no GPU '" + entry + "' on this host; " +
                    inventory.source() + " found " + inventory.gpus().size() + ":" + found);
            }
            uuids.add(gpu.uuid());
        }
        return uuids;
    }

    private static GpuSupport.Gpu byIndex(final GpuSupport.Inventory inventory, final String index)
    {
        final int wanted = Integer.parseInt(index);
        return inventory.gpus().stream().filter(gpu -> gpu.index() == wanted).findFirst().orElse(null);
    }

    private static GpuSupport.Gpu byUuid(final GpuSupport.Inventory inventory, final String uuid)
    {
        return inventory == null ? null :
            inventory.gpus().stream().filter(gpu -> gpu.uuid().equalsIgnoreCase(uuid)).findFirst().orElse(null);
    }

    /**
     * @return why this launch has no GPU to give, or null if it has some.
     */
    private static String noGpuReason(final GpuSupport.Inventory inventory, final String visibleDevices)
    {
        if (inventory == null)
        {
            return "GPUs were not looked for: dl4j-accelerate-cuda is not on the launcher's class path";
        }
        if (!inventory.problem().isEmpty())
        {
            // A GPU host whose discovery failed: starting CPU workers would leave ND4J free to use every GPU.
            throw new InvalidConfigurationException("GPU discovery failed: " + inventory.problem() +
                "; give --gpus 0 to start CPU workers with the GPUs hidden");
        }
        if (inventory.gpus().isEmpty())
        {
            return "no GPU was found (" + inventory.source() + ")";
        }
        if (visibleDevices != null && parseVisible(visibleDevices).isEmpty())
        {
            return VISIBLE_DEVICES + "='" + visibleDevices + "' in the environment hides every GPU";
        }
        return null;
    }

    private static int parseCount(final String gpusOption)
    {
        if (gpusOption == null || gpusOption.equalsIgnoreCase("all"))
        {
            return -1;
        }
        try
        {
            final int count = Integer.parseInt(gpusOption.trim());
            if (count >= 0)
            {
                return count;
            }
        }
        catch (final NumberFormatException ex)
        {
            // reported below with the flag's name
        }
        throw new InvalidConfigurationException("--gpus " + gpusOption + " must be a number of GPUs (0 for none) or 'all'");
    }

    private static int require(final Integer nproc, final String why)
    {
        if (nproc == null)
        {
            throw new InvalidConfigurationException("--nproc-per-node is needed: " + why +
                ", so there is no GPU count to default to");
        }
        return nproc;
    }

    private static GpuPlan untouched(final int nproc)
    {
        return new GpuPlan(nproc, List.of(), List.of(), List.of());
    }
}
