/*
 * ll_govquery: governance reads — decision history with the evidence behind
 * each decided entry, pending approvals, and an actor's history.
 *
 * Same conventions as ll_query.h: one read transaction, answers allocated
 * in the caller's arena, errors with a message in msg[cap].
 */
#ifndef LL_GOVQUERY_H
#define LL_GOVQUERY_H

#include <stddef.h>

#include "ll_arena.h"
#include "ll_store.h"
#include "loopledger/v1/governance.pb-c.h"

int ll_govquery_decisions(ll_txn_t *txn, ll_arena_t *a,
                          const Loopledger__V1__DecisionHistoryRequest *r,
                          Loopledger__V1__DecisionHistoryResponse **out, char *msg,
                          size_t cap);

int ll_govquery_pending(ll_txn_t *txn, ll_arena_t *a,
                        const Loopledger__V1__PendingApprovalsRequest *r,
                        Loopledger__V1__PendingApprovalsResponse **out, char *msg, size_t cap);

int ll_govquery_actor(ll_txn_t *txn, ll_arena_t *a, const Loopledger__V1__ActorHistoryRequest *r,
                      Loopledger__V1__ActorHistoryResponse **out, char *msg, size_t cap);

#endif
