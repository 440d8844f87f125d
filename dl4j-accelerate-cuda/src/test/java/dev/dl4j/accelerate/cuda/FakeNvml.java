package dev.dl4j.accelerate.cuda;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.PointerByReference;

/**
 * Plays NVML for discovery's tests: the GPUs it reports, and the errors it returns, are set by the test.
 */
final class FakeNvml implements NvmlLibrary
{
    record Device(String uuid, String name, long memoryBytes, String busId, int major, int minor)
    {
    }

    final List<Device> devices = new ArrayList<>();
    int initResult = SUCCESS;
    int failUuidOf = -1;
    boolean oldDriver;
    boolean shutDown;

    public int nvmlInit_v2()
    {
        return initResult;
    }

    public int nvmlShutdown()
    {
        shutDown = true;
        return SUCCESS;
    }

    public String nvmlErrorString(final int result)
    {
        return switch (result)
        {
            case ERROR_DRIVER_NOT_LOADED -> "Driver Not Loaded";
            case 15 -> "GPU is lost";
            default -> "Unknown Error";
        };
    }

    public int nvmlSystemGetDriverVersion(final byte[] version, final int length)
    {
        return put("550.54.15", version, 0);
    }

    public int nvmlDeviceGetCount_v2(final IntByReference count)
    {
        count.setValue(devices.size());
        return SUCCESS;
    }

    public int nvmlDeviceGetHandleByIndex_v2(final int index, final PointerByReference device)
    {
        device.setValue(new Pointer(index + 1));
        return SUCCESS;
    }

    public int nvmlDeviceGetUUID(final Pointer device, final byte[] uuid, final int length)
    {
        return index(device) == failUuidOf ? 15 : put(of(device).uuid(), uuid, 0);
    }

    public int nvmlDeviceGetName(final Pointer device, final byte[] name, final int length)
    {
        return put(of(device).name(), name, 0);
    }

    public int nvmlDeviceGetMemoryInfo(final Pointer device, final long[] memory)
    {
        memory[0] = of(device).memoryBytes();
        memory[1] = memory[0];
        return SUCCESS;
    }

    public int nvmlDeviceGetPciInfo_v3(final Pointer device, final byte[] pciInfo)
    {
        if (oldDriver)
        {
            throw new UnsatisfiedLinkError("Error looking up function 'nvmlDeviceGetPciInfo_v3'");
        }
        return put(of(device).busId(), pciInfo, PCI_BUS_ID_OFFSET);
    }

    public int nvmlDeviceGetCudaComputeCapability(final Pointer device, final IntByReference major, final IntByReference minor)
    {
        if (oldDriver)
        {
            throw new UnsatisfiedLinkError("Error looking up function 'nvmlDeviceGetCudaComputeCapability'");
        }
        major.setValue(of(device).major());
        minor.setValue(of(device).minor());
        return SUCCESS;
    }

    private Device of(final Pointer device)
    {
        return devices.get(index(device));
    }

    private static int index(final Pointer device)
    {
        return (int)Pointer.nativeValue(device) - 1;
    }

    private static int put(final String value, final byte[] buffer, final int offset)
    {
        final byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
        System.arraycopy(bytes, 0, buffer, offset, bytes.length);
        buffer[offset + bytes.length] = 0;
        return SUCCESS;
    }
}
