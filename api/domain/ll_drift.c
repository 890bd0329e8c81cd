/*
 * ll_drift: sustained-decline detection on Measurement series (ll_drift.h).
 *
 * Runs as the ledger's follow-up function on the writer thread, right after
 * each Measurement is applied and before it commits: it only reads (the
 * series index ll_loop maintains, in the same transaction) and returns the
 * Alerts to record, which the writer applies in the same commit. So the
 * Alert is durable exactly when its Measurement is, the Append of the
 * Measurement names it (AppendResponse.effects), and a validate-only
 * Append says whether it would raise one.
 */
#include "ll_drift.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ll_clock.h"
#include "ll_entry.h"
#include "ll_err.h"
#include "ll_loop.h"

#define MAX_WINDOW 1024

struct ll_drift {
    ll_ledger_t *lg;
    const ll_key_t *key;
    ll_drift_config_t cfg;
    uint64_t alerts;
};

static int condition(const double *s, size_t m, const ll_drift_config_t *c, double *bm,
                     double *rm)
{
    size_t b = c->baseline, r = c->recent;
    double base = 0, rec = 0;
    if (m < b + r)
        return 0;
    for (size_t i = m - r - b; i < m - r; i++)
        base += s[i];
    base /= (double)b;
    for (size_t i = m - r; i < m; i++) {
        if (!(s[i] < base * (1 - c->threshold)))
            return 0;
        rec += s[i];
    }
    *bm = base;
    *rm = rec / (double)r;
    return 1;
}

int ll_drift_eval(const double *series, size_t n, const ll_drift_config_t *cfg,
                  double *baseline_mean, double *recent_mean)
{
    double b, r, b2, r2;
    if (!cfg->baseline || !cfg->recent || !condition(series, n, cfg, &b, &r))
        return 0;
    /* Edge-triggered: not if the previous point already met it. */
    if (n > 0 && condition(series, n - 1, cfg, &b2, &r2))
        return 0;
    *baseline_mean = b;
    *recent_mean = r;
    return 1;
}

typedef struct collect {
    double v[MAX_WINDOW];
    size_t n, want;
} collect_t;

static int collect_cb(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val,
                      size_t vlen)
{
    collect_t *c = ctx;
    (void)key;
    (void)klen;
    if (vlen != 8)
        return LL_ERR_CORRUPT;
    c->v[c->n++] = ll_get_be_double(val); /* 'M' values: ll_index.h */
    return c->n == c->want;
}

/* Seals the Alert for observation o of Measurement mseq into *env. */
static int seal_alert(ll_drift_t *d, uint64_t mseq, const char *ini,
                      const Loopledger__V1__Observation *o, double base, double cur,
                      uint8_t **env, size_t *env_len)
{
    uint8_t nonce[16];
    char detail[300];

    if (ll_random(nonce, sizeof nonce))
        return LL_ERR_CRYPTO;
    int64_t now = ll_clock_realtime_ns();
    snprintf(detail, sizeof detail,
             "sustained decline: last %u points below %.0f%% of the %u-point baseline%s%s",
             d->cfg.recent, (1 - d->cfg.threshold) * 100, d->cfg.baseline,
             o->arm[0] ? ", arm " : "", o->arm);
    Loopledger__V1__Alert a = LOOPLEDGER__V1__ALERT__INIT;
    a.metric = o->metric;
    a.segment = o->segment;
    a.baseline = base;
    a.current = cur;
    a.detector = LOOPLEDGER__V1__DETECTOR__DETECTOR_DRIFT;
    a.detail = detail;
    Loopledger__V1__Link link = LOOPLEDGER__V1__LINK__INIT;
    link.relation = LOOPLEDGER__V1__RELATION__DERIVED_FROM;
    link.target_seq = mseq;
    Loopledger__V1__Link *links[1] = {&link};
    Loopledger__V1__EntryBody b = LOOPLEDGER__V1__ENTRY_BODY__INIT;
    b.author = LL_SERVER_ACTOR;
    b.initiative = (char *)ini;
    b.client_time_unix_nanos = now;
    b.nonce.data = nonce;
    b.nonce.len = sizeof nonce;
    b.n_links = 1;
    b.links = links;
    b.kind_case = LOOPLEDGER__V1__ENTRY_BODY__KIND_ALERT;
    b.alert = &a;
    return ll_entry_seal(&b, d->key, env, env_len);
}

/* Follow-up function (ll_ledger_set_follow_up): evaluates every series the
 * Measurement just applied as mseq touches, in the writer's transaction
 * (whose series index already holds its observations), and returns an
 * Alert per series where the detector fires. */
static size_t follow_up(void *ctx, ll_txn_t *txn, uint64_t mseq,
                        const Loopledger__V1__EntryBody *b, uint8_t **envs, size_t *lens,
                        size_t cap)
{
    ll_drift_t *d = ctx;
    size_t out = 0;
    if (b->kind_case != LOOPLEDGER__V1__ENTRY_BODY__KIND_MEASUREMENT)
        return 0;
    for (size_t i = 0; i < b->measurement->n_observations && out < cap; i++) {
        const Loopledger__V1__Observation *o = b->measurement->observations[i];
        uint8_t prefix[1 + LL_ID_SIZE + 320], from[sizeof prefix + 10];
        size_t pl = 0;
        collect_t c = {.want = d->cfg.baseline + d->cfg.recent + 1};
        const char *parts[] = {b->initiative, o->metric, o->segment, o->arm};
        prefix[pl++] = LL_IX_SERIES;
        for (int k = 0; k < 4; k++) {
            size_t n = strlen(parts[k]);
            memcpy(prefix + pl, parts[k], n);
            pl += n;
            prefix[pl++] = 0;
        }
        /* The series as of this observation, newest first. */
        memcpy(from, prefix, pl);
        ll_put_be64(from + pl, mseq);
        from[pl + 8] = (uint8_t)(i >> 8);
        from[pl + 9] = (uint8_t)i;
        if (ll_store_scan(txn, LL_TBL_INDEX, prefix, pl, from, pl + 10, 1, collect_cb, &c))
            continue;
        for (size_t l = 0, r = c.n ? c.n - 1 : 0; l < r; l++, r--) {
            double t = c.v[l];
            c.v[l] = c.v[r];
            c.v[r] = t;
        }
        double base, cur;
        if (ll_drift_eval(c.v, c.n, &d->cfg, &base, &cur) &&
            seal_alert(d, mseq, b->initiative, o, base, cur, &envs[out], &lens[out]) == LL_OK) {
            out++;
            d->alerts++;
        }
    }
    return out;
}

int ll_drift_open(ll_ledger_t *lg, const ll_key_t *actor_key, const ll_drift_config_t *cfg,
                  ll_drift_t **out)
{
    ll_drift_t *d;
    if (!cfg->baseline || !cfg->recent || cfg->baseline + cfg->recent + 1 > MAX_WINDOW ||
        !(cfg->threshold > 0 && cfg->threshold < 1))
        return LL_ERR_INVALID;
    d = calloc(1, sizeof *d);
    if (!d)
        return LL_ERR_NOMEM;
    d->lg = lg;
    d->key = actor_key;
    d->cfg = *cfg;
    ll_ledger_set_follow_up(lg, follow_up, d);
    *out = d;
    return LL_OK;
}

void ll_drift_close(ll_drift_t *d)
{
    if (!d)
        return;
    ll_ledger_set_follow_up(d->lg, NULL, NULL);
    free(d);
}

uint64_t ll_drift_alerts(ll_drift_t *d)
{
    return d->alerts;
}
