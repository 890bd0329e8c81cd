/*
 * ll_format: a new data directory is stamped with the current format; a
 * directory of a newer format is refused with a message naming both
 * versions, by ll_format_prepare, ll_format_check and ll_ledger_open, and
 * nothing is written; preparing twice changes nothing. (The upgrade from
 * format 1 is tested end to end on a directory written by that release:
 * tests/e2e/test_format.sh.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../support/ll_testutil.h"
#include "ll_bytes.h"
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
    assert_int_equal(ll_format_prepare(f->st, &from, msg, sizeof msg), LL_OK);
    assert_int_equal(from, LL_FORMAT_VERSION);
    assert_int_equal(stored_version(f->st), LL_FORMAT_VERSION);
    /* Idempotent. */
    assert_int_equal(ll_format_prepare(f->st, &from, msg, sizeof msg), LL_OK);
    assert_int_equal(stored_version(f->st), LL_FORMAT_VERSION);
    assert_int_equal(ll_format_check(f->st, msg, sizeof msg), LL_OK);
}

static void test_newer_format_is_refused_with_both_versions_named(void **state)
{
    fx_t *f = *state;
    char msg[LL_MSG_MAX] = "", want[32];
    uint32_t newer = LL_FORMAT_VERSION + 7;
    put_version(f->st, newer);
    assert_int_equal(ll_format_prepare(f->st, NULL, msg, sizeof msg), LL_ERR_PRECONDITION);
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
    assert_int_equal(ll_format_prepare(f->st, NULL, msg, sizeof msg), LL_ERR_CORRUPT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_new_directory_is_stamped_with_the_current_format,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_newer_format_is_refused_with_both_versions_named,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_version_is_corrupt, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
