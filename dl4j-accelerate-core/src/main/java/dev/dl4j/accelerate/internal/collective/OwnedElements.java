package dev.dl4j.accelerate.internal.collective;

/**
 * Work on the elements of an all-reduce's result that this rank answers for, done after the reduction and before
 * the result is shared: whatever this rank leaves in those elements is what every rank ends with there. On the
 * ring each rank answers for one segment, so work that is element-wise (an optimizer's step, say) is split
 * between the ranks instead of repeated on each; where every rank holds the whole result anyway (the latency
 * path, world size 1), each answers for all of it.
 */
@FunctionalInterface
public interface OwnedElements
{
    /**
     * Called once per all-reduce, on the training thread, inside the collective: a failure here fails the
     * collective on every rank.
     *
     * @param first the first element this rank answers for, holding the reduced value.
     * @param count how many, from {@code first}; the other elements hold nothing meaningful yet.
     */
    void process(int first, int count);
}
