/*
 * loopledger.v1.RoadmapService (ll_services.h): Prioritize,
 * GetExperimentReadout, GetLoopHealth. Like LoopService, each call runs in
 * one LMDB read transaction (one consistent ledger state) and builds its
 * answer in a per-call arena; the domain modules (ll_roadmap, ll_readout,
 * ll_loophealth) do the work and this file only translates.
 */
#include <time.h>

#include "ll_clock.h"
#include "ll_err.h"
#include "ll_loophealth.h"
#include "ll_experiment.h"
#include "ll_readout.h"
#include "ll_roadmap.h"
#include "ll_portfolio.h"
#include "ll_services.h"
#include "loopledger/v1/roadmap.pb-c.h"

LL_SVC_QUERY(ll_roadmap_service_prioritize)
{
    (void)ctx;
    return ll_roadmap_prioritize(txn, a, (const void *)req,
                                 (Loopledger__V1__PrioritizeResponse **)resp, msg, cap);
}

LL_SVC_QUERY(ll_roadmap_service_readout)
{
    (void)ctx;
    return ll_experiment_query(txn, a, (const void *)req,
                            (Loopledger__V1__ExperimentReadout **)resp, msg, cap);
}

LL_SVC_QUERY(ll_roadmap_service_loop_health)
{
    (void)ctx;
    return ll_loophealth_query(txn, a, (const void *)req, ll_clock_realtime_ns(),
                               (Loopledger__V1__GetLoopHealthResponse **)resp, msg, cap);
}

LL_SVC_QUERY(ll_roadmap_service_list_initiatives)
{
    (void)ctx;
    return ll_portfolio_list(txn, a, (const void *)req, ll_clock_realtime_ns(),
                             (Loopledger__V1__ListInitiativesResponse **)resp, msg, cap);
}
