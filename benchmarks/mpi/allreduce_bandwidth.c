/*
 * allreduce_bandwidth: the Open MPI reference for AllReduceBandwidth. Times MPI_Allreduce(MPI_IN_PLACE,
 * MPI_FLOAT, MPI_SUM), in place like Accelerator.allReduce, exactly the way AllReduceBandwidth times
 * allReduce: per size, one checked call, a warm-up, then every call timed on its own with
 * clock_gettime(CLOCK_MONOTONIC), in chunks between which rank 0 broadcasts whether to go on (same chunk
 * rule and time budget), then nearest-rank percentiles of the sorted samples. Rank 0 prints one RESULT line
 * per size in the format AllReduceBandwidth prints, so AllReduceReport reads both.
 *
 * Build: mpicc -O2 -o allreduce_bandwidth allreduce_bandwidth.c
 * Run:   mpirun --allow-run-as-root --oversubscribe -np 2 ./allreduce_bandwidth \
 *            [sizes=4,4096,...] [warmup=5] [warmup_seconds=1] [iterations=100000] [min_iterations=5] [max_seconds=3]
 */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timing.h"

#define MAX_SIZES 64

/* Same rule as AllReduceBandwidth.chunkCalls: about 16 MiB of array per chunk, 1 to 1000 calls. */
static long chunk_calls(const long bytes)
{
    long calls = (16L << 20) / bytes;
    return calls < 1 ? 1 : calls > 1000 ? 1000 : calls;
}

/*
 * Rank 0 decides whether to go on, as Chunks does for AllReduceBandwidth: until until_ns has passed, but at least
 * min_calls and never more than max_calls. Returns the calls of the next chunk, the same on every rank; 0 when
 * done.
 */
static long next_chunk(
    const long chunk, long *handed_out, const long min_calls, const long max_calls, const int64_t start_ns,
    const int64_t until_ns)
{
    if (*handed_out >= max_calls)
    {
        return 0;
    }
    int go_on = *handed_out < min_calls || now_ns() - start_ns < until_ns;
    MPI_Bcast(&go_on, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (!go_on)
    {
        return 0;
    }
    const long calls = chunk < max_calls - *handed_out ? chunk : max_calls - *handed_out;
    *handed_out += calls;
    return calls;
}

/* Returns the number of sizes, or -1 when there are more than MAX_SIZES (none is dropped silently). */
static long parse_sizes(const char *text, long *sizes)
{
    long count = 0;
    char *copy = strdup(text);
    for (char *part = strtok(copy, ","); part != NULL; part = strtok(NULL, ","))
    {
        if (count == MAX_SIZES)
        {
            count = -1;
            break;
        }
        sizes[count++] = atol(part);
    }
    free(copy);
    return count;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank;
    int size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);

    long sizes[MAX_SIZES] = { 4, 4096, 1L << 20, 16L << 20, 100L << 20 };
    long size_count = 5;
    if (argc > 1)
    {
        size_count = parse_sizes(argv[1], sizes);
    }
    const long warmup = argc > 2 ? atol(argv[2]) : 5;
    const double warmup_seconds = argc > 3 ? atof(argv[3]) : 1.0;
    const long iterations = argc > 4 ? atol(argv[4]) : 100000;
    const long min_iterations = argc > 5 ? atol(argv[5]) : 5;
    const double max_seconds = argc > 6 ? atof(argv[6]) : 3.0;
    int bad = size_count < 1 || warmup < 0 || warmup_seconds < 0 || iterations < 1 || min_iterations < 1 ||
        min_iterations > iterations || max_seconds <= 0;
    for (long s = 0; s < size_count; s++)
    {
        bad |= sizes[s] < 4 || sizes[s] % 4 != 0;
    }
    if (bad)
    {
        if (rank == 0)
        {
            fprintf(stderr, "allreduce_bandwidth: bad arguments:");
            for (int i = 1; i < argc; i++)
            {
                fprintf(stderr, " '%s'", argv[i]);
            }
            fprintf(stderr, "\nusage: allreduce_bandwidth [sizes: 1 to %d multiples of 4, comma-separated] "
                "[warmup >= 0] [warmup_seconds >= 0] [iterations >= 1] [1 <= min_iterations <= iterations] "
                "[max_seconds > 0]\n", MAX_SIZES);
        }
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    if (rank == 0)
    {
        printf("# allreduce_bandwidth ranks=%d warmup=%ld warmup-seconds=%g iterations=%ld min-iterations=%ld "
            "max-seconds=%g\n", size, warmup, warmup_seconds, iterations, min_iterations, max_seconds);
        fflush(stdout);
    }

    int64_t *samples = malloc(sizeof(int64_t) * (size_t)iterations);
    if (samples == NULL)
    {
        fprintf(stderr, "rank %d: cannot allocate %ld samples\n", rank, iterations);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    for (long s = 0; s < size_count; s++)
    {
        const long bytes = sizes[s];
        const long count = bytes / 4;
        float *data = NULL;
        if (posix_memalign((void **)&data, 64, (size_t)bytes) != 0)
        {
            fprintf(stderr, "rank %d: cannot allocate %ld bytes\n", rank, bytes);
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        /* One checked call, as AllReduceBandwidth makes: every element must be n(n+1)/2 everywhere. */
        for (long i = 0; i < count; i++)
        {
            data[i] = (float)(rank + 1);
        }
        MPI_Allreduce(MPI_IN_PLACE, data, (int)count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        const float expected = (float)(size * (size + 1) / 2);
        for (long i = 0; i < count; i++)
        {
            if (data[i] != expected)
            {
                fprintf(stderr, "rank %d: MPI_Allreduce of %ld floats gave %g at %ld, expected %g\n", rank, count,
                    data[i], i, expected);
                MPI_Abort(MPI_COMM_WORLD, 1);
            }
        }

        const long chunk = chunk_calls(bytes);
        long handed_out = 0;
        int64_t start_ns = now_ns();
        for (long calls = next_chunk(chunk, &handed_out, warmup, 1L << 62, start_ns, (int64_t)(warmup_seconds * 1e9));
            calls > 0;
            calls = next_chunk(chunk, &handed_out, warmup, 1L << 62, start_ns, (int64_t)(warmup_seconds * 1e9)))
        {
            for (long i = 0; i < calls; i++)
            {
                MPI_Allreduce(MPI_IN_PLACE, data, (int)count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
            }
        }

        long timed = 0;
        handed_out = 0;
        start_ns = now_ns();
        for (long calls = next_chunk(chunk, &handed_out, min_iterations, iterations, start_ns,
                (int64_t)(max_seconds * 1e9));
            calls > 0;
            calls = next_chunk(chunk, &handed_out, min_iterations, iterations, start_ns, (int64_t)(max_seconds * 1e9)))
        {
            for (long i = 0; i < calls; i++)
            {
                const int64_t start = now_ns();
                MPI_Allreduce(MPI_IN_PLACE, data, (int)count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
                samples[timed++] = now_ns() - start;
            }
        }
        qsort(samples, (size_t)timed, sizeof(int64_t), compare_int64);
        double mine[2] = { (double)percentile(samples, timed, 50.0), (double)percentile(samples, timed, 99.0) };
        double worst[2];
        MPI_Reduce(mine, worst, 2, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
        if (rank == 0)
        {
            printf("RESULT impl=mpi op=SUM ranks=%d bytes=%ld iterations=%ld p50_us=%.3f p99_us=%.3f "
                "maxrank_p50_us=%.3f maxrank_p99_us=%.3f\n", size, bytes, timed, mine[0] / 1e3, mine[1] / 1e3,
                worst[0] / 1e3, worst[1] / 1e3);
            fflush(stdout);
        }
        free(data);
    }
    free(samples);
    MPI_Finalize();
    return 0;
}
