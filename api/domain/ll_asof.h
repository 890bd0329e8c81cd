/*
 * ll_asof: answers "as the ledger stood at tree size N" (a checkpoint
 * size), for governance reviews that replay a past decision.
 *
 * The live indexes (ll_loop.h) describe the latest state only; the state
 * record 'S' and the open-loop records 'O' are overwritten and deleted as
 * entries arrive. Everything else can be read as of N by filtering on
 * sequence numbers, because:
 *   - links only point backwards, so an entry below N links only to
 *     entries below N;
 *   - the incoming-link records 'L' carry the source seq (count only
 *     sources below N);
 *   - the supersession record 'X' carries the Correction's seq (a
 *     supersession counts only if the Correction is below N);
 *   - the per-initiative 'I' and per-kind 'K'/'J' indexes end with the
 *     seq (scan while seq < N).
 * So an initiative's state as of N is recomputed from its entries below N
 * (ll_initiative_state_as_of, ll_initiative.h), replaying ll_loop_step;
 * the open loops are derived from the incoming links below N. Cost: linear
 * in the initiative's entries below N (plus their incoming links), which
 * is why the live path keeps its incremental indexes and only as_of != 0
 * replays.
 *
 * "Now" for as-of answers defaults to the server time of entry N - 1, so
 * the same N always gives the same answer.
 */
#ifndef LL_ASOF_H
#define LL_ASOF_H

#include <stddef.h>
#include <stdint.h>

#include "ll_arena.h"
#include "ll_index.h"
#include "ll_store.h"
#include "loopledger/v1/loop.pb-c.h"

/* Resolves a requested as-of size: 0 = the transaction's tree size. *n
 * receives the size, *t (may be NULL) the server time of entry n - 1 (0
 * for an empty ledger). LL_ERR_RANGE when as_of exceeds the tree size. */
int ll_asof_resolve(ll_txn_t *txn, uint64_t as_of, uint64_t *n, int64_t *t);

/* 1 if a Correction below n supersedes seq (its seq in *by, may be NULL),
 * 0 if none does, or a negative ll_err code. */
int ll_asof_superseded(ll_txn_t *txn, uint64_t seq, uint64_t n, uint64_t *by);

/* ll_entry_load_body for hot loops (ranking reads tens of thousands of
 * entries per call): walks the LogEntry and Envelope framing of the leaf
 * instead of unpacking them, so only the EntryBody is unpacked, and gives
 * the entry's server time (time_ns may be NULL). The body is unpacked with
 * alloc (NULL: malloc); the caller frees *out with
 * loopledger__v1__entry_body__free_unpacked(*out, alloc), or drops it with
 * its scratch (ll_scratch.h). LL_ERR_CORRUPT if the leaf does not parse. */
int ll_asof_load_body(ll_txn_t *txn, uint64_t seq, Loopledger__V1__EntryBody **out,
                      int64_t *time_ns, ProtobufCAllocator *alloc);

/* Every supersession below n, in memory: a whole-ledger ranking asks
 * "is this superseded?" for tens of thousands of entries, and one scan of
 * the 'X' index (one record per Correction) is far cheaper than as many
 * B-tree misses. */
typedef struct ll_asof_sups ll_asof_sups_t;

/* Loads the supersessions by Corrections below n. Caller frees *out with
 * ll_asof_sups_free. */
int ll_asof_sups_load(ll_txn_t *txn, uint64_t n, ll_asof_sups_t **out);
/* 1 if seq is superseded (the Correction's seq in *by, may be NULL), else 0. */
int ll_asof_sups_get(const ll_asof_sups_t *s, uint64_t seq, uint64_t *by);
void ll_asof_sups_free(ll_asof_sups_t *s);

/* ll_query_ref as of n: the supersession mark only if the Correction is
 * below n. */
int ll_asof_ref(ll_txn_t *txn, ll_arena_t *a, uint64_t seq, uint64_t n,
                Loopledger__V1__EntryRef **out);

#endif
