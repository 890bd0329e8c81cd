/*
 * ll_plan: an experiment's pre-registered analysis plan (domain.proto
 * AnalysisPlan) and what it decides: defaults and the per-arm sample size,
 * the plan in force (the Experiment's, or a Correction's amended_plan) and
 * whether it was fixed before the data, and the analysis of a readout
 * under it (multiple-testing correction, sample ratio mismatch, power and
 * sample progress, guardrails, the pre-registered decision rule's verdict).
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

#include "ll_store.h"
#include "loopledger/v1/entry.pb-c.h"

#define LL_PLAN_DEFAULT_ALPHA 0.05
#define LL_PLAN_DEFAULT_POWER 0.8
/* GrowthBook's threshold for a sample ratio mismatch. */
#define LL_PLAN_SRM_P 0.001
/* Corrections followed from an experiment (the chain of amendments). */
#define LL_PLAN_MAX_AMENDMENTS 16

struct ll_readout;  /* ll_readout.h */
struct ll_asof_sups; /* ll_asof.h */
struct ll_scratch;  /* ll_scratch.h */

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

/* Stateless checks of a plan (on the RPC thread, from ll_loop_check_body):
 * LL_OK, or LL_ERR_INVALID with msg[cap] naming the field (prefix what). */
int ll_plan_check(const Loopledger__V1__AnalysisPlan *p, const char *what, char *msg,
                  size_t cap);

/* Fills out from plan p held by entry seq: defaults (alpha 0.05, power
 * 0.8, fixed horizon, superiority, no correction) and the per-arm sample
 * size computed from the baseline when p gives none. p NULL: out->has = 0.
 * out->src keeps pointing into p. */
void ll_plan_resolve(const Loopledger__V1__AnalysisPlan *p, uint64_t seq, ll_plan_t *out);

/* The plan in force for experiment exp (body x) as of as_of, into
 * r->plan: the experiment's own, or the amended_plan of the last
 * Correction in its supersession chain below as_of that carries one (that
 * Correction's body is kept in r->plan_body). Corrections amending the
 * plan after r->first_meas are listed in r->plan.changed. sups: NULL or
 * the supersessions below as_of (ll_asof.h); alloc: NULL (malloc) or the
 * readout's scratch. LL_OK or a store error. */
int ll_plan_load(ll_txn_t *txn, uint64_t exp, const Loopledger__V1__Experiment *x,
                 uint64_t as_of, const struct ll_asof_sups *sups, ProtobufCAllocator *alloc,
                 struct ll_readout *r);

/* The analysis of readout r (its primary-metric tests computed) under
 * r->plan: corrections, SRM, power, guardrails (read with ll_readout, so
 * inside the same transaction and as of the same size), and the verdict.
 * ended: the experiment has ended (a Finding concludes it, or is about
 * to). LL_OK or a store error. */
int ll_plan_analyse(ll_txn_t *txn, struct ll_readout *r, uint64_t exp, uint64_t as_of,
                    int ended, const struct ll_asof_sups *sups, struct ll_scratch *scratch);

/* Name of a verdict ("ship", "roll back"...). */
const char *ll_plan_verdict_name(int verdict);

/* Does Finding b (about to be appended as seq) CONCLUDE an experiment with
 * a call contradicting its readout's verdict as of seq? *contra = the
 * contradicted experiment's seq, or UINT64_MAX when none. LL_OK or a store
 * error. */
int ll_plan_contradiction(ll_txn_t *txn, const Loopledger__V1__EntryBody *b, uint64_t seq,
                          uint64_t *contra);

/* May a widening Deployment rest on experiment exp, concluded by the
 * effective Finding concluding (ll_loop.c checks that)? 1: it has no plan
 * (the loop's older rule), or its verdict is SHIP, or override_approved
 * (an approver's Decision made that Finding effective against the
 * verdict) and the Finding calls SHIP; 0: no, with why[cap]; negative: a
 * store error. */
int ll_plan_rollout_ok(ll_txn_t *txn, uint64_t exp, uint64_t concluding,
                       int override_approved, char *why, size_t cap);

#endif
