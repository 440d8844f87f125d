package dev.dl4j.accelerate.launch;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import dev.dl4j.accelerate.internal.transport.AeronTransport;
import dev.dl4j.accelerate.internal.transport.Frame;
import dev.dl4j.accelerate.internal.transport.MediaDrivers;
import io.aeron.Aeron;
import io.aeron.ExclusivePublication;
import io.aeron.driver.MediaDriver;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * A stray process on another host that sprays a job's UDP ports during its run:
 * <ul>
 *   <li>random datagrams (not Aeron's protocol at all) at every port, which the media drivers discard;</li>
 *   <li>Aeron streams, through a media driver of its own, on the rendezvous stream to the master port and on
 *   every rank's data stream to every port, carrying frames of the right shape with a random token, with the
 *   token a job without {@code --job-token} would derive from its master address, frames from ranks outside
 *   the world, and frames too short for a header.</li>
 * </ul>
 * It cannot forge a frame with the job's token: the token is random, given to the launchers only, and travels
 * in no frame this process can see (the hosts' links are not its own).
 *
 * <p>Usage: {@code StraySender <status dir> <master address:port> <world size>}. Sprays the master port at once;
 * sprays the ports listed in {@code <status dir>/targets} (one {@code address:port} per line) once that file
 * appears. Writes {@code master-hit} once its rendezvous stream is connected and {@code spraying} once streams
 * to {@code <world size>} data subscriptions are, and stops when {@code stop} appears (or after 3 minutes).
 */
public final class StraySender
{
    private static final int TERM_LENGTH = 64 * 1024;
    private static final int FRAMES_BEFORE_REPORTING = 50;
    private static final long MAX_RUN_MS = 180_000;

    private final Random random = new Random(42);
    private final UnsafeBuffer frame = new UnsafeBuffer(ByteBuffer.allocateDirect(4096));
    private final long guessedToken;
    private final int worldSize;
    private long forgedFrames;
    private long rawDatagrams;

    private StraySender(final long guessedToken, final int worldSize)
    {
        this.guessedToken = guessedToken;
        this.worldSize = worldSize;
    }

    public static void main(final String[] args) throws Exception
    {
        final Path status = Path.of(args[0]);
        final String master = args[1];
        final int worldSize = Integer.parseInt(args[2]);
        final String directory = MediaDrivers.newDirectory("stray");
        try (MediaDriver driver = MediaDrivers.launch(directory);
            Aeron aeron = Aeron.connect(new Aeron.Context().aeronDirectoryName(directory));
            DatagramSocket raw = new DatagramSocket())
        {
            new StraySender(Frame.tokenHash(master), worldSize).spray(aeron, raw, status, master);
        }
    }

    private void spray(final Aeron aeron, final DatagramSocket raw, final Path status, final String master)
        throws IOException, InterruptedException
    {
        final ExclusivePublication rendezvous = aeron.addExclusivePublication(
            "aeron:udp?endpoint=" + master + "|term-length=" + TERM_LENGTH, AeronTransport.RENDEZVOUS_STREAM_ID);
        final List<InetSocketAddress> ports = new ArrayList<>(List.of(socketAddress(master)));
        final List<ExclusivePublication> data = new ArrayList<>();
        long masterFrames = 0;
        boolean masterHit = false;
        boolean reported = false;
        long[] perPublication = new long[0];
        final long endMs = System.currentTimeMillis() + MAX_RUN_MS;
        while (!Files.exists(status.resolve("stop")) && System.currentTimeMillis() < endMs)
        {
            if (data.isEmpty() && Files.exists(status.resolve("targets")))
            {
                for (final String target : Files.readAllLines(status.resolve("targets")))
                {
                    ports.add(socketAddress(target));
                    // The stray does not know which rank listens where: it tries every rank's stream everywhere.
                    for (int rank = 0; rank < worldSize; rank++)
                    {
                        data.add(aeron.addExclusivePublication("aeron:udp?endpoint=" + target + "|term-length=" +
                            TERM_LENGTH, AeronTransport.DATA_STREAM_BASE + rank));
                    }
                }
                perPublication = new long[data.size()];
            }
            for (final InetSocketAddress port : ports)
            {
                final byte[] junk = new byte[1 + random.nextInt(1400)];
                random.nextBytes(junk);
                raw.send(new DatagramPacket(junk, junk.length, port));
                rawDatagrams++;
            }
            if (rendezvous.isConnected())
            {
                masterFrames += offerForged(rendezvous, Frame.HELLO);
                if (!masterHit && masterFrames >= FRAMES_BEFORE_REPORTING)
                {
                    masterHit = true;
                    Files.writeString(status.resolve("master-hit"), Long.toString(masterFrames));
                }
            }
            int reached = 0;
            for (int i = 0; i < data.size(); i++)
            {
                if (data.get(i).isConnected())
                {
                    perPublication[i] += offerForged(data.get(i), (byte)(Frame.BARRIER + random.nextInt(8)));
                    reached += perPublication[i] >= FRAMES_BEFORE_REPORTING ? 1 : 0;
                }
            }
            if (!reported && reached >= worldSize)
            {
                reported = true;
                Files.writeString(status.resolve("spraying"), Integer.toString(reached));
            }
            Thread.sleep(2);
        }
        System.out.println("stray: " + forgedFrames + " forged frames accepted by Aeron streams (" + masterFrames +
            " on the rendezvous stream), " + rawDatagrams + " random datagrams, to " + ports);
    }

    /** Offers one of each kind of forgery; returns how many the stream took. */
    private int offerForged(final ExclusivePublication publication, final byte type)
    {
        int offered = 0;
        // Right shape, a random token.
        offered += offer(publication, type, random.nextInt(worldSize), random.nextLong(), 8 + random.nextInt(256));
        // Right shape, the token a job without --job-token derives from its master address.
        offered += offer(publication, type, random.nextInt(worldSize), guessedToken, 8 + random.nextInt(256));
        // A rank outside the world.
        offered += offer(publication, type, worldSize + random.nextInt(1000), random.nextLong(), 16);
        // Too short for a header.
        final int shortLength = 1 + random.nextInt(Frame.HEADER_LENGTH - 1);
        for (int i = 0; i < shortLength; i++)
        {
            frame.putByte(i, (byte)random.nextInt());
        }
        offered += publication.offer(frame, 0, shortLength) > 0 ? 1 : 0;
        forgedFrames += offered;
        return offered;
    }

    private int offer(
        final ExclusivePublication publication, final byte type, final int source, final long token, final int payload)
    {
        Frame.writeHeader(frame, type, Frame.FLAG_LAST, 0, source, 1 + random.nextInt(100), token);
        for (int i = 0; i < payload; i++)
        {
            frame.putByte(Frame.HEADER_LENGTH + i, (byte)random.nextInt());
        }
        if (type == Frame.HELLO)
        {
            frame.putInt(Frame.HEADER_LENGTH, worldSize, Frame.ORDER);
        }
        return publication.offer(frame, 0, Frame.HEADER_LENGTH + payload) > 0 ? 1 : 0;
    }

    private static InetSocketAddress socketAddress(final String endpoint)
    {
        final int colon = endpoint.lastIndexOf(':');
        return new InetSocketAddress(endpoint.substring(0, colon), Integer.parseInt(endpoint.substring(colon + 1)));
    }
}
