/*
 * ll_experiment: an experiment's readout under its pre-registered plan,
 * and where its verdict goes (ll_experiment.h).
 *
 * Why the plan lives in the Experiment entry: links point backwards, so a
 * Measurement that MEASURES an experiment is always later in the log than
 * the experiment, and the signed entry proves the plan was fixed before
 * any data. The only way to change it is a Correction, which the log
 * orders against the measurements too: "plan changed after data: #N" is a
 * fact of the log, not a claim.
 *
 * Why this sits above ll_loop and ll_gov (called by ll_ledger, not by
 * them): a readout reads as-of answers (ll_asof), which read approval
 * status (ll_gov); the rules that need a verdict run here, on the same
 * writer transaction, before ll_loop_apply (rollouts) and after
 * ll_gov_apply (conclusions held for approval).
 */
#include "ll_experiment.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ll_asof.h"
#include "ll_bytes.h"
#include "ll_entry.h"
#include "ll_err.h"
#include "ll_gov.h"
#include "ll_index.h"
#include "ll_kinds.h"
#include "ll_loop.h"
#include "ll_scratch.h"
#include "ll_verdict.h"

#define FAIL(code, ...)                  \
    do {                                 \
        snprintf(msg, cap, __VA_ARGS__); \
        return (code);                   \
    } while (0)

#define V(x) LOOPLEDGER__V1__VERDICT__VERDICT_##x
#define EFFECTIVE LOOPLEDGER__V1__APPROVAL_STATUS__APPROVAL_STATUS_EFFECTIVE
#define PENDING LOOPLEDGER__V1__APPROVAL_STATUS__APPROVAL_STATUS_PENDING

/* The plan in force for experiment body x (seq exp) as of as_of: the
 * experiment's own, or the amended_plan of the last Correction in its
 * supersession chain below as_of that carries one (its body in *holder_body,
 * owned by the caller unless alloc). Every amending Correction goes to
 * plan->amendments. */
static int load_plan(ll_txn_t *txn, uint64_t exp, const Loopledger__V1__Experiment *x,
                     uint64_t as_of, const ll_asof_sups_t *sups, ProtobufCAllocator *alloc,
                     ll_plan_t *plan, Loopledger__V1__EntryBody **holder_body)
{
    const Loopledger__V1__AnalysisPlan *p = x->plan;
    uint64_t holder = exp, cur = exp, by;
    int err;

    memset(plan, 0, sizeof *plan);
    *holder_body = NULL;
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
            plan->amendments[plan->n_amendments++] = by;
            if (*holder_body && !alloc)
                loopledger__v1__entry_body__free_unpacked(*holder_body, NULL);
            *holder_body = c;
            p = c->correction->amended_plan;
            holder = by;
        } else if (!alloc) {
            loopledger__v1__entry_body__free_unpacked(c, NULL);
        }
        cur = by;
    }
    size_t na = plan->n_amendments;
    uint64_t am[LL_PLAN_MAX_AMENDMENTS];
    memcpy(am, plan->amendments, sizeof am);
    ll_plan_resolve(p, holder, plan);
    memcpy(plan->amendments, am, sizeof am);
    plan->n_amendments = na;
    return LL_OK;
}

/* Does Finding b (about to be appended as seq) CONCLUDE an experiment with
 * a call contradicting its readout's verdict as of seq? *contra = that
 * experiment, or UINT64_MAX. */
static int contradiction(ll_txn_t *txn, const Loopledger__V1__EntryBody *b, uint64_t seq,
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
        err = ll_experiment_readout(txn, exp, seq, NULL, NULL, NULL, LL_EXPERIMENT_ENDED, &r);
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

/* May a widening Deployment rest on experiment exp (concluded by the
 * effective Finding `concluding`)? 1: no plan (the loop's older rule), a
 * SHIP verdict, or an approver let a SHIP conclusion through against the
 * verdict; 0: no, why[cap] says why; negative: a store error. */
static int rollout_ok(ll_txn_t *txn, uint64_t exp, uint64_t concluding, int override_approved,
                      char *why, size_t cap)
{
    ll_readout_t r;
    int err = ll_experiment_readout(txn, exp, UINT64_MAX, NULL, NULL, NULL, LL_EXPERIMENT_ENDED,
                                    &r);
    if (err)
        return err;
    int ok = !r.plan.has || r.verdict == V(SHIP);
    if (!ok && override_approved) {
        Loopledger__V1__EntryBody *f;
        if ((err = ll_entry_load_body(txn, concluding, &f))) {
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

/* Is exp concluded by a Finding below as_of? */
static int concluded_cb(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val,
                        size_t vlen)
{
    uint64_t *c = ctx; /* [as_of, found] */
    (void)val;
    (void)vlen;
    if (ll_get_be64(key + klen - 8) < c[0])
        c[1] = 1;
    return 1; /* sources ascend: the first decides */
}

int ll_experiment_readout_metric(ll_txn_t *txn, uint64_t exp, uint64_t as_of, const char *metric,
                                 const char *segment, ll_readout_t *out)
{
    return ll_experiment_readout_full(txn, exp, as_of, metric, segment, NULL, NULL, 0, out);
}

int ll_experiment_readout(ll_txn_t *txn, uint64_t exp, uint64_t as_of, const char *segment,
                          const ll_asof_sups_t *sups, ll_scratch_t *scratch, int flags,
                          ll_readout_t *out)
{
    return ll_experiment_readout_full(txn, exp, as_of, NULL, segment, sups, scratch, flags, out);
}

int ll_experiment_readout_full(ll_txn_t *txn, uint64_t exp, uint64_t as_of, const char *metric,
                               const char *segment, const ll_asof_sups_t *sups,
                               ll_scratch_t *scratch, int flags, ll_readout_t *out)
{
    ProtobufCAllocator *alloc = scratch ? &scratch->pb : NULL;
    Loopledger__V1__EntryBody *xb = NULL, *holder = NULL;
    ll_plan_t plan;
    int err;

    memset(out, 0, sizeof *out);
    if (exp >= as_of)
        return LL_ERR_NOT_FOUND;
    /* The plan first: a sequential one shapes every look of the readout. */
    if ((err = ll_asof_load_body(txn, exp, &xb, NULL, alloc)))
        return err;
    if (xb->kind_case != LOOPLEDGER__V1__ENTRY_BODY__KIND_EXPERIMENT) {
        err = LL_ERR_NOT_FOUND;
        goto out;
    }
    if ((err = load_plan(txn, exp, xb->experiment, as_of, sups, alloc, &plan, &holder)))
        goto out;
    if ((err = ll_readout_compute_opts(txn, exp, as_of, metric, segment, sups, scratch, &plan,
                                       out)))
        goto out;
    /* Re-point the plan into bodies the readout owns. */
    out->plan_body = holder;
    holder = NULL;
    {
        const Loopledger__V1__AnalysisPlan *src =
            out->plan_body ? out->plan_body->correction->amended_plan : out->body->experiment->plan;
        uint64_t seq = plan.seq;
        ll_plan_resolve(src, seq, &out->plan);
        memcpy(out->plan.amendments, plan.amendments, sizeof plan.amendments);
        out->plan.n_amendments = plan.n_amendments;
        for (size_t i = 0; i < plan.n_amendments; i++)
            if (out->first_meas != UINT64_MAX && plan.amendments[i] > out->first_meas)
                out->plan.changed[out->plan.n_changed++] = plan.amendments[i];
    }
    int ended = (flags & LL_EXPERIMENT_ENDED) != 0;
    if (!ended) {
        uint8_t prefix[10] = {LL_IX_LINK_IN};
        uint64_t cc[2] = {as_of, 0};
        ll_put_be64(prefix + 1, exp);
        prefix[9] = LOOPLEDGER__V1__RELATION__CONCLUDES;
        if ((err = ll_store_scan(txn, LL_TBL_INDEX, prefix, sizeof prefix, NULL, 0, 0,
                                 concluded_cb, cc)))
            goto fail;
        ended = cc[1] != 0;
    }
    if ((err = ll_verdict_analyse(txn, out, exp, as_of, segment, ended, sups, scratch)))
        goto fail;
    goto out;
fail:
    ll_readout_free(out);
out:
    if (!alloc) {
        if (xb)
            loopledger__v1__entry_body__free_unpacked(xb, NULL);
        if (holder)
            loopledger__v1__entry_body__free_unpacked(holder, NULL);
    }
    return err;
}

/* The Finding recorded as concluding exp (UINT64_MAX: none). */
static uint64_t concluding(ll_txn_t *txn, uint64_t exp)
{
    uint8_t k[9] = {LL_IX_CONCLUDED};
    const uint8_t *v;
    size_t vl;
    ll_put_be64(k + 1, exp);
    return ll_store_get(txn, LL_TBL_INDEX, k, sizeof k, &v, &vl) == LL_OK && vl == 8
               ? ll_get_be64(v)
               : UINT64_MAX;
}

int ll_experiment_check_rollout(ll_txn_t *txn, const Loopledger__V1__EntryBody *b, char *msg,
                                size_t cap)
{
    ll_loop_state_t st;
    char why[160] = "";
    if (b->kind_case != LOOPLEDGER__V1__ENTRY_BODY__KIND_DEPLOYMENT ||
        ll_index_state(txn, b->initiative, &st) != LL_OK)
        return LL_OK; /* ll_loop_apply judges the rest */
    double share = b->deployment->rollout_percent;
    if (share <= st.max_rollout || (st.max_rollout == 0 && share <= LL_PILOT_MAX_PERCENT))
        return LL_OK; /* not widening, or the pilot */
    int cited_experiment = 0;
    for (size_t i = 0; i < b->n_links; i++) {
        const Loopledger__V1__Link *l = b->links[i];
        ll_entry_meta_t m;
        ll_hitl_t h;
        if (l->relation != LOOPLEDGER__V1__RELATION__CITES || ll_index_meta(txn, l->target_seq, &m))
            continue;
        if (m.kind == LOOPLEDGER__V1__ENTRY_BODY__KIND_DECISION &&
            ll_loop_exception_ok(txn, b, l->target_seq))
            return LL_OK;
        if (m.kind != LOOPLEDGER__V1__ENTRY_BODY__KIND_EXPERIMENT)
            continue;
        uint64_t f = concluding(txn, l->target_seq);
        if (f == UINT64_MAX || ll_index_status(txn, f) != EFFECTIVE)
            continue; /* not concluded: ll_loop_apply refuses it */
        cited_experiment = 1;
        /* Made effective against the verdict by an approver (ll_gov holds
         * such a conclusion with policy_seq = the experiment). */
        int override = ll_index_hitl(txn, f, &h) == LL_OK && h.policy_seq == l->target_seq &&
                       h.status == EFFECTIVE;
        int ok = rollout_ok(txn, l->target_seq, f, override, why, sizeof why);
        if (ok < 0)
            FAIL(ok, "reading the readout of #%llu: %s", (unsigned long long)l->target_seq,
                 ll_strerror(ok));
        if (ok)
            return LL_OK;
    }
    if (!cited_experiment)
        return LL_OK;
    /* LL_MSG_MAX is 256: short, with the verdict last. */
    FAIL(LL_ERR_PRECONDITION,
         "widening %s from %g%% to %g%% needs a ship verdict or an approved exception-handling "
         "decision: %s", b->initiative, st.max_rollout, share, why);
}

int ll_experiment_hold(ll_txn_t *txn, const Loopledger__V1__EntryBody *b, uint64_t seq,
                       char *msg, size_t cap)
{
    ll_hitl_t h;
    uint64_t exp;
    int err;
    if (b->kind_case != LOOPLEDGER__V1__ENTRY_BODY__KIND_FINDING)
        return LL_OK;
    if (ll_index_hitl(txn, seq, &h) == LL_OK)
        return LL_OK; /* a policy already holds it */
    if ((err = contradiction(txn, b, seq, &exp)))
        FAIL(err, "reading the readout a finding concludes: %s", ll_strerror(err));
    if (exp == UINT64_MAX)
        return LL_OK;
    /* Held as a policy would hold it, one approver's review and approval. */
    h = (ll_hitl_t){.status = PENDING, .policy_seq = exp,
                    .level = LOOPLEDGER__V1__HITL_LEVEL__HITL_LEVEL_REVIEW_AND_APPROVAL,
                    .required = 1};
    if ((err = ll_gov_hold(txn, seq, b->initiative, &h)))
        FAIL(err, "cannot write governance indexes: %s", ll_strerror(err));
    return LL_OK;
}

static Loopledger__V1__ArmStats *arm_stats(ll_arena_t *a, const ll_readout_arm_t *x)
{
    Loopledger__V1__ArmStats *s = ll_arena_alloc(a, sizeof *s);
    if (!s)
        return NULL;
    loopledger__v1__arm_stats__init(s);
    s->arm = ll_arena_strdup(a, x->name);
    s->sample_size = x->s.n;
    s->value = x->s.value;
    s->stddev = x->s.stddev;
    s->observations = x->obs;
    return s;
}

typedef struct concl_ctx {
    uint64_t as_of, *seqs;
    size_t n, cap;
} concl_ctx_t;

static int concl_cb(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    concl_ctx_t *c = ctx;
    uint64_t src = ll_get_be64(key + klen - 8);
    (void)val;
    (void)vlen;
    if (src >= c->as_of || c->n == c->cap)
        return 1;
    c->seqs[c->n++] = src;
    return 0;
}

/* The plan, SRM, guardrails and verdict of r into x (arena a). */
static int plan_out(ll_arena_t *a, const ll_readout_t *r, Loopledger__V1__ExperimentReadout *x)
{
    Loopledger__V1__PlanCheck *pc = ll_arena_alloc(a, sizeof *pc);
    Loopledger__V1__SampleRatioCheck *sc = ll_arena_alloc(a, sizeof *sc);
    if (!pc || !sc)
        return LL_ERR_NOMEM;
    loopledger__v1__plan_check__init(pc);
    loopledger__v1__sample_ratio_check__init(sc);
    x->plan = pc;
    x->srm = sc;
    pc->has_plan = r->plan.has;
    pc->first_measurement_seq = r->first_meas == UINT64_MAX ? 0 : r->first_meas;
    if (r->plan.has) {
        Loopledger__V1__AnalysisPlan *e = ll_arena_alloc(a, sizeof *e);
        if (!e)
            return LL_ERR_NOMEM;
        *e = r->plan.eff; /* strings and guardrails are copied below */
        e->guardrails = ll_arena_alloc(a, (e->n_guardrails ? e->n_guardrails : 1) * sizeof *e->guardrails);
        if (!e->guardrails)
            return LL_ERR_NOMEM;
        for (size_t i = 0; i < e->n_guardrails; i++) {
            Loopledger__V1__Guardrail *g = ll_arena_alloc(a, sizeof *g);
            if (!g)
                return LL_ERR_NOMEM;
            *g = *r->plan.eff.guardrails[i];
            g->metric = ll_arena_strdup(a, g->metric);
            e->guardrails[i] = g;
        }
        pc->plan = e;
        pc->sample_size_computed = r->plan.computed;
        pc->plan_seq = r->plan.seq;
        pc->recorded_before_data = r->first_meas == UINT64_MAX || r->plan.seq < r->first_meas;
        pc->changed_after_data = ll_arena_alloc(a, (r->plan.n_changed ? r->plan.n_changed : 1) * sizeof(uint64_t));
        if (!pc->changed_after_data)
            return LL_ERR_NOMEM;
        memcpy(pc->changed_after_data, r->plan.changed, r->plan.n_changed * sizeof(uint64_t));
        pc->n_changed_after_data = r->plan.n_changed;
        x->alpha = r->plan.eff.alpha;
    } else {
        x->alpha = 0.05;
    }
    sc->checked = r->srm_checked;
    sc->chi_square = r->srm_chi2;
    sc->degrees_of_freedom = r->srm_checked ? (uint32_t)(r->n_arms - 1) : 0;
    sc->p_value = r->srm_p;
    sc->mismatch = r->srm_mismatch;
    sc->note = ll_arena_strdup(a, r->srm_note ? r->srm_note : "");
    x->guardrails = ll_arena_alloc(a, (r->n_guards ? r->n_guards : 1) * sizeof *x->guardrails);
    if (!x->guardrails)
        return LL_ERR_NOMEM;
    for (size_t i = 0; i < r->n_guards; i++) {
        const ll_readout_guard_t *g = &r->guards[i];
        Loopledger__V1__GuardrailReadout *o = ll_arena_alloc(a, sizeof *o);
        if (!o)
            return LL_ERR_NOMEM;
        loopledger__v1__guardrail_readout__init(o);
        o->metric = ll_arena_strdup(a, g->g->metric);
        o->variant = ll_arena_strdup(a, r->arms[g->arm].name);
        o->direction = g->g->direction;
        o->allowed_degradation_percent = g->g->allowed_degradation_percent;
        o->test = (Loopledger__V1__ReadoutTest)g->test;
        if (g->test != LL_STATS_NONE) {
            o->lift_percent = 100 * g->lift;
            o->p_value = g->p;
        }
        o->breached = g->breached;
        o->note = ll_arena_strdup(a, g->note ? g->note : "");
        x->guardrails[x->n_guardrails++] = o;
    }
    x->sample_progress = isnan(r->progress) ? 0 : r->progress;
    x->underpowered = r->underpowered;
    x->verdict = (Loopledger__V1__Verdict)r->verdict;
    x->verdict_variant = ll_arena_strdup(
        a, r->verdict == LOOPLEDGER__V1__VERDICT__VERDICT_SHIP ? r->arms[r->verdict_arm].name : "");
    x->verdict_reason = ll_arena_strdup(a, r->reason);
    x->trustworthy = !r->srm_mismatch;
    return LL_OK;
}

/* Why there is no readout of seq: what it is instead, or that it does not
 * exist (below n). */
static int not_an_experiment(ll_txn_t *txn, uint64_t seq, uint64_t n, int as_of, char *msg,
                             size_t cap)
{
    ll_entry_meta_t m;
    if (seq < n && ll_index_meta(txn, seq, &m) == LL_OK) {
        const char *k = ll_kind_name(m.kind);
        LL_FAIL(LL_ERR_INVALID, "#%llu is a%s %s, not an experiment", (unsigned long long)seq,
             strchr("aeiou", k[0]) ? "n" : "", k);
    }
    if (seq < n)
        LL_FAIL(LL_ERR_INVALID, "#%llu is not an experiment", (unsigned long long)seq);
    LL_FAIL(LL_ERR_NOT_FOUND, "no entry #%llu%s (the ledger has %llu entries)",
         (unsigned long long)seq, as_of ? " as of that size" : "", (unsigned long long)n);
}

/* A segment nobody measured gives a readout of nothing; say which
 * segments the experiment's measurements (of the readout's metric) have. */
static int segment_measured(ll_txn_t *txn, const ll_readout_t *r, const char *segment,
                            char *msg, size_t cap)
{
    for (size_t i = 0; i < r->n_arms; i++)
        if (r->arms[i].obs)
            return LL_OK;
    char list[200] = "";
    size_t len = 0, found = 0;
    for (size_t i = 0; i < r->n_meas && len < sizeof list; i++) {
        Loopledger__V1__EntryBody *b;
        if (ll_asof_load_body(txn, r->meas[i], &b, NULL, NULL))
            continue;
        for (size_t j = 0; j < b->measurement->n_observations && len < sizeof list; j++) {
            const Loopledger__V1__Observation *o = b->measurement->observations[j];
            char quoted[140];
            snprintf(quoted, sizeof quoted, "\"%s\"", o->segment);
            if (strcmp(o->metric, r->metric) || strstr(list, quoted))
                continue;
            len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", found++ ? ", " : "",
                                    quoted);
        }
        loopledger__v1__entry_body__free_unpacked(b, NULL);
    }
    if (!found)
        return LL_OK; /* nothing measured yet in any segment: an empty readout is the truth */
    LL_FAIL(LL_ERR_NOT_FOUND, "no observations of %s in segment \"%s\"; segments measured: %s",
         r->metric, segment, list);
}

int ll_experiment_query(ll_txn_t *txn, ll_arena_t *a,
                     const Loopledger__V1__GetExperimentReadoutRequest *req,
                     Loopledger__V1__ExperimentReadout **out, char *msg, size_t cap)
{
    uint64_t n;
    ll_readout_t r;
    int err;

    if (strlen(req->metric) > 128 || strlen(req->segment) > 128)
        LL_FAIL(LL_ERR_INVALID, "metric and segment are at most 128 characters");
    if ((err = ll_asof_resolve(txn, req->as_of_size, &n, NULL)))
        LL_FAIL(err, "as_of_size %llu is beyond the tree size %llu",
             (unsigned long long)req->as_of_size, (unsigned long long)ll_store_size(txn));
    err = ll_experiment_readout_metric(txn, req->experiment_seq, n, req->metric, req->segment,
                                      &r);
    if (err == LL_ERR_NOT_FOUND)
        return not_an_experiment(txn, req->experiment_seq, n, req->as_of_size != 0, msg, cap);
    if (err)
        LL_FAIL(err, "readout of #%llu: %s", (unsigned long long)req->experiment_seq,
             ll_strerror(err));
    if (req->segment[0] && (err = segment_measured(txn, &r, req->segment, msg, cap))) {
        ll_readout_free(&r);
        return err;
    }

    Loopledger__V1__ExperimentReadout *x = ll_arena_alloc(a, sizeof *x);
    if (!x) {
        err = LL_ERR_NOMEM;
        goto out;
    }
    loopledger__v1__experiment_readout__init(x);
    if ((err = ll_asof_ref(txn, a, req->experiment_seq, n, &x->experiment)))
        goto out;
    x->metric = ll_arena_strdup(a, r.metric);
    x->segment = ll_arena_strdup(a, req->segment);
    x->as_of_size = n;
    x->control = arm_stats(a, &r.arms[0]);
    x->variants = ll_arena_alloc(a, r.n_arms * sizeof *x->variants);
    if (!x->control || !x->variants) {
        err = LL_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 1; i < r.n_arms; i++) {
        const ll_readout_arm_t *v = &r.arms[i];
        Loopledger__V1__VariantReadout *o = ll_arena_alloc(a, sizeof *o);
        if (!o) {
            err = LL_ERR_NOMEM;
            goto out;
        }
        loopledger__v1__variant_readout__init(o);
        o->variant = arm_stats(a, v);
        o->test = (Loopledger__V1__ReadoutTest)v->test;
        o->note = ll_arena_strdup(a, v->note ? v->note : "");
        if (v->test != LL_STATS_NONE) {
            o->difference = v->r.diff;
            o->ci_low = v->r.ci_low;
            o->ci_high = v->r.ci_high;
            o->lift_percent = 100 * v->r.lift;
            o->lift_ci_low_percent = 100 * v->r.lift_ci_low;
            o->lift_ci_high_percent = 100 * v->r.lift_ci_high;
            o->statistic = v->r.stat;
            o->degrees_of_freedom = v->r.df;
            o->p_value = v->r.p;
            o->corrected_p_value = isnan(v->p_corr) ? v->r.p : v->p_corr;
            o->significant = o->corrected_p_value < (r.plan.has ? r.plan.eff.alpha : 0.05);
            o->power = isnan(v->power) ? 0 : v->power;
        }
        if (!isnan(v->seq_p)) {
            o->sequential_p_value = v->seq_p;
            o->sequential_ci_low = v->seq_lo;
            o->sequential_ci_high = v->seq_hi;
        }
        o->verdict = (Loopledger__V1__Verdict)v->verdict;
        o->verdict_reason = ll_arena_strdup(a, v->reason);
        x->variants[x->n_variants++] = o;
    }
    x->measurement_seqs = ll_arena_alloc(a, (r.n_meas ? r.n_meas : 1) * sizeof(uint64_t));
    if (!x->measurement_seqs) {
        err = LL_ERR_NOMEM;
        goto out;
    }
    if (r.n_meas)
        memcpy(x->measurement_seqs, r.meas, r.n_meas * sizeof(uint64_t));
    x->n_measurement_seqs = r.n_meas;
    {
        uint8_t prefix[10] = {LL_IX_LINK_IN};
        concl_ctx_t c = {.as_of = n, .cap = 64};
        ll_put_be64(prefix + 1, req->experiment_seq);
        prefix[9] = LOOPLEDGER__V1__RELATION__CONCLUDES;
        c.seqs = ll_arena_alloc(a, c.cap * sizeof *c.seqs);
        if (!c.seqs) {
            err = LL_ERR_NOMEM;
            goto out;
        }
        if ((err = ll_store_scan(txn, LL_TBL_INDEX, prefix, sizeof prefix, NULL, 0, 0, concl_cb,
                                 &c)))
            goto out;
        x->concluded_by = c.seqs;
        x->n_concluded_by = c.n;
    }
    if ((err = plan_out(a, &r, x)))
        goto out;
    if (a->failed)
        err = LL_ERR_NOMEM;
    else
        *out = x;
out:
    ll_readout_free(&r);
    if (err)
        LL_FAIL(err, "readout of #%llu: %s", (unsigned long long)req->experiment_seq,
             ll_strerror(err));
    return LL_OK;
}
