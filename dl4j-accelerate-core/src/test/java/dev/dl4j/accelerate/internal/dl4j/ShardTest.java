package dev.dl4j.accelerate.internal.dl4j;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class ShardTest
{
    @Test
    void shouldGiveEveryRankTheSameNumberOfBatchesWrappingRound()
    {
        assertEquals(List.of(0, 3, 6), drain(7, 0, 3, true));
        assertEquals(List.of(1, 4, 0), drain(7, 1, 3, true));
        assertEquals(List.of(2, 5, 1), drain(7, 2, 3, true));
        assertEquals(List.of(0, 2, 4, 6), drain(7, 0, 2, true));
        assertEquals(List.of(1, 3, 5, 0), drain(7, 1, 2, true));
    }

    @Test
    void shouldCountEachBatchOnceWithoutPadding()
    {
        final List<Integer> all = new ArrayList<>();
        for (int rank = 0; rank < 3; rank++)
        {
            all.addAll(drain(7, rank, 3, false));
        }
        all.sort(Integer::compare);
        assertEquals(List.of(0, 1, 2, 3, 4, 5, 6), all);
    }

    @Test
    void shouldHandleFewerBatchesThanRanksAndNone()
    {
        assertEquals(List.of(0), drain(2, 2, 3, true));
        assertEquals(List.of(), drain(2, 2, 3, false));
        assertEquals(List.of(), drain(0, 1, 3, true));
    }

    @Test
    void shouldStartOverAfterRestart()
    {
        final Shard<Integer> shard = new Shard<>(batches(5).iterator(), 1, 2, true);
        final List<Integer> first = new ArrayList<>();
        while (shard.hasNext())
        {
            first.add(shard.next());
        }
        shard.restart(batches(5).iterator());
        final List<Integer> second = new ArrayList<>();
        while (shard.hasNext())
        {
            second.add(shard.next());
        }
        assertEquals(List.of(1, 3, 0), first);
        assertEquals(first, second);
    }

    private static List<Integer> drain(final int total, final int rank, final int ranks, final boolean even)
    {
        final Shard<Integer> shard = new Shard<>(batches(total).iterator(), rank, ranks, even);
        final List<Integer> served = new ArrayList<>();
        while (shard.hasNext())
        {
            served.add(shard.next());
        }
        return served;
    }

    private static List<Integer> batches(final int total)
    {
        return IntStream.range(0, total).boxed().toList();
    }
}
