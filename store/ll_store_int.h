/*
 * ll_store_int: what the files of the store module share, and nothing
 * outside it includes (the contract is ll_store.h).
 *
 *   ll_store.c         the environment, transactions, leaves and tree, map
 *                      growth, durability (through ll_durable.h);
 *   ll_store_tables.c  the auxiliary tables: get, put, delete, clear, scan,
 *                      cursors.
 * Calls go one way, from ll_store_tables.c into ll_store.c.
 */
#ifndef LL_STORE_INT_H
#define LL_STORE_INT_H

#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>

#include "ll_durable.h"
#include "ll_store.h"

#define LL_READ_POOL 64

struct ll_store {
    MDB_env *env;
    MDB_dbi leaves, nodes;
    MDB_dbi aux[LL_TBL__COUNT];
    /* Frontier of the committed tree; changed only by the write commit. */
    pthread_mutex_t lock;
    ll_merkle_frontier_t frontier;
    int64_t last_time;
    _Atomic uint64_t size;
    /* The remap gate (see ll_store.h): open top-level transactions, and
     * whether a grow is waiting for them to end. */
    _Atomic int active;
    _Atomic int growing;
    pthread_mutex_t gate_lock;
    pthread_cond_t gate_open;
    size_t map_max;
    char *dir;
    /* ll_store_make_scratch: a throwaway store, no Merkle tree kept. */
    int scratch;
    /* Size and last time of the newest snapshot this process committed,
     * tagged with its LMDB transaction id, so that a read transaction of
     * that snapshot (nearly every RPC) needs no meta lookups. A seqlock in
     * effect: snap_id is cleared while the pair changes, and a reader
     * trusts the pair only if snap_id equals its own id before and after.
     * 0: unknown (ids start at 1). */
    _Atomic uint64_t snap_id, snap_size, snap_time;
    /* Read transactions reset for reuse (mdb_txn_renew keeps the reader
     * slot and the allocation; MDB_NOTLS lets any thread renew them). */
    pthread_mutex_t pool_lock;
    ll_txn_t *pool[LL_READ_POOL];
    int pool_n;
    /* How commits become durable (ll_durable.h), and the writer's buffers
     * for handing a commit's new leaves to the write-ahead log. */
    ll_durable_t *dur;
    const uint8_t **leafv;
    size_t *lenv, leafcap;
};

struct ll_txn {
    ll_store_t *st;
    MDB_txn *txn;
    ll_txn_t *parent;
    int write;
    int child_open; /* a child is open: this transaction must not be used */
    /* Write transactions carry their own view of the tree's right edge. */
    ll_merkle_frontier_t frontier;
    int64_t last_time;
};

/* LMDB return code -> ll_err code, with the reason kept for
 * ll_store_last_error; the write variant tells a full disk from a full
 * map. */
int ll_store_map_err_(int rc, const char *what);
int ll_store_write_err_(ll_store_t *st, int rc, const char *what);
/* Commits txn (freed either way); logged: its new leaves are already
 * durable in the write-ahead log, so LMDB is not synced for it. */
int ll_store_commit_(ll_txn_t *txn, int logged);
/* Sets the text ll_store_last_error returns (this thread's). */
void ll_store_set_error_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Puts the tree's size and last time in meta when a top-level write
 * transaction appended (once per commit, not per leaf). */
int ll_store_put_tree_meta_(ll_txn_t *txn);

#endif
