/*
 * ll_benchlib: what the benchmark tools share: a monotonic clock and
 * realistic signed entries.
 *
 * Why one builder: the ceilings, the bulk loader, the load generator and
 * the PostgreSQL client must sign and verify the *same kind* of entry (a
 * measurement note of ~300 bytes, with a link when asked) or their figures
 * would not be comparable.
 */
#ifndef LL_BENCHLIB_H
#define LL_BENCHLIB_H

#include <stddef.h>
#include <stdint.h>

#include "ll_crypto.h"

#define LL_BENCH_NO_LINK UINT64_MAX

/* Seconds on CLOCK_MONOTONIC. */
double ll_bench_now(void);

/* Signs the i-th benchmark entry of author with key: a measurement note
 * (metric, value, segment, window, sample size) with a random nonce and,
 * unless link is LL_BENCH_NO_LINK, a "relates_to" link to entry link.
 * *env is malloc'd, the caller frees it. Returns LL_OK or an ll_err code. */
int ll_bench_entry(const ll_key_t *key, const char *author, uint64_t i,
                   uint64_t link, uint8_t **env, size_t *env_len);

/* Wraps env as a serialized AppendRequest{envelope = 1} into a malloc'd
 * buffer the caller frees. */
int ll_bench_append_request(const uint8_t *env, size_t env_len, uint8_t **req,
                            size_t *req_len);

/* Usable cores of this process (sched_getaffinity), at least 1. */
int ll_bench_cores(void);

#endif
