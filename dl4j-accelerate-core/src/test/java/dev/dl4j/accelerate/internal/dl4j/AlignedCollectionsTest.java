package dev.dl4j.accelerate.internal.dl4j;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Each collector in a JVM of its own (the collector is chosen at start), with a young generation small enough for
 * 2000 steps of 512 KiB to fill it about twenty times.
 */
class AlignedCollectionsTest
{
    private static final Pattern RESULT = Pattern.compile("RESULT natural=(\\d+) forced=(\\d+) missed=(\\d+)");

    /** These two start a young collection when the eden is full: every one can be announced a step ahead. */
    @ParameterizedTest
    @ValueSource(strings = { "-XX:+UseSerialGC", "-XX:+UseParallelGC" })
    void shouldAnnounceEveryCollectionAStepAheadAndBringItForward(final String collector) throws Exception
    {
        final long[] counts = run(collector);
        assertEquals(0, counts[0], "collections that came unannounced");
        assertTrue(counts[1] >= 15, "collections brought forward: " + counts[1]);
        assertEquals(0, counts[2], "collections asked for that did not come");
    }

    /**
     * A rank whose peer is due while its own eden is only 40% full must still follow: under these two collectors
     * every rank's eden is the same size, so a rank that gave up would stay that far apart for good.
     */
    @ParameterizedTest
    @ValueSource(strings = { "-XX:+UseSerialGC", "-XX:+UseParallelGC" })
    void shouldFollowAPeerFarAheadWithEqualEdens(final String collector) throws Exception
    {
        final long[] counts = run(collector, "0.6");
        assertEquals(0, counts[0], "collections that came on their own instead of with the peer's");
        assertTrue(counts[1] >= 15, "collections brought forward: " + counts[1]);
        assertEquals(0, counts[2], "collections asked for that did not come");
    }

    @Test
    void shouldLearnWhereG1StartsAndBringMostCollectionsForward() throws Exception
    {
        // G1 starts before its eden's committed size, and moves that point: the first collections teach it.
        final long[] counts = run("-XX:+UseG1GC");
        assertTrue(counts[1] >= 10 && counts[1] > 3 * counts[0],
            "brought forward " + counts[1] + ", came on their own " + counts[0]);
    }

    @Test
    void shouldLeaveCollectorsWithoutYoungPausesAlone() throws Exception
    {
        // The JVM may print notes of its own first (e.g. "Picked up JDK_JAVA_OPTIONS").
        final String output = output("-XX:+UseZGC");
        assertTrue(output.lines().anyMatch("RESULT unsupported"::equals), "child printed: " + output);
    }

    private static long[] run(final String collector, final String... behind) throws Exception
    {
        final String output = output(collector, behind);
        final Matcher matcher = RESULT.matcher(output);
        assertTrue(matcher.find(), "child printed: " + output);
        return new long[] { Long.parseLong(matcher.group(1)), Long.parseLong(matcher.group(2)),
            Long.parseLong(matcher.group(3)) };
    }

    private static String output(final String collector, final String... behind) throws IOException, InterruptedException
    {
        final List<String> command = new ArrayList<>(List.of(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m", "-Xmn64m", collector,
            "-cp", System.getProperty("java.class.path"), CollectionSteps.class.getName(), "2000"));
        command.addAll(List.of(behind));
        final Process child = new ProcessBuilder(command)
            .redirectErrorStream(true)
            .start();
        try
        {
            assertTrue(child.waitFor(60, TimeUnit.SECONDS), "the child JVM did not finish within 60 s");
            final String output = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            assertEquals(0, child.exitValue(), output);
            return output;
        }
        finally
        {
            child.destroyForcibly();
        }
    }
}
