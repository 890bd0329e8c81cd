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
 * Index records (LL_TBL_INDEX): 'P' seq8 (policies), 'H' seq8 -> status
 * record, 'V' seq8 approver 0 (approvals), 'Y' ini 0 seq8 (pending, per
 * initiative), 'G' actor 0 seq8 (governance entries about an actor).
 */
#ifndef LL_GOV_H
#define LL_GOV_H

#include <stddef.h>
#include <stdint.h>

#include "ll_store.h"
#include "loopledger/v1/entry.pb-c.h"

#define LL_IX_POLICY 'P'
#define LL_IX_HITL 'H'
#define LL_IX_APPROVAL 'V'
#define LL_IX_PENDING 'Y'
#define LL_IX_SUBJECT 'G'

#define LL_GOV_MAX_APPROVALS 10

typedef struct ll_hitl {
    uint32_t status;   /* Loopledger__V1__ApprovalStatus */
    uint64_t policy_seq;
    uint32_t level;    /* Loopledger__V1__HitlLevel */
    uint32_t required;
    uint32_t approvals;
} ll_hitl_t;

/* Stateless checks of governance kinds (key rotation, revocation, role
 * grant, policy). LL_OK or LL_ERR_INVALID with msg. */
int ll_gov_check_body(const Loopledger__V1__EntryBody *b, char *msg, size_t cap);

/* HITL and governance indexes for the entry about to be appended as seq,
 * inside the writer's child transaction, after ll_loop_apply. author_roles
 * are the author's roles. LL_ERR_PERMISSION / LL_ERR_PRECONDITION with msg
 * when a decision breaks a rule. */
int ll_gov_apply(ll_txn_t *txn, const Loopledger__V1__EntryBody *b, uint64_t seq,
                 uint32_t author_roles, char *msg, size_t cap);

/* The entry's HITL record; LL_ERR_NOT_FOUND when no policy applied. */
int ll_gov_hitl(ll_txn_t *txn, uint64_t seq, ll_hitl_t *out);

/* Derived status of seq: EFFECTIVE unless a policy made it pending or it
 * was rejected. */
uint32_t ll_gov_status(ll_txn_t *txn, uint64_t seq);

/* The status seq had when the ledger held n entries, replayed from the
 * decisions below n exactly as they were counted (for as-of answers). */
uint32_t ll_gov_status_as_of(ll_txn_t *txn, uint64_t seq, uint64_t n);

#endif
