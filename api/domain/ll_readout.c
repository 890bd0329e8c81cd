/*
 * ll_readout: per-arm pooling of an experiment's measurements and the
 * variant-vs-control tests (ll_readout.h).
 *
 * Why pool instead of taking the latest observation: measurements arrive
 * per window or per segment, and a readout over the whole test must see
 * every sample once. A tool that re-posts cumulative totals should read
 * out one window (or correct the earlier measurement), which the segment
 * filter and supersession support.
 */
#include "ll_readout.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ll_asof.h"
#include "ll_err.h"
#include "ll_loop.h"
#include "ll_query.h"

typedef struct meas_ctx {
    uint64_t as_of;
    ll_readout_t *r;
    int err;
} meas_ctx_t;

static int meas_cb(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    meas_ctx_t *c = ctx;
    ll_readout_t *r = c->r;
    uint64_t src = ll_get_be64(key + klen - 8);
    (void)val;
    (void)vlen;
    if (src >= c->as_of)
        return 1; /* sources ascend: nothing further counts */
    if (r->n_meas == r->cap_meas) {
        size_t ncap = r->cap_meas ? 2 * r->cap_meas : 8;
        uint64_t *m = realloc(r->meas, ncap * sizeof *m);
        if (!m)
            return c->err = LL_ERR_NOMEM;
        r->meas = m;
        r->cap_meas = ncap;
    }
    r->meas[r->n_meas++] = src;
    return 0;
}

static ll_readout_arm_t *arm_named(ll_readout_t *r, const char *name)
{
    for (size_t i = 0; i < r->n_arms; i++)
        if (!strcmp(r->arms[i].name, name))
            return &r->arms[i];
    return NULL;
}

/* Adds one observation to its arm's accumulators. */
static void pool(ll_readout_arm_t *a, const Loopledger__V1__Observation *o)
{
    double v = o->value, n = (double)o->sample_size;
    if (!strcmp(o->unit, "%"))
        v /= 100.0;
    if (o->sample_size == 0)
        return; /* carries no weight */
    if (!(o->stddev > 0) || o->sample_size < 2)
        a->all_sd = 0;
    if (o->stddev > 0 || v < 0 || v > 1)
        a->all_rate = 0;
    a->s.n += o->sample_size;
    a->sum_w += n * v;
    /* (n - 1) s^2 + n m^2: the arm's sum of squares about zero. */
    a->sum_ss += (n - 1) * o->stddev * o->stddev + n * v * v;
    a->obs++;
}

static void finish_arm(ll_readout_arm_t *a)
{
    double n = (double)a->s.n;
    if (!a->s.n)
        return;
    a->s.value = a->sum_w / n;
    if (a->s.n > 1) {
        double ss = a->sum_ss - n * a->s.value * a->s.value;
        a->s.stddev = ss > 0 ? sqrt(ss / (n - 1)) : 0;
    }
}

int ll_readout_compute(ll_txn_t *txn, uint64_t exp, uint64_t as_of, const char *metric,
                       const char *segment, ll_readout_t *out)
{
    return ll_readout_compute_with(txn, exp, as_of, metric, segment, NULL, NULL, out);
}

int ll_readout_compute_with(ll_txn_t *txn, uint64_t exp, uint64_t as_of, const char *metric,
                            const char *segment, const ll_asof_sups_t *sups,
                            ll_scratch_t *scratch, ll_readout_t *out)
{
    ProtobufCAllocator *alloc = scratch ? &scratch->pb : NULL;
    ll_readout_t *r = out;
    int err;

    memset(r, 0, sizeof *r);
    r->min_p = NAN;
    if (exp >= as_of)
        return LL_ERR_NOT_FOUND;
    r->scratch = scratch;
    if ((err = ll_asof_load_body(txn, exp, &r->body, NULL, alloc)))
        return err;
    if (r->body->kind_case != LOOPLEDGER__V1__ENTRY_BODY__KIND_EXPERIMENT) {
        ll_readout_free(r);
        return LL_ERR_NOT_FOUND;
    }
    const Loopledger__V1__Experiment *x = r->body->experiment;
    r->metric = metric && metric[0] ? metric : x->primary_metric;
    r->arms[0].name = x->control->name;
    r->n_arms = 1;
    for (size_t i = 0; i < x->n_variants && r->n_arms < LL_READOUT_MAX_ARMS; i++)
        r->arms[r->n_arms++].name = x->variants[i]->name;
    for (size_t i = 0; i < r->n_arms; i++)
        r->arms[i].all_sd = r->arms[i].all_rate = 1;

    /* L exp8 MEASURES source8 */
    uint8_t prefix[10] = {LL_IX_LINK_IN};
    ll_put_be64(prefix + 1, exp);
    prefix[9] = LOOPLEDGER__V1__RELATION__MEASURES;
    meas_ctx_t c = {.as_of = as_of, .r = r};
    if ((err = ll_store_scan(txn, LL_TBL_INDEX, prefix, sizeof prefix, NULL, 0, 0, meas_cb, &c)) ||
        (err = c.err))
        goto fail;

    size_t kept = 0;
    for (size_t i = 0; i < r->n_meas; i++) {
        Loopledger__V1__EntryBody *b;
        int sup = sups ? ll_asof_sups_get(sups, r->meas[i], NULL)
                       : ll_asof_superseded(txn, r->meas[i], as_of, NULL);
        if (sup < 0) {
            err = sup;
            goto fail;
        }
        if (sup)
            continue;
        if ((err = ll_asof_load_body(txn, r->meas[i], &b, NULL, alloc)))
            goto fail;
        for (size_t j = 0; j < b->measurement->n_observations; j++) {
            const Loopledger__V1__Observation *o = b->measurement->observations[j];
            ll_readout_arm_t *a;
            if (strcmp(o->metric, r->metric) || (segment && segment[0] && strcmp(o->segment, segment)))
                continue;
            if (o->arm[0] && (a = arm_named(r, o->arm)))
                pool(a, o);
        }
        if (!scratch)
            loopledger__v1__entry_body__free_unpacked(b, NULL);
        r->meas[kept++] = r->meas[i];
    }
    r->n_meas = kept;

    for (size_t i = 0; i < r->n_arms; i++)
        finish_arm(&r->arms[i]);
    const ll_readout_arm_t *ctl = &r->arms[0];
    for (size_t i = 1; i < r->n_arms; i++) {
        ll_readout_arm_t *v = &r->arms[i];
        v->test = LL_STATS_NONE;
        if (!ctl->obs || !v->obs) {
            v->note = !ctl->obs ? "no observations of the control arm"
                                : "no observations of this arm";
            continue;
        }
        if (ctl->all_sd && v->all_sd) {
            if (ll_stats_welch(&ctl->s, &v->s, &v->r) == LL_OK)
                v->test = LL_STATS_WELCH;
            else
                v->note = "Welch's t-test needs at least 2 samples per arm and some variance";
        } else if (ctl->all_rate && v->all_rate) {
            if (ll_stats_two_proportion(&ctl->s, &v->s, &v->r) == LL_OK)
                v->test = LL_STATS_TWO_PROPORTION;
            else
                v->note = "the two-proportion test needs rates with some variance";
        } else {
            v->note = "observations are neither all rates nor all means with a standard deviation";
        }
        if (v->test != LL_STATS_NONE && (isnan(r->min_p) || v->r.p < r->min_p))
            r->min_p = v->r.p;
    }
    return LL_OK;
fail:
    ll_readout_free(r);
    return err;
}

void ll_readout_free(ll_readout_t *r)
{
    if (r->body && !r->scratch)
        loopledger__v1__entry_body__free_unpacked(r->body, NULL);
    free(r->meas);
    r->body = NULL;
    r->meas = NULL;
    r->n_meas = r->cap_meas = 0;
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

int ll_readout_query(ll_txn_t *txn, ll_arena_t *a,
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
    err = ll_readout_compute(txn, req->experiment_seq, n, req->metric, req->segment, &r);
    if (err == LL_ERR_NOT_FOUND)
        LL_FAIL(err, "no experiment #%llu%s", (unsigned long long)req->experiment_seq,
             req->as_of_size ? " as of that size" : "");
    if (err)
        LL_FAIL(err, "readout of #%llu: %s", (unsigned long long)req->experiment_seq,
             ll_strerror(err));

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
            o->significant = v->r.p < 0.05;
        }
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
