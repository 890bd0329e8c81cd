/*
 * ll_services: the RPC surface. Each service registers its methods with the
 * server runtime and translates between protobuf messages and the domain.
 */
#ifndef LL_SERVICES_H
#define LL_SERVICES_H

#include "ll_ledger.h"
#include "ll_server.h"

typedef struct ll_ledger_service ll_ledger_service_t;

/* Registers loopledger.v1.LedgerService on srv. Caller owns *out. */
int ll_ledger_service_register(ll_server_t *srv, ll_ledger_t *lg,
                               ll_ledger_service_t **out);

/* Ends every Watch stream (UNAVAILABLE) and refuses new ones; call before
 * ll_server_shutdown so that streams do not hold the drain open. */
void ll_ledger_service_stop(ll_ledger_service_t *svc);

/* Frees the service (after ll_server_shutdown). */
void ll_ledger_service_free(ll_ledger_service_t *svc);

/* Live Watch streams (metrics). Any thread. */
unsigned ll_ledger_service_watches(ll_ledger_service_t *svc);

typedef struct ll_loop_service ll_loop_service_t;

/* Registers loopledger.v1.LoopService (GetInitiative, GetLineage,
 * ListOpenLoops) on srv. Caller owns *out (free after ll_server_shutdown). */
int ll_loop_service_register(ll_server_t *srv, ll_ledger_t *lg,
                             ll_loop_service_t **out);
void ll_loop_service_free(ll_loop_service_t *svc);

typedef struct ll_roadmap_service ll_roadmap_service_t;

/* Registers loopledger.v1.RoadmapService (Prioritize, GetExperimentReadout,
 * GetLoopHealth, ListInitiatives) on srv. Caller owns *out (free after ll_server_shutdown). */
int ll_roadmap_service_register(ll_server_t *srv, ll_ledger_t *lg,
                                ll_roadmap_service_t **out);
void ll_roadmap_service_free(ll_roadmap_service_t *svc);

typedef struct ll_governance_service ll_governance_service_t;

/* Registers loopledger.v1.GovernanceService (DecisionHistory,
 * PendingApprovals, ActorHistory, ExportAudit). Free after shutdown. */
int ll_governance_service_register(ll_server_t *srv, ll_ledger_t *lg,
                                   ll_governance_service_t **out);
void ll_governance_service_free(ll_governance_service_t *svc);

/* The RPC authorizer (an ll_authorize_fn; ctx is an ll_rpc_authz_t). On a
 * TLS listener every call needs a verified client certificate whose common
 * name is a registered actor whose roles allow the method's class
 * (ll_authz.h); UNAUTHENTICATED / PERMISSION_DENIED otherwise. On a
 * plaintext (loopback) listener there is no transport identity and every
 * method is open; entries still need their authors' signatures. */
typedef struct ll_rpc_authz {
    ll_store_t *st;
    int tls;
} ll_rpc_authz_t;
grpc_status_code ll_rpc_authorize(void *ctx, const char *path, const char *identity,
                                  char *msg, size_t cap);

/* Registers grpc.health.v1.Health/Check (SERVING for "" and for
 * "loopledger.v1.LedgerService", NOT_FOUND for other services). */
int ll_health_service_register(ll_server_t *srv);

#endif
