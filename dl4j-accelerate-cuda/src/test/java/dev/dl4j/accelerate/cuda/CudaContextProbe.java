package dev.dl4j.accelerate.cuda;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.PointerByReference;

/**
 * A GPU worker without ND4J (whose M2.1 CUDA backend cannot run on every GPU, Hopper included): it creates a CUDA
 * context through the driver API on the first device it sees, writes {@code pid devices uuid CUDA_VISIBLE_DEVICES}
 * to {@code <dir>/rank<LOCAL_RANK>}, and holds the context until {@code <dir>/release} appears, so the test can
 * see with nvidia-smi which GPUs the process is on.
 */
public final class CudaContextProbe
{
    private static final long HOLD_SECONDS = 120;

    /**
     * libcuda.so.1, the driver's own library: present wherever a driver is, toolkit or not.
     */
    interface CudaDriver extends Library
    {
        int cuInit(int flags);

        int cuDeviceGetCount(IntByReference count);

        int cuDeviceGet(IntByReference device, int ordinal);

        int cuDeviceGetUuid(byte[] uuid, int device);

        int cuCtxCreate_v2(PointerByReference context, int flags, int device);

        int cuCtxDestroy_v2(Pointer context);
    }

    private CudaContextProbe()
    {
    }

    /**
     * @param args the directory to report in.
     */
    public static void main(final String[] args) throws Exception
    {
        final Path dir = Path.of(args[0]);
        final CudaDriver cuda = Native.loadLibrary("libcuda.so.1", CudaDriver.class);
        check(cuda.cuInit(0), "cuInit");
        final IntByReference count = new IntByReference();
        check(cuda.cuDeviceGetCount(count), "cuDeviceGetCount");
        final IntByReference device = new IntByReference();
        check(cuda.cuDeviceGet(device, 0), "cuDeviceGet");
        final byte[] uuid = new byte[16];
        check(cuda.cuDeviceGetUuid(uuid, device.getValue()), "cuDeviceGetUuid");
        final PointerByReference context = new PointerByReference();
        check(cuda.cuCtxCreate_v2(context, 0, device.getValue()), "cuCtxCreate_v2");

        final String report = ProcessHandle.current().pid() + " " + count.getValue() + " " + format(uuid) + " " +
            System.getenv("CUDA_VISIBLE_DEVICES");
        final Path file = dir.resolve("rank" + System.getenv("LOCAL_RANK"));
        Files.writeString(dir.resolve(file.getFileName() + ".tmp"), report, StandardCharsets.UTF_8);
        Files.move(dir.resolve(file.getFileName() + ".tmp"), file);
        System.out.println("holding a context: " + report);

        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(HOLD_SECONDS);
        while (!Files.exists(dir.resolve("release")) && System.nanoTime() < deadline)
        {
            Thread.sleep(50);
        }
        cuda.cuCtxDestroy_v2(context.getValue());
    }

    /**
     * @return the UUID as nvidia-smi writes it: GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx.
     */
    static String format(final byte[] uuid)
    {
        final StringBuilder text = new StringBuilder("GPU-");
        for (int i = 0; i < uuid.length; i++)
        {
            if (i == 4 || i == 6 || i == 8 || i == 10)
            {
                text.append('-');
            }
            text.append(String.format("%02x", uuid[i] & 0xff));
        }
        return text.toString();
    }

    private static void check(final int result, final String call)
    {
        if (result != 0)
        {
            throw new IllegalStateException(call + " failed with CUresult " + result);
        }
    }
}
