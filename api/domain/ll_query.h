/*
 * ll_query: read-side answers of the closed loop, from ll_loop's indexes.
 *
 * Every function reads inside the caller's read transaction, so an answer
 * reflects one committed ledger state. Responses are protobuf-c objects
 * allocated in the caller's arena (ll_arena.h): pack them, then free the
 * arena. Errors: LL_ERR_NOT_FOUND (unknown initiative or entry),
 * LL_ERR_INVALID (bad filter or token), LL_ERR_NOMEM, store errors; msg
 * says what.
 */
#ifndef LL_QUERY_H
#define LL_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "ll_arena.h"
#include "ll_store.h"
#include "loopledger/v1/ledger.pb-c.h"
#include "loopledger/v1/loop.pb-c.h"

/* Most candidates one ListEntries page examines before returning a partial
 * page with a continuation token (bounds the work of sparse filters). */
#define LL_QUERY_SCAN_BUDGET 20000

/* Filtered listing: fills seqs[0..*n) (capacity page) with the matching
 * sequence numbers in [from, to), in order. *next is where the next page
 * starts, or UINT64_MAX when there is none. */
int ll_query_list(ll_txn_t *txn, const Loopledger__V1__ListEntriesRequest *r,
                  uint64_t from, uint64_t to, unsigned page, uint64_t *seqs,
                  size_t *n, uint64_t *next, char *msg, size_t cap);

/* First sequence number whose server time is >= t (size if none). Server
 * time strictly increases with seq, so this is a binary search. */
int ll_query_seq_at_time(ll_txn_t *txn, int64_t t, uint64_t *seq);

/* An EntryRef for seq (summary, supersession) in arena a. */
int ll_query_ref(ll_txn_t *txn, ll_arena_t *a, uint64_t seq,
                 Loopledger__V1__EntryRef **out);

/* Length of a review cadence's period in ns (1, 7, 31, 92 days); 0 for
 * post-campaign reviews, which follow no calendar. */
int64_t ll_query_cadence_period(int cadence);

/* Readiness of a scaling plan into r (arena a): the five considerations,
 * phases and risk mitigations, with the missing ones named. */
int ll_query_readiness(ll_arena_t *a, const Loopledger__V1__ScalingPlan *p,
                       Loopledger__V1__ScalingReadiness *r);

/* The five open-loop lists of an InitiativeState with their categories
 * (live and as-of answers fill the same fields). Returns their number. */
typedef struct ll_query_open_list {
    int cat; /* enum ll_open */
    Loopledger__V1__EntryRef ***refs;
    size_t *n;
    uint64_t *count;
} ll_query_open_list_t;
size_t ll_query_open_lists(Loopledger__V1__InitiativeState *s, ll_query_open_list_t out[5]);

/* Fills s->overdue_reviews: every cadence the charter commits to or that
 * has a review (last[cadence], 0 = none) whose period has passed at now_ns
 * since the last review (or the initiative's creation). */
int ll_query_overdue(ll_arena_t *a, Loopledger__V1__InitiativeState *s,
                     const Loopledger__V1__Initiative *charter, const int64_t *last,
                     int64_t created_ns, int64_t now_ns);

int ll_query_initiative(ll_txn_t *txn, ll_arena_t *a,
                        const Loopledger__V1__GetInitiativeRequest *r,
                        int64_t now_ns, Loopledger__V1__InitiativeState **out,
                        char *msg, size_t cap);

int ll_query_lineage(ll_txn_t *txn, ll_arena_t *a,
                     const Loopledger__V1__GetLineageRequest *r,
                     Loopledger__V1__Lineage **out, char *msg, size_t cap);

int ll_query_open_loops(ll_txn_t *txn, ll_arena_t *a,
                        const Loopledger__V1__ListOpenLoopsRequest *r,
                        Loopledger__V1__ListOpenLoopsResponse **out, char *msg,
                        size_t cap);

#endif
