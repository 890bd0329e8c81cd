/*
 * ll_loophealth: RoadmapService.GetLoopHealth, the loop-health report of
 * the monthly/quarterly reviews, per initiative, as of a tree size.
 *
 * Definitions (entries below as_of_size only; superseded Findings and
 * Alerts are left out of every count):
 *   - findings: the initiative's Findings;
 *   - acted on: an Adjustment ADDRESSES it, a RoadmapProject is SPAWNED_BY
 *     it, or a Hypothesis is DERIVED_FROM it (the same rule that closes
 *     the "finding not acted on" open loop);
 *   - finding -> adjustment: for each addressed finding, the server time
 *     of the first (lowest seq) Adjustment that ADDRESSES it minus the
 *     finding's; the median over addressed findings (the mean of the two
 *     middle values for an even count), in seconds;
 *   - experiments per cycle: Experiments / max(cycle, 1), cycle being the
 *     completed loop turns of the initiative's state (as of the size);
 *   - review-cadence adherence, per calendar cadence of the charter in
 *     force (daily 1 d, weekly 7 d, monthly 31 d, quarterly 92 d, the
 *     periods GetInitiative's overdue rule uses; post-campaign has no
 *     calendar): periods = whole periods from the initiative's first entry
 *     to now; reviewed = how many of those periods [start + k p,
 *     start + (k+1) p) contain a Review of that cadence; adherence =
 *     reviewed / periods (1 when periods = 0). The overall figure is
 *     sum(reviewed) / sum(periods) over the cadences;
 *   - open drift alerts: Alerts with detector DRIFT, no diagnosis of their
 *     own and no Finding that DIAGNOSES them.
 * "Now" is the request's, else the server time of entry as_of_size - 1
 * when as_of_size is given, else the caller's clock.
 */
#ifndef LL_LOOPHEALTH_H
#define LL_LOOPHEALTH_H

#include <stddef.h>
#include <stdint.h>

#include "ll_arena.h"
#include "ll_store.h"
#include "loopledger/v1/roadmap.pb-c.h"

/* GetLoopHealth in arena a; clock_ns is the server clock for a live
 * request without now. LL_ERR_NOT_FOUND for an unknown initiative,
 * LL_ERR_RANGE for a size beyond the tree; msg says what. */
int ll_loophealth_query(ll_txn_t *txn, ll_arena_t *a,
                        const Loopledger__V1__GetLoopHealthRequest *r,
                        int64_t clock_ns,
                        Loopledger__V1__GetLoopHealthResponse **out, char *msg,
                        size_t cap);

#endif
