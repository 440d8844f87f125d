package dev.dl4j.accelerate.cuda;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import com.sun.jna.Native;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.PointerByReference;
import dev.dl4j.accelerate.launch.GpuSupport.Gpu;
import dev.dl4j.accelerate.launch.GpuSupport.Inventory;

/**
 * Lists the host's GPUs through NVML and, where NVML cannot be used, through {@code nvidia-smi}; neither creates a
 * CUDA context. No driver gives an empty list; a driver that seems present but answers nothing usable gives a
 * problem, so the launcher does not start CPU workers on a GPU host by mistake.
 */
final class GpuDiscovery
{
    static final String NVML_LIBRARY = "libnvidia-ml.so.1";
    /** What the fallback asks: the issue's five fields, then the driver version, which every nvidia-smi knows. */
    static final List<String> NVIDIA_SMI_QUERY = List.of(
        "--query-gpu=index,uuid,name,memory.total,pci.bus_id,driver_version", "--format=csv,noheader,nounits");
    static final long NVIDIA_SMI_TIMEOUT_SECONDS = 30;

    private final String nvmlLibrary;
    private final String path;

    /**
     * @param nvmlLibrary the NVML library to load, normally {@value #NVML_LIBRARY}.
     * @param path        where to look for {@code nvidia-smi} (a {@code PATH} value), or null.
     */
    GpuDiscovery(final String nvmlLibrary, final String path)
    {
        this.nvmlLibrary = nvmlLibrary;
        this.path = path;
    }

    Inventory discover()
    {
        final NvmlLibrary nvml;
        try
        {
            nvml = Native.loadLibrary(nvmlLibrary, NvmlLibrary.class);
        }
        catch (final UnsatisfiedLinkError ex)
        {
            return withNvidiaSmi(nvmlLibrary + " not found", false);
        }
        return discover(nvml);
    }

    /**
     * @param nvml a loaded NVML (or a test's fake).
     * @return what NVML found, or what nvidia-smi found when NVML could not answer.
     */
    Inventory discover(final NvmlLibrary nvml)
    {
        final int init;
        try
        {
            init = nvml.nvmlInit_v2();
        }
        catch (final UnsatisfiedLinkError ex)
        {
            return withNvidiaSmi("NVML in " + nvmlLibrary + " is too old: " + ex.getMessage(), true);
        }
        if (init != NvmlLibrary.SUCCESS)
        {
            final boolean absent = init == NvmlLibrary.ERROR_DRIVER_NOT_LOADED || init == NvmlLibrary.ERROR_LIBRARY_NOT_FOUND;
            return withNvidiaSmi("NVML: " + error(nvml, init), !absent);
        }
        try
        {
            final String driver = driverVersion(nvml);
            final IntByReference count = new IntByReference();
            call(nvml, nvml.nvmlDeviceGetCount_v2(count), "nvmlDeviceGetCount_v2");
            if (count.getValue() == 0)
            {
                return new Inventory(List.of(), driver, "NVML found no GPU", "");
            }
            final List<Gpu> gpus = new ArrayList<>();
            for (int index = 0; index < count.getValue(); index++)
            {
                gpus.add(gpu(nvml, index));
            }
            return new Inventory(gpus, driver, "NVML (" + nvmlLibrary + ")", "");
        }
        catch (final NvmlException | UnsatisfiedLinkError ex)
        {
            return withNvidiaSmi("NVML: " + ex.getMessage(), true);
        }
        finally
        {
            nvml.nvmlShutdown();
        }
    }

    private static Gpu gpu(final NvmlLibrary nvml, final int index)
    {
        final PointerByReference handle = new PointerByReference();
        call(nvml, nvml.nvmlDeviceGetHandleByIndex_v2(index, handle), "nvmlDeviceGetHandleByIndex_v2(" + index + ")");
        final Pointer device = handle.getValue();
        final byte[] uuid = new byte[NvmlLibrary.STRING_BUFFER_SIZE];
        call(nvml, nvml.nvmlDeviceGetUUID(device, uuid, uuid.length), "nvmlDeviceGetUUID(" + index + ")");
        final byte[] name = new byte[NvmlLibrary.STRING_BUFFER_SIZE];
        call(nvml, nvml.nvmlDeviceGetName(device, name, name.length), "nvmlDeviceGetName(" + index + ")");
        final long[] memory = new long[3];
        final long memoryMiB = nvml.nvmlDeviceGetMemoryInfo(device, memory) == NvmlLibrary.SUCCESS ? memory[0] >> 20 : -1;
        return new Gpu(index, string(uuid, 0), string(name, 0), memoryMiB, pciBusId(nvml, device),
            computeCapability(nvml, device));
    }

    private static String driverVersion(final NvmlLibrary nvml)
    {
        final byte[] version = new byte[NvmlLibrary.STRING_BUFFER_SIZE];
        return nvml.nvmlSystemGetDriverVersion(version, version.length) == NvmlLibrary.SUCCESS ? string(version, 0) : "";
    }

    /**
     * Optional: older drivers lack the call, and a GPU is usable without its bus id.
     */
    private static String pciBusId(final NvmlLibrary nvml, final Pointer device)
    {
        final byte[] pci = new byte[NvmlLibrary.PCI_INFO_SIZE];
        try
        {
            return nvml.nvmlDeviceGetPciInfo_v3(device, pci) == NvmlLibrary.SUCCESS ?
                string(pci, NvmlLibrary.PCI_BUS_ID_OFFSET) : "";
        }
        catch (final UnsatisfiedLinkError ex)
        {
            return "";
        }
    }

    private static String computeCapability(final NvmlLibrary nvml, final Pointer device)
    {
        final IntByReference major = new IntByReference();
        final IntByReference minor = new IntByReference();
        try
        {
            return nvml.nvmlDeviceGetCudaComputeCapability(device, major, minor) == NvmlLibrary.SUCCESS ?
                major.getValue() + "." + minor.getValue() : "";
        }
        catch (final UnsatisfiedLinkError ex)
        {
            return "";
        }
    }

    private static void call(final NvmlLibrary nvml, final int result, final String what)
    {
        if (result != NvmlLibrary.SUCCESS)
        {
            throw new NvmlException(what + " failed: " + error(nvml, result));
        }
    }

    private static String error(final NvmlLibrary nvml, final int result)
    {
        String text;
        try
        {
            text = nvml.nvmlErrorString(result);
        }
        catch (final UnsatisfiedLinkError ex)
        {
            text = null;
        }
        return (text != null ? text : "error") + " (" + result + ")";
    }

    private static String string(final byte[] bytes, final int offset)
    {
        int end = offset;
        while (end < bytes.length && bytes[end] != 0)
        {
            end++;
        }
        return new String(bytes, offset, end - offset, StandardCharsets.UTF_8).trim();
    }

    /**
     * @param nvmlWhy     why NVML gave no answer.
     * @param driverThere whether NVML's failure shows a driver is there (loaded, but answering errors).
     */
    private Inventory withNvidiaSmi(final String nvmlWhy, final boolean driverThere)
    {
        final Path smi = findOnPath("nvidia-smi", path);
        if (smi == null)
        {
            return driverThere ? new Inventory(List.of(), "", "none", nvmlWhy + "; nvidia-smi is not on PATH") :
                new Inventory(List.of(), "", "no NVIDIA driver (" + nvmlWhy + "; nvidia-smi is not on PATH)", "");
        }
        final List<String> command = new ArrayList<>(List.of(smi.toString()));
        command.addAll(NVIDIA_SMI_QUERY);
        final String source = "nvidia-smi (" + nvmlWhy + ")";
        File output = null;
        Process process = null;
        try
        {
            // A file, not a pipe: a hung nvidia-smi (it can hang on a wedged GPU) must not hang the launcher.
            output = File.createTempFile("accelerate-nvidia-smi", ".txt");
            process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(output)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
            if (!process.waitFor(NVIDIA_SMI_TIMEOUT_SECONDS, TimeUnit.SECONDS))
            {
                process.destroyForcibly();
                return new Inventory(List.of(), "", source, String.join(" ", command) + " did not answer in " +
                    NVIDIA_SMI_TIMEOUT_SECONDS + " s");
            }
            final String text = Files.readString(output.toPath(), StandardCharsets.UTF_8);
            if (process.exitValue() != 0)
            {
                // nvidia-smi installed without a loaded driver, or with no GPU: a CPU host, as far as we can tell.
                if (text.contains("couldn't communicate with the NVIDIA driver") || text.contains("No devices were found"))
                {
                    return new Inventory(List.of(), "", "no usable NVIDIA driver (" + nvmlWhy + "; nvidia-smi: " +
                        firstLine(text) + ")", "");
                }
                return new Inventory(List.of(), "", source, String.join(" ", command) + " exited with " +
                    process.exitValue() + ": " + firstLine(text));
            }
            final List<Gpu> gpus = parseNvidiaSmi(text);
            return new Inventory(gpus, driverVersionOf(text), gpus.isEmpty() ? "nvidia-smi found no GPU" : source, "");
        }
        catch (final IOException | IllegalArgumentException ex)
        {
            return new Inventory(List.of(), "", source, String.join(" ", command) + ": " + ex.getMessage());
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            return new Inventory(List.of(), "", source, "interrupted while waiting for nvidia-smi");
        }
        finally
        {
            // Timed out or interrupted: it must not outlive the question.
            if (process != null && process.isAlive())
            {
                process.destroyForcibly();
            }
            if (output != null && !output.delete())
            {
                output.deleteOnExit();
            }
        }
    }

    /**
     * @param output what {@link #NVIDIA_SMI_QUERY} printed: {@code index, uuid, name, MiB, bus id, driver} per line.
     * @return the GPUs.
     * @throws IllegalArgumentException naming the line it cannot read.
     */
    static List<Gpu> parseNvidiaSmi(final String output)
    {
        final List<Gpu> gpus = new ArrayList<>();
        for (final String line : output.split("\\R"))
        {
            if (line.isBlank())
            {
                continue;
            }
            final String[] fields = Arrays.stream(line.split(",")).map(String::trim).toArray(String[]::new);
            if (fields.length < 6 || !fields[0].matches("\\d+") || !fields[1].startsWith("GPU-"))
            {
                throw new IllegalArgumentException("cannot read the line '" + line + "' as " +
                    NVIDIA_SMI_QUERY.get(0).substring("--query-gpu=".length()));
            }
            // A product name may hold a comma; the fields around it never do.
            final String name = String.join(", ", Arrays.copyOfRange(fields, 2, fields.length - 3));
            final String memory = fields[fields.length - 3];
            gpus.add(new Gpu(Integer.parseInt(fields[0]), fields[1], name,
                memory.matches("\\d+") ? Long.parseLong(memory) : -1, fields[fields.length - 2], ""));
        }
        return gpus;
    }

    private static String driverVersionOf(final String output)
    {
        for (final String line : output.split("\\R"))
        {
            if (!line.isBlank())
            {
                final String[] fields = line.split(",");
                return fields[fields.length - 1].trim();
            }
        }
        return "";
    }

    private static String firstLine(final String text)
    {
        final String trimmed = text.strip();
        final int end = trimmed.indexOf('\n');
        return end < 0 ? trimmed : trimmed.substring(0, end).strip();
    }

    static Path findOnPath(final String program, final String path)
    {
        if (path == null)
        {
            return null;
        }
        for (final String dir : path.split(File.pathSeparator))
        {
            final Path candidate = Path.of(dir.isEmpty() ? "." : dir, program);
            if (Files.isRegularFile(candidate) && Files.isExecutable(candidate))
            {
                return candidate;
            }
        }
        return null;
    }

    /**
     * An NVML call that failed after NVML started: the driver is there but cannot be read.
     */
    private static final class NvmlException extends RuntimeException
    {
        private static final long serialVersionUID = 1L;

        NvmlException(final String message)
        {
            super(message, null, false, false);
        }
    }
}
