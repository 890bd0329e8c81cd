/*
 * ll_format: a new data directory is stamped with the current format; a
 * directory of a newer format is refused with a message naming both
 * versions, by ll_format_prepare, ll_format_check and ll_ledger_open, and
 * nothing is written; preparing twice changes nothing; an older format is
 * rebuilt from the leaves. (The upgrade from format 1 is tested end to end
 * on a directory written by that release: tests/e2e/test_format.sh.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../support/ll_testutil.h"
#include "ll_bytes.h"
#include "ll_entry.h"
#include "ll_index.h"
#include "ll_err.h"
#include "ll_format.h"
#include "ll_ledger.h"

typedef struct fx {
    char dir[64];
    ll_store_t *st;
} fx_t;

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    ll_test_tmpdir(f->dir);
    assert_int_equal(ll_store_open(f->dir, NULL, &f->st), LL_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    ll_store_close(f->st);
    ll_test_rmdir(f->dir);
    free(f);
    return 0;
}

static uint32_t stored_version(ll_store_t *st)
{
    ll_txn_t *txn;
    const uint8_t *v;
    size_t n;
    assert_int_equal(ll_store_begin_read(st, &txn), LL_OK);
    int err = ll_store_get(txn, LL_TBL_META, LL_FORMAT_KEY, strlen(LL_FORMAT_KEY), &v, &n);
    uint32_t version = err == LL_OK && n == 4 ? ll_get_be32(v) : 0;
    ll_store_abort(txn);
    return version;
}

static void put_version(ll_store_t *st, uint32_t version)
{
    ll_txn_t *txn;
    uint8_t v[4];
    ll_put_be32(v, version);
    assert_int_equal(ll_store_begin_write(st, &txn), LL_OK);
    assert_int_equal(ll_store_put(txn, LL_TBL_META, LL_FORMAT_KEY, strlen(LL_FORMAT_KEY), v, 4),
                     LL_OK);
    assert_int_equal(ll_store_commit(txn), LL_OK);
}

static void test_new_directory_is_stamped_with_the_current_format(void **state)
{
    fx_t *f = *state;
    char msg[LL_MSG_MAX];
    uint32_t from = 0;
    assert_int_equal(stored_version(f->st), 0);
    assert_int_equal(ll_format_prepare(f->st, ll_ledger_rebuild_derived, &from, msg, sizeof msg), LL_OK);
    assert_int_equal(from, LL_FORMAT_VERSION);
    assert_int_equal(stored_version(f->st), LL_FORMAT_VERSION);
    /* Idempotent. */
    assert_int_equal(ll_format_prepare(f->st, ll_ledger_rebuild_derived, &from, msg, sizeof msg), LL_OK);
    assert_int_equal(stored_version(f->st), LL_FORMAT_VERSION);
    assert_int_equal(ll_format_check(f->st, msg, sizeof msg), LL_OK);
}

static void test_newer_format_is_refused_with_both_versions_named(void **state)
{
    fx_t *f = *state;
    char msg[LL_MSG_MAX] = "", want[32];
    uint32_t newer = LL_FORMAT_VERSION + 7;
    put_version(f->st, newer);
    assert_int_equal(ll_format_prepare(f->st, ll_ledger_rebuild_derived, NULL, msg, sizeof msg), LL_ERR_PRECONDITION);
    snprintf(want, sizeof want, "data format %u", newer);
    assert_non_null(strstr(msg, want));
    snprintf(want, sizeof want, "format %u of this", LL_FORMAT_VERSION);
    assert_non_null(strstr(msg, want));
    msg[0] = 0;
    assert_int_equal(ll_format_check(f->st, msg, sizeof msg), LL_ERR_PRECONDITION);
    assert_non_null(strstr(msg, "newer"));
    /* The ledger does not open it either, and nothing was rewritten. */
    ll_key_t *note, *actor;
    ll_ledger_t *lg = NULL;
    assert_int_equal(ll_key_generate(&note), LL_OK);
    assert_int_equal(ll_key_generate(&actor), LL_OK);
    ll_ledger_config_t c = {.note_key = note, .actor_key = actor, .origin = "test.example/f"};
    assert_int_equal(ll_ledger_open(f->st, &c, &lg), LL_ERR_PRECONDITION);
    assert_null(lg);
    assert_int_equal(stored_version(f->st), newer);
    ll_key_free(note);
    ll_key_free(actor);
}

static void test_malformed_version_is_corrupt(void **state)
{
    fx_t *f = *state;
    char msg[LL_MSG_MAX];
    ll_txn_t *txn;
    assert_int_equal(ll_store_begin_write(f->st, &txn), LL_OK);
    assert_int_equal(ll_store_put(txn, LL_TBL_META, LL_FORMAT_KEY, strlen(LL_FORMAT_KEY), "x", 1),
                     LL_OK);
    assert_int_equal(ll_store_commit(txn), LL_OK);
    assert_int_equal(ll_format_prepare(f->st, ll_ledger_rebuild_derived, NULL, msg, sizeof msg), LL_ERR_CORRUPT);
}

/* A format-2 directory: its index records were written with the meanings
 * before format 3 (here: a state record that disagrees with the rules, a
 * patch without its merged record). Preparing rebuilds every derived table
 * from the leaves and stamps format 3; verify then finds nothing. */
static void test_older_format_is_rebuilt_from_the_leaves(void **state)
{
    fx_t *f = *state;
    char msg[LL_MSG_MAX] = "";
    ll_key_t *note, *actor, *admin;
    ll_ledger_t *lg = NULL;
    ll_append_result_t r;
    uint8_t pub[LL_PUBKEY_LEN], *env;
    size_t len;
    uint64_t nonce = 1;
    assert_int_equal(ll_key_generate(&note), LL_OK);
    assert_int_equal(ll_key_generate(&actor), LL_OK);
    assert_int_equal(ll_key_generate(&admin), LL_OK);
    ll_ledger_config_t c = {.note_key = note, .actor_key = actor, .origin = "test.example/f"};
    assert_int_equal(ll_ledger_open(f->st, &c, &lg), LL_OK);
    ll_key_public(admin, pub);
    assert_int_equal(ll_ledger_genesis(lg, "admin", pub, &r), LL_OK);
    /* A charter, then a patch of its phase. */
    Loopledger__V1__Initiative ch = LOOPLEDGER__V1__INITIATIVE__INIT;
    Loopledger__V1__EntryBody b = LOOPLEDGER__V1__ENTRY_BODY__INIT;
    ch.title = "Dynamic pricing";
    ch.application = LOOPLEDGER__V1__APPLICATION__APPLICATION_PRICING;
    ch.phase = LOOPLEDGER__V1__PHASE__PHASE_PILOT;
    b.author = "admin";
    b.initiative = "pricing";
    b.nonce.data = (uint8_t *)&nonce;
    b.nonce.len = sizeof nonce;
    b.kind_case = LOOPLEDGER__V1__ENTRY_BODY__KIND_CHARTER;
    b.charter = &ch;
    assert_int_equal(ll_entry_seal(&b, admin, &env, &len), LL_OK);
    ll_ledger_append(lg, env, len, &r);
    free(env);
    assert_int_equal(r.err, LL_OK);
    uint64_t first = r.seq;
    char *paths[] = {"phase"};
    Loopledger__V1__UpdateMask m = LOOPLEDGER__V1__UPDATE_MASK__INIT;
    Loopledger__V1__Link l = LOOPLEDGER__V1__LINK__INIT, *lp[1] = {&l};
    Loopledger__V1__Initiative p = LOOPLEDGER__V1__INITIATIVE__INIT;
    m.n_paths = 1;
    m.paths = paths;
    l.relation = LOOPLEDGER__V1__RELATION__FOLLOWS;
    l.target_seq = first;
    p.phase = LOOPLEDGER__V1__PHASE__PHASE_SCALING;
    nonce++;
    b.charter = &p;
    b.update_mask = &m;
    b.n_links = 1;
    b.links = lp;
    assert_int_equal(ll_entry_seal(&b, admin, &env, &len), LL_OK);
    ll_ledger_append(lg, env, len, &r);
    free(env);
    assert_int_equal(r.err, LL_OK);
    uint64_t patch = r.seq;
    ll_ledger_close(lg);

    /* Make it look as format 2 left it. */
    ll_txn_t *txn;
    uint8_t uk[9] = {LL_IX_RECORD}, sk[1 + LL_ID_SIZE] = {LL_IX_STATE};
    ll_loop_state_t st;
    size_t skl = ll_index_key_str(sk, 1, "pricing");
    ll_put_be64(uk + 1, patch);
    put_version(f->st, 2);
    assert_int_equal(ll_store_begin_write(f->st, &txn), LL_OK);
    assert_int_equal(ll_index_state(txn, "pricing", &st), LL_OK);
    st.entries += 5;
    assert_int_equal(ll_index_put_state(txn, "pricing", &st), LL_OK);
    assert_int_equal(ll_store_del(txn, LL_TBL_INDEX, uk, sizeof uk), LL_OK);
    assert_int_equal(ll_store_commit(txn), LL_OK);
    ll_derive_report_t d;
    assert_int_equal(ll_ledger_check_derived(f->st, &d), LL_OK);
    assert_int_equal(d.old_format, 2); /* said, not counted as damage */
    assert_false(d.damaged);

    uint32_t from = 0;
    assert_int_equal(ll_format_prepare(f->st, ll_ledger_rebuild_derived, &from, msg, sizeof msg),
                     LL_OK);
    assert_int_equal(from, 2);
    assert_int_equal(stored_version(f->st), LL_FORMAT_VERSION);
    assert_int_equal(ll_ledger_check_derived(f->st, &d), LL_OK);
    assert_int_equal(d.old_format, 0);
    if (d.damaged)
        fail_msg("after the rebuild: %s", d.what);
    assert_int_equal(ll_store_begin_read(f->st, &txn), LL_OK);
    const uint8_t *v;
    size_t vl;
    assert_int_equal(ll_store_get(txn, LL_TBL_INDEX, uk, sizeof uk, &v, &vl), LL_OK);
    assert_int_equal(ll_index_state(txn, "pricing", &st), LL_OK);
    assert_int_equal(st.entries, 2);
    assert_int_equal(ll_store_get(txn, LL_TBL_INDEX, sk, skl, &v, &vl), LL_OK);
    ll_store_abort(txn);
    /* Without a rebuild function nothing is touched. */
    put_version(f->st, 2);
    assert_int_equal(ll_format_prepare(f->st, NULL, NULL, msg, sizeof msg), LL_ERR_PRECONDITION);
    assert_non_null(strstr(msg, "data format 2"));
    assert_int_equal(stored_version(f->st), 2);
    ll_key_free(note);
    ll_key_free(actor);
    ll_key_free(admin);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_new_directory_is_stamped_with_the_current_format,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_newer_format_is_refused_with_both_versions_named,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_version_is_corrupt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_older_format_is_rebuilt_from_the_leaves, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
