/*
 * ll_record: the effective state of the long-lived records (charters,
 * roadmap projects, policies), the one place the ledger reads them from.
 *
 * A record is a chain of entries of its kind, each later one FOLLOWS the
 * one before. An entry without update_mask replaces the record whole (what
 * it always meant); one with an update_mask is a patch (ll_mask.h) of the
 * record's latest entry, which it must FOLLOW. The writer merges a patch
 * with the effective record it follows (ll_record_merge), checks the
 * merged record with the stateless checks of a whole entry (ll_check_body,
 * the same function every entry passes), and stores it under the patch's
 * seq in the index ('U', ll_index.h). So the effective record of entry N
 * is fixed when N is appended: reading it as of any size >= N + 1 gives
 * the same answer, and a replay of the leaves (ll_derive) rebuilds it with
 * this same code.
 *
 * Every reader of a charter, project or policy calls ll_record_load (an
 * entry that is no patch is its own effective record), so GetInitiative,
 * loop health cadences, KPIs, the ranking, policy matching and the as-of
 * replays all see the same record.
 */
#ifndef LL_RECORD_H
#define LL_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "ll_store.h"
#include "loopledger/v1/entry.pb-c.h"

/* For the entry b about to be appended (on the writer, inside its child
 * transaction): *out = NULL when b is not a patch (b is its own effective
 * record); else the merged record (ll_mask_apply), which the caller frees
 * with loopledger__v1__entry_body__free_unpacked(*out, NULL). Also checks
 * that a patch, and any FOLLOWS link between roadmap projects or policies,
 * points at the record's latest entry (a record never forks).
 * LL_OK; LL_ERR_PRECONDITION (not the latest, wrong kind), LL_ERR_INVALID
 * (the merged record fails ll_check_body); msg[cap] says which and what
 * to do. */
int ll_record_merge(ll_txn_t *txn, const Loopledger__V1__EntryBody *b,
                    Loopledger__V1__EntryBody **out, char *msg, size_t cap);

/* Stores eff as the effective record of patch seq ('U'). */
int ll_record_put(ll_txn_t *txn, uint64_t seq, const Loopledger__V1__EntryBody *eff);

/* The effective record of entry seq: the stored merge for a patch, else
 * the entry's own body. time_ns (may be NULL) gets the entry's server
 * time. alloc as ll_entry_load_body_fast (NULL: malloc); the caller frees *out
 * with loopledger__v1__entry_body__free_unpacked(*out, alloc).
 * LL_ERR_NOT_FOUND, LL_ERR_CORRUPT. */
int ll_record_load(ll_txn_t *txn, uint64_t seq, Loopledger__V1__EntryBody **out,
                   int64_t *time_ns, ProtobufCAllocator *alloc);

/* Is seq a patch with a stored effective record? 1 or 0. */
int ll_record_is_patched(ll_txn_t *txn, uint64_t seq);

/* The entry of the same kind that FOLLOWS record entry seq, if one is
 * below size n: LL_OK with its seq in *by, or LL_ERR_NOT_FOUND. A record's
 * entry that has a follower is no longer its latest state. */
int ll_record_followed_by(ll_txn_t *txn, uint64_t seq, uint64_t n, uint64_t *by);

#endif
