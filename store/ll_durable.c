/*
 * ll_durable: plain or write-ahead durability of an LMDB environment
 * (ll_durable.h).
 */
#include "ll_durable.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ll_clock.h"
#include "ll_err.h"
#include "ll_hist.h"
#include "ll_syncpt.h"

/* Sync LMDB early when the log grew this much since the last sync, so that
 * the log (and a replay after a crash) stays small under heavy load. */
#define KICK_BYTES (4u << 20)

struct ll_durable {
    char *dir, *wal_dir;
    int wal;
    unsigned sync_ms;
    size_t segment;
    int lock_fd;
    MDB_env *env;
    ll_durable_size_fn size_fn;
    void *size_ctx;
    ll_wal_t *log;
    /* The synced state and the read transaction that keeps LMDB from
     * reusing the pages it reaches; ckpt_lock also keeps syncs and map
     * growth apart. */
    pthread_mutex_t ckpt_lock;
    MDB_txn *protect;
    uint64_t synced_size, synced_txnid;
    pthread_t syncer;
    int syncer_on, stop, kick;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    _Atomic int broken;
    char broken_why[300];
    const ll_wal_rec_t *pending;
    size_t npending;
    char note[300];
    ll_hist_t sync_hist; /* background and on-demand syncs of LMDB, ns */
};

/* Stops all acknowledgements (what the kernel did with pages it failed to
 * write is unknown) and says why in msg[cap]; LL_ERR_IO. */
__attribute__((format(printf, 4, 5))) static int set_broken(ll_durable_t *d, char *msg,
                                                            size_t cap, const char *fmt, ...)
{
    va_list ap;
    char why[120];
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    snprintf(d->broken_why, sizeof d->broken_why,
             "%s: nothing more is acknowledged; every acknowledged entry is in the write-ahead "
             "log: restart the server once the disk is healthy",
             why);
    atomic_store(&d->broken, 1);
    LL_FAIL(LL_ERR_IO, "%s", d->broken_why);
}

static char *join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s/%s", a, b);
    return s;
}

int ll_durable_preopen(const char *dir, const ll_durable_config_t *cfg, ll_durable_t **out,
                       char *msg, size_t cap)
{
    ll_durable_t *d = calloc(1, sizeof *d);
    ll_syncpt_t sp = {0};
    char *data = NULL, *lock = NULL;
    int err = LL_OK, lk = -2;
    if (!d)
        return LL_ERR_NOMEM;
    d->lock_fd = -1;
    d->wal = cfg && cfg->wal;
    d->sync_ms = cfg && cfg->sync_ms ? cfg->sync_ms : 1000;
    d->segment = cfg ? cfg->segment : 0;
    pthread_mutex_init(&d->ckpt_lock, NULL);
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->cv, NULL);
    ll_hist_init(&d->sync_hist, ll_hist_latency_ns, 16);
    if (!(d->dir = strdup(dir)) || !(d->wal_dir = join(dir, "wal")) ||
        !(data = join(dir, "data.mdb")) || !(lock = join(dir, "lock.mdb"))) {
        err = LL_ERR_NOMEM;
        goto out;
    }
    if (d->wal) {
        char *p = join(d->wal_dir, "LOCK");
        if (!p) {
            err = LL_ERR_NOMEM;
            goto out;
        }
        if (mkdir(d->wal_dir, 0700) && errno != EEXIST) {
            snprintf(msg, cap, "cannot create %s: %s", d->wal_dir, strerror(errno));
            free(p);
            err = LL_ERR_IO;
            goto out;
        }
        d->lock_fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        free(p);
        if (d->lock_fd < 0 || flock(d->lock_fd, LOCK_EX | LOCK_NB)) {
            snprintf(msg, cap,
                     "another loopledgerd serves %s (it holds %s/LOCK): stop it first, or give "
                     "this one its own --data directory",
                     dir, d->wal_dir);
            err = LL_ERR_UNAVAILABLE;
            goto out;
        }
    }
    /* The log is read first: a damaged log refuses the start before
     * anything on disk changes. */
    if (d->wal && (err = ll_wal_open(d->wal_dir, d->segment, &d->log, msg, cap)))
        goto out;
    err = ll_syncpt_load(d->wal_dir, &sp, msg, cap);
    if (err == LL_ERR_NOT_FOUND) {
        err = LL_OK;
        goto out;
    }
    if (err)
        goto out;
    /* Nobody else may have the environment open while its meta pages
     * change, nor while the record of its synced state goes. */
    lk = ll_syncpt_lock_env(lock);
    if (lk == -1) {
        if (!d->wal)
            goto out; /* a running server's: its page cache is the truth */
    }
    int differs = ll_syncpt_differs(data, &sp);
    if (differs < 0) {
        snprintf(msg, cap, "cannot read %s: %s", data, strerror(errno));
        err = LL_ERR_IO;
        goto out;
    }
    if (differs) {
        if (lk == -1) {
            snprintf(msg, cap,
                     "%s moved past its last synced state (the server stopped without its last "
                     "sync) and another process has it open: stop that process (loopledgerd "
                     "verify or backup?) and start the server again",
                     data);
            err = LL_ERR_UNAVAILABLE;
            goto out;
        }
        if ((err = ll_syncpt_restore(data, &sp))) {
            snprintf(msg, cap, "cannot roll %s back to its synced state: %s", data,
                     strerror(errno));
            goto out;
        }
        snprintf(d->note, sizeof d->note,
                 "the last stop was not clean: rolled data.mdb back to its last synced state "
                 "(%" PRIu64 " entries, LMDB transaction %" PRIu64 ")",
                 sp.size, sp.txnid);
    }
    /* A plain opener's commits are durable by themselves, and after the
     * roll-back LMDB's state is a synced one: the record has done its job
     * (the log's leaves past it wait for the next server). */
    if (!d->wal && (err = ll_syncpt_remove(d->wal_dir))) {
        snprintf(msg, cap, "cannot remove %s/synced: %s", d->wal_dir, strerror(errno));
        goto out;
    }
out:
    ll_syncpt_unlock(lk);
    ll_syncpt_free(&sp);
    free(data);
    free(lock);
    if (err) {
        ll_durable_close(d);
        return err;
    }
    *out = d;
    return LL_OK;
}

unsigned ll_durable_env_flags(const ll_durable_t *d)
{
    return d->wal ? MDB_NOSYNC : 0;
}

int ll_durable_wal(const ll_durable_t *d)
{
    return d && d->wal;
}

/* Syncs LMDB and saves the synced state (ckpt_lock held). LMDB's write
 * lock is taken only to read a state no commit is changing; the sync runs
 * after it is released, so commits go on meanwhile (their pages are not
 * part of the saved state, and the protecting reader keeps its pages). */
static int checkpoint_locked(ll_durable_t *d, int force, char *msg, size_t cap)
{
    MDB_txn *w = NULL, *r = NULL;
    ll_syncpt_t sp = {0};
    MDB_stat ms;
    int fd = -1, rc, err = LL_OK;
    if (atomic_load(&d->broken))
        LL_FAIL(LL_ERR_IO, "%s", d->broken_why);
    if ((rc = mdb_txn_begin(d->env, NULL, 0, &w)) ||
        (rc = mdb_txn_begin(d->env, NULL, MDB_RDONLY, &r))) {
        snprintf(msg, cap, "sync: %s", mdb_strerror(rc));
        err = LL_ERR_STORE;
        goto fail;
    }
    uint64_t txnid = (uint64_t)mdb_txn_id(r);
    if (!force && txnid == d->synced_txnid && d->protect) {
        mdb_txn_abort(r);
        mdb_txn_abort(w);
        return LL_OK;
    }
    uint64_t size = d->size_fn(r, d->size_ctx);
    if ((rc = mdb_env_stat(d->env, &ms)) || (rc = mdb_env_get_fd(d->env, &fd))) {
        snprintf(msg, cap, "sync: %s", mdb_strerror(rc));
        err = LL_ERR_STORE;
        goto fail;
    }
    if ((err = ll_syncpt_capture(fd, ms.ms_psize, size, txnid, &sp))) {
        snprintf(msg, cap, "sync: cannot read data.mdb's meta pages: %s", strerror(errno));
        goto fail;
    }
    mdb_txn_abort(w);
    w = NULL;
    int64_t t0 = ll_clock_mono_ns();
    if ((rc = mdb_env_sync(d->env, 1))) {
        /* What the kernel did with the pages it could not write is
         * unknown; a later sync that succeeds proves nothing about them. */
        err = set_broken(d, msg, cap, "syncing data.mdb failed (%s)", mdb_strerror(rc));
        goto fail;
    }
    ll_hist_add(&d->sync_hist, (uint64_t)(ll_clock_mono_ns() - t0));
    if ((err = ll_syncpt_save(d->wal_dir, &sp))) {
        /* The previous synced state and its reader still stand. */
        snprintf(msg, cap, "cannot save %s/synced: %s", d->wal_dir, strerror(errno));
        goto fail;
    }
    if (d->protect)
        mdb_txn_abort(d->protect);
    d->protect = r;
    d->synced_size = size;
    d->synced_txnid = txnid;
    ll_syncpt_free(&sp);
    if (d->log)
        ll_wal_truncate(d->log, size);
    return LL_OK;
fail:
    if (w)
        mdb_txn_abort(w);
    if (r)
        mdb_txn_abort(r);
    ll_syncpt_free(&sp);
    return err;
}

static void *syncer_main(void *arg)
{
    ll_durable_t *d = arg;
    char msg[LL_MSG_MAX];
    pthread_setname_np(pthread_self(), "ll-syncer");
    for (;;) {
        pthread_mutex_lock(&d->mu);
        if (!d->stop && !d->kick) {
            struct timespec ts = ll_clock_deadline((uint64_t)d->sync_ms * 1000000u);
            pthread_cond_timedwait(&d->cv, &d->mu, &ts);
        }
        int stop = d->stop;
        d->kick = 0;
        pthread_mutex_unlock(&d->mu);
        if (stop)
            break;
        pthread_mutex_lock(&d->ckpt_lock);
        if (!atomic_load(&d->broken))
            (void)checkpoint_locked(d, 0, msg, sizeof msg); /* kept in broken_why if fatal */
        pthread_mutex_unlock(&d->ckpt_lock);
        (void)ll_wal_prepare(d->log); /* the writer makes one itself if this failed */
    }
    return NULL;
}

int ll_durable_start(ll_durable_t *d, MDB_env *env, ll_durable_size_fn size_fn, void *size_ctx,
                     uint64_t committed_size,
                     int (*leaf_fn)(void *ctx, uint64_t seq, const uint8_t **leaf, size_t *len),
                     void *leaf_ctx, char *msg, size_t cap)
{
    const ll_wal_rec_t *recs;
    int err;
    d->env = env;
    d->size_fn = size_fn;
    d->size_ctx = size_ctx;
    if (!d->wal)
        return LL_OK;
    size_t n = ll_wal_records(d->log, &recs), i = 0;
    /* Leaves LMDB has must be the very ones the log acknowledged. */
    for (; i < n && recs[i].seq < committed_size; i++) {
        const uint8_t *leaf;
        size_t len;
        if ((err = leaf_fn(leaf_ctx, recs[i].seq, &leaf, &len)) || len != recs[i].len ||
            memcmp(leaf, recs[i].leaf, len))
            LL_FAIL(LL_ERR_CORRUPT,
                    "entry #%" PRIu64 " in data.mdb is not the one the write-ahead log "
                    "acknowledged: the ledger was written behind the server's back; restore it "
                    "from a backup or a mirror",
                    recs[i].seq);
    }
    if (i < n && recs[i].seq != committed_size)
        LL_FAIL(LL_ERR_CORRUPT,
                "the write-ahead log continues at entry #%" PRIu64 " but data.mdb ends at #%" PRIu64
                ": entries between are missing; restore the ledger from a backup or a mirror",
                recs[i].seq, committed_size ? committed_size - 1 : 0);
    d->pending = recs + i;
    d->npending = n - i;
    pthread_mutex_lock(&d->ckpt_lock);
    err = checkpoint_locked(d, 1, msg, cap);
    pthread_mutex_unlock(&d->ckpt_lock);
    if (err)
        return err;
    d->kick = 1; /* make the first spare segment ready at once */
    if (pthread_create(&d->syncer, NULL, syncer_main, d))
        LL_FAIL(LL_ERR_NOMEM, "cannot start the syncer thread");
    d->syncer_on = 1;
    return LL_OK;
}

int ll_durable_log(ll_durable_t *d, uint64_t first, size_t n, const uint8_t *const *leaves,
                   const size_t *lens, char *msg, size_t cap)
{
    if (atomic_load(&d->broken))
        LL_FAIL(LL_ERR_IO, "%s", d->broken_why);
    int err = ll_wal_write(d->log, first, n, leaves, lens);
    if (err && ll_wal_broken(d->log))
        return set_broken(d, msg, cap, "writing the write-ahead log in %.80s failed (%s)",
                          d->wal_dir, strerror(errno));
    if (err == LL_ERR_FULL)
        LL_FAIL(err, "disk full: no room for a new write-ahead log segment in %.80s (%s); "
                "free space, then retry", d->wal_dir, strerror(errno));
    if (err)
        LL_FAIL(err, "cannot start a new write-ahead log segment in %.80s: %s", d->wal_dir,
                err == LL_ERR_IO ? strerror(errno) : ll_strerror(err));
    if (ll_wal_bytes_pending(d->log) > KICK_BYTES) {
        pthread_mutex_lock(&d->mu);
        d->kick = 1;
        pthread_cond_signal(&d->cv);
        pthread_mutex_unlock(&d->mu);
    }
    return LL_OK;
}

int ll_durable_retract(ll_durable_t *d, uint64_t first, char *msg, size_t cap)
{
    if (atomic_load(&d->broken))
        LL_FAIL(LL_ERR_IO, "%s", d->broken_why);
    if (ll_wal_retract(d->log, first))
        return set_broken(d, msg, cap, "a failed commit could not be retracted from the "
                          "write-ahead log in %.80s (%s)", d->wal_dir, strerror(errno));
    return LL_OK;
}

int ll_durable_sync_now(ll_durable_t *d, char *msg, size_t cap)
{
    if (!d->wal)
        return LL_OK;
    pthread_mutex_lock(&d->ckpt_lock);
    int err = checkpoint_locked(d, 0, msg, cap);
    pthread_mutex_unlock(&d->ckpt_lock);
    return err;
}

size_t ll_durable_pending(ll_durable_t *d, const ll_wal_rec_t **recs)
{
    *recs = d->pending;
    return d->npending;
}

void ll_durable_pending_done(ll_durable_t *d)
{
    d->pending = NULL;
    d->npending = 0;
    if (d->log)
        ll_wal_release_records(d->log);
}

int ll_durable_copy_log(ll_durable_t *d, const char *dst)
{
    char *to = join(dst, "wal");
    if (!to)
        return LL_ERR_NOMEM;
    int err = ll_wal_copy_segments(d->wal_dir, to);
    free(to);
    return err;
}

void ll_durable_metrics(ll_durable_t *d, ll_hist_snap_t *syncs, uint64_t *log_bytes)
{
    ll_hist_snapshot(&d->sync_hist, syncs);
    *log_bytes = d->log ? ll_wal_bytes_pending(d->log) : 0;
}

const char *ll_durable_note(const ll_durable_t *d)
{
    return d->note;
}

int ll_durable_release(ll_durable_t *d)
{
    char msg[LL_MSG_MAX];
    MDB_envinfo info;
    int moved = 0;
    if (!d->wal)
        return 0;
    pthread_mutex_lock(&d->ckpt_lock);
    if (!mdb_env_info(d->env, &info) && (uint64_t)info.me_last_txnid != d->synced_txnid &&
        checkpoint_locked(d, 0, msg, sizeof msg) == LL_OK)
        moved = 1;
    pthread_mutex_unlock(&d->ckpt_lock);
    return moved;
}

void ll_durable_grow_begin(ll_durable_t *d)
{
    if (!d->wal)
        return;
    pthread_mutex_lock(&d->ckpt_lock);
    if (d->protect)
        mdb_txn_abort(d->protect);
    d->protect = NULL;
}

void ll_durable_grow_end(ll_durable_t *d)
{
    char msg[LL_MSG_MAX];
    if (!d->wal)
        return;
    /* No commit ran since the reader went: the pages of the saved state
     * are intact, and this takes a new one before the next commit. A
     * failure leaves protect NULL, and the next sync retries. */
    (void)checkpoint_locked(d, 1, msg, sizeof msg);
    pthread_mutex_unlock(&d->ckpt_lock);
}

void ll_durable_close(ll_durable_t *d)
{
    char msg[LL_MSG_MAX];
    if (!d)
        return;
    if (d->syncer_on) {
        pthread_mutex_lock(&d->mu);
        d->stop = 1;
        pthread_cond_signal(&d->cv);
        pthread_mutex_unlock(&d->mu);
        pthread_join(d->syncer, NULL);
    }
    if (d->wal && d->env) {
        pthread_mutex_lock(&d->ckpt_lock);
        /* A clean stop: once LMDB is synced, no segment is needed, and
         * the next open reads none. */
        if (!atomic_load(&d->broken) && checkpoint_locked(d, 0, msg, sizeof msg) == LL_OK &&
            d->log) {
            ll_wal_finish(d->log);
            ll_wal_truncate(d->log, d->synced_size);
        }
        if (d->protect)
            mdb_txn_abort(d->protect);
        d->protect = NULL;
        pthread_mutex_unlock(&d->ckpt_lock);
    }
    ll_wal_close(d->log);
    if (d->lock_fd >= 0)
        close(d->lock_fd);
    pthread_mutex_destroy(&d->ckpt_lock);
    pthread_mutex_destroy(&d->mu);
    pthread_cond_destroy(&d->cv);
    free(d->dir);
    free(d->wal_dir);
    free(d);
}
