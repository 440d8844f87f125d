package dev.dl4j.accelerate.launch;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import dev.dl4j.accelerate.InvalidConfigurationException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * How the launcher splits the host's CPUs among its workers: whole cores to one rank, as equal as they divide;
 * and that real workers started by the launcher run where they were put.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class CpuBindingTest
{
    @TempDir
    Path dir;

    @Test
    void shouldRunEachLaunchedWorkerOnCpusOfItsOwn() throws IOException
    {
        final List<Integer> allowed = allowedCpus();
        final CliResult result = launch();
        assertEquals(0, result.code, result.err);
        final List<Integer> first = CpuBinding.parseList(seenBy(0));
        final List<Integer> second = CpuBinding.parseList(seenBy(1));
        if (allowed.size() < 2)
        {
            assertEquals(allowed, first, "one CPU: nothing to bind");
            return;
        }
        assertTrue(allowed.containsAll(first) && allowed.containsAll(second), first + " " + second + " of " + allowed);
        final List<Integer> shared = new ArrayList<>(first);
        shared.retainAll(second);
        assertTrue(shared.isEmpty(), "ranks share CPUs " + shared + ": " + first + " and " + second);
        // The launcher says where it put each rank.
        final Matcher said = Pattern.compile("accelerate: local rank (\\d): CPUs ([0-9,]+)").matcher(result.err);
        final List<List<Integer>> announced = new ArrayList<>();
        while (said.find())
        {
            assertEquals(announced.size(), Integer.parseInt(said.group(1)), result.err);
            announced.add(CpuBinding.parseList(said.group(2)));
        }
        assertEquals(List.of(first, second), announced, result.err);
    }

    @Test
    void shouldLeaveLaunchedWorkersUnboundWhenTold() throws IOException
    {
        final List<Integer> allowed = allowedCpus();
        final CliResult result = launch("--cpu-bind", "none");
        assertEquals(0, result.code, result.err);
        assertEquals(allowed, CpuBinding.parseList(seenBy(0)));
        assertEquals(allowed, CpuBinding.parseList(seenBy(1)));
        assertFalse(result.err.contains("CPUs"), result.err);
    }

    @Test
    void shouldStartNothingForAnUnknownMode()
    {
        final CliResult result = launch("--cpu-bind", "socket");
        assertEquals(2, result.code);
        assertTrue(result.err.contains("--cpu-bind 'socket' must be auto or none"), result.err);
        assertFalse(Files.exists(dir.resolve("rank0")), "a worker was started");
    }

    @Test
    void shouldGiveEachRankWholeCoresWithTheirHyperthreads()
    {
        // Four cores with two hyperthreads each, numbered as Linux does on most x86 hosts: siblings N apart.
        final List<List<Integer>> cores = List.of(List.of(0, 4), List.of(1, 5), List.of(2, 6), List.of(3, 7));
        assertEquals(List.of("0,1,4,5", "2,3,6,7"), CpuBinding.split(2, cores));
        assertEquals(List.of("0,4", "1,5", "2,6", "3,7"), CpuBinding.split(4, cores));
    }

    @Test
    void shouldGiveTheFirstRanksTheCoresThatDoNotDivide()
    {
        final List<List<Integer>> cores = List.of(List.of(0), List.of(1), List.of(2), List.of(3), List.of(4));
        assertEquals(List.of("0,1", "2,3", "4"), CpuBinding.split(3, cores));
    }

    @Test
    void shouldBindHyperthreadsWhenCoresAreFewerThanRanks()
    {
        assertEquals(List.of("0,2", "1", "3"), CpuBinding.split(3, List.of(List.of(0, 2), List.of(1, 3))));
    }

    @Test
    void shouldBindNothingWhenCpusAreFewerThanRanks()
    {
        assertEquals(List.of(), CpuBinding.split(4, List.of(List.of(0), List.of(1))));
    }

    @Test
    void shouldReadLinuxCpuLists()
    {
        assertEquals(List.of(0, 1, 2, 3, 8, 10, 11), CpuBinding.parseList("0-3,8,10-11\n"));
        assertEquals(List.of(5), CpuBinding.parseList("5"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> CpuBinding.parseList("3-1")).getMessage()
            .contains("CPU list '3-1' has a bad range '3-1'"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> CpuBinding.parseList("0-x")).getMessage()
            .contains("CPU list '0-x' is not a list"));
    }

    @Test
    void shouldRefuseAnUnknownModeAndBindNothingWhenToldOrAlone()
    {
        final ByteArrayOutputStream err = new ByteArrayOutputStream();
        final PrintStream stream = new PrintStream(err, true, StandardCharsets.UTF_8);
        final String path = System.getenv("PATH");
        assertEquals("--cpu-bind 'cores' must be auto or none", assertThrows(InvalidConfigurationException.class,
            () -> CpuBinding.plan("cores", 2, path, stream)).getMessage());
        assertEquals(List.of(), CpuBinding.plan("none", 2, path, stream));
        assertEquals(List.of(), CpuBinding.plan("auto", 1, path, stream));
        assertEquals("", err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void shouldSayWhyWorkersAreNotBoundWithoutTaskset()
    {
        final ByteArrayOutputStream err = new ByteArrayOutputStream();
        final List<String> cpus = CpuBinding.plan("auto", 2, "/nonexistent",
            new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(List.of(), cpus);
        if (Runtime.getRuntime().availableProcessors() >= 2)
        {
            assertTrue(err.toString(StandardCharsets.UTF_8).contains("accelerate: warning: taskset (util-linux) is " +
                "not on PATH=/nonexistent, so the workers are not bound to cores of their own"), err.toString());
        }
    }

    private CliResult launch(final String... flags)
    {
        final List<String> args = new ArrayList<>(List.of("launch", "-n", "2", "--master-port", "0"));
        args.addAll(List.of(flags));
        args.addAll(List.of("--", "sh", "-c",
            "grep '^Cpus_allowed_list:' /proc/self/status | cut -f2 > " + dir + "/rank$LOCAL_RANK"));
        return CliResult.run(Map.of(), args.toArray(String[]::new));
    }

    private String seenBy(final int localRank) throws IOException
    {
        return Files.readString(dir.resolve("rank" + localRank)).strip();
    }

    private static List<Integer> allowedCpus() throws IOException
    {
        for (final String line : Files.readAllLines(Path.of("/proc/self/status")))
        {
            if (line.startsWith("Cpus_allowed_list:"))
            {
                return CpuBinding.parseList(line.substring("Cpus_allowed_list:".length()));
            }
        }
        throw new IllegalStateException("no Cpus_allowed_list in /proc/self/status");
    }
}
