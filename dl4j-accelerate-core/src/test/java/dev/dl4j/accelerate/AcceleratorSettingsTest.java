package dev.dl4j.accelerate;

import java.time.Duration;
import java.util.Map;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AcceleratorSettingsTest
{
    @Test
    void shouldYieldAndOwnADriverByDefault()
    {
        final AcceleratorSettings settings = AcceleratorSettings.fromEnvironment(Map.of());
        assertEquals(AcceleratorSettings.WaitStrategy.YIELD, settings.waitStrategy());
        assertEquals(Duration.ofSeconds(300), settings.timeout());
        assertEquals(Duration.ofSeconds(1800), settings.sectionTimeout());
        assertNull(settings.aeronDirectory());
        assertTrue(settings.alignCollections());
    }

    @Test
    void shouldReadTheLaunchersVariables()
    {
        final AcceleratorSettings settings = AcceleratorSettings.fromEnvironment(Map.of(
            "ACCELERATE_WAIT", "Spin", "ACCELERATE_TIMEOUT_SECONDS", "2.5", "ACCELERATE_AERON_DIR", "/dev/shm/x",
            "ACCELERATE_JOB_TOKEN", "abc", "ACCELERATE_SECTION_TIMEOUT_SECONDS", "60"));
        assertEquals(Duration.ofSeconds(60), settings.sectionTimeout());
        assertEquals(AcceleratorSettings.WaitStrategy.SPIN, settings.waitStrategy());
        assertEquals(Duration.ofMillis(2500), settings.timeout());
        assertEquals("/dev/shm/x", settings.aeronDirectory());
        assertEquals("abc", settings.jobToken());
        assertFalse(AcceleratorSettings.fromEnvironment(Map.of("ACCELERATE_ALIGN_GC", "false")).alignCollections());
    }

    @Test
    void shouldNameTheVariableAndValueWhenOneIsBad()
    {
        assertTrue(assertThrows(InvalidConfigurationException.class,
            () -> AcceleratorSettings.fromEnvironment(Map.of("ACCELERATE_WAIT", "nap"))).getMessage()
            .startsWith("ACCELERATE_WAIT='nap'"));
        assertTrue(assertThrows(InvalidConfigurationException.class,
            () -> AcceleratorSettings.fromEnvironment(Map.of("ACCELERATE_TIMEOUT_SECONDS", "-1"))).getMessage()
            .startsWith("ACCELERATE_TIMEOUT_SECONDS='-1'"));
        assertTrue(assertThrows(InvalidConfigurationException.class,
            () -> AcceleratorSettings.fromEnvironment(Map.of("ACCELERATE_TIMEOUT_SECONDS", "soon"))).getMessage()
            .startsWith("ACCELERATE_TIMEOUT_SECONDS='soon'"));
        assertTrue(assertThrows(InvalidConfigurationException.class,
            () -> AcceleratorSettings.fromEnvironment(Map.of("ACCELERATE_SECTION_TIMEOUT_SECONDS", "1e-10"))).getMessage()
            .startsWith("ACCELERATE_SECTION_TIMEOUT_SECONDS='1e-10' must be a finite number of seconds, at least 0.001"));
        assertEquals("ACCELERATE_PEER_TIMEOUT_MS='150' must be at least 200 ms (heartbeats go every 100 ms)",
            assertThrows(InvalidConfigurationException.class,
                () -> AcceleratorSettings.fromEnvironment(Map.of("ACCELERATE_PEER_TIMEOUT_MS", "150"))).getMessage());
        assertEquals("ACCELERATE_ALIGN_GC='often' must be true or false", assertThrows(InvalidConfigurationException.class,
            () -> AcceleratorSettings.fromEnvironment(Map.of("ACCELERATE_ALIGN_GC", "often"))).getMessage());
    }
}
