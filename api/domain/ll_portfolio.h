/*
 * ll_portfolio: the CoE portfolio (RoadmapService.ListInitiatives) and the
 * ledger-wide totals the metrics expose.
 *
 * An initiative's summary is assembled from the queries that already
 * define each figure, so the portfolio never disagrees with the detail
 * pages: ll_initiative_get (phase, stage, cycle, open-loop counts,
 * overdue reviews), ll_loophealth_query (acted-on share, review
 * adherence, drift alerts), the pending-approval index (ll_gov.h 'Y') and
 * ll_portfolio_kpi for each charter KPI.
 *
 * Same conventions as ll_query.h: one read transaction, answer in the
 * caller's arena, LL_ERR_INVALID / LL_ERR_NOT_FOUND with msg[cap].
 */
#ifndef LL_PORTFOLIO_H
#define LL_PORTFOLIO_H

#include <stddef.h>
#include <stdint.h>

#include "ll_arena.h"
#include "ll_index.h"
#include "ll_store.h"
#include "loopledger/v1/roadmap.pb-c.h"

/* ListInitiatives. clock_ns is the server clock for a request without now.
 * Pages in initiative-id order; the token is the next initiative id. */
int ll_portfolio_list(ll_txn_t *txn, ll_arena_t *a,
                      const Loopledger__V1__ListInitiativesRequest *r, int64_t clock_ns,
                      Loopledger__V1__ListInitiativesResponse **out, char *msg, size_t cap);

/* One charter KPI against the initiative's measurements of its metric,
 * with the last `points` points. The KPI's series is the overall one:
 * observations without an experiment arm whose segment is empty or names
 * the whole ("all", "all categories"; empty wins). Corrected (superseded)
 * and not yet approved measurements are left out of the points.
 * The one place the portfolio decides "on track": the latest value meets
 * the target in the KPI's direction (>= for INCREASE or unspecified, <= for
 * DECREASE). */
int ll_portfolio_kpi(ll_txn_t *txn, ll_arena_t *a, const char *initiative,
                     const Loopledger__V1__Kpi *kpi, uint32_t points,
                     Loopledger__V1__KpiStatus **out);

/* Ledger-wide figures for /metrics. */
typedef struct ll_portfolio_totals {
    uint64_t initiatives;
    uint64_t open[LL_OPEN__COUNT]; /* by internal category (ll_loop.h) */
    uint64_t pending_approvals;
} ll_portfolio_totals_t;

int ll_portfolio_totals(ll_txn_t *txn, ll_portfolio_totals_t *out);

#endif
