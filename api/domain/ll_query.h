/*
 * ll_query: entry references (EntryRef: kind, author, time, one-line
 * summary, supersession, approval status) used by every read answer, the
 * ListEntries filters and ListOpenLoops, from the indexes (ll_index.h).
 * GetInitiative is in ll_initiative.h, GetLineage in ll_lineage.h.
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

int ll_query_open_loops(ll_txn_t *txn, ll_arena_t *a,
                        const Loopledger__V1__ListOpenLoopsRequest *r,
                        Loopledger__V1__ListOpenLoopsResponse **out, char *msg,
                        size_t cap);

#endif
