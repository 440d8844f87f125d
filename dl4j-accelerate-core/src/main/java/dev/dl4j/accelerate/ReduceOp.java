package dev.dl4j.accelerate;

/**
 * How {@link Accelerator#allReduce(org.nd4j.linalg.api.ndarray.INDArray, ReduceOp)} combines the ranks' arrays,
 * element by element.
 */
public enum ReduceOp
{
    /** The sum over ranks. */
    SUM,
    /** The sum over ranks divided by the number of ranks: what data-parallel training does to gradients. */
    MEAN,
    /** The largest value over ranks. */
    MAX,
    /** The smallest value over ranks. */
    MIN
}
