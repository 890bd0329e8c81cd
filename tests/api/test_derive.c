/*
 * ll_derive: derived tables rebuilt from the leaves (issue 18, item 3).
 * A clean ledger rebuilds to exactly what is stored; a forged role, a
 * dropped dedup record, an index record or a foreign meta record is named
 * by the full check; the start-up check refuses writes for the trust
 * tables and meta, and leaves other tables to the full check.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../support/ll_testledger.h"
#include "ll_audit.h"
#include "ll_derive.h"
#include "ll_entry.h"
#include "ll_err.h"
#include "ll_ledger.h"

typedef struct fx {
    ll_tl_t tl;
    ll_key_t *bob;
} fx_t;

static void note(fx_t *f, const char *author, const ll_key_t *key, const char *text)
{
    ll_tl_appended(ll_tl_note(&f->tl, key, author, text));
}

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    ll_tl_start(&f->tl, "test.example/derive", NULL);
    /* bob, a contributor (role byte 0x04), writes two notes. */
    assert_int_equal(ll_key_generate(&f->bob), LL_OK);
    ll_tl_register(&f->tl, "bob", f->bob, LOOPLEDGER__V1__ROLE__ROLE_CONTRIBUTOR, 0);
    note(f, "bob", f->bob, "one");
    note(f, "bob", f->bob, "two");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    ll_tl_stop(&f->tl);
    ll_key_free(f->bob);
    free(f);
    return 0;
}

/* With the ledger closed: edits one record through the store. */
static void edit(fx_t *f, enum ll_table t, const void *k, size_t kl, const void *v, size_t vl)
{
    ll_store_t *st;
    ll_txn_t *txn;
    assert_int_equal(ll_store_open(f->tl.dir, NULL, &st), LL_OK);
    assert_int_equal(ll_store_begin_write(st, &txn), LL_OK);
    if (v)
        assert_int_equal(ll_store_put(txn, t, k, kl, v, vl), LL_OK);
    else
        assert_int_equal(ll_store_del(txn, t, k, kl), LL_OK);
    assert_int_equal(ll_store_commit(txn), LL_OK);
    ll_store_close(st);
}

/* The derived-table check fed by the audit, as loopledgerd verify runs it
 * (ll_audit_run_visit with an ll_derive_feed visitor). */
typedef struct fed {
    ll_derive_run_t *run;
    int stopped, ended, err;
    uint64_t next;  /* the seq the visitor expects next */
    ll_derive_report_t rep;
} fed_t;

static int fed_entry(void *ctx, uint64_t seq, int64_t t, const ll_entry_t *e)
{
    fed_t *fd = ctx;
    assert_int_equal(seq, fd->next); /* in order, none skipped */
    fd->next++;
    if (ll_derive_feed(fd->run, seq, t, e) != LL_OK)
        fd->stopped = 1;
    return fd->stopped;
}

static void fed_done(void *ctx, ll_txn_t *txn, int visited_all)
{
    fed_t *fd = ctx;
    if (!visited_all && !fd->stopped)
        return;
    fd->err = ll_derive_end(fd->run, txn, &fd->rep);
    fd->run = NULL;
    fd->ended = 1;
}

static void derived(fx_t *f, ll_derive_report_t *rep)
{
    assert_int_equal(ll_ledger_check_derived(f->tl.st, rep), LL_OK);
    /* The audit-fed check reports exactly the same. */
    fed_t fd = {0};
    ll_audit_report_t ar;
    uint8_t pub[LL_PUBKEY_LEN];
    ll_key_public(f->tl.note_key, pub);
    assert_int_equal(ll_derive_begin(ll_ledger_replay_entry, &fd.run), LL_OK);
    ll_audit_visitor_t v = {fed_entry, fed_done, &fd};
    assert_int_equal(ll_audit_run_visit(f->tl.st, pub, 2, &v, &ar), LL_OK);
    ll_derive_abandon(fd.run);
    if (ar.damaged)
        fail_msg("the audit found damage: %s", ar.what);
    assert_true(fd.ended);
    assert_int_equal(fd.err, LL_OK);
    assert_int_equal(fd.next, ar.size);
    assert_int_equal(fd.rep.damaged, rep->damaged);
    assert_int_equal(fd.rep.replayed, rep->replayed);
    assert_int_equal(fd.rep.bad_seq, rep->bad_seq);
    assert_string_equal(fd.rep.what, rep->what);
    assert_memory_equal(fd.rep.records, rep->records, sizeof rep->records);
    assert_memory_equal(fd.rep.diffs, rep->diffs, sizeof rep->diffs);
}

static void test_clean_ledger_rebuilds_to_what_is_stored(void **state)
{
    fx_t *f = *state;
    ll_derive_report_t rep;
    derived(f, &rep);
    if (rep.damaged)
        fail_msg("%s", rep.what);
    assert_int_equal(rep.replayed, 4);
    assert_int_equal(rep.records[LL_TBL_ACTORS], 3); /* server, admin, bob */
    assert_int_equal(rep.records[LL_TBL_DEDUP], 4);
    assert_true(rep.records[LL_TBL_INDEX] > 8);
    assert_null(ll_ledger_damage(f->tl.lg));
}

static void test_forged_role_refuses_writes_and_is_named(void **state)
{
    fx_t *f = *state;
    ll_txn_t *txn;
    const uint8_t *v;
    size_t n;
    uint8_t rec[64];
    assert_int_equal(ll_store_begin_read(f->tl.st, &txn), LL_OK);
    assert_int_equal(ll_store_get(txn, LL_TBL_ACTORS, "bob", 3, &v, &n), LL_OK);
    assert_true(n <= sizeof rec);
    memcpy(rec, v, n);
    ll_store_abort(txn);
    ll_tl_close(&f->tl);
    assert_int_equal(rec[3], 0x04);
    rec[3] = 0x06; /* contributor -> contributor + admin */
    edit(f, LL_TBL_ACTORS, "bob", 3, rec, n);
    ll_tl_open(&f->tl, NULL);
    const char *why = ll_ledger_damage(f->tl.lg);
    assert_non_null(why);
    if (!strstr(why, "table actors, key \"bob\""))
        fail_msg("start-up damage does not name bob's record: %s", why);
    ll_derive_report_t rep;
    derived(f, &rep);
    assert_true(rep.damaged);
    assert_int_equal(rep.diffs[LL_TBL_ACTORS], 1);
    assert_non_null(strstr(rep.what, "stored 00000006"));
}

static void test_dropped_dedup_record_is_named_by_verify(void **state)
{
    fx_t *f = *state;
    ll_txn_t *txn;
    uint8_t key[LL_HASH_LEN];
    int found = 0;
    /* The dedup record of entry 2. */
    assert_int_equal(ll_store_begin_read(f->tl.st, &txn), LL_OK);
    const uint8_t *leaf, *env;
    size_t len, elen;
    uint64_t s;
    int64_t t;
    ll_entry_t e;
    char msg[256];
    assert_int_equal(ll_store_leaf(txn, 2, &leaf, &len), LL_OK);
    assert_int_equal(ll_leaf_parse(leaf, len, &s, &t, &env, &elen), LL_OK);
    assert_int_equal(ll_entry_decode(env, elen, &e, msg, sizeof msg), LL_OK);
    memcpy(key, e.dedup, sizeof key);
    ll_entry_free(&e);
    const uint8_t *v;
    found = ll_store_get(txn, LL_TBL_DEDUP, key, sizeof key, &v, &len) == LL_OK;
    ll_store_abort(txn);
    assert_true(found);
    ll_tl_close(&f->tl);
    edit(f, LL_TBL_DEDUP, key, sizeof key, NULL, 0);
    ll_tl_open(&f->tl, NULL);
    assert_null(ll_ledger_damage(f->tl.lg)); /* not a trust table: verify's job */
    ll_derive_report_t rep;
    derived(f, &rep);
    assert_true(rep.damaged);
    assert_int_equal(rep.diffs[LL_TBL_DEDUP], 1);
    assert_non_null(strstr(rep.what, "table dedup"));
    assert_non_null(strstr(rep.what, "stored no record"));
}

static void test_index_and_meta_damage_is_named(void **state)
{
    fx_t *f = *state;
    ll_tl_close(&f->tl);
    /* An index record that no entry wrote: bob "authored" entry 1. */
    uint8_t k[1 + 4 + 8] = {'A', 'b', 'o', 'b', 0, 0, 0, 0, 0, 0, 0, 0, 1};
    edit(f, LL_TBL_INDEX, k, sizeof k, "", 0);
    ll_tl_open(&f->tl, NULL);
    assert_null(ll_ledger_damage(f->tl.lg));
    ll_derive_report_t rep;
    derived(f, &rep);
    assert_true(rep.damaged);
    assert_int_equal(rep.diffs[LL_TBL_INDEX], 1);
    assert_non_null(strstr(rep.what, "rebuilt from the leaves no record"));
    ll_tl_close(&f->tl);
    /* A meta record the ledger never writes. */
    edit(f, LL_TBL_META, "checkpoinu", 10, "x", 1);
    ll_tl_open(&f->tl, NULL);
    const char *why = ll_ledger_damage(f->tl.lg);
    assert_non_null(why);
    assert_non_null(strstr(why, "\"checkpoinu\""));
}

typedef struct firstkey {
    uint8_t k[512];
    size_t n;
} firstkey_t;

static int first_cb(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    firstkey_t *fk = ctx;
    (void)val;
    (void)vlen;
    memcpy(fk->k, key, klen);
    fk->n = klen;
    return 1;
}

/* Two differences in one table: a record missing that sorts first, and an
 * extra one right after it. The report words the stored side first (the
 * extra record), as it always has, though the walk meets the missing one
 * first; both are counted. */
static void test_first_difference_is_the_stored_sides(void **state)
{
    fx_t *f = *state;
    ll_txn_t *txn;
    firstkey_t fk = {{0}, 0};
    assert_int_equal(ll_store_begin_read(f->tl.st, &txn), LL_OK);
    assert_int_equal(ll_store_scan(txn, LL_TBL_INDEX, "", 0, NULL, 0, 0, first_cb, &fk), LL_OK);
    ll_store_abort(txn);
    assert_true(fk.n > 0 && fk.n < sizeof fk.k);
    ll_tl_close(&f->tl);
    edit(f, LL_TBL_INDEX, fk.k, fk.n, NULL, 0);
    fk.k[fk.n++] = 0xff; /* sorts right after the dropped key */
    edit(f, LL_TBL_INDEX, fk.k, fk.n, "x", 1);
    ll_tl_open(&f->tl, NULL);
    ll_derive_report_t rep;
    derived(f, &rep);
    assert_true(rep.damaged);
    assert_int_equal(rep.diffs[LL_TBL_INDEX], 2);
    if (!strstr(rep.what, "rebuilt from the leaves no record, stored \"x\""))
        fail_msg("first difference: %s", rep.what);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_clean_ledger_rebuilds_to_what_is_stored),
        T(test_forged_role_refuses_writes_and_is_named),
        T(test_dropped_dedup_record_is_named_by_verify),
        T(test_index_and_meta_damage_is_named),
        T(test_first_difference_is_the_stored_sides),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
