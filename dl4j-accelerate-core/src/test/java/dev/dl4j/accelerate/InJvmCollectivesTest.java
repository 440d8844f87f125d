package dev.dl4j.accelerate;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class InJvmCollectivesTest
{
    @ParameterizedTest
    @ValueSource(ints = { 2, 3, 5 })
    void shouldReleaseBarrierOnlyWhenAllRanksArrive(final int worldSize) throws Exception
    {
        final AtomicInteger arrived = new AtomicInteger();
        try (InJvmGroup group = new InJvmGroup(worldSize, worldSize, Duration.ofSeconds(20)))
        {
            final List<Integer> seenOnLeaving = group.run(acc ->
            {
                for (int round = 1; round <= 50; round++)
                {
                    arrived.incrementAndGet();
                    acc.waitForEveryone();
                    if (arrived.get() < round * worldSize)
                    {
                        return arrived.get();
                    }
                    acc.waitForEveryone();
                }
                return arrived.get();
            });
            for (final int seen : seenOnLeaving)
            {
                assertEquals(50 * worldSize, seen);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(ints = { 2, 3, 4 })
    void shouldReturnTrueOnEveryRankInTheSameCallWhenOneRankSetsTheTrigger(final int worldSize) throws Exception
    {
        try (InJvmGroup group = new InJvmGroup(worldSize, worldSize, Duration.ofSeconds(20)))
        {
            final List<List<Integer>> fired = group.run(acc ->
            {
                final List<Integer> iterations = new ArrayList<>();
                for (int i = 0; i < 30; i++)
                {
                    if (acc.processIndex() == worldSize - 1 && (i == 7 || i == 20))
                    {
                        acc.setTrigger();
                    }
                    if (acc.checkTrigger())
                    {
                        iterations.add(i);
                    }
                }
                return iterations;
            });
            for (final List<Integer> iterations : fired)
            {
                assertEquals(List.of(7, 20), iterations);
            }
        }
    }

    @Test
    void shouldBroadcastAndGatherValuesLargerThanOneFrame() throws Exception
    {
        final byte[] big = new byte[1_000_003];
        for (int i = 0; i < big.length; i++)
        {
            big[i] = (byte)(i * 31);
        }
        try (InJvmGroup group = new InJvmGroup(3, 3, Duration.ofSeconds(20)))
        {
            final List<List<String>> results = group.run(acc ->
            {
                final byte[] received = acc.broadcast(acc.processIndex() == 1 ? big : null, 1);
                assertArrayEquals(big, received);
                final String word = acc.broadcast(acc.processIndex() == 2 ? "from two" : null, 2, Codec.STRING);
                assertEquals("from two", word);
                return acc.gather("rank " + acc.processIndex(), 0, Codec.STRING);
            });
            assertEquals(List.of("rank 0", "rank 1", "rank 2"), results.get(0));
            assertEquals(List.of(), results.get(1));
            assertEquals(List.of(), results.get(2));
        }
    }

    @Test
    void shouldRunMainProcessBodyStrictlyBeforeTheOthers() throws Exception
    {
        final ConcurrentLinkedQueue<String> events = new ConcurrentLinkedQueue<>();
        try (InJvmGroup group = new InJvmGroup(3, 3, Duration.ofSeconds(20)))
        {
            group.run(acc ->
            {
                final int rank = acc.processIndex();
                acc.mainProcessFirst(() ->
                {
                    events.add("start " + rank);
                    events.add("end " + rank);
                });
                return null;
            });
        }
        final List<String> order = new ArrayList<>(events);
        assertEquals("start 0", order.get(0));
        assertEquals("end 0", order.get(1));
        assertEquals(6, order.size());
    }

    @Test
    @SuppressWarnings("try")
    void shouldOrderEachHostSeparatelyInLocalMainProcessFirst() throws Exception
    {
        // Two "hosts" of two ranks: the first rank of each host runs first; hosts do not wait for each other.
        final CountDownLatch otherHostsFirstRankStarted = new CountDownLatch(1);
        final ConcurrentLinkedQueue<String> events = new ConcurrentLinkedQueue<>();
        try (InJvmGroup group = new InJvmGroup(4, 2, Duration.ofSeconds(20)))
        {
            group.run(acc ->
            {
                final int rank = acc.processIndex();
                try (Accelerator.Section first = acc.localMainProcessFirst())
                {
                    events.add("body " + rank);
                    if (rank == 2)
                    {
                        otherHostsFirstRankStarted.countDown();
                    }
                    if (rank == 0)
                    {
                        // Host 0's first rank finishes only after host 1's first rank started: no global barrier.
                        await(otherHostsFirstRankStarted);
                    }
                }
                return null;
            });
        }
        final List<String> order = new ArrayList<>(events);
        assertTrue(order.indexOf("body 0") < order.indexOf("body 1"), order.toString());
        assertTrue(order.indexOf("body 2") < order.indexOf("body 3"), order.toString());
        assertTrue(order.indexOf("body 2") < order.indexOf("body 1"), order.toString());
    }

    @Test
    void shouldStopOtherRanksWhenMainProcessBodyFails() throws Exception
    {
        try (InJvmGroup group = new InJvmGroup(2, 2, Duration.ofSeconds(20)))
        {
            final List<String> outcomes = group.run(acc ->
            {
                try
                {
                    acc.mainProcessFirst(() ->
                    {
                        if (acc.isMainProcess())
                        {
                            throw new IllegalStateException("download failed");
                        }
                    });
                    return "ran";
                }
                catch (final AccelerateException ex)
                {
                    return "stopped: " + ex.getMessage();
                }
                catch (final IllegalStateException ex)
                {
                    return "failed: " + ex.getMessage();
                }
            });
            assertEquals("failed: download failed", outcomes.get(0));
            assertTrue(outcomes.get(1).startsWith("stopped: mainProcessFirst"), outcomes.get(1));
        }
    }

    @ParameterizedTest
    @ValueSource(ints = { 3, 4, 5 })
    void shouldTimeOutNamingTheRankThatNeverArrivedThenRefuseFurtherCollectives(final int worldSize) throws Exception
    {
        final int absent = 1;
        final CountDownLatch othersDone = new CountDownLatch(worldSize - 1);
        try (InJvmGroup group = new InJvmGroup(worldSize, worldSize, Duration.ofMillis(1500)))
        {
            final List<String> outcomes = group.run(acc ->
            {
                acc.waitForEveryone();
                if (acc.processIndex() == absent)
                {
                    // Alive (its heartbeats go on) but never calls: the others must time out, not see it leave.
                    await(othersDone);
                    return "skipped";
                }
                final CollectiveTimeoutException ex;
                try
                {
                    ex = assertThrows(CollectiveTimeoutException.class, acc::waitForEveryone);
                }
                finally
                {
                    othersDone.countDown();
                }
                // The ranks time out a little apart: one that returned (and closed) before another timed out would
                // be named missing in that one's message too.
                await(othersDone);
                assertEquals("waitForEveryone", ex.operation());
                assertEquals(2, ex.sequence());
                assertTrue(ex.missingRanks().contains(absent), ex.getMessage());
                assertFalse(ex.missingRanks().contains(acc.processIndex()), ex.getMessage());
                final AccelerateException after = assertThrows(AccelerateException.class, acc::checkTrigger);
                assertTrue(after.getMessage().contains("cannot run another collective"), after.getMessage());
                return ex.getMessage();
            });
            for (int rank = 0; rank < worldSize; rank++)
            {
                if (rank != absent)
                {
                    assertTrue(outcomes.get(rank).contains("rank(s) [" + absent + "] have not arrived"), outcomes.get(rank));
                    assertTrue(outcomes.get(rank).contains("rank " + absent + " between collectives after waitForEveryone #1"),
                        outcomes.get(rank));
                }
            }
        }
    }

    @Test
    void shouldDetectRanksCallingDifferentCollectives() throws Exception
    {
        try (InJvmGroup group = new InJvmGroup(2, 2, Duration.ofSeconds(5)))
        {
            final List<String> outcomes = group.run(acc ->
            {
                try
                {
                    if (acc.isMainProcess())
                    {
                        acc.waitForEveryone();
                    }
                    else
                    {
                        acc.checkTrigger();
                    }
                    return "passed";
                }
                catch (final AccelerateException ex)
                {
                    return ex.getMessage();
                }
            });
            for (final String outcome : outcomes)
            {
                assertTrue(outcome.contains("collective mismatch"), outcome);
                assertTrue(outcome.contains("What each rank called: rank 0 "), outcome);
                assertTrue(outcome.contains("waitForEveryone #1; rank 1 "), outcome);
                assertTrue(outcome.contains("checkTrigger #1"), outcome);
            }
        }
    }

    @Test
    void shouldReportAllReducesOfDifferentLengthsOnEveryRankWithWhatEachPassed() throws Exception
    {
        try (InJvmGroup group = new InJvmGroup(3, 3, Duration.ofSeconds(60)))
        {
            final long start = System.nanoTime();
            final List<String> outcomes = group.run(acc ->
            {
                final INDArray array = Nd4j.ones(DataType.FLOAT, acc.processIndex() == 2 ? 2000 : 1000);
                final AccelerateException ex =
                    assertThrows(AccelerateException.class, () -> acc.allReduce(array, ReduceOp.SUM));
                return ex.getMessage();
            });
            assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(20), "waited for the deadline");
            for (final String outcome : outcomes)
            {
                assertTrue(outcome.contains("What each rank called"), outcome);
                assertTrue(outcome.contains("allReduce #1 (4000 bytes)"), outcome);
                assertTrue(outcome.contains("allReduce #1 (8000 bytes)"), outcome);
            }
        }
    }

    @Test
    void shouldTakeAShorterDeadlineForTheCallsOfOneBody() throws Exception
    {
        final CountDownLatch timedOut = new CountDownLatch(1);
        try (InJvmGroup group = new InJvmGroup(2, 2, Duration.ofSeconds(60)))
        {
            final long start = System.nanoTime();
            final List<String> outcomes = group.run(acc ->
            {
                acc.waitForEveryone();
                if (acc.processIndex() == 1)
                {
                    await(timedOut);
                    return "stayed away";
                }
                try
                {
                    return assertThrows(CollectiveTimeoutException.class,
                        () -> acc.withTimeout(Duration.ofMillis(300), acc::waitForEveryone)).getMessage();
                }
                finally
                {
                    timedOut.countDown();
                }
            });
            assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(20), "waited for the 60 s deadline");
            assertTrue(outcomes.get(0).contains("waitForEveryone #2 timed out after 300 ms"), outcomes.get(0));
            assertTrue(outcomes.get(0).contains("rank(s) [1] have not arrived"), outcomes.get(0));
        }
    }

    @Test
    void shouldFailAtOnceNamingARankThatClosedWhileOthersWaitForIt() throws Exception
    {
        try (InJvmGroup group = new InJvmGroup(3, 3, Duration.ofSeconds(60)))
        {
            final long start = System.nanoTime();
            final List<String> outcomes = group.run(acc ->
            {
                acc.waitForEveryone();
                if (acc.processIndex() == 2)
                {
                    return "left";
                }
                return assertThrows(AccelerateException.class, acc::checkTrigger).getMessage();
            });
            assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(20), "waited for the deadline");
            for (int rank = 0; rank < 2; rank++)
            {
                assertTrue(outcomes.get(rank).contains("rank 2 has closed its Accelerator and left the job"),
                    outcomes.get(rank));
            }
        }
    }

    @Test
    void shouldLeaveNoDriverFilesBehind() throws Exception
    {
        final String directory;
        try (InJvmGroup group = new InJvmGroup(2, 2, Duration.ofSeconds(20)))
        {
            directory = group.directory();
            group.run(acc ->
            {
                acc.waitForEveryone();
                return null;
            });
        }
        assertFalse(new File(directory).exists(), directory);
    }

    private static void await(final CountDownLatch latch)
    {
        try
        {
            assertTrue(latch.await(10, TimeUnit.SECONDS), "latch not released in time");
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(ex);
        }
    }

    static byte[] utf8(final String s)
    {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
