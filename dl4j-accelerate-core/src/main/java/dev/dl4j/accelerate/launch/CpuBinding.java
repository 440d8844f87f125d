package dev.dl4j.accelerate.launch;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Collectors;

import dev.dl4j.accelerate.InvalidConfigurationException;

/**
 * Which CPUs each local rank may run on ({@code --cpu-bind}): by default each of two or more workers gets cores of
 * its own, applied by starting it under {@code taskset -c}, as {@code mpirun} binds two ranks to a core each.
 *
 * <p>Why: the ranks of a data-parallel job step in lock-step, so every time the scheduler moves a rank's training
 * thread to the other rank's core, or lets one rank's helper threads (JIT, collector, deallocators) take the other's
 * core, the whole job waits. Measured on a 2-core machine, 2-rank MLP training at global batch 64 (3 alternating
 * rounds): bound 13,992 / 13,952 / 16,380 samples/s, unbound 11,895 / 12,864 / 13,372; two independent processes
 * gained less from the same binding (15,216 / 16,728 / 17,393 against 14,442 / 16,798 / 15,294).
 *
 * <p>Whole cores go to one rank (hyperthreads of a core stay together), in blocks of consecutive cores, as equal
 * as they divide; a host with fewer cores than ranks binds hyperthreads, and one with fewer CPUs than ranks binds
 * nothing. The launcher takes the host as its own (it gives each worker {@code cores / ranks} ND4J threads too):
 * jobs sharing a host should pass {@code --cpu-bind none}, or their ranks would share the same cores.
 */
final class CpuBinding
{
    /** The flag's value that binds when it can. */
    static final String AUTO = "auto";
    /** The flag's value that leaves placement to the operating system. */
    static final String NONE = "none";
    private static final Path STATUS = Path.of("/proc/self/status");
    private static final Path CPUS = Path.of("/sys/devices/system/cpu");
    private static final String ALLOWED = "Cpus_allowed_list:";

    private CpuBinding()
    {
    }

    /**
     * Decides the binding of this host's workers, before anything starts.
     *
     * @param mode         the value of {@code --cpu-bind}.
     * @param nprocPerNode workers on this host.
     * @param path         the launcher's PATH, where {@code taskset} is looked for.
     * @param err          where a binding that cannot be applied is explained.
     * @return per local rank, the CPU list to bind it to (for {@code taskset -c}); empty to bind none.
     * @throws InvalidConfigurationException naming the flag when its value is neither auto nor none.
     */
    static List<String> plan(final String mode, final int nprocPerNode, final String path, final PrintStream err)
    {
        if (NONE.equals(mode))
        {
            return List.of();
        }
        if (!AUTO.equals(mode))
        {
            throw new InvalidConfigurationException("--cpu-bind '" + mode + "' must be " + AUTO + " or " + NONE);
        }
        // One worker has nobody to be kept apart from; and there is nothing to read off Linux.
        if (nprocPerNode < 2 || !Files.isReadable(STATUS))
        {
            return List.of();
        }
        final List<String> cpus;
        try
        {
            cpus = split(nprocPerNode, cores(allowedCpus()));
        }
        catch (final IllegalStateException | IllegalArgumentException ex)
        {
            err.println("accelerate: warning: the workers are not bound to cores of their own: " + ex.getMessage());
            return List.of();
        }
        if (!cpus.isEmpty() && !AccelerateCli.onPath("taskset", path))
        {
            err.println("accelerate: warning: taskset (util-linux) is not on PATH=" + path + ", so the workers are not " +
                "bound to cores of their own; install it, or pass --cpu-bind none");
            return List.of();
        }
        return cpus;
    }

    /**
     * @param ranks workers on this host.
     * @param cores the allowed CPUs grouped by core, cores in order.
     * @return per rank, its CPUs as a {@code taskset -c} list: consecutive cores, as equal in number as they divide
     *         (the first ranks take one more); hyperthreads when there are fewer cores than ranks; empty when there
     *         are fewer CPUs than ranks.
     */
    static List<String> split(final int ranks, final List<List<Integer>> cores)
    {
        final List<List<Integer>> units;
        if (cores.size() >= ranks)
        {
            units = cores;
        }
        else
        {
            units = new ArrayList<>();
            cores.forEach(core -> core.forEach(cpu -> units.add(List.of(cpu))));
            if (units.size() < ranks)
            {
                return List.of();
            }
        }
        final List<String> lists = new ArrayList<>(ranks);
        int next = 0;
        for (int rank = 0; rank < ranks; rank++)
        {
            final int count = units.size() / ranks + (rank < units.size() % ranks ? 1 : 0);
            final TreeSet<Integer> mine = new TreeSet<>();
            for (int i = 0; i < count; i++)
            {
                mine.addAll(units.get(next++));
            }
            lists.add(mine.stream().map(String::valueOf).collect(Collectors.joining(",")));
        }
        return lists;
    }

    /**
     * @param list a Linux CPU list such as {@code 0-3,8-11}.
     * @return its CPUs in ascending order.
     * @throws IllegalArgumentException naming the list when it is malformed.
     */
    static List<Integer> parseList(final String list)
    {
        final TreeSet<Integer> cpus = new TreeSet<>();
        try
        {
            for (final String part : list.strip().split(","))
            {
                final int dash = part.indexOf('-');
                final int first = Integer.parseInt(dash < 0 ? part : part.substring(0, dash));
                final int last = dash < 0 ? first : Integer.parseInt(part.substring(dash + 1));
                if (first < 0 || last < first)
                {
                    throw new IllegalArgumentException("CPU list '" + list + "' has a bad range '" + part + "'");
                }
                for (int cpu = first; cpu <= last; cpu++)
                {
                    cpus.add(cpu);
                }
            }
        }
        catch (final NumberFormatException ex)
        {
            throw new IllegalArgumentException("CPU list '" + list + "' is not a list of CPU numbers and ranges", ex);
        }
        return List.copyOf(cpus);
    }

    /**
     * @return the CPUs this process may run on (its affinity, which a container's cpuset narrows).
     */
    private static List<Integer> allowedCpus()
    {
        try
        {
            for (final String line : Files.readAllLines(STATUS))
            {
                if (line.startsWith(ALLOWED))
                {
                    return parseList(line.substring(ALLOWED.length()));
                }
            }
            throw new IllegalStateException(STATUS + " has no " + ALLOWED + " line");
        }
        catch (final IOException ex)
        {
            throw new IllegalStateException("cannot read " + STATUS + ": " + ex.getMessage(), ex);
        }
    }

    /**
     * @param cpus allowed CPUs in ascending order.
     * @return them grouped by physical core (package and core id from sysfs; a CPU whose topology cannot be read is
     *         a core of its own), cores in the order of their lowest CPU.
     */
    private static List<List<Integer>> cores(final List<Integer> cpus)
    {
        final Map<String, List<Integer>> byCore = new LinkedHashMap<>();
        for (final int cpu : cpus)
        {
            final Path topology = CPUS.resolve("cpu" + cpu).resolve("topology");
            String key;
            try
            {
                key = Files.readString(topology.resolve("physical_package_id")).strip() + ":" +
                    Files.readString(topology.resolve("core_id")).strip();
            }
            catch (final IOException ex)
            {
                key = "cpu" + cpu;
            }
            byCore.computeIfAbsent(key, k -> new ArrayList<>()).add(cpu);
        }
        return List.copyOf(byCore.values());
    }
}
