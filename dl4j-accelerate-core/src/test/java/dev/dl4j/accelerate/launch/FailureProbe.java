package dev.dl4j.accelerate.launch;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.TimeUnit;

import dev.dl4j.accelerate.AccelerateException;
import dev.dl4j.accelerate.Accelerator;
import dev.dl4j.accelerate.ReduceOp;
import dev.dl4j.accelerate.internal.dl4j.Models;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/**
 * {@code <scenario> <dir> <victim rank>}: a worker of {@link FailureMatrixTest}. Every rank writes its pid to
 * {@code <dir>/rank-<r>.pid} once it has joined, then {@code rank-<r>.ready} once its loop has run, so the test
 * knows whom to kill and when; the loops end by themselves after {@link #LOOP_SECONDS}, so a job whose failure
 * went unnoticed ends too (and fails the test's timing). Scenarios:
 * <ul>
 *   <li>{@code barrier}, {@code allreduce}, {@code save}: {@code waitForEveryone}, a 1 KiB all-reduce, or
 *   {@code saveState} of a 1M-parameter model into {@code <dir>/ckpt} (rank 0 appends each completed step to
 *   {@code <dir>/saved.txt}, and writes {@code <dir>/writing} from step 3 on as it starts writing a checkpoint's
 *   files), over and over;</li>
 *   <li>{@code idle}: one barrier, then sleeps: no collective;</li>
 *   <li>{@code healthy}: barriers for 4 s, 3 s without any, a last barrier, then {@code ready} and exit 0;</li>
 *   <li>{@code throw}, {@code return}: barriers, until {@code <dir>/go} appears: then the victim throws from user
 *   code, or returns from {@code main} (exit 0), while the others go on; {@code throw-unclosed}: throws, having
 *   never closed its {@code Accelerator};</li>
 *   <li>{@code mismatch-barrier-allreduce}, {@code mismatch-sizes}, {@code mismatch-trigger}: the victim calls
 *   {@code allReduce} where the others call {@code waitForEveryone}; an array of another length; or skips a
 *   {@code checkTrigger}. Each rank writes the exception's message to {@code rank-<r>.error} and waits (10 s at
 *   most) for every rank's before it exits 1, so that the launcher's stopping the rest cuts no report short.</li>
 * </ul>
 */
public final class FailureProbe
{
    static final long LOOP_SECONDS = 60;

    private FailureProbe()
    {
    }

    public static void main(final String[] args) throws Exception
    {
        final String scenario = args[0];
        final Path dir = Path.of(args[1]);
        final int victim = Integer.parseInt(args[2]);
        final Accelerator acc = Accelerator.create();
        if (scenario.equals("throw-unclosed"))
        {
            // What a program without try-with-resources does: the JVM must still end when main throws.
            run(acc, "throw", dir, victim);
            return;
        }
        try (acc)
        {
            run(acc, scenario, dir, victim);
        }
    }

    private static void run(final Accelerator acc, final String scenario, final Path dir, final int victim)
        throws Exception
    {
        final int rank = acc.processIndex();
        final boolean isVictim = rank == victim;
        write(dir.resolve("rank-" + rank + ".pid"), Long.toString(ProcessHandle.current().pid()));
        final long endNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(LOOP_SECONDS);
        switch (scenario)
        {
            case "barrier":
                acc.waitForEveryone();
                ready(dir, rank);
                while (System.nanoTime() < endNs)
                {
                    acc.waitForEveryone();
                }
                break;

            case "allreduce":
                final INDArray array = Nd4j.ones(DataType.FLOAT, 256);
                acc.allReduce(array, ReduceOp.MEAN);
                ready(dir, rank);
                while (System.nanoTime() < endNs)
                {
                    acc.allReduce(array, ReduceOp.MEAN);
                }
                break;

            case "save":
                saveLoop(acc, dir, endNs);
                break;

            case "healthy":
                // Busy, then quiet for longer than the peer timeout: heartbeats alone must keep the job whole.
                final long busyEndNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(4);
                do
                {
                    acc.waitForEveryone();
                    if (acc.isMainProcess() && System.nanoTime() > busyEndNs)
                    {
                        acc.setTrigger();
                    }
                }
                while (!acc.checkTrigger());
                Thread.sleep(3000);
                acc.waitForEveryone();
                ready(dir, rank);
                break;

            case "idle":
                acc.waitForEveryone();
                ready(dir, rank);
                Thread.sleep(TimeUnit.SECONDS.toMillis(LOOP_SECONDS));
                break;

            case "throw":
            case "return":
                acc.waitForEveryone();
                ready(dir, rank);
                while (System.nanoTime() < endNs)
                {
                    if (isVictim && Files.exists(dir.resolve("go")))
                    {
                        if (scenario.equals("throw"))
                        {
                            throw new IllegalStateException("probe: rank " + rank + " fails in user code");
                        }
                        System.err.println("probe: rank " + rank + " returns early");
                        return;
                    }
                    acc.waitForEveryone();
                }
                break;

            case "mismatch-barrier-allreduce":
            case "mismatch-sizes":
            case "mismatch-trigger":
                mismatch(acc, scenario, isVictim, dir);
                break;

            default:
                throw new IllegalArgumentException("unknown scenario " + scenario);
        }
    }

    private static void saveLoop(final Accelerator acc, final Path dir, final long endNs)
    {
        final MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder()
            .seed(3)
            .list()
            .layer(new DenseLayer.Builder().nIn(1000).nOut(1000).activation(Activation.RELU).build())
            .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MSE).nIn(1000).nOut(2)
                .activation(Activation.IDENTITY).build())
            .build());
        net.init();
        acc.registerForCheckpointing(net);
        // Rank 0 calls the saver just before it writes the checkpoint's files: 16 MB more of them, so that a kill
        // right after the marker lands in the middle of writing.
        final int[] current = new int[1];
        acc.registerForCheckpointing("bulk", () ->
        {
            final byte[] bulk = new byte[16 << 20];
            if (current[0] > 2)
            {
                write(dir.resolve("writing"), Integer.toString(current[0]));
            }
            return bulk;
        }, bytes -> { });
        final Path checkpoints = dir.resolve("ckpt");
        for (int step = 1; System.nanoTime() < endNs; step++)
        {
            current[0] = step;
            Models.setCounters(net, 0, step);
            acc.saveState(checkpoints);
            if (acc.isMainProcess())
            {
                append(dir.resolve("saved.txt"), step + "\n");
            }
            if (step == 2)
            {
                ready(dir, acc.processIndex());
            }
        }
    }

    private static void mismatch(final Accelerator acc, final String scenario, final boolean isVictim, final Path dir)
        throws InterruptedException
    {
        final int rank = acc.processIndex();
        try
        {
            acc.waitForEveryone();
            switch (scenario)
            {
                case "mismatch-barrier-allreduce":
                    if (isVictim)
                    {
                        acc.allReduce(Nd4j.ones(DataType.FLOAT, 16), ReduceOp.SUM);
                    }
                    else
                    {
                        acc.waitForEveryone();
                    }
                    break;

                case "mismatch-sizes":
                    acc.allReduce(Nd4j.ones(DataType.FLOAT, isVictim ? 32 : 16), ReduceOp.SUM);
                    break;

                default:
                    if (!isVictim)
                    {
                        acc.checkTrigger();
                    }
                    acc.waitForEveryone();
                    break;
            }
            acc.waitForEveryone();
            System.err.println("probe: rank " + rank + " saw no mismatch");
            System.exit(5);
        }
        catch (final AccelerateException ex)
        {
            System.err.println("probe: rank " + rank + " caught " + ex);
            write(dir.resolve("rank-" + rank + ".error"), ex.getMessage());
        }
        final long deadlineNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        for (int peer = 0; peer < acc.numProcesses() && System.nanoTime() < deadlineNs; peer++)
        {
            while (!Files.exists(dir.resolve("rank-" + peer + ".error")) && System.nanoTime() < deadlineNs)
            {
                Thread.sleep(20);
            }
        }
        System.exit(1);
    }

    private static void ready(final Path dir, final int rank)
    {
        write(dir.resolve("rank-" + rank + ".ready"), "ready");
    }

    /** Whole or not at all: the test reads the file as soon as it exists. */
    static void write(final Path file, final String text)
    {
        try
        {
            final Path temporary = file.resolveSibling(file.getFileName() + ".tmp");
            Files.writeString(temporary, text, StandardCharsets.UTF_8);
            Files.move(temporary, file, StandardCopyOption.ATOMIC_MOVE);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
    }

    private static void append(final Path file, final String text)
    {
        try
        {
            Files.writeString(file, text, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
    }
}
