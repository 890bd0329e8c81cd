/*
 * ll_authz: the role x entry kind x RPC matrix (ll_authz.h). Tables, not
 * code paths, so the README's matrix and the enforcement cannot drift.
 */
#include "ll_authz.h"

#include <stdio.h>
#include <string.h>

#include "loopledger/v1/entry.pb-c.h"

#define ADMIN LL_ROLE_BIT(LOOPLEDGER__V1__ROLE__ROLE_ADMIN)
#define CONTRIB LL_ROLE_BIT(LOOPLEDGER__V1__ROLE__ROLE_CONTRIBUTOR)
#define APPROVER LL_ROLE_BIT(LOOPLEDGER__V1__ROLE__ROLE_APPROVER)
#define AUDITOR LL_ROLE_BIT(LOOPLEDGER__V1__ROLE__ROLE_AUDITOR)
#define SERVICE LL_ROLE_BIT(LOOPLEDGER__V1__ROLE__ROLE_SERVICE)
#define K(x) LOOPLEDGER__V1__ENTRY_BODY__KIND_##x

static const struct {
    uint32_t kind;
    uint32_t roles;
} kind_roles[] = {
    {K(NOTE), ADMIN | CONTRIB | APPROVER | SERVICE},
    {K(ACTOR), ADMIN},
    {K(GENESIS), 0}, /* written by the server only */
    {K(CHARTER), ADMIN | CONTRIB},
    {K(HYPOTHESIS), ADMIN | CONTRIB},
    {K(EXPERIMENT), ADMIN | CONTRIB},
    {K(DEPLOYMENT), ADMIN | CONTRIB | SERVICE},
    {K(MEASUREMENT), ADMIN | CONTRIB | SERVICE},
    {K(ALERT), ADMIN | CONTRIB | SERVICE},
    {K(FINDING), ADMIN | CONTRIB},
    {K(ADJUSTMENT), ADMIN | CONTRIB},
    {K(DECISION), ADMIN | APPROVER},
    {K(REVIEW), ADMIN | CONTRIB | APPROVER},
    {K(SCALING_PLAN), ADMIN | CONTRIB},
    {K(ROADMAP_PROJECT), ADMIN | CONTRIB},
    {K(CORRECTION), ADMIN | CONTRIB},
    {K(KEY_ROTATION), ADMIN},
    {K(REVOCATION), ADMIN},
    {K(ROLE_GRANT), ADMIN},
    {K(POLICY), ADMIN},
};

static const struct {
    const char *path;
    ll_rpc_class_t cls;
} rpc_classes[] = {
    {"/grpc.health.v1.Health/Check", LL_RPC_PUBLIC},
    {"/loopledger.v1.LedgerService/Append", LL_RPC_WRITE},
    {"/loopledger.v1.GovernanceService/ExportAudit", LL_RPC_AUDIT},
};

static const uint32_t class_roles[] = {
    [LL_RPC_PUBLIC] = 0xffffffffu,
    [LL_RPC_READ] = ADMIN | CONTRIB | APPROVER | AUDITOR | SERVICE,
    [LL_RPC_WRITE] = ADMIN | CONTRIB | APPROVER | SERVICE,
    [LL_RPC_AUDIT] = ADMIN | AUDITOR,
};

ll_rpc_class_t ll_authz_rpc_class(const char *path)
{
    for (size_t i = 0; i < sizeof rpc_classes / sizeof rpc_classes[0]; i++)
        if (!strcmp(path, rpc_classes[i].path))
            return rpc_classes[i].cls;
    return LL_RPC_READ;
}

int ll_authz_may_call(uint32_t roles, ll_rpc_class_t c)
{
    return (class_roles[c] & roles) != 0 || c == LL_RPC_PUBLIC;
}

int ll_authz_may_author(uint32_t roles, uint32_t kind)
{
    for (size_t i = 0; i < sizeof kind_roles / sizeof kind_roles[0]; i++)
        if (kind_roles[i].kind == kind)
            return (kind_roles[i].roles & roles) != 0;
    return 0;
}

void ll_authz_roles_text(uint32_t roles, char *out)
{
    static const char *const names[] = {"", "admin", "contributor", "approver", "auditor",
                                        "service"};
    size_t n = 0;
    out[0] = 0;
    for (unsigned r = 1; r < 6; r++)
        if (roles & LL_ROLE_BIT(r))
            n += (size_t)snprintf(out + n, 80 - n, "%s%s", n ? ", " : "", names[r]);
    if (!n)
        snprintf(out, 80, "no role");
}
