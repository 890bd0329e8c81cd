/*
 * ll_clock: the clock readings the server takes, in one place.
 *
 * Why one header: the same three-line reading of CLOCK_REALTIME or
 * CLOCK_MONOTONIC as nanoseconds, and the same deadline arithmetic for
 * pthread_cond_timedwait (a timespec some nanoseconds from now, with the
 * nanoseconds carried into seconds), had grown private copies in the
 * ledger, the store, the services and the server. Header-only (static
 * inline): some sit on the Append path.
 *
 * Contracts: the readings never fail (clock_gettime on these clocks does
 * not); ll_clock_deadline is on CLOCK_REALTIME, the clock of a condition
 * variable made with default attributes.
 */
#ifndef LL_CLOCK_H
#define LL_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Wall-clock time, nanoseconds since the Unix epoch (entry times). */
static inline int64_t ll_clock_realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Monotonic time in nanoseconds, for durations and deadlines in-process. */
static inline int64_t ll_clock_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The CLOCK_REALTIME instant ns nanoseconds from now, for
 * pthread_cond_timedwait. */
static inline struct timespec ll_clock_deadline(uint64_t ns)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += (time_t)(ns / 1000000000u);
    ts.tv_nsec += (long)(ns % 1000000000u);
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

#endif
