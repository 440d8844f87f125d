package dev.dl4j.accelerate.cuda;

import dev.dl4j.accelerate.Accelerator;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A worker that only starts: {@code Accelerator.create()} (with its GPU check), then says which backend ND4J
 * loaded and how many devices it sees. Exits non-zero when the check refuses.
 */
public final class StartupProbe
{
    private StartupProbe()
    {
    }

    /**
     * @param args none.
     */
    public static void main(final String[] args)
    {
        try (Accelerator acc = Accelerator.create())
        {
            System.out.println("STARTED rank " + acc.processIndex() + " backend=" + Nd4j.getBackend().getClass().getSimpleName() +
                " devices=" + Nd4j.getAffinityManager().getNumberOfDevices() + " gpu=" + System.getenv("ACCELERATE_GPU"));
        }
    }
}
