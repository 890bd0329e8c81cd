/* grpc.health.v1.Health/Check (ll_services.h): liveness for load balancers
 * and the benchmark's trivial-call ceiling, so it reads nothing. */
#include <stdio.h>
#include <string.h>

#include "grpc/health/v1/health.pb-c.h"
#include "ll_err.h"
#include "ll_services.h"

LL_SVC_QUERY(ll_health_service_check)
{
    (void)ctx;
    (void)txn;
    const Grpc__Health__V1__HealthCheckRequest *r = (const void *)req;
    if (r->service[0] && strcmp(r->service, "loopledger.v1.LedgerService")) {
        snprintf(msg, cap, "unknown service");
        return LL_ERR_NOT_FOUND;
    }
    Grpc__Health__V1__HealthCheckResponse *out = ll_arena_alloc(a, sizeof *out);
    if (!out)
        return LL_ERR_NOMEM;
    grpc__health__v1__health_check_response__init(out);
    out->status = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
    *resp = &out->base;
    return LL_OK;
}
