/*
 * ll_ledger_int: what the files of the ledger module share, and nothing
 * outside it includes (the contract is ll_ledger.h).
 *
 * The module is four files along its seams:
 *   ll_ledger.c         submission and verification on the callers'
 *                       threads, the queue, and apply(): what one entry
 *                       does to a write transaction (also used to replay
 *                       leaves);
 *   ll_ledger_commit.c  open (start-up checks) and close, the writer
 *                       thread: group commit, map growth, commit hooks,
 *                       and the signed checkpoints it persists;
 *   ll_ledger_mirror.c  a mirror's entries (ll_ledger_replicate) and the
 *                       checkpoint sources of mirrors and witnesses;
 *   ll_ledger_sync.c    ll_ledger_append (submit and wait) and genesis.
 * Calls go one way, from the other three into ll_ledger.c (ops/check-
 * cycles holds them to it); an inline submission reaches the writer's
 * batch code through ll_ledger.run_batch, set at open.
 */
#ifndef LL_LEDGER_INT_H
#define LL_LEDGER_INT_H

#include <pthread.h>

#include "ll_entry.h"
#include "ll_ledger.h"

typedef struct ll_job {
    struct ll_job *next;
    ll_entry_t entry;
    uint8_t *raw; /* owned copy of the envelope bytes */
    size_t raw_len;
    int genesis;
    int refused; /* refused for lack of space; skipped by later attempts */
    size_t reserved; /* bytes counted in the append budget (0: not counted) */
    uint64_t submitted_ns; /* CLOCK_MONOTONIC at ll_ledger_submit_opts */
    /* A mirror's copy of a primary's entry (ll_ledger_replicate): applied at
     * want_seq with the primary's time, and its leaf must hash to
     * want_leaf, or nothing is written. */
    int replica;
    uint64_t want_seq;
    int64_t fixed_time;
    uint8_t want_leaf[LL_HASH_LEN];
    int validate_only; /* LL_SUBMIT_VALIDATE_ONLY: applied, then rolled back */
    /* A patch's merged record (ll_record_merge), owned; NULL otherwise.
     * res.effective borrows it until the job is released. */
    Loopledger__V1__EntryBody *eff;
    ll_append_cb cb;
    void *ctx;
    ll_append_result_t res;
} ll_job_t;

/* Writes batch (a list of jobs) in one commit and reports every result;
 * the caller holds busy (see struct ll_ledger). */
typedef void (*ll_batch_fn)(ll_ledger_t *lg, ll_job_t *batch);

struct ll_ledger {
    ll_store_t *st;
    const ll_key_t *note_key;
    const ll_key_t *actor_key;
    char origin[LL_NOTE_MAX_NAME + 1];
    unsigned max_batch;
    size_t max_leaf; /* 0: no limit (see ll_ledger_config_t) */

    pthread_mutex_t lock;
    pthread_cond_t wake;
    ll_job_t *head, *tail;
    int stopping;
    /* A batch is being written, by the writer thread or inline by a
     * submitter (LL_SUBMIT_INLINE): whoever sets it owns the write
     * transaction, cp_persisted and ll_store_grow until it clears it. */
    int busy;
    /* The writer's batch code, set by ll_ledger_open (ll_ledger_commit.c)
     * for an inline submitter to run: the submit side reaches the writer
     * through it, never by name, so the module's files depend one way
     * (the writer on the rules and the queue, not back). */
    ll_batch_fn run_batch;
    /* Append budget (under lock): appends between submit and result, and
     * their envelope bytes, so a flood is refused at once instead of
     * queueing without bound. */
    size_t inflight_n, inflight_bytes, max_inflight_n, max_inflight_bytes;
    /* Of those, submitted and not yet queued: being decoded and verified
     * on their RPC threads, so due within about one verification. The
     * writer waits briefly for them to join its batch (writer_main), at
     * most arrive_ns: the moving average of submit-to-queue times. */
    size_t arriving;
    uint64_t arrive_ns;
    pthread_t writer;

    /* Commit hooks (Watch streams, drift detection); slot i is free when
     * hooks[i] is NULL. Called with hook_lock held, so that a removed hook
     * is never running once removal returns. */
    pthread_mutex_t hook_lock;
    ll_commit_hook hooks[LL_LEDGER_MAX_HOOKS];
    void *hook_ctx[LL_LEDGER_MAX_HOOKS];
    /* Follow-up entries (ll_ledger_set_follow_up); called with hook_lock
     * held, for the same reason. */
    ll_follow_up_fn follow;
    void *follow_ctx;

    /* Latest signed checkpoint, so polling clients do not cost a signature
     * each. Guarded by cp_lock. */
    pthread_mutex_t cp_lock;
    uint64_t cp_size;
    char cp_note[LL_NOTE_MAX];
    size_t cp_len;
    uint8_t cp_root[LL_HASH_LEN];

    /* Size of the checkpoint last persisted under LL_AUDIT_CP_KEY (whoever
     * holds busy). */
    uint64_t cp_persisted;
    /* Set at open when the stored tree disagrees with the persisted signed
     * checkpoint: appends are refused, reads go on. */
    int refuse_writes;
    char damage[LL_MSG_MAX];

    /* Metrics (ll_ledger_metrics): entries per durable commit and the
     * time of the commit itself (LMDB's write and fsync). */
    ll_hist_t batch_hist, commit_hist;
    /* Set on a mirror: Append is refused with this primary's name. */
    char replica_of[LL_MSG_MAX / 2];
    const ll_cp_source_t *cp_source; /* set before serving; see header */
};

/* A job owning a copy of env (NULL on allocation failure). */
ll_job_t *ll_ledger_job_new(const uint8_t *env, size_t len, ll_append_cb cb, void *ctx);
/* Queues job for the writer (or fails it at once when the ledger stops). */
void ll_ledger_enqueue(ll_ledger_t *lg, ll_job_t *job);

/* Reports job's result to cb(ctx), releases its budget and frees it. */
void ll_ledger_job_done(ll_ledger_t *lg, ll_job_t *job, ll_append_cb cb, void *ctx);

/* Applies job as a new entry inside child transaction txn (the writer's
 * mode of apply()); LL_OK to commit it. buf and bufcap: a reusable leaf
 * buffer the caller frees. */
int ll_ledger_apply_new(ll_txn_t *txn, ll_job_t *job, uint8_t **buf, size_t *bufcap);
/* Applies the follow-up entries of job, just applied in txn (see
 * ll_follow_up_fn); LL_ERR_FULL when the batch must grow and retry. */
int ll_ledger_follow_up(ll_ledger_t *lg, ll_txn_t *txn, ll_job_t *job, uint8_t **buf,
                        size_t *bufcap);

#endif
