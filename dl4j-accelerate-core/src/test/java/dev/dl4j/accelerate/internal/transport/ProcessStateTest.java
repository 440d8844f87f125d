package dev.dl4j.accelerate.internal.transport;

import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertEquals;

@Timeout(value = 10, unit = TimeUnit.SECONDS)
class ProcessStateTest
{
    @Test
    void shouldReadTheStateAfterTheCommandNameWhateverTheNameHolds()
    {
        assertEquals(ProcessState.STOPPED, ProcessState.ofStat("4242 (java) T 1 4242 4242 0 -1"));
        assertEquals(ProcessState.STOPPED, ProcessState.ofStat("4242 (gdb target) t 1 4242"));
        assertEquals(ProcessState.ENDED, ProcessState.ofStat("4242 (a) b) c) Z 1 4242"));
        assertEquals(ProcessState.RUNNING, ProcessState.ofStat("4242 (java) S 1 4242"));
        assertEquals(ProcessState.RUNNING, ProcessState.ofStat("4242 (java) R 1 4242"));
        assertEquals(ProcessState.RUNNING, ProcessState.ofStat("4242 (java) D 1 4242"));
    }

    @Test
    void shouldSeeThisProcessRunningAndAnEndedOneEnded() throws Exception
    {
        assertEquals(ProcessState.RUNNING, ProcessState.of(ProcessHandle.current().pid()));
        final Process child = new ProcessBuilder("true").start();
        child.waitFor();
        assertEquals(ProcessState.ENDED, ProcessState.of(child.pid()));
    }

    @Test
    void shouldSeeAStoppedProcessStopped() throws Exception
    {
        final Process child = new ProcessBuilder("sleep", "30").start();
        try
        {
            assertEquals(0, new ProcessBuilder("kill", "-STOP", Long.toString(child.pid())).start().waitFor());
            final long deadlineNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (ProcessState.of(child.pid()) != ProcessState.STOPPED && System.nanoTime() < deadlineNs)
            {
                Thread.sleep(10);
            }
            assertEquals(ProcessState.STOPPED, ProcessState.of(child.pid()));
        }
        finally
        {
            child.destroyForcibly();
        }
    }
}
