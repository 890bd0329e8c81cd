/*
 * ll_plan: an experiment's pre-registered analysis plan (domain.proto
 * AnalysisPlan), pure: its checks, its defaults and the per-arm sample
 * size computed from the baseline. ll_experiment finds the plan in force
 * and ll_verdict applies it to a readout (SRM, corrections, guardrails,
 * power) with the decision rule below.
 *
 * The verdict rule (README "Experiments" says the same in prose), per
 * variant, with d = +1 when the plan wants the primary metric up, -1 down:
 *   - a breached guardrail: ROLL_BACK, at any time (a safety stop);
 *   - no test possible: KEEP_RUNNING, or INCONCLUSIVE once ended;
 *   - sequential plans (always-valid p-values may be read at every look):
 *     significant with d x diff > 0: SHIP; significant the other way:
 *     ROLL_BACK; else KEEP_RUNNING until the planned sample, INCONCLUSIVE
 *     after it (or when ended short: underpowered);
 *   - fixed-horizon plans are read only at the planned sample per arm:
 *     before it, KEEP_RUNNING (INCONCLUSIVE and underpowered when the
 *     experiment ended short); at it, superiority: significant with
 *     d x diff > 0: SHIP, the other way: ROLL_BACK, else INCONCLUSIVE;
 *     non-inferiority: not worse than the MDE (one-sided): SHIP, else
 *     INCONCLUSIVE (ROLL_BACK if significantly worse).
 * "Significant" uses the corrected p-value (Holm / Benjamini-Hochberg over
 * the variants) against the plan's alpha. Overall: an SRM mismatch (p <
 * 0.001) makes the readout UNTRUSTWORTHY whatever else holds; otherwise
 * SHIP the variant with the best d x lift among those whose verdict is
 * SHIP; otherwise ROLL_BACK when every variant says so; otherwise
 * KEEP_RUNNING if any variant does; otherwise ROLL_BACK if any variant
 * does; otherwise INCONCLUSIVE. Without a plan there is no verdict
 * (VERDICT_UNSPECIFIED) except UNTRUSTWORTHY.
 */
#ifndef LL_PLAN_H
#define LL_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "loopledger/v1/entry.pb-c.h"

#define LL_PLAN_DEFAULT_ALPHA 0.05
#define LL_PLAN_DEFAULT_POWER 0.8
/* GrowthBook's threshold for a sample ratio mismatch. */
#define LL_PLAN_SRM_P 0.001
/* Corrections followed from an experiment (the chain of amendments). */
#define LL_PLAN_MAX_AMENDMENTS 16


typedef struct ll_plan {
    int has;                                 /* a plan is in force */
    Loopledger__V1__AnalysisPlan eff;        /* with defaults; guardrails point into src */
    const Loopledger__V1__AnalysisPlan *src; /* into the body that holds it */
    uint64_t seq;                            /* the entry that holds it */
    int computed;                            /* sample size computed from the baseline */
    double tau2;                             /* mSPRT mixture variance; 0 = fixed horizon */
    uint64_t changed[LL_PLAN_MAX_AMENDMENTS]; /* amending Corrections after data */
    size_t n_changed;
    uint64_t amendments[LL_PLAN_MAX_AMENDMENTS]; /* every amending Correction */
    size_t n_amendments;
} ll_plan_t;

/* Stateless checks of a plan (on the RPC thread, from ll_check):
 * LL_OK, or LL_ERR_INVALID with msg[cap] naming the field (prefix what). */
int ll_plan_check(const Loopledger__V1__AnalysisPlan *p, const char *what, char *msg,
                  size_t cap);

/* Fills out from plan p held by entry seq: defaults (alpha 0.05, power
 * 0.8, fixed horizon, superiority, no correction) and the per-arm sample
 * size computed from the baseline when p gives none. p NULL: out->has = 0.
 * out->src keeps pointing into p. */
void ll_plan_resolve(const Loopledger__V1__AnalysisPlan *p, uint64_t seq, ll_plan_t *out);

/* Name of a verdict ("ship", "roll back"...). */
const char *ll_plan_verdict_name(int verdict);

#endif
