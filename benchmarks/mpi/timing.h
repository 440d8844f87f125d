/*
 * What the Open MPI references share with each other and with the Java benchmarks they stand next to: the clock
 * every call is timed with, and the percentile HdrHistogram reports, so that both sides read the same samples the
 * same way.
 */
#ifndef DL4J_ACCELERATE_BENCHMARKS_TIMING_H
#define DL4J_ACCELERATE_BENCHMARKS_TIMING_H

#include <stdint.h>
#include <time.h>

/* clock_gettime(CLOCK_MONOTONIC), as System.nanoTime() reads it on Linux. */
static inline int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* qsort's comparison for samples in nanoseconds. */
static inline int compare_int64(const void *a, const void *b)
{
    const int64_t x = *(const int64_t *)a;
    const int64_t y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of count sorted samples, the definition HdrHistogram's getValueAtPercentile also uses. */
static inline int64_t percentile(const int64_t *sorted, const long count, const double p)
{
    long rank = (long)((p / 100.0) * (double)count + 0.5);
    if (rank < 1)
    {
        rank = 1;
    }
    if (rank > count)
    {
        rank = count;
    }
    return sorted[rank - 1];
}

#endif
