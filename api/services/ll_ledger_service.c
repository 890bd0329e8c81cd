/*
 * loopledger.v1.LedgerService over the ledger (ll_services.h).
 *
 * Reads run on the RPC threads in their own LMDB read transactions, so they
 * never wait for the writer. Append hands the envelope to the ledger and
 * answers from the writer thread once the batch is durable (or, for an
 * append alone in flight, writes it on this thread: LL_SUBMIT_INLINE).
 *
 * Watch keeps one send in flight per stream. When a stream has caught up it
 * parks on the service's list. The ledger's commit hook runs on the writer
 * thread and, when a stream is parked, only publishes that there is a new
 * size (one flag, its own lock): the fan-out thread then unparks every
 * parked stream and starts
 * its next send, so appends do not slow down with the number of watchers.
 * Parking re-checks the committed size under the lock the fan-out thread
 * takes to collect the parked list, and the size is published before the
 * hook runs, so no commit is missed.
 *
 * Watch calls live on the server's background queue (ll_server_set_
 * background), whose thread runs at nice +10 like the fan-out thread: a
 * completed send continues its stream right there. So Watch reads, sends
 * and completions all run below the RPC threads and the writer, and
 * Append's own work (verify, commit, reply) is not queued behind theirs.
 */
#include <inttypes.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ll_entry.h"
#include "ll_err.h"
#include "ll_gov.h"
#include "ll_loop.h"
#include "ll_nodecache.h"
#include "ll_query.h"
#include "ll_record.h"
#include "ll_services.h"
#include "loopledger/v1/ledger.pb-c.h"
#include "ll_trust.h"

#define LIST_DEFAULT 100
#define LIST_MAX 1000
/* A page also stops at this many bytes of leaves (at least one entry is
 * always returned): 1 MB entries would otherwise make the default page
 * 100 MB, over the send limit, and 1000 of them a gigabyte per caller. */
#define LIST_MAX_BYTES (4u << 20)

typedef struct watch watch_t;

/* Encoded WatchResponses of recent entries, shared by every stream that
 * sends them: after a commit thousands of caught-up streams send the same
 * entry, and each would otherwise open a read transaction, copy the leaf
 * and encode it again. Small messages only, so the cache stays small. */
#define WATCH_CACHE 32
#define WATCH_CACHE_MAX_BYTES (64u << 10)
typedef struct watch_cached {
    uint64_t seq;
    int used;
    grpc_slice msg;
} watch_cached_t;

struct ll_ledger_service {
    ll_ledger_t *lg;
    ll_store_t *st;
    pthread_mutex_t lock;
    watch_t *parked; /* caught-up streams waiting for a commit */
    watch_t *all;    /* every live stream, for stop */
    int stopped;
    ll_nodecache_t *nc; /* upper tree levels for proofs (ll_nodecache.h) */
    /* Fan-out: the writer sets fan_pending; the fan-out thread feeds the
     * parked watchers. fan_lock is never held with lock by the writer. */
    pthread_mutex_t fan_lock;
    pthread_cond_t fan_cond;
    int fan_pending, fan_stop;
    /* Set by stop; fan_drained once the thread is between rounds after it,
     * so that no round still touches a call once the server is shut down
     * (later rounds find no parked stream: stop ended them). */
    int fan_closed, fan_drained;
    pthread_t fanout;
    pthread_mutex_t cache_lock;
    watch_cached_t cache[WATCH_CACHE];
};

struct watch {
    ll_ledger_service_t *svc;
    ll_call_t *call;
    uint64_t next;
    watch_t *pnext;            /* parked list */
    watch_t *anext, **aprev;   /* all list */
    int parked, done;
};

/* ---- Append ---- */

static void append_done(void *ctx, const ll_append_result_t *res)
{
    ll_call_t *call = ctx;
    if (res->err) {
        ll_svc_fail(call, res->err, "%s", res->msg);
        return;
    }
    Loopledger__V1__AppendResponse r = LOOPLEDGER__V1__APPEND_RESPONSE__INIT;
    Loopledger__V1__AppendEffect eff[LL_EFFECTS_MAX], *effp[LL_EFFECTS_MAX];
    r.seq = res->seq;
    r.server_time_unix_nanos = res->time_ns;
    if (!res->validate_only) {
        r.leaf_hash.data = (uint8_t *)res->leaf_hash;
        r.leaf_hash.len = LL_HASH_LEN;
    }
    r.duplicate = res->duplicate;
    r.validate_only = res->validate_only;
    r.status = (Loopledger__V1__ApprovalStatus)res->status;
    for (unsigned i = 0; i < res->effects.n && i < LL_EFFECTS_MAX; i++) {
        const ll_effect_t *e = &res->effects.e[i];
        loopledger__v1__append_effect__init(&eff[i]);
        eff[i].type = (Loopledger__V1__AppendEffect__Type)e->type;
        eff[i].seq = e->seq;
        eff[i].policy_seq = e->policy_seq;
        eff[i].level = (Loopledger__V1__HitlLevel)e->level;
        eff[i].approvals = e->approvals;
        eff[i].approvals_required = e->required;
        eff[i].description = (char *)e->text;
        effp[i] = &eff[i];
    }
    r.n_effects = res->effects.n;
    r.effects = effp;
    /* Borrowed from the job for the duration of this callback. */
    r.effective = (Loopledger__V1__EntryBody *)res->effective;
    ll_svc_reply(call, &r.base);
}

LL_SVC_HANDLER(ll_ledger_service_append)
{
    /* Not a query: the envelope's bytes go to the ledger as received (the
     * author signed them; they are never re-encoded), and the answer comes
     * once the batch is durable: from the writer thread, or from this one
     * when the append was alone (LL_SUBMIT_INLINE). */
    ll_ledger_service_t *ls = svc;
    const uint8_t *env;
    size_t env_len;
    int validate_only;
    /* The envelope is borrowed from the request as received (never
     * re-encoded), and validate_only read beside it: the request is not
     * unpacked (that would decode the envelope a second time). */
    if (ll_entry_read_append_request(req, len, &env, &env_len, &validate_only)) {
        ll_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT,
                     "AppendRequest is malformed or has no envelope");
        return;
    }
    /* Inline: one caller at a time is answered from this thread without a
     * hand-off to the writer; under load the writer batches as before. */
    unsigned flags = LL_SUBMIT_INLINE | (validate_only ? LL_SUBMIT_VALIDATE_ONLY : 0);
    ll_ledger_submit_opts(ls->lg, env, env_len, ll_call_identity(call), flags, append_done,
                          call);
}

/* ---- GetEntry / ListEntries ---- */

/* A stored leaf or node that the size says exists but cannot be read is
 * damage, not a missing item. */
static int stored(int err)
{
    return err == LL_ERR_NOT_FOUND ? LL_ERR_CORRUPT : err;
}

/* protobuf-c unpacking into the request's arena (freed with the reply). */
static void *arena_pb_alloc(void *data, size_t n)
{
    return ll_arena_alloc(data, n);
}

static void arena_pb_free(void *data, void *p)
{
    (void)data;
    (void)p;
}

LL_SVC_QUERY(ll_ledger_service_get_entry)
{
    (void)ctx;
    const Loopledger__V1__GetEntryRequest *r = (const void *)req;
    uint64_t size = ll_store_size(txn);
    const uint8_t *leaf;
    size_t leaf_len;
    int err;
    if (r->seq >= size) {
        snprintf(msg, cap, "entry %" PRIu64 " does not exist (the ledger has %" PRIu64 " entries)",
                 r->seq, size);
        return LL_ERR_NOT_FOUND;
    }
    if ((err = ll_store_leaf(txn, r->seq, &leaf, &leaf_len))) {
        snprintf(msg, cap, "reading entry %" PRIu64 ": %s", r->seq, ll_strerror(err));
        return stored(err);
    }
    Loopledger__V1__GetEntryResponse *out = ll_arena_alloc(a, sizeof *out);
    if (!out)
        return LL_ERR_NOMEM;
    loopledger__v1__get_entry_response__init(out);
    out->leaf.data = (uint8_t *)leaf; /* in txn's snapshot, valid until the reply */
    out->leaf.len = leaf_len;
    ll_trust_signer_key_seq(txn, r->seq, &out->signer_key_seq);
    out->status = (Loopledger__V1__ApprovalStatus)ll_index_status(txn, r->seq);
    if (ll_index_superseded_by(txn, r->seq, &out->superseded_by) != LL_OK)
        out->superseded_by = 0;
    if (ll_record_is_patched(txn, r->seq)) {
        /* Unpacked into the arena: freed with the reply. */
        ProtobufCAllocator pa = {arena_pb_alloc, arena_pb_free, a};
        if ((err = ll_record_load(txn, r->seq, &out->effective, NULL, &pa))) {
            snprintf(msg, cap, "reading the effective record of #%" PRIu64 ": %s", r->seq,
                     ll_strerror(err));
            return stored(err);
        }
    }
    if (ll_record_followed_by(txn, r->seq, size, &out->updated_by) != LL_OK)
        out->updated_by = 0;
    *resp = &out->base;
    return LL_OK;
}

static int parse_token(const char *tok, uint64_t *out)
{
    char *end;
    if (tok[0] < '0' || tok[0] > '9')
        return LL_ERR_INVALID;
    unsigned long long v = strtoull(tok, &end, 10);
    if (*end)
        return LL_ERR_INVALID;
    *out = v;
    return LL_OK;
}

LL_SVC_QUERY(ll_ledger_service_list_entries)
{
    (void)ctx;
    const Loopledger__V1__ListEntriesRequest *r = (const void *)req;
    uint64_t from = r->from_seq;
    int err;
    if (r->page_token[0] && parse_token(r->page_token, &from)) {
        snprintf(msg, cap, "page_token is not one this server issued");
        return LL_ERR_INVALID;
    }
    if (r->page_size > LIST_MAX) {
        snprintf(msg, cap, "page_size %u exceeds the limit of %d", r->page_size, LIST_MAX);
        return LL_ERR_INVALID;
    }
    uint64_t size = ll_store_size(txn);
    uint64_t to = r->to_seq ? r->to_seq : size;
    if (to > size)
        to = size;
    if (r->to_seq && r->to_seq < r->from_seq) {
        snprintf(msg, cap, "to_seq %" PRIu64 " is before from_seq %" PRIu64, r->to_seq,
                 r->from_seq);
        return LL_ERR_INVALID;
    }
    unsigned page = r->page_size ? r->page_size : LIST_DEFAULT;
    int filtered = r->initiative[0] || r->kind || r->author[0] || r->from_time_unix_nanos ||
                   r->to_time_unix_nanos;
    uint64_t next = UINT64_MAX, *seqs = NULL;
    size_t n;
    if (filtered) {
        if (!(seqs = ll_arena_alloc(a, page * sizeof *seqs)))
            return LL_ERR_NOMEM;
        if ((err = ll_query_list(txn, r, from, to, page, seqs, &n, &next, msg, cap)))
            return err;
    } else {
        uint64_t end = from < to ? (to - from > page ? from + page : to) : from;
        n = from < end ? (size_t)(end - from) : 0;
        if (end < to)
            next = end;
    }
    Loopledger__V1__ListEntriesResponse *out = ll_arena_alloc(a, sizeof *out);
    ProtobufCBinaryData *leaves = ll_arena_alloc(a, (n ? n : 1) * sizeof *leaves);
    uint64_t *sup = ll_arena_alloc(a, (n ? n : 1) * sizeof *sup);
    Loopledger__V1__ApprovalStatus *stat = ll_arena_alloc(a, (n ? n : 1) * sizeof *stat);
    char *token = ll_arena_alloc(a, 24);
    if (!out || !leaves || !sup || !stat || !token)
        return LL_ERR_NOMEM;
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *leaf;
        size_t ll;
        uint64_t seq = filtered ? seqs[i] : from + i;
        if ((err = ll_store_leaf(txn, seq, &leaf, &ll))) {
            snprintf(msg, cap, "reading entry %" PRIu64 ": %s", seq, ll_strerror(err));
            return LL_ERR_CORRUPT;
        }
        if (i > 0 && bytes + ll > LIST_MAX_BYTES) {
            /* Page full by size: the rest comes with the token. */
            n = i;
            next = seq;
            break;
        }
        bytes += ll;
        leaves[i].data = (uint8_t *)leaf;
        leaves[i].len = ll;
        if (ll_index_superseded_by(txn, seq, &sup[i]) != LL_OK)
            sup[i] = 0;
        stat[i] = (Loopledger__V1__ApprovalStatus)ll_index_status(txn, seq);
    }
    loopledger__v1__list_entries_response__init(out);
    out->n_leaves = n;
    out->leaves = leaves;
    out->n_superseded_by = n;
    out->superseded_by = sup;
    out->n_status = n;
    out->status = stat;
    if (next != UINT64_MAX) {
        snprintf(token, 24, "%" PRIu64, next);
        out->next_page_token = token;
    }
    *resp = &out->base;
    return LL_OK;
}

/* ---- checkpoints and proofs ---- */

LL_SVC_QUERY(ll_ledger_service_get_checkpoint)
{
    ll_ledger_service_t *ls = ctx;
    const Loopledger__V1__GetCheckpointRequest *r = (const void *)req;
    Loopledger__V1__GetCheckpointResponse *out = ll_arena_alloc(a, sizeof *out);
    char *note = ll_arena_alloc(a, LL_NOTE_MAX);
    uint8_t *root = ll_arena_alloc(a, LL_HASH_LEN);
    size_t note_len;
    uint64_t size;
    const ll_cp_source_t *src = ll_ledger_cp_source(ls->lg);
    uint64_t want = r->tree_size;
    int err;
    if (!out || !note || !root)
        return LL_ERR_NOMEM;
    if (r->cosigned) {
        /* The newest checkpoint that witnesses cosigned, whatever the size
         * asked for: what a client needs to check a quorum. */
        want = src && src->latest ? src->latest(src->ctx) : 0;
        if (!want) {
            snprintf(msg, cap, "no witness has cosigned a checkpoint of this ledger yet "
                               "(loopledgerd --witness URL=VKEY configures witnesses)");
            return LL_ERR_PRECONDITION;
        }
    }
    /* A mirror serves the primary's signed notes; it cannot sign. */
    err = src && src->checkpoint
              ? src->checkpoint(src->ctx, want, note, LL_NOTE_MAX, &note_len, &size, root)
              : ll_ledger_checkpoint(ls->lg, txn, want, note, LL_NOTE_MAX, &note_len, &size,
                                     root);
    if (err == LL_ERR_RANGE) {
        snprintf(msg, cap, "tree_size %" PRIu64 " is beyond the ledger's size %" PRIu64,
                 r->tree_size, ll_store_size(txn));
        return err;
    }
    if (err) {
        snprintf(msg, cap, "checkpoint: %s", ll_strerror(err));
        return err;
    }
    if (src && src->lines && src->lines(src->ctx, size, note, LL_NOTE_MAX) < 0) {
        snprintf(msg, cap, "checkpoint with cosignatures too large");
        return LL_ERR_BUFFER;
    }
    loopledger__v1__get_checkpoint_response__init(out);
    out->checkpoint = note;
    out->tree_size = size;
    out->root_hash.data = root;
    out->root_hash.len = LL_HASH_LEN;
    *resp = &out->base;
    return LL_OK;
}

/* Proof hashes in the arena, as the repeated bytes field points at them. */
static ProtobufCBinaryData *proof_hashes(ll_arena_t *a, uint8_t (*proof)[LL_HASH_LEN],
                                         size_t count)
{
    ProtobufCBinaryData *h = ll_arena_alloc(a, (count ? count : 1) * sizeof *h);
    uint8_t *copy = ll_arena_alloc(a, (count ? count : 1) * LL_HASH_LEN);
    if (!h || !copy)
        return NULL;
    for (size_t i = 0; i < count; i++) {
        memcpy(copy + i * LL_HASH_LEN, proof[i], LL_HASH_LEN);
        h[i].data = copy + i * LL_HASH_LEN;
        h[i].len = LL_HASH_LEN;
    }
    return h;
}

LL_SVC_QUERY(ll_ledger_service_get_inclusion)
{
    ll_ledger_service_t *ls = ctx;
    const Loopledger__V1__GetInclusionProofRequest *r = (const void *)req;
    uint64_t size = ll_store_size(txn);
    uint64_t tree = r->tree_size ? r->tree_size : size;
    if (tree > size || r->seq >= tree) {
        snprintf(msg, cap,
                 "need seq < tree_size <= ledger size; got seq %" PRIu64 ", tree_size %" PRIu64
                 ", ledger size %" PRIu64, r->seq, tree, size);
        return LL_ERR_RANGE;
    }
    uint8_t proof[LL_MERKLE_MAX_PROOF][LL_HASH_LEN];
    Loopledger__V1__GetInclusionProofResponse *out = ll_arena_alloc(a, sizeof *out);
    uint8_t *hashes = ll_arena_alloc(a, 2 * LL_HASH_LEN); /* leaf hash, root */
    size_t count;
    int err;
    if (!out || !hashes)
        return LL_ERR_NOMEM;
    ll_nodecache_read_t nr = {ls->nc, txn};
    ll_merkle_edge_t edge; /* the tree's right edge: no hashing per proof */
    if ((err = ll_nodecache_edge(&nr, tree, &edge)) ||
        (err = ll_merkle_inclusion_proof_edge(ll_nodecache_node_fn, &nr, &edge, r->seq, proof,
                                              &count)) ||
        (err = ll_store_node(txn, 0, r->seq, hashes))) {
        snprintf(msg, cap, "inclusion proof: %s", ll_strerror(err));
        return stored(err);
    }
    loopledger__v1__get_inclusion_proof_response__init(out);
    if (!(out->hashes = proof_hashes(a, proof, count)))
        return LL_ERR_NOMEM;
    out->seq = r->seq;
    out->tree_size = tree;
    out->n_hashes = count;
    ll_merkle_edge_root(&edge, hashes + LL_HASH_LEN);
    out->leaf_hash.data = hashes;
    out->leaf_hash.len = LL_HASH_LEN;
    out->root_hash.data = hashes + LL_HASH_LEN;
    out->root_hash.len = LL_HASH_LEN;
    *resp = &out->base;
    return LL_OK;
}

LL_SVC_QUERY(ll_ledger_service_get_consistency)
{
    ll_ledger_service_t *ls = ctx;
    const Loopledger__V1__GetConsistencyProofRequest *r = (const void *)req;
    uint64_t size = ll_store_size(txn);
    uint64_t new_size = r->new_size ? r->new_size : size;
    if (r->old_size == 0 || r->old_size > new_size || new_size > size) {
        snprintf(msg, cap,
                 "need 0 < old_size <= new_size <= ledger size; got %" PRIu64 ", %" PRIu64
                 ", ledger size %" PRIu64, r->old_size, new_size, size);
        return LL_ERR_RANGE;
    }
    uint8_t proof[LL_MERKLE_MAX_PROOF][LL_HASH_LEN];
    Loopledger__V1__GetConsistencyProofResponse *out = ll_arena_alloc(a, sizeof *out);
    uint8_t *roots = ll_arena_alloc(a, 2 * LL_HASH_LEN); /* old, new */
    size_t count;
    int err;
    if (!out || !roots)
        return LL_ERR_NOMEM;
    ll_nodecache_read_t nr = {ls->nc, txn};
    ll_merkle_edge_t edge;
    if ((err = ll_nodecache_edge(&nr, new_size, &edge)) ||
        (err = ll_merkle_consistency_proof_edge(ll_nodecache_node_fn, &nr, &edge, r->old_size,
                                                proof, &count)) ||
        (err = ll_merkle_root(ll_nodecache_node_fn, &nr, r->old_size, roots))) {
        snprintf(msg, cap, "consistency proof: %s", ll_strerror(err));
        return stored(err);
    }
    ll_merkle_edge_root(&edge, roots + LL_HASH_LEN);
    loopledger__v1__get_consistency_proof_response__init(out);
    if (!(out->hashes = proof_hashes(a, proof, count)))
        return LL_ERR_NOMEM;
    out->old_size = r->old_size;
    out->new_size = new_size;
    out->n_hashes = count;
    out->old_root.data = roots;
    out->old_root.len = LL_HASH_LEN;
    out->new_root.data = roots + LL_HASH_LEN;
    out->new_root.len = LL_HASH_LEN;
    *resp = &out->base;
    return LL_OK;
}

/* ---- Watch ---- */

static void watch_pump(watch_t *w);

static void watch_release(watch_t *w)
{
    /* Called with svc->lock held, once the stream is finished. */
    if (w->aprev) {
        *w->aprev = w->anext;
        if (w->anext)
            w->anext->aprev = w->aprev;
        w->aprev = NULL;
    }
}

static void watch_end(watch_t *w, int err, const char *msg)
{
    ll_ledger_service_t *svc = w->svc;
    pthread_mutex_lock(&svc->lock);
    int first = !w->done;
    w->done = 1;
    watch_release(w);
    pthread_mutex_unlock(&svc->lock);
    /* w itself is freed with the call (ll_call_set_data). */
    if (first)
        ll_svc_finish(w->call, err, msg);
}

static void watch_sent(ll_call_t *call, int ok, void *arg)
{
    (void)call;
    watch_t *w = arg;
    if (!ok) {
        watch_end(w, LL_ERR_CANCELLED, "stream broken");
        return;
    }
    w->next++;
    /* On the background queue's thread (see the top): continue here. */
    watch_pump(w);
}

static void watch_pump(watch_t *w)
{
    ll_ledger_service_t *svc = w->svc;
    pthread_mutex_lock(&svc->lock);
    if (w->done || svc->stopped) {
        int stop = !w->done && svc->stopped;
        pthread_mutex_unlock(&svc->lock);
        if (stop)
            watch_end(w, LL_ERR_UNAVAILABLE, "server is shutting down");
        return;
    }
    if (w->next >= ll_store_committed_size(svc->st)) {
        w->parked = 1;
        w->pnext = svc->parked;
        svc->parked = w;
        pthread_mutex_unlock(&svc->lock);
        return;
    }
    pthread_mutex_unlock(&svc->lock);

    watch_cached_t *slot = &svc->cache[w->next % WATCH_CACHE];
    pthread_mutex_lock(&svc->cache_lock);
    if (slot->used && slot->seq == w->next) {
        grpc_slice msg = grpc_slice_ref(slot->msg);
        pthread_mutex_unlock(&svc->cache_lock);
        ll_call_send_slice(w->call, msg, watch_sent, w);
        return;
    }
    pthread_mutex_unlock(&svc->cache_lock);

    ll_txn_t *txn = NULL;
    const uint8_t *leaf;
    size_t leaf_len;
    int err = ll_store_begin_read(svc->st, &txn);
    if (!err)
        err = ll_store_leaf(txn, w->next, &leaf, &leaf_len);
    if (err) {
        ll_store_abort(txn);
        watch_end(w, err, "reading entry for watch");
        return;
    }
    Loopledger__V1__WatchResponse resp = LOOPLEDGER__V1__WATCH_RESPONSE__INIT;
    resp.seq = w->next;
    resp.leaf.data = (uint8_t *)leaf;
    resp.leaf.len = leaf_len;
    resp.status = (Loopledger__V1__ApprovalStatus)ll_index_status(txn, w->next);
    size_t n = loopledger__v1__watch_response__get_packed_size(&resp);
    grpc_slice msg = grpc_slice_malloc(n);
    loopledger__v1__watch_response__pack(&resp, GRPC_SLICE_START_PTR(msg));
    ll_store_abort(txn);
    /* A pending entry's status changes when its approvals land, so only a
     * final status (effective or rejected) may be shared with later
     * streams; a pending one is read afresh for each. */
    if (n <= WATCH_CACHE_MAX_BYTES &&
        resp.status != LOOPLEDGER__V1__APPROVAL_STATUS__APPROVAL_STATUS_PENDING) {
        pthread_mutex_lock(&svc->cache_lock);
        if (slot->used)
            grpc_slice_unref(slot->msg);
        slot->seq = resp.seq;
        slot->msg = grpc_slice_ref(msg);
        slot->used = 1;
        pthread_mutex_unlock(&svc->cache_lock);
    }
    ll_call_send_slice(w->call, msg, watch_sent, w);
}

/* Writer thread: publish and return; O(1) whatever the watchers. */
static void on_commit(void *ctx, uint64_t size)
{
    (void)size;
    ll_ledger_service_t *svc = ctx;
    /* No parked stream, nothing to wake: waking the fan-out thread for
     * nothing cost a futex and two context switches per commit. A stream
     * that parks after this check re-checks the committed size, published
     * before this hook runs, under this same lock, so it sees this commit. */
    pthread_mutex_lock(&svc->lock);
    int parked = svc->parked != NULL;
    pthread_mutex_unlock(&svc->lock);
    if (!parked)
        return;
    pthread_mutex_lock(&svc->fan_lock);
    svc->fan_pending = 1;
    pthread_cond_broadcast(&svc->fan_cond);
    pthread_mutex_unlock(&svc->fan_lock);
}

static void *fanout_main(void *arg)
{
    ll_ledger_service_t *svc = arg;
    /* Below the RPC and writer threads: watchers get what is left. Best
     * effort; nothing depends on it for correctness. */
    setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10);
    pthread_mutex_lock(&svc->fan_lock);
    for (;;) {
        while (!svc->fan_pending && !svc->fan_stop &&
               !(svc->fan_closed && !svc->fan_drained))
            pthread_cond_wait(&svc->fan_cond, &svc->fan_lock);
        int closed = svc->fan_closed;
        int commit = svc->fan_pending;
        /* Commits that land while this round runs set the flag again; a
         * watcher fed here reads up to the newest size anyway. */
        svc->fan_pending = 0;
        int stop = svc->fan_stop;
        pthread_mutex_unlock(&svc->fan_lock);
        watch_t *list = NULL;
        if (commit) {
            pthread_mutex_lock(&svc->lock);
            list = svc->parked;
            svc->parked = NULL;
            for (watch_t *w = list; w; w = w->pnext)
                w->parked = 0;
            pthread_mutex_unlock(&svc->lock);
        }
        while (list) {
            watch_t *next = list->pnext;
            watch_pump(list);
            list = next;
        }
        pthread_mutex_lock(&svc->fan_lock);
        if (closed && !svc->fan_drained) {
            svc->fan_drained = 1;
            pthread_cond_broadcast(&svc->fan_cond);
        }
        if (stop) {
            pthread_mutex_unlock(&svc->fan_lock);
            return NULL;
        }
    }
}

static void watch_cancelled(ll_call_t *call, void *arg)
{
    (void)call;
    watch_t *w = arg;
    ll_ledger_service_t *svc = w->svc;
    pthread_mutex_lock(&svc->lock);
    if (!w->parked || w->done) {
        /* A send is in flight (its failure ends the stream) or it ended. */
        pthread_mutex_unlock(&svc->lock);
        return;
    }
    for (watch_t **p = &svc->parked; *p; p = &(*p)->pnext) {
        if (*p == w) {
            *p = w->pnext;
            break;
        }
    }
    w->parked = 0;
    pthread_mutex_unlock(&svc->lock);
    watch_end(w, LL_ERR_CANCELLED, "cancelled");
}

LL_SVC_HANDLER(ll_ledger_service_watch)
{
    ll_ledger_service_t *ls = svc;
    Loopledger__V1__WatchRequest *r = loopledger__v1__watch_request__unpack(NULL, len, req);
    if (!r) {
        ll_call_finish(call, GRPC_STATUS_INVALID_ARGUMENT, "malformed WatchRequest");
        return;
    }
    watch_t *w = calloc(1, sizeof *w);
    if (!w) {
        loopledger__v1__watch_request__free_unpacked(r, NULL);
        ll_svc_finish(call, LL_ERR_NOMEM, "out of memory");
        return;
    }
    ll_call_set_data(call, w, free);
    w->svc = ls;
    w->call = call;
    w->next = r->from_seq;
    loopledger__v1__watch_request__free_unpacked(r, NULL);
    pthread_mutex_lock(&ls->lock);
    if (ls->stopped) {
        pthread_mutex_unlock(&ls->lock);
        ll_svc_finish(call, LL_ERR_UNAVAILABLE, "server is shutting down");
        return;
    }
    w->anext = ls->all;
    if (ls->all)
        ls->all->aprev = &w->anext;
    w->aprev = &ls->all;
    ls->all = w;
    pthread_mutex_unlock(&ls->lock);
    ll_call_on_cancel(call, watch_cancelled, w);
    watch_pump(w);
}

void ll_ledger_service_stop(ll_ledger_service_t *svc)
{
    pthread_mutex_lock(&svc->lock);
    svc->stopped = 1;
    watch_t *list = svc->parked;
    svc->parked = NULL;
    for (watch_t *w = list; w; w = w->pnext)
        w->parked = 0;
    pthread_mutex_unlock(&svc->lock);
    while (list) {
        watch_t *next = list->pnext;
        watch_end(list, LL_ERR_UNAVAILABLE, "server is shutting down");
        list = next;
    }
    /* A stream with a send in flight ends when that send completes (on an
     * RPC thread: watch_pump sees stopped). Wait for a round in progress. */
    pthread_mutex_lock(&svc->fan_lock);
    svc->fan_closed = 1;
    pthread_cond_broadcast(&svc->fan_cond);
    while (!svc->fan_drained)
        pthread_cond_wait(&svc->fan_cond, &svc->fan_lock);
    pthread_mutex_unlock(&svc->fan_lock);
}

int ll_ledger_service_create(ll_ledger_t *lg, ll_ledger_service_t **out)
{
    ll_ledger_service_t *svc = calloc(1, sizeof *svc);
    if (!svc)
        return LL_ERR_NOMEM;
    svc->lg = lg;
    svc->st = ll_ledger_store(lg);
    /* Levels >= 4: ~4 MiB at 1M entries, saves 3/4 of a proof's reads. */
    if (ll_nodecache_create(4, &svc->nc)) {
        free(svc);
        return LL_ERR_NOMEM;
    }
    pthread_mutex_init(&svc->lock, NULL);
    pthread_mutex_init(&svc->fan_lock, NULL);
    pthread_mutex_init(&svc->cache_lock, NULL);
    pthread_cond_init(&svc->fan_cond, NULL);
    if (pthread_create(&svc->fanout, NULL, fanout_main, svc)) {
        pthread_cond_destroy(&svc->fan_cond);
        pthread_mutex_destroy(&svc->fan_lock);
        pthread_mutex_destroy(&svc->cache_lock);
        pthread_mutex_destroy(&svc->lock);
        ll_nodecache_free(svc->nc);
        free(svc);
        return LL_ERR_NOMEM;
    }
    ll_ledger_add_commit_hook(lg, on_commit, svc);
    *out = svc;
    return LL_OK;
}

void ll_ledger_service_free(ll_ledger_service_t *svc)
{
    if (!svc)
        return;
    ll_ledger_remove_commit_hook(svc->lg, on_commit, svc);
    pthread_mutex_lock(&svc->fan_lock);
    svc->fan_stop = 1;
    pthread_cond_broadcast(&svc->fan_cond);
    pthread_mutex_unlock(&svc->fan_lock);
    pthread_join(svc->fanout, NULL);
    pthread_cond_destroy(&svc->fan_cond);
    pthread_mutex_destroy(&svc->fan_lock);
    for (size_t i = 0; i < WATCH_CACHE; i++)
        if (svc->cache[i].used)
            grpc_slice_unref(svc->cache[i].msg);
    pthread_mutex_destroy(&svc->cache_lock);
    pthread_mutex_destroy(&svc->lock);
    ll_nodecache_free(svc->nc);
    free(svc);
}

unsigned ll_ledger_service_watches(ll_ledger_service_t *svc)
{
    unsigned n = 0;
    pthread_mutex_lock(&svc->lock);
    for (watch_t *w = svc->all; w; w = w->anext)
        n++;
    pthread_mutex_unlock(&svc->lock);
    return n;
}
