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

typedef struct ll_loop_service ll_loop_service_t;

/* Registers loopledger.v1.LoopService (GetInitiative, GetLineage,
 * ListOpenLoops) on srv. Caller owns *out (free after ll_server_shutdown). */
int ll_loop_service_register(ll_server_t *srv, ll_ledger_t *lg,
                             ll_loop_service_t **out);
void ll_loop_service_free(ll_loop_service_t *svc);

/* Registers grpc.health.v1.Health/Check (SERVING for "" and for
 * "loopledger.v1.LedgerService", NOT_FOUND for other services). */
int ll_health_service_register(ll_server_t *srv);

#endif
