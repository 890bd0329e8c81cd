/*
 * ll_verdict: a readout analysed under its plan (ll_verdict.h): SRM,
 * multiple-testing correction, guardrails, power and the verdict rule of
 * ll_plan.h.
 *
 * Why guardrails are not corrected for multiplicity: they are a safety
 * net, and a correction would make a breach harder to see.
 *
 * Why the guardrails are read here and not by the caller: each one is a
 * readout of another metric over the same arms, as of the same size and
 * segment, and only its one-sided test against the allowed degradation
 * enters the verdict; the caller never needs those readouts themselves.
 */
#include "ll_verdict.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ll_err.h"
#include "ll_stats.h"

#define V(x) LOOPLEDGER__V1__VERDICT__VERDICT_##x
#define RULE_NI LOOPLEDGER__V1__DECISION_RULE__DECISION_RULE_NON_INFERIORITY
#define DIR_UP LOOPLEDGER__V1__DIRECTION__DIRECTION_INCREASE

/* Baseline for power and margins: the plan's, else the control observed. */
static double baseline(const ll_readout_t *r)
{
    const Loopledger__V1__AnalysisPlan *e = &r->plan.eff;
    if (e->baseline_rate != 0)
        return e->baseline_rate;
    if (e->baseline_mean != 0)
        return e->baseline_mean;
    return r->arms[0].s.value;
}

static void srm(ll_readout_t *r)
{
    const Loopledger__V1__Experiment *x = r->body->experiment;
    uint64_t n[LL_READOUT_MAX_ARMS];
    double share[LL_READOUT_MAX_ARMS];
    uint64_t total = 0;
    for (size_t i = 0; i < r->n_arms; i++) {
        const Loopledger__V1__Arm *a = i == 0 ? x->control : x->variants[i - 1];
        n[i] = r->arms[i].s.n;
        share[i] = a->allocation_percent;
        total += n[i];
        if (!(share[i] > 0)) {
            r->srm_note = "no planned allocation on every arm: not checked";
            return;
        }
    }
    if (!total) {
        r->srm_note = "no observations yet";
        return;
    }
    if (ll_stats_srm(n, share, r->n_arms, &r->srm_chi2, &r->srm_p) != LL_OK) {
        r->srm_note = "not checked";
        return;
    }
    r->srm_checked = 1;
    r->srm_mismatch = r->srm_p < LL_PLAN_SRM_P;
}

static int guardrails(ll_txn_t *txn, ll_readout_t *r, uint64_t exp, uint64_t as_of,
                      const char *segment, const ll_asof_sups_t *sups, ll_scratch_t *scratch)
{
    const Loopledger__V1__AnalysisPlan *e = &r->plan.eff;
    ll_readout_t g;
    int err;
    for (size_t k = 0; k < e->n_guardrails; k++) {
        const Loopledger__V1__Guardrail *gr = e->guardrails[k];
        if ((err = ll_readout_compute_opts(txn, exp, as_of, gr->metric, segment, sups, scratch,
                                           NULL, &g)))
            return err;
        double d = gr->direction == DIR_UP ? 1.0 : -1.0;
        for (size_t i = 1; i < g.n_arms && r->n_guards < LL_READOUT_MAX_GUARDS; i++) {
            ll_readout_guard_t *o = &r->guards[r->n_guards++];
            const ll_readout_arm_t *v = &g.arms[i];
            memset(o, 0, sizeof *o);
            o->g = gr;
            o->arm = i;
            o->test = v->test;
            o->lift = o->p = NAN;
            if (v->test == LL_STATS_NONE) {
                o->note = v->note;
                continue;
            }
            /* H0: degradation <= allowed, degradation = -d x diff. */
            ll_stats_result_t bad = v->r;
            bad.diff = -d * v->r.diff;
            double margin = gr->allowed_degradation_percent / 100 * fabs(g.arms[0].s.value);
            o->lift = v->r.lift;
            o->p = ll_stats_one_sided(&bad, margin);
            o->breached = o->p < e->alpha;
        }
        ll_readout_free(&g);
    }
    return LL_OK;
}

static void corrections(ll_readout_t *r)
{
    const Loopledger__V1__AnalysisPlan *e = &r->plan.eff;
    double p[LL_READOUT_MAX_ARMS], adj[LL_READOUT_MAX_ARMS];
    double d = e->direction == DIR_UP ? 1.0 : -1.0, base = fabs(baseline(r));
    size_t m = r->n_arms - 1;
    for (size_t i = 1; i < r->n_arms; i++) {
        const ll_readout_arm_t *v = &r->arms[i];
        double x = NAN;
        if (v->test != LL_STATS_NONE) {
            if (r->plan.tau2 > 0) {
                x = v->seq_p;
            } else if (e->rule == RULE_NI) {
                ll_stats_result_t good = v->r;
                good.diff = d * v->r.diff;
                x = ll_stats_one_sided(&good, -e->mde_percent / 100 * base);
            } else {
                x = v->r.p;
            }
        }
        p[i - 1] = x;
    }
    switch (e->correction) {
    case LOOPLEDGER__V1__MULTIPLE_TESTING__MULTIPLE_TESTING_HOLM: ll_stats_holm(p, m, adj); break;
    case LOOPLEDGER__V1__MULTIPLE_TESTING__MULTIPLE_TESTING_BENJAMINI_HOCHBERG:
        ll_stats_bh(p, m, adj);
        break;
    default: memcpy(adj, p, m * sizeof *adj); break;
    }
    for (size_t i = 1; i < r->n_arms; i++)
        r->arms[i].p_corr = adj[i - 1];
}

/* Per-variant verdict (ll_plan.h, the rule). */
static void variant_verdict(ll_readout_t *r, size_t i)
{
    const Loopledger__V1__AnalysisPlan *e = &r->plan.eff;
    ll_readout_arm_t *v = &r->arms[i];
    double d = e->direction == DIR_UP ? 1.0 : -1.0, planned = (double)e->sample_size_per_arm;
    uint64_t nmin = v->s.n < r->arms[0].s.n ? v->s.n : r->arms[0].s.n;
    double prog = planned > 0 ? (double)nmin / planned : 1;
    int seq = r->plan.tau2 > 0, ni = e->rule == RULE_NI;
    char *w = v->reason;
    size_t wc = sizeof v->reason;

    for (size_t k = 0; k < r->n_guards; k++) {
        const ll_readout_guard_t *g = &r->guards[k];
        if (g->arm == i && g->breached) {
            v->verdict = V(ROLL_BACK);
            snprintf(w, wc, "guardrail %s degraded beyond the allowed %g%% (%+.2f%%, one-sided p %.3g)",
                     g->g->metric, g->g->allowed_degradation_percent, 100 * g->lift, g->p);
            return;
        }
    }
    if (v->test == LL_STATS_NONE || isnan(v->p_corr)) {
        v->verdict = r->ended ? V(INCONCLUSIVE) : V(KEEP_RUNNING);
        snprintf(w, wc, "no test: %s", v->note ? v->note : "no sequential look yet");
        return;
    }
    int sig = v->p_corr < e->alpha, good = d * v->r.diff > 0;
    double lift = 100 * v->r.lift;
    const char *pk = seq ? "always-valid p" : ni ? "non-inferiority p" : "p";
    if (seq || prog >= 1) {
        if (sig && (good || ni)) {
            v->verdict = V(SHIP);
            snprintf(w, wc, "%s %+.2f%% (corrected %s %.3g < %g)%s", r->metric, lift, pk,
                     v->p_corr, e->alpha, ni ? ": not worse than the MDE" : "");
            return;
        }
        if (!ni && sig && !good) {
            v->verdict = V(ROLL_BACK);
            snprintf(w, wc, "%s %+.2f%%, significantly the wrong way (corrected %s %.3g)",
                     r->metric, lift, pk, v->p_corr);
            return;
        }
        if (ni && !good && v->r.p < e->alpha) {
            v->verdict = V(ROLL_BACK);
            snprintf(w, wc, "%s %+.2f%%, significantly worse (p %.3g)", r->metric, lift, v->r.p);
            return;
        }
        if (prog >= 1) {
            v->verdict = V(INCONCLUSIVE);
            snprintf(w, wc, "no significant effect at the planned sample (%s %+.2f%%, corrected %s %.3g)",
                     r->metric, lift, pk, v->p_corr);
            return;
        }
    }
    /* Short of the planned sample without a decision. */
    if (r->ended) {
        v->verdict = V(INCONCLUSIVE);
        v->underpowered = 1;
        snprintf(w, wc, "underpowered: ended at %.0f%% of the planned %llu per arm%s", 100 * prog,
                 (unsigned long long)e->sample_size_per_arm,
                 seq ? " without a sequential decision" : " (a fixed-horizon test is read at its planned sample)");
        return;
    }
    v->verdict = V(KEEP_RUNNING);
    snprintf(w, wc, "%.0f%% of the planned %llu per arm%s", 100 * prog,
             (unsigned long long)e->sample_size_per_arm,
             seq ? ", no sequential decision yet" : "; a fixed-horizon test is read at its planned sample");
}

int ll_verdict_analyse(ll_txn_t *txn, ll_readout_t *r, uint64_t exp, uint64_t as_of,
                       const char *segment, int ended, const ll_asof_sups_t *sups,
                       ll_scratch_t *scratch)
{
    int err;
    r->ended = ended;
    r->verdict = V(UNSPECIFIED);
    srm(r);
    if (r->plan.has) {
        const Loopledger__V1__AnalysisPlan *e = &r->plan.eff;
        uint64_t nmin = UINT64_MAX;
        for (size_t i = 0; i < r->n_arms; i++)
            if (r->arms[i].s.n < nmin)
                nmin = r->arms[i].s.n;
        if (e->sample_size_per_arm)
            r->progress = (double)nmin / (double)e->sample_size_per_arm;
        if ((err = guardrails(txn, r, exp, as_of, segment, sups, scratch)))
            return err;
        corrections(r);
        double delta = e->mde_percent / 100 * fabs(baseline(r));
        for (size_t i = 1; i < r->n_arms; i++) {
            ll_readout_arm_t *v = &r->arms[i];
            if (v->test != LL_STATS_NONE)
                v->power = ll_stats_power(delta, v->r.se, e->alpha);
            variant_verdict(r, i);
            r->underpowered |= v->underpowered;
        }
    }
    if (r->srm_mismatch) {
        r->verdict = V(UNTRUSTWORTHY);
        snprintf(r->reason, sizeof r->reason,
                 "sample ratio mismatch: chi-square %.2f, p %.3g < %g against the planned "
                 "allocation; no verdict can be trusted (check assignment and logging)",
                 r->srm_chi2, r->srm_p, LL_PLAN_SRM_P);
        return LL_OK;
    }
    if (!r->plan.has) {
        snprintf(r->reason, sizeof r->reason, "no analysis plan recorded: no pre-registered verdict");
        return LL_OK;
    }
    /* Overall: the best SHIP, else ROLL_BACK / KEEP_RUNNING / INCONCLUSIVE. */
    double d = r->plan.eff.direction == DIR_UP ? 1.0 : -1.0, best = -INFINITY;
    size_t ship = 0, n_roll = 0, n_keep = 0, first_roll = 0;
    for (size_t i = 1; i < r->n_arms; i++) {
        const ll_readout_arm_t *v = &r->arms[i];
        if (v->verdict == V(SHIP) && d * v->r.diff > best) {
            best = d * v->r.diff;
            ship = i;
        }
        if (v->verdict == V(ROLL_BACK) && !n_roll++)
            first_roll = i;
        n_keep += v->verdict == V(KEEP_RUNNING);
    }
    size_t pick;
    if (ship) {
        r->verdict = V(SHIP);
        r->verdict_arm = pick = ship;
    } else if (n_roll && n_roll == r->n_arms - 1) {
        r->verdict = V(ROLL_BACK);
        pick = first_roll;
    } else if (n_keep) {
        r->verdict = V(KEEP_RUNNING);
        for (pick = 1; r->arms[pick].verdict != V(KEEP_RUNNING); pick++)
            ;
    } else if (n_roll) {
        r->verdict = V(ROLL_BACK);
        pick = first_roll;
    } else {
        r->verdict = V(INCONCLUSIVE);
        pick = 1;
    }
    if (r->n_arms < 2) {
        snprintf(r->reason, sizeof r->reason, "no variant to compare");
        return LL_OK;
    }
    snprintf(r->reason, sizeof r->reason, "%s: %s", r->arms[pick].name, r->arms[pick].reason);
    return LL_OK;
}
