package dev.dl4j.accelerate.internal.collective;

import java.nio.ByteBuffer;

import org.agrona.DirectBuffer;
import org.bytedeco.javacpp.BytePointer;

/**
 * {@link ByteBuffer}s over the memory of Agrona buffers, for {@link VectorKernel}, which in JDK 17 can load and
 * store only through arrays and byte buffers. A buffer over an array or a byte buffer (Aeron's term buffers,
 * the inboxes) is used as it is; one over a bare address (an ND4J array's memory, see {@code ArrayMemory}) gets
 * a direct byte buffer made over the same memory by JNI's {@code NewDirectByteBuffer}, through JavaCPP, which
 * ND4J has loaded already. That costs microseconds, so the last one is kept: the same gradient array is reduced
 * step after step. The views own nothing and free nothing.
 *
 * <p>Single-threaded, like the communicator that owns it.
 */
final class BufferViews
{
    private static volatile boolean addressViewsWork = true;

    private long viewAddress;
    private int viewLength;
    private ByteBuffer view;
    private byte[] array;
    private ByteBuffer arrayView;

    /**
     * @param buffer any Agrona buffer.
     * @return a byte buffer in which index {@code index(buffer) + i} is byte i of {@code buffer}, or null when none
     *         can be made (then use the scalar loops).
     */
    ByteBuffer of(final DirectBuffer buffer)
    {
        final byte[] bytes = buffer.byteArray();
        if (bytes != null)
        {
            if (bytes != array)
            {
                array = bytes;
                arrayView = ByteBuffer.wrap(bytes);
            }
            return arrayView;
        }
        final ByteBuffer byteBuffer = buffer.byteBuffer();
        if (byteBuffer != null)
        {
            return byteBuffer;
        }
        final long address = buffer.addressOffset();
        final int length = buffer.capacity();
        if (view == null || address != viewAddress || length != viewLength)
        {
            view = addressView(address, length);
            viewAddress = address;
            viewLength = length;
        }
        return view;
    }

    /**
     * @param buffer a buffer {@link #of} gave a view of.
     * @return the view's index of the buffer's first byte.
     */
    static int index(final DirectBuffer buffer)
    {
        return buffer.byteArray() != null || buffer.byteBuffer() != null ? buffer.wrapAdjustment() : 0;
    }

    private static ByteBuffer addressView(final long address, final int length)
    {
        if (!addressViewsWork)
        {
            return null;
        }
        try
        {
            return new AddressPointer(address, length).asByteBuffer();
        }
        catch (final LinkageError | RuntimeException ex)
        {
            // JavaCPP's JNI library did not load (no ND4J on this platform?): the scalar loops still work.
            addressViewsWork = false;
            System.err.println("dl4j-accelerate: warning: no byte-buffer view of native memory (" + ex +
                "); allReduce falls back to its scalar loop");
            return null;
        }
    }

    /**
     * A JavaCPP pointer at an address it does not own: no deallocator, so nothing is freed when it is collected.
     */
    private static final class AddressPointer extends BytePointer
    {
        AddressPointer(final long address, final long length)
        {
            this.address = address;
            this.limit = length;
            this.capacity = length;
        }
    }
}
