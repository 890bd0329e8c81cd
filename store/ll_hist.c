/*
 * ll_hist: lock-free fixed-bucket histogram (ll_hist.h).
 */
#include "ll_hist.h"

#include <assert.h>
#include <string.h>

const uint64_t ll_hist_latency_ns[16] = {
    100000,    250000,    500000,    1000000,    2500000,    5000000,
    10000000,  25000000,  50000000,  100000000,  250000000,  500000000,
    1000000000, 2500000000, 5000000000, 10000000000};

void ll_hist_init(ll_hist_t *h, const uint64_t *bounds, unsigned n)
{
    assert(n <= LL_HIST_MAX_BUCKETS);
    h->n = n;
    memcpy(h->bound, bounds, n * sizeof *bounds);
    for (unsigned i = 0; i <= LL_HIST_MAX_BUCKETS; i++)
        atomic_init(&h->count[i], 0);
    atomic_init(&h->total, 0);
    atomic_init(&h->sum, 0);
}

void ll_hist_add(ll_hist_t *h, uint64_t v)
{
    unsigned i = 0;
    while (i < h->n && v > h->bound[i])
        i++;
    atomic_fetch_add_explicit(&h->count[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->total, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum, v, memory_order_relaxed);
}

void ll_hist_snapshot(ll_hist_t *h, ll_hist_snap_t *s)
{
    s->n = h->n;
    memcpy(s->bound, h->bound, sizeof s->bound);
    for (unsigned i = 0; i <= h->n; i++)
        s->count[i] = atomic_load_explicit(&h->count[i], memory_order_relaxed);
    s->total = atomic_load_explicit(&h->total, memory_order_relaxed);
    s->sum = atomic_load_explicit(&h->sum, memory_order_relaxed);
}
