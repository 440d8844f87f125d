package dev.dl4j.accelerate.launch;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.stream.Stream;

import dev.dl4j.accelerate.AccelerateException;
import dev.dl4j.accelerate.internal.transport.MediaDrivers;
import io.aeron.driver.MediaDriver;
import dev.dl4j.accelerate.internal.transport.PeerMonitor;
import dev.dl4j.accelerate.internal.transport.ProcessState;
import org.agrona.CloseHelper;
import org.agrona.IoUtil;

/**
 * This host's workers: starts one process per local rank, prefixes their output with the rank, and when one
 * fails stops the others and reports the root cause. A worker stopped (SIGSTOP) for longer than the peer timeout
 * is hung, not merely slow: its peers have counted it as lost by then, so it is killed and reported as the cause.
 * Used by one thread, the launcher's.
 */
final class WorkerGroup
{
    static final int STDERR_TAIL_LINES = 20;
    static final long STOP_GRACE_NS = TimeUnit.SECONDS.toNanos(5);
    /** How long to wait for a worker to vanish after SIGKILL. */
    private static final long KILL_WAIT_SECONDS = 5;
    /** How long a finished group's driver may go on retransmitting to other hosts what the network lost. */
    static final long NETWORK_DRAIN_NS = TimeUnit.SECONDS.toNanos(2);
    private static final long PUMP_DRAIN_MS = 5_000;
    /** How often the launcher looks whether a worker is stopped. */
    private static final long STOPPED_LOOK_NS = TimeUnit.MILLISECONDS.toNanos(100);
    /**
     * How often it lists a worker's descendants again. Listing them reads every process's {@code /proc} entry: at
     * every look it took 2% of a core with 2 workers on a quiet 2-core host (the launcher's CPU time during a
     * 2-rank training went from 6% to 4% of a core when listed once a second), time the workers need; a worker
     * that is a script's child and appears later is watched from the next listing on, at most a quarter of the
     * peer timeout later.
     */
    private static final long DESCENDANTS_LIST_NS = TimeUnit.SECONDS.toNanos(1);

    private final LaunchSpec spec;
    private final Map<String, String> parentEnv;
    private final int cores;
    private final PrintStream out;
    private final PrintStream err;
    private final long peerTimeoutNs;
    /**
     * How often each worker's descendants are listed again: {@link #DESCENDANTS_LIST_NS}, or a quarter of the peer
     * timeout when that is shorter.
     */
    private final long descendantsListNs;
    // Read by the shutdown hook while the launcher thread may still be adding workers.
    private final List<Worker> workers = new CopyOnWriteArrayList<>();
    private final LinkedBlockingQueue<Worker> exited = new LinkedBlockingQueue<>();
    private final MediaDriver driver;
    private final AtomicBoolean driverClosed = new AtomicBoolean();
    private volatile boolean stopping;

    /**
     * @return true when the launcher itself was signalled to stop: the group must not be restarted.
     */
    boolean stoppedBySignal()
    {
        return stopping;
    }

    WorkerGroup(
        final LaunchSpec spec,
        final Map<String, String> parentEnv,
        final int cores,
        final PrintStream out,
        final PrintStream err,
        final MediaDriver driver,
        final long peerTimeoutNs)
    {
        this.spec = spec;
        this.peerTimeoutNs = peerTimeoutNs;
        this.descendantsListNs = Math.min(DESCENDANTS_LIST_NS, peerTimeoutNs / 4);
        this.parentEnv = parentEnv;
        this.cores = cores;
        this.out = out;
        this.err = err;
        this.driver = driver;
    }

    /**
     * Starts every worker, waits for all of them and returns the launcher's exit code: 0 when every worker
     * succeeded, else the first failing worker's exit code. Closes the media driver at the end (after a success,
     * once it has delivered what the workers sent to other hosts, or {@link #NETWORK_DRAIN_NS}), or when the
     * launcher is stopped by a signal, so its shared-memory files never outlive the job.
     */
    int run()
    {
        final Thread stopOnExit = new Thread(() ->
        {
            stopping = true;
            killAll();
            closeDriver();
        }, "accelerate-stop-workers");
        Runtime.getRuntime().addShutdownHook(stopOnExit);
        try
        {
            startAll();
            final int code = supervise();
            if (code == 0)
            {
                // The workers are gone, but their last datagrams to other hosts may still need retransmitting.
                MediaDrivers.awaitNetworkPublicationsDone(driver, NETWORK_DRAIN_NS);
            }
            return code;
        }
        finally
        {
            killAll();
            closeDriver();
            try
            {
                Runtime.getRuntime().removeShutdownHook(stopOnExit);
            }
            catch (final IllegalStateException alreadyShuttingDown)
            {
                // The hook is running or about to: it does the same work.
            }
        }
    }

    private void closeDriver()
    {
        // Synchronized, not just once: when the shutdown hook finds the main thread closing the driver, it must
        // wait for it to finish, or the JVM halts half-way through removing the driver's files.
        synchronized (driverClosed)
        {
            if (driverClosed.get())
            {
                return;
            }
            driverClosed.set(true);
            CloseHelper.quietClose(driver);
            // The driver deletes its directory, but gives up on the whole of it if a file in it goes away under it
            // (a stopping worker removing its bulk ring): sweep whatever is left.
            IoUtil.delete(new File(spec.aeronDir()), true);
        }
    }

    private void startAll()
    {
        for (int localRank = 0; localRank < spec.nprocPerNode() && !stopping; localRank++)
        {
            final ProcessBuilder builder = new ProcessBuilder(spec.command())
                .redirectInput(ProcessBuilder.Redirect.INHERIT);
            builder.environment().clear();
            builder.environment().putAll(WorkerEnvironment.of(spec, localRank, parentEnv, cores));
            final int rank = spec.globalRank(localRank);
            final Process process;
            try
            {
                process = builder.start();
            }
            catch (final IOException ex)
            {
                killAll();
                throw new AccelerateException("could not start rank " + rank + " with command " + spec.command() +
                    ": " + ex.getMessage(), ex);
            }
            final Worker worker = new Worker(rank, localRank, process);
            workers.add(worker);
            worker.stdout = pump(process.getInputStream(), out, "[rank " + rank + "] ", null, "rank" + rank + "-out");
            worker.stderr = pump(process.getErrorStream(), err, "[rank " + rank + "] ", worker, "rank" + rank + "-err");
            process.onExit().thenRun(() -> exited.add(worker));
        }
    }

    private int supervise()
    {
        Worker failed = null;
        boolean killed = false;
        long killDeadlineNs = 0;
        int running = workers.size();
        final StoppedWorkers stopped = new StoppedWorkers(workers.size(), peerTimeoutNs);
        try
        {
            while (running > 0)
            {
                if (failed != null && System.nanoTime() - killDeadlineNs >= 0)
                {
                    if (killed)
                    {
                        err.println("accelerate: " + running + " worker(s) survived SIGKILL for " +
                            TimeUnit.NANOSECONDS.toSeconds(STOP_GRACE_NS) + " s (stuck in the kernel?); giving up on them");
                        break;
                    }
                    // The grace period is over: whoever ignored SIGTERM gets SIGKILL.
                    workers.forEach(w -> signal(w.process, true));
                    killed = true;
                    killDeadlineNs = System.nanoTime() + STOP_GRACE_NS;
                    continue;
                }
                final long waitNs = failed == null ? STOPPED_LOOK_NS :
                    Math.max(0, Math.min(STOPPED_LOOK_NS, killDeadlineNs - System.nanoTime()));
                final Worker worker = exited.poll(waitNs, TimeUnit.NANOSECONDS);
                if (worker == null)
                {
                    killStopped(stopped);
                    continue;
                }
                running--;
                if (worker.process.exitValue() != 0 && failed == null)
                {
                    failed = worker;
                    killDeadlineNs = System.nanoTime() + STOP_GRACE_NS;
                    workers.forEach(w -> signal(w.process, false));
                }
            }
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            err.println("accelerate: interrupted; stopping all workers");
            return 130;
        }

        for (final Worker worker : workers)
        {
            join(worker.stdout);
            join(worker.stderr);
        }
        if (failed == null)
        {
            return 0;
        }
        if (stopping)
        {
            // The launcher itself was signalled: the workers' deaths are the effect, not the cause.
            err.println("accelerate: stopped by a signal; all workers were stopped");
            return 143;
        }
        reportRootCause(failed);
        final int code = failed.process.exitValue();
        return code > 0 && code < 256 ? code : 1;
    }

    /**
     * Kills the workers that have been stopped for longer than the peer timeout: hung, as far as their peers can
     * tell, which have counted them as lost by then; waiting for them would keep this host's part of a dead job.
     */
    private void killStopped(final StoppedWorkers stopped)
    {
        for (int i = 0; i < workers.size(); i++)
        {
            final Worker worker = workers.get(i);
            if (worker.killedAsStopped || !worker.process.isAlive())
            {
                continue;
            }
            // The JVM may be a child of the command (a script that does not exec it), as signal() allows for.
            final long nowNs = System.nanoTime();
            if (worker.watched == null || nowNs - worker.watchedSinceNs >= descendantsListNs)
            {
                worker.watched = Stream.concat(Stream.of(worker.process.toHandle()), worker.process.descendants()).toList();
                worker.watchedSinceNs = nowNs;
            }
            // isAlive() also tells a listed process from a later one that took its pid.
            final boolean isStopped = worker.watched.stream()
                .anyMatch(process -> process.isAlive() && ProcessState.of(process.pid()) == ProcessState.STOPPED);
            if (stopped.stoppedTooLong(i, isStopped, nowNs))
            {
                worker.killedAsStopped = true;
                err.println("accelerate: rank " + worker.rank + " (pid " + worker.process.pid() + ") has been stopped " +
                    "for more than " + TimeUnit.NANOSECONDS.toMillis(stopped.limitNs()) + " ms (ACCELERATE_PEER_TIMEOUT_MS): " +
                    "its peers count it as lost; killing it");
                signal(worker.process, true);
            }
        }
    }

    private void reportRootCause(final Worker failed)
    {
        final int exitCode = failed.process.exitValue();
        final StringBuilder report = new StringBuilder()
            .append("accelerate: rank ").append(failed.rank)
            .append(" (node ").append(spec.nodeRank())
            .append(", local rank ").append(failed.localRank)
            .append(", pid ").append(failed.process.pid()).append(") ");
        final String lostPeer;
        final int lostNode;
        synchronized (failed.tail)
        {
            lostPeer = failed.lostPeer;
            lostNode = failed.lostNode;
        }
        if (failed.killedAsStopped)
        {
            report.append("was stopped (SIGSTOP, or held by a debugger) for more than ")
                .append(TimeUnit.NANOSECONDS.toMillis(peerTimeoutNs))
                .append(" ms, so its peers counted it as lost; the launcher killed it (exit code ").append(exitCode)
                .append(')');
        }
        else if (lostPeer != null)
        {
            report.append(exitCode == PeerMonitor.PEER_LOST_EXIT_CODE ? "ended itself (exit code " + exitCode + ")" :
                "failed with exit code " + exitCode).append(" because ").append(lostPeer).append(" was lost");
        }
        else
        {
            report.append("failed with exit code ").append(exitCode).append(describeSignal(exitCode));
        }
        report.append("; the other ").append(workers.size() - 1).append(" worker(s) on this host were stopped");
        if (lostPeer != null && lostNode != spec.nodeRank())
        {
            report.append("\naccelerate: the root cause is on node ").append(lostNode)
                .append(": its launcher's report says how ").append(lostPeer, 0, lostPeer.indexOf(" (")).append(" ended");
        }
        synchronized (failed.tail)
        {
            if (failed.tail.isEmpty())
            {
                report.append("\naccelerate: rank ").append(failed.rank).append(" wrote nothing to stderr");
            }
            else
            {
                report.append("\naccelerate: last lines of rank ").append(failed.rank).append("'s stderr:");
                for (final String line : failed.tail)
                {
                    report.append("\n    ").append(line);
                }
            }
        }
        err.println(report);
    }

    private static String describeSignal(final int exitCode)
    {
        if (exitCode == 137)
        {
            return " (killed by SIGKILL)";
        }
        if (exitCode == 143)
        {
            return " (terminated by SIGTERM)";
        }
        return exitCode > 128 && exitCode < 160 ? " (killed by signal " + (exitCode - 128) + ")" : "";
    }

    /**
     * Signals a worker and everything it started: a worker that is a script without {@code exec} would
     * otherwise leave its JVM running. A stopped process gets SIGKILL at once: it cannot act on SIGTERM.
     */
    private static void signal(final Process process, final boolean kill)
    {
        process.descendants().forEach(p -> signal(p, kill));
        signal(process.toHandle(), kill);
    }

    private static void signal(final ProcessHandle process, final boolean kill)
    {
        if (kill || ProcessState.of(process.pid()) == ProcessState.STOPPED)
        {
            process.destroyForcibly();
        }
        else
        {
            process.destroy();
        }
    }

    private void killAll()
    {
        for (final Worker worker : workers)
        {
            if (worker.process.isAlive())
            {
                signal(worker.process, false);
            }
        }
        final long deadline = System.nanoTime() + STOP_GRACE_NS;
        for (final Worker worker : workers)
        {
            try
            {
                final long left = deadline - System.nanoTime();
                if (left <= 0 || !worker.process.waitFor(left, TimeUnit.NANOSECONDS))
                {
                    signal(worker.process, true);
                    // Gone before the driver's files are removed, so nothing writes into them afterwards.
                    worker.process.waitFor(KILL_WAIT_SECONDS, TimeUnit.SECONDS);
                }
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
                signal(worker.process, true);
            }
        }
    }

    private static Thread pump(
        final InputStream stream, final PrintStream target, final String prefix, final Worker worker,
        final String name)
    {
        final Deque<String> tail = worker != null ? worker.tail : null;
        // A blocking read per stream: the pipes give no readiness signal to poll, and a stalled pump would
        // block the worker on a full pipe, so each stream gets its own daemon thread.
        final Thread thread = new Thread(() ->
        {
            try (BufferedReader reader = new BufferedReader(new InputStreamReader(stream, StandardCharsets.UTF_8)))
            {
                String line;
                while ((line = reader.readLine()) != null)
                {
                    // The JVM's notes on the flags this launcher itself passed: noise in every worker's output.
                    if (line.startsWith("NOTE: Picked up JDK_JAVA_OPTIONS") ||
                        line.equals("WARNING: Using incubator modules: jdk.incubator.vector"))
                    {
                        continue;
                    }
                    target.println(prefix + line);
                    if (tail != null)
                    {
                        synchronized (tail)
                        {
                            final Matcher lost = worker.lostPeer == null ? PeerMonitor.PEER_LOST_LINE.matcher(line) : null;
                            if (lost != null && lost.find())
                            {
                                worker.lostPeer = lost.group(1);
                                worker.lostNode = Integer.parseInt(lost.group(2));
                            }
                            if (tail.size() == STDERR_TAIL_LINES)
                            {
                                tail.removeFirst();
                            }
                            tail.addLast(line);
                        }
                    }
                }
            }
            catch (final IOException ex)
            {
                target.println(prefix + "(output lost: " + ex.getMessage() + ")");
            }
        }, "accelerate-" + name);
        thread.setDaemon(true);
        thread.start();
        return thread;
    }

    private static void join(final Thread thread)
    {
        try
        {
            thread.join(PUMP_DRAIN_MS);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
    }

    private static final class Worker
    {
        final int rank;
        final int localRank;
        final Process process;
        // Guarded by tail: written by the stderr pump, read by the launcher's thread.
        final Deque<String> tail = new ArrayDeque<>(STDERR_TAIL_LINES);
        String lostPeer;
        int lostNode;
        // The launcher's thread only: whether it was killed as stopped, and its process with its descendants as
        // last listed (null before the first look), and when.
        boolean killedAsStopped;
        List<ProcessHandle> watched;
        long watchedSinceNs;
        Thread stdout;
        Thread stderr;

        Worker(final int rank, final int localRank, final Process process)
        {
            this.rank = rank;
            this.localRank = localRank;
            this.process = process;
        }
    }
}
