/*
 * loopledger.v1.RoadmapService (ll_services.h): Prioritize,
 * GetExperimentReadout, GetLoopHealth. Like LoopService, each call runs in
 * one LMDB read transaction (one consistent ledger state) and builds its
 * answer in a per-call arena; the domain modules (ll_roadmap, ll_readout,
 * ll_loophealth) do the work and this file only translates.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "ll_arena.h"
#include "ll_err.h"
#include "ll_loophealth.h"
#include "ll_readout.h"
#include "ll_roadmap.h"
#include "ll_portfolio.h"
#include "ll_services.h"
#include "ll_svc.h"
#include "ll_status.h"
#include "loopledger/v1/roadmap.pb-c.h"

struct ll_roadmap_service {
    ll_store_t *st;
};



static int q_prioritize(ll_txn_t *txn, ll_arena_t *a, const ProtobufCMessage *req,
                        ProtobufCMessage **resp, char *msg, size_t cap)
{
    return ll_roadmap_prioritize(txn, a, (const void *)req,
                                 (Loopledger__V1__PrioritizeResponse **)resp, msg, cap);
}

static int q_readout(ll_txn_t *txn, ll_arena_t *a, const ProtobufCMessage *req,
                     ProtobufCMessage **resp, char *msg, size_t cap)
{
    return ll_readout_query(txn, a, (const void *)req,
                            (Loopledger__V1__ExperimentReadout **)resp, msg, cap);
}

static int q_health(ll_txn_t *txn, ll_arena_t *a, const ProtobufCMessage *req,
                    ProtobufCMessage **resp, char *msg, size_t cap)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ll_loophealth_query(txn, a, (const void *)req,
                               (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec,
                               (Loopledger__V1__GetLoopHealthResponse **)resp, msg, cap);
}

static int q_portfolio(ll_txn_t *txn, ll_arena_t *a, const ProtobufCMessage *req,
                       ProtobufCMessage **resp, char *msg, size_t cap)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ll_portfolio_list(txn, a, (const void *)req,
                             (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec,
                             (Loopledger__V1__ListInitiativesResponse **)resp, msg, cap);
}

static void do_portfolio(ll_call_t *call, const uint8_t *req, size_t len, void *arg)
{
    ll_svc_serve(call, ((ll_roadmap_service_t *)arg)->st, req, len,
                 &loopledger__v1__list_initiatives_request__descriptor, q_portfolio);
}

static void do_prioritize(ll_call_t *call, const uint8_t *req, size_t len, void *arg)
{
    ll_svc_serve(call, ((ll_roadmap_service_t *)arg)->st, req, len,
                 &loopledger__v1__prioritize_request__descriptor, q_prioritize);
}

static void do_readout(ll_call_t *call, const uint8_t *req, size_t len, void *arg)
{
    ll_svc_serve(call, ((ll_roadmap_service_t *)arg)->st, req, len,
                 &loopledger__v1__get_experiment_readout_request__descriptor, q_readout);
}

static void do_health(ll_call_t *call, const uint8_t *req, size_t len, void *arg)
{
    ll_svc_serve(call, ((ll_roadmap_service_t *)arg)->st, req, len,
                 &loopledger__v1__get_loop_health_request__descriptor, q_health);
}

int ll_roadmap_service_register(ll_server_t *srv, ll_ledger_t *lg, ll_roadmap_service_t **out)
{
    ll_roadmap_service_t *svc = calloc(1, sizeof *svc);
    int err;
    if (!svc)
        return LL_ERR_NOMEM;
    svc->st = ll_ledger_store(lg);
    if ((err = ll_server_add_method(srv, "/loopledger.v1.RoadmapService/Prioritize", 0,
                                    do_prioritize, svc)) ||
        (err = ll_server_add_method(srv, "/loopledger.v1.RoadmapService/GetExperimentReadout", 0,
                                    do_readout, svc)) ||
        (err = ll_server_add_method(srv, "/loopledger.v1.RoadmapService/ListInitiatives", 0,
                                    do_portfolio, svc)) ||
        (err = ll_server_add_method(srv, "/loopledger.v1.RoadmapService/GetLoopHealth", 0,
                                    do_health, svc))) {
        free(svc);
        return err;
    }
    *out = svc;
    return LL_OK;
}

void ll_roadmap_service_free(ll_roadmap_service_t *svc)
{
    free(svc);
}
