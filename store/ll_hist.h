/*
 * ll_hist: a fixed-bucket histogram that many threads record into without
 * a lock (one relaxed atomic add per bucket, count and sum), for the
 * server's Prometheus metrics (api/http/ll_metrics.c).
 *
 * Buckets are upper bounds given at init, ascending, at most
 * LL_HIST_MAX_BUCKETS; a value lands in the first bucket whose bound is >=
 * it, or in the implicit +Inf bucket. Counts are per bucket (not
 * cumulative); ll_hist_snapshot copies them for exposition. A snapshot
 * taken while others record may be off by the records in flight (each
 * field is read atomically, not the set): fine for monitoring.
 *
 * The sum is kept in integer units of the caller's choice (nanoseconds,
 * entries) so that it is exact and atomic; the caller scales it.
 */
#ifndef LL_HIST_H
#define LL_HIST_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define LL_HIST_MAX_BUCKETS 20

typedef struct ll_hist {
    unsigned n;                               /* finite bounds */
    uint64_t bound[LL_HIST_MAX_BUCKETS];      /* ascending, caller's units */
    _Atomic uint64_t count[LL_HIST_MAX_BUCKETS + 1]; /* [n] is +Inf */
    _Atomic uint64_t total;
    _Atomic uint64_t sum;
} ll_hist_t;

typedef struct ll_hist_snap {
    unsigned n;
    uint64_t bound[LL_HIST_MAX_BUCKETS];
    uint64_t count[LL_HIST_MAX_BUCKETS + 1];
    uint64_t total, sum;
} ll_hist_snap_t;

/* Sets the bounds (n <= LL_HIST_MAX_BUCKETS, ascending) and zeroes h. */
void ll_hist_init(ll_hist_t *h, const uint64_t *bounds, unsigned n);

/* Records one value. Thread-safe, lock-free. */
void ll_hist_add(ll_hist_t *h, uint64_t v);

/* Copies h into s. */
void ll_hist_snapshot(ll_hist_t *h, ll_hist_snap_t *s);

/* Bounds in nanoseconds for request latencies: 100 us .. 10 s. */
extern const uint64_t ll_hist_latency_ns[16];

#endif
