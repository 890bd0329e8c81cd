/*
 * loopledger.v1.LoopService (ll_services.h): derived initiative state,
 * lineage and open loops. Each call runs in one LMDB read transaction and
 * builds its answer in a per-call arena (ll_query.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "ll_arena.h"
#include "ll_asof.h"
#include "ll_err.h"
#include "ll_query.h"
#include "ll_services.h"
#include "ll_svc.h"
#include "ll_status.h"
#include "loopledger/v1/loop.pb-c.h"
#include "ll_initiative.h"
#include "ll_lineage.h"

struct ll_loop_service {
    ll_store_t *st;
};




static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int q_initiative(ll_txn_t *txn, ll_arena_t *a, const ProtobufCMessage *req,
                        ProtobufCMessage **resp, char *msg, size_t cap)
{
    const Loopledger__V1__GetInitiativeRequest *r = (const void *)req;
    if (r->as_of_size) /* recomputed from the entries below that size */
        return ll_initiative_get_as_of(txn, a, r, r->now_unix_nanos,
                                  (Loopledger__V1__InitiativeState **)resp, msg, cap);
    return ll_initiative_get(txn, a, r, r->now_unix_nanos ? r->now_unix_nanos : now_ns(),
                               (Loopledger__V1__InitiativeState **)resp, msg, cap);
}

static int q_lineage(ll_txn_t *txn, ll_arena_t *a, const ProtobufCMessage *req,
                     ProtobufCMessage **resp, char *msg, size_t cap)
{
    return ll_lineage_get(txn, a, (const void *)req, (Loopledger__V1__Lineage **)resp, msg,
                            cap);
}

static int q_open_loops(ll_txn_t *txn, ll_arena_t *a, const ProtobufCMessage *req,
                        ProtobufCMessage **resp, char *msg, size_t cap)
{
    return ll_query_open_loops(txn, a, (const void *)req,
                               (Loopledger__V1__ListOpenLoopsResponse **)resp, msg, cap);
}

static void do_get_initiative(ll_call_t *call, const uint8_t *req, size_t len, void *arg)
{
    ll_svc_serve(call, ((ll_loop_service_t *)arg)->st, req, len,
                 &loopledger__v1__get_initiative_request__descriptor, q_initiative);
}

static void do_get_lineage(ll_call_t *call, const uint8_t *req, size_t len, void *arg)
{
    ll_svc_serve(call, ((ll_loop_service_t *)arg)->st, req, len,
                 &loopledger__v1__get_lineage_request__descriptor, q_lineage);
}

static void do_list_open_loops(ll_call_t *call, const uint8_t *req, size_t len, void *arg)
{
    ll_svc_serve(call, ((ll_loop_service_t *)arg)->st, req, len,
                 &loopledger__v1__list_open_loops_request__descriptor, q_open_loops);
}

int ll_loop_service_register(ll_server_t *srv, ll_ledger_t *lg, ll_loop_service_t **out)
{
    ll_loop_service_t *svc = calloc(1, sizeof *svc);
    int err;
    if (!svc)
        return LL_ERR_NOMEM;
    svc->st = ll_ledger_store(lg);
    if ((err = ll_server_add_method(srv, "/loopledger.v1.LoopService/GetInitiative", 0,
                                    do_get_initiative, svc)) ||
        (err = ll_server_add_method(srv, "/loopledger.v1.LoopService/GetLineage", 0,
                                    do_get_lineage, svc)) ||
        (err = ll_server_add_method(srv, "/loopledger.v1.LoopService/ListOpenLoops", 0,
                                    do_list_open_loops, svc))) {
        free(svc);
        return err;
    }
    *out = svc;
    return LL_OK;
}

void ll_loop_service_free(ll_loop_service_t *svc)
{
    free(svc);
}
