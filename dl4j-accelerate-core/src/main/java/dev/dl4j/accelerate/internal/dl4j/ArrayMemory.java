package dev.dl4j.accelerate.internal.dl4j;

import org.agrona.concurrent.UnsafeBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The memory behind an ND4J array, for the collectives to read and write in place without copying.
 */
public final class ArrayMemory
{
    private ArrayMemory()
    {
    }

    /**
     * @param array the array; FLOAT or DOUBLE.
     * @param what  names the operation for error messages.
     * @throws IllegalArgumentException for another data type or an array over 2 GiB.
     */
    public static void check(final INDArray array, final String what)
    {
        final DataType type = array.dataType();
        if (type != DataType.FLOAT && type != DataType.DOUBLE)
        {
            throw new IllegalArgumentException(what + " supports FLOAT and DOUBLE arrays, got " + type + " " +
                java.util.Arrays.toString(array.shape()));
        }
        if (array.length() * type.width() > Integer.MAX_VALUE)
        {
            throw new IllegalArgumentException(what + " supports arrays up to 2 GiB, got " + array.length() + " " +
                type + " elements");
        }
    }

    /**
     * @param array a FLOAT or DOUBLE array whose elements are contiguous ({@link #isContiguous}).
     * @return a buffer over exactly its elements; valid while the array is alive.
     */
    public static UnsafeBuffer wrap(final INDArray array)
    {
        return new UnsafeBuffer(address(array), (int)(array.length() * array.dataType().width()));
    }

    /**
     * @param array any array.
     * @return the address of its first element.
     */
    public static long address(final INDArray array)
    {
        // A view's data() is itself a view that already starts at the view's first element (data().offset() ==
        // offset() for views in ND4J 1.0.0-M2.1); add only what the buffer does not account for.
        return array.data().addressPointer().address() +
            (array.offset() - array.data().offset()) * array.dataType().width();
    }

    /**
     * @param array any array.
     * @return true when its elements occupy one contiguous run of memory, so it can be reduced in place.
     */
    public static boolean isContiguous(final INDArray array)
    {
        return array.length() <= 1 || array.elementWiseStride() == 1;
    }
}
