/*
 * ll_ledger_commit: the ledger's writer side (ll_ledger.h, ll_ledger_int.h):
 * opening it (the start-up checks), its single writer thread, closing it.
 *
 * It takes everything queued (up to max_batch) and applies it straight
 * into one write transaction; at the first refused entry that pass is
 * rolled back and the batch applied again with a child transaction per
 * entry, so that a refused entry leaves nothing and sinks nothing. The
 * batch commits once (group commit: its new leaves synced in the
 * write-ahead log, LMDB committed without a sync, ll_store.h) and only
 * then reports each result and calls the commit hooks. A batch that runs
 * out of map is rolled back whole, the map grows, and the batch is
 * retried. At open, the leaves the log acknowledged past LMDB's synced
 * state are replayed through the mirror's path (replay_log).
 *
 * An append submitted with LL_SUBMIT_INLINE while the writer is idle and
 * nothing else is in flight is written by the submitting thread itself
 * (the same batch code, under the same busy flag): one caller at a time
 * then pays no hand-off to the writer thread and back.
 *
 * Checkpoints are signed on demand (ll_ledger_checkpoint, by GetCheckpoint,
 * tiles publishing and witness submission), never per commit; the latest
 * one handed out is cached, and persisted by the next commit so that a
 * restart can check the tree against it (ll_audit.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ll_assert.h"
#include "ll_audit.h"
#include "ll_clock.h"
#include "ll_derive.h"
#include "ll_err.h"
#include "ll_format.h"
#include "ll_ledger_int.h"

static void *writer_main(void *arg);
static void run_batch(ll_ledger_t *lg, ll_job_t *batch);
static int replay_log(ll_ledger_t *lg);

/* ---- open and close: the start-up checks, then the writer ---- */

int ll_ledger_open(ll_store_t *st, const ll_ledger_config_t *cfg,
                   ll_ledger_t **out)
{
    ll_ledger_t *lg = calloc(1, sizeof *lg);
    ll_txn_t *txn = NULL;
    const uint8_t *v;
    size_t vlen;
    int err;
    if (!lg)
        return LL_ERR_NOMEM;
    lg->st = st;
    lg->note_key = cfg->note_key;
    lg->actor_key = cfg->actor_key;
    lg->max_batch = cfg->max_batch ? cfg->max_batch : 4096;
    {
        static const uint64_t batch_bounds[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096};
        ll_hist_init(&lg->batch_hist, batch_bounds, sizeof batch_bounds / sizeof *batch_bounds);
        ll_hist_init(&lg->commit_hist, ll_hist_latency_ns, 16);
    }
    lg->max_inflight_n = cfg->max_queue_entries ? cfg->max_queue_entries : LL_LEDGER_QUEUE_ENTRIES;
    lg->max_inflight_bytes = cfg->max_queue_bytes ? cfg->max_queue_bytes : LL_LEDGER_QUEUE_BYTES;
    lg->max_leaf = cfg->max_leaf;
    lg->cp_size = UINT64_MAX;
    /* Records of an older data format are upgraded before anything reads
     * them; a newer format is refused (callers that want the reason call
     * ll_format_prepare first). */
    char fmsg[LL_MSG_MAX];
    if ((err = ll_format_prepare(st, ll_ledger_rebuild_derived, NULL, fmsg, sizeof fmsg)))
        goto fail;
    if ((err = ll_store_begin_read(st, &txn)))
        goto fail;
    err = ll_store_get(txn, LL_TBL_META, "origin", 6, &v, &vlen);
    if (err == LL_OK && vlen <= LL_NOTE_MAX_NAME) {
        memcpy(lg->origin, v, vlen);
        lg->origin[vlen] = 0;
    } else if (err == LL_ERR_NOT_FOUND && cfg->origin) {
        snprintf(lg->origin, sizeof lg->origin, "%s", cfg->origin);
    } else {
        err = err ? err : LL_ERR_CORRUPT;
        goto fail;
    }
    ll_store_abort(txn);
    txn = NULL;
    if (!ll_note_name_valid(lg->origin)) {
        err = LL_ERR_INVALID;
        goto fail;
    }
    /* The tree must still be the one the server last signed. If it is not,
     * keep serving reads (clients verify what they read) but build nothing
     * on top of it. */
    uint8_t note_pub[LL_PUBKEY_LEN];
    ll_key_public(lg->note_key, note_pub);
    if ((err = ll_store_begin_read(st, &txn)))
        goto fail;
    err = ll_audit_checkpoint(txn, lg->origin, note_pub, &lg->cp_persisted, lg->damage,
                              sizeof lg->damage);
    ll_store_abort(txn);
    txn = NULL;
    if (err == LL_ERR_CORRUPT)
        lg->refuse_writes = 1;
    else if (err)
        goto fail;
    /* Nor on actor, key and role records that the entries do not justify
     * (one flipped role byte made a contributor an admin). */
    if (!lg->refuse_writes) {
        err = ll_derive_startup_check(st, ll_ledger_replay, lg->damage, sizeof lg->damage);
        if (err == LL_ERR_CORRUPT) {
            lg->refuse_writes = 1;
        } else if (err == LL_ERR_IO || err == LL_ERR_FULL || err == LL_ERR_STORE) {
            /* No room for the scratch copy: unchecked trust records must
             * not authorise writes, but reads can go on. */
            snprintf(lg->damage, sizeof lg->damage,
                     "cannot check the actor and key records (%s: %s); is $TMPDIR writable "
                     "with free space?", ll_strerror(err), ll_store_last_error());
            lg->refuse_writes = 1;
        } else if (err) {
            goto fail;
        }
    }
    pthread_mutex_init(&lg->lock, NULL);
    pthread_mutex_init(&lg->hook_lock, NULL);
    pthread_cond_init(&lg->wake, NULL);
    pthread_mutex_init(&lg->cp_lock, NULL);
    lg->run_batch = run_batch;
    if (pthread_create(&lg->writer, NULL, writer_main, lg)) {
        err = LL_ERR_NOMEM;
        pthread_mutex_destroy(&lg->lock);
        pthread_mutex_destroy(&lg->hook_lock);
        pthread_cond_destroy(&lg->wake);
        pthread_mutex_destroy(&lg->cp_lock);
        goto fail;
    }
    if ((err = replay_log(lg))) {
        ll_ledger_close(lg);
        return err;
    }
    *out = lg;
    return LL_OK;
fail:
    ll_store_abort(txn);
    free(lg);
    return err;
}

void ll_ledger_close(ll_ledger_t *lg)
{
    if (!lg)
        return;
    pthread_mutex_lock(&lg->lock);
    lg->stopping = 1;
    pthread_cond_signal(&lg->wake);
    pthread_mutex_unlock(&lg->lock);
    pthread_join(lg->writer, NULL);
    pthread_mutex_destroy(&lg->lock);
    pthread_mutex_destroy(&lg->hook_lock);
    pthread_cond_destroy(&lg->wake);
    pthread_mutex_destroy(&lg->cp_lock);
    free(lg);
}

/* ---- the write-ahead log's tail ---- */

typedef struct replay_wait {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t left;
    int err;
    uint64_t bad_seq;
    char msg[LL_MSG_MAX];
} replay_wait_t;

static void replayed(void *ctx, const ll_append_result_t *r)
{
    replay_wait_t *w = ctx;
    pthread_mutex_lock(&w->mu);
    if (r->err && !w->err) {
        w->err = r->err;
        w->bad_seq = r->seq;
        snprintf(w->msg, sizeof w->msg, "%s", r->msg);
    }
    if (--w->left == 0)
        pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

/* The leaves acknowledged before an unclean stop that LMDB lost with its
 * unsynced commits (ll_store_pending) go back through the mirror's path:
 * each envelope's signature is checked against the key history, every
 * rule and index applies, and the rebuilt leaf must hash like the logged
 * one at the logged seq. A leaf that fails is not written; the ledger
 * then refuses appends (reads go on) and says why, as for any damage. */
static int replay_log(ll_ledger_t *lg)
{
    const ll_wal_rec_t *recs;
    size_t n = ll_store_pending(lg->st, &recs);
    int err = LL_OK;
    if (n && !lg->refuse_writes) {
        replay_wait_t w = {.left = 0};
        pthread_mutex_init(&w.mu, NULL);
        pthread_cond_init(&w.cv, NULL);
        /* In chunks, so that the writer group-commits while we queue. */
        for (size_t i = 0; i < n && !w.err;) {
            size_t k = n - i < 1024 ? n - i : 1024;
            pthread_mutex_lock(&w.mu);
            w.left = k;
            pthread_mutex_unlock(&w.mu);
            for (size_t j = 0; j < k; j++)
                ll_ledger_replicate(lg, recs[i + j].leaf, recs[i + j].len, replayed, &w);
            pthread_mutex_lock(&w.mu);
            while (w.left)
                pthread_cond_wait(&w.cv, &w.mu);
            pthread_mutex_unlock(&w.mu);
            i += k;
        }
        pthread_mutex_destroy(&w.mu);
        pthread_cond_destroy(&w.cv);
        if (w.err == LL_ERR_NOMEM || w.err == LL_ERR_IO || w.err == LL_ERR_FULL ||
            w.err == LL_ERR_STORE) {
            err = w.err; /* could not replay: do not serve without them */
        } else if (w.err) {
            snprintf(lg->damage, sizeof lg->damage,
                     "an entry of the write-ahead log does not replay (%s): %.110s; restore "
                     "the ledger from a backup or a mirror",
                     ll_strerror(w.err), w.msg);
            lg->refuse_writes = 1;
        }
    }
    ll_store_pending_done(lg->st);
    return err;
}

/* ---- the writer thread ---- */

/* Puts the latest checkpoint handed out, if newer than the persisted one,
 * into txn, so that a restart can check the tree against it. The note is
 * already signed; this costs one small put in a commit that happens anyway.
 * *size receives its size (0 if nothing was put). */
static int persist_checkpoint(ll_ledger_t *lg, ll_txn_t *txn, uint64_t *size)
{
    char note[LL_NOTE_MAX];
    size_t len = 0;
    *size = 0;
    pthread_mutex_lock(&lg->cp_lock);
    if (lg->cp_size != UINT64_MAX && lg->cp_size > lg->cp_persisted) {
        *size = lg->cp_size;
        len = lg->cp_len;
        memcpy(note, lg->cp_note, len);
    }
    pthread_mutex_unlock(&lg->cp_lock);
    if (!len)
        return LL_OK;
    return ll_store_put(txn, LL_TBL_META, LL_AUDIT_CP_KEY, strlen(LL_AUDIT_CP_KEY), note, len);
}

/* One attempt at writing the batch. *full is set, and nothing committed,
 * when an entry or the commit ran out of space; the caller then grows the
 * map or refuses what does not fit, and tries again.
 *
 * One bad entry must not sink its batch, so an entry that is refused
 * half-way (after some of its writes) has to be taken out alone. A child
 * transaction per entry does that, but costs every entry a copy of each
 * page it touches that the batch had already dirtied (a dozen B-tree
 * pages: leaves, nodes, dedup, indexes) and a merge of the dirty lists on
 * its commit. Entries almost never fail here (the submitting thread
 * checked everything that needs no ledger state), so the batch is first
 * applied straight into the write transaction; at the first entry refused
 * the pass is abandoned (aborted: nothing of it stays) and the batch is
 * applied again with a child per entry, which costs at most twice the work
 * of that batch. Duplicates are answered before anything is written and
 * need no redo; validate-only entries always get their child, which is
 * rolled back. */
static int write_batch(ll_ledger_t *lg, ll_job_t *batch, uint64_t *out_size,
                       int *out_wrote, int *full)
{
    ll_txn_t *txn = NULL;
    uint8_t *buf = NULL;
    size_t bufcap = 0;
    int err, wrote, direct = 1;
    *full = 0;
again:
    err = ll_store_begin_write(lg->st, &txn);
    wrote = 0;
    for (ll_job_t *j = batch; j; j = j->next) {
        if (j->refused)
            continue;
        if (err) {
            j->res.err = err;
            snprintf(j->res.msg, sizeof j->res.msg, "cannot write: %s", ll_strerror(err));
            continue;
        }
        ll_txn_t *child = txn;
        if (!direct || j->validate_only) {
            int cerr = ll_store_begin_child(txn, &child);
            if (cerr) {
                j->res.err = cerr;
                snprintf(j->res.msg, sizeof j->res.msg, "cannot write: %s", ll_strerror(cerr));
                continue;
            }
        }
        int rc = ll_ledger_apply_new(child, j, &buf, &bufcap);
        if (rc == LL_OK && (rc = ll_ledger_follow_up(lg, child, j, &buf, &bufcap)) != LL_OK)
            j->res.err = rc;
        if (child == txn) {
            if (rc == LL_OK) {
                wrote = 1;
                continue;
            }
            if (rc == LL_ERR_EXISTS && j->res.duplicate) {
                j->res.err = LL_OK;
                continue;
            }
            /* Refused, maybe half-way: start again, a child per entry. */
            ll_store_abort(txn);
            txn = NULL;
            for (ll_job_t *k = batch; k; k = k->next)
                if (!k->refused)
                    k->res = (ll_append_result_t){0};
            direct = 0;
            goto again;
        }
        if (rc == LL_OK && j->validate_only) {
            /* Every check ran and the effects are known: roll it back. */
            ll_store_abort(child);
            memset(j->res.leaf_hash, 0, sizeof j->res.leaf_hash);
            continue;
        }
        if (rc == LL_OK) {
            if ((rc = ll_store_commit(child)) == LL_OK) {
                wrote = 1;
                continue;
            }
            snprintf(j->res.msg, sizeof j->res.msg, "cannot write: %s", ll_strerror(rc));
            j->res.err = rc;
            continue;
        }
        ll_store_abort(child);
        if (rc == LL_ERR_EXISTS && j->res.duplicate)
            rc = LL_OK;
        j->res.err = rc;
    }
    free(buf);
    uint64_t size = 0, cp = 0;
    for (ll_job_t *j = batch; j; j = j->next)
        if (!j->refused && j->res.err == LL_ERR_FULL)
            *full = 1;
    if (txn && wrote && !*full && persist_checkpoint(lg, txn, &cp) == LL_ERR_FULL)
        *full = 1;
    if (*full) {
        ll_store_abort(txn);
        return LL_ERR_FULL;
    }
    if (txn) {
        uint64_t entries = 0;
        size = ll_store_size(txn);
        int64_t t0 = ll_clock_mono_ns();
        /* Everything the batch wrote besides its leaves is derived from
         * them (apply() replays them) or is the checkpoint cache: the
         * leaves in the write-ahead log are enough to make it durable. */
        err = wrote ? ll_store_commit_logged(txn) : (ll_store_abort(txn), LL_OK);
        if (wrote && !err) {
            ll_hist_add(&lg->commit_hist, (uint64_t)(ll_clock_mono_ns() - t0));
            /* Validate-only appends were rolled back: not in the commit. */
            for (ll_job_t *j = batch; j; j = j->next)
                if (!j->refused && j->res.err == LL_OK && !j->res.duplicate &&
                    !j->validate_only)
                    entries++;
            ll_hist_add(&lg->batch_hist, entries);
        }
        if (err == LL_ERR_FULL) {
            *full = 1;
            return err;
        }
        if (!err && cp)
            lg->cp_persisted = cp;
    }
    if (err) {
        /* The commit failed: nothing of this batch is durable. Results that
         * claimed success must say so. */
        for (ll_job_t *j = batch; j; j = j->next) {
            if (j->res.err == LL_OK && !j->res.duplicate) {
                j->res.err = err;
                snprintf(j->res.msg, sizeof j->res.msg, "commit failed: %s (%s)",
                         ll_strerror(err), ll_store_last_error());
            }
        }
    }
    *out_size = size;
    *out_wrote = wrote;
    return err;
}

/* Writes batch in one commit and reports every result (ll_batch_fn). */
static void run_batch(ll_ledger_t *lg, ll_job_t *batch)
{
    uint64_t size = 0;
    int wrote = 0, full = 0, err;
    /* cp_persisted, the single write transaction and ll_store_grow belong
     * to whoever holds busy: the writer thread or an inline submitter. */
    LL_ASSERT(lg->busy);
    /* Map full: nothing was committed. Grow the map and retry; when it
     * cannot grow (at --map-max, disk full), refuse the entries that ran
     * out of space (or all, if the commit itself did) and retry the rest.
     * Every round either grows the map or refuses at least one entry. */
    for (int round = 0; round < 64; round++) {
        err = write_batch(lg, batch, &size, &wrote, &full);
        if (!full)
            break;
        if (ll_store_grow(lg->st, NULL) != LL_OK) {
            char why[160];
            snprintf(why, sizeof why, "%s", ll_store_last_error());
            int all = 1;
            for (ll_job_t *j = batch; j; j = j->next)
                if (!j->refused && j->res.err == LL_ERR_FULL)
                    all = 0;
            for (ll_job_t *j = batch; j; j = j->next) {
                if (!j->refused && (all || j->res.err == LL_ERR_FULL)) {
                    j->refused = 1;
                    j->res = (ll_append_result_t){.err = LL_ERR_FULL};
                    snprintf(j->res.msg, sizeof j->res.msg,
                             "storage full, entry not written: %s", why);
                }
            }
        }
        for (ll_job_t *j = batch; j; j = j->next)
            if (!j->refused)
                j->res = (ll_append_result_t){0};
        err = LL_OK;
        wrote = 0;
    }
    if (full) {
        /* Out of rounds: say so rather than loop. */
        for (ll_job_t *j = batch; j; j = j->next) {
            if (!j->refused) {
                j->res = (ll_append_result_t){.err = LL_ERR_FULL};
                snprintf(j->res.msg, sizeof j->res.msg, "storage full, entry not written");
            }
        }
        wrote = 0;
    }
    if (!err && wrote) {
        pthread_mutex_lock(&lg->hook_lock);
        for (int i = 0; i < LL_LEDGER_MAX_HOOKS; i++)
            if (lg->hooks[i])
                lg->hooks[i](lg->hook_ctx[i], size);
        pthread_mutex_unlock(&lg->hook_lock);
    }
    while (batch) {
        ll_job_t *next = batch->next;
        ll_ledger_job_done(lg, batch, batch->cb, batch->ctx);
        batch = next;
    }
}

/* The longest the writer waits for appends still being verified (see
 * gather), whatever they take on average. */
#define GATHER_MAX_NS 250000u

/* Group commit that knows who is coming. Appends counted in arriving are
 * past the budget and on their RPC threads being decoded and verified;
 * each will be queued (or refused) within about one verification. Every
 * commit costs one write-ahead-log write and LMDB's copy-on-write pages
 * whatever its size, so waiting a fraction of a commit for them makes
 * fewer, larger commits when a few callers append at once, and costs
 * nothing when nobody is coming (one caller: arriving is 0, or the
 * append was written inline). The wait is at most what decoding and
 * verifying takes here on average (arrive_ns), capped at GATHER_MAX_NS.
 * Measured with 8 callers on 2 cores: 3.3 entries per commit instead of
 * 2.6 (a fifth fewer log writes and LMDB commits), 2% less server CPU
 * per append; 1, 2, 32 and 128 callers unchanged within the noise. Each
 * arrival or refusal signals wake. Called and returns with lg->lock
 * held. */
static void gather(ll_ledger_t *lg)
{
    uint64_t wait_ns = lg->arrive_ns < GATHER_MAX_NS ? lg->arrive_ns : GATHER_MAX_NS;
    if (!lg->arriving || lg->stopping || !wait_ns)
        return;
    struct timespec until = ll_clock_deadline(wait_ns);
    while (lg->arriving && !lg->stopping)
        if (pthread_cond_timedwait(&lg->wake, &lg->lock, &until))
            break; /* ETIMEDOUT: commit what is here */
}

static void *writer_main(void *arg)
{
    ll_ledger_t *lg = arg;
    pthread_setname_np(pthread_self(), "ll-writer"); /* for top -H and perf */
    pthread_mutex_lock(&lg->lock);
    for (;;) {
        /* An inline submitter holding busy signals wake when it is done. */
        while ((!lg->head || lg->busy) && !(lg->stopping && !lg->busy))
            pthread_cond_wait(&lg->wake, &lg->lock);
        if (!lg->head) { /* stopping, and nothing is being written */
            pthread_mutex_unlock(&lg->lock);
            break;
        }
        gather(lg);
        ll_job_t *batch = lg->head, *last = batch;
        unsigned n = 1;
        while (last->next && n < lg->max_batch) {
            last = last->next;
            n++;
        }
        lg->head = last->next;
        if (!lg->head)
            lg->tail = NULL;
        last->next = NULL;
        lg->busy = 1;
        pthread_mutex_unlock(&lg->lock);
        run_batch(lg, batch);
        pthread_mutex_lock(&lg->lock);
        lg->busy = 0;
    }
    return NULL;
}

/* ---- reads ---- */

int ll_ledger_checkpoint(ll_ledger_t *lg, ll_txn_t *txn, uint64_t size,
                         char *note, size_t cap, size_t *note_len,
                         uint64_t *out_size, uint8_t root[LL_HASH_LEN])
{
    uint64_t latest = ll_store_size(txn);
    int err;
    /* Signing a root over a tree that contradicts our own last signature
     * would publish a fork. */
    if (lg->refuse_writes)
        return LL_ERR_CORRUPT;
    if (size == 0)
        size = latest;
    if (size > latest)
        return LL_ERR_RANGE;
    pthread_mutex_lock(&lg->cp_lock);
    if (lg->cp_size == size) {
        int fits = lg->cp_len < cap;
        if (fits) {
            memcpy(note, lg->cp_note, lg->cp_len + 1);
            *note_len = lg->cp_len;
            memcpy(root, lg->cp_root, LL_HASH_LEN);
            *out_size = size;
        }
        pthread_mutex_unlock(&lg->cp_lock);
        return fits ? LL_OK : LL_ERR_BUFFER;
    }
    pthread_mutex_unlock(&lg->cp_lock);

    ll_checkpoint_t cp;
    char body[LL_NOTE_MAX];
    size_t blen;
    snprintf(cp.origin, sizeof cp.origin, "%s", lg->origin);
    cp.size = size;
    if ((err = ll_store_root(txn, size, cp.root)) ||
        (err = ll_checkpoint_format(&cp, body, sizeof body, &blen)) ||
        (err = ll_note_sign(body, blen, lg->origin, lg->note_key, note, cap, note_len)))
        return err;
    memcpy(root, cp.root, LL_HASH_LEN);
    *out_size = size;
    if (size == latest && *note_len < sizeof lg->cp_note) {
        pthread_mutex_lock(&lg->cp_lock);
        if (lg->cp_size == UINT64_MAX || size > lg->cp_size) {
            memcpy(lg->cp_note, note, *note_len + 1);
            lg->cp_len = *note_len;
            memcpy(lg->cp_root, cp.root, LL_HASH_LEN);
            lg->cp_size = size;
        }
        pthread_mutex_unlock(&lg->cp_lock);
    }
    return LL_OK;
}

void ll_ledger_metrics(ll_ledger_t *lg, ll_hist_snap_t *batch, ll_hist_snap_t *commit_ns)
{
    ll_hist_snapshot(&lg->batch_hist, batch);
    ll_hist_snapshot(&lg->commit_hist, commit_ns);
}
