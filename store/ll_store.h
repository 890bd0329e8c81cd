/*
 * ll_store: the LMDB-backed, append-only log and its Merkle tree.
 *
 * One LMDB environment holds:
 *   leaves  seq (u64 big-endian) -> leaf bytes (a serialized LogEntry)
 *   nodes   level (u8) || index (u64 BE) -> 32-byte hash of the complete,
 *           aligned subtree (see ll_merkle.h); level 0 are the leaf hashes
 *   meta    small named values: "size", "last_time", ledger identity
 *   plus the caller's auxiliary tables (enum ll_table) for indexes and
 *   derived state, written in the same transaction as the leaf they
 *   describe, so that a crash never leaves them out of step.
 *
 * Transactions wrap LMDB's. A read transaction is a consistent snapshot;
 * many run in parallel with the single writer. A write transaction may nest
 * child transactions, so that one bad entry in a group commit can be rolled
 * back without losing the rest of the batch. Appends update an in-memory
 * Merkle frontier carried by the transaction; only a successful top-level
 * commit publishes it, so an aborted batch leaves no trace in memory either.
 *
 * Durability (ll_durable.h): ll_store_commit() returns LL_OK only once the
 * data is on disk. By default LMDB syncs every commit. In write-ahead mode
 * (ll_store_config_t.wal, the server's) ll_store_commit_logged() instead
 * makes the commit's new leaves durable in a sequential log (ll_wal.h: one
 * small write and one fdatasync per group commit) and commits LMDB without
 * a sync; LMDB is synced in the background, and at the next open an
 * environment that lost unsynced commits is rolled back to its last synced
 * state, whose leaves the log continues (ll_store_pending: the ledger
 * replays and verifies them). Everything else a logged commit writes must
 * be derived from its leaves (or be expendable), since only the leaves are
 * logged; plain ll_store_commit() in write-ahead mode syncs LMDB itself.
 *
 * Map size: LMDB's map is a fixed-size window that bounds the database.
 * When a write fails with the map full, the writer aborts its transaction,
 * calls ll_store_grow() and retries. Growing remaps the file, which LMDB
 * allows only while no transaction of this process is open, so every
 * transaction passes a gate (an atomic count of open transactions and a
 * "growing" flag): ll_store_grow() closes the gate, waits (bounded) for
 * open transactions to end, remaps, and reopens it. Transactions begun
 * meanwhile wait at the gate; nothing is torn down under a reader.
 *
 * Threads: ll_store_t is shared by all threads. A transaction belongs to
 * one thread at a time. Only one write transaction exists at once (LMDB
 * serialises them; loopledger has a single writer thread anyway).
 */
#ifndef LL_STORE_H
#define LL_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "ll_crypto.h"
#include "ll_hist.h"
#include "ll_merkle.h"
#include "ll_wal.h"

typedef struct ll_store ll_store_t;
typedef struct ll_txn ll_txn_t;

/* Auxiliary tables for the layers above. Keys and values are opaque bytes;
 * keys are at most 511 bytes (LMDB's default limit). */
enum ll_table {
    LL_TBL_META = 0, /* store's own "size"/"last_time" live here too */
    LL_TBL_DEDUP,    /* SHA-256 of the signed statement -> seq */
    LL_TBL_ACTORS,   /* actor id -> actor record */
    LL_TBL_KEYS,     /* key id -> actor id */
    LL_TBL_INDEX,    /* domain secondary indexes (composite keys) */
    LL_TBL__COUNT
};

typedef struct ll_store_config {
    /* Initial LMDB map size in bytes; 0 means 16 GiB (sparse: costs no
     * disk). An existing, larger environment keeps its size. */
    size_t map_size;
    /* Largest size ll_store_grow() may reach; 0 means no limit but the
     * disk's. Set it equal to map_size to forbid growth. */
    size_t map_max;
    /* Maximum concurrent read transactions; 0 means 1024. */
    unsigned max_readers;
    /* Write-ahead mode (see Durability); takes DIR/wal/ and an exclusive
     * lock on it: one server per directory. */
    int wal;
    /* Write-ahead mode: LMDB is synced every sync_ms (0: 1000) or when the
     * log grew by 4 MiB; log segments of wal_segment bytes (0: 8 MiB). */
    unsigned sync_ms;
    size_t wal_segment;
} ll_store_config_t;

/* Opens (creating if needed) the store in directory dir, which must exist.
 * cfg may be NULL. Loads the Merkle frontier: O(log n) reads, no replay.
 * Caller owns *out (ll_store_close). */
int ll_store_open(const char *dir, const ll_store_config_t *cfg,
                  ll_store_t **out);

/* Closes the store. All transactions must have ended. NULL is allowed. */
void ll_store_close(ll_store_t *st);

/* Number of committed leaves (tree size) as last published. Lock-free. */
uint64_t ll_store_committed_size(ll_store_t *st);

/* Begins a read-only snapshot. Caller ends it with ll_store_abort(). */
int ll_store_begin_read(ll_store_t *st, ll_txn_t **out);

/* Begins the write transaction (blocks while another is open). */
int ll_store_begin_write(ll_store_t *st, ll_txn_t **out);

/* Begins a child of a write transaction. Commit merges it into parent;
 * abort discards it. The parent must not be used until the child ends. */
int ll_store_begin_child(ll_txn_t *parent, ll_txn_t **out);

/* Commits and frees txn (read transactions just end). LL_ERR_FULL if the
 * map or disk is full, LL_ERR_STORE otherwise; txn is freed either way. */
int ll_store_commit(ll_txn_t *txn);

/* Commits a top-level write transaction whose every write other than its
 * new leaves is derived from them (or expendable): in write-ahead mode
 * the leaves are made durable in the log and LMDB commits without a sync;
 * otherwise exactly ll_store_commit(). Same results; LL_ERR_IO (why in
 * ll_store_last_error) when the log failed: the store then refuses every
 * later logged commit until it is reopened. */
int ll_store_commit_logged(ll_txn_t *txn);
/* Write-ahead mode: the leaves acknowledged before the last stop that the
 * roll-back to LMDB's synced state removed, in seq order starting at
 * ll_store_committed_size (0 of them when the stop was clean). Each is a
 * leaf's exact bytes; borrowed until ll_store_pending_done. */
size_t ll_store_pending(ll_store_t *st, const ll_wal_rec_t **recs);
void ll_store_pending_done(ll_store_t *st);
/* Write-ahead mode's metrics (zero otherwise): each background or
 * on-demand sync of LMDB in ns, and the log bytes written since the last
 * sync. Any thread. */
void ll_store_sync_metrics(ll_store_t *st, ll_hist_snap_t *syncs, uint64_t *log_bytes);
/* What the open did about an unclean stop, for the operator ("" when
 * nothing). */
const char *ll_store_open_note(ll_store_t *st);
/* Discards and frees txn. NULL is allowed. */
void ll_store_abort(ll_txn_t *txn);

/* Tree size as seen by txn. */
uint64_t ll_store_size(ll_txn_t *txn);

/* Server time (Unix ns) of the last appended leaf as seen by txn; 0 if none. */
int64_t ll_store_last_time(ll_txn_t *txn);

/* Leaf bytes of seq. *leaf points into the map and stays valid until txn
 * ends; it must not be modified. LL_ERR_NOT_FOUND if seq >= size. */
int ll_store_leaf(ll_txn_t *txn, uint64_t seq, const uint8_t **leaf,
                  size_t *len);

/* Stored node hash; LL_ERR_NOT_FOUND if not (yet) complete. */
int ll_store_node(ll_txn_t *txn, unsigned level, uint64_t index,
                  uint8_t out[LL_HASH_LEN]);

/* ll_merkle_node_fn adapter: ctx is an ll_txn_t*. */
int ll_store_node_fn(void *ctx, unsigned level, uint64_t index,
                     uint8_t out[LL_HASH_LEN]);

/* Root hash of the tree of the first size leaves (size <= txn's size). */
int ll_store_root(ll_txn_t *txn, uint64_t size, uint8_t out[LL_HASH_LEN]);

/* Appends leaf (whose serialized seq must equal ll_store_size(txn), which
 * is the caller's responsibility) with server time t, storing the leaf and
 * every Merkle node it completes. leaf_hash receives RFC 9162's leaf hash.
 * LL_ERR_FULL when the map is full (the transaction must then be aborted). */
int ll_store_append(ll_txn_t *txn, const uint8_t *leaf, size_t len, int64_t t,
                    uint8_t leaf_hash[LL_HASH_LEN]);

/* Auxiliary table access. get: *val valid until txn ends; LL_ERR_NOT_FOUND
 * if absent. put replaces. */
int ll_store_get(ll_txn_t *txn, enum ll_table tbl, const void *key,
                 size_t klen, const uint8_t **val, size_t *vlen);
int ll_store_put(ll_txn_t *txn, enum ll_table tbl, const void *key,
                 size_t klen, const void *val, size_t vlen);

/* Grows the map after a write failed with LL_ERR_FULL. The calling thread
 * must hold no transaction. Doubles the map (at least +64 MiB), capped at
 * map_max. LL_ERR_FULL (and nothing changes) when this thread has not
 * hit the map limit since its last successful commit (a full disk or an
 * oversized transaction is not cured by a bigger map),
 * when the map is already at map_max, when the file system has less than
 * 16 MiB free, or when open transactions do not end within 2 s. On LL_OK
 * *new_size (may be NULL) receives the new map size in bytes. In
 * write-ahead mode a call may instead sync LMDB, which frees the pages
 * held for the last synced state, and return LL_OK without growing: the
 * caller retries as after a growth (a second call grows). */
int ll_store_grow(ll_store_t *st, size_t *new_size);

/* Current map size in bytes. */
size_t ll_store_map_size(ll_store_t *st);

/* Bytes of the map in use: (last page number used + 1) x page size, as of
 * the latest committed transaction (metrics; 0 if LMDB cannot say). */
size_t ll_store_map_used(ll_store_t *st);

/* Deletes key from an auxiliary table; LL_OK also when it was absent. */
int ll_store_del(ll_txn_t *txn, enum ll_table tbl, const void *key,
                 size_t klen);

/* Deletes every record of auxiliary table tbl in write transaction txn
 * (the table itself stays). For rebuilding derived tables (ll_derive). */
int ll_store_clear(ll_txn_t *txn, enum ll_table tbl);

/* Called for each key/value by ll_store_scan; both point into the map and
 * are valid only during the call. Return 0 to continue, 1 to stop, or a
 * negative ll_err code to stop and fail the scan with it. */
typedef int (*ll_store_scan_fn)(void *ctx, const uint8_t *key, size_t klen,
                                const uint8_t *val, size_t vlen);

/* Visits, in key order, the keys of tbl that begin with prefix[plen],
 * starting at the first key >= from[flen] (from may be NULL: the first key
 * with the prefix). With reverse set, visits in descending order starting
 * at the last key <= from (from NULL: the last key with the prefix).
 * Returns LL_OK when done or stopped by fn, else an ll_err code. */
int ll_store_scan(ll_txn_t *txn, enum ll_table tbl, const void *prefix,
                  size_t plen, const void *from, size_t flen, int reverse,
                  ll_store_scan_fn fn, void *ctx);

/* Makes st, just opened and empty, a throwaway store that lives for one run
 * and is deleted after it (ll_derive's scratch, where the derived tables
 * are rebuilt): commits do not wait for the disk, and ll_store_append
 * stores leaves but keeps no Merkle tree (nothing hashed: its leaf_hash
 * comes back zeroed; no nodes stored: ll_store_node and ll_store_root find
 * none; sizes and times stay right).
 * Call before the first transaction. LL_OK or LL_ERR_STORE. */
int ll_store_make_scratch(ll_store_t *st);

/* A forward walk over a whole auxiliary table in key order (LMDB's: bytes
 * compared, then a shorter key first), for merging two tables in step
 * (ll_derive compares a rebuilt table with the stored one this way). */
typedef struct ll_cursor ll_cursor_t;
/* Opens a cursor on tbl in txn; it must be closed before txn ends. Caller
 * owns *out (ll_store_cursor_close). */
int ll_store_cursor_open(ll_txn_t *txn, enum ll_table tbl, ll_cursor_t **out);
/* The next record, the first on the first call: LL_OK with key and val
 * pointing into the map (valid while txn lives and is not written),
 * LL_ERR_NOT_FOUND past the last, or another ll_err code. */
int ll_store_cursor_next(ll_cursor_t *c, const uint8_t **key, size_t *klen,
                         const uint8_t **val, size_t *vlen);
/* NULL is allowed. */
void ll_store_cursor_close(ll_cursor_t *c);
/* Copies the environment to dst_dir (must exist, empty) with compaction,
 * consistently, while the store keeps serving; and, first, the
 * write-ahead log's segments into dst_dir/wal, so that the copy holds
 * every acknowledged entry even after an unclean stop (a server on it
 * replays what its data.mdb lacks). */
int ll_store_backup(ll_store_t *st, const char *dst_dir);

/* Last LMDB error text for diagnostics (thread-local, static storage). */
const char *ll_store_last_error(void);

#endif
