package dev.dl4j.accelerate.internal.transport;

import org.agrona.DirectBuffer;

/**
 * Takes the payload of a received frame where it lies, in Aeron's log or in a {@link PeerInbox}: it must be done
 * with it on return, and must not block, since the frame's sender may be waiting for the space.
 */
@FunctionalInterface
public interface PayloadHandler
{
    /**
     * @param buffer holding the payload; valid only during the call.
     * @param offset of the payload in {@code buffer}.
     * @param length of the payload, in bytes.
     */
    void onPayload(DirectBuffer buffer, int offset, int length);
}
