package dev.dl4j.accelerate;

import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Joining fails clearly, and cleans up what it started, when the job cannot form.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RendezvousTest
{
    private static final AcceleratorSettings FAST =
        AcceleratorSettings.defaults().withTimeout(Duration.ofSeconds(2)).withExitOnPeerLoss(false);

    @AfterEach
    void shouldLeaveNoMediaDriverBehind() throws IOException
    {
        try (Stream<Path> entries = Files.list(Path.of("/dev/shm")))
        {
            final String mine = "-" + ProcessHandle.current().pid() + "-";
            assertEquals(List.of(), entries.filter(p -> p.getFileName().toString().startsWith("dl4j-accelerate-rank") &&
                p.getFileName().toString().contains(mine)).toList());
        }
    }

    @Test
    void shouldNameTheMasterEndpointWhenItsPortIsTaken() throws Exception
    {
        try (DatagramSocket taken = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)))
        {
            final int port = taken.getLocalPort();
            final InvalidConfigurationException ex = assertThrows(InvalidConfigurationException.class,
                () -> Accelerator.create(ProcessTopology.of(0, 2, 0, 2, 0, "127.0.0.1", port), FAST));
            assertTrue(ex.getMessage().contains("cannot listen on MASTER_ADDR:MASTER_PORT=127.0.0.1:" + port), ex.getMessage());
        }
    }

    @Test
    void shouldNameTheRanksThatNeverJoined()
    {
        final int port = InJvmGroup.freeUdpPort();
        final CollectiveTimeoutException ex = assertThrows(CollectiveTimeoutException.class,
            () -> Accelerator.create(ProcessTopology.of(0, 3, 0, 3, 0, "127.0.0.1", port), FAST));
        assertEquals("rendezvous", ex.operation());
        assertEquals(List.of(1, 2), ex.missingRanks());
        assertTrue(ex.getMessage().contains("for ranks [1, 2] of 3 to start"), ex.getMessage());
    }

    @Test
    void shouldNameRankZeroWhenItIsNotThere()
    {
        final int port = InJvmGroup.freeUdpPort();
        final CollectiveTimeoutException ex = assertThrows(CollectiveTimeoutException.class,
            () -> Accelerator.create(ProcessTopology.of(1, 2, 1, 2, 0, "127.0.0.1", port), FAST));
        assertEquals(List.of(0), ex.missingRanks());
        assertTrue(ex.getMessage().contains("could not reach rank 0 at MASTER_ADDR:MASTER_PORT=127.0.0.1:" + port),
            ex.getMessage());
    }

    @Test
    void shouldRefuseADriverDirectoryWithoutADriver()
    {
        final int port = InJvmGroup.freeUdpPort();
        final InvalidConfigurationException ex = assertThrows(InvalidConfigurationException.class,
            () -> Accelerator.create(ProcessTopology.of(0, 2, 0, 2, 0, "127.0.0.1", port),
                FAST.withAeronDirectory("/nonexistent/driver")));
        assertTrue(ex.getMessage().startsWith("ACCELERATE_AERON_DIR=/nonexistent/driver holds no running media driver"),
            ex.getMessage());
    }
}
