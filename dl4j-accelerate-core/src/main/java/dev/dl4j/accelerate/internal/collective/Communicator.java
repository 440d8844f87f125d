package dev.dl4j.accelerate.internal.collective;

import java.util.List;

import dev.dl4j.accelerate.ReduceOp;
import org.agrona.MutableDirectBuffer;

/**
 * The collectives the {@code Accelerator} is built on. Every rank must call the same operations in the same
 * order; each call blocks until the operation is complete on this rank or its deadline passes.
 * One thread at a time.
 */
public interface Communicator extends AutoCloseable
{
    /**
     * Returns only when every rank of the job has called it.
     */
    void barrier();

    /**
     * Logical OR of one flag per rank, known to every rank on return; a barrier as well.
     *
     * @param type  the operation, from {@code Frame}, so a rank in another operation is detected.
     * @param flag  this rank's flag.
     * @param local true to reduce over this host's ranks only.
     * @param timeoutNs how long to wait for the others.
     * @return true if any participating rank passed true.
     */
    boolean anyOf(byte type, boolean flag, boolean local, long timeoutNs);

    /**
     * @param value the root's value; ignored on other ranks.
     * @param root  the rank whose value everyone receives.
     * @return the root's value, on every rank.
     */
    byte[] broadcast(byte[] value, int root);

    /**
     * @param value this rank's value.
     * @param root  the rank that receives every value.
     * @return on the root, every rank's value in rank order; elsewhere an empty list.
     */
    List<byte[]> gather(byte[] value, int root);

    /**
     * Combines every rank's array element-wise, in place; every rank ends with the same bits.
     *
     * @param data     the array's memory, e.g. an ND4J buffer; overwritten with the result.
     * @param bytes    its length in bytes.
     * @param isDouble 8-byte doubles rather than 4-byte floats.
     * @param op       how to combine.
     */
    default void allReduce(MutableDirectBuffer data, int bytes, boolean isDouble, ReduceOp op)
    {
        allReduce(data, bytes, isDouble, op, null);
    }

    /**
     * Combines every rank's array element-wise, in place, letting each rank work on the elements it answers for
     * between the reduction and the sharing of the result; every rank ends with the same bits.
     *
     * @param data     the array's memory, e.g. an ND4J buffer; overwritten with the result.
     * @param bytes    its length in bytes.
     * @param isDouble 8-byte doubles rather than 4-byte floats.
     * @param op       how to combine.
     * @param owned    called once with the elements this rank answers for; null for a plain all-reduce.
     */
    void allReduce(MutableDirectBuffer data, int bytes, boolean isDouble, ReduceOp op, OwnedElements owned);

    /**
     * Copies the root's array into every other rank's, in place.
     *
     * @param data  the array's memory; read on the root, overwritten elsewhere.
     * @param bytes its length in bytes, the same on every rank.
     * @param root  the rank whose array is sent.
     */
    void broadcast(MutableDirectBuffer data, int bytes, int root);

    /**
     * Sets the deadline of the collectives that follow, until set again.
     *
     * @param timeoutNs nanoseconds each may take.
     */
    void timeout(long timeoutNs);

    /**
     * @return the deadline of the next collective, in nanoseconds.
     */
    long timeoutNs();

    /**
     * Leaves the job. Not a collective: it does not wait for the others.
     */
    void close();
}
