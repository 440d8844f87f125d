/*
 * barrier_latency: the Open MPI reference for CollectiveLatency. Measures MPI_Barrier, and a one-byte
 * MPI_Allreduce(MPI_LOR) (what Accelerator.checkTrigger() computes), exactly the way CollectiveLatency
 * measures waitForEveryone() and checkTrigger(): a warm-up, then every call timed on its own with
 * clock_gettime(CLOCK_MONOTONIC), then percentiles of the sorted samples. Rank 0 gathers every rank's
 * percentiles and prints one RESULT line per operation in the format CollectiveLatency prints, so
 * LatencyReport reads both.
 *
 * Build: mpicc -O2 -o barrier_latency barrier_latency.c
 * Run:   mpirun --allow-run-as-root --oversubscribe -np 2 ./barrier_latency [iterations] [warmup]
 */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "timing.h"

#define STATS 4 /* p50, p99, p99.9, max, in ns */

static void summarise(int64_t *samples, const long count, double *stats)
{
    qsort(samples, (size_t)count, sizeof(int64_t), compare_int64);
    stats[0] = (double)percentile(samples, count, 50.0);
    stats[1] = (double)percentile(samples, count, 99.0);
    stats[2] = (double)percentile(samples, count, 99.9);
    stats[3] = (double)samples[count - 1];
}

static void report(
    const char *op, const int rank, const int size, const long iterations, const double *stats, double *all)
{
    MPI_Gather(stats, STATS, MPI_DOUBLE, all, STATS, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    if (rank != 0)
    {
        return;
    }
    double max_p50 = 0.0;
    double max_p99 = 0.0;
    for (int r = 0; r < size; r++)
    {
        max_p50 = all[r * STATS] > max_p50 ? all[r * STATS] : max_p50;
        max_p99 = all[r * STATS + 1] > max_p99 ? all[r * STATS + 1] : max_p99;
    }
    printf("RESULT op=%s ranks=%d wait=mpi iterations=%ld p50_us=%.3f p99_us=%.3f p999_us=%.3f max_us=%.3f "
        "maxrank_p50_us=%.3f maxrank_p99_us=%.3f\n",
        op, size, iterations, stats[0] / 1e3, stats[1] / 1e3, stats[2] / 1e3, stats[3] / 1e3,
        max_p50 / 1e3, max_p99 / 1e3);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank;
    int size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);

    const long iterations = argc > 1 ? atol(argv[1]) : 100000;
    const long warmup = argc > 2 ? atol(argv[2]) : 20000;
    if (iterations < 1 || warmup < 0)
    {
        if (rank == 0)
        {
            fprintf(stderr, "usage: barrier_latency [iterations >= 1] [warmup >= 0], got %s %s\n",
                argc > 1 ? argv[1] : "", argc > 2 ? argv[2] : "");
        }
        MPI_Abort(MPI_COMM_WORLD, 2);
    }

    int64_t *samples = malloc(sizeof(int64_t) * (size_t)iterations);
    double *all = malloc(sizeof(double) * STATS * (size_t)size);
    if (samples == NULL || all == NULL)
    {
        fprintf(stderr, "rank %d: cannot allocate %ld samples\n", rank, iterations);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    double stats[STATS];

    for (long i = 0; i < warmup; i++)
    {
        MPI_Barrier(MPI_COMM_WORLD);
    }
    for (long i = 0; i < iterations; i++)
    {
        const int64_t start = now_ns();
        MPI_Barrier(MPI_COMM_WORLD);
        samples[i] = now_ns() - start;
    }
    summarise(samples, iterations, stats);
    report("MPI_Barrier", rank, size, iterations, stats, all);

    /* Every rank contributes "not triggered", as in CollectiveLatency's checkTrigger() loop. */
    unsigned char flag = 0;
    unsigned char any = 0;
    long raised = 0;
    MPI_Barrier(MPI_COMM_WORLD);
    for (long i = 0; i < warmup; i++)
    {
        MPI_Allreduce(&flag, &any, 1, MPI_UNSIGNED_CHAR, MPI_LOR, MPI_COMM_WORLD);
        raised += any;
    }
    for (long i = 0; i < iterations; i++)
    {
        const int64_t start = now_ns();
        MPI_Allreduce(&flag, &any, 1, MPI_UNSIGNED_CHAR, MPI_LOR, MPI_COMM_WORLD);
        samples[i] = now_ns() - start;
        raised += any;
    }
    if (raised != 0)
    {
        fprintf(stderr, "rank %d: MPI_Allreduce(LOR) of zeros returned true %ld times\n", rank, raised);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    summarise(samples, iterations, stats);
    report("MPI_Allreduce_LOR", rank, size, iterations, stats, all);

    free(samples);
    free(all);
    MPI_Finalize();
    return 0;
}
