/*
 * ll_verdict: the analysis of an experiment's readout under the plan in
 * force, and the verdict that follows from the rule in ll_plan.h.
 *
 * Given a computed readout (ll_readout.h: pooled arms and their tests) with
 * its plan filled in (r->plan), it adds: Pearson's chi-square SRM check
 * against the planned allocation (p < LL_PLAN_SRM_P: UNTRUSTWORTHY), the
 * plan's multiple-testing correction of the decision p-values (per arm
 * p_corr), the guardrails (one-sided tests against the allowed
 * degradation, uncorrected), power to detect the MDE at the sizes reached,
 * sample progress, each variant's verdict and reason, and the overall
 * verdict and reason. ll_experiment loads the plan and calls this; the
 * rules that act on a verdict stay there.
 */
#ifndef LL_VERDICT_H
#define LL_VERDICT_H

#include <stdint.h>

#include "ll_asof.h"
#include "ll_readout.h"
#include "ll_scratch.h"
#include "ll_store.h"

/* Analyses r (computed for experiment exp as of as_of in segment, with
 * r->plan set) in place: fills the SRM fields, guards, per-arm p_corr,
 * power, verdict and reason, progress, underpowered, and r->verdict,
 * r->verdict_arm, r->reason. ended != 0 reads the experiment as ended
 * (short of the planned sample means INCONCLUSIVE, not KEEP_RUNNING).
 * Guardrail readouts are computed on txn with sups (NULL: as-of lookups)
 * and scratch (NULL: malloc), and freed before returning. LL_OK, or a
 * store error from a guardrail readout (r is then partly analysed). */
int ll_verdict_analyse(ll_txn_t *txn, ll_readout_t *r, uint64_t exp, uint64_t as_of,
                       const char *segment, int ended, const ll_asof_sups_t *sups,
                       ll_scratch_t *scratch);

#endif
