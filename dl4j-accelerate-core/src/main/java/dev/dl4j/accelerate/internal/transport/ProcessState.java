package dev.dl4j.accelerate.internal.transport;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Whether a process of this host runs, has ended or is stopped: what the heartbeats' same-host rule and the
 * launcher's supervision need to tell a dead or frozen process from a busy one. Any thread.
 */
public enum ProcessState
{
    /** Running or sleeping: alive, as far as anyone can tell from outside. */
    RUNNING,
    /** Stopped by a signal (SIGSTOP, SIGTSTP) or held by a debugger: alive, but does nothing until continued. */
    STOPPED,
    /** Ended (possibly a zombie not yet reaped by its parent). */
    ENDED;

    /**
     * @param pid a process id.
     * @return its state; {@link #RUNNING} if it lives and nothing more can be known (no {@code /proc}).
     */
    public static ProcessState of(final long pid)
    {
        final Optional<ProcessHandle> process = ProcessHandle.of(pid);
        if (process.isEmpty() || !process.get().isAlive())
        {
            return ENDED;
        }
        try
        {
            return ofStat(Files.readString(Path.of("/proc", Long.toString(pid), "stat")));
        }
        catch (final IOException | RuntimeException notLinux)
        {
            // No /proc, or the process ended while we looked: alive is all we know, the next look tells.
            return RUNNING;
        }
    }

    /**
     * @param stat the content of Linux's {@code /proc/<pid>/stat}.
     * @return the state it gives.
     */
    static ProcessState ofStat(final String stat)
    {
        // The state is the first field after the command name, which is parenthesised and may hold anything.
        final char state = stat.charAt(stat.lastIndexOf(')') + 2);
        return switch (state)
        {
            case 'T', 't' -> STOPPED;
            case 'Z', 'X', 'x' -> ENDED;
            default -> RUNNING;
        };
    }
}
