/*
 * ll_durable: how an LMDB environment's commits become durable.
 *
 * Two modes. Plain (tools, scratch stores): LMDB syncs every commit
 * itself. Write-ahead (the server): LMDB is opened with MDB_NOSYNC; a
 * group commit's new leaves go to the write-ahead log (ll_wal.h) and are
 * synced there, one sequential write and one fdatasync, before the commit
 * is acknowledged; a background syncer syncs LMDB every sync_ms (or when
 * the log has grown by 4 MiB), saves the synced state (ll_syncpt.h) and
 * drops the log segments LMDB now holds on disk. At the next open, an
 * environment that moved past its synced state (the process or the
 * machine stopped without the last sync) is rolled back to it, and the
 * leaves the log holds past it are handed to the ledger to replay
 * (ll_durable_pending), which verifies each like a mirror's.
 *
 * Every opener, plain or not, performs the roll-back when no other process
 * has the environment open; a plain opener then deletes the synced-state
 * record, because its own commits are durable (the log's leaves past that
 * point wait for the next server). One server per directory: write-ahead
 * mode holds an exclusive lock on DIR/wal/LOCK.
 *
 * Threads: ll_durable_log is called by the single writer, between its
 * write transaction's last change and its commit; ll_durable_sync_now by
 * the writer with no transaction open; the syncer is internal.
 */
#ifndef LL_DURABLE_H
#define LL_DURABLE_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#include "ll_hist.h"
#include "ll_wal.h"

typedef struct ll_durable ll_durable_t;

typedef struct ll_durable_config {
    int wal;            /* write-ahead mode */
    unsigned sync_ms;   /* background sync interval; 0: 1000 */
    size_t segment;     /* log segment bytes; 0: LL_WAL_SEGMENT_DEFAULT */
} ll_durable_config_t;

/* The tree size recorded in a snapshot (the store's "size" meta). */
typedef uint64_t (*ll_durable_size_fn)(MDB_txn *txn, void *ctx);

/* Before mdb_env_open of directory dir: in write-ahead mode takes the
 * directory lock; rolls data.mdb back to its synced state when it moved
 * past it and nobody has the environment open. LL_ERR_UNAVAILABLE (why
 * in msg) when another server holds the directory, or when a roll-back is
 * needed while another process has the environment open. Caller owns
 * *out (ll_durable_close). */
int ll_durable_preopen(const char *dir, const ll_durable_config_t *cfg, ll_durable_t **out,
                       char *msg, size_t cap);
/* MDB_NOSYNC in write-ahead mode, else 0: flags for mdb_env_open. */
unsigned ll_durable_env_flags(const ll_durable_t *d);
/* After the environment is open (no transaction of this process open):
 * write-ahead mode syncs it, saves its synced state, reads the log and
 * starts the syncer. committed_size: the tree size LMDB holds. The log's
 * leaves below it must equal the stored ones (leaf_fn reads them), and
 * those from it on must follow without a gap, or LL_ERR_CORRUPT (why in
 * msg). */
int ll_durable_start(ll_durable_t *d, MDB_env *env, ll_durable_size_fn size_fn, void *size_ctx,
                     uint64_t committed_size,
                     int (*leaf_fn)(void *ctx, uint64_t seq, const uint8_t **leaf, size_t *len),
                     void *leaf_ctx, char *msg, size_t cap);
/* Whether commits need ll_durable_log before them (write-ahead mode). */
int ll_durable_wal(const ll_durable_t *d);
/* Logs the n new leaves (seqs first..) of the commit about to happen and
 * syncs them. LL_ERR_IO (why in msg) when the log or an earlier
 * background sync failed: nothing more can be acknowledged. */
int ll_durable_log(ll_durable_t *d, uint64_t first, size_t n, const uint8_t *const *leaves,
                   const size_t *lens, char *msg, size_t cap);
/* The commit of the leaves just logged from first on failed: retracts
 * them, so that a retry may log other leaves under those numbers. */
int ll_durable_retract(ll_durable_t *d, uint64_t first, char *msg, size_t cap);
/* A commit that was not logged must be synced before it is acknowledged:
 * syncs LMDB now and saves the synced state. */
int ll_durable_sync_now(ll_durable_t *d, char *msg, size_t cap);
/* Leaves acknowledged before the last stop that LMDB lost with its
 * unsynced commits, in seq order (borrowed until ll_durable_pending_done). */
size_t ll_durable_pending(ll_durable_t *d, const ll_wal_rec_t **recs);
void ll_durable_pending_done(ll_durable_t *d);
/* For a backup into directory dst: copies the log's segments into
 * dst/wal (ll_wal_copy_segments). Call before copying data.mdb. */
int ll_durable_copy_log(ll_durable_t *d, const char *dst);
/* Metrics: each sync of LMDB (ns), and the log's bytes written since the
 * last one. Any thread. */
void ll_durable_metrics(ll_durable_t *d, ll_hist_snap_t *syncs, uint64_t *log_bytes);
/* What the open did about an unclean stop, for the operator's log ("" if
 * nothing). */
const char *ll_durable_note(const ll_durable_t *d);
/* The map is full: the pages that commits freed since the last sync are
 * held for the synced state, so sync now and let LMDB reuse them. 1 when
 * that released pages (retry before growing the map), 0 when there was
 * nothing to release (plain mode, or no commit since the last sync). */
int ll_durable_release(ll_durable_t *d);
/* Map growth: mdb_env_set_mapsize needs every transaction of the process
 * closed, so the reader protecting the synced state ends in grow_begin,
 * and grow_end takes a new synced state before the next commit. */
void ll_durable_grow_begin(ll_durable_t *d);
void ll_durable_grow_end(ll_durable_t *d);
/* Before mdb_env_close: the last sync and synced state (write-ahead
 * mode), then everything is released. NULL allowed. */
void ll_durable_close(ll_durable_t *d);

#endif
