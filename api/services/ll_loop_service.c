/*
 * loopledger.v1.LoopService (ll_services.h): derived initiative state,
 * lineage and open loops. Each call runs in one LMDB read transaction and
 * builds its answer in a per-call arena (ll_query.h); ll_svc does the rest.
 */
#include <time.h>

#include "ll_asof.h"
#include "ll_clock.h"
#include "ll_err.h"
#include "ll_kpi.h"
#include "ll_query.h"
#include "ll_services.h"
#include "loopledger/v1/loop.pb-c.h"
#include "ll_initiative.h"
#include "ll_lineage.h"


LL_SVC_QUERY(ll_loop_service_get_initiative)
{
    (void)ctx;
    const Loopledger__V1__GetInitiativeRequest *r = (const void *)req;
    int err;
    if (r->as_of_size) /* recomputed from the entries below that size */
        err = ll_initiative_get_as_of(txn, a, r, r->now_unix_nanos,
                                      (Loopledger__V1__InitiativeState **)resp, msg, cap);
    else
        err = ll_initiative_get(txn, a, r, r->now_unix_nanos ? r->now_unix_nanos : ll_clock_realtime_ns(),
                                (Loopledger__V1__InitiativeState **)resp, msg, cap);
    if (err)
        return err;
    /* KPIs against their targets (ll_kpi.h), live or as of the same size. */
    return ll_kpi_fill(txn, a, (Loopledger__V1__InitiativeState *)*resp, r->as_of_size,
                       r->kpi_window, msg, cap);
}

LL_SVC_QUERY(ll_loop_service_get_lineage)
{
    (void)ctx;
    return ll_lineage_get(txn, a, (const void *)req, (Loopledger__V1__Lineage **)resp, msg,
                            cap);
}

LL_SVC_QUERY(ll_loop_service_list_open_loops)
{
    (void)ctx;
    return ll_query_open_loops(txn, a, (const void *)req,
                               (Loopledger__V1__ListOpenLoopsResponse **)resp, msg, cap);
}
