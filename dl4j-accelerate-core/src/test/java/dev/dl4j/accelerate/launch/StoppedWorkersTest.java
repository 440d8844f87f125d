package dev.dl4j.accelerate.launch;

import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(value = 10, unit = TimeUnit.SECONDS)
class StoppedWorkersTest
{
    private static final long LIMIT_NS = TimeUnit.SECONDS.toNanos(2);
    private static final long LOOK_NS = TimeUnit.MILLISECONDS.toNanos(100);

    @Test
    void shouldFlagAWorkerSeenStoppedAtEveryLookForLongerThanTheLimit()
    {
        final StoppedWorkers watch = new StoppedWorkers(2, LIMIT_NS);
        long now = 1_000;
        for (int look = 0; look <= 20; look++, now += LOOK_NS)
        {
            assertFalse(watch.stoppedTooLong(0, true, now), "flagged after " + look + " looks");
            assertFalse(watch.stoppedTooLong(1, false, now));
        }
        assertTrue(watch.stoppedTooLong(0, true, now));
        assertFalse(watch.stoppedTooLong(1, false, now), "a running worker is never flagged");
    }

    @Test
    void shouldFlagAStoppedWorkerUnderTheShortestPeerTimeout()
    {
        // ACCELERATE_PEER_TIMEOUT_MS=200, looks a little over 100 ms apart as the launcher's are.
        final long limitNs = TimeUnit.MILLISECONDS.toNanos(200);
        final StoppedWorkers watch = new StoppedWorkers(1, limitNs);
        long now = 0;
        boolean flagged = false;
        for (int look = 0; look < 5 && !flagged; look++, now += LOOK_NS + TimeUnit.MILLISECONDS.toNanos(5))
        {
            flagged = watch.stoppedTooLong(0, true, now);
        }
        assertTrue(flagged, "a worker stopped for 400 ms was not flagged under a 200 ms limit");
    }

    @Test
    void shouldStartCountingAgainWhenAWorkerRunsInBetween()
    {
        final StoppedWorkers watch = new StoppedWorkers(1, LIMIT_NS);
        long now = 0;
        for (int look = 0; look < 15; look++, now += LOOK_NS)
        {
            watch.stoppedTooLong(0, true, now);
        }
        // Continued for a moment (a debugger's step, fg after Ctrl-Z), then stopped again.
        watch.stoppedTooLong(0, false, now);
        now += LOOK_NS;
        for (int look = 0; look < 15; look++, now += LOOK_NS)
        {
            assertFalse(watch.stoppedTooLong(0, true, now), "the stop before it ran again counted");
        }
    }

    @Test
    void shouldNotCountTimeTheLauncherItselfWasNotRunning()
    {
        final StoppedWorkers watch = new StoppedWorkers(1, LIMIT_NS);
        watch.stoppedTooLong(0, true, 0);
        // The launcher was stopped with its workers (Ctrl-Z) and looks again only 10 s later.
        final long later = TimeUnit.SECONDS.toNanos(10);
        assertFalse(watch.stoppedTooLong(0, true, later));
        assertFalse(watch.stoppedTooLong(0, true, later + LIMIT_NS / 4));
        long now = later + LIMIT_NS / 4;
        while (now < later + LIMIT_NS)
        {
            now += LOOK_NS;
            assertFalse(watch.stoppedTooLong(0, true, now));
        }
        assertTrue(watch.stoppedTooLong(0, true, now + LOOK_NS));
    }
}
