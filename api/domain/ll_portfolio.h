/*
 * ll_portfolio: the CoE portfolio (RoadmapService.ListInitiatives) and the
 * ledger-wide totals the metrics expose.
 *
 * An initiative's summary is assembled from the queries that already
 * define each figure, so the portfolio never disagrees with the detail
 * pages: ll_initiative_get (phase, stage, cycle, open-loop counts,
 * overdue reviews), ll_loophealth_query (acted-on share, review
 * adherence, drift alerts), the pending-approval index (ll_gov.h 'Y') and
 * ll_kpi_fill (each charter KPI against its target, the same KpiStatus
 * GetInitiative answers).
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
 * Pages in initiative-id order; the token is the next initiative id.
 * LL_ERR_INVALID (msg) for page_size > 1000 or kpi_window > 50. */
int ll_portfolio_list(ll_txn_t *txn, ll_arena_t *a,
                      const Loopledger__V1__ListInitiativesRequest *r, int64_t clock_ns,
                      Loopledger__V1__ListInitiativesResponse **out, char *msg, size_t cap);

/* Ledger-wide figures for /metrics. */
typedef struct ll_portfolio_totals {
    uint64_t initiatives;
    uint64_t open[LL_OPEN__COUNT]; /* by internal category (ll_loop.h) */
    uint64_t pending_approvals;
} ll_portfolio_totals_t;

int ll_portfolio_totals(ll_txn_t *txn, ll_portfolio_totals_t *out);

#endif
