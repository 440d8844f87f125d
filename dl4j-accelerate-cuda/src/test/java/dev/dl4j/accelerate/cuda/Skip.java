package dev.dl4j.accelerate.cuda;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.TestInfo;

/**
 * Skips a test with its reason printed, since Maven's summary counts skipped tests but does not say why.
 */
final class Skip
{
    private Skip()
    {
    }

    static void unless(final boolean condition, final TestInfo test, final String reason)
    {
        if (!condition)
        {
            System.out.println("SKIPPED " + test.getTestClass().map(Class::getSimpleName).orElse("") + "." +
                test.getTestMethod().map(m -> m.getName()).orElse("") + ": " + reason);
            Assumptions.abort(reason);
        }
    }
}
