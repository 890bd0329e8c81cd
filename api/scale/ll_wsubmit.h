/*
 * ll_wsubmit: the log side of C2SP tlog-witness. Submits each new
 * checkpoint of the ledger, with a consistency proof from the size each
 * witness last cosigned, to the configured witnesses (POST
 * <url>/add-checkpoint over libcurl), verifies the cosignature lines they
 * return (C2SP tlog-cosignature, against the witness verifier key given
 * with the URL) and keeps those of the latest cosigned checkpoint, so that
 * GetCheckpoint can serve the checkpoint with them.
 *
 * Threading: the commit hook only records the size and wakes the submitter
 * thread; appends never wait for a witness. The thread submits the latest
 * size (intermediate commits are skipped: a witness needs consistency, not
 * every size), one witness after the other, each with a 5 s timeout. A
 * witness that is down is retried every 2 s while it lags; a 409 answer
 * teaches the submitter the witness's size and the submission is redone at
 * once with a proof from that size (the spec's way to bootstrap: the first
 * submission claims old size 0).
 */
#ifndef LL_WSUBMIT_H
#define LL_WSUBMIT_H

#include <stddef.h>
#include <stdint.h>

#include "ll_ledger.h"

typedef struct ll_wsubmit ll_wsubmit_t;

/* After each round: the checkpoint note submitted (size), followed by the
 * cosignature lines of the witnesses that cosigned it (none when no
 * witness did), len bytes. On the submitter thread; the tiles publisher
 * (ll_publish_checkpoint) takes it. */
typedef void (*ll_wsubmit_round_fn)(void *ctx, uint64_t size, const char *note, size_t len);

/* specs: "URL=VKEY" each (the witness's submission prefix and its
 * cosignature verifier key). LL_ERR_INVALID names the bad spec via
 * log_fn. lg is borrowed and must outlive the submitter. on_round (may be
 * NULL) with round_ctx: see ll_wsubmit_round_fn. */
int ll_wsubmit_start(ll_ledger_t *lg, const char *const *specs, size_t n,
                     void (*log_fn)(const char *msg), ll_wsubmit_round_fn on_round,
                     void *round_ctx, ll_wsubmit_t **out);

/* Removes the hook and stops the thread. NULL allowed. */
void ll_wsubmit_stop(ll_wsubmit_t *s);

/* The cosignature lines held for tree size `size`: appended, NUL-terminated,
 * to out[cap] (nothing when none is held for that size). Returns the number
 * of lines appended, or LL_ERR_BUFFER. */
int ll_wsubmit_lines(ll_wsubmit_t *s, uint64_t size, char *out, size_t cap);

/* Size of the latest checkpoint with at least one cosignature (0: none). */
uint64_t ll_wsubmit_cosigned_size(ll_wsubmit_t *s);

#endif
