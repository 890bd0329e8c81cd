/*
 * ll-verify: full offline verification of a ledger, parallel across cores,
 * for ops/bench.
 *
 *   ll-verify --data DIR [--threads N]
 *
 * Checks, trusting nothing derived: every leaf is framed as ll_leaf_build
 * writes it and carries its own sequence number; its RFC 9162 leaf hash
 * equals the stored level-0 node; its envelope decodes and validates; its
 * signature verifies against the key registered to its author (keys table:
 * the record must name the author and have been registered before the
 * entry, or at 0 for genesis); every stored node above the leaves equals
 * the hash of its two children. Exit 0 only if everything holds.
 *
 * Why it is built this way: signatures dominate, so the log is cut into
 * aligned chunks of LL_VERIFY_CHUNK leaves that threads take from a shared
 * counter (a noisy, shared machine balances itself); each chunk's subtrees
 * are rebuilt from its leaf hashes and compared with the stored nodes, and
 * only the few nodes above chunk size are checked at the end, on one
 * thread. This is the bench's stand-in for `loopledgerd verify` (issue 7,
 * api/domain/ll_audit.c), which ops/bench uses instead once it exists. It
 * reads the key records through ll_trust.h.
 *
 * Output: one key=value line.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ll_benchlib.h"
#include "ll_bytes.h"
#include "ll_entry.h"
#include "ll_err.h"
#include "ll_store.h"
#include "ll_trust.h"

#define LL_VERIFY_CHUNK_BITS 14
#define LL_VERIFY_CHUNK (UINT64_C(1) << LL_VERIFY_CHUNK_BITS)

static struct {
    ll_store_t *st;
    uint64_t size;
    _Atomic uint64_t next_chunk;
    _Atomic uint64_t sigs, bytes;
    _Atomic int failed;
    pthread_mutex_t lock;
    char what[300];
} g;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
    va_list ap;
    pthread_mutex_lock(&g.lock);
    if (!atomic_exchange(&g.failed, 1)) {
        va_start(ap, fmt);
        vsnprintf(g.what, sizeof g.what, fmt, ap);
        va_end(ap);
    }
    pthread_mutex_unlock(&g.lock);
}

/* Splits a leaf into its envelope, checking the framing and the seq. */
static int unframe(const uint8_t *leaf, size_t len, uint64_t seq, const uint8_t **env,
                   size_t *env_len)
{
    const uint8_t *p = leaf, *end = leaf + len;
    uint64_t v = 0, n;
    if (p < end && *p == 0x08) {
        p++;
        if (ll_get_varint(&p, end, &v) || v == 0)
            return -1;
    }
    if (v != seq)
        return -1;
    if (p < end && *p == 0x10) {
        p++;
        if (ll_get_varint(&p, end, &v))
            return -1;
    }
    if (p >= end || *p++ != 0x1a || ll_get_varint(&p, end, &n) || n != (uint64_t)(end - p))
        return -1;
    *env = p;
    *env_len = (size_t)n;
    return 0;
}

static void check_entry(ll_txn_t *txn, uint64_t seq, const uint8_t *leaf, size_t len)
{
    const uint8_t *raw;
    size_t raw_len;
    ll_trust_key_t k;
    ll_entry_t e;
    char msg[256];
    if (unframe(leaf, len, seq, &raw, &raw_len)) {
        fail("entry %" PRIu64 ": leaf framing or sequence number is wrong", seq);
        return;
    }
    if (ll_entry_decode(raw, raw_len, &e, msg, sizeof msg)) {
        fail("entry %" PRIu64 ": %s", seq, msg);
        return;
    }
    size_t alen = strlen(e.body->author);
    if (ll_trust_key(txn, e.keyid, &k) || k.actor_len != alen ||
        memcmp(k.actor, e.body->author, alen)) {
        fail("entry %" PRIu64 ": no key of author \"%s\" with its keyid", seq, e.body->author);
        goto out;
    }
    uint64_t reg = k.reg_seq;
    if (reg >= seq && !(reg == 0 && seq == 0)) {
        fail("entry %" PRIu64 ": signed with a key registered later (at %" PRIu64 ")", seq, reg);
        goto out;
    }
    if (ll_entry_verify(&e, k.pub)) {
        fail("entry %" PRIu64 ": signature does not verify", seq);
        goto out;
    }
    atomic_fetch_add_explicit(&g.sigs, 1, memory_order_relaxed);
out:
    ll_entry_free(&e);
}

static void check_node(ll_txn_t *txn, unsigned level, uint64_t idx, const uint8_t h[LL_HASH_LEN])
{
    uint8_t stored[LL_HASH_LEN];
    if (ll_store_node(txn, level, idx, stored) || memcmp(stored, h, LL_HASH_LEN))
        fail("node (%u, %" PRIu64 ") is missing or wrong (first leaf %" PRIu64 ")", level, idx,
             idx << level);
}

static void *worker(void *arg)
{
    (void)arg;
    uint8_t(*h)[LL_HASH_LEN] = malloc(LL_VERIFY_CHUNK * LL_HASH_LEN);
    ll_txn_t *txn;
    if (!h || ll_store_begin_read(g.st, &txn)) {
        fail("out of memory or store unreadable");
        free(h);
        return NULL;
    }
    for (;;) {
        uint64_t c = atomic_fetch_add(&g.next_chunk, 1), a = c << LL_VERIFY_CHUNK_BITS;
        if (a >= g.size || atomic_load(&g.failed))
            break;
        uint64_t n = g.size - a < LL_VERIFY_CHUNK ? g.size - a : LL_VERIFY_CHUNK, bytes = 0;
        for (uint64_t i = 0; i < n; i++) {
            const uint8_t *leaf;
            size_t len;
            if (ll_store_leaf(txn, a + i, &leaf, &len)) {
                fail("entry %" PRIu64 " is missing", a + i);
                break;
            }
            bytes += len;
            ll_merkle_leaf_hash(leaf, len, h[i]);
            check_node(txn, 0, a + i, h[i]);
            check_entry(txn, a + i, leaf, len);
        }
        atomic_fetch_add(&g.bytes, bytes);
        /* Complete subtrees inside the chunk, level by level, in place. */
        for (unsigned level = 1; level <= LL_VERIFY_CHUNK_BITS && (n >> level); level++) {
            uint64_t m = n >> level;
            for (uint64_t j = 0; j < m; j++) {
                ll_merkle_node_hash(h[2 * j], h[2 * j + 1], h[j]);
                check_node(txn, level, (a >> level) + j, h[j]);
            }
        }
    }
    ll_store_abort(txn);
    free(h);
    return NULL;
}

int main(int argc, char **argv)
{
    const char *dir = NULL;
    int threads = ll_bench_cores(), err;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--data")) dir = argv[i + 1];
        else if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
    }
    if (!dir || threads < 1 || argc % 2 == 0) {
        fputs("usage: ll-verify --data DIR [--threads N]\n", stderr);
        return 2;
    }
    if ((err = ll_store_open(dir, NULL, &g.st))) {
        fprintf(stderr, "ll-verify: %s: %s (%s)\n", dir, ll_strerror(err), ll_store_last_error());
        return 1;
    }
    pthread_mutex_init(&g.lock, NULL);
    g.size = ll_store_committed_size(g.st);
    double t0 = ll_bench_now();
    pthread_t *tids = calloc((size_t)threads, sizeof *tids);
    for (int i = 0; i < threads; i++)
        pthread_create(&tids[i], NULL, worker, NULL);
    for (int i = 0; i < threads; i++)
        pthread_join(tids[i], NULL);
    /* Nodes above chunk size, from their (already checked) children. */
    ll_txn_t *txn;
    uint64_t nodes_top = 0;
    if (!g.failed && !ll_store_begin_read(g.st, &txn)) {
        for (unsigned level = LL_VERIFY_CHUNK_BITS + 1; level < 64 && (g.size >> level); level++) {
            for (uint64_t j = 0; j < (g.size >> level); j++) {
                uint8_t l[LL_HASH_LEN], r[LL_HASH_LEN], h[LL_HASH_LEN];
                if (ll_store_node(txn, level - 1, 2 * j, l) ||
                    ll_store_node(txn, level - 1, 2 * j + 1, r)) {
                    fail("node (%u, %" PRIu64 ") is missing", level - 1, 2 * j);
                    break;
                }
                ll_merkle_node_hash(l, r, h);
                check_node(txn, level, j, h);
                nodes_top++;
            }
        }
        ll_store_abort(txn);
    }
    double secs = ll_bench_now() - t0;
    printf("tool=verify entries=%" PRIu64 " signatures=%" PRIu64 " leaf_mb=%.0f threads=%d "
           "secs=%.2f rate=%.0f ok=%d\n",
           g.size, (uint64_t)g.sigs, (double)g.bytes / 1e6, threads, secs,
           (double)g.size / secs, !g.failed);
    if (g.failed)
        fprintf(stderr, "ll-verify: %s\n", g.what);
    ll_store_close(g.st);
    free(tids);
    return g.failed ? 1 : 0;
}
