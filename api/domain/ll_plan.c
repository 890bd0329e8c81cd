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
 * Why guardrails are not corrected for multiplicity: they are a safety
 * net, and a correction would make a breach harder to see.
 */
#include "ll_plan.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ll_asof.h"
#include "ll_err.h"
#include "ll_loop.h"
#include "ll_readout.h"
#include "ll_scratch.h"

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

int ll_plan_load(ll_txn_t *txn, uint64_t exp, const Loopledger__V1__Experiment *x,
                 uint64_t as_of, const ll_asof_sups_t *sups, ProtobufCAllocator *alloc,
                 ll_readout_t *r)
{
    const Loopledger__V1__AnalysisPlan *p = x->plan;
    uint64_t holder = exp, cur = exp, by;
    int err;

    r->plan.n_changed = r->plan.n_amendments = 0;
    /* The supersession chain: exp <- C1 <- C2 ... (correct the correction). */
    for (int hops = 0; hops < LL_PLAN_MAX_AMENDMENTS; hops++) {
        int sup = sups ? ll_asof_sups_get(sups, cur, &by) : ll_asof_superseded(txn, cur, as_of, &by);
        Loopledger__V1__EntryBody *c;
        if (sup < 0)
            return sup;
        if (!sup)
            break;
        if ((err = ll_asof_load_body(txn, by, &c, NULL, alloc)))
            return err;
        if (c->kind_case == LOOPLEDGER__V1__ENTRY_BODY__KIND_CORRECTION && c->correction->amended_plan) {
            r->plan.amendments[r->plan.n_amendments++] = by;
            if (r->first_meas != UINT64_MAX && by > r->first_meas)
                r->plan.changed[r->plan.n_changed++] = by;
            if (r->plan_body && !alloc)
                loopledger__v1__entry_body__free_unpacked(r->plan_body, NULL);
            r->plan_body = c;
            p = c->correction->amended_plan;
            holder = by;
        } else if (!alloc) {
            loopledger__v1__entry_body__free_unpacked(c, NULL);
        }
        cur = by;
    }
    ll_plan_resolve(p, holder, &r->plan);
    return LL_OK;
}

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
                      const ll_asof_sups_t *sups, ll_scratch_t *scratch)
{
    const Loopledger__V1__AnalysisPlan *e = &r->plan.eff;
    ll_readout_t g;
    int err;
    for (size_t k = 0; k < e->n_guardrails; k++) {
        const Loopledger__V1__Guardrail *gr = e->guardrails[k];
        if ((err = ll_readout_compute_opts(txn, exp, as_of, gr->metric, r->segment, sups, scratch,
                                           LL_READOUT_NO_PLAN, &g)))
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

int ll_plan_analyse(ll_txn_t *txn, ll_readout_t *r, uint64_t exp, uint64_t as_of, int ended,
                    const ll_asof_sups_t *sups, ll_scratch_t *scratch)
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
        if ((err = guardrails(txn, r, exp, as_of, sups, scratch)))
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

int ll_plan_contradiction(ll_txn_t *txn, const Loopledger__V1__EntryBody *b, uint64_t seq,
                          uint64_t *contra)
{
    *contra = UINT64_MAX;
    if (b->kind_case != LOOPLEDGER__V1__ENTRY_BODY__KIND_FINDING)
        return LL_OK;
    const Loopledger__V1__Finding *f = b->finding;
    for (size_t i = 0; i < b->n_links; i++) {
        ll_readout_t r;
        int err, bad;
        if (b->links[i]->relation != LOOPLEDGER__V1__RELATION__CONCLUDES)
            continue;
        uint64_t exp = b->links[i]->target_seq;
        err = ll_readout_compute_opts(txn, exp, seq, NULL, NULL, NULL, NULL, LL_READOUT_ENDED, &r);
        if (err == LL_ERR_NOT_FOUND)
            continue;
        if (err)
            return err;
        int v = r.verdict, c = f->verdict;
        if (v == V(UNTRUSTWORTHY))
            bad = c != V(UNTRUSTWORTHY);
        else if (c == V(SHIP))
            bad = v != V(UNSPECIFIED) &&
                  (v != V(SHIP) || (f->variant[0] && strcmp(f->variant, r.arms[r.verdict_arm].name)));
        else if (c == V(ROLL_BACK))
            bad = v == V(SHIP);
        else
            bad = 0;
        ll_readout_free(&r);
        if (bad) {
            *contra = exp;
            return LL_OK;
        }
    }
    return LL_OK;
}

int ll_plan_rollout_ok(ll_txn_t *txn, uint64_t exp, uint64_t concluding, int override_approved,
                       char *why, size_t cap)
{
    ll_readout_t r;
    int err = ll_readout_compute_opts(txn, exp, UINT64_MAX, NULL, NULL, NULL, NULL,
                                      LL_READOUT_ENDED, &r);
    if (err)
        return err;
    int ok = !r.plan.has || r.verdict == V(SHIP);
    if (!ok && override_approved) {
        Loopledger__V1__EntryBody *f;
        if ((err = ll_loop_load_body(txn, concluding, &f))) {
            ll_readout_free(&r);
            return err;
        }
        ok = f->kind_case == LOOPLEDGER__V1__ENTRY_BODY__KIND_FINDING &&
             f->finding->verdict == V(SHIP);
        loopledger__v1__entry_body__free_unpacked(f, NULL);
    }
    if (!ok)
        snprintf(why, cap, "experiment #%llu's verdict is \"%s\" (loopctl readout %llu)",
                 (unsigned long long)exp, ll_plan_verdict_name(r.verdict), (unsigned long long)exp);
    ll_readout_free(&r);
    return ok;
}
