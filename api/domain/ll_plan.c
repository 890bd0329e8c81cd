/*
 * ll_plan: analysis plans, their provenance and the verdict (ll_plan.h).
 *
 * Why the plan lives in the Experiment entry: links point backwards, so a
 * Measurement that MEASURES an experiment is always later in the log than
 * the experiment, and the signed entry proves the plan was fixed before
 * any data. The only way to change it is a Correction, which the log
 * orders against the measurements too: "plan changed after data: #N" is a
 * fact of the log, not a claim.
 *
 */
#include "ll_plan.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ll_err.h"
#include "ll_stats.h"

#define FAIL(code, ...)                  \
    do {                                 \
        snprintf(msg, cap, __VA_ARGS__); \
        return (code);                   \
    } while (0)

#define V(x) LOOPLEDGER__V1__VERDICT__VERDICT_##x
#define MODE_SEQ LOOPLEDGER__V1__ANALYSIS_MODE__ANALYSIS_MODE_SEQUENTIAL
#define RULE_NI LOOPLEDGER__V1__DECISION_RULE__DECISION_RULE_NON_INFERIORITY
#define DIR_UP LOOPLEDGER__V1__DIRECTION__DIRECTION_INCREASE
#define DIR_DOWN LOOPLEDGER__V1__DIRECTION__DIRECTION_DECREASE

const char *ll_plan_verdict_name(int v)
{
    switch (v) {
    case V(SHIP): return "ship";
    case V(ROLL_BACK): return "roll back";
    case V(KEEP_RUNNING): return "keep running";
    case V(INCONCLUSIVE): return "inconclusive";
    case V(UNTRUSTWORTHY): return "untrustworthy";
    default: return "none";
    }
}

int ll_plan_check(const Loopledger__V1__AnalysisPlan *p, const char *what, char *msg, size_t cap)
{
    if (!p)
        return LL_OK;
    if (p->direction != DIR_UP && p->direction != DIR_DOWN)
        FAIL(LL_ERR_INVALID, "%s: direction (increase or decrease) is required", what);
    if (!(p->mde_percent > 0) || !(p->mde_percent <= 1000))
        FAIL(LL_ERR_INVALID, "%s: mde_percent must be in (0, 1000], got %g", what, p->mde_percent);
    if (p->alpha != 0 && !(p->alpha > 0 && p->alpha < 0.5))
        FAIL(LL_ERR_INVALID, "%s: alpha must be in (0, 0.5) (0 = 0.05), got %g", what, p->alpha);
    if (p->power != 0 && !(p->power > 0.5 && p->power < 1))
        FAIL(LL_ERR_INVALID, "%s: power must be in (0.5, 1) (0 = 0.8), got %g", what, p->power);
    if (p->baseline_rate != 0 && !(p->baseline_rate > 0 && p->baseline_rate < 1))
        FAIL(LL_ERR_INVALID, "%s: baseline_rate is a rate in (0, 1) (1.2%% is 0.012), got %g",
             what, p->baseline_rate);
    if (p->baseline_rate != 0 && (p->baseline_mean != 0 || p->baseline_stddev != 0))
        FAIL(LL_ERR_INVALID, "%s: give baseline_rate or baseline_mean and baseline_stddev, not both",
             what);
    if ((p->baseline_mean != 0) != (p->baseline_stddev != 0) || !(p->baseline_stddev >= 0) ||
        !isfinite(p->baseline_mean) || !isfinite(p->baseline_stddev))
        FAIL(LL_ERR_INVALID, "%s: baseline_mean needs a positive baseline_stddev", what);
    int has_base = p->baseline_rate != 0 || p->baseline_mean != 0;
    if (p->sample_size_per_arm == 0) {
        uint64_t n;
        double a = p->alpha ? p->alpha : LL_PLAN_DEFAULT_ALPHA;
        double pw = p->power ? p->power : LL_PLAN_DEFAULT_POWER;
        if (!has_base)
            FAIL(LL_ERR_INVALID,
                 "%s: give sample_size_per_arm, or a baseline (baseline_rate, or baseline_mean "
                 "and baseline_stddev) to compute it from the MDE, alpha and power", what);
        if ((p->baseline_rate != 0
                 ? ll_stats_sample_size_rate(p->baseline_rate, p->mde_percent / 100, a, pw, &n)
                 : ll_stats_sample_size_mean(p->baseline_mean, p->baseline_stddev,
                                             p->mde_percent / 100, a, pw, &n)) != LL_OK)
            FAIL(LL_ERR_INVALID,
                 "%s: no sample size for this baseline and MDE (a rate moved by the MDE must "
                 "stay in (0, 1))", what);
    }
    if (p->analysis == MODE_SEQ && !has_base)
        FAIL(LL_ERR_INVALID,
             "%s: a sequential plan needs a baseline (rate or mean) to fix the mSPRT mixture "
             "scale tau = MDE x baseline before the data", what);
    if (p->analysis == MODE_SEQ && p->rule == RULE_NI)
        FAIL(LL_ERR_INVALID, "%s: non-inferiority plans are fixed-horizon", what);
    for (size_t i = 0; i < p->n_guardrails; i++) {
        const Loopledger__V1__Guardrail *g = p->guardrails[i];
        if (!g->metric[0] || strlen(g->metric) > 128)
            FAIL(LL_ERR_INVALID, "%s: guardrails[%zu] needs a metric (at most 128 characters)",
                 what, i);
        if (g->direction != DIR_UP && g->direction != DIR_DOWN)
            FAIL(LL_ERR_INVALID, "%s: guardrails[%zu] needs its desired direction", what, i);
        if (!(g->allowed_degradation_percent >= 0) || !(g->allowed_degradation_percent <= 1000))
            FAIL(LL_ERR_INVALID, "%s: guardrails[%zu] allowed_degradation_percent must be in "
                 "[0, 1000]", what, i);
    }
    return LL_OK;
}

void ll_plan_resolve(const Loopledger__V1__AnalysisPlan *p, uint64_t seq, ll_plan_t *out)
{
    out->has = p != NULL;
    out->src = p;
    out->seq = seq;
    out->computed = 0;
    out->tau2 = 0;
    if (!p)
        return;
    out->eff = *p;
    Loopledger__V1__AnalysisPlan *e = &out->eff;
    if (e->alpha == 0)
        e->alpha = LL_PLAN_DEFAULT_ALPHA;
    if (e->power == 0)
        e->power = LL_PLAN_DEFAULT_POWER;
    if (!e->correction)
        e->correction = LOOPLEDGER__V1__MULTIPLE_TESTING__MULTIPLE_TESTING_NONE;
    if (!e->analysis)
        e->analysis = LOOPLEDGER__V1__ANALYSIS_MODE__ANALYSIS_MODE_FIXED_HORIZON;
    if (!e->rule)
        e->rule = LOOPLEDGER__V1__DECISION_RULE__DECISION_RULE_SUPERIORITY;
    if (e->sample_size_per_arm == 0) {
        uint64_t n = 0;
        int ok = e->baseline_rate != 0
                     ? ll_stats_sample_size_rate(e->baseline_rate, e->mde_percent / 100,
                                                 e->alpha, e->power, &n)
                     : ll_stats_sample_size_mean(e->baseline_mean, e->baseline_stddev,
                                                 e->mde_percent / 100, e->alpha, e->power, &n);
        if (ok == LL_OK) {
            e->sample_size_per_arm = n;
            out->computed = 1;
        }
    }
    double base = e->baseline_rate != 0 ? e->baseline_rate : e->baseline_mean;
    if (e->analysis == MODE_SEQ && base != 0) {
        double tau = e->mde_percent / 100 * fabs(base);
        out->tau2 = tau * tau;
    }
}

