/*
 * ll_initiative: GetInitiative, an initiative's state (stage, cycle,
 * counters, open loops, overdue reviews, scaling readiness), live or as
 * the ledger stood at a tree size.
 *
 * Live and as-of answers are built by the same code from the same state
 * rules (ll_loop_step): the live one from the incremental state record,
 * the as-of one by replaying the initiative's entries below the size (see
 * ll_asof.h for why that is exact). As of the latest size both give the
 * same bytes.
 *
 * Reads inside the caller's read transaction; responses are allocated in
 * the caller's arena (ll_arena.h). Errors: LL_ERR_NOT_FOUND (unknown
 * initiative), LL_ERR_INVALID (bad request), LL_ERR_RANGE (a size beyond
 * the tree), LL_ERR_NOMEM, store errors; msg says what.
 */
#ifndef LL_INITIATIVE_H
#define LL_INITIATIVE_H

#include <stddef.h>
#include <stdint.h>

#include "ll_arena.h"
#include "ll_index.h"
#include "ll_store.h"
#include "loopledger/v1/loop.pb-c.h"

/* Length of a review cadence's period in ns (1, 7, 31, 92 days); 0 for
 * post-campaign reviews, which follow no calendar. */
int64_t ll_initiative_cadence_period(int cadence);

/* GetInitiative, live: the InitiativeState now, in arena a; now_ns is the
 * time overdue reviews are judged at. */
int ll_initiative_get(ll_txn_t *txn, ll_arena_t *a, const Loopledger__V1__GetInitiativeRequest *r,
                      int64_t now_ns, Loopledger__V1__InitiativeState **out, char *msg,
                      size_t cap);

/* GetInitiative with r->as_of_size != 0: the InitiativeState as of that
 * size, in arena a. now_ns = 0 means the server time of entry
 * as_of_size - 1. */
int ll_initiative_get_as_of(ll_txn_t *txn, ll_arena_t *a,
                            const Loopledger__V1__GetInitiativeRequest *r, int64_t now_ns,
                            Loopledger__V1__InitiativeState **out, char *msg, size_t cap);

/* The initiative's derived state record as ll_loop_apply would have left
 * it after entry n - 1 (open[] counts included). LL_ERR_NOT_FOUND if the
 * initiative had no state below n. */
int ll_initiative_state_as_of(ll_txn_t *txn, const char *initiative, uint64_t n,
                              ll_loop_state_t *out);

#endif
