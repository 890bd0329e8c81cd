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
#include "ll_bytes.h"
#include "ll_index.h"

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
    return ll_readout_compute_opts(txn, exp, as_of, metric, segment, NULL, NULL, NULL, out);
}

int ll_readout_compute_with(ll_txn_t *txn, uint64_t exp, uint64_t as_of, const char *metric,
                            const char *segment, const ll_asof_sups_t *sups,
                            ll_scratch_t *scratch, ll_readout_t *out)
{
    return ll_readout_compute_opts(txn, exp, as_of, metric, segment, sups, scratch, NULL, out);
}

int ll_readout_test(const ll_readout_arm_t *ctl, const ll_readout_arm_t *v,
                    ll_stats_result_t *res, const char **note)
{
    *note = NULL;
    if (!ctl->obs || !v->obs) {
        *note = !ctl->obs ? "no observations of the control arm" : "no observations of this arm";
        return LL_STATS_NONE;
    }
    if (ctl->all_sd && v->all_sd) {
        if (ll_stats_welch(&ctl->s, &v->s, res) == LL_OK)
            return LL_STATS_WELCH;
        *note = "Welch's t-test needs at least 2 samples per arm and some variance";
    } else if (ctl->all_rate && v->all_rate) {
        if (ll_stats_two_proportion(&ctl->s, &v->s, res) == LL_OK)
            return LL_STATS_TWO_PROPORTION;
        *note = "the two-proportion test needs rates with some variance";
    } else {
        *note = "observations are neither all rates nor all means with a standard deviation";
    }
    return LL_STATS_NONE;
}

/* One look of a sequential plan (after each Measurement): the mSPRT on
 * the data so far, folded into each variant's running always-valid p and
 * interval. The arms are finished on copies; pooling goes on. */
static void look(ll_readout_t *r)
{
    ll_readout_arm_t ctl = r->arms[0];
    const char *note;
    double alpha = r->plan.eff.alpha;
    finish_arm(&ctl);
    for (size_t i = 1; i < r->n_arms; i++) {
        ll_readout_arm_t v = r->arms[i];
        ll_readout_arm_t *dst = &r->arms[i];
        ll_stats_result_t res;
        double lo, hi;
        finish_arm(&v);
        if (ll_readout_test(&ctl, &v, &res, &note) == LL_STATS_NONE || !(res.se > 0))
            continue;
        double var = res.se * res.se;
        double p = exp(-ll_stats_msprt_log_lr(res.diff, var, r->plan.tau2));
        if (!(p < 1))
            p = 1;
        if (isnan(dst->seq_p) || p < dst->seq_p)
            dst->seq_p = p;
        ll_stats_msprt_ci(res.diff, var, r->plan.tau2, alpha, &lo, &hi);
        if (isnan(dst->seq_lo) || lo > dst->seq_lo)
            dst->seq_lo = lo;
        if (isnan(dst->seq_hi) || hi < dst->seq_hi)
            dst->seq_hi = hi;
    }
}

int ll_readout_compute_opts(ll_txn_t *txn, uint64_t exp, uint64_t as_of, const char *metric,
                            const char *segment, const ll_asof_sups_t *sups,
                            ll_scratch_t *scratch, const ll_plan_t *plan, ll_readout_t *out)
{
    ProtobufCAllocator *alloc = scratch ? &scratch->pb : NULL;
    ll_readout_t *r = out;
    int err;

    memset(r, 0, sizeof *r);
    r->min_p = NAN;
    r->progress = NAN;
    r->first_meas = UINT64_MAX;
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
    r->segment = segment;
    r->arms[0].name = x->control->name;
    r->n_arms = 1;
    for (size_t i = 0; i < x->n_variants && r->n_arms < LL_READOUT_MAX_ARMS; i++)
        r->arms[r->n_arms++].name = x->variants[i]->name;
    for (size_t i = 0; i < r->n_arms; i++) {
        ll_readout_arm_t *a = &r->arms[i];
        a->all_sd = a->all_rate = 1;
        a->p_corr = a->seq_p = a->seq_lo = a->seq_hi = a->power = NAN;
    }

    /* L exp8 MEASURES source8 */
    uint8_t prefix[10] = {LL_IX_LINK_IN};
    ll_put_be64(prefix + 1, exp);
    prefix[9] = LOOPLEDGER__V1__RELATION__MEASURES;
    meas_ctx_t c = {.as_of = as_of, .r = r};
    if ((err = ll_store_scan(txn, LL_TBL_INDEX, prefix, sizeof prefix, NULL, 0, 0, meas_cb, &c)) ||
        (err = c.err))
        goto fail;
    /* Data arrived with the first measurement, superseded or not. */
    if (r->n_meas)
        r->first_meas = r->meas[0];
    if (plan)
        r->plan = *plan; /* for the looks; ll_experiment fills in the rest */

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
        int pooled = 0;
        for (size_t j = 0; j < b->measurement->n_observations; j++) {
            const Loopledger__V1__Observation *o = b->measurement->observations[j];
            ll_readout_arm_t *a;
            if (strcmp(o->metric, r->metric) || (segment && segment[0] && strcmp(o->segment, segment)))
                continue;
            if (o->arm[0] && (a = arm_named(r, o->arm))) {
                pool(a, o);
                pooled = 1;
            }
        }
        if (!scratch)
            loopledger__v1__entry_body__free_unpacked(b, NULL);
        if (pooled && r->plan.tau2 > 0)
            look(r); /* each Measurement is a look */
        r->meas[kept++] = r->meas[i];
    }
    r->n_meas = kept;

    for (size_t i = 0; i < r->n_arms; i++)
        finish_arm(&r->arms[i]);
    const ll_readout_arm_t *ctl = &r->arms[0];
    for (size_t i = 1; i < r->n_arms; i++) {
        ll_readout_arm_t *v = &r->arms[i];
        v->test = ll_readout_test(ctl, v, &v->r, &v->note);
        if (v->test != LL_STATS_NONE && (isnan(r->min_p) || v->r.p < r->min_p))
            r->min_p = v->r.p;
    }
    r->segment = NULL;
    return LL_OK;
fail:
    ll_readout_free(r);
    return err;
}

void ll_readout_free(ll_readout_t *r)
{
    if (r->body && !r->scratch)
        loopledger__v1__entry_body__free_unpacked(r->body, NULL);
    if (r->plan_body && !r->scratch)
        loopledger__v1__entry_body__free_unpacked(r->plan_body, NULL);
    free(r->meas);
    r->body = NULL;
    r->plan_body = NULL;
    r->meas = NULL;
    r->n_meas = r->cap_meas = 0;
}

