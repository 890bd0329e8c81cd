/*
 * ll_ledger: the write path's rules. Every refusal names its reason with a
 * precise code and writes nothing; duplicates return the original sequence
 * number; concurrent appends are all durable with distinct numbers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "../support/ll_testledger.h"
#include "ll_dsse.h"
#include "ll_entry.h"
#include "ll_err.h"
#include "ll_ledger.h"
#include "ll_trust.h"

typedef struct fx {
    ll_tl_t tl;
    ll_key_t *bob, *stranger;
} fx_t;

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    ll_tl_start(&f->tl, "test.example/ledger", NULL);
    assert_int_equal(ll_key_generate(&f->bob), LL_OK);
    assert_int_equal(ll_key_generate(&f->stranger), LL_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    ll_tl_stop(&f->tl);
    ll_key_free(f->bob);
    ll_key_free(f->stranger);
    free(f);
    return 0;
}

/* A note body; links given as (relation, target) pairs. */
typedef struct body_spec {
    const char *author;
    const char *text;
    int relation;
    uint64_t target;
    int nlinks;
} body_spec_t;

static uint8_t *seal_note(const ll_key_t *key, body_spec_t s, size_t *len)
{
    Loopledger__V1__Note note = LOOPLEDGER__V1__NOTE__INIT;
    note.text = (char *)(s.text ? s.text : "hello");
    lk_t link = {s.relation, s.target};
    /* a note may name no initiative */
    return ll_tl_seal(key, s.author, "", LOOPLEDGER__V1__ENTRY_BODY__KIND_NOTE, &note, &link,
                      (size_t)s.nlinks, len);
}

/* Registration of id (a contributor) with subject's key, signed with key. */
static uint8_t *seal_registration(const ll_key_t *key, const char *author, const char *id,
                                  const ll_key_t *subject, size_t *len)
{
    return ll_tl_seal_actor(key, author, id, subject, LOOPLEDGER__V1__ROLE__ROLE_CONTRIBUTOR, 0,
                            len);
}

/* Seals a note and appends it (two statements: argument evaluation order
 * is unspecified, so len must be set before it is read). */
static ll_append_result_t append_note(fx_t *f, const ll_key_t *key, body_spec_t s)
{
    size_t len;
    uint8_t *env = seal_note(key, s, &len);
    return ll_tl_append(&f->tl, env, len);
}

static void register_bob(fx_t *f)
{
    ll_tl_register(&f->tl, "bob", f->bob, LOOPLEDGER__V1__ROLE__ROLE_CONTRIBUTOR, 0);
}

/* Asserts that r is a refusal with code and that nothing was written. */
static void assert_refused(fx_t *f, ll_append_result_t r, int code, uint64_t size_before)
{
    if (r.err != code)
        fail_msg("expected %s, got %s: %s", ll_strerror(code), ll_strerror(r.err), r.msg);
    assert_true(r.msg[0] != 0);
    assert_int_equal(ll_store_committed_size(f->tl.st), size_before);
}

static void test_genesis_registers_admin_and_server(void **state)
{
    fx_t *f = *state;
    assert_int_equal(ll_store_committed_size(f->tl.st), 1);
    ll_append_result_t r = append_note(f, f->tl.admin, (body_spec_t){.author = "admin"});
    ll_tl_appended(r);
    assert_int_equal(r.seq, 1);
    assert_false(r.duplicate);
    uint8_t pub[LL_PUBKEY_LEN];
    ll_key_public(f->tl.admin, pub);
    assert_int_equal(ll_ledger_genesis(f->tl.lg, "admin", pub, &r), LL_ERR_EXISTS);
}

static void test_admin_registers_actor_who_can_then_append(void **state)
{
    fx_t *f = *state;
    register_bob(f);
    ll_append_result_t r = append_note(f, f->bob, (body_spec_t){.author = "bob"});
    ll_tl_appended(r);
    assert_int_equal(r.seq, 2);
    ll_txn_t *t;
    uint64_t key_seq;
    assert_int_equal(ll_store_begin_read(f->tl.st, &t), LL_OK);
    assert_int_equal(ll_trust_signer_key_seq(t, 2, &key_seq), LL_OK);
    assert_int_equal(key_seq, 1); /* bob's key was registered by entry 1 */
    assert_int_equal(ll_trust_signer_key_seq(t, 1, &key_seq), LL_OK);
    assert_int_equal(key_seq, 0); /* admin's key came with the genesis */
    ll_store_abort(t);
}

static void test_duplicate_envelope_returns_original_seq(void **state)
{
    fx_t *f = *state;
    size_t len;
    uint8_t *env = seal_note(f->tl.admin, (body_spec_t){.author = "admin"}, &len);
    uint8_t *copy = malloc(len);
    memcpy(copy, env, len);
    ll_append_result_t a = ll_tl_append(&f->tl, env, len);
    ll_append_result_t b = ll_tl_append(&f->tl, copy, len);
    assert_int_equal(a.err, LL_OK);
    assert_int_equal(b.err, LL_OK);
    assert_true(b.duplicate);
    assert_int_equal(a.seq, b.seq);
    assert_int_equal(a.time_ns, b.time_ns);
    assert_memory_equal(a.leaf_hash, b.leaf_hash, LL_HASH_LEN);
    assert_int_equal(ll_store_committed_size(f->tl.st), 2);
}

static void test_malformed_envelope_is_invalid(void **state)
{
    fx_t *f = *state;
    uint8_t *junk = malloc(5);
    memcpy(junk, "\xff\xff\xff\xff\x0f", 5);
    assert_refused(f, ll_tl_append(&f->tl, junk, 5), LL_ERR_INVALID, 1);
}

static void test_malformed_payload_is_invalid(void **state)
{
    fx_t *f = *state;
    uint8_t garbage[3] = {0x0a, 0x7f, 0x01}; /* truncated length-delimited field */
    uint8_t sig[LL_SIG_LEN];
    uint8_t pub[LL_PUBKEY_LEN];
    char keyid[LL_KEYID_HEX_LEN + 1];
    ll_dsse_sign(f->tl.admin, LL_DSSE_PAYLOAD_TYPE, strlen(LL_DSSE_PAYLOAD_TYPE), garbage, 3, sig);
    ll_key_public(f->tl.admin, pub);
    ll_keyid(pub, keyid);
    Loopledger__V1__Signature s = LOOPLEDGER__V1__SIGNATURE__INIT;
    s.sig.data = sig;
    s.sig.len = LL_SIG_LEN;
    s.keyid = keyid;
    Loopledger__V1__Signature *sigs[1] = {&s};
    Loopledger__V1__Envelope e = LOOPLEDGER__V1__ENVELOPE__INIT;
    e.payload.data = garbage;
    e.payload.len = 3;
    e.payload_type = LL_DSSE_PAYLOAD_TYPE;
    e.n_signatures = 1;
    e.signatures = sigs;
    size_t len = loopledger__v1__envelope__get_packed_size(&e);
    uint8_t *buf = malloc(len);
    loopledger__v1__envelope__pack(&e, buf);
    assert_refused(f, ll_tl_append(&f->tl, buf, len), LL_ERR_INVALID, 1);
}

/* Unpacks env, lets edit() change it, repacks. */
static uint8_t *tamper(uint8_t *env, size_t *len, void (*edit)(Loopledger__V1__Envelope *))
{
    Loopledger__V1__Envelope *e = loopledger__v1__envelope__unpack(NULL, *len, env);
    assert_non_null(e);
    edit(e);
    free(env);
    *len = loopledger__v1__envelope__get_packed_size(e);
    uint8_t *out = malloc(*len);
    loopledger__v1__envelope__pack(e, out);
    loopledger__v1__envelope__free_unpacked(e, NULL);
    return out;
}

static char wrong_type[] = "application/json";
static void edit_type(Loopledger__V1__Envelope *e)
{
    free(e->payload_type); /* the unpacked message owns its strings */
    e->payload_type = strdup(wrong_type);
}
static void edit_sig(Loopledger__V1__Envelope *e) { e->signatures[0]->sig.data[5] ^= 1; }
static void edit_payload(Loopledger__V1__Envelope *e) { e->payload.data[e->payload.len - 1] ^= 1; }
static void edit_nosig(Loopledger__V1__Envelope *e)
{
    loopledger__v1__signature__free_unpacked(e->signatures[0], NULL);
    e->n_signatures = 0;
}

static void test_wrong_payload_type_is_invalid(void **state)
{
    fx_t *f = *state;
    size_t len;
    uint8_t *env = tamper(seal_note(f->tl.admin, (body_spec_t){.author = "admin"}, &len), &len, edit_type);
    ll_append_result_t r = ll_tl_append(&f->tl, env, len);
    assert_refused(f, r, LL_ERR_INVALID, 1);
    assert_non_null(strstr(r.msg, "payload_type"));
}

static void test_bad_signature_is_refused(void **state)
{
    fx_t *f = *state;
    size_t len;
    uint8_t *env = tamper(seal_note(f->tl.admin, (body_spec_t){.author = "admin"}, &len), &len, edit_sig);
    assert_refused(f, ll_tl_append(&f->tl, env, len), LL_ERR_BAD_SIGNATURE, 1);
}

static void test_payload_changed_after_signing_is_refused(void **state)
{
    fx_t *f = *state;
    size_t len;
    uint8_t *env = tamper(seal_note(f->tl.admin, (body_spec_t){.author = "admin", .text = "abc"}, &len), &len,
                          edit_payload);
    ll_append_result_t r;
    ll_ledger_append(f->tl.lg, env, len, &r);
    free(env);
    /* Flipping the last payload byte may also break the body's encoding;
     * either way the entry must not be written. */
    assert_true(r.err == LL_ERR_BAD_SIGNATURE || r.err == LL_ERR_INVALID);
    assert_int_equal(ll_store_committed_size(f->tl.st), 1);
}

static void test_missing_signature_is_invalid(void **state)
{
    fx_t *f = *state;
    size_t len;
    uint8_t *env = tamper(seal_note(f->tl.admin, (body_spec_t){.author = "admin"}, &len), &len, edit_nosig);
    assert_refused(f, ll_tl_append(&f->tl, env, len), LL_ERR_INVALID, 1);
}

static void test_unregistered_author_is_unauthenticated(void **state)
{
    fx_t *f = *state;
    size_t len;
    uint8_t *env = seal_note(f->stranger, (body_spec_t){.author = "mallory"}, &len);
    assert_refused(f, ll_tl_append(&f->tl, env, len), LL_ERR_UNAUTHENTICATED, 1);
}

static void test_author_must_own_the_signing_key(void **state)
{
    fx_t *f = *state;
    register_bob(f);
    size_t len;
    /* bob signs, but claims the entry is admin's. */
    uint8_t *env = seal_note(f->bob, (body_spec_t){.author = "admin"}, &len);
    ll_append_result_t r = ll_tl_append(&f->tl, env, len);
    assert_refused(f, r, LL_ERR_UNAUTHENTICATED, 2);
    assert_non_null(strstr(r.msg, "bob"));
}

static void test_link_to_future_entry_is_refused(void **state)
{
    fx_t *f = *state;
    size_t len;
    uint8_t *env = seal_note(f->tl.admin, (body_spec_t){.author = "admin", .text = "x", .relation = LOOPLEDGER__V1__RELATION__SUPPORTS, .target = 1, .nlinks = 1}, &len);
    /* seq 1 would be this entry itself: links point only to older entries. */
    assert_refused(f, ll_tl_append(&f->tl, env, len), LL_ERR_PRECONDITION, 1);
    env = seal_note(f->tl.admin, (body_spec_t){.author = "admin", .text = "x", .relation = LOOPLEDGER__V1__RELATION__SUPPORTS, .target = 999, .nlinks = 1}, &len);
    assert_refused(f, ll_tl_append(&f->tl, env, len), LL_ERR_PRECONDITION, 1);
    env = seal_note(f->tl.admin, (body_spec_t){.author = "admin", .text = "x", .relation = LOOPLEDGER__V1__RELATION__SUPPORTS, .target = 0, .nlinks = 1}, &len);
    assert_int_equal(ll_tl_append(&f->tl, env, len).err, LL_OK);
}

static void test_unknown_relation_is_invalid(void **state)
{
    fx_t *f = *state;
    size_t len;
    uint8_t *env = seal_note(f->tl.admin, (body_spec_t){.author = "admin", .text = "x", .relation = 0, .target = 0, .nlinks = 1}, &len);
    assert_refused(f, ll_tl_append(&f->tl, env, len), LL_ERR_INVALID, 1);
    env = seal_note(f->tl.admin, (body_spec_t){.author = "admin", .text = "x", .relation = 99, .target = 0, .nlinks = 1}, &len);
    assert_refused(f, ll_tl_append(&f->tl, env, len), LL_ERR_INVALID, 1);
}

static void test_only_admin_registers_actors(void **state)
{
    fx_t *f = *state;
    register_bob(f);
    size_t len;
    uint8_t *env = seal_registration(f->bob, "bob", "carol", f->stranger, &len);
    assert_refused(f, ll_tl_append(&f->tl, env, len), LL_ERR_PERMISSION, 2);
}

static void test_actor_and_key_register_once(void **state)
{
    fx_t *f = *state;
    register_bob(f);
    size_t len;
    uint8_t *env = seal_registration(f->tl.admin, "admin", "bob", f->stranger, &len);
    assert_refused(f, ll_tl_append(&f->tl, env, len), LL_ERR_EXISTS, 2);
    env = seal_registration(f->tl.admin, "admin", "bob2", f->bob, &len);
    assert_refused(f, ll_tl_append(&f->tl, env, len), LL_ERR_EXISTS, 2);
}

static void test_submitted_genesis_is_refused(void **state)
{
    fx_t *f = *state;
    uint8_t pub[LL_PUBKEY_LEN];
    ll_key_public(f->tl.admin, pub);
    Loopledger__V1__Role roles[] = {LOOPLEDGER__V1__ROLE__ROLE_ADMIN};
    Loopledger__V1__ActorRegistration a = LOOPLEDGER__V1__ACTOR_REGISTRATION__INIT;
    a.actor_id = "admin";
    a.n_roles = 1;
    a.roles = roles;
    a.public_key.data = pub;
    a.public_key.len = LL_PUBKEY_LEN;
    Loopledger__V1__Genesis g = LOOPLEDGER__V1__GENESIS__INIT;
    g.origin = "evil";
    g.server = &a;
    g.admin = &a;
    Loopledger__V1__EntryBody b = LOOPLEDGER__V1__ENTRY_BODY__INIT;
    b.author = "admin";
    b.kind_case = LOOPLEDGER__V1__ENTRY_BODY__KIND_GENESIS;
    b.genesis = &g;
    uint8_t *env;
    size_t len;
    assert_int_equal(ll_entry_seal(&b, f->tl.admin, &env, &len), LL_OK);
    assert_refused(f, ll_tl_append(&f->tl, env, len), LL_ERR_PRECONDITION, 1);
}

static void test_body_without_kind_is_invalid(void **state)
{
    fx_t *f = *state;
    Loopledger__V1__EntryBody b = LOOPLEDGER__V1__ENTRY_BODY__INIT;
    b.author = "admin";
    uint8_t *env;
    size_t len;
    assert_int_equal(ll_entry_seal(&b, f->tl.admin, &env, &len), LL_OK);
    assert_refused(f, ll_tl_append(&f->tl, env, len), LL_ERR_INVALID, 1);
}

typedef struct worker {
    fx_t *f;
    int n;
    uint64_t seqs[64];
    int failures;
} worker_t;

static void *appender(void *arg)
{
    worker_t *w = arg;
    for (int i = 0; i < w->n; i++) {
        size_t len;
        uint8_t *env = seal_note(w->f->tl.admin, (body_spec_t){.author = "admin"}, &len);
        ll_append_result_t r;
        ll_ledger_append(w->f->tl.lg, env, len, &r);
        free(env);
        if (r.err)
            w->failures++;
        w->seqs[i] = r.seq;
    }
    return NULL;
}

static void test_concurrent_appends_get_distinct_seqs(void **state)
{
    fx_t *f = *state;
    enum { T = 8, N = 40 };
    worker_t w[T];
    pthread_t th[T];
    for (int t = 0; t < T; t++) {
        w[t] = (worker_t){.f = f, .n = N};
        pthread_create(&th[t], NULL, appender, &w[t]);
    }
    for (int t = 0; t < T; t++)
        pthread_join(th[t], NULL);
    uint8_t seen[1 + T * N] = {0};
    for (int t = 0; t < T; t++) {
        assert_int_equal(w[t].failures, 0);
        for (int i = 0; i < N; i++) {
            assert_in_range(w[t].seqs[i], 1, T * N);
            assert_int_equal(seen[w[t].seqs[i]], 0);
            seen[w[t].seqs[i]] = 1;
        }
    }
    assert_int_equal(ll_store_committed_size(f->tl.st), 1 + T * N);
}

static void test_restart_keeps_entries_actors_and_checkpoint(void **state)
{
    fx_t *f = *state;
    register_bob(f);
    assert_int_equal(append_note(f, f->bob, (body_spec_t){.author = "bob"}).err, LL_OK);
    ll_txn_t *t;
    char note1[LL_NOTE_MAX], note2[LL_NOTE_MAX];
    size_t n1, n2;
    uint64_t s1, s2;
    uint8_t r1[LL_HASH_LEN], r2[LL_HASH_LEN];
    assert_int_equal(ll_store_begin_read(f->tl.st, &t), LL_OK);
    assert_int_equal(ll_ledger_checkpoint(f->tl.lg, t, 0, note1, sizeof note1, &n1, &s1, r1), LL_OK);
    ll_store_abort(t);
    ll_tl_close(&f->tl);
    ll_tl_open(&f->tl, NULL);
    assert_int_equal(ll_store_begin_read(f->tl.st, &t), LL_OK);
    assert_int_equal(ll_ledger_checkpoint(f->tl.lg, t, 0, note2, sizeof note2, &n2, &s2, r2), LL_OK);
    ll_store_abort(t);
    assert_int_equal(s1, 3);
    assert_int_equal(s2, 3);
    assert_memory_equal(r1, r2, LL_HASH_LEN);
    /* Ed25519 is deterministic: same body, same key, same note. */
    assert_string_equal(note1, note2);
    assert_string_equal(ll_ledger_origin(f->tl.lg), "test.example/ledger");
    /* bob is still registered. */
    assert_int_equal(append_note(f, f->bob, (body_spec_t){.author = "bob"}).err, LL_OK);
}

static void test_checkpoint_verifies_with_verifier_key(void **state)
{
    fx_t *f = *state;
    char vkey[512], name[LL_NOTE_MAX_NAME + 1], note[LL_NOTE_MAX];
    uint8_t pub[LL_PUBKEY_LEN], root[LL_HASH_LEN];
    size_t n, body_len;
    uint64_t size;
    ll_txn_t *t;
    assert_int_equal(ll_ledger_verifier_key(f->tl.lg, vkey, sizeof vkey), LL_OK);
    assert_int_equal(ll_note_parse_verifier_key(vkey, name, sizeof name, pub), LL_OK);
    assert_string_equal(name, "test.example/ledger");
    assert_int_equal(ll_store_begin_read(f->tl.st, &t), LL_OK);
    assert_int_equal(ll_ledger_checkpoint(f->tl.lg, t, 0, note, sizeof note, &n, &size, root), LL_OK);
    assert_int_equal(ll_ledger_checkpoint(f->tl.lg, t, 2, note, sizeof note, &n, &size, root),
                     LL_ERR_RANGE);
    ll_store_abort(t);
    assert_int_equal(ll_note_verify(note, n, name, pub, &body_len), LL_OK);
    ll_checkpoint_t cp;
    assert_int_equal(ll_checkpoint_parse(note, body_len, &cp), LL_OK);
    assert_int_equal(cp.size, 1);
    assert_memory_equal(cp.root, root, LL_HASH_LEN);
}

/* ---- append budget (issue 18 item 6) ---- */

/* A commit hook that holds the writer until opened: while it is held the
 * first entry's result is not out yet, so the budget fills for sure. */
typedef struct gate {
    pthread_mutex_t m;
    pthread_cond_t c;
    int open, held;
} gate_t;

static void gate_hook(void *ctx, uint64_t size)
{
    (void)size;
    gate_t *g = ctx;
    pthread_mutex_lock(&g->m);
    g->held++;
    pthread_cond_broadcast(&g->c);
    while (!g->open)
        pthread_cond_wait(&g->c, &g->m);
    pthread_mutex_unlock(&g->m);
}

typedef struct tally {
    atomic_int done, ok, refused;
} tally_t;

static void tally_cb(void *ctx, const ll_append_result_t *r)
{
    tally_t *t = ctx;
    if (r->err == LL_OK)
        atomic_fetch_add(&t->ok, 1);
    else if (r->err == LL_ERR_TOO_LARGE && strstr(r->msg, "append queue is full"))
        atomic_fetch_add(&t->refused, 1);
    atomic_fetch_add(&t->done, 1);
}

static void check_budget(fx_t *f, size_t entries, size_t bytes)
{
    gate_t g = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
    tally_t t = {0};
    size_t len[5];
    uint8_t *env[5];
    ll_tl_close(&f->tl);
    assert_int_equal(ll_store_open(f->tl.dir, NULL, &f->tl.st), LL_OK);
    ll_ledger_config_t c = {.note_key = f->tl.note_key, .actor_key = f->tl.actor_key,
                            .max_queue_entries = entries, .max_queue_bytes = bytes};
    assert_int_equal(ll_ledger_open(f->tl.st, &c, &f->tl.lg), LL_OK);
    assert_int_equal(ll_ledger_add_commit_hook(f->tl.lg, gate_hook, &g), LL_OK);
    for (int i = 0; i < 5; i++)
        env[i] = seal_note(f->tl.admin, (body_spec_t){.author = "admin"}, &len[i]);

    /* The first is committed and held in the hook: still in flight. */
    ll_ledger_submit(f->tl.lg, env[0], len[0], tally_cb, &t);
    pthread_mutex_lock(&g.m);
    while (!g.held)
        pthread_cond_wait(&g.c, &g.m);
    pthread_mutex_unlock(&g.m);
    ll_ledger_submit(f->tl.lg, env[1], len[1], tally_cb, &t);
    ll_ledger_submit(f->tl.lg, env[2], len[2], tally_cb, &t);
    assert_int_equal(atomic_load(&t.done), 0);
    /* Over budget: answered before submit returns, nothing queued. */
    ll_ledger_submit(f->tl.lg, env[3], len[3], tally_cb, &t);
    assert_int_equal(atomic_load(&t.done), 1);
    assert_int_equal(atomic_load(&t.refused), 1);

    pthread_mutex_lock(&g.m);
    g.open = 1;
    pthread_cond_broadcast(&g.c);
    pthread_mutex_unlock(&g.m);
    while (atomic_load(&t.done) < 4)
        usleep(1000);
    assert_int_equal(atomic_load(&t.ok), 3);
    /* The budget is given back with the results. */
    ll_append_result_t r;
    ll_ledger_append(f->tl.lg, env[4], len[4], &r);
    ll_tl_appended(r);
    assert_int_equal(r.seq, 4);
    ll_ledger_remove_commit_hook(f->tl.lg, gate_hook, &g);
    for (int i = 0; i < 5; i++)
        free(env[i]);
}

static void test_append_budget_refuses_beyond_its_entries_at_once(void **state)
{
    check_budget(*state, 3, 0);
}

static void test_append_budget_refuses_beyond_its_bytes_at_once(void **state)
{
    fx_t *f = *state;
    size_t len;
    uint8_t *probe = seal_note(f->tl.admin, (body_spec_t){.author = "admin"}, &len);
    free(probe);
    /* Room for three envelopes of this size, not four. */
    check_budget(f, 0, 3 * len + len / 2);
}

/* ---- inline appends (LL_SUBMIT_INLINE) ---- */

typedef struct seen {
    atomic_int done;
    pthread_t thread;
    ll_append_result_t res;
} seen_t;

static void seen_cb(void *ctx, const ll_append_result_t *r)
{
    seen_t *s = ctx;
    s->thread = pthread_self();
    s->res = *r;
    atomic_store(&s->done, 1);
}

/* Alone and with the writer idle, an inline append is written on the
 * caller's thread and answered before submit returns; a refused or
 * validate-only one writes nothing there either. */
static void test_inline_append_alone_is_written_by_the_caller(void **state)
{
    fx_t *f = *state;
    size_t len;
    uint8_t *env = seal_note(f->tl.admin, (body_spec_t){.author = "admin"}, &len);
    uint64_t before = ll_store_committed_size(f->tl.st);
    seen_t s = {0};
    ll_ledger_submit_opts(f->tl.lg, env, len, NULL, LL_SUBMIT_INLINE, seen_cb, &s);
    assert_int_equal(atomic_load(&s.done), 1);
    assert_true(pthread_equal(s.thread, pthread_self()));
    assert_int_equal(s.res.err, LL_OK);
    assert_int_equal(s.res.seq, before);
    /* Committed (durable in the write-ahead log) when it was answered. */
    assert_int_equal(ll_store_committed_size(f->tl.st), before + 1);
    /* The same envelope again: a duplicate, answered the same way. */
    seen_t d = {0};
    ll_ledger_submit_opts(f->tl.lg, env, len, NULL, LL_SUBMIT_INLINE, seen_cb, &d);
    assert_int_equal(atomic_load(&d.done), 1);
    assert_int_equal(d.res.err, LL_OK);
    assert_true(d.res.duplicate);
    assert_int_equal(d.res.seq, before);
    free(env);

    /* Refused after the checks that need the ledger: nothing written. */
    env = seal_note(f->tl.admin, (body_spec_t){.author = "admin", .text = "x", .relation = LOOPLEDGER__V1__RELATION__SUPPORTS, .target = 999, .nlinks = 1}, &len);
    seen_t r = {0};
    ll_ledger_submit_opts(f->tl.lg, env, len, NULL, LL_SUBMIT_INLINE, seen_cb, &r);
    assert_int_equal(atomic_load(&r.done), 1);
    assert_int_equal(r.res.err, LL_ERR_PRECONDITION);
    assert_int_equal(ll_store_committed_size(f->tl.st), before + 1);
    free(env);

    /* Validate only: every check, then rolled back. */
    env = seal_note(f->tl.admin, (body_spec_t){.author = "admin", .text = "dry run"}, &len);
    seen_t v = {0};
    ll_ledger_submit_opts(f->tl.lg, env, len, NULL, LL_SUBMIT_INLINE | LL_SUBMIT_VALIDATE_ONLY,
                          seen_cb, &v);
    assert_int_equal(atomic_load(&v.done), 1);
    assert_int_equal(v.res.err, LL_OK);
    assert_true(v.res.validate_only);
    assert_int_equal(ll_store_committed_size(f->tl.st), before + 1);
    /* The writer thread still serves the next ordinary append. */
    ll_append_result_t n = ll_tl_append(&f->tl, env, len);
    assert_int_equal(n.err, LL_OK);
    assert_int_equal(n.seq, before + 1);
}

/* With another append in flight an inline one queues for the writer, so
 * batching under load is unchanged: it is answered later, by the writer. */
static void test_inline_append_queues_behind_one_in_flight(void **state)
{
    fx_t *f = *state;
    gate_t g = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
    size_t len[2];
    uint8_t *env[2];
    for (int i = 0; i < 2; i++)
        env[i] = seal_note(f->tl.admin, (body_spec_t){.author = "admin"}, &len[i]);
    uint64_t before = ll_store_committed_size(f->tl.st);
    assert_int_equal(ll_ledger_add_commit_hook(f->tl.lg, gate_hook, &g), LL_OK);
    seen_t a = {0}, b = {0};
    /* The first is committed and held in the hook by the writer. */
    ll_ledger_submit(f->tl.lg, env[0], len[0], seen_cb, &a);
    pthread_mutex_lock(&g.m);
    while (!g.held)
        pthread_cond_wait(&g.c, &g.m);
    pthread_mutex_unlock(&g.m);
    ll_ledger_submit_opts(f->tl.lg, env[1], len[1], NULL, LL_SUBMIT_INLINE, seen_cb, &b);
    assert_int_equal(atomic_load(&b.done), 0);
    pthread_mutex_lock(&g.m);
    g.open = 1;
    pthread_cond_broadcast(&g.c);
    pthread_mutex_unlock(&g.m);
    while (!atomic_load(&a.done) || !atomic_load(&b.done))
        usleep(1000);
    assert_int_equal(a.res.err, LL_OK);
    assert_int_equal(b.res.err, LL_OK);
    assert_int_equal(a.res.seq, before);
    assert_int_equal(b.res.seq, before + 1);
    assert_false(pthread_equal(b.thread, pthread_self()));
    assert_true(pthread_equal(a.thread, b.thread)); /* both by the writer */
    assert_int_equal(ll_store_committed_size(f->tl.st), before + 2);
    ll_ledger_remove_commit_hook(f->tl.lg, gate_hook, &g);
    for (int i = 0; i < 2; i++)
        free(env[i]);
}

/* Many callers at once, some refused before their entry is queued (a
 * signature that does not verify, an unregistered author, a malformed
 * envelope), some inline: every one is answered, the good ones exactly
 * once each, and none is still counted as on its way to the writer (the
 * writer waits for those, so a miscount would stall every commit). */
typedef struct mixer {
    fx_t *f;
    int t, ok, refused;
} mixer_t;

static void *mixed_appender(void *arg)
{
    mixer_t *m = arg;
    for (int i = 0; i < 30; i++) {
        size_t len;
        uint8_t *env;
        int bad = 1;
        switch ((i + m->t) % 5) {
        case 0:
            env = tamper(seal_note(m->f->tl.admin, (body_spec_t){.author = "admin"}, &len), &len,
                         edit_sig);
            break;
        case 1:
            env = seal_note(m->f->stranger, (body_spec_t){.author = "mallory"}, &len);
            break;
        case 2:
            env = tamper(seal_note(m->f->tl.admin, (body_spec_t){.author = "admin"}, &len), &len,
                         edit_nosig);
            break;
        default:
            env = seal_note(m->f->tl.admin, (body_spec_t){.author = "admin"}, &len);
            bad = 0;
        }
        seen_t s = {0};
        ll_ledger_submit_opts(m->f->tl.lg, env, len, NULL, (i & 1) ? LL_SUBMIT_INLINE : 0,
                              seen_cb, &s);
        while (!atomic_load(&s.done))
            usleep(100);
        free(env);
        if (s.res.err == LL_OK && !bad)
            m->ok++;
        else if (s.res.err != LL_OK && bad)
            m->refused++;
    }
    return NULL;
}

static void test_refused_and_inline_appends_leave_no_one_arriving(void **state)
{
    fx_t *f = *state;
    enum { T = 8 };
    mixer_t m[T];
    pthread_t th[T];
    uint64_t before = ll_store_committed_size(f->tl.st);
    for (int t = 0; t < T; t++) {
        m[t] = (mixer_t){.f = f, .t = t};
        pthread_create(&th[t], NULL, mixed_appender, &m[t]);
    }
    int ok = 0, refused = 0;
    for (int t = 0; t < T; t++) {
        pthread_join(th[t], NULL);
        ok += m[t].ok;
        refused += m[t].refused;
    }
    assert_int_equal(ok, T * 30 * 2 / 5);
    assert_int_equal(refused, T * 30 * 3 / 5);
    assert_int_equal(ll_store_committed_size(f->tl.st), before + (uint64_t)ok);
    assert_int_equal(ll_ledger_arriving(f->tl.lg), 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_genesis_registers_admin_and_server),
        T(test_admin_registers_actor_who_can_then_append),
        T(test_duplicate_envelope_returns_original_seq),
        T(test_malformed_envelope_is_invalid),
        T(test_malformed_payload_is_invalid),
        T(test_wrong_payload_type_is_invalid),
        T(test_bad_signature_is_refused),
        T(test_payload_changed_after_signing_is_refused),
        T(test_missing_signature_is_invalid),
        T(test_unregistered_author_is_unauthenticated),
        T(test_author_must_own_the_signing_key),
        T(test_link_to_future_entry_is_refused),
        T(test_unknown_relation_is_invalid),
        T(test_only_admin_registers_actors),
        T(test_actor_and_key_register_once),
        T(test_submitted_genesis_is_refused),
        T(test_body_without_kind_is_invalid),
        T(test_concurrent_appends_get_distinct_seqs),
        T(test_restart_keeps_entries_actors_and_checkpoint),
        T(test_checkpoint_verifies_with_verifier_key),
        T(test_append_budget_refuses_beyond_its_entries_at_once),
        T(test_append_budget_refuses_beyond_its_bytes_at_once),
        T(test_inline_append_alone_is_written_by_the_caller),
        T(test_inline_append_queues_behind_one_in_flight),
        T(test_refused_and_inline_appends_leave_no_one_arriving),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
