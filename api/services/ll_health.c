/* grpc.health.v1.Health: liveness for load balancers and the benchmark's
 * trivial-call ceiling. */
#include <string.h>

#include "grpc/health/v1/health.pb-c.h"
#include "ll_services.h"

static void health_check(ll_call_t *call, const uint8_t *req, size_t len, void *svc)
{
    (void)svc;
    Grpc__Health__V1__HealthCheckRequest *r =
        grpc__health__v1__health_check_request__unpack(NULL, len, req);
    if (!r) {
        ll_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, "malformed HealthCheckRequest");
        return;
    }
    int known = r->service[0] == 0 || strcmp(r->service, "loopledger.v1.LedgerService") == 0;
    grpc__health__v1__health_check_request__free_unpacked(r, NULL);
    if (!known) {
        ll_call_fail(call, GRPC_STATUS_NOT_FOUND, "unknown service");
        return;
    }
    Grpc__Health__V1__HealthCheckResponse resp = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
    resp.status = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
    uint8_t buf[16];
    size_t n = grpc__health__v1__health_check_response__pack(&resp, buf);
    ll_call_reply(call, buf, n);
}

int ll_health_service_register(ll_server_t *srv)
{
    return ll_server_add_method(srv, "/grpc.health.v1.Health/Check", 0, health_check, NULL);
}
