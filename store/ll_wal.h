/*
 * ll_wal: the write-ahead log of acknowledged leaves.
 *
 * Why: an LMDB durable commit costs two syncs of pages scattered over the
 * data file (the copy-on-write pages of every table an entry touches, then
 * the meta page). A sequential log costs one small fdatasync of a file
 * whose blocks already exist, the way PostgreSQL's WAL does. The ledger
 * writes each group commit's new leaves here and syncs them before it
 * commits LMDB without a sync; LMDB is synced in the background
 * (ll_store.h, "Durability"), and the leaves past LMDB's last synced state
 * are replayed at start-up.
 *
 * Layout: a directory of segments NNNNNNNNNNNNNNNN.seg (hexadecimal
 * number, increasing), each created full-size and zero-filled so that a
 * sync never has file metadata to write. Frames are written with direct
 * I/O and O_DSYNC (one write, durable when it returns, in whole 4 KiB
 * blocks: the block's earlier bytes are written again unchanged), or with
 * pwrite and fdatasync where the file system refuses O_DIRECT. A segment is a 64-byte
 * header ("LLWALSEG", version, number) then frames, 8-byte aligned:
 *
 *   u32 magic "LLWF"  u32 length (header .. hash)  u64 segment number
 *   u64 first seq     u32 count  u32 0
 *   count x (u32 leaf length, leaf bytes)
 *   SHA-256 of everything above (32 bytes)
 *
 * all little-endian. A frame of no leaves retracts the leaves from its
 * first seq on (their commit failed after they were logged). One frame is one group commit: it is written with
 * one pwrite and made durable with one fdatasync before the commit is
 * acknowledged, and the next frame is written only after that sync
 * returned. So in every segment the valid frames form a prefix, and the
 * first invalid frame is where the log ends (a torn, never acknowledged
 * frame, or zeros). A valid frame anywhere after that point cannot come
 * from a crash: ll_wal_open reports it as damage instead of dropping the
 * acknowledged entries behind it.
 *
 * A spare segment (DIR/spare, zero-filled) is made ready off the writer's
 * path and numbered only when the writer starts writing it, so segment
 * numbers always follow the order of the frames.
 *
 * Threads: ll_wal_write is called by one writer thread; ll_wal_truncate
 * and ll_wal_prepare by one other (the store's syncer); they synchronise
 * inside.
 */
#ifndef LL_WAL_H
#define LL_WAL_H

#include <stddef.h>
#include <stdint.h>

typedef struct ll_wal ll_wal_t;

/* One leaf found in the log. */
typedef struct ll_wal_rec {
    uint64_t seq;
    const uint8_t *leaf;
    size_t len;
} ll_wal_rec_t;

#define LL_WAL_SEGMENT_DEFAULT (8u << 20)

/* Opens the log in directory dir (created 0700 if missing) and reads every
 * segment. The leaves the log holds, from the oldest kept onwards and in
 * seq order, become available through ll_wal_records until
 * ll_wal_release_records. New frames go to a new segment (never after a
 * torn tail). seg_size: bytes per segment (0: LL_WAL_SEGMENT_DEFAULT).
 * LL_ERR_CORRUPT (why in msg[cap]) for a valid frame after the end of a
 * segment, a gap in the seqs, or a malformed segment header; LL_ERR_IO for
 * file system errors. Caller owns *out (ll_wal_close). */
int ll_wal_open(const char *dir, size_t seg_size, ll_wal_t **out, char *msg, size_t cap);

/* The records read at open (borrowed; *recs valid until
 * ll_wal_release_records or ll_wal_close). Their seqs increase by one. */
size_t ll_wal_records(ll_wal_t *w, const ll_wal_rec_t **recs);
void ll_wal_release_records(ll_wal_t *w);

/* Appends one frame of n leaves numbered first, first+1, ... and syncs
 * it; LL_OK once it is durable. When a new segment cannot be made
 * (LL_ERR_FULL: no space; LL_ERR_IO) nothing was written and the log
 * stays usable. After a failed write or sync of a frame the log refuses
 * every later write (LL_ERR_IO, ll_wal_broken): what the kernel did with
 * the failed pages is unknown, and a later frame must never follow a
 * hole. errno is kept from the failure. */
int ll_wal_write(ll_wal_t *w, uint64_t first, size_t n, const uint8_t *const *leaves,
                 const size_t *lens);

/* Retracts the leaves from seq first on, logged by frames whose commit
 * then failed (nothing of them was acknowledged): a frame of no leaves. */
int ll_wal_retract(ll_wal_t *w, uint64_t first);

/* Stops writing the current segment, so that the next ll_wal_truncate
 * may delete it too (a clean stop: LMDB holds every leaf on disk, and
 * the next open then reads no segment). */
void ll_wal_finish(ll_wal_t *w);

/* Whether a frame's write or sync failed (the log refuses writes). */
int ll_wal_broken(const ll_wal_t *w);

/* Deletes the segments (other than the one being written) whose leaves
 * all have seq < durable: LMDB holds them on disk. */
void ll_wal_truncate(ll_wal_t *w, uint64_t durable);

/* Creates the next segment ahead of need, so that the writer rarely waits
 * for a zero-filled file. LL_OK when a spare is ready. */
int ll_wal_prepare(ll_wal_t *w);

/* Bytes written since the last ll_wal_truncate (to pace syncs). */
uint64_t ll_wal_bytes_pending(ll_wal_t *w);

/* Copies the segments of the log in dir (none if it does not exist) into
 * a new directory dst (created 0700), each synced, for a backup: a copy
 * of data.mdb plus these holds every acknowledged leaf, and a server
 * started on it replays (and verifies) those LMDB's copy lacks. The
 * record of LMDB's synced state is not copied: it describes the original
 * data.mdb only. LL_ERR_IO on failure. */
int ll_wal_copy_segments(const char *dir, const char *dst);

/* Closes the log (NULL allowed); segments stay on disk. */
void ll_wal_close(ll_wal_t *w);

#endif
