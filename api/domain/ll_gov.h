/*
 * ll_gov: human-in-the-loop policies, approvals and governance indexes.
 *
 * A Policy entry (admins only) names entry kinds and conditions (refinement
 * category, the initiative's application, a numeric field above a limit),
 * a HITL level and how many distinct approvers it needs. Every matching
 * entry appended after the policy is PENDING: it is in the log, but it does
 * not take effect (its derived status says so everywhere) until enough
 * approving Decisions of that level DECIDE it. Rules:
 *   - only approvers' decisions count, and an approver never approves (or
 *     rejects) their own entry: PERMISSION_DENIED;
 *   - a decision of another level than the policy's: FAILED_PRECONDITION;
 *   - one rejection rejects the entry for good; later decisions about it
 *     are refused (FAILED_PRECONDITION);
 *   - the same approver counts once.
 * When several policies match, the one needing most approvals applies.
 *
 * Index records (LL_TBL_INDEX, layouts in ll_index.h): 'P' (policies),
 * 'H' (status record, read by ll_index_hitl / ll_index_status), 'V'
 * (approvals), 'Y' (pending, per initiative), 'G' (governance entries
 * about an actor).
 */
#ifndef LL_GOV_H
#define LL_GOV_H

#include <stddef.h>
#include <stdint.h>

#include "ll_check.h"
#include "ll_index.h"
#include "ll_store.h"
#include "loopledger/v1/entry.pb-c.h"

/* HITL and governance indexes for the entry about to be appended as seq,
 * inside the writer's child transaction, after ll_loop_apply. author_roles
 * are the author's roles. LL_ERR_PERMISSION / LL_ERR_PRECONDITION with msg
 * when a decision breaks a rule. */
int ll_gov_apply(ll_txn_t *txn, const Loopledger__V1__EntryBody *b, uint64_t seq,
                 uint32_t author_roles, char *msg, size_t cap);

/* The status seq had when the ledger held n entries, replayed from the
 * decisions below n exactly as they were counted (for as-of answers). */
uint32_t ll_gov_status_as_of(ll_txn_t *txn, uint64_t seq, uint64_t n);

/* Holds entry seq of initiative for approval as h says (status PENDING),
 * exactly as a matching policy would: for rules decided above ll_gov
 * (ll_experiment: a conclusion against its experiment's verdict). */
int ll_gov_hold(ll_txn_t *txn, uint64_t seq, const char *initiative, const ll_hitl_t *h);

#endif
