/*
 * ll_check: the stateless checks of an entry body, per kind.
 *
 * Entry kinds (domain.proto) are checked in two steps:
 *   - here, on the RPC thread (called by ll_entry_decode), with no ledger
 *     state: required fields, ranges, every enum value named by the
 *     contract, so bad input never reaches the writer;
 *   - then on the writer, with the ledger's state: the link table and loop
 *     rules (ll_loop_apply), approvals (ll_gov_apply), trust (ll_trust).
 *
 * Why a module of its own: the checks were split between ll_loop.c and
 * ll_gov.c, which made the entry decoder (and everything that decodes an
 * entry) depend on the writer's rules and indexes. This module depends on
 * the kind vocabulary (ll_kinds) and the protobuf code only.
 */
#ifndef LL_CHECK_H
#define LL_CHECK_H

#include <stddef.h>

#include "loopledger/v1/entry.pb-c.h"

/* Most distinct approvals a policy may require. */
#define LL_GOV_MAX_APPROVALS 10

/* Stateless checks of the body's kind fields, for the domain kinds
 * (initiative .. correction) and the governance kinds (key rotation,
 * revocation, role grant, policy); other kinds pass. A patch (a body with
 * an update_mask, ll_mask.h) gets only its initiative, enum and mask
 * checks here: the writer checks the merged record with this same
 * function (ll_record_merge). LL_OK, or LL_ERR_INVALID with a message in
 * msg[cap] saying which field and why. */
int ll_check_body(const Loopledger__V1__EntryBody *b, char *msg, size_t cap);

#endif
