/*
 * The ledger fixture shared by the unit tests that drive ll_ledger
 * (test_ledger, test_gov, test_roadmap, test_reliability, test_derive,
 * test_sigbytes, and the closed-loop tests through ll_testloop.h): a fresh
 * temporary directory holding a store and a ledger whose genesis registers
 * "admin", the three keys that go with it, and the signing and appending
 * helpers every such test needs.
 *
 * A test whose fixture needs more (other actors' keys, submit flags) embeds
 * an ll_tl_t as its first member `tl`; the others use ll_tl_t itself.
 *
 * Every helper fails the running cmocka test on an unexpected error, so a
 * test reads as its scenario. Header-only (static inline), like
 * ll_testutil.h, so that each test file uses what it needs.
 */
#ifndef LL_TESTLEDGER_H
#define LL_TESTLEDGER_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "ll_testutil.h"
#include "ll_crypto.h"
#include "ll_entry.h"
#include "ll_err.h"
#include "ll_ledger.h"
#include "ll_store.h"

typedef struct ll_tl {
    char dir[64];
    ll_store_t *st;  /* NULL while closed (ll_tl_close) */
    ll_ledger_t *lg; /* NULL while closed */
    ll_key_t *note_key, *actor_key, *admin;
    const char *origin; /* checkpoint origin line, kept for reopening */
} ll_tl_t;

/* A link of an entry under test: (relation, target sequence number). */
typedef struct lk {
    int rel;
    uint64_t target;
} lk_t;

/* LINKS({REL(TESTS), h}, ...) expands to the two arguments (links, n). */
#define LINKS(...) ((const lk_t[]){__VA_ARGS__}), (sizeof((const lk_t[]){__VA_ARGS__}) / sizeof(lk_t))

/* Opens the store in t->dir (sc may be NULL: defaults) and the ledger on
 * it with t's keys. */
static inline void ll_tl_open(ll_tl_t *t, const ll_store_config_t *sc)
{
    assert_int_equal(ll_store_open(t->dir, sc, &t->st), LL_OK);
    ll_ledger_config_t c = {.note_key = t->note_key, .actor_key = t->actor_key,
                            .origin = t->origin};
    assert_int_equal(ll_ledger_open(t->st, &c, &t->lg), LL_OK);
}

/* Closes what is open (the ledger before its store); safe to repeat. */
static inline void ll_tl_close(ll_tl_t *t)
{
    if (t->lg)
        ll_ledger_close(t->lg);
    if (t->st)
        ll_store_close(t->st);
    t->lg = NULL;
    t->st = NULL;
}

/* A fresh directory, keys, an open ledger (sc as for ll_tl_open) and the
 * genesis entry (seq 0) registering "admin" with t->admin. */
static inline void ll_tl_start(ll_tl_t *t, const char *origin, const ll_store_config_t *sc)
{
    uint8_t pub[LL_PUBKEY_LEN];
    ll_append_result_t r;
    t->origin = origin;
    ll_test_tmpdir(t->dir);
    assert_int_equal(ll_key_generate(&t->note_key), LL_OK);
    assert_int_equal(ll_key_generate(&t->actor_key), LL_OK);
    assert_int_equal(ll_key_generate(&t->admin), LL_OK);
    ll_tl_open(t, sc);
    ll_key_public(t->admin, pub);
    assert_int_equal(ll_ledger_genesis(t->lg, "admin", pub, &r), LL_OK);
    assert_int_equal(r.seq, 0);
}

/* Closes, frees the keys and removes the directory. */
static inline void ll_tl_stop(ll_tl_t *t)
{
    ll_tl_close(t);
    ll_key_free(t->note_key);
    ll_key_free(t->actor_key);
    ll_key_free(t->admin);
    ll_test_rmdir(t->dir);
}

/* For fixtures that are an ll_tl_t: a started one on the heap, for a cmocka
 * setup (*state = ll_tl_new(...)), and the teardown that stops and frees
 * it. */
static inline ll_tl_t *ll_tl_new(const char *origin, const ll_store_config_t *sc)
{
    ll_tl_t *t = calloc(1, sizeof *t);
    assert_non_null(t);
    ll_tl_start(t, origin, sc);
    return t;
}

static inline int ll_tl_teardown(void **state)
{
    ll_tl_stop(*state);
    free(*state);
    return 0;
}

/* Fails the test with the ledger's own message, which names the rule. */
static inline void ll_tl_appended(ll_append_result_t r)
{
    if (r.err != LL_OK)
        fail_msg("append refused: %s: %s", ll_strerror(r.err), r.msg);
}

/* Seals a body signed with key: author, initiative (NULL: none), a nonce
 * unique in this process (so that equal bodies are distinct entries),
 * links, and the kind's message msg (the oneof members are all pointers
 * sharing one union slot). The caller frees the envelope. */
static inline uint8_t *ll_tl_seal(const ll_key_t *key, const char *author, const char *ini,
                                  int kind, void *msg, const lk_t *links, size_t nlinks,
                                  size_t *len)
{
    static _Atomic uint64_t counter;
    uint64_t nonce = atomic_fetch_add(&counter, 1) + 1;
    Loopledger__V1__Link l[8], *lp[8];
    Loopledger__V1__EntryBody b = LOOPLEDGER__V1__ENTRY_BODY__INIT;
    uint8_t *env;
    assert_true(nlinks <= 8);
    for (size_t i = 0; i < nlinks; i++) {
        loopledger__v1__link__init(&l[i]);
        l[i].relation = (Loopledger__V1__Relation)links[i].rel;
        l[i].target_seq = links[i].target;
        lp[i] = &l[i];
    }
    b.author = (char *)author;
    if (ini)
        b.initiative = (char *)ini;
    b.nonce.data = (uint8_t *)&nonce;
    b.nonce.len = sizeof nonce;
    b.n_links = nlinks;
    b.links = lp;
    b.kind_case = (Loopledger__V1__EntryBody__KindCase)kind;
    b.note = msg;
    assert_int_equal(ll_entry_seal(&b, key, &env, len), LL_OK);
    return env;
}

/* Appends env (len bytes) and frees it; returns the ledger's answer. */
static inline ll_append_result_t ll_tl_append(ll_tl_t *t, uint8_t *env, size_t len)
{
    ll_append_result_t r;
    ll_ledger_append(t->lg, env, len, &r);
    free(env);
    return r;
}

/* ll_tl_seal then ll_tl_append (two statements: argument evaluation order
 * is unspecified, so len must be set before it is read). */
static inline ll_append_result_t ll_tl_add(ll_tl_t *t, const ll_key_t *key, const char *author,
                                           const char *ini, int kind, void *msg,
                                           const lk_t *links, size_t nlinks)
{
    size_t len;
    uint8_t *env = ll_tl_seal(key, author, ini, kind, msg, links, nlinks, &len);
    return ll_tl_append(t, env, len);
}

/* A note by author (no initiative) with text, signed with key. */
static inline ll_append_result_t ll_tl_note(ll_tl_t *t, const ll_key_t *key, const char *author,
                                            const char *text)
{
    Loopledger__V1__Note n = LOOPLEDGER__V1__NOTE__INIT;
    n.text = (char *)text;
    return ll_tl_add(t, key, author, "", LOOPLEDGER__V1__ENTRY_BODY__KIND_NOTE, &n, NULL, 0);
}

/* The registration of actor id with subject's public key and role1 (and
 * role2 unless 0), signed with key as author; the caller frees it. */
static inline uint8_t *ll_tl_seal_actor(const ll_key_t *key, const char *author, const char *id,
                                        const ll_key_t *subject, int role1, int role2,
                                        size_t *len)
{
    uint8_t pub[LL_PUBKEY_LEN];
    Loopledger__V1__Role roles[2] = {(Loopledger__V1__Role)role1, (Loopledger__V1__Role)role2};
    Loopledger__V1__ActorRegistration a = LOOPLEDGER__V1__ACTOR_REGISTRATION__INIT;
    ll_key_public(subject, pub);
    a.actor_id = (char *)id;
    a.display_name = (char *)id;
    a.n_roles = role2 ? 2 : 1;
    a.roles = roles;
    a.public_key.data = pub;
    a.public_key.len = LL_PUBKEY_LEN;
    return ll_tl_seal(key, author, "", LOOPLEDGER__V1__ENTRY_BODY__KIND_ACTOR, &a, NULL, 0, len);
}

/* Registers actor id (subject's key, role1 and role2 unless 0), signed by
 * admin; fails the test if refused. Returns its sequence number. */
static inline uint64_t ll_tl_register(ll_tl_t *t, const char *id, const ll_key_t *subject,
                                      int role1, int role2)
{
    size_t len;
    uint8_t *env = ll_tl_seal_actor(t->admin, "admin", id, subject, role1, role2, &len);
    ll_append_result_t r = ll_tl_append(t, env, len);
    ll_tl_appended(r);
    return r.seq;
}

#endif
