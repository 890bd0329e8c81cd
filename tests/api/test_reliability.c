/*
 * ll_ledger under faults, and ll_audit: a full map refuses whole entries
 * (nothing written) and a growable one takes them; a tree that disagrees
 * with the last signed checkpoint makes the ledger refuse writes and new
 * checkpoints while reads go on; the audit passes a clean ledger and names
 * the first damaged entry of a damaged one. Damage is done with LMDB
 * directly, on a closed ledger, as an attacker with the file would.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <lmdb.h>

#include "../support/ll_testledger.h"
#include "ll_audit.h"
#include "ll_entry.h"
#include "ll_err.h"
#include "ll_ledger.h"

typedef ll_tl_t fx_t;

/* Opens the ledger of f with an LMDB map of map bytes growable to max. */
static void open_ledger(fx_t *f, size_t map, size_t max)
{
    ll_store_config_t sc = {.map_size = map, .map_max = max};
    ll_tl_open(f, &sc);
}

static int setup(void **state)
{
    ll_store_config_t sc = {.map_size = 0, .map_max = 0};
    *state = ll_tl_new("test.example/ledger", &sc);
    return 0;
}

static int teardown(void **state) { return ll_tl_teardown(state); }

/* Appends a note of `size` bytes by admin; returns the result. */
static ll_append_result_t note(fx_t *f, size_t size)
{
    char *text = malloc(size + 1);
    memset(text, 'n', size);
    text[size] = 0;
    ll_append_result_t r = ll_tl_note(f, f->admin, "admin", text);
    free(text);
    return r;
}

/* Flips byte `at` (from the end if negative) of the value under key in
 * LMDB table `table` of the (closed) ledger in dir. */
static void flip(const char *dir, const char *table, const void *key, size_t klen, long at)
{
    MDB_env *env;
    MDB_txn *t;
    MDB_dbi dbi;
    MDB_val k = {klen, (void *)key}, v;
    assert_int_equal(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 32);
    assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &t), 0);
    assert_int_equal(mdb_dbi_open(t, table, 0, &dbi), 0);
    assert_int_equal(mdb_get(t, dbi, &k, &v), 0);
    uint8_t *copy = malloc(v.mv_size);
    memcpy(copy, v.mv_data, v.mv_size);
    copy[at < 0 ? (long)v.mv_size + at : at] ^= 0x01;
    MDB_val nv = {v.mv_size, copy};
    assert_int_equal(mdb_put(t, dbi, &k, &nv, 0), 0);
    assert_int_equal(mdb_txn_commit(t), 0);
    mdb_env_close(env);
    free(copy);
}

static void node_key(uint8_t k[9], unsigned level, uint64_t index)
{
    k[0] = (uint8_t)level;
    for (int i = 8; i >= 1; i--, index >>= 8)
        k[i] = (uint8_t)index;
}

static void seq_key(uint8_t k[8], uint64_t seq)
{
    for (int i = 7; i >= 0; i--, seq >>= 8)
        k[i] = (uint8_t)seq;
}

/* Appends entries 1..5, signs the checkpoint of size 6, appends entry 6
 * (whose commit persists that checkpoint) and closes the ledger. */
static void six_plus_one(fx_t *f)
{
    for (int i = 0; i < 5; i++)
        ll_tl_appended(note(f, 100));
    ll_txn_t *t;
    char cp[LL_NOTE_MAX];
    size_t cplen;
    uint64_t size;
    uint8_t root[LL_HASH_LEN];
    assert_int_equal(ll_store_begin_read(f->st, &t), LL_OK);
    assert_int_equal(ll_ledger_checkpoint(f->lg, t, 0, cp, sizeof cp, &cplen, &size, root), LL_OK);
    ll_store_abort(t);
    assert_int_equal(size, 6);
    ll_tl_appended(note(f, 100));
    ll_tl_close(f);
}

static void audit(fx_t *f, ll_audit_report_t *rep)
{
    uint8_t pub[LL_PUBKEY_LEN];
    ll_key_public(f->note_key, pub);
    assert_int_equal(ll_audit_run(f->st, pub, 2, rep), LL_OK);
}

static void test_full_map_refuses_whole_entries_then_grows(void **state)
{
    fx_t *f = *state;
    ll_tl_close(f);
    open_ledger(f, 512 << 10, 512 << 10);
    ll_append_result_t r;
    uint64_t n = 0;
    while ((r = note(f, 16 << 10)).err == LL_OK)
        assert_true(++n < 1000);
    assert_int_equal(r.err, LL_ERR_FULL);
    assert_true(n > 5);
    uint64_t size = ll_store_committed_size(f->st);
    r = note(f, 16 << 10);
    assert_int_equal(r.err, LL_ERR_FULL);
    assert_int_equal(ll_store_committed_size(f->st), size);
    ll_txn_t *t;
    const uint8_t *leaf;
    size_t len;
    assert_int_equal(ll_store_begin_read(f->st, &t), LL_OK);
    assert_int_equal(ll_store_leaf(t, size - 1, &leaf, &len), LL_OK);
    assert_int_equal(ll_store_leaf(t, size, &leaf, &len), LL_ERR_NOT_FOUND);
    ll_store_abort(t);

    ll_tl_close(f);
    open_ledger(f, 512 << 10, 0); /* the same ledger, now allowed to grow */
    for (int i = 0; i < 60; i++)
        ll_tl_appended(note(f, 16 << 10));
    assert_int_equal(ll_store_committed_size(f->st), size + 60);
    assert_true(ll_store_map_size(f->st) > (512 << 10));
    ll_audit_report_t rep;
    audit(f, &rep);
    assert_false(rep.damaged);
    assert_int_equal(rep.signatures, size + 60);
}

static void test_audit_passes_clean_ledger(void **state)
{
    fx_t *f = *state;
    six_plus_one(f);
    open_ledger(f, 0, 0);
    assert_null(ll_ledger_damage(f->lg));
    ll_audit_report_t rep;
    audit(f, &rep);
    assert_false(rep.damaged);
    assert_int_equal(rep.size, 7);
    assert_int_equal(rep.signatures, 7);
    assert_int_equal(rep.nodes, 3 + 1); /* levels 1 and 2 of 7 leaves */
    assert_int_equal(rep.cp_size, 6);
}

static void test_damaged_tree_refuses_writes_serves_reads(void **state)
{
    fx_t *f = *state;
    six_plus_one(f);
    uint8_t k[9];
    node_key(k, 1, 2); /* a peak of the signed size 6 = 4 + 2 */
    flip(f->dir, "nodes", k, sizeof k, 0);
    open_ledger(f, 0, 0);
    assert_non_null(ll_ledger_damage(f->lg));
    assert_int_equal(note(f, 10).err, LL_ERR_CORRUPT);
    assert_int_equal(ll_store_committed_size(f->st), 7);
    ll_txn_t *t;
    const uint8_t *leaf;
    size_t len;
    char cp[LL_NOTE_MAX];
    size_t cplen;
    uint64_t size;
    uint8_t root[LL_HASH_LEN];
    assert_int_equal(ll_store_begin_read(f->st, &t), LL_OK);
    assert_int_equal(ll_store_leaf(t, 3, &leaf, &len), LL_OK);
    assert_int_equal(ll_ledger_checkpoint(f->lg, t, 0, cp, sizeof cp, &cplen, &size, root),
                     LL_ERR_CORRUPT);
    ll_store_abort(t);
    ll_audit_report_t rep;
    audit(f, &rep);
    assert_true(rep.damaged);
    assert_int_equal(rep.first_bad_seq, 4);
}

static void test_audit_names_first_damaged_leaf(void **state)
{
    fx_t *f = *state;
    six_plus_one(f);
    uint8_t k[8];
    seq_key(k, 5);
    flip(f->dir, "leaves", k, sizeof k, -3); /* inside the signature's keyid */
    seq_key(k, 3);
    flip(f->dir, "leaves", k, sizeof k, -40);
    open_ledger(f, 0, 0);
    ll_audit_report_t rep;
    audit(f, &rep);
    assert_true(rep.damaged);
    assert_int_equal(rep.first_bad_seq, 3);
    assert_int_equal(rep.signatures, 5); /* all but 3 and 5 */
}

static void test_audit_names_node_whose_children_check_out(void **state)
{
    fx_t *f = *state;
    six_plus_one(f);
    uint8_t k[9];
    node_key(k, 2, 0); /* covers entries 0..3; its children are intact */
    flip(f->dir, "nodes", k, sizeof k, 31);
    open_ledger(f, 0, 0);
    ll_audit_report_t rep;
    audit(f, &rep);
    assert_true(rep.damaged);
    assert_int_equal(rep.first_bad_seq, 0);
    assert_non_null(strstr(rep.what, "node 2/0"));
}

/* Stores, as node 0/seq, the RFC 9162 hash of leaf seq as it now is: an
 * attacker who altered the leaf and fixed its hash, but not the tree. */
static void rehash_leaf(const char *dir, uint64_t seq)
{
    MDB_env *env;
    MDB_txn *t;
    MDB_dbi leaves, nodes;
    uint8_t lk[8], nk[9], h[LL_HASH_LEN];
    seq_key(lk, seq);
    node_key(nk, 0, seq);
    MDB_val k = {sizeof lk, lk}, v, n = {sizeof nk, nk}, hv = {sizeof h, h};
    assert_int_equal(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 32);
    assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &t), 0);
    assert_int_equal(mdb_dbi_open(t, "leaves", 0, &leaves), 0);
    assert_int_equal(mdb_dbi_open(t, "nodes", 0, &nodes), 0);
    assert_int_equal(mdb_get(t, leaves, &k, &v), 0);
    ll_merkle_leaf_hash(v.mv_data, v.mv_size, h);
    assert_int_equal(mdb_put(t, nodes, &n, &hv, 0), 0);
    assert_int_equal(mdb_txn_commit(t), 0);
    mdb_env_close(env);
}

/* Entry 2's signature altered and its leaf hash fixed up: both the entry
 * (its signature) and node 1/1 (entries 2..3, whose children now check
 * out) are damaged at #2. The entry's own finding is the report, as when
 * the node pass ran after every signature, though the node is now checked
 * while the signatures are still being verified. */
static void test_entry_finding_outranks_node_finding_at_same_seq(void **state)
{
    fx_t *f = *state;
    six_plus_one(f);
    uint8_t k[8];
    seq_key(k, 2);
    flip(f->dir, "leaves", k, sizeof k, -70); /* inside the 64 signature bytes */
    rehash_leaf(f->dir, 2);
    open_ledger(f, 0, 0);
    ll_audit_report_t rep;
    audit(f, &rep);
    assert_true(rep.damaged);
    assert_int_equal(rep.first_bad_seq, 2);
    if (!strstr(rep.what, "signature does not verify"))
        fail_msg("reported: %s", rep.what);
    assert_int_equal(rep.signatures, 6); /* all but #2 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_full_map_refuses_whole_entries_then_grows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_passes_clean_ledger, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_tree_refuses_writes_serves_reads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_names_first_damaged_leaf, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_names_node_whose_children_check_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_entry_finding_outranks_node_finding_at_same_seq, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
