/*
 * ll_mirror: a verifying mirror of a loopledger primary. One verification
 * and apply path, two transports (ll_mirror_source_t): the primary's C2SP
 * tlog-tiles (ll_mirror_tiles.h: an http(s):// or file:// URL, or a
 * directory: what `loopledgerd serve --tiles DIR` publishes, served by any
 * static server or CDN), or the primary itself over gRPC (ll_mirror_grpc.h:
 * GetCheckpoint and Watch, over mTLS with the mirror's client certificate).
 * The transport only carries bytes; nothing it says is believed unverified.
 *
 * A round: fetch the checkpoint and verify it against the pinned primary
 * verifier key; stream the leaves from the size the mirror holds to the
 * checkpoint's size, hashing every leaf, and check that the mirror's own
 * verified tree extended by those leaves has exactly the checkpoint's root
 * (so the new checkpoint is consistent with every one verified before, and
 * every new leaf is the primary's); then apply each (the bytes kept from
 * the first pass, or streamed again for a long catch-up) through
 * ll_ledger_replicate (the primary's write path: signature against
 * the key history at the entry's time, every rule and index, the primary's
 * seq and time), checking each leaf still hashes as verified.
 * The verified note is kept (DATA/mirror/checkpoint) and served by
 * GetCheckpoint; the largest signed checkpoint seen, applied or not, is
 * kept too (DATA/mirror/seen) for promotion.
 *
 * Divergence: a checkpoint not signed by the pinned key, smaller than the
 * mirror's (rewind), or whose root the mirror's tree plus the primary's
 * leaves does not give (fork), leaves that are malformed or out of order,
 * or a leaf the write path refuses (unknown or revoked key, broken rule):
 * the mirror stops following, keeps serving what it verified, logs, and
 * writes DATA/mirror/evidence (both checkpoints, the computed root, and
 * why). It never applies a leaf of a tree that failed.
 *
 * Memory: a round keeps 32 bytes per new entry (the leaf hashes), and the
 * new leaves themselves while they fit in 8 MiB (a following mirror reads
 * the source once per round); beyond that they are streamed twice rather
 * than held.
 */
#ifndef LL_MIRROR_H
#define LL_MIRROR_H

#include <stddef.h>
#include <stdint.h>

#include "ll_ledger.h"

typedef struct ll_mirror ll_mirror_t;

/* Receives one leaf of a range: the exact bytes the primary's GetEntry
 * returns for seq. Non-zero stops the range and is returned by leaves(). */
typedef int (*ll_mirror_leaf_fn)(void *ctx, uint64_t seq, const uint8_t *leaf, size_t len);

/* A transport to the primary. Called on the round's thread only. */
typedef struct ll_mirror_source {
    /* The primary's latest signed checkpoint, as served (body, blank line,
     * signature lines), into note[cap], NUL-terminated (truncated to cap-1
     * bytes: then it does not verify). LL_OK, or LL_ERR_UNAVAILABLE when
     * the primary cannot be reached (the round is retried). */
    int (*checkpoint)(void *ctx, char *note, size_t cap, size_t *len);
    /* Calls fn for seq = from .. to-1, in order, once each; stops at fn's
     * first non-zero return and returns it. LL_ERR_INVALID when the
     * primary's answer is malformed or out of order (a divergence),
     * LL_ERR_UNAVAILABLE when it cannot be reached or ends early. */
    int (*leaves)(void *ctx, uint64_t from, uint64_t to, ll_mirror_leaf_fn fn, void *fctx);
    /* Frees ctx. */
    void (*free)(void *ctx);
    void *ctx;
} ll_mirror_source_t;

typedef struct ll_mirror_config {
    const char *from;  /* what the source reads, for messages and DATA/mirror/source */
    ll_mirror_source_t source; /* taken by ll_mirror_open, success or not */
    const char *vkey;  /* the primary's checkpoint verifier key (pinned) */
    const char *data;  /* the mirror's data directory (state under mirror/) */
    int interval_ms;   /* pause between rounds when caught up; 0 means 200 */
    size_t keep_max;   /* leaf bytes a round keeps for its second pass; 0 means 8 MiB */
    void (*log_fn)(const char *msg);
} ll_mirror_config_t;

/* Outcome of a round. */
enum ll_mirror_state {
    LL_MIRROR_CAUGHT_UP = 0, /* holds the checkpoint's size */
    LL_MIRROR_UNREACHABLE,   /* source not reachable; retried */
    LL_MIRROR_DIVERGED       /* evidence written; following stopped */
};

/* Checks cfg and loads the state (a mirror that diverged before stays
 * stopped: remove DATA/mirror/evidence to follow again). lg is borrowed;
 * cfg->source is owned by the mirror from here on (freed on failure). */
int ll_mirror_open(ll_ledger_t *lg, const ll_mirror_config_t *cfg, ll_mirror_t **out);

/* One round, on the caller's thread. */
enum ll_mirror_state ll_mirror_round(ll_mirror_t *m);

/* Runs rounds on a thread until ll_mirror_close or divergence. */
int ll_mirror_start(ll_mirror_t *m);

/* Stops the thread (if any) and frees m. NULL allowed. */
void ll_mirror_close(ll_mirror_t *m);

/* 1 when following stopped on divergence. */
int ll_mirror_diverged(ll_mirror_t *m);

/* GetCheckpoint for a mirror: the primary's verified note of size (0 = the
 * latest verified); LL_ERR_RANGE for another size (a mirror cannot sign),
 * LL_ERR_UNAVAILABLE before the first verified checkpoint. */
int ll_mirror_checkpoint(void *m, uint64_t size, char *note, size_t cap, size_t *note_len,
                         uint64_t *out_size, uint8_t root[32]);

/* `loopledgerd promote`: refuses (LL_ERR_PRECONDITION, explained through
 * log_fn) when the data directory holds fewer entries than the largest
 * signed checkpoint its mirror saw, unless force; then retires the mirror
 * state so that `loopledgerd serve` accepts the directory. */
int ll_mirror_promote(const char *data, uint64_t size, int force,
                      void (*log_fn)(const char *msg));

/* 1 if data is a mirror's directory (serve must refuse it). */
int ll_mirror_is_mirror_dir(const char *data);

#endif
