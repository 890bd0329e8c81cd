/*
 * The RPC authorizer (ll_services.h): transport identity -> registered
 * actor -> roles -> the matrix in ll_authz.h. One read transaction per
 * call, only on TLS listeners. An actor whose current key is revoked
 * loses every non-public method: revocation ends reading as well.
 */
#include <stdio.h>
#include <time.h>

#include "ll_authz.h"
#include "ll_clock.h"
#include "ll_err.h"
#include "ll_services.h"
#include "ll_trust.h"


int ll_rpc_identity(void *ctx, const char *identity, char *msg, size_t cap)
{
    ll_rpc_authz_t *a = ctx;
    ll_txn_t *txn;
    uint32_t roles;
    int err;
    if ((err = ll_store_begin_read(a->st, &txn))) {
        snprintf(msg, cap, "cannot read ledger: %s", ll_strerror(err));
        return LL_ERR_UNAVAILABLE;
    }
    err = ll_trust_actor_roles(txn, identity, &roles);
    ll_store_abort(txn);
    if (err == LL_ERR_NOT_FOUND) {
        snprintf(msg, cap, "certificate subject \"%.100s\" is not a registered actor", identity);
        return LL_ERR_UNAUTHENTICATED;
    }
    if (err) {
        snprintf(msg, cap, "reading actor: %s", ll_strerror(err));
        return LL_ERR_STORE;
    }
    return LL_OK;
}

int ll_rpc_authorize(void *ctx, const char *path, const char *identity, char *msg, size_t cap)
{
    ll_rpc_authz_t *a = ctx;
    ll_rpc_class_t cls;
    ll_txn_t *txn;
    uint32_t roles = 0;
    char have[80];
    int err;

    if (!a->tls || !path)
        return LL_OK; /* plaintext loopback; unknown methods fail anyway */
    cls = ll_authz_rpc_class(path);
    if (cls == LL_RPC_PUBLIC)
        return LL_OK;
    if (!identity) {
        snprintf(msg, cap, "a verified client certificate naming a registered actor is required");
        return LL_ERR_UNAUTHENTICATED;
    }
    if ((err = ll_store_begin_read(a->st, &txn))) {
        snprintf(msg, cap, "cannot read ledger: %s", ll_strerror(err));
        return LL_ERR_UNAVAILABLE;
    }
    int live = 1;
    err = ll_trust_actor_roles(txn, identity, &roles);
    if (!err)
        err = ll_trust_actor_key_live(txn, identity, ll_clock_realtime_ns(), &live);
    ll_store_abort(txn);
    if (err == LL_ERR_NOT_FOUND) {
        snprintf(msg, cap, "certificate subject \"%.100s\" is not a registered actor", identity);
        return LL_ERR_UNAUTHENTICATED;
    }
    if (err) {
        snprintf(msg, cap, "reading actor: %s", ll_strerror(err));
        return LL_ERR_STORE; /* the server's fault, whatever the cause */
    }
    if (!live) {
        /* Revocation ends access, not only authorship: an actor whose key
         * is revoked (e.g. a departed or compromised account) must not go
         * on reading the ledger with the certificate it still holds. */
        snprintf(msg, cap,
                 "the key of \"%.100s\" is revoked: an admin must register a new key for it "
                 "(key rotation) before it can call %s",
                 identity, path);
        return LL_ERR_UNAUTHENTICATED; /* as an append signed with that key */
    }
    if (!ll_authz_may_call(roles, cls)) {
        ll_authz_roles_text(roles, have);
        snprintf(msg, cap, "\"%.100s\" (%s) may not call %s", identity, have, path);
        return LL_ERR_PERMISSION;
    }
    return LL_OK;
}
