/*
 * ll_ledger: submission, verification and the trust rules (ll_ledger.h);
 * the writer thread is in ll_ledger_commit.c, mirrors in ll_ledger_mirror.c,
 * the synchronous append and the genesis entry in ll_ledger_sync.c
 * (ll_ledger_int.h says how they share the work).
 *
 * Records kept beside the log, in the same transaction as the leaf:
 *   dedup  SHA-256(PAE) -> seq u64 (big-endian)
 * plus the trust records (keys, actors, signer index: ll_trust.c) and the
 * index records (ll_index.h) the entry derives.
 */
#include "ll_ledger.h"
#include "ll_ledger_int.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ll_assert.h"
#include "ll_bytes.h"
#include "ll_clock.h"
#include "ll_derive.h"
#include "ll_entry.h"
#include "ll_experiment.h"
#include "ll_authz.h"
#include "ll_gov.h"
#include "ll_loop.h"
#include "ll_record.h"
#include "ll_trust.h"
#include "ll_err.h"



ll_store_t *ll_ledger_store(ll_ledger_t *lg)
{
    return lg->st;
}

const char *ll_ledger_origin(ll_ledger_t *lg)
{
    return lg->origin;
}

const char *ll_ledger_damage(ll_ledger_t *lg)
{
    return lg->refuse_writes ? lg->damage : NULL;
}

int ll_ledger_add_commit_hook(ll_ledger_t *lg, ll_commit_hook fn, void *ctx)
{
    int err = LL_ERR_FULL;
    pthread_mutex_lock(&lg->hook_lock);
    for (int i = 0; i < LL_LEDGER_MAX_HOOKS; i++) {
        if (!lg->hooks[i]) {
            lg->hooks[i] = fn;
            lg->hook_ctx[i] = ctx;
            err = LL_OK;
            break;
        }
    }
    pthread_mutex_unlock(&lg->hook_lock);
    return err;
}

void ll_ledger_remove_commit_hook(ll_ledger_t *lg, ll_commit_hook fn, void *ctx)
{
    pthread_mutex_lock(&lg->hook_lock);
    for (int i = 0; i < LL_LEDGER_MAX_HOOKS; i++) {
        if (lg->hooks[i] == fn && lg->hook_ctx[i] == ctx) {
            lg->hooks[i] = NULL;
            lg->hook_ctx[i] = NULL;
        }
    }
    pthread_mutex_unlock(&lg->hook_lock);
}

void ll_ledger_set_follow_up(ll_ledger_t *lg, ll_follow_up_fn fn, void *ctx)
{
    pthread_mutex_lock(&lg->hook_lock);
    lg->follow = fn;
    lg->follow_ctx = ctx;
    pthread_mutex_unlock(&lg->hook_lock);
}

int ll_ledger_verifier_key(ll_ledger_t *lg, char *out, size_t cap)
{
    uint8_t pub[LL_PUBKEY_LEN];
    ll_key_public(lg->note_key, pub);
    return ll_note_verifier_key(lg->origin, pub, out, cap);
}

/* May the author write this entry? The matrix (ll_authz), plus changing
 * one's own key, which every role but a bare auditor may do. */
static int authorize_kind(const Loopledger__V1__EntryBody *b, uint32_t roles, char *msg,
                          size_t cap)
{
    uint32_t kind = b->kind_case;
    const char *subject = kind == LOOPLEDGER__V1__ENTRY_BODY__KIND_KEY_ROTATION
                              ? b->key_rotation->actor_id
                          : kind == LOOPLEDGER__V1__ENTRY_BODY__KIND_REVOCATION
                              ? b->revocation->actor_id
                              : NULL;
    char have[80];
    if (ll_authz_may_author(roles, kind))
        return LL_OK;
    if (subject && !strcmp(subject, b->author) &&
        (roles & ~LL_ROLE_BIT(LOOPLEDGER__V1__ROLE__ROLE_AUDITOR)))
        return LL_OK;
    ll_authz_roles_text(roles, have);
    snprintf(msg, cap, "\"%s\" (%s) may not write %s entries", b->author, have,
             ll_entry_kind_name(b));
    return LL_ERR_PERMISSION;
}

/* ---- verification (submitting thread) ---- */

static int authenticate(ll_ledger_t *lg, const ll_entry_t *e, int64_t at, char *msg,
                        size_t cap)
{
    ll_txn_t *txn;
    ll_trust_key_t k;
    int err = ll_store_begin_read(lg->st, &txn);
    if (err) {
        snprintf(msg, cap, "cannot read ledger: %s", ll_strerror(err));
        return err;
    }
    err = ll_trust_key(txn, e->keyid, &k);
    if (err == LL_ERR_NOT_FOUND) {
        snprintf(msg, cap, "author \"%s\" has no registered key with keyid %s",
                 e->body->author, e->env->signatures[0]->keyid);
        err = LL_ERR_UNAUTHENTICATED;
        goto out;
    }
    if (err) {
        snprintf(msg, cap, "reading key: %s", ll_strerror(err));
        goto out;
    }
    if (k.actor_len != strlen(e->body->author) ||
        memcmp(k.actor, e->body->author, k.actor_len) != 0) {
        snprintf(msg, cap, "key %.16s... is registered to actor \"%.*s\", not to author \"%s\"",
                 e->env->signatures[0]->keyid, (int)k.actor_len, k.actor, e->body->author);
        err = LL_ERR_UNAUTHENTICATED;
        goto out;
    }
    if (k.revoked_at && at >= k.revoked_at) {
        snprintf(msg, cap, "key %.16s... of \"%s\" was revoked", e->env->signatures[0]->keyid,
                 e->body->author);
        err = LL_ERR_UNAUTHENTICATED;
        goto out;
    }
    err = ll_entry_verify(e, k.pub);
    if (err == LL_ERR_BAD_SIGNATURE)
        snprintf(msg, cap, "signature does not verify against the registered key of \"%s\"",
                 e->body->author);
    else if (err)
        snprintf(msg, cap, "verifying signature: %s", ll_strerror(err));
out:
    ll_store_abort(txn);
    return err;
}

/* An append counted in arriving (submitted, not yet queued or failed)
 * has left that state: the writer may be waiting for it (writer_main). */
static void arrived_locked(ll_ledger_t *lg)
{
    lg->arriving--;
    pthread_cond_signal(&lg->wake);
}

static void arrived(ll_ledger_t *lg)
{
    pthread_mutex_lock(&lg->lock);
    arrived_locked(lg);
    pthread_mutex_unlock(&lg->lock);
}

static void release_budget(ll_ledger_t *lg, size_t bytes)
{
    pthread_mutex_lock(&lg->lock);
    lg->inflight_n--;
    lg->inflight_bytes -= bytes;
    pthread_mutex_unlock(&lg->lock);
}

/* Frees what a job's entry owns (the decoded entry, a patch's record). */
static void job_release(ll_job_t *job)
{
    if (job->eff)
        loopledger__v1__entry_body__free_unpacked(job->eff, NULL);
    job->eff = NULL;
    ll_entry_free(&job->entry);
}

static void fail_job(ll_ledger_t *lg, ll_job_t *job, ll_append_cb cb, void *ctx)
{
    if (job->reserved)
        release_budget(lg, job->reserved);
    cb(ctx, &job->res);
    job_release(job);
    free(job->raw);
    free(job);
}

/* Queues job for the writer. With inline set, a job that is the only
 * append in flight while nothing is being written is written here, on the
 * caller's thread (LL_SUBMIT_INLINE). */
static void enqueue_opt(ll_ledger_t *lg, ll_job_t *job, int inline_ok, int was_arriving)
{
    uint64_t t = was_arriving ? (uint64_t)ll_clock_mono_ns() : 0;
    pthread_mutex_lock(&lg->lock);
    if (was_arriving) {
        arrived_locked(lg);
        /* How long decoding and verifying takes here, for the writer's
         * wait (gather): a moving average over the last few appends. */
        int64_t d = (int64_t)(t - job->submitted_ns) - (int64_t)lg->arrive_ns;
        lg->arrive_ns = (uint64_t)((int64_t)lg->arrive_ns + d / 8);
    }
    if (lg->stopping) {
        pthread_mutex_unlock(&lg->lock);
        job->res.err = LL_ERR_UNAVAILABLE;
        snprintf(job->res.msg, sizeof job->res.msg, "server is shutting down");
        fail_job(lg, job, job->cb, job->ctx);
        return;
    }
    if (inline_ok && !lg->head && !lg->busy && lg->inflight_n == 1) {
        lg->busy = 1;
        pthread_mutex_unlock(&lg->lock);
        job->next = NULL;
        lg->run_batch(lg, job);
        pthread_mutex_lock(&lg->lock);
        lg->busy = 0;
        /* Whatever queued meanwhile, or a close, is the writer's now. */
        if (lg->head || lg->stopping)
            pthread_cond_signal(&lg->wake);
        pthread_mutex_unlock(&lg->lock);
        return;
    }
    if (lg->tail)
        lg->tail->next = job;
    else
        lg->head = job;
    lg->tail = job;
    pthread_cond_signal(&lg->wake);
    pthread_mutex_unlock(&lg->lock);
}

static void enqueue(ll_ledger_t *lg, ll_job_t *job)
{
    enqueue_opt(lg, job, 0, 0);
}

static ll_job_t *new_job(const uint8_t *env, size_t len, ll_append_cb cb, void *ctx)
{
    ll_job_t *job = calloc(1, sizeof *job);
    if (!job)
        return NULL;
    job->raw = malloc(len ? len : 1);
    if (!job->raw) {
        free(job);
        return NULL;
    }
    memcpy(job->raw, env, len);
    job->raw_len = len;
    job->cb = cb;
    job->ctx = ctx;
    return job;
}

void ll_ledger_submit(ll_ledger_t *lg, const uint8_t *env, size_t len,
                      ll_append_cb cb, void *ctx)
{
    ll_ledger_submit_as(lg, env, len, NULL, cb, ctx);
}

void ll_ledger_submit_as(ll_ledger_t *lg, const uint8_t *env, size_t len, const char *caller,
                         ll_append_cb cb, void *ctx)
{
    ll_ledger_submit_opts(lg, env, len, caller, 0, cb, ctx);
}

void ll_ledger_submit_opts(ll_ledger_t *lg, const uint8_t *env, size_t len,
                           const char *caller, unsigned flags, ll_append_cb cb, void *ctx)
{
    /* Count the append before copying or verifying anything: beyond the
     * budget the answer is immediate and costs nothing. */
    size_t cost = len ? len : 1;
    pthread_mutex_lock(&lg->lock);
    int over = lg->inflight_n + 1 > lg->max_inflight_n ||
               lg->inflight_bytes + cost > lg->max_inflight_bytes;
    size_t qn = lg->inflight_n, qb = lg->inflight_bytes;
    if (!over) {
        lg->inflight_n++;
        lg->inflight_bytes += cost;
        lg->arriving++;
    }
    pthread_mutex_unlock(&lg->lock);
    if (over) {
        ll_append_result_t r = {.err = LL_ERR_TOO_LARGE};
        snprintf(r.msg, sizeof r.msg,
                 "append queue is full (%zu entries, %zu bytes pending; limits %zu entries, "
                 "%zu bytes): nothing was written, retry shortly",
                 qn, qb, lg->max_inflight_n, lg->max_inflight_bytes);
        cb(ctx, &r);
        return;
    }
    uint64_t submitted = (uint64_t)ll_clock_mono_ns();
    ll_job_t *job = new_job(env, len, cb, ctx);
    if (!job) {
        arrived(lg);
        release_budget(lg, cost);
        ll_append_result_t r = {.err = LL_ERR_NOMEM};
        snprintf(r.msg, sizeof r.msg, "out of memory");
        cb(ctx, &r);
        return;
    }
    job->reserved = cost;
    job->submitted_ns = submitted;
    ll_append_result_t *r = &job->res;
    job->validate_only = (flags & LL_SUBMIT_VALIDATE_ONLY) != 0;
    r->validate_only = job->validate_only;
    if (lg->refuse_writes) {
        r->err = LL_ERR_CORRUPT;
        snprintf(r->msg, sizeof r->msg, "ledger refuses writes: %.180s; see loopledgerd verify",
                 lg->damage);
        goto fail;
    }
    if (lg->replica_of[0]) {
        r->err = LL_ERR_PRECONDITION;
        snprintf(r->msg, sizeof r->msg,
                 "this server is a read-only mirror of %s: append to the primary", lg->replica_of);
        goto fail;
    }
    if (lg->max_leaf && ll_leaf_max_len(len) > lg->max_leaf) {
        r->err = LL_ERR_TOO_LARGE;
        snprintf(r->msg, sizeof r->msg,
                 "envelope is %zu bytes; this ledger publishes tlog-tiles, whose entries hold at "
                 "most %zu bytes: keep envelopes under %zu bytes (link large artifacts by digest)",
                 len, lg->max_leaf, lg->max_leaf - (ll_leaf_max_len(0)));
        goto fail;
    }
    r->err = ll_entry_decode(job->raw, job->raw_len, &job->entry, r->msg, sizeof r->msg);
    if (r->err)
        goto fail;
    if (job->entry.body->kind_case == LOOPLEDGER__V1__ENTRY_BODY__KIND_GENESIS) {
        r->err = LL_ERR_PRECONDITION;
        snprintf(r->msg, sizeof r->msg,
                 "genesis entries are written only by the server when a ledger is created");
        goto fail;
    }
    if (caller && strcmp(caller, job->entry.body->author)) {
        /* The transport identity vouches for the author, not for a third
         * party's envelope replayed under another certificate. */
        r->err = LL_ERR_PERMISSION;
        snprintf(r->msg, sizeof r->msg,
                 "certificate of \"%.60s\" cannot submit entries by \"%.60s\"",
                 caller, job->entry.body->author);
        goto fail;
    }
    if ((r->err = authenticate(lg, &job->entry, ll_clock_realtime_ns(), r->msg, sizeof r->msg)))
        goto fail;
    enqueue_opt(lg, job, (flags & LL_SUBMIT_INLINE) != 0, 1);
    return;
fail:
    arrived(lg);
    fail_job(lg, job, cb, ctx);
}

/* ---- writer thread ---- */

static void duplicate_result(ll_txn_t *txn, uint64_t seq, ll_append_result_t *r)
{
    const uint8_t *leaf;
    size_t len;
    r->seq = seq;
    r->duplicate = 1;
    r->status = ll_index_status(txn, seq);
    if (ll_store_leaf(txn, seq, &leaf, &len) == LL_OK) {
        ll_merkle_leaf_hash(leaf, len, r->leaf_hash);
        Loopledger__V1__LogEntry *le = loopledger__v1__log_entry__unpack(NULL, len, leaf);
        if (le) {
            r->time_ns = le->server_time_unix_nanos;
            loopledger__v1__log_entry__free_unpacked(le, NULL);
        }
    }
}

/* How apply() runs: for the writer, or replaying a recorded leaf (ll_derive
 * rebuilds the derived tables from the leaves with this same code). */
typedef struct apply_mode {
    int64_t t;      /* 0: now (the writer); else the leaf's server time */
    int trust_only; /* only the actor and key records (no leaf, no indexes) */
    uint64_t seq;   /* trust_only: the entry's sequence number (txn has no leaves) */
} apply_mode_t;

/* Applies one job inside child transaction txn. Returns LL_OK to commit it. */
static int apply(ll_txn_t *txn, ll_job_t *job, uint8_t **buf,
                 size_t *bufcap, apply_mode_t mode)
{
    ll_append_result_t *r = &job->res;
    ll_entry_t *e = &job->entry;
    const Loopledger__V1__EntryBody *b = e->body;
    uint64_t size = mode.trust_only ? mode.seq : ll_store_size(txn);
    const uint8_t *v;
    size_t vlen;
    ll_trust_key_t k;
    int err;

    r->validate_only = job->validate_only; /* survives a batch retry's reset */
    err = mode.trust_only ? LL_ERR_NOT_FOUND
                          : ll_store_get(txn, LL_TBL_DEDUP, e->dedup, LL_HASH_LEN, &v, &vlen);
    if (job->replica && err == LL_OK) {
        snprintf(r->msg, sizeof r->msg, "primary's entry #%" PRIu64 " repeats entry #%" PRIu64,
                 job->want_seq, vlen == 8 ? ll_get_be64(v) : 0);
        return LL_ERR_CORRUPT;
    }
    if (job->replica && size != job->want_seq) {
        snprintf(r->msg, sizeof r->msg, "primary's entry #%" PRIu64 " arrives at size %" PRIu64,
                 job->want_seq, size);
        return LL_ERR_PRECONDITION;
    }
    if (err == LL_OK && vlen == 8) {
        duplicate_result(txn, ll_get_be64(v), r);
        return LL_ERR_EXISTS; /* nothing to write; reported as success */
    }
    if (job->genesis) {
        if (size != 0 && !mode.trust_only) {
            snprintf(r->msg, sizeof r->msg, "ledger already has a genesis entry");
            return LL_ERR_EXISTS;
        }
    } else {
        /* Re-check under the writer: the key may have changed since the
         * submitting thread verified the signature. */
        if ((err = ll_trust_key(txn, e->keyid, &k))) {
            snprintf(r->msg, sizeof r->msg, "author \"%s\" has no registered key with that keyid",
                     b->author);
            return LL_ERR_UNAUTHENTICATED;
        }
        /* A mirror's entries are authenticated here, not on submission:
         * each may depend on keys registered earlier in the same batch. */
        if (job->replica &&
            (k.actor_len != strlen(b->author) || memcmp(k.actor, b->author, k.actor_len) ||
             ll_entry_verify(e, k.pub))) {
            snprintf(r->msg, sizeof r->msg, "entry is not signed by a registered key of \"%s\"",
                     b->author);
            return LL_ERR_UNAUTHENTICATED;
        }
    }
    for (size_t i = 0; i < b->n_links && !mode.trust_only; i++) {
        if (b->links[i]->target_seq >= size) {
            snprintf(r->msg, sizeof r->msg,
                     "link %zu: target entry %llu does not exist (the ledger has %llu entries; links point to older entries)",
                     i, (unsigned long long)b->links[i]->target_seq,
                     (unsigned long long)size);
            return LL_ERR_PRECONDITION;
        }
    }
    uint64_t key_seq = job->genesis ? 0 : k.reg_seq;
    int64_t t = job->replica ? job->fixed_time : mode.t ? mode.t : ll_clock_realtime_ns();
    int64_t last = ll_store_last_time(txn);
    if (job->replica && t <= last) {
        snprintf(r->msg, sizeof r->msg, "primary's entry #%" PRIu64 " is not later than the last",
                 job->want_seq);
        return LL_ERR_CORRUPT;
    }
    if (t <= last && mode.t && !mode.trust_only) {
        snprintf(r->msg, sizeof r->msg, "server time %lld is not after the previous entry's %lld",
                 (long long)t, (long long)last);
        return LL_ERR_CORRUPT;
    }
    if (t <= last)
        t = last + 1; /* server time is strictly increasing with seq */
    uint32_t roles = 0;
    if (!job->genesis) {
        if (k.revoked_at && t >= k.revoked_at) {
            snprintf(r->msg, sizeof r->msg, "the signing key of \"%s\" was revoked", b->author);
            return LL_ERR_UNAUTHENTICATED;
        }
        if ((err = ll_trust_actor_roles(txn, b->author, &roles)))
            goto store_fail;
        if ((err = authorize_kind(b, roles, r->msg, sizeof r->msg)))
            return err;
    }
    switch (b->kind_case) {
    case LOOPLEDGER__V1__ENTRY_BODY__KIND_ACTOR: {
        uint32_t roles = 0;
        if (ll_trust_actor_roles(txn, b->author, &roles) || !(roles & (1u << LOOPLEDGER__V1__ROLE__ROLE_ADMIN))) {
            snprintf(r->msg, sizeof r->msg, "only an admin may register actors; \"%s\" is not an admin",
                     b->author);
            return LL_ERR_PERMISSION;
        }
        if ((err = ll_trust_register(txn, b->actor, size, r->msg, sizeof r->msg)))
            return err;
        break;
    }
    case LOOPLEDGER__V1__ENTRY_BODY__KIND_GENESIS:
        if ((err = ll_trust_register(txn, b->genesis->server, 0, r->msg, sizeof r->msg)) ||
            (err = ll_trust_register(txn, b->genesis->admin, 0, r->msg, sizeof r->msg)))
            return err;
        if ((err = ll_store_put(txn, LL_TBL_META, "origin", 6, b->genesis->origin,
                                strlen(b->genesis->origin))))
            goto store_fail;
        break;
    case LOOPLEDGER__V1__ENTRY_BODY__KIND_KEY_ROTATION:
    case LOOPLEDGER__V1__ENTRY_BODY__KIND_REVOCATION:
    case LOOPLEDGER__V1__ENTRY_BODY__KIND_ROLE_GRANT:
        if ((err = ll_trust_apply(txn, b, size, t, r->msg, sizeof r->msg)))
            return err;
        break;
    default:
        break;
    }

    if (mode.trust_only)
        return LL_OK;
    /* A patch of a long-lived record: every rule below sees the record as
     * it will stand (ll_record.h), and the merge is stored with the entry. */
    if (job->eff) /* a batch retry merges again */
        loopledger__v1__entry_body__free_unpacked(job->eff, NULL);
    job->eff = NULL;
    if ((err = ll_record_merge(txn, b, &job->eff, r->msg, sizeof r->msg)))
        return err;
    if (job->eff) {
        b = job->eff;
        if ((err = ll_record_put(txn, size, b)))
            goto store_fail;
    }
    /* A widening rollout needs a ship verdict (ll_experiment.h). */
    if ((err = ll_experiment_check_rollout(txn, b, r->msg, sizeof r->msg)))
        return err;
    /* Effects and status answer the caller of Append; a replay of a
     * recorded leaf (mode.t set) has none to answer, so it reads nothing
     * for them. */
    ll_effects_snap_t snap;
    if (!mode.t)
        ll_effects_before(txn, b, &snap);
    /* Kinds, links and loop rules; indexes in this same transaction. */
    if ((err = ll_loop_apply(txn, b, size, t, r->msg, sizeof r->msg)))
        return err;
    /* Approval policies and decisions, governance indexes. */
    if ((err = ll_gov_apply(txn, b, size, roles, r->msg, sizeof r->msg)))
        return err;
    /* A conclusion against its experiment's verdict waits for an approver. */
    if ((err = ll_experiment_hold(txn, b, size, r->msg, sizeof r->msg)))
        return err;
    size_t need = ll_leaf_max_len(e->raw_env_len);
    if (need > *bufcap) {
        uint8_t *nb = realloc(*buf, need);
        if (!nb) {
            snprintf(r->msg, sizeof r->msg, "out of memory");
            return LL_ERR_NOMEM;
        }
        *buf = nb;
        *bufcap = need;
    }
    size_t len = ll_leaf_build(size, t, e->raw_env, e->raw_env_len, *buf);
    LL_ASSERT(len <= need && t > ll_store_last_time(txn));
    uint8_t sv[8];
    ll_put_be64(sv, size);
    if ((err = ll_store_append(txn, *buf, len, t, r->leaf_hash)))
        goto store_fail;
    if (job->replica && memcmp(r->leaf_hash, job->want_leaf, LL_HASH_LEN)) {
        /* Same envelope, seq and time must give the same bytes: a leaf
         * laid out otherwise would not hash as the primary's tree says. */
        snprintf(r->msg, sizeof r->msg, "primary's leaf #%" PRIu64 " is not laid out as "
                 "loopledger writes leaves", job->want_seq);
        return LL_ERR_CORRUPT;
    }
    if ((err = ll_store_put(txn, LL_TBL_DEDUP, e->dedup, LL_HASH_LEN, sv, 8)) ||
        (err = ll_trust_put_signer(txn, size, key_seq)))
        goto store_fail;
    r->seq = size;
    r->time_ns = t;
    r->effective = job->eff;
    if (!mode.t) {
        r->status = ll_index_status(txn, size);
        ll_effects_after(txn, b, size, &snap, &r->effects);
    }
    return LL_OK;
store_fail:
    snprintf(r->msg, sizeof r->msg, "cannot store entry: %s (%s)", ll_strerror(err),
             ll_store_last_error());
    return err;
}

int ll_ledger_check_derived(ll_store_t *st, ll_derive_report_t *rep)
{
    return ll_derive_check(st, ll_ledger_replay_entry, rep);
}

int ll_ledger_rebuild_derived(ll_txn_t *w, char *msg, size_t cap)
{
    return ll_derive_rebuild(w, ll_ledger_replay, msg, cap);
}

int ll_ledger_replay(ll_txn_t *txn, const uint8_t *env, size_t len, uint64_t seq, int64_t t,
                     int trust_only, char *msg, size_t cap)
{
    ll_entry_t e;
    if (ll_entry_decode(env, len, &e, msg, cap))
        return LL_ERR_CORRUPT;
    int err = ll_ledger_replay_entry(txn, &e, seq, t, trust_only, msg, cap);
    ll_entry_free(&e);
    return err;
}

int ll_ledger_replay_entry(ll_txn_t *txn, const ll_entry_t *e, uint64_t seq, int64_t t,
                           int trust_only, char *msg, size_t cap)
{
    ll_job_t job;
    uint8_t *buf = NULL;
    size_t bufcap = 0;
    ll_trust_key_t k;
    int err;
    memset(&job, 0, sizeof job);
    job.genesis = seq == 0;
    job.entry = *e; /* borrowed: cleared before job_release */
    const Loopledger__V1__EntryBody *b = job.entry.body;
    if ((b->kind_case == LOOPLEDGER__V1__ENTRY_BODY__KIND_GENESIS) != job.genesis) {
        snprintf(msg, cap, job.genesis ? "entry #0 is not a genesis entry"
                                       : "a genesis entry after #0");
        err = LL_ERR_CORRUPT;
        goto out;
    }
    if (!trust_only && ll_store_size(txn) != seq) {
        snprintf(msg, cap, "replayed out of order");
        err = LL_ERR_CORRUPT;
        goto out;
    }
    /* What the submitting thread checked (authenticate), minus the
     * signature, which the audit verifies. */
    if (!job.genesis && ll_trust_key(txn, job.entry.keyid, &k) == LL_OK &&
        (k.actor_len != strlen(b->author) || memcmp(k.actor, b->author, k.actor_len))) {
        snprintf(msg, cap, "signed with a key of \"%.*s\", not of its author \"%s\"",
                 (int)k.actor_len, k.actor, b->author);
        err = LL_ERR_CORRUPT;
        goto out;
    }
    err = apply(txn, &job, &buf, &bufcap, (apply_mode_t){t, trust_only, seq});
    if (err == LL_ERR_EXISTS && job.res.duplicate) {
        snprintf(msg, cap, "repeats the signed statement of entry #%llu (one envelope appended "
                           "twice)", (unsigned long long)job.res.seq);
        err = LL_ERR_CORRUPT;
    } else if (err) {
        snprintf(msg, cap, "the ledger's rules refuse it now: %s (%s)", job.res.msg,
                 ll_strerror(err));
        if (err != LL_ERR_NOMEM && err != LL_ERR_STORE && err != LL_ERR_FULL)
            err = LL_ERR_CORRUPT;
    }
out:
    free(buf);
    memset(&job.entry, 0, sizeof job.entry);
    job_release(&job);
    return err;
}

/* Applies the follow-up entries of job (just applied in txn) right after
 * it, each in a child transaction of txn, and names them in its effects.
 * A follow-up that is refused is logged and dropped (the entry that caused
 * it stands); LL_ERR_FULL is returned so that the batch grows the map and
 * is retried whole. */
static int follow_up(ll_ledger_t *lg, ll_txn_t *txn, ll_job_t *job, uint8_t **buf,
                     size_t *bufcap)
{
    enum { CAP = 4 };
    uint8_t *envs[CAP];
    size_t lens[CAP], n = 0;
    int err = LL_OK;
    pthread_mutex_lock(&lg->hook_lock);
    if (lg->follow)
        n = lg->follow(lg->follow_ctx, txn, job->res.seq, job->entry.body, envs, lens, CAP);
    pthread_mutex_unlock(&lg->hook_lock);
    for (size_t i = 0; i < n; i++) {
        ll_job_t f = {0};
        ll_txn_t *child = NULL;
        int rc;
        f.raw = envs[i];
        f.raw_len = lens[i];
        if (err == LL_OK &&
            (rc = ll_entry_decode(f.raw, f.raw_len, &f.entry, f.res.msg, sizeof f.res.msg)) == LL_OK) {
            if ((rc = ll_store_begin_child(txn, &child)) == LL_OK) {
                rc = apply(child, &f, buf, bufcap, (apply_mode_t){0, 0, 0});
                rc = rc == LL_OK ? ll_store_commit(child) : (ll_store_abort(child), rc);
            }
            if (rc == LL_OK) {
                const Loopledger__V1__EntryBody *fb = f.entry.body;
                ll_effect_t *e = ll_effects_add(&job->res.effects, LL_EFFECT_ALERT_RAISED, f.res.seq);
                if (e && fb->kind_case == LOOPLEDGER__V1__ENTRY_BODY__KIND_ALERT)
                    snprintf(e->text, sizeof e->text,
                             "alert #%llu raised by the drift detector: %.40s%s%.40s %.4g -> %.4g",
                             (unsigned long long)f.res.seq, fb->alert->metric,
                             fb->alert->segment[0] ? "/" : "", fb->alert->segment,
                             fb->alert->baseline, fb->alert->current);
                else if (e)
                    snprintf(e->text, sizeof e->text, "#%llu appended by the server",
                             (unsigned long long)f.res.seq);
            } else if (rc == LL_ERR_FULL) {
                err = LL_ERR_FULL;
            } else {
                fprintf(stderr, "loopledgerd: follow-up of #%llu not recorded: %s\n",
                        (unsigned long long)job->res.seq, f.res.msg);
            }
            job_release(&f);
        }
        free(envs[i]);
    }
    return err;
}


size_t ll_ledger_arriving(ll_ledger_t *lg)
{
    pthread_mutex_lock(&lg->lock);
    size_t n = lg->arriving;
    pthread_mutex_unlock(&lg->lock);
    return n;
}

/* ---- entry points for the module's other files (ll_ledger_int.h) ---- */

ll_job_t *ll_ledger_job_new(const uint8_t *env, size_t len, ll_append_cb cb, void *ctx)
{
    return new_job(env, len, cb, ctx);
}

void ll_ledger_enqueue(ll_ledger_t *lg, ll_job_t *job)
{
    enqueue(lg, job);
}

void ll_ledger_job_done(ll_ledger_t *lg, ll_job_t *job, ll_append_cb cb, void *ctx)
{
    fail_job(lg, job, cb, ctx);
}

int ll_ledger_apply_new(ll_txn_t *txn, ll_job_t *job, uint8_t **buf, size_t *bufcap)
{
    return apply(txn, job, buf, bufcap, (apply_mode_t){0, 0, 0});
}

int ll_ledger_follow_up(ll_ledger_t *lg, ll_txn_t *txn, ll_job_t *job, uint8_t **buf,
                        size_t *bufcap)
{
    return follow_up(lg, txn, job, buf, bufcap);
}
