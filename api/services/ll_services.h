/*
 * ll_services: the implementations behind the method table (ll_methods.h).
 * Each service file translates between protobuf messages and the domain;
 * ll_methods.c lists which function serves which method, and
 * ll_services_register() plugs them into the runtime. Nothing here picks
 * a gRPC status: see ll_svc.h.
 *
 * Query functions are ll_svc_query_fn; handlers are ll_handler_fn. The
 * ctx / svc argument is the service context named in ll_methods.h.
 */
#ifndef LL_SERVICES_H
#define LL_SERVICES_H

#include "ll_ledger.h"
#include "ll_server.h"
#include "ll_svc.h"

#define LL_SVC_QUERY(name)                                                          \
    int name(void *ctx, ll_txn_t *txn, ll_arena_t *a, const ProtobufCMessage *req, \
             ProtobufCMessage **resp, char *msg, size_t cap)
#define LL_SVC_HANDLER(name) void name(ll_call_t *call, const uint8_t *req, size_t len, void *svc)

/* ---- grpc.health.v1.Health (ll_health.c): SERVING for "" and
 * "loopledger.v1.LedgerService", NOT_FOUND for other services. ---- */
LL_SVC_QUERY(ll_health_service_check);

/* ---- loopledger.v1.LedgerService (ll_ledger_service.c) ---- */
typedef struct ll_ledger_service ll_ledger_service_t;

/* Creates the LedgerService context over lg (Watch streams, proof node
 * cache) and hooks it to lg's commits. Caller owns *out. */
int ll_ledger_service_create(ll_ledger_t *lg, ll_ledger_service_t **out);
/* Ends every Watch stream (UNAVAILABLE) and refuses new ones. */
void ll_ledger_service_stop(ll_ledger_service_t *svc);
/* Unhooks and frees (after ll_server_shutdown). NULL is a no-op. */
void ll_ledger_service_free(ll_ledger_service_t *svc);

/* Live Watch streams (metrics). Any thread. */
unsigned ll_ledger_service_watches(ll_ledger_service_t *svc);

LL_SVC_HANDLER(ll_ledger_service_append);
LL_SVC_QUERY(ll_ledger_service_get_entry);
LL_SVC_QUERY(ll_ledger_service_list_entries);
LL_SVC_QUERY(ll_ledger_service_get_checkpoint);
LL_SVC_QUERY(ll_ledger_service_get_inclusion);
LL_SVC_QUERY(ll_ledger_service_get_consistency);
LL_SVC_HANDLER(ll_ledger_service_watch);

/* ---- loopledger.v1.LoopService (ll_loop_service.c); ctx: ll_ledger_t ---- */
LL_SVC_QUERY(ll_loop_service_get_initiative);
LL_SVC_QUERY(ll_loop_service_get_lineage);
LL_SVC_QUERY(ll_loop_service_list_open_loops);

/* ---- loopledger.v1.RoadmapService (ll_roadmap_service.c); ctx: ll_ledger_t ---- */
LL_SVC_QUERY(ll_roadmap_service_prioritize);
LL_SVC_QUERY(ll_roadmap_service_readout);
LL_SVC_QUERY(ll_roadmap_service_loop_health);

LL_SVC_QUERY(ll_roadmap_service_list_initiatives);

/* ---- loopledger.v1.GovernanceService (ll_governance_service.c); ctx and
 * svc: ll_ledger_t ---- */
LL_SVC_QUERY(ll_governance_service_decisions);
LL_SVC_QUERY(ll_governance_service_pending);
LL_SVC_QUERY(ll_governance_service_actor);
LL_SVC_HANDLER(ll_governance_service_export);

/* The RPC authorizer (an ll_authorize_fn; ctx is an ll_rpc_authz_t). On a
 * TLS listener every call needs a verified client certificate whose common
 * name is a registered actor whose roles allow the method's class
 * (ll_authz.h) and whose current key is not revoked (UNAUTHENTICATED
 * otherwise, as for an entry signed with a revoked key);
 * LL_ERR_UNAUTHENTICATED / LL_ERR_PERMISSION otherwise. On a
 * plaintext (loopback) listener there is no transport identity and every
 * method is open; entries still need their authors' signatures. */
typedef struct ll_rpc_authz {
    ll_store_t *st;
    int tls;
} ll_rpc_authz_t;
int ll_rpc_authorize(void *ctx, const char *path, const char *identity, char *msg, size_t cap);

/* The header-time identity check (an ll_identity_fn; ctx is an
 * ll_rpc_authz_t): the certificate's common name must be a registered
 * actor (LL_ERR_UNAUTHENTICATED otherwise), for every method. */
int ll_rpc_identity(void *ctx, const char *identity, char *msg, size_t cap);

#endif
