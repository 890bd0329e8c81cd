/*
 * ll_mirror's round through a transport written here (ll_mirror_source_t
 * reading a primary ledger in the same process): the verification and
 * apply path does not depend on tiles or gRPC. A source that is down
 * applies nothing and the next round catches up; a round reads the source
 * once while its leaves fit in keep_max, twice beyond; leaves out of order,
 * leaves that change between the two passes and a checkpoint that does not
 * verify are divergences: evidence written, nothing of the failed tree
 * applied, following stopped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ll_mirror.h"
#include "../../support/ll_testloop.h"

enum mode { NORMAL, DOWN, SKIP, CHANGE_PASS2, BAD_SIG };

typedef struct src {
    fx_t *f;
    enum mode mode;
    int leaf_calls;
} src_t;

static int src_checkpoint(void *ctx, char *note, size_t cap, size_t *len)
{
    src_t *s = ctx;
    ll_txn_t *txn;
    uint64_t size;
    uint8_t root[LL_HASH_LEN];
    if (s->mode == DOWN)
        return LL_ERR_UNAVAILABLE;
    assert_int_equal(ll_store_begin_read(s->f->st, &txn), LL_OK);
    assert_int_equal(ll_ledger_checkpoint(s->f->lg, txn, 0, note, cap, len, &size, root), LL_OK);
    ll_store_abort(txn);
    if (s->mode == BAD_SIG) {
        char *r = strchr(strchr(note, '\n') + 1, '\n') + 1; /* the root line */
        r[0] = r[0] == 'A' ? 'B' : 'A';
    }
    return LL_OK;
}

static int src_leaves(void *ctx, uint64_t from, uint64_t to, ll_mirror_leaf_fn fn, void *fctx)
{
    src_t *s = ctx;
    ll_txn_t *txn;
    int err = LL_OK;
    s->leaf_calls++;
    if (s->mode == DOWN)
        return LL_ERR_UNAVAILABLE;
    assert_int_equal(ll_store_begin_read(s->f->st, &txn), LL_OK);
    for (uint64_t seq = from; seq < to && !err; seq++) {
        const uint8_t *leaf;
        size_t len;
        uint8_t copy[8192];
        if (s->mode == SKIP && seq == from + 1)
            continue;
        assert_int_equal(ll_store_leaf(txn, seq, &leaf, &len), LL_OK);
        assert_true(len <= sizeof copy);
        memcpy(copy, leaf, len);
        if (s->mode == CHANGE_PASS2 && s->leaf_calls == 2 && seq == to - 1)
            copy[len - 1] ^= 1;
        err = fn(fctx, seq, copy, len);
    }
    ll_store_abort(txn);
    return err;
}

typedef struct mfx {
    fx_t *f; /* the primary */
    char dir[64];
    ll_store_t *st;
    ll_ledger_t *lg;
    ll_key_t *note_key, *actor_key;
    src_t src;
    ll_mirror_t *m;
} mfx_t;

static void quiet(const char *msg)
{
    (void)msg;
}

static size_t keep_max; /* for the next msetup; 0: the default */

static int msetup(void **state)
{
    mfx_t *x = calloc(1, sizeof *x);
    char vkey[512];
    void *fs;
    setup(&fs);
    x->f = fs;
    charter(x->f, "reco");
    charter(x->f, "pricing");
    charter(x->f, "search");
    ll_test_tmpdir(x->dir);
    assert_int_equal(ll_key_generate(&x->note_key), LL_OK);
    assert_int_equal(ll_key_generate(&x->actor_key), LL_OK);
    assert_int_equal(ll_store_open(x->dir, NULL, &x->st), LL_OK);
    ll_ledger_config_t c = {.note_key = x->note_key, .actor_key = x->actor_key,
                            .origin = "test.example/loop"};
    assert_int_equal(ll_ledger_open(x->st, &c, &x->lg), LL_OK);
    ll_ledger_set_replica_of(x->lg, "the test's primary");
    assert_int_equal(ll_ledger_verifier_key(x->f->lg, vkey, sizeof vkey), LL_OK);
    x->src.f = x->f;
    ll_mirror_config_t mc = {.from = "test source", .vkey = vkey, .data = x->dir,
                             .log_fn = quiet, .keep_max = keep_max,
                             .source = {.checkpoint = src_checkpoint, .leaves = src_leaves,
                                        .ctx = &x->src}};
    assert_int_equal(ll_mirror_open(x->lg, &mc, &x->m), LL_OK);
    *state = x;
    return 0;
}

static int mteardown(void **state)
{
    mfx_t *x = *state;
    void *fs = x->f;
    ll_mirror_close(x->m);
    ll_ledger_close(x->lg);
    ll_store_close(x->st);
    ll_key_free(x->note_key);
    ll_key_free(x->actor_key);
    ll_test_rmdir(x->dir);
    teardown(&fs);
    free(x);
    keep_max = 0;
    return 0;
}

/* A long catch-up: leaves beyond keep_max are streamed a second time. */
static int msetup_spill(void **state)
{
    keep_max = 64;
    return msetup(state);
}

static uint64_t size_of(ll_store_t *st)
{
    return ll_store_committed_size(st);
}

static void root_of(ll_store_t *st, uint64_t size, uint8_t out[LL_HASH_LEN])
{
    ll_txn_t *txn;
    assert_int_equal(ll_store_begin_read(st, &txn), LL_OK);
    assert_int_equal(ll_store_root(txn, size, out), LL_OK);
    ll_store_abort(txn);
}

static void evidence_says(mfx_t *x, const char *needle)
{
    char p[128], buf[8192];
    snprintf(p, sizeof p, "%s/mirror/evidence", x->dir);
    FILE *fp = fopen(p, "r");
    assert_non_null(fp);
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = 0;
    if (!strstr(buf, needle))
        fail_msg("evidence lacks \"%s\":\n%s", needle, buf);
}

static void test_round_copies_through_any_source_and_resumes_after_an_outage(void **state)
{
    mfx_t *x = *state;
    uint8_t a[LL_HASH_LEN], b[LL_HASH_LEN];
    char note[LL_NOTE_MAX];
    size_t nl;
    uint64_t sz;
    x->src.mode = DOWN;
    assert_int_equal(ll_mirror_round(x->m), LL_MIRROR_UNREACHABLE);
    assert_int_equal(size_of(x->st), 0);
    assert_int_equal(ll_mirror_checkpoint(x->m, 0, note, sizeof note, &nl, &sz, a),
                     LL_ERR_UNAVAILABLE);
    x->src.mode = NORMAL;
    assert_int_equal(ll_mirror_round(x->m), LL_MIRROR_CAUGHT_UP);
    uint64_t n = size_of(x->f->st);
    assert_int_equal(size_of(x->st), n);
    root_of(x->f->st, n, a);
    root_of(x->st, n, b);
    assert_memory_equal(a, b, LL_HASH_LEN);
    /* The mirror serves the primary's signed note, as the source gave it. */
    assert_int_equal(ll_mirror_checkpoint(x->m, 0, note, sizeof note, &nl, &sz, b), LL_OK);
    assert_int_equal(sz, n);
    assert_memory_equal(a, b, LL_HASH_LEN);
    /* The primary grows: the next round takes only the new leaves. */
    charter(x->f, "content");
    x->src.leaf_calls = 0;
    assert_int_equal(ll_mirror_round(x->m), LL_MIRROR_CAUGHT_UP);
    assert_int_equal(size_of(x->st), n + 1);
    assert_int_equal(x->src.leaf_calls, 1); /* kept from pass 1 for pass 2 */
    assert_false(ll_mirror_diverged(x->m));
    /* Nothing new: caught up, nothing applied. */
    assert_int_equal(ll_mirror_round(x->m), LL_MIRROR_CAUGHT_UP);
    assert_int_equal(size_of(x->st), n + 1);
}

static void test_leaves_out_of_order_are_a_divergence_and_nothing_is_applied(void **state)
{
    mfx_t *x = *state;
    x->src.mode = SKIP;
    assert_int_equal(ll_mirror_round(x->m), LL_MIRROR_DIVERGED);
    assert_int_equal(size_of(x->st), 0);
    assert_true(ll_mirror_diverged(x->m));
    evidence_says(x, "out of order");
    /* Following stays stopped, even once the source behaves. */
    x->src.mode = NORMAL;
    assert_int_equal(ll_mirror_round(x->m), LL_MIRROR_DIVERGED);
    assert_int_equal(size_of(x->st), 0);
}

static void test_a_long_catch_up_streams_twice_and_copies_the_same(void **state)
{
    mfx_t *x = *state;
    uint8_t a[LL_HASH_LEN], b[LL_HASH_LEN];
    assert_int_equal(ll_mirror_round(x->m), LL_MIRROR_CAUGHT_UP);
    assert_int_equal(x->src.leaf_calls, 2); /* hashed, then applied */
    uint64_t n = size_of(x->f->st);
    assert_int_equal(size_of(x->st), n);
    root_of(x->f->st, n, a);
    root_of(x->st, n, b);
    assert_memory_equal(a, b, LL_HASH_LEN);
}

static void test_leaves_that_change_between_passes_are_a_divergence(void **state)
{
    mfx_t *x = *state;
    uint64_t n = size_of(x->f->st);
    x->src.mode = CHANGE_PASS2;
    assert_int_equal(ll_mirror_round(x->m), LL_MIRROR_DIVERGED);
    evidence_says(x, "changed while being read");
    /* What was applied is a prefix of the verified tree, short of the
     * changed leaf. */
    assert_true(size_of(x->st) < n);
    if (size_of(x->st)) {
        uint8_t a[LL_HASH_LEN], b[LL_HASH_LEN];
        root_of(x->f->st, size_of(x->st), a);
        root_of(x->st, size_of(x->st), b);
        assert_memory_equal(a, b, LL_HASH_LEN);
    }
}

static void test_a_checkpoint_that_does_not_verify_is_a_divergence(void **state)
{
    mfx_t *x = *state;
    x->src.mode = BAD_SIG;
    assert_int_equal(ll_mirror_round(x->m), LL_MIRROR_DIVERGED);
    assert_int_equal(x->src.leaf_calls, 0);
    assert_int_equal(size_of(x->st), 0);
    evidence_says(x, "does not verify with the pinned key");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_round_copies_through_any_source_and_resumes_after_an_outage, msetup,
            mteardown),
        cmocka_unit_test_setup_teardown(
            test_leaves_out_of_order_are_a_divergence_and_nothing_is_applied, msetup, mteardown),
        cmocka_unit_test_setup_teardown(test_a_long_catch_up_streams_twice_and_copies_the_same,
                                        msetup_spill, mteardown),
        cmocka_unit_test_setup_teardown(test_leaves_that_change_between_passes_are_a_divergence,
                                        msetup_spill, mteardown),
        cmocka_unit_test_setup_teardown(test_a_checkpoint_that_does_not_verify_is_a_divergence,
                                        msetup, mteardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
