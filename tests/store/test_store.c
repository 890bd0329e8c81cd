/*
 * ll_store: append, read back, restart without replay, transactions that
 * roll back leave nothing behind, read snapshots are isolated; a full map
 * leaves nothing behind and grows (or refuses to, at its cap) without
 * pulling the map from under an open reader; backups reopen as the same
 * tree.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../support/ll_testutil.h"
#include "ll_err.h"
#include "ll_merkle.h"
#include "ll_store.h"

typedef struct fixture {
    char dir[64];
    ll_store_t *st;
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    ll_test_tmpdir(f->dir);
    assert_int_equal(ll_store_open(f->dir, NULL, &f->st), LL_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    ll_store_close(f->st);
    ll_test_rmdir(f->dir);
    free(f);
    return 0;
}

static void leaf_bytes(uint64_t i, uint8_t *buf, size_t *len)
{
    *len = (size_t)snprintf((char *)buf, 64, "leaf-%llu", (unsigned long long)i);
}

/* Appends n leaves in one write transaction. */
static void append_n(ll_store_t *st, uint64_t n)
{
    ll_txn_t *w;
    assert_int_equal(ll_store_begin_write(st, &w), LL_OK);
    for (uint64_t i = 0; i < n; i++) {
        uint8_t buf[64], lh[LL_HASH_LEN], expect[LL_HASH_LEN];
        size_t len;
        uint64_t seq = ll_store_size(w);
        leaf_bytes(seq, buf, &len);
        assert_int_equal(ll_store_append(w, buf, len, (int64_t)seq + 1, lh), LL_OK);
        ll_merkle_leaf_hash(buf, len, expect);
        assert_memory_equal(lh, expect, LL_HASH_LEN);
    }
    assert_int_equal(ll_store_commit(w), LL_OK);
}

/* Root of leaves 0..n-1 computed independently with a fresh frontier. */
static void expected_root(uint64_t n, uint8_t out[LL_HASH_LEN])
{
    ll_merkle_frontier_t f;
    ll_merkle_frontier_init(&f);
    for (uint64_t i = 0; i < n; i++) {
        uint8_t buf[64], lh[LL_HASH_LEN];
        size_t len;
        leaf_bytes(i, buf, &len);
        ll_merkle_leaf_hash(buf, len, lh);
        assert_int_equal(ll_merkle_frontier_append(&f, lh, NULL, NULL), LL_OK);
    }
    ll_merkle_frontier_root(&f, out);
}

static void test_append_then_read_back_every_leaf(void **state)
{
    fixture_t *f = *state;
    append_n(f->st, 37);
    ll_txn_t *r;
    assert_int_equal(ll_store_begin_read(f->st, &r), LL_OK);
    assert_int_equal(ll_store_size(r), 37);
    for (uint64_t i = 0; i < 37; i++) {
        const uint8_t *leaf;
        size_t len, elen;
        uint8_t expect[64];
        leaf_bytes(i, expect, &elen);
        assert_int_equal(ll_store_leaf(r, i, &leaf, &len), LL_OK);
        assert_int_equal(len, elen);
        assert_memory_equal(leaf, expect, len);
    }
    const uint8_t *leaf;
    size_t len;
    assert_int_equal(ll_store_leaf(r, 37, &leaf, &len), LL_ERR_NOT_FOUND);
    assert_int_equal(ll_store_last_time(r), 37);
    ll_store_abort(r);
}

static void test_roots_of_every_prefix_match_independent_computation(void **state)
{
    fixture_t *f = *state;
    append_n(f->st, 70);
    ll_txn_t *r;
    assert_int_equal(ll_store_begin_read(f->st, &r), LL_OK);
    for (uint64_t n = 0; n <= 70; n++) {
        uint8_t got[LL_HASH_LEN], want[LL_HASH_LEN];
        assert_int_equal(ll_store_root(r, n, got), LL_OK);
        expected_root(n, want);
        assert_memory_equal(got, want, LL_HASH_LEN);
    }
    uint8_t x[LL_HASH_LEN];
    assert_int_equal(ll_store_root(r, 71, x), LL_ERR_RANGE);
    ll_store_abort(r);
}

static void test_restart_keeps_leaves_and_root_without_replay(void **state)
{
    fixture_t *f = *state;
    append_n(f->st, 45);
    uint8_t before[LL_HASH_LEN], after[LL_HASH_LEN], want[LL_HASH_LEN];
    ll_txn_t *r;
    assert_int_equal(ll_store_begin_read(f->st, &r), LL_OK);
    assert_int_equal(ll_store_root(r, 45, before), LL_OK);
    ll_store_abort(r);
    ll_store_close(f->st);
    assert_int_equal(ll_store_open(f->dir, NULL, &f->st), LL_OK);
    assert_int_equal(ll_store_committed_size(f->st), 45);
    /* Appending after a restart must extend the same tree. */
    append_n(f->st, 20);
    assert_int_equal(ll_store_begin_read(f->st, &r), LL_OK);
    assert_int_equal(ll_store_root(r, 45, after), LL_OK);
    assert_memory_equal(before, after, LL_HASH_LEN);
    assert_int_equal(ll_store_root(r, 65, after), LL_OK);
    expected_root(65, want);
    assert_memory_equal(after, want, LL_HASH_LEN);
    ll_store_abort(r);
}

static void test_aborted_child_leaves_nothing(void **state)
{
    fixture_t *f = *state;
    append_n(f->st, 3);
    ll_txn_t *w, *c;
    uint8_t lh[LL_HASH_LEN];
    assert_int_equal(ll_store_begin_write(f->st, &w), LL_OK);
    assert_int_equal(ll_store_begin_child(w, &c), LL_OK);
    assert_int_equal(ll_store_append(c, (const uint8_t *)"x", 1, 100, lh), LL_OK);
    assert_int_equal(ll_store_put(c, LL_TBL_DEDUP, "k", 1, "v", 1), LL_OK);
    ll_store_abort(c);
    assert_int_equal(ll_store_size(w), 3);
    assert_int_equal(ll_store_begin_child(w, &c), LL_OK);
    uint8_t buf[64];
    size_t len;
    leaf_bytes(3, buf, &len);
    assert_int_equal(ll_store_append(c, buf, len, 4, lh), LL_OK);
    assert_int_equal(ll_store_commit(c), LL_OK);
    assert_int_equal(ll_store_commit(w), LL_OK);
    ll_txn_t *r;
    const uint8_t *v;
    size_t vlen;
    assert_int_equal(ll_store_begin_read(f->st, &r), LL_OK);
    assert_int_equal(ll_store_size(r), 4);
    assert_int_equal(ll_store_get(r, LL_TBL_DEDUP, "k", 1, &v, &vlen), LL_ERR_NOT_FOUND);
    uint8_t got[LL_HASH_LEN], want[LL_HASH_LEN];
    assert_int_equal(ll_store_root(r, 4, got), LL_OK);
    expected_root(4, want);
    assert_memory_equal(got, want, LL_HASH_LEN);
    ll_store_abort(r);
}

static void test_aborted_write_does_not_move_committed_tree(void **state)
{
    fixture_t *f = *state;
    append_n(f->st, 5);
    ll_txn_t *w;
    uint8_t lh[LL_HASH_LEN];
    assert_int_equal(ll_store_begin_write(f->st, &w), LL_OK);
    assert_int_equal(ll_store_append(w, (const uint8_t *)"y", 1, 9, lh), LL_OK);
    ll_store_abort(w);
    assert_int_equal(ll_store_committed_size(f->st), 5);
    append_n(f->st, 1);
    ll_txn_t *r;
    uint8_t got[LL_HASH_LEN], want[LL_HASH_LEN];
    assert_int_equal(ll_store_begin_read(f->st, &r), LL_OK);
    assert_int_equal(ll_store_root(r, 6, got), LL_OK);
    expected_root(6, want);
    assert_memory_equal(got, want, LL_HASH_LEN);
    ll_store_abort(r);
}

static void test_read_snapshot_does_not_see_later_commits(void **state)
{
    fixture_t *f = *state;
    append_n(f->st, 2);
    ll_txn_t *r;
    assert_int_equal(ll_store_begin_read(f->st, &r), LL_OK);
    append_n(f->st, 3);
    assert_int_equal(ll_store_size(r), 2);
    const uint8_t *leaf;
    size_t len;
    assert_int_equal(ll_store_leaf(r, 2, &leaf, &len), LL_ERR_NOT_FOUND);
    ll_store_abort(r);
    assert_int_equal(ll_store_committed_size(f->st), 5);
}

/* Read transactions are reset and reused, and the newest snapshot's size
 * and time are answered without a lookup: each must still be exactly its
 * own snapshot's, across commits, reuse and a reopen. */
static void test_reused_read_snapshots_keep_their_own_size_and_time(void **state)
{
    fixture_t *f = *state;
    ll_txn_t *old, *r[3];
    append_n(f->st, 2);
    assert_int_equal(ll_store_begin_read(f->st, &old), LL_OK);
    for (uint64_t round = 0; round < 5; round++) {
        uint64_t want = 3 + round;
        append_n(f->st, 1);
        for (int i = 0; i < 3; i++) {
            assert_int_equal(ll_store_begin_read(f->st, &r[i]), LL_OK);
            assert_int_equal(ll_store_size(r[i]), want);
            assert_int_equal(ll_store_last_time(r[i]), (int64_t)want); /* seq + 1 */
        }
        for (int i = 0; i < 3; i++)
            ll_store_abort(r[i]); /* back to the pool, renewed next round */
        assert_int_equal(ll_store_size(old), 2);
        assert_int_equal(ll_store_last_time(old), 2);
    }
    ll_store_abort(old);
    /* (test_map_full_leaves_nothing_and_grows reuses one across a remap.) */
    ll_store_close(f->st);
    assert_int_equal(ll_store_open(f->dir, NULL, &f->st), LL_OK);
    assert_int_equal(ll_store_begin_read(f->st, &r[0]), LL_OK);
    assert_int_equal(ll_store_size(r[0]), 7); /* from meta after a reopen */
    assert_int_equal(ll_store_last_time(r[0]), 7);
    ll_store_abort(r[0]);
}

static void test_aux_tables_round_trip(void **state)
{
    fixture_t *f = *state;
    ll_txn_t *w, *r;
    const uint8_t *v;
    size_t n;
    assert_int_equal(ll_store_begin_write(f->st, &w), LL_OK);
    assert_int_equal(ll_store_put(w, LL_TBL_ACTORS, "alice", 5, "rec", 3), LL_OK);
    assert_int_equal(ll_store_commit(w), LL_OK);
    assert_int_equal(ll_store_begin_read(f->st, &r), LL_OK);
    assert_int_equal(ll_store_get(r, LL_TBL_ACTORS, "alice", 5, &v, &n), LL_OK);
    assert_int_equal(n, 3);
    assert_memory_equal(v, "rec", 3);
    assert_int_equal(ll_store_get(r, LL_TBL_KEYS, "alice", 5, &v, &n), LL_ERR_NOT_FOUND);
    /* A miss is written up only when asked, and says what was looked for. */
    assert_non_null(strstr(ll_store_last_error(), "read table: MDB_NOTFOUND"));
    assert_int_equal(ll_store_leaf(r, 99, &v, &n), LL_ERR_NOT_FOUND);
    assert_non_null(strstr(ll_store_last_error(), "read leaf: MDB_NOTFOUND"));
    assert_int_equal(ll_store_put(r, LL_TBL_ACTORS, "bob", 3, "x", 1), LL_ERR_INVALID);
    ll_store_abort(r);
}

typedef struct seen {
    char keys[16][8];
    int n, stop_after;
} seen_t;

static int collect(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    seen_t *s = ctx;
    (void)val;
    (void)vlen;
    assert_true(klen < sizeof s->keys[0] && s->n < 16);
    memcpy(s->keys[s->n], key, klen);
    s->keys[s->n][klen] = 0;
    return ++s->n == s->stop_after;
}

static void test_scan_by_prefix_forward_backward_and_delete(void **state)
{
    fixture_t *f = *state;
    static const char *keys[] = {"a1", "b1", "b2", "b3", "b\xff", "c1"};
    ll_txn_t *w, *r;
    seen_t s;
    assert_int_equal(ll_store_begin_write(f->st, &w), LL_OK);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        assert_int_equal(ll_store_put(w, LL_TBL_INDEX, keys[i], strlen(keys[i]), "", 0), LL_OK);
    assert_int_equal(ll_store_del(w, LL_TBL_INDEX, "b2", 2), LL_OK);
    assert_int_equal(ll_store_del(w, LL_TBL_INDEX, "zz", 2), LL_OK); /* absent: fine */
    assert_int_equal(ll_store_commit(w), LL_OK);
    assert_int_equal(ll_store_begin_read(f->st, &r), LL_OK);

    /* Forward over a prefix: only its keys, in order, without the deleted one. */
    memset(&s, 0, sizeof s);
    assert_int_equal(ll_store_scan(r, LL_TBL_INDEX, "b", 1, NULL, 0, 0, collect, &s), LL_OK);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.keys[0], "b1");
    assert_string_equal(s.keys[1], "b3");
    assert_string_equal(s.keys[2], "b\xff");
    /* From a start key inside the prefix. */
    memset(&s, 0, sizeof s);
    assert_int_equal(ll_store_scan(r, LL_TBL_INDEX, "b", 1, "b2", 2, 0, collect, &s), LL_OK);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.keys[0], "b3");
    /* Backward from the end of the prefix (past the 0xff key), and from a key. */
    memset(&s, 0, sizeof s);
    assert_int_equal(ll_store_scan(r, LL_TBL_INDEX, "b", 1, NULL, 0, 1, collect, &s), LL_OK);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.keys[0], "b\xff");
    assert_string_equal(s.keys[2], "b1");
    memset(&s, 0, sizeof s);
    assert_int_equal(ll_store_scan(r, LL_TBL_INDEX, "b", 1, "b2", 2, 1, collect, &s), LL_OK);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.keys[0], "b1");
    /* The callback stops a scan; an empty prefix scans the table. */
    memset(&s, 0, sizeof s);
    s.stop_after = 2;
    assert_int_equal(ll_store_scan(r, LL_TBL_INDEX, "", 0, NULL, 0, 0, collect, &s), LL_OK);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.keys[0], "a1");
    memset(&s, 0, sizeof s);
    assert_int_equal(ll_store_scan(r, LL_TBL_INDEX, "d", 1, NULL, 0, 1, collect, &s), LL_OK);
    assert_int_equal(s.n, 0);
    /* Deletes need a write transaction. */
    assert_int_equal(ll_store_del(r, LL_TBL_INDEX, "a1", 2), LL_ERR_INVALID);
    ll_store_abort(r);
}

/* Opens a store in a fresh dir with the given map size and cap. */
static ll_store_t *open_small(fixture_t *f, size_t map, size_t max)
{
    ll_store_config_t cfg = {.map_size = map, .map_max = max};
    ll_store_close(f->st);
    ll_test_rmdir(f->dir);
    ll_test_tmpdir(f->dir);
    assert_int_equal(ll_store_open(f->dir, &cfg, &f->st), LL_OK);
    return f->st;
}

/* Appends 4 KiB leaves, one commit each, until one does not fit; returns
 * how many fitted. The failed transaction is aborted. */
static uint64_t fill(ll_store_t *st)
{
    static uint8_t big[4096];
    uint64_t n = 0;
    for (;;) {
        ll_txn_t *w;
        uint8_t lh[LL_HASH_LEN];
        assert_int_equal(ll_store_begin_write(st, &w), LL_OK);
        int err = ll_store_append(w, big, sizeof big, (int64_t)n + 1, lh);
        if (err == LL_OK)
            err = ll_store_commit(w);
        else
            ll_store_abort(w);
        if (err) {
            assert_int_equal(err, LL_ERR_FULL);
            return n;
        }
        n++;
        assert_true(n < 100000);
    }
}

static void test_map_full_leaves_nothing_and_grows(void **state)
{
    fixture_t *f = *state;
    ll_store_t *st = open_small(f, 256 << 10, 0);
    uint64_t n = fill(st);
    assert_true(n > 10);
    assert_int_equal(ll_store_committed_size(st), n);
    ll_txn_t *r;
    assert_int_equal(ll_store_begin_read(st, &r), LL_OK);
    assert_int_equal(ll_store_size(r), n);
    ll_store_abort(r);

    size_t before = ll_store_map_size(st), after = 0;
    assert_int_equal(ll_store_grow(st, &after), LL_OK);
    assert_true(after > before);
    assert_int_equal(after, ll_store_map_size(st));
    append_n(st, 50); /* small leaves fit again */
    assert_int_equal(ll_store_committed_size(st), n + 50);
    /* The read transaction reused from before the remap sees it all. */
    assert_int_equal(ll_store_begin_read(st, &r), LL_OK);
    const uint8_t *leaf;
    size_t len;
    assert_int_equal(ll_store_size(r), n + 50);
    assert_int_equal(ll_store_leaf(r, n + 49, &leaf, &len), LL_OK);
    ll_store_abort(r);
}

static void test_grow_refused_at_map_max(void **state)
{
    fixture_t *f = *state;
    ll_store_t *st = open_small(f, 256 << 10, 256 << 10);
    uint64_t n = fill(st);
    size_t map = ll_store_map_size(st);
    assert_int_equal(ll_store_grow(st, NULL), LL_ERR_FULL);
    assert_int_equal(ll_store_map_size(st), map);
    assert_int_equal(ll_store_committed_size(st), n);
}

static void test_grow_refused_without_map_full(void **state)
{
    fixture_t *f = *state;
    ll_store_t *st = open_small(f, 256 << 10, 0);
    append_n(st, 3);
    /* Nothing failed for lack of map since the last commit: a bigger map
     * would cure nothing. */
    size_t map = ll_store_map_size(st);
    ll_txn_t *w;
    uint8_t lh[LL_HASH_LEN];
    assert_int_equal(ll_store_begin_write(st, &w), LL_OK);
    assert_int_equal(ll_store_append(w, (const uint8_t *)"x", 1, 99, lh), LL_OK);
    ll_store_abort(w);
    assert_int_equal(ll_store_grow(st, NULL), LL_ERR_FULL);
    assert_int_equal(ll_store_map_size(st), map);
}

typedef struct reader_arg {
    ll_store_t *st;
    ll_txn_t *txn;
    const uint8_t *leaf;
    size_t len;
    _Atomic int ended;
} reader_arg_t;

static void *late_reader_end(void *p)
{
    reader_arg_t *a = p;
    struct timespec nap = {0, 200 * 1000000};
    nanosleep(&nap, NULL);
    /* Still mapped: the grow is waiting for us. */
    uint8_t lh[LL_HASH_LEN], node[LL_HASH_LEN];
    ll_merkle_leaf_hash(a->leaf, a->len, lh);
    assert_int_equal(ll_store_node(a->txn, 0, 0, node), LL_OK);
    assert_memory_equal(lh, node, LL_HASH_LEN);
    atomic_store(&a->ended, 1);
    ll_store_abort(a->txn);
    return NULL;
}

static void test_grow_waits_for_open_readers(void **state)
{
    fixture_t *f = *state;
    ll_store_t *st = open_small(f, 256 << 10, 0);
    uint64_t n = fill(st);
    reader_arg_t a = {.st = st};
    assert_int_equal(ll_store_begin_read(st, &a.txn), LL_OK);
    assert_int_equal(ll_store_leaf(a.txn, 0, &a.leaf, &a.len), LL_OK);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, late_reader_end, &a), 0);
    assert_int_equal(ll_store_grow(st, NULL), LL_OK);
    assert_int_equal(atomic_load(&a.ended), 1); /* it waited for the reader */
    pthread_join(t, NULL);
    append_n(st, 1);
    assert_int_equal(ll_store_committed_size(st), n + 1);
}

static void test_backup_reopens_as_the_same_tree(void **state)
{
    fixture_t *f = *state;
    char dst[64];
    uint8_t r1[LL_HASH_LEN], r2[LL_HASH_LEN];
    ll_store_t *copy;
    ll_txn_t *t;
    append_n(f->st, 37);
    ll_test_tmpdir(dst);
    assert_int_equal(ll_store_backup(f->st, dst), LL_OK);
    append_n(f->st, 5); /* later writes are not in the copy */
    assert_int_equal(ll_store_open(dst, NULL, &copy), LL_OK);
    assert_int_equal(ll_store_committed_size(copy), 37);
    assert_int_equal(ll_store_begin_read(copy, &t), LL_OK);
    assert_int_equal(ll_store_root(t, 37, r1), LL_OK);
    ll_store_abort(t);
    expected_root(37, r2);
    assert_memory_equal(r1, r2, LL_HASH_LEN);
    ll_store_close(copy);
    ll_test_rmdir(dst);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_append_then_read_back_every_leaf, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roots_of_every_prefix_match_independent_computation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_keeps_leaves_and_root_without_replay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_aborted_child_leaves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_aborted_write_does_not_move_committed_tree, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_snapshot_does_not_see_later_commits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reused_read_snapshots_keep_their_own_size_and_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_aux_tables_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan_by_prefix_forward_backward_and_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_map_full_leaves_nothing_and_grows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_grow_refused_at_map_max, setup, teardown),
        cmocka_unit_test_setup_teardown(test_grow_refused_without_map_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_grow_waits_for_open_readers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backup_reopens_as_the_same_tree, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
