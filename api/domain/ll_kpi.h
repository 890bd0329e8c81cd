/*
 * ll_kpi: a charter's KPIs against their latest measured values, for
 * GetInitiative (InitiativeState.kpis) and the portfolio
 * (ListInitiatives, ll_portfolio.h): the one definition of "on track".
 *
 * The value of KPI k of initiative I is the latest observation, below the
 * as-of size and not superseded by a Correction, of k.metric in k.segment
 * with no arm (experiment arms are not the initiative's KPI), as the
 * drift series index (LL_IX_SERIES, ll_index.h) holds it: values as
 * recorded, in the KPI's unit. On track when latest >= target (direction
 * increase) or latest <= target (decrease); gap = latest - target, signed
 * so that >= 0 is on track. The trend is the least-squares slope per
 * measurement over the last `window` values, called "improving" or
 * "worsening" for the KPI's direction when its total change over the
 * window exceeds 1% of the target's magnitude (or of the mean when the
 * target is 0), else "flat".
 */
#ifndef LL_KPI_H
#define LL_KPI_H

#include <stdint.h>

#include "ll_arena.h"
#include "ll_store.h"
#include "loopledger/v1/loop.pb-c.h"

#define LL_KPI_DEFAULT_WINDOW 5
#define LL_KPI_MAX_WINDOW 50

/* Fills s->kpis from the charter s->charter (nothing without one), as of
 * tree size as_of (0 = the transaction's size), in arena a. window 0 =
 * LL_KPI_DEFAULT_WINDOW. LL_ERR_INVALID (msg) for window > LL_KPI_MAX_WINDOW;
 * store errors otherwise. */
int ll_kpi_fill(ll_txn_t *txn, ll_arena_t *a, Loopledger__V1__InitiativeState *s,
                uint64_t as_of, uint32_t window, char *msg, size_t cap);

/* The trend word for values v[n] (oldest first) and a KPI (pure):
 * "improving", "worsening", "flat", or "" when n < 2; *slope receives the
 * least-squares slope per measurement (0 when n < 2). */
const char *ll_kpi_trend(const double *v, size_t n, int direction, double target,
                         double *slope);

#endif
