/*
 * ll_kpi: KPIs against targets (ll_kpi.h).
 *
 * Why the series index: every observation is already indexed by
 * (initiative, metric, segment, arm, seq) for drift detection, so the
 * latest values of a KPI are one short reverse scan, without reading a
 * single Measurement.
 */
#include "ll_kpi.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ll_asof.h"
#include "ll_bytes.h"
#include "ll_err.h"
#include "ll_entry.h"
#include "ll_index.h"
#include "ll_record.h"

#define DIR_UP LOOPLEDGER__V1__DIRECTION__DIRECTION_INCREASE

const char *ll_kpi_trend(const double *v, size_t n, int direction, double target, double *slope)
{
    *slope = 0;
    if (n < 2)
        return "";
    double mx = (double)(n - 1) / 2.0, my = 0, sxy = 0, sxx = 0;
    for (size_t i = 0; i < n; i++)
        my += v[i];
    my /= (double)n;
    for (size_t i = 0; i < n; i++) {
        sxy += ((double)i - mx) * (v[i] - my);
        sxx += ((double)i - mx) * ((double)i - mx);
    }
    *slope = sxy / sxx;
    double scale = fabs(target) > 0 ? fabs(target) : fabs(my);
    double change = *slope * (double)(n - 1);
    if (!(fabs(change) > 0.01 * scale))
        return "flat";
    return (change > 0) == (direction == DIR_UP) ? "improving" : "worsening";
}

typedef struct kpi_ctx {
    ll_txn_t *txn;
    uint64_t n;
    size_t want, got;
    double vals[LL_KPI_MAX_WINDOW];
    uint64_t seqs[LL_KPI_MAX_WINDOW];
    int err;
} kpi_ctx_t;

/* Newest first (reverse scan); keeps values below n not superseded. */
static int kpi_cb(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    kpi_ctx_t *c = ctx;
    uint64_t seq = ll_get_be64(key + klen - 10);
    double x;
    if (vlen != sizeof x)
        return c->err = LL_ERR_CORRUPT;
    if (seq >= c->n)
        return 0;
    int sup = ll_asof_superseded(c->txn, seq, c->n, NULL);
    if (sup < 0)
        return c->err = sup;
    if (sup)
        return 0;
    x = ll_get_be_double(val); /* series values are big-endian f64 (ll_index.h) */
    c->vals[c->got] = x;
    c->seqs[c->got] = seq;
    return ++c->got == c->want;
}

static size_t key_str(uint8_t *k, size_t at, const char *s)
{
    size_t n = strlen(s);
    memcpy(k + at, s, n);
    k[at + n] = 0;
    return at + n + 1;
}

int ll_kpi_fill(ll_txn_t *txn, ll_arena_t *a, Loopledger__V1__InitiativeState *s,
                uint64_t as_of, uint32_t window, char *msg, size_t cap)
{
    Loopledger__V1__EntryBody *ch = NULL;
    int err = LL_OK;
    if (window > LL_KPI_MAX_WINDOW) {
        snprintf(msg, cap, "kpi_window %u exceeds %d", window, LL_KPI_MAX_WINDOW);
        return LL_ERR_INVALID;
    }
    if (!window)
        window = LL_KPI_DEFAULT_WINDOW;
    if (!as_of)
        as_of = ll_store_size(txn);
    if (!s->charter)
        return LL_OK;
    if ((err = ll_record_load(txn, s->charter->seq, &ch, NULL, NULL)))
        goto out;
    const Loopledger__V1__Initiative *c = ch->charter;
    if (!c->n_kpis)
        goto out;
    s->kpis = ll_arena_alloc(a, c->n_kpis * sizeof *s->kpis);
    if (!s->kpis) {
        err = LL_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < c->n_kpis; i++) {
        const Loopledger__V1__Kpi *k = c->kpis[i];
        Loopledger__V1__KpiStatus *o = ll_arena_alloc(a, sizeof *o);
        Loopledger__V1__Kpi *kc = ll_arena_alloc(a, sizeof *kc);
        uint8_t prefix[1 + 4 * 130];
        size_t pl;
        kpi_ctx_t kc_ctx = {.txn = txn, .n = as_of, .want = window};
        if (!o || !kc) {
            err = LL_ERR_NOMEM;
            goto out;
        }
        loopledger__v1__kpi_status__init(o);
        loopledger__v1__kpi__init(kc);
        kc->metric = ll_arena_strdup(a, k->metric);
        kc->target = k->target;
        kc->unit = ll_arena_strdup(a, k->unit);
        kc->direction = k->direction;
        kc->segment = ll_arena_strdup(a, k->segment);
        o->kpi = kc;
        if (strlen(s->initiative) > 128 || strlen(k->metric) > 128 || strlen(k->segment) > 128) {
            o->track = LOOPLEDGER__V1__KPI_TRACK__KPI_TRACK_UNMEASURED;
            s->kpis[s->n_kpis++] = o;
            continue;
        }
        prefix[0] = LL_IX_SERIES;
        pl = key_str(prefix, 1, s->initiative);
        pl = key_str(prefix, pl, k->metric);
        pl = key_str(prefix, pl, k->segment);
        pl = key_str(prefix, pl, ""); /* no arm */
        if ((err = ll_store_scan(txn, LL_TBL_INDEX, prefix, pl, NULL, 0, 1, kpi_cb, &kc_ctx)) ||
            (err = kc_ctx.err))
            goto out;
        if (!kc_ctx.got) {
            o->track = LOOPLEDGER__V1__KPI_TRACK__KPI_TRACK_UNMEASURED;
            s->kpis[s->n_kpis++] = o;
            continue;
        }
        size_t n = kc_ctx.got;
        o->recent_values = ll_arena_alloc(a, n * sizeof *o->recent_values);
        o->recent_seqs = ll_arena_alloc(a, n * sizeof *o->recent_seqs);
        o->recent_unix_nanos = ll_arena_alloc(a, n * sizeof *o->recent_unix_nanos);
        if (!o->recent_values || !o->recent_seqs || !o->recent_unix_nanos) {
            err = LL_ERR_NOMEM;
            goto out;
        }
        for (size_t j = 0; j < n; j++) { /* oldest first */
            ll_entry_meta_t m;
            o->recent_values[j] = kc_ctx.vals[n - 1 - j];
            o->recent_seqs[j] = kc_ctx.seqs[n - 1 - j];
            if ((err = ll_index_meta(txn, o->recent_seqs[j], &m)))
                goto out;
            o->recent_unix_nanos[j] = m.time_ns;
        }
        o->n_recent_values = o->n_recent_seqs = o->n_recent_unix_nanos = n;
        o->latest_value = kc_ctx.vals[0];
        o->latest_seq = kc_ctx.seqs[0];
        o->latest_unix_nanos = o->recent_unix_nanos[n - 1];
        double gap = o->latest_value - k->target;
        o->gap = k->direction == LOOPLEDGER__V1__DIRECTION__DIRECTION_DECREASE ? -gap : gap;
        o->track = o->gap >= 0 ? LOOPLEDGER__V1__KPI_TRACK__KPI_TRACK_ON_TRACK
                               : LOOPLEDGER__V1__KPI_TRACK__KPI_TRACK_OFF_TRACK;
        o->trend = ll_arena_strdup(a, ll_kpi_trend(o->recent_values, n, k->direction, k->target,
                                                   &o->slope));
        s->kpis[s->n_kpis++] = o;
    }
out:
    if (ch)
        loopledger__v1__entry_body__free_unpacked(ch, NULL);
    if (!err && a->failed)
        err = LL_ERR_NOMEM;
    if (err && err != LL_ERR_INVALID)
        snprintf(msg, cap, "KPIs of \"%s\": %s", s->initiative, ll_strerror(err));
    return err;
}
