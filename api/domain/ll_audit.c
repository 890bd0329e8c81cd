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
#include "ll_dsse.h"
#include "ll_entry.h"
#include "ll_err.h"
#include "ll_merkle.h"
#include "ll_note.h"
#include "ll_trust.h"

#define BLOCK 32 /* items a worker takes at once */

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

/* ---- leaves and signatures ---- */

/* Work for the verifying threads: one signature, everything else about
 * its entry already checked by the producer. payload points into the
 * producer's read snapshot (the map), which outlives the workers. */
typedef struct item {
    uint64_t seq;
    const uint8_t *payload; /* NULL: re-check the entry whole (slow path) */
    size_t payload_len;
    uint8_t pub[LL_PUBKEY_LEN];
    uint8_t sig[LL_SIG_LEN];
} item_t;

/* Items travel in blocks of BLOCK through a ring of RING_BLOCKS blocks, so
 * the producer (replay, hashing) can run up to RING_BLOCKS * BLOCK entries
 * ahead of the verifiers and finish its sequential work (the derived-table
 * comparison, the node pass) while they still verify. */
#define RING_BLOCKS 2048

typedef struct audit {
    ll_store_t *st;
    uint64_t size;
    _Atomic uint64_t best;     /* lowest damaged seq found so far */
    int best_rank;             /* of the finding kept for it (found_rank) */
    _Atomic uint64_t sigs;
    uint64_t bytes;            /* producer only */
    pthread_mutex_t lock;      /* guards what, err and the queue below */
    char what[320];
    int err;                   /* a store error that stopped a worker */
    /* the queue */
    item_t *ring;              /* RING_BLOCKS * BLOCK items */
    uint64_t produced;         /* items published (whole blocks but the last) */
    uint64_t claimed;          /* items taken by workers */
    uint64_t *block_done;      /* [b % RING_BLOCKS] = b + 1 once block b is verified */
    int eof;                   /* no more items */
    pthread_cond_t more, room;
} audit_t;

/* Records a finding at seq. The report keeps the lowest seq; at equal
 * seqs an entry's own finding (rank 0: its leaf, envelope, key or
 * signature) explains more than a node's (rank 1), and among equals the
 * first recorded stands. Node findings may be recorded before a worker
 * reports a signature at the same seq, hence the rank. */
static void found_rank(audit_t *a, uint64_t seq, int rank, const char *what)
{
    pthread_mutex_lock(&a->lock);
    uint64_t best = atomic_load(&a->best);
    if (seq < best || (seq == best && rank < a->best_rank)) {
        atomic_store(&a->best, seq);
        a->best_rank = rank;
        snprintf(a->what, sizeof a->what, "%s", what);
    }
    pthread_mutex_unlock(&a->lock);
}

static void found(audit_t *a, uint64_t seq, const char *what)
{
    found_rank(a, seq, 0, what);
}

/* Does registration entry reg (a leaf) register pub? Only the kinds that
 * register keys today are interpreted; a registration of another kind
 * (added later) is accepted on the keys table's word. */
static int registers_key(ll_txn_t *txn, uint64_t reg, const uint8_t pub[LL_PUBKEY_LEN])
{
    const uint8_t *leaf, *env;
    size_t len, env_len;
    uint64_t s;
    int64_t t;
    ll_entry_t e;
    char msg[LL_MSG_MAX];
    if (ll_store_leaf(txn, reg, &leaf, &len) || ll_leaf_parse(leaf, len, &s, &t, &env, &env_len) ||
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

/* The last key record that checked out (registration and keyid), so that
 * an author's run of entries costs no re-reading of the registration. */
typedef struct keycache {
    uint64_t reg;
    uint8_t pub[LL_PUBKEY_LEN];
    uint8_t keyid[LL_HASH_LEN];
    int valid;
} keycache_t;

/* A stored tree node as the node pass has read it. */
typedef struct tnode {
    uint8_t hash[LL_HASH_LEN];
    uint8_t missing; /* absent or malformed */
    uint8_t bad;     /* failed its own check: its parent's mismatch is its fault */
} tnode_t;

/* ---- tree nodes (the producer, as the leaves go by) ---- */

/* Complete subtrees waiting for their right sibling, one per level: the
 * stored tree is walked like a Merkle frontier, so each node above the
 * leaves is read once and checked as soon as both its children are. */
typedef struct tree_walk {
    tnode_t pending[64];
    uint64_t checked;
} tree_walk_t;

/* Leaf seq's level-0 node n0 joins the walk: every node it completes,
 * node(L, i) for L >= 1, is checked against H(node(L-1, 2i), node(L-1,
 * 2i+1)). A node is blamed only when both children check out; otherwise
 * the child's own finding (deeper, so more precise) explains it. */
static void tree_push(audit_t *a, ll_txn_t *txn, tree_walk_t *w, uint64_t seq,
                      const tnode_t *n0)
{
    tnode_t cur = *n0;
    uint64_t i = seq;
    for (unsigned level = 0; level < 63; level++, i >>= 1) {
        if (!(i & 1)) {
            w->pending[level] = cur;
            return;
        }
        const tnode_t *l = &w->pending[level];
        unsigned up = level + 1;
        uint64_t p = i >> 1, first = p << up;
        tnode_t parent = {{0}, 0, 0};
        char why[200];
        w->checked++;
        if (ll_store_node(txn, up, p, parent.hash)) {
            parent.missing = parent.bad = 1;
            snprintf(why, sizeof why, "stored node %u/%llu (entries %llu..%llu) missing or malformed",
                     up, (unsigned long long)p, (unsigned long long)first,
                     (unsigned long long)(first + (1ULL << up) - 1));
            found_rank(a, first, 1, why);
        } else if (!(l->missing || l->bad || cur.missing || cur.bad)) {
            uint8_t want[LL_HASH_LEN];
            ll_merkle_node_hash(l->hash, cur.hash, want);
            if (!ll_ct_equal(want, parent.hash, LL_HASH_LEN)) {
                parent.bad = 1;
                snprintf(why, sizeof why,
                         "stored node %u/%llu (entries %llu..%llu) does not match its children: "
                         "the node was altered",
                         up, (unsigned long long)p, (unsigned long long)first,
                         (unsigned long long)(first + (1ULL << up) - 1));
                found_rank(a, first, 1, why);
            }
        }
        cur = parent;
    }
}

/* Where the payload's bytes sit in the envelope e was decoded from: its
 * first field (ll_pbcheck accepted only the canonical encoding, fields in
 * number order). NULL if not found there, which sends the entry down the
 * slow path rather than trusting a guess. */
static const uint8_t *payload_in_env(const ll_entry_t *e)
{
    const uint8_t *p = e->raw_env, *end = e->raw_env + e->raw_env_len;
    uint64_t n;
    if (p == end || *p++ != 0x0a || ll_get_varint(&p, end, &n) || n != e->env->payload.len ||
        n > (uint64_t)(end - p))
        return NULL;
    return p;
}

/* Every check of entry seq but its signature, in the order the report has
 * always used, so the first failure names the same cause. On damage fills
 * why and returns 1 (nothing to free). Else returns 0 with the decoded
 * entry in *e (the caller frees it), its server time in *t, and it's
 * signature's work in *it. */
static int check_leaf(audit_t *a, ll_txn_t *txn, uint64_t seq, keycache_t *kc, ll_entry_t *e,
                      int64_t *t, item_t *it, tnode_t *n0, char *why, size_t cap)
{
    const uint8_t *leaf, *env;
    size_t len, env_len;
    uint8_t lh[LL_HASH_LEN];
    uint64_t s, key_seq;
    ll_trust_key_t k;
    char msg[LL_MSG_MAX];
    int err;

    n0->bad = 0;
    if ((err = ll_store_leaf(txn, seq, &leaf, &len))) {
        /* The node above stands on its own: the tree pass still checks it. */
        n0->missing = ll_store_node(txn, 0, seq, n0->hash) != LL_OK;
        snprintf(why, cap, "leaf missing (%s)", ll_strerror(err));
        return 1;
    }
    a->bytes += len;
    ll_merkle_leaf_hash(leaf, len, lh);
    err = ll_store_node(txn, 0, seq, n0->hash);
    n0->missing = err != LL_OK;
    if (err || !ll_ct_equal(lh, n0->hash, LL_HASH_LEN)) {
        n0->bad = 1;
        snprintf(why, cap, err ? "stored leaf hash (node 0/%llu) missing or malformed"
                               : "leaf bytes do not match the stored leaf hash (node 0/%llu): "
                                 "the leaf or its hash was altered",
                 (unsigned long long)seq);
        return 1;
    }
    if (ll_leaf_parse(leaf, len, &s, t, &env, &env_len) || s != seq) {
        snprintf(why, cap, "leaf is not a LogEntry for this sequence number");
        return 1;
    }
    if (ll_entry_decode(env, env_len, e, msg, sizeof msg)) {
        snprintf(why, cap, "envelope no longer decodes: %s", msg);
        return 1;
    }
    if ((err = ll_trust_signer_key_seq(txn, seq, &key_seq))) {
        snprintf(why, cap, "signer key record (index) missing or malformed");
        goto bad;
    }
    if (ll_trust_key(txn, e->keyid, &k)) {
        snprintf(why, cap, "no key record for the signing keyid");
        goto bad;
    }
    const uint8_t *pub = k.pub;
    uint64_t reg = k.reg_seq;
    if (k.actor_len != strlen(e->body->author) || memcmp(k.actor, e->body->author, k.actor_len)) {
        snprintf(why, cap, "signing key is not registered to author \"%s\"", e->body->author);
        goto bad;
    }
    if (reg != key_seq || (reg >= seq && !(seq == 0 && reg == 0))) {
        snprintf(why, cap, "signing key registered at #%llu, but the entry records #%llu",
                 (unsigned long long)reg, (unsigned long long)key_seq);
        goto bad;
    }
    int cached = kc->valid && kc->reg == reg && !memcmp(kc->pub, pub, LL_PUBKEY_LEN);
    uint8_t keyid[LL_HASH_LEN];
    if (cached)
        memcpy(keyid, kc->keyid, LL_HASH_LEN);
    else
        ll_sha256(pub, LL_PUBKEY_LEN, keyid);
    if (!ll_ct_equal(keyid, e->keyid, LL_HASH_LEN)) {
        snprintf(why, cap, "the key record for this keyid holds a different public key");
        goto bad;
    }
    if (!cached) {
        if (!registers_key(txn, reg, pub)) {
            snprintf(why, cap, "the key record differs from the key registered by entry #%llu",
                     (unsigned long long)reg);
            goto bad;
        }
        kc->reg = reg;
        memcpy(kc->pub, pub, LL_PUBKEY_LEN);
        memcpy(kc->keyid, keyid, LL_HASH_LEN);
        kc->valid = 1;
    }
    it->seq = seq;
    it->payload = payload_in_env(e);
    it->payload_len = e->env->payload.len;
    memcpy(it->pub, pub, LL_PUBKEY_LEN);
    memcpy(it->sig, e->sig, LL_SIG_LEN);
    return 0;
bad:
    ll_entry_free(e);
    return 1;
}

/* Checks entry seq whole, signature included; on damage fills why and
 * returns 1. The slow path: for an entry whose signature failed (to word
 * the finding exactly) and when no worker thread could be started. */
static int check_entry(audit_t *a, ll_txn_t *txn, uint64_t seq, keycache_t *kc,
                       char *why, size_t cap)
{
    ll_entry_t e;
    int64_t t;
    item_t it;
    uint64_t bytes = a->bytes;
    tnode_t n0;
    int bad = check_leaf(a, txn, seq, kc, &e, &t, &it, &n0, why, cap);
    a->bytes = bytes; /* counted once, by the producer */
    if (bad)
        return 1;
    int err = ll_entry_verify(&e, it.pub);
    if (err)
        snprintf(why, cap, "signature does not verify against %s's key registered at #%llu (%s)",
                 e.body->author, (unsigned long long)kc->reg, ll_strerror(err));
    ll_entry_free(&e);
    return err != LL_OK;
}

/* One signature. The fast path verifies the payload bytes in the map; a
 * failure (or an entry without them) is checked again whole, so the
 * finding reads exactly as the one-pass check words it. */
static void verify_item(audit_t *a, ll_txn_t **txn, const item_t *it)
{
    char why[300];
    if (it->payload &&
        ll_dsse_verify(it->pub, LL_DSSE_PAYLOAD_TYPE, sizeof LL_DSSE_PAYLOAD_TYPE - 1, it->payload,
                       it->payload_len, it->sig, LL_SIG_LEN) == LL_OK) {
        atomic_fetch_add(&a->sigs, 1);
        return;
    }
    int err = *txn ? LL_OK : ll_store_begin_read(a->st, txn);
    if (err) {
        pthread_mutex_lock(&a->lock);
        a->err = err;
        pthread_mutex_unlock(&a->lock);
        return;
    }
    keycache_t kc = {0};
    if (check_entry(a, *txn, it->seq, &kc, why, sizeof why))
        found(a, it->seq, why);
    else
        atomic_fetch_add(&a->sigs, 1);
}

static void *worker(void *arg)
{
    audit_t *a = arg;
    ll_txn_t *txn = NULL; /* opened for the slow path only */
    pthread_mutex_lock(&a->lock);
    for (;;) {
        while (a->claimed == a->produced && !a->eof)
            pthread_cond_wait(&a->more, &a->lock);
        if (a->claimed == a->produced)
            break;
        /* Whole blocks (the producer publishes no less, but at the end). */
        uint64_t first = a->claimed, block = first / BLOCK;
        uint64_t last = (block + 1) * BLOCK < a->produced ? (block + 1) * BLOCK : a->produced;
        a->claimed = last;
        pthread_mutex_unlock(&a->lock);
        for (uint64_t i = first; i < last; i++)
            verify_item(a, &txn, &a->ring[i % (RING_BLOCKS * BLOCK)]);
        pthread_mutex_lock(&a->lock);
        a->block_done[block % RING_BLOCKS] = block + 1;
        pthread_cond_broadcast(&a->room);
    }
    pthread_mutex_unlock(&a->lock);
    ll_store_abort(txn);
    return NULL;
}

/* Publishes the items made so far to the workers. */
static void publish(audit_t *a, uint64_t n)
{
    pthread_mutex_lock(&a->lock);
    a->produced = n;
    pthread_cond_broadcast(&a->more);
    pthread_mutex_unlock(&a->lock);
}

/* The slot for item n, once the block that last used it is verified. */
static item_t *slot(audit_t *a, uint64_t n)
{
    uint64_t block = n / BLOCK;
    if (n % BLOCK == 0 && block >= RING_BLOCKS) {
        pthread_mutex_lock(&a->lock);
        while (a->block_done[block % RING_BLOCKS] != block - RING_BLOCKS + 1)
            pthread_cond_wait(&a->room, &a->lock);
        pthread_mutex_unlock(&a->lock);
    }
    return &a->ring[n % (RING_BLOCKS * BLOCK)];
}

/* The producer, on the calling thread: every leaf in order, checked but
 * for its signature, shown to the visitor, then queued for the workers
 * (or verified here when there are none). */
static void produce(audit_t *a, ll_txn_t *txn, const ll_audit_visitor_t *v, int workers,
                    uint64_t *nodes)
{
    keycache_t kc = {0};
    tree_walk_t tw = {0};
    char why[300];
    uint64_t n = 0;
    int visiting = v && v->entry;
    for (uint64_t seq = 0; seq < a->size; seq++) {
        ll_entry_t e;
        int64_t t;
        item_t *it = workers ? slot(a, n) : &(item_t){0};
        tnode_t n0;
        /* Every entry is checked even after damage is found: the node
         * pass needs to know every bad leaf hash, and the counts say how
         * much of the ledger is intact. */
        int bad = check_leaf(a, txn, seq, &kc, &e, &t, it, &n0, why, sizeof why);
        if (bad)
            found(a, seq, why);
        tree_push(a, txn, &tw, seq, &n0);
        if (bad) {
            visiting = 0; /* the replay after a damaged entry means nothing */
            continue;
        }
        if (visiting && v->entry(v->ctx, seq, t, &e))
            visiting = 0;
        ll_entry_free(&e);
        if (!workers) {
            ll_txn_t *own = NULL;
            verify_item(a, &own, it);
            ll_store_abort(own);
        } else if (++n % BLOCK == 0) {
            publish(a, n);
        }
    }
    if (workers) {
        pthread_mutex_lock(&a->lock);
        a->produced = n;
        a->eof = 1;
        pthread_cond_broadcast(&a->more);
        pthread_mutex_unlock(&a->lock);
    }
    *nodes = tw.checked;
    if (v && v->done)
        v->done(v->ctx, txn, visiting);
}

int ll_audit_run(ll_store_t *st, const uint8_t note_pub[LL_PUBKEY_LEN],
                 unsigned threads, ll_audit_report_t *rep)
{
    return ll_audit_run_visit(st, note_pub, threads, NULL, rep);
}

int ll_audit_run_visit(ll_store_t *st, const uint8_t note_pub[LL_PUBKEY_LEN], unsigned threads,
                       const ll_audit_visitor_t *visitor, ll_audit_report_t *rep)
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
    pthread_cond_init(&a.more, NULL);
    pthread_cond_init(&a.room, NULL);
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

    if (!(a.ring = malloc(RING_BLOCKS * BLOCK * sizeof *a.ring)) ||
        !(a.block_done = calloc(RING_BLOCKS, sizeof *a.block_done))) {
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
    /* The calling thread produces: it checks every leaf but its signature
     * and feeds the visitor (the derived-table replay) in sequence order,
     * then checks the tree nodes and the checkpoint, all while the
     * workers verify signatures, which are the cost that bounds the whole. */
    produce(&a, txn, visitor, started > 0, &rep->nodes);
    char msg[LL_MSG_MAX];
    int cerr = ll_audit_checkpoint(txn, origin, note_pub, &rep->cp_size, msg, sizeof msg);
    for (unsigned i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    if (a.err) {
        err = a.err;
        goto out;
    }
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
    rep->leaf_bytes = a.bytes;
    rep->seconds = now_s() - t0;
    ll_store_abort(txn);
    free(a.ring);
    free(a.block_done);
    pthread_cond_destroy(&a.more);
    pthread_cond_destroy(&a.room);
    pthread_mutex_destroy(&a.lock);
    return err;
}
