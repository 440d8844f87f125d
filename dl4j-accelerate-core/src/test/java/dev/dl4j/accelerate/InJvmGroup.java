package dev.dl4j.accelerate;

import java.net.InetAddress;
import java.net.SocketException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

import dev.dl4j.accelerate.internal.transport.MediaDrivers;
import dev.dl4j.accelerate.internal.transport.UdpChannels;
import io.aeron.driver.MediaDriver;
import org.agrona.CloseHelper;

/**
 * Several ranks inside one JVM, one thread each, sharing one embedded media driver over {@code aeron:ipc}:
 * the middle tier of tests, between pure unit tests and real processes through the launcher.
 */
final class InJvmGroup implements AutoCloseable
{
    private final MediaDriver driver;
    private final String directory;
    private final ExecutorService threads;
    private final int worldSize;
    private final int ranksPerNode;
    private final int port;
    private final Duration timeout;

    InJvmGroup(final int worldSize, final int ranksPerNode, final Duration timeout)
    {
        this.worldSize = worldSize;
        this.ranksPerNode = ranksPerNode;
        this.timeout = timeout;
        this.directory = MediaDrivers.newDirectory("test");
        this.driver = MediaDrivers.launch(directory);
        this.threads = Executors.newFixedThreadPool(worldSize);
        this.port = freeUdpPort();
    }

    /**
     * As the launcher picks one for {@code --master-port 0}: outside the ephemeral range, where no socket bound to
     * port 0 (another group's Aeron channels) can take it before rank 0 binds it.
     */
    static int freeUdpPort()
    {
        try
        {
            return UdpChannels.freePort(InetAddress.getLoopbackAddress());
        }
        catch (final SocketException ex)
        {
            throw new IllegalStateException(ex);
        }
    }

    String directory()
    {
        return directory;
    }

    /**
     * Runs {@code body} on every rank with its own connected accelerator and returns the results in rank order.
     */
    <T> List<T> run(final Function<Accelerator, T> body) throws Exception
    {
        final List<Future<T>> futures = new ArrayList<>();
        for (int rank = 0; rank < worldSize; rank++)
        {
            final ProcessTopology topology = ProcessTopology.of(
                rank, worldSize, rank % ranksPerNode, ranksPerNode, rank / ranksPerNode, "127.0.0.1", port);
            final AcceleratorSettings settings = AcceleratorSettings.defaults()
                .withAeronDirectory(directory).withTimeout(timeout).withJobToken("in-jvm-" + port)
                // Ranks are threads here: a lost peer must fail the test, not end the test JVM.
                .withExitOnPeerLoss(false);
            futures.add(threads.submit(() ->
            {
                try (Accelerator accelerator = Accelerator.create(topology, settings))
                {
                    return body.apply(accelerator);
                }
            }));
        }
        final List<T> results = new ArrayList<>();
        for (final Future<T> future : futures)
        {
            results.add(future.get(timeout.toMillis() * 2, TimeUnit.MILLISECONDS));
        }
        return results;
    }

    public void close()
    {
        threads.shutdownNow();
        try
        {
            threads.awaitTermination(10, TimeUnit.SECONDS);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
        CloseHelper.close(driver);
    }
}
