/*
 * ll_benchlib: shared pieces of the benchmark tools (ll_benchlib.h).
 */
#include "ll_benchlib.h"

#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ll_entry.h"
#include "ll_err.h"

double ll_bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int ll_bench_cores(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set))
        return 1;
    int n = CPU_COUNT(&set);
    return n > 0 ? n : 1;
}

int ll_bench_entry(const ll_key_t *key, const char *author, uint64_t i,
                   uint64_t link, uint8_t **env, size_t *env_len)
{
    static const char *const metrics[] = {"ctr", "conversion_rate", "avg_order_value",
                                          "stockout_rate", "csat", "p95_latency_ms"};
    static const char *const segments[] = {"home-garden", "electronics", "fashion",
                                           "grocery", "toys", "beauty"};
    char text[256], initiative[32];
    uint8_t nonce[16];
    int err;

    if ((err = ll_random(nonce, sizeof nonce)))
        return err;
    snprintf(initiative, sizeof initiative, "initiative-%" PRIu64, i % 37);
    snprintf(text, sizeof text,
             "%s measurement %" PRIu64 ": %s=%.4f (%+.1f%% vs control) segment=%s arm=variant-b "
             "window=2026-11-%02d n=%" PRIu64 " source=monitoring-job",
             initiative, i, metrics[i % 6], 0.01 + (double)(i % 997) / 1000.0,
             (double)(i % 41) - 20.0, segments[(i / 6) % 6], (int)(1 + i % 28),
             1000 + i % 50000);
    Loopledger__V1__Note note = LOOPLEDGER__V1__NOTE__INIT;
    note.text = text;
    Loopledger__V1__Link l = LOOPLEDGER__V1__LINK__INIT;
    Loopledger__V1__Link *links[1] = {&l};
    Loopledger__V1__EntryBody b = LOOPLEDGER__V1__ENTRY_BODY__INIT;
    b.author = (char *)author;
    /* Notes name no initiative: only existing ones may be named, and the
     * benchmark charters none. The initiative still varies the text. */
    b.initiative = "";
    b.nonce.data = nonce;
    b.nonce.len = sizeof nonce;
    b.client_time_unix_nanos = (int64_t)time(NULL) * 1000000000;
    b.kind_case = LOOPLEDGER__V1__ENTRY_BODY__KIND_NOTE;
    b.note = &note;
    if (link != LL_BENCH_NO_LINK) {
        l.relation = LOOPLEDGER__V1__RELATION__RELATES_TO;
        l.target_seq = link;
        b.n_links = 1;
        b.links = links;
    }
    return ll_entry_seal(&b, key, env, env_len);
}

int ll_bench_append_request(const uint8_t *env, size_t env_len, uint8_t **req,
                            size_t *req_len)
{
    uint8_t *r = malloc(env_len + 11);
    size_t n = 0;
    if (!r)
        return LL_ERR_NOMEM;
    /* AppendRequest{envelope = 1}: tag, varint length, bytes. */
    r[n++] = 0x0a;
    for (uint64_t v = env_len;; v >>= 7) {
        r[n++] = (uint8_t)(v >= 0x80 ? (v & 0x7f) | 0x80 : v);
        if (v < 0x80)
            break;
    }
    memcpy(r + n, env, env_len);
    *req = r;
    *req_len = n + env_len;
    return LL_OK;
}
