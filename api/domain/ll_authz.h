/*
 * ll_authz: the authorization matrix, in one place.
 *
 * Two questions, both answered from an actor's roles (a bit per
 * loopledger.v1.Role):
 *   - may it call this RPC?  RPCs fall into classes: PUBLIC (health),
 *     READ (every query, proof and stream), WRITE (Append), AUDIT
 *     (ExportAudit);
 *   - may it author an entry of this kind?
 *
 *   kind                          admin contributor approver auditor service
 *   note                            x        x          x               x
 *   initiative, hypothesis,
 *   experiment, finding,
 *   adjustment, scaling_plan,
 *   roadmap_project, correction     x        x
 *   deployment, measurement, alert  x        x                          x
 *   decision                        x                   x
 *   review                          x        x          x
 *   actor, role_grant, policy       x
 *   key_rotation, revocation        x     (own key: any role but auditor)
 *   RPC class READ                  x        x          x       x       x
 *   RPC class WRITE                 x        x          x               x
 *   RPC class AUDIT                 x                           x
 *
 * Auditors are read-only. Approving needs the approver role (an admin may
 * record decisions but HITL approvals count approvers only; see ll_gov.c).
 */
#ifndef LL_AUTHZ_H
#define LL_AUTHZ_H

#include <stdint.h>

typedef enum ll_rpc_class {
    LL_RPC_PUBLIC = 0,
    LL_RPC_READ,
    LL_RPC_WRITE,
    LL_RPC_AUDIT
} ll_rpc_class_t;

#define LL_ROLE_BIT(r) (1u << (r))

/* Class of a full method path ("/loopledger.v1.LedgerService/Append");
 * unknown paths are READ (the server answers UNIMPLEMENTED anyway). */
ll_rpc_class_t ll_authz_rpc_class(const char *path);

/* 1 if an actor with roles may call RPCs of class c. */
int ll_authz_may_call(uint32_t roles, ll_rpc_class_t c);

/* 1 if an actor with roles may author an entry of kind (EntryBody oneof
 * number). Key rotation/revocation of one's own key is checked by the
 * ledger (it needs the subject); here they count as admin-only. */
int ll_authz_may_author(uint32_t roles, uint32_t kind);

/* "admin, contributor" for messages; out must hold 80 bytes. */
void ll_authz_roles_text(uint32_t roles, char *out);

#endif
