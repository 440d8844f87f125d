package dev.dl4j.accelerate.cuda;

import com.sun.jna.Library;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.PointerByReference;

/**
 * The few NVML calls discovery needs, mapped by JNA onto {@code libnvidia-ml.so.1}, which ships with the driver.
 * NVML reads the driver's view of the GPUs without creating a CUDA context, so the launcher stays off every GPU.
 * Each call returns an {@code nvmlReturn_t}: 0 on success. Tests implement this interface to play a driver.
 */
interface NvmlLibrary extends Library
{
    int SUCCESS = 0;
    int ERROR_DRIVER_NOT_LOADED = 9;
    int ERROR_LIBRARY_NOT_FOUND = 12;
    /** NVML_DEVICE_UUID_V2_BUFFER_SIZE and NVML_DEVICE_NAME_V2_BUFFER_SIZE; the driver version needs 80. */
    int STRING_BUFFER_SIZE = 96;
    /** nvmlPciInfo_t: busIdLegacy[16], five unsigned ints, busId[32]: 68 bytes, rounded up. */
    int PCI_INFO_SIZE = 128;
    int PCI_BUS_ID_OFFSET = 36;

    int nvmlInit_v2();

    int nvmlShutdown();

    String nvmlErrorString(int result);

    int nvmlSystemGetDriverVersion(byte[] version, int length);

    int nvmlDeviceGetCount_v2(IntByReference count);

    int nvmlDeviceGetHandleByIndex_v2(int index, PointerByReference device);

    int nvmlDeviceGetUUID(Pointer device, byte[] uuid, int length);

    int nvmlDeviceGetName(Pointer device, byte[] name, int length);

    /**
     * @param memory nvmlMemory_t: total, free and used bytes.
     * @return the status.
     */
    int nvmlDeviceGetMemoryInfo(Pointer device, long[] memory);

    int nvmlDeviceGetPciInfo_v3(Pointer device, byte[] pciInfo);

    int nvmlDeviceGetCudaComputeCapability(Pointer device, IntByReference major, IntByReference minor);
}
