/*
 * ll_lineage: GetLineage, the typed links around an entry: what it came
 * from and what came of it, to a depth, with every edge's relation.
 *
 * Why a module of its own: the walk (visited set, edge bound, depth) is
 * independent of the per-initiative queries and is used by both the loop
 * service and the governance queries (decision evidence).
 *
 * Reads inside the caller's read transaction; the response is allocated in
 * the caller's arena (ll_arena.h). Errors: LL_ERR_NOT_FOUND (no such
 * entry), LL_ERR_INVALID (bad depth or direction), LL_ERR_NOMEM, store
 * errors; msg says what.
 */
#ifndef LL_LINEAGE_H
#define LL_LINEAGE_H

#include <stddef.h>

#include "ll_arena.h"
#include "ll_store.h"
#include "loopledger/v1/loop.pb-c.h"

int ll_lineage_get(ll_txn_t *txn, ll_arena_t *a, const Loopledger__V1__GetLineageRequest *r,
                   Loopledger__V1__Lineage **out, char *msg, size_t cap);

#endif
