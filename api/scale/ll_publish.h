/*
 * ll_publish: publishes the ledger as a C2SP tlog-tiles directory
 * (https://c2sp.org/tlog-tiles) that any static HTTP server, object-store
 * sync or CDN can serve: DIR/checkpoint, DIR/tile/<L>/<N>[.p/<W>] and
 * DIR/tile/entries/<N>[.p/<W>] (layout and paths: store/ll_tiles.h).
 *
 * Threading. A commit hook (writer thread) only records the new size and
 * wakes the publisher thread, so publishing never slows the writer beyond a
 * mutex. The publisher catches up from the last size it published to the
 * latest committed size in one pass, however many commits happened
 * meanwhile, inside one read snapshot.
 *
 * Atomicity and order. Every file is written to a temporary name in its
 * final directory, flushed to disk (fdatasync), then renamed over its
 * path, so a reader sees either the old or the new whole file. Tiles and
 * bundles of a size are written before its checkpoint, and the checkpoint
 * is written last, so everything a published checkpoint needs is already
 * there. A full tile is written once (its content never changes); when
 * it appears, the partial tiles of that index are deleted (the spec allows
 * it; clients fall back to the full tile).
 *
 * Restart. At start the publisher reads DIR/checkpoint: when it is this
 * ledger's (same origin, and the stored tree has the same root at that
 * size) publishing resumes from its size; when DIR has no checkpoint it
 * starts from 0; a checkpoint of another log or another tree is refused
 * (LL_ERR_PRECONDITION): a directory never mixes two logs.
 *
 * Entry size. Bundles frame each leaf with a 2-byte length, so a leaf over
 * LL_TILES_MAX_ENTRY bytes cannot be published; loopledgerd caps appends
 * when tiles are on (ll_ledger_config_t.max_leaf). A ledger that already
 * holds a larger leaf stops publishing before it (logged; the ledger keeps
 * serving).
 *
 * Witnessed checkpoints. With witnesses (ll_wsubmit.h), the checkpoint
 * file is the one the witness submitter last submitted, with the
 * cosignature lines (C2SP tlog-cosignature) of the witnesses that cosigned
 * it, appended after the log's own signature (a signed note with several
 * signers): ll_publish_start(..., witnessed = 1, ...) publishes only
 * those, and the submitter hands each round's note over with
 * ll_publish_checkpoint(). Tiles still follow every commit; the checkpoint
 * follows the witness rounds (a round waits for each witness, at most 5 s
 * each) and is never written before the tiles of its size. A round where
 * no witness answers still publishes, without cosignatures (fail open: the
 * log's own signature is the base promise; clients that require a quorum
 * refuse such a checkpoint and read the next one).
 *
 * Files are world-readable (0644, directories 0755): the tiles are the
 * public log.
 */
#ifndef LL_PUBLISH_H
#define LL_PUBLISH_H

#include <stdint.h>

#include "ll_ledger.h"

typedef struct ll_publish ll_publish_t;

/* HTTP caching for a published path relative to DIR ("checkpoint",
 * "tile/..."): the Cache-Control value to serve it with. Full tiles and
 * bundles never change: cached for a year, immutable. Partial tiles never
 * change either but are deleted once full: one minute. The checkpoint
 * moves with every commit: no-cache. NULL for a path that is not part of
 * the log (serve 404). */
const char *ll_publish_cache_control(const char *path);

/* Creates dir if needed, checks it (see Restart), registers the commit
 * hook on lg (borrowed; must outlive the publisher) and starts the thread,
 * which publishes the current size at once. witnessed: the checkpoint
 * file is written only from ll_publish_checkpoint (see Witnessed
 * checkpoints). log_fn (may be NULL) receives error messages. Caller owns
 * *out (ll_publish_stop). */
int ll_publish_start(ll_ledger_t *lg, const char *dir, int witnessed,
                     void (*log_fn)(const char *msg), ll_publish_t **out);

/* A signed note of tree size `size` (len bytes, with any cosignature
 * lines) to publish as DIR/checkpoint once the tiles of that size are
 * written; ignored when a checkpoint of that size or larger is already
 * published or pending. Any thread; does not wait for the write. */
void ll_publish_checkpoint(ll_publish_t *p, uint64_t size, const char *note, size_t len);

/* Removes the hook, finishes the pass under way and stops. NULL allowed. */
void ll_publish_stop(ll_publish_t *p);

/* The directory being published (static while p lives). */
const char *ll_publish_dir(ll_publish_t *p);

/* Tree size of the last checkpoint written. */
uint64_t ll_publish_size(ll_publish_t *p);

/* Waits until the checkpoint of at least size is written: LL_OK, or
 * LL_ERR_UNAVAILABLE after timeout_ms or when publishing has stopped on an
 * error. */
int ll_publish_wait(ll_publish_t *p, uint64_t size, int timeout_ms);

#endif
