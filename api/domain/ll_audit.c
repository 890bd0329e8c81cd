/*
 * ll_audit: whole-ledger verification from the raw store (ll_audit.h).
 *
 * The key records and the signer index are read through ll_trust, the one
 * module that knows their layout; what the audit does not take on the
 * ledger's word is their content: every key record is checked against the
 * entry that registered it, and every signature is verified again.
 */
#include "ll_audit.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ll_bytes.h"
#include "ll_entry.h"
#include "ll_err.h"
#include "ll_merkle.h"
#include "ll_note.h"
#include "ll_trust.h"

#define BLOCK 64 /* sequence numbers a worker takes at once */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- the persisted checkpoint ---- */

int ll_audit_checkpoint(ll_txn_t *txn, const char *origin,
                        const uint8_t note_pub[LL_PUBKEY_LEN],
                        uint64_t *cp_size, char *msg, size_t cap)
{
    const uint8_t *v;
    size_t vlen, body_len;
    ll_checkpoint_t cp;
    uint8_t root[LL_HASH_LEN];
    *cp_size = 0;
    int err = ll_store_get(txn, LL_TBL_META, LL_AUDIT_CP_KEY, strlen(LL_AUDIT_CP_KEY), &v,
                           &vlen);
    if (err == LL_ERR_NOT_FOUND)
        return LL_OK;
    if (err)
        return err;
    err = ll_note_verify((const char *)v, vlen, origin, note_pub, &body_len);
    if (err) {
        snprintf(msg, cap, "the stored signed checkpoint does not verify with the server's key (%s)",
                 ll_strerror(err));
        return LL_ERR_CORRUPT;
    }
    if (ll_checkpoint_parse((const char *)v, body_len, &cp) || strcmp(cp.origin, origin)) {
        snprintf(msg, cap, "the stored signed checkpoint is not a checkpoint of %s", origin);
        return LL_ERR_CORRUPT;
    }
    *cp_size = cp.size;
    if (cp.size > ll_store_size(txn)) {
        snprintf(msg, cap, "the tree has %llu entries but the server signed a checkpoint of %llu",
                 (unsigned long long)ll_store_size(txn), (unsigned long long)cp.size);
        return LL_ERR_CORRUPT;
    }
    err = ll_store_root(txn, cp.size, root);
    if (err == LL_ERR_NOT_FOUND || err == LL_ERR_CORRUPT) {
        snprintf(msg, cap, "tree nodes needed for the root of size %llu are missing or malformed",
                 (unsigned long long)cp.size);
        return LL_ERR_CORRUPT;
    }
    if (err)
        return err;
    if (!ll_ct_equal(root, cp.root, LL_HASH_LEN)) {
        snprintf(msg, cap,
                 "the stored tree's root at size %llu differs from the root the server signed",
                 (unsigned long long)cp.size);
        return LL_ERR_CORRUPT;
    }
    return LL_OK;
}

/* ---- leaves and signatures (worker threads) ---- */

typedef struct audit {
    ll_store_t *st;
    uint64_t size;
    _Atomic uint64_t next;     /* next block to take */
    _Atomic uint64_t best;     /* lowest damaged seq found so far */
    _Atomic uint64_t sigs, bytes;
    uint8_t *bad0;             /* bad0[seq]: leaf hash != node(0, seq) */
    pthread_mutex_t lock;      /* guards what */
    char what[320];
    int err;                   /* a store error that stopped a worker */
} audit_t;

static void found(audit_t *a, uint64_t seq, const char *what)
{
    pthread_mutex_lock(&a->lock);
    if (seq < atomic_load(&a->best)) {
        atomic_store(&a->best, seq);
        snprintf(a->what, sizeof a->what, "%s", what);
    }
    pthread_mutex_unlock(&a->lock);
}

/* The leaf layout is ll_leaf_build's, byte for byte: parse, rebuild and
 * compare, so that no other encoding of the same values passes. */
static int leaf_split(const uint8_t *leaf, size_t len, uint64_t *seq,
                      const uint8_t **env, size_t *env_len)
{
    uint64_t f[3] = {0, 0, 0};
    const uint8_t *p = leaf, *end = leaf + len;
    *env = NULL;
    while (p < end) {
        uint8_t tag = *p++;
        uint64_t v = 0;
        if (ll_get_varint(&p, end, &v))
            return LL_ERR_INVALID;
        if (tag == 0x08 || tag == 0x10) {
            f[tag >> 3] = v;
        } else if (tag == 0x1a && v <= (uint64_t)(end - p)) {
            *env = p;
            *env_len = (size_t)v;
            p += (size_t)v;
        } else {
            return LL_ERR_INVALID;
        }
    }
    if (!*env)
        return LL_ERR_INVALID;
    size_t cap = ll_leaf_max_len(*env_len);
    uint8_t *re = malloc(cap);
    if (!re)
        return LL_ERR_NOMEM;
    size_t n = ll_leaf_build(f[1], (int64_t)f[2], *env, *env_len, re);
    int same = n == len && memcmp(re, leaf, n) == 0;
    free(re);
    *seq = f[1];
    return same ? LL_OK : LL_ERR_INVALID;
}

/* Does registration entry reg (a leaf) register pub? Only the kinds that
 * register keys today are interpreted; a registration of another kind
 * (added later) is accepted on the keys table's word. */
static int registers_key(ll_txn_t *txn, uint64_t reg, const uint8_t pub[LL_PUBKEY_LEN])
{
    const uint8_t *leaf, *env;
    size_t len, env_len;
    uint64_t s;
    ll_entry_t e;
    char msg[LL_MSG_MAX];
    if (ll_store_leaf(txn, reg, &leaf, &len) || leaf_split(leaf, len, &s, &env, &env_len) ||
        ll_entry_decode(env, env_len, &e, msg, sizeof msg))
        return 0; /* that entry's own check reports it */
    int ok = 1;
    const Loopledger__V1__EntryBody *b = e.body;
#define KEY_IS(r) ((r) && (r)->public_key.len == LL_PUBKEY_LEN && \
                   !memcmp((r)->public_key.data, pub, LL_PUBKEY_LEN))
    if (b->kind_case == LOOPLEDGER__V1__ENTRY_BODY__KIND_ACTOR)
        ok = KEY_IS(b->actor);
    else if (b->kind_case == LOOPLEDGER__V1__ENTRY_BODY__KIND_GENESIS)
        ok = b->genesis && (KEY_IS(b->genesis->server) || KEY_IS(b->genesis->admin));
#undef KEY_IS
    ll_entry_free(&e);
    return ok;
}

typedef struct keycache {
    uint64_t reg;
    uint8_t pub[LL_PUBKEY_LEN];
    int valid;
} keycache_t;

/* Checks one entry; on damage fills why and returns 1. */
static int check_entry(audit_t *a, ll_txn_t *txn, uint64_t seq, keycache_t *kc,
                       char *why, size_t cap)
{
    const uint8_t *leaf, *env;
    size_t len, env_len;
    uint8_t lh[LL_HASH_LEN], node[LL_HASH_LEN];
    uint64_t s, key_seq;
    ll_trust_key_t k;
    ll_entry_t e;
    char msg[LL_MSG_MAX];
    int err, bad = 1;

    if ((err = ll_store_leaf(txn, seq, &leaf, &len))) {
        snprintf(why, cap, "leaf missing (%s)", ll_strerror(err));
        return 1;
    }
    atomic_fetch_add(&a->bytes, len);
    ll_merkle_leaf_hash(leaf, len, lh);
    err = ll_store_node(txn, 0, seq, node);
    if (err || !ll_ct_equal(lh, node, LL_HASH_LEN)) {
        a->bad0[seq] = 1;
        snprintf(why, cap, err ? "stored leaf hash (node 0/%llu) missing or malformed"
                               : "leaf bytes do not match the stored leaf hash (node 0/%llu): "
                                 "the leaf or its hash was altered",
                 (unsigned long long)seq);
        return 1;
    }
    if (leaf_split(leaf, len, &s, &env, &env_len) || s != seq) {
        snprintf(why, cap, "leaf is not a LogEntry for this sequence number");
        return 1;
    }
    if (ll_entry_decode(env, env_len, &e, msg, sizeof msg)) {
        snprintf(why, cap, "envelope no longer decodes: %s", msg);
        return 1;
    }
    if ((err = ll_trust_signer_key_seq(txn, seq, &key_seq))) {
        snprintf(why, cap, "signer key record (index) missing or malformed");
        goto out;
    }
    if (ll_trust_key(txn, e.keyid, &k)) {
        snprintf(why, cap, "no key record for the signing keyid");
        goto out;
    }
    const uint8_t *pub = k.pub;
    uint64_t reg = k.reg_seq;
    if (k.actor_len != strlen(e.body->author) || memcmp(k.actor, e.body->author, k.actor_len)) {
        snprintf(why, cap, "signing key is not registered to author \"%s\"", e.body->author);
        goto out;
    }
    if (reg != key_seq || (reg >= seq && !(seq == 0 && reg == 0))) {
        snprintf(why, cap, "signing key registered at #%llu, but the entry records #%llu",
                 (unsigned long long)reg, (unsigned long long)key_seq);
        goto out;
    }
    uint8_t keyid[LL_HASH_LEN];
    ll_sha256(pub, LL_PUBKEY_LEN, keyid);
    if (!ll_ct_equal(keyid, e.keyid, LL_HASH_LEN)) {
        snprintf(why, cap, "the key record for this keyid holds a different public key");
        goto out;
    }
    if (!(kc->valid && kc->reg == reg && !memcmp(kc->pub, pub, LL_PUBKEY_LEN))) {
        if (!registers_key(txn, reg, pub)) {
            snprintf(why, cap, "the key record differs from the key registered by entry #%llu",
                     (unsigned long long)reg);
            goto out;
        }
        kc->reg = reg;
        memcpy(kc->pub, pub, LL_PUBKEY_LEN);
        kc->valid = 1;
    }
    if ((err = ll_entry_verify(&e, pub))) {
        snprintf(why, cap, "signature does not verify against %s's key registered at #%llu (%s)",
                 e.body->author, (unsigned long long)reg, ll_strerror(err));
        goto out;
    }
    atomic_fetch_add(&a->sigs, 1);
    bad = 0;
out:
    ll_entry_free(&e);
    return bad;
}

static void *worker(void *arg)
{
    audit_t *a = arg;
    ll_txn_t *txn;
    keycache_t kc = {0};
    char why[300];
    int err = ll_store_begin_read(a->st, &txn);
    if (err) {
        pthread_mutex_lock(&a->lock);
        a->err = err;
        pthread_mutex_unlock(&a->lock);
        return NULL;
    }
    for (;;) {
        uint64_t start = atomic_fetch_add(&a->next, BLOCK);
        if (start >= a->size)
            break;
        uint64_t end = start + BLOCK < a->size ? start + BLOCK : a->size;
        /* Every entry is checked even after damage is found: the node
         * pass needs to know every bad leaf hash, and the counts say how
         * much of the ledger is intact. */
        for (uint64_t seq = start; seq < end; seq++)
            if (check_entry(a, txn, seq, &kc, why, sizeof why))
                found(a, seq, why);
    }
    ll_store_abort(txn);
    return NULL;
}

/* ---- tree nodes (calling thread) ---- */

/* Bottom-up: node(L, i) against its children. bad[] marks the previous
 * level's nodes that failed their own check; a parent mismatch under a bad
 * child is that child's fault. Returns LL_OK or a store error. */
static int check_nodes(audit_t *a, ll_txn_t *txn, uint64_t *checked)
{
    uint64_t n = a->size;
    uint8_t *bad = a->bad0, *up = NULL;
    int err = LL_OK;
    *checked = 0;
    for (unsigned level = 1; level < 64 && (n >> level); level++) {
        uint64_t count = n >> level;
        up = calloc(count, 1);
        if (!up) {
            err = LL_ERR_NOMEM;
            goto out;
        }
        for (uint64_t i = 0; i < count; i++) {
            uint8_t l[LL_HASH_LEN], r[LL_HASH_LEN], want[LL_HASH_LEN], got[LL_HASH_LEN];
            uint64_t first = i << level;
            int e1 = ll_store_node(txn, level - 1, 2 * i, l);
            int e2 = ll_store_node(txn, level - 1, 2 * i + 1, r);
            int e3 = ll_store_node(txn, level, i, got);
            (*checked)++;
            if (e3) {
                up[i] = 1;
                char why[160];
                snprintf(why, sizeof why, "stored node %u/%llu (entries %llu..%llu) missing or malformed",
                         level, (unsigned long long)i, (unsigned long long)first,
                         (unsigned long long)(first + (1ULL << level) - 1));
                found(a, first, why);
                continue;
            }
            if (e1 || e2 || bad[2 * i] || bad[2 * i + 1])
                continue; /* reported at the child */
            ll_merkle_node_hash(l, r, want);
            if (!ll_ct_equal(want, got, LL_HASH_LEN)) {
                up[i] = 1;
                char why[200];
                snprintf(why, sizeof why,
                         "stored node %u/%llu (entries %llu..%llu) does not match its children: "
                         "the node was altered",
                         level, (unsigned long long)i, (unsigned long long)first,
                         (unsigned long long)(first + (1ULL << level) - 1));
                found(a, first, why);
            }
        }
        if (bad != a->bad0)
            free(bad);
        bad = up;
        up = NULL;
    }
out:
    if (bad != a->bad0)
        free(bad);
    free(up);
    return err;
}

int ll_audit_run(ll_store_t *st, const uint8_t note_pub[LL_PUBKEY_LEN],
                 unsigned threads, ll_audit_report_t *rep)
{
    audit_t a = {.st = st};
    ll_txn_t *txn = NULL;
    pthread_t tids[64];
    unsigned started = 0;
    char origin[LL_NOTE_MAX_NAME + 1];
    const uint8_t *v;
    size_t vlen;
    double t0 = now_s();
    int err;

    memset(rep, 0, sizeof *rep);
    rep->first_bad_seq = LL_AUDIT_NO_SEQ;
    atomic_store(&a.best, LL_AUDIT_NO_SEQ);
    pthread_mutex_init(&a.lock, NULL);
    if ((err = ll_store_begin_read(st, &txn)))
        goto out;
    a.size = ll_store_size(txn);
    rep->size = a.size;
    err = ll_store_get(txn, LL_TBL_META, "origin", 6, &v, &vlen);
    if (err || vlen > LL_NOTE_MAX_NAME) {
        rep->damaged = 1;
        snprintf(rep->what, sizeof rep->what, "the ledger's origin is missing or malformed");
        err = LL_OK;
        goto out;
    }
    memcpy(origin, v, vlen);
    origin[vlen] = 0;
    if (ll_store_leaf(txn, a.size, &v, &vlen) == LL_OK)
        found(&a, a.size, "a leaf exists beyond the recorded tree size (size record altered?)");

    if (!(a.bad0 = calloc(a.size ? a.size : 1, 1))) {
        err = LL_ERR_NOMEM;
        goto out;
    }
    if (!threads) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (unsigned)n : 1;
    }
    if (threads > 64)
        threads = 64;
    for (; started < threads; started++)
        if (pthread_create(&tids[started], NULL, worker, &a))
            break;
    if (!started)
        worker(&a);
    for (unsigned i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    if (a.err) {
        err = a.err;
        goto out;
    }
    if ((err = check_nodes(&a, txn, &rep->nodes)))
        goto out;

    char msg[LL_MSG_MAX];
    int cerr = ll_audit_checkpoint(txn, origin, note_pub, &rep->cp_size, msg, sizeof msg);
    if (cerr == LL_ERR_CORRUPT && atomic_load(&a.best) == LL_AUDIT_NO_SEQ) {
        /* The tree is internally consistent but not the one the server
         * signed: rewritten as a whole, so no single entry is to blame. */
        rep->damaged = 1;
        snprintf(rep->what, sizeof rep->what, "%s", msg);
    } else if (cerr && cerr != LL_ERR_CORRUPT) {
        err = cerr;
        goto out;
    }
    if (atomic_load(&a.best) != LL_AUDIT_NO_SEQ) {
        rep->damaged = 1;
        rep->first_bad_seq = atomic_load(&a.best);
        snprintf(rep->what, sizeof rep->what, "%s", a.what);
    }
    err = LL_OK;
out:
    rep->signatures = atomic_load(&a.sigs);
    rep->leaf_bytes = atomic_load(&a.bytes);
    rep->seconds = now_s() - t0;
    ll_store_abort(txn);
    free(a.bad0);
    pthread_mutex_destroy(&a.lock);
    return err;
}
