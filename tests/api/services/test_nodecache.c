/*
 * ll_nodecache: through the cache, every node and every root equals what
 * the store answers directly, hit or miss, for complete and incomplete
 * nodes alike; cached nodes stay right as the log grows; sizes beyond the
 * reader's snapshot are LL_ERR_RANGE; concurrent readers agree with the
 * store.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "../../support/ll_testutil.h"
#include "ll_err.h"
#include "ll_merkle.h"
#include "ll_nodecache.h"
#include "ll_store.h"

typedef struct fx {
    char dir[64];
    ll_store_t *st;
    ll_nodecache_t *nc;
} fx_t;

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    ll_test_tmpdir(f->dir);
    assert_int_equal(ll_store_open(f->dir, NULL, &f->st), LL_OK);
    /* min_level 2: small trees exercise both cached and uncached levels. */
    assert_int_equal(ll_nodecache_create(2, &f->nc), LL_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    ll_nodecache_free(f->nc);
    ll_store_close(f->st);
    ll_test_rmdir(f->dir);
    free(f);
    return 0;
}

static void append_n(ll_store_t *st, uint64_t n)
{
    ll_txn_t *w;
    assert_int_equal(ll_store_begin_write(st, &w), LL_OK);
    for (uint64_t i = 0; i < n; i++) {
        char buf[32];
        uint8_t lh[LL_HASH_LEN];
        uint64_t seq = ll_store_size(w);
        int len = snprintf(buf, sizeof buf, "leaf %llu", (unsigned long long)seq);
        assert_int_equal(ll_store_append(w, (const uint8_t *)buf, (size_t)len, (int64_t)seq + 1, lh),
                         LL_OK);
    }
    assert_int_equal(ll_store_commit(w), LL_OK);
}

/* Every node of levels 0..20 and indices up to the tree's width + 2 (so
 * incomplete and absent nodes too), twice (miss, then hit), against the
 * store. */
static void check_all_nodes(fx_t *f)
{
    ll_txn_t *txn;
    assert_int_equal(ll_store_begin_read(f->st, &txn), LL_OK);
    uint64_t size = ll_store_size(txn);
    ll_nodecache_read_t r = {f->nc, txn};
    for (int pass = 0; pass < 2; pass++)
        for (unsigned level = 0; level <= 20; level++)
            for (uint64_t i = 0; i <= (size >> level) + 2; i++) {
                uint8_t want[LL_HASH_LEN], got[LL_HASH_LEN];
                int werr = ll_store_node(txn, level, i, want);
                int gerr = ll_nodecache_node_fn(&r, level, i, got);
                assert_int_equal(gerr, werr);
                if (!werr)
                    assert_memory_equal(got, want, LL_HASH_LEN);
            }
    ll_store_abort(txn);
}

static void test_nodes_equal_the_store_hit_or_miss(void **state)
{
    fx_t *f = *state;
    append_n(f->st, 1000);
    check_all_nodes(f);
    /* Append-only: what was cached stays right as the tree grows. */
    append_n(f->st, 333);
    check_all_nodes(f);
}

static void test_roots_equal_the_store_and_sizes_beyond_are_range(void **state)
{
    fx_t *f = *state;
    ll_txn_t *txn;
    append_n(f->st, 300);
    assert_int_equal(ll_store_begin_read(f->st, &txn), LL_OK);
    ll_nodecache_read_t r = {f->nc, txn};
    for (int pass = 0; pass < 2; pass++)
        for (uint64_t n = 1; n <= 300; n++) {
            uint8_t want[LL_HASH_LEN], got[LL_HASH_LEN];
            assert_int_equal(ll_store_root(txn, n, want), LL_OK);
            assert_int_equal(ll_nodecache_root(&r, n, got), LL_OK);
            assert_memory_equal(got, want, LL_HASH_LEN);
            /* The remembered right edge gives the store's proofs. */
            ll_merkle_edge_t e;
            assert_int_equal(ll_nodecache_edge(&r, n, &e), LL_OK);
            uint64_t idx[3] = {0, n / 2, n - 1};
            for (int k = 0; k < 3; k++) {
                uint8_t p1[LL_MERKLE_MAX_PROOF][LL_HASH_LEN], p2[LL_MERKLE_MAX_PROOF][LL_HASH_LEN];
                size_t c1, c2;
                assert_int_equal(ll_merkle_inclusion_proof(ll_store_node_fn, txn, idx[k], n, p1, &c1),
                                 LL_OK);
                assert_int_equal(ll_merkle_inclusion_proof_edge(ll_nodecache_node_fn, &r, &e, idx[k],
                                                                p2, &c2),
                                 LL_OK);
                assert_int_equal(c1, c2);
                if (c1)
                    assert_memory_equal(p1, p2, c1 * LL_HASH_LEN);
            }
        }
    uint8_t out[LL_HASH_LEN], empty[LL_HASH_LEN];
    ll_merkle_edge_t e;
    assert_int_equal(ll_nodecache_root(&r, 301, out), LL_ERR_RANGE);
    assert_int_equal(ll_nodecache_edge(&r, 301, &e), LL_ERR_RANGE);
    assert_int_equal(ll_nodecache_edge(&r, 0, &e), LL_ERR_RANGE);
    assert_int_equal(ll_nodecache_root(&r, 0, out), LL_OK);
    ll_sha256("", 0, empty);
    assert_memory_equal(out, empty, LL_HASH_LEN);
    ll_store_abort(txn);
}

typedef struct reader {
    fx_t *f;
    int bad;
} reader_t;

/* Inclusion proofs through the cache verify against the store's root. */
static void *prove_all(void *arg)
{
    reader_t *rd = arg;
    ll_txn_t *txn;
    if (ll_store_begin_read(rd->f->st, &txn))
        return rd->bad = 1, NULL;
    uint64_t size = ll_store_size(txn);
    ll_nodecache_read_t r = {rd->f->nc, txn};
    uint8_t root[LL_HASH_LEN], proof[LL_MERKLE_MAX_PROOF][LL_HASH_LEN];
    if (ll_store_root(txn, size, root))
        rd->bad = 1;
    for (uint64_t i = 0; i < size && !rd->bad; i++) {
        uint8_t leaf_hash[LL_HASH_LEN];
        size_t count;
        if (ll_store_node(txn, 0, i, leaf_hash) ||
            ll_merkle_inclusion_proof(ll_nodecache_node_fn, &r, i, size, proof, &count) ||
            ll_merkle_verify_inclusion(leaf_hash, i, size, (const uint8_t(*)[LL_HASH_LEN])proof,
                                       count, root) != LL_OK)
            rd->bad = 1;
    }
    ll_store_abort(txn);
    return NULL;
}

static void test_concurrent_readers_agree_with_the_store(void **state)
{
    fx_t *f = *state;
    pthread_t t[4];
    reader_t rd[4];
    append_n(f->st, 777);
    for (int i = 0; i < 4; i++) {
        rd[i] = (reader_t){f, 0};
        assert_int_equal(pthread_create(&t[i], NULL, prove_all, &rd[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(rd[i].bad, 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_nodes_equal_the_store_hit_or_miss, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roots_equal_the_store_and_sizes_beyond_are_range,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_readers_agree_with_the_store, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
