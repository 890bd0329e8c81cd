/*
 * ll_store: LMDB persistence of the log and its Merkle nodes (ll_store.h).
 *
 * Why the frontier lives in memory: appending leaf n needs the left
 * siblings of every node it completes, which are exactly the peaks of the
 * tree of size n. Keeping them in memory makes an append O(log n) hashes and
 * O(log n) puts with no reads; they are reloaded at open from O(log n)
 * stored nodes, so a restart replays nothing.
 */
#include "ll_store.h"

#include <errno.h>
#include <stdarg.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

#include "ll_assert.h"
#include "ll_bytes.h"
#include "ll_clock.h"
#include "ll_durable.h"
#include "ll_err.h"
#include "ll_store_int.h"

#define LL_DEFAULT_MAP (16ULL << 30)
#define LL_DEFAULT_READERS 1024
#define LL_GROW_MIN_STEP (64ULL << 20)
#define LL_GROW_MIN_FREE (16ULL << 20)
#define LL_GROW_WAIT_NS (2000000000LL)
static _Thread_local char store_err[400];
/* Whether this thread's last "full" error was the map limit (curable by
 * ll_store_grow) rather than a full disk or an oversized transaction. */
static _Thread_local int store_map_full;

static const char *const table_names[LL_TBL__COUNT] = {
    [LL_TBL_META] = "meta",
    [LL_TBL_DEDUP] = "dedup",
    [LL_TBL_ACTORS] = "actors",
    [LL_TBL_KEYS] = "keys",
    [LL_TBL_INDEX] = "index",
};

/* What the last lookup that found nothing looked for; its message is
 * written only if asked for (ll_store_last_error): a missing key is an
 * answer most callers expect (every new entry's dedup lookup), and
 * formatting it cost more than the lookup. Pending while store_err is "". */
static _Thread_local const char *store_notfound;

static int map_err(int rc, const char *what)
{
    if (rc == 0)
        return LL_OK;
    if (rc == MDB_NOTFOUND) {
        store_err[0] = 0;
        store_notfound = what;
        return LL_ERR_NOT_FOUND;
    }
    snprintf(store_err, sizeof store_err, "%s: %s", what, mdb_strerror(rc));
    if (rc == MDB_MAP_FULL || rc == ENOSPC || rc == MDB_TXN_FULL)
        store_map_full = rc == MDB_MAP_FULL;
    switch (rc) {
    case MDB_MAP_FULL:
    case ENOSPC:
    case MDB_TXN_FULL: return LL_ERR_FULL;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID: return LL_ERR_CORRUPT;
    case ENOMEM: return LL_ERR_NOMEM;
    /* More concurrent readers than reader slots: a load limit, not a
     * fault; the caller may retry. */
    case MDB_READERS_FULL: return LL_ERR_UNAVAILABLE;
    default: return LL_ERR_STORE;
    }
}

/* Below this much free space a failed write is a full disk. LMDB reports
 * a short write (the file system filled up half-way through) as EIO, so
 * the error code alone does not say "full": the file system does. */
#define LL_DISK_LOW (16ULL << 20)

static int write_err(ll_store_t *st, int rc, const char *what)
{
    int err = map_err(rc, what);
    struct statvfs fs;
    if (!err || rc == MDB_MAP_FULL || rc == MDB_TXN_FULL || err == LL_ERR_NOT_FOUND)
        return err;
    if (statvfs(st->dir, &fs) == 0 &&
        (unsigned long long)fs.f_bavail * fs.f_frsize < LL_DISK_LOW) {
        char was[160];
        size_t n = strnlen(store_err, sizeof was - 1);
        memcpy(was, store_err, n);
        was[n] = 0;
        snprintf(store_err, sizeof store_err,
                 "disk full: free space on the file system of %s, then retry (%llu KiB left; %s)",
                 st->dir, (unsigned long long)fs.f_bavail * fs.f_frsize >> 10, was);
        store_map_full = 0; /* growing the map would not help */
        return LL_ERR_FULL;
    }
    return err;
}

const char *ll_store_last_error(void)
{
    if (!store_err[0] && store_notfound)
        snprintf(store_err, sizeof store_err, "%s: %s", store_notfound,
                 mdb_strerror(MDB_NOTFOUND));
    return store_err;
}

static int meta_u64(MDB_txn *txn, MDB_dbi dbi, const char *name, uint64_t *out)
{
    MDB_val k = {strlen(name), (void *)name}, v;
    int rc = mdb_get(txn, dbi, &k, &v);
    if (rc == MDB_NOTFOUND) {
        *out = 0;
        return LL_OK;
    }
    if (rc)
        return map_err(rc, "read meta");
    if (v.mv_size != 8)
        return LL_ERR_CORRUPT;
    *out = ll_get_be64(v.mv_data);
    return LL_OK;
}

static int put_meta_u64(MDB_txn *txn, MDB_dbi dbi, const char *name, uint64_t val)
{
    uint8_t b[8];
    ll_put_be64(b, val);
    MDB_val k = {strlen(name), (void *)name}, v = {8, b};
    return map_err(mdb_put(txn, dbi, &k, &v, 0), "write meta");
}

static uint64_t durable_size(MDB_txn *txn, void *ctx)
{
    ll_store_t *st = ctx;
    uint64_t size = 0;
    return meta_u64(txn, st->aux[LL_TBL_META], "size", &size) ? 0 : size;
}

typedef struct leaf_reader {
    ll_store_t *st;
    MDB_txn *txn;
} leaf_reader_t;

static int durable_leaf(void *ctx, uint64_t seq, const uint8_t **leaf, size_t *len)
{
    leaf_reader_t *lr = ctx;
    uint8_t kb[8];
    ll_put_be64(kb, seq);
    MDB_val k = {8, kb}, v;
    int rc = mdb_get(lr->txn, lr->st->leaves, &k, &v);
    if (rc)
        return map_err(rc, "read leaf");
    *leaf = v.mv_data;
    *len = v.mv_size;
    return LL_OK;
}

/* Hands the environment to ll_durable (write-ahead mode reads its log
 * against the stored leaves and starts syncing). */
static int start_durable(ll_store_t *st, uint64_t size)
{
    leaf_reader_t lr = {.st = st};
    char msg[sizeof store_err];
    int rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &lr.txn);
    if (rc)
        return map_err(rc, "begin");
    int err = ll_durable_start(st->dur, st->env, durable_size, st, size, durable_leaf, &lr, msg,
                               sizeof msg);
    mdb_txn_abort(lr.txn);
    if (err)
        snprintf(store_err, sizeof store_err, "%s", msg);
    return err;
}

int ll_store_open(const char *dir, const ll_store_config_t *cfg,
                  ll_store_t **out)
{
    ll_store_t *st = calloc(1, sizeof *st);
    MDB_txn *txn = NULL;
    int err, rc;
    if (!st)
        return LL_ERR_NOMEM;
    pthread_mutex_init(&st->lock, NULL);
    pthread_mutex_init(&st->gate_lock, NULL);
    pthread_mutex_init(&st->pool_lock, NULL);
    pthread_cond_init(&st->gate_open, NULL);
    size_t map = cfg && cfg->map_size ? cfg->map_size : LL_DEFAULT_MAP;
    map = (map + 4095) & ~(size_t)4095;
    st->map_max = cfg ? cfg->map_max : 0;
    if (!(st->dir = strdup(dir))) {
        err = LL_ERR_NOMEM;
        goto fail;
    }
    unsigned readers = cfg && cfg->max_readers ? cfg->max_readers : LL_DEFAULT_READERS;
    ll_durable_config_t dc = {.wal = cfg && cfg->wal, .sync_ms = cfg ? cfg->sync_ms : 0,
                              .segment = cfg ? cfg->wal_segment : 0};
    if ((err = ll_durable_preopen(dir, &dc, &st->dur, store_err, sizeof store_err)))
        goto fail;

    if ((rc = mdb_env_create(&st->env))) {
        err = map_err(rc, "mdb_env_create");
        goto fail;
    }
    mdb_env_set_maxdbs(st->env, LL_TBL__COUNT + 4);
    mdb_env_set_maxreaders(st->env, readers);
    mdb_env_set_mapsize(st->env, map);
    /* MDB_NOTLS: read transactions are not bound to threads, so the server
     * can keep a pool of them; MDB_NORDAHEAD: random reads dominate. */
    rc = mdb_env_open(st->env, dir, MDB_NOTLS | MDB_NORDAHEAD | ll_durable_env_flags(st->dur),
                      0600);
    if (rc) {
        err = map_err(rc, "mdb_env_open");
        goto fail;
    }
    if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn))) {
        err = map_err(rc, "begin");
        goto fail;
    }
    if ((rc = mdb_dbi_open(txn, "leaves", MDB_CREATE, &st->leaves)) ||
        (rc = mdb_dbi_open(txn, "nodes", MDB_CREATE, &st->nodes))) {
        err = map_err(rc, "open tables");
        goto fail;
    }
    for (int i = 0; i < LL_TBL__COUNT; i++) {
        if ((rc = mdb_dbi_open(txn, table_names[i], MDB_CREATE, &st->aux[i]))) {
            err = map_err(rc, "open tables");
            goto fail;
        }
    }
    uint64_t size = 0, last = 0;
    if ((err = meta_u64(txn, st->aux[LL_TBL_META], "size", &size)) ||
        (err = meta_u64(txn, st->aux[LL_TBL_META], "last_time", &last)))
        goto fail;
    ll_txn_t view = {.st = st, .txn = txn};
    err = ll_merkle_frontier_load(&st->frontier, ll_store_node_fn, &view, size);
    if (err) {
        snprintf(store_err, sizeof store_err,
                 "tree nodes for size %llu are missing", (unsigned long long)size);
        err = LL_ERR_CORRUPT;
        goto fail;
    }
    if ((rc = mdb_txn_commit(txn))) {
        txn = NULL;
        err = map_err(rc, "commit");
        goto fail;
    }
    txn = NULL;
    st->last_time = (int64_t)last;
    atomic_store(&st->size, size);
    if ((err = start_durable(st, size)))
        goto fail;
    *out = st;
    return LL_OK;
fail:
    if (txn)
        mdb_txn_abort(txn);
    ll_durable_close(st->dur);
    if (st->env)
        mdb_env_close(st->env);
    pthread_mutex_destroy(&st->lock);
    pthread_mutex_destroy(&st->gate_lock);
    pthread_mutex_destroy(&st->pool_lock);
    pthread_cond_destroy(&st->gate_open);
    free(st->dir);
    free(st);
    return err;
}

void ll_store_close(ll_store_t *st)
{
    if (!st)
        return;
    LL_ASSERT(atomic_load(&st->active) == 0); /* all transactions ended */
    for (int i = 0; i < st->pool_n; i++) {
        mdb_txn_abort(st->pool[i]->txn);
        free(st->pool[i]);
    }
    ll_durable_close(st->dur);
    mdb_env_close(st->env);
    free(st->leafv);
    free(st->lenv);
    pthread_mutex_destroy(&st->lock);
    pthread_mutex_destroy(&st->gate_lock);
    pthread_mutex_destroy(&st->pool_lock);
    pthread_cond_destroy(&st->gate_open);
    free(st->dir);
    free(st);
}

uint64_t ll_store_committed_size(ll_store_t *st)
{
    return atomic_load(&st->size);
}

/* Top-level transactions pass the remap gate; children ride on their
 * parent's passage. The fast path is one atomic add and one load. */
static void gate_enter(ll_store_t *st)
{
    for (;;) {
        atomic_fetch_add(&st->active, 1);
        if (!atomic_load(&st->growing))
            return;
        atomic_fetch_sub(&st->active, 1);
        pthread_mutex_lock(&st->gate_lock);
        while (atomic_load(&st->growing))
            pthread_cond_wait(&st->gate_open, &st->gate_lock);
        pthread_mutex_unlock(&st->gate_lock);
    }
}

static void gate_leave(ll_store_t *st)
{
    atomic_fetch_sub(&st->active, 1);
}

static void txn_free(ll_txn_t *t)
{
    if (!t->parent) {
        gate_leave(t->st);
    } else {
        t->parent->child_open = 0;
    }
    free(t);
}

/* A reset read transaction from the pool, renewed on the newest snapshot,
 * or NULL. The caller has passed the remap gate. */
static ll_txn_t *pool_take(ll_store_t *st)
{
    ll_txn_t *t = NULL;
    pthread_mutex_lock(&st->pool_lock);
    if (st->pool_n > 0)
        t = st->pool[--st->pool_n];
    pthread_mutex_unlock(&st->pool_lock);
    if (t && mdb_txn_renew(t->txn)) {
        mdb_txn_abort(t->txn);
        free(t);
        t = NULL;
    }
    return t;
}

/* Ends a top-level read transaction: reset into the pool when it has room. */
static void pool_put(ll_store_t *st, ll_txn_t *t)
{
    mdb_txn_reset(t->txn);
    pthread_mutex_lock(&st->pool_lock);
    if (st->pool_n < LL_READ_POOL) {
        st->pool[st->pool_n++] = t;
        t = NULL;
    }
    pthread_mutex_unlock(&st->pool_lock);
    if (t) {
        mdb_txn_abort(t->txn);
        free(t);
    }
}

static int begin(ll_store_t *st, ll_txn_t *parent, int write, ll_txn_t **out)
{
    if (!parent && !write) {
        gate_enter(st);
        ll_txn_t *t = pool_take(st);
        if (t) {
            *out = t;
            return LL_OK;
        }
        gate_leave(st);
    }
    ll_txn_t *t = malloc(sizeof *t);
    if (!t)
        return LL_ERR_NOMEM;
    t->st = st;
    t->parent = parent;
    t->write = write;
    t->child_open = 0;
    if (!parent) {
        gate_enter(st);
    } else {
        LL_ASSERT(!parent->child_open); /* one child at a time */
        parent->child_open = 1;
    }
    int rc = mdb_txn_begin(st->env, parent ? parent->txn : NULL,
                           write ? 0 : MDB_RDONLY, &t->txn);
    if (rc) {
        txn_free(t);
        return map_err(rc, "begin transaction");
    }
    if (parent) {
        t->frontier = parent->frontier;
        t->last_time = parent->last_time;
    } else if (write) {
        /* The writer is alone, so the committed frontier cannot move under
         * us; the lock only orders us against readers of st->frontier. */
        pthread_mutex_lock(&st->lock);
        t->frontier = st->frontier;
        t->last_time = st->last_time;
        pthread_mutex_unlock(&st->lock);
    }
    *out = t;
    return LL_OK;
}

int ll_store_begin_read(ll_store_t *st, ll_txn_t **out)
{
    return begin(st, NULL, 0, out);
}

int ll_store_begin_write(ll_store_t *st, ll_txn_t **out)
{
    return begin(st, NULL, 1, out);
}

int ll_store_begin_child(ll_txn_t *parent, ll_txn_t **out)
{
    if (!parent->write)
        return LL_ERR_INVALID;
    return begin(parent->st, parent, 1, out);
}

/* Commits txn; logged: its new leaves are already durable in the
 * write-ahead log, so LMDB need not be synced now. */
/* The tree's size and last time go to meta once per top-level commit, not
 * once per leaf (children pass them up in their frontier). */
int ll_store_put_tree_meta_(ll_txn_t *txn)
{
    ll_store_t *st = txn->st;
    if (!txn->write || txn->parent || txn->frontier.size == atomic_load(&st->size))
        return LL_OK;
    MDB_dbi meta = st->aux[LL_TBL_META];
    int err = put_meta_u64(txn->txn, meta, "size", txn->frontier.size);
    return err ? err : put_meta_u64(txn->txn, meta, "last_time", (uint64_t)txn->last_time);
}

int ll_store_commit_(ll_txn_t *txn, int logged)
{
    ll_store_t *st = txn->st;
    LL_ASSERT(!txn->child_open);
    int merr = logged ? LL_OK : ll_store_put_tree_meta_(txn);
    if (merr) {
        mdb_txn_abort(txn->txn);
        txn_free(txn);
        return merr;
    }
    uint64_t id = txn->write && !txn->parent ? (uint64_t)mdb_txn_id(txn->txn) : 0;
    int rc = mdb_txn_commit(txn->txn);
    int err = txn->write ? write_err(st, rc, "commit") : map_err(rc, "commit");
    if (!err && txn->write && !txn->parent && !logged && ll_durable_wal(st->dur)) {
        /* Not in the log: durable only once LMDB is synced. */
        char msg[sizeof store_err];
        if ((err = ll_durable_sync_now(st->dur, msg, sizeof msg)))
            snprintf(store_err, sizeof store_err, "%s", msg);
    }
    if (!err && txn->write) {
        if (txn->parent) {
            txn->parent->frontier = txn->frontier;
            txn->parent->last_time = txn->last_time;
        } else {
            store_map_full = 0; /* the map had room after all */
            pthread_mutex_lock(&st->lock);
            st->frontier = txn->frontier;
            st->last_time = txn->last_time;
            pthread_mutex_unlock(&st->lock);
            atomic_store(&st->size, txn->frontier.size);
            atomic_store(&st->snap_id, 0);
            atomic_store(&st->snap_size, txn->frontier.size);
            atomic_store(&st->snap_time, (uint64_t)txn->last_time);
            atomic_store(&st->snap_id, id);
        }
    }
    txn_free(txn);
    return err;
}

int ll_store_commit(ll_txn_t *txn)
{
    return ll_store_commit_(txn, 0);
}

void ll_store_abort(ll_txn_t *txn)
{
    if (!txn)
        return;
    if (!txn->write && !txn->parent) {
        ll_store_t *st = txn->st;
        pool_put(st, txn);
        gate_leave(st);
        return;
    }
    mdb_txn_abort(txn->txn);
    txn_free(txn);
}

/* The snapshot's size or last time (which: snap_size or snap_time) without
 * a lookup when txn reads the newest snapshot this process committed. */
static int snap_get(ll_txn_t *txn, _Atomic uint64_t *which, uint64_t *out)
{
    ll_store_t *st = txn->st;
    uint64_t id = (uint64_t)mdb_txn_id(txn->txn);
    if (atomic_load(&st->snap_id) != id)
        return 0;
    uint64_t v = atomic_load(which);
    if (atomic_load(&st->snap_id) != id)
        return 0;
    *out = v;
    return 1;
}

uint64_t ll_store_size(ll_txn_t *txn)
{
    if (txn->write)
        return txn->frontier.size;
    uint64_t size = 0;
    if (snap_get(txn, &txn->st->snap_size, &size))
        return size;
    if (meta_u64(txn->txn, txn->st->aux[LL_TBL_META], "size", &size))
        return 0;
    return size;
}

int64_t ll_store_last_time(ll_txn_t *txn)
{
    if (txn->write)
        return txn->last_time;
    uint64_t t = 0;
    if (snap_get(txn, &txn->st->snap_time, &t))
        return (int64_t)t;
    if (meta_u64(txn->txn, txn->st->aux[LL_TBL_META], "last_time", &t))
        return 0;
    return (int64_t)t;
}

int ll_store_leaf(ll_txn_t *txn, uint64_t seq, const uint8_t **leaf, size_t *len)
{
    uint8_t kb[8];
    ll_put_be64(kb, seq);
    MDB_val k = {8, kb}, v;
    int rc = mdb_get(txn->txn, txn->st->leaves, &k, &v);
    if (rc)
        return map_err(rc, "read leaf");
    *leaf = v.mv_data;
    *len = v.mv_size;
    return LL_OK;
}

int ll_store_node(ll_txn_t *txn, unsigned level, uint64_t index,
                  uint8_t out[LL_HASH_LEN])
{
    uint8_t kb[9];
    kb[0] = (uint8_t)level;
    ll_put_be64(kb + 1, index);
    MDB_val k = {9, kb}, v;
    int rc = mdb_get(txn->txn, txn->st->nodes, &k, &v);
    if (rc)
        return map_err(rc, "read node");
    if (v.mv_size != LL_HASH_LEN)
        return LL_ERR_CORRUPT;
    memcpy(out, v.mv_data, LL_HASH_LEN);
    return LL_OK;
}

int ll_store_node_fn(void *ctx, unsigned level, uint64_t index,
                     uint8_t out[LL_HASH_LEN])
{
    return ll_store_node(ctx, level, index, out);
}

int ll_store_root(ll_txn_t *txn, uint64_t size, uint8_t out[LL_HASH_LEN])
{
    if (size > ll_store_size(txn))
        return LL_ERR_RANGE;
    if (txn->write && size == txn->frontier.size) {
        ll_merkle_frontier_root(&txn->frontier, out);
        return LL_OK;
    }
    return ll_merkle_root(ll_store_node_fn, txn, size, out);
}

static int emit_node(void *ctx, unsigned level, uint64_t index,
                     const uint8_t hash[LL_HASH_LEN])
{
    ll_txn_t *txn = ctx;
    uint8_t kb[9];
    kb[0] = (uint8_t)level;
    ll_put_be64(kb + 1, index);
    MDB_val k = {9, kb}, v = {LL_HASH_LEN, (void *)hash};
    return write_err(txn->st, mdb_put(txn->txn, txn->st->nodes, &k, &v, 0), "write node");
}

int ll_store_append(ll_txn_t *txn, const uint8_t *leaf, size_t len, int64_t t,
                    uint8_t leaf_hash[LL_HASH_LEN])
{
    if (!txn->write)
        return LL_ERR_INVALID;
    LL_ASSERT(!txn->child_open);
    uint64_t seq = txn->frontier.size;
    uint8_t kb[8];
    ll_put_be64(kb, seq);
    MDB_val k = {8, kb}, v = {len, (void *)leaf};
    /* Leaves arrive in key order, so MDB_APPEND skips the search and keeps
     * pages full. */
    int err = write_err(txn->st, mdb_put(txn->txn, txn->st->leaves, &k, &v, MDB_APPEND),
                        "write leaf");
    if (err)
        return err;
    ll_merkle_frontier_t next = txn->frontier;
    if (txn->st->scratch) {
        /* No tree: the size is all a scratch reads of it. */
        memset(leaf_hash, 0, LL_HASH_LEN);
        next.size++;
    } else {
        ll_merkle_leaf_hash(leaf, len, leaf_hash);
        if ((err = ll_merkle_frontier_append(&next, leaf_hash, emit_node, txn)))
            return err;
    }
    txn->frontier = next;
    txn->last_time = t;
    return LL_OK;
}

size_t ll_store_map_size(ll_store_t *st)
{
    MDB_envinfo info;
    if (mdb_env_info(st->env, &info))
        return 0;
    return info.me_mapsize;
}

size_t ll_store_map_used(ll_store_t *st)
{
    MDB_envinfo info;
    MDB_stat ms;
    if (mdb_env_info(st->env, &info) || mdb_env_stat(st->env, &ms))
        return 0;
    return (info.me_last_pgno + 1) * (size_t)ms.ms_psize;
}


int ll_store_grow(ll_store_t *st, size_t *new_size)
{
    size_t cur = ll_store_map_size(st);
    struct statvfs fs;
    int err = LL_OK;
    if (!store_map_full) {
        /* Keep the failed write's own reason (e.g. "disk full: ..."). */
        if (!ll_store_last_error()[0])
            snprintf(store_err, sizeof store_err, "the disk or transaction is full, not the map");
        return LL_ERR_FULL;
    }
    /* In write-ahead mode the pages freed since the last sync are held for
     * the synced state (ll_durable.h): full may only mean "not synced
     * lately". Then the caller retries before the map grows; store_map_full
     * stays set, so a second call grows. */
    if (ll_durable_release(st->dur) == 1)
        return LL_OK;
    if (st->map_max && cur >= st->map_max) {
        snprintf(store_err, sizeof store_err, "map is at its maximum of %zu bytes", st->map_max);
        return LL_ERR_FULL;
    }
    /* The map is sparse, so growing costs no disk by itself; but on a full
     * disk the next commit would fail anyway, so say so now. */
    if (statvfs(st->dir, &fs) == 0 &&
        (unsigned long long)fs.f_bavail * fs.f_frsize < LL_GROW_MIN_FREE) {
        snprintf(store_err, sizeof store_err, "map full and less than %llu MiB free on disk",
                 LL_GROW_MIN_FREE >> 20);
        return LL_ERR_FULL;
    }
    size_t next = cur < LL_GROW_MIN_STEP ? cur + LL_GROW_MIN_STEP : cur * 2;
    if (st->map_max && next > st->map_max)
        next = st->map_max;

    pthread_mutex_lock(&st->gate_lock);
    atomic_store(&st->growing, 1);
    pthread_mutex_unlock(&st->gate_lock);
    /* Readers are short (one RPC); a transaction that outlives the wait
     * (e.g. a thread that nests two) makes us give up instead of deadlock. */
    int64_t deadline = ll_clock_mono_ns() + LL_GROW_WAIT_NS;
    while (atomic_load(&st->active) > 0) {
        if (ll_clock_mono_ns() > deadline) {
            snprintf(store_err, sizeof store_err,
                     "map full: open transactions did not end, could not grow");
            err = LL_ERR_FULL;
            goto out;
        }
        struct timespec nap = {0, 100000};
        nanosleep(&nap, NULL);
    }
    ll_durable_grow_begin(st->dur);
    int rc = mdb_env_set_mapsize(st->env, next);
    ll_durable_grow_end(st->dur);
    if (rc) {
        err = map_err(rc, "grow map");
        store_map_full = 0;
        goto out;
    }
    store_map_full = 0;
    if (new_size)
        *new_size = ll_store_map_size(st);
out:
    pthread_mutex_lock(&st->gate_lock);
    atomic_store(&st->growing, 0);
    pthread_cond_broadcast(&st->gate_open);
    pthread_mutex_unlock(&st->gate_lock);
    return err;
}

int ll_store_make_scratch(ll_store_t *st)
{
    int rc = mdb_env_set_flags(st->env, MDB_NOSYNC, 1);
    if (rc)
        return map_err(rc, "set scratch flags");
    st->scratch = 1;
    return LL_OK;
}

int ll_store_backup(ll_store_t *st, const char *dst_dir)
{
    /* The log first, then LMDB's snapshot: the snapshot is then at least
     * as new as every leaf the copied log holds, or (after an unclean
     * stop, rolled back at open) the log holds what the snapshot lacks,
     * and a server on the copy replays it. */
    int err = ll_durable_copy_log(st->dur, dst_dir);
    if (err) {
        snprintf(store_err, sizeof store_err, "backup: copying the write-ahead log into %s/wal "
                 "failed", dst_dir);
        return err;
    }
    /* The copy reads through its own LMDB transaction: it must pass the
     * remap gate like any other. */
    gate_enter(st);
    err = map_err(mdb_env_copy2(st->env, dst_dir, MDB_CP_COMPACT), "backup");
    gate_leave(st);
    return err;
}

/* For ll_store_tables.c (ll_store_int.h). */
int ll_store_map_err_(int rc, const char *what)
{
    return map_err(rc, what);
}

int ll_store_write_err_(ll_store_t *st, int rc, const char *what)
{
    return write_err(st, rc, what);
}

void ll_store_set_error_(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(store_err, sizeof store_err, fmt, ap);
    va_end(ap);
}
