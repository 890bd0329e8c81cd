/*
 * ll_loophealth: the loop-health report (ll_loophealth.h has the
 * definitions).
 *
 * Why no index of its own: the report is read monthly or quarterly, per
 * initiative, so it walks the initiative's Findings, Experiments, Reviews
 * and Alerts through the (initiative, kind) index and their incoming
 * links, filtering by seq for as-of answers; the append path stays as it
 * is.
 */
#include "ll_loophealth.h"
#include "ll_query.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ll_asof.h"
#include "ll_err.h"
#include "ll_loop.h"
#include "ll_initiative.h"
#include "ll_record.h"

#define K(x) LOOPLEDGER__V1__ENTRY_BODY__KIND_##x
#define R(x) LOOPLEDGER__V1__RELATION__##x
#define NS_PER_DAY (86400LL * 1000000000LL)
#define NCAD (LOOPLEDGER__V1__CADENCE__CADENCE_POST_CAMPAIGN + 1)

typedef struct hctx {
    ll_txn_t *txn;
    uint64_t n;
    int64_t start;
    int64_t period[NCAD];
    uint64_t periods[NCAD], reviewed[NCAD], last_k[NCAD];
    uint64_t findings, acted, experiments, drift;
    double *delays;
    size_t n_delays, cap_delays;
    uint64_t *drift_seqs;
    size_t cap_drift;
    int err;
} hctx_t;

/* What the incoming links below n say about one finding or alert. */
typedef struct links_ctx {
    ll_txn_t *txn;
    uint64_t n;
    uint64_t first_addr; /* lowest ADDRESSES source, UINT64_MAX if none */
    int acted, diagnosed, err;
} links_ctx_t;

static int links_cb(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    links_ctx_t *c = ctx;
    int rel = key[9];
    uint64_t src = ll_get_be64(key + 10);
    (void)klen;
    (void)val;
    (void)vlen;
    if (src >= c->n)
        return 0; /* grouped by relation: a later relation may still count */
    switch (rel) {
    case R(ADDRESSES):
        c->acted = 1;
        if (src < c->first_addr)
            c->first_addr = src;
        break;
    case R(SPAWNED_BY): c->acted = 1; break;
    case R(DIAGNOSES): c->diagnosed = 1; break;
    case R(DERIVED_FROM): {
        ll_entry_meta_t m;
        if ((c->err = ll_index_meta(c->txn, src, &m)))
            return c->err;
        if (m.kind == K(HYPOTHESIS))
            c->acted = 1;
        break;
    }
    default: break;
    }
    return 0;
}

static int incoming(hctx_t *h, uint64_t seq, links_ctx_t *c)
{
    uint8_t prefix[9] = {LL_IX_LINK_IN};
    memset(c, 0, sizeof *c);
    c->txn = h->txn;
    c->n = h->n;
    c->first_addr = UINT64_MAX;
    ll_put_be64(prefix + 1, seq);
    int err = ll_store_scan(h->txn, LL_TBL_INDEX, prefix, sizeof prefix, NULL, 0, 0, links_cb, c);
    return err ? err : c->err;
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return LL_OK;
    size_t ncap = *cap ? 2 * *cap : 64;
    void *q = realloc(*p, ncap * elem);
    if (!q)
        return LL_ERR_NOMEM;
    *p = q;
    *cap = ncap;
    return LL_OK;
}

typedef int (*visit_fn)(hctx_t *h, uint64_t seq);

typedef struct kscan {
    hctx_t *h;
    visit_fn fn;
} kscan_t;

static int kind_cb(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    kscan_t *k = ctx;
    uint64_t seq = ll_get_be64(key + klen - 8);
    (void)val;
    (void)vlen;
    if (seq >= k->h->n)
        return 1;
    int sup = ll_asof_superseded(k->h->txn, seq, k->h->n, NULL);
    if (sup)
        return sup < 0 ? (k->h->err = sup) : 0;
    return (k->h->err = k->fn(k->h, seq)) ? k->h->err : 0;
}

static int each_of_kind(hctx_t *h, const char *ini, uint32_t kind, visit_fn fn)
{
    uint8_t prefix[2 + LL_ID_SIZE + 1];
    size_t pl = strlen(ini) + 1;
    kscan_t k = {h, fn};
    prefix[0] = LL_IX_INI_KIND;
    memcpy(prefix + 1, ini, pl);
    prefix[1 + pl] = (uint8_t)kind;
    int err = ll_store_scan(h->txn, LL_TBL_INDEX, prefix, pl + 2, NULL, 0, 0, kind_cb, &k);
    return err ? err : h->err;
}

static int on_finding(hctx_t *h, uint64_t seq)
{
    links_ctx_t c;
    ll_entry_meta_t f, adj;
    int err;
    if ((err = incoming(h, seq, &c)))
        return err;
    h->findings++;
    h->acted += c.acted;
    if (c.first_addr == UINT64_MAX)
        return LL_OK;
    if ((err = ll_index_meta(h->txn, seq, &f)) || (err = ll_index_meta(h->txn, c.first_addr, &adj)) ||
        (err = grow((void **)&h->delays, &h->cap_delays, h->n_delays + 1, sizeof *h->delays)))
        return err;
    h->delays[h->n_delays++] = (double)(adj.time_ns - f.time_ns) / 1e9;
    return LL_OK;
}

static int on_experiment(hctx_t *h, uint64_t seq)
{
    (void)seq;
    h->experiments++;
    return LL_OK;
}

static int on_review(hctx_t *h, uint64_t seq)
{
    Loopledger__V1__EntryBody *b;
    ll_entry_meta_t m;
    int err;
    if ((err = ll_index_meta(h->txn, seq, &m)) || (err = ll_entry_load_body(h->txn, seq, &b)))
        return err;
    int cd = b->review->cadence;
    loopledger__v1__entry_body__free_unpacked(b, NULL);
    if (cd <= 0 || cd >= NCAD || !h->period[cd] || m.time_ns < h->start)
        return LL_OK;
    uint64_t k = (uint64_t)((m.time_ns - h->start) / h->period[cd]);
    /* Reviews come in time order: count each period once. */
    if (k < h->periods[cd] && k != h->last_k[cd]) {
        h->reviewed[cd]++;
        h->last_k[cd] = k;
    }
    return LL_OK;
}

static int on_alert(hctx_t *h, uint64_t seq)
{
    Loopledger__V1__EntryBody *b;
    links_ctx_t c;
    int err;
    if ((err = ll_entry_load_body(h->txn, seq, &b)))
        return err;
    int open = b->alert->detector == LOOPLEDGER__V1__DETECTOR__DETECTOR_DRIFT &&
               b->alert->diagnosis == 0;
    loopledger__v1__entry_body__free_unpacked(b, NULL);
    if (!open)
        return LL_OK;
    if ((err = incoming(h, seq, &c)))
        return err;
    if (c.diagnosed)
        return LL_OK;
    if ((err = grow((void **)&h->drift_seqs, &h->cap_drift, h->drift + 1, sizeof *h->drift_seqs)))
        return err;
    h->drift_seqs[h->drift++] = seq;
    return LL_OK;
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* The report of one initiative as of n. */
static int health_one(ll_txn_t *txn, ll_arena_t *a, const char *ini, uint64_t n, int64_t now,
                      Loopledger__V1__LoopHealth **out)
{
    ll_loop_state_t st;
    hctx_t h = {.txn = txn, .n = n};
    Loopledger__V1__EntryBody *charter = NULL;
    int err;

    err = n == ll_store_size(txn) ? ll_index_state(txn, ini, &st) : ll_initiative_state_as_of(txn, ini, n, &st);
    if (err)
        return err;
    h.start = st.created_ns;
    if (st.charter_seq != UINT64_MAX && (err = ll_record_load(txn, st.charter_seq, &charter, NULL, NULL)))
        return err;
    for (int cd = 0; cd < NCAD; cd++)
        h.last_k[cd] = UINT64_MAX;
    if (charter)
        for (size_t i = 0; i < charter->charter->n_review_cadences; i++) {
            int cd = charter->charter->review_cadences[i];
            if (cd > 0 && cd < NCAD && (h.period[cd] = ll_initiative_cadence_period(cd)))
                h.periods[cd] = now > h.start ? (uint64_t)((now - h.start) / h.period[cd]) : 0;
        }
    if ((err = each_of_kind(&h, ini, K(FINDING), on_finding)) ||
        (err = each_of_kind(&h, ini, K(EXPERIMENT), on_experiment)) ||
        (err = each_of_kind(&h, ini, K(REVIEW), on_review)) ||
        (err = each_of_kind(&h, ini, K(ALERT), on_alert)))
        goto out;

    Loopledger__V1__LoopHealth *x = ll_arena_alloc(a, sizeof *x);
    if (!x) {
        err = LL_ERR_NOMEM;
        goto out;
    }
    loopledger__v1__loop_health__init(x);
    x->initiative = ll_arena_strdup(a, ini);
    x->findings = h.findings;
    x->findings_acted_on = h.acted;
    x->acted_on_share = h.findings ? (double)h.acted / (double)h.findings : 0;
    x->findings_addressed = h.n_delays;
    if (h.n_delays) {
        qsort(h.delays, h.n_delays, sizeof *h.delays, cmp_double);
        size_t m = h.n_delays / 2;
        x->median_finding_to_adjustment_seconds =
            h.n_delays % 2 ? h.delays[m] : (h.delays[m - 1] + h.delays[m]) / 2;
    }
    x->experiments = h.experiments;
    x->cycles = st.cycle;
    x->experiments_per_cycle = (double)h.experiments / (st.cycle ? st.cycle : 1);
    x->cadences = ll_arena_alloc(a, NCAD * sizeof *x->cadences);
    x->open_drift_alert_seqs = ll_arena_alloc(a, (h.drift ? h.drift : 1) * sizeof(uint64_t));
    if (!x->cadences || !x->open_drift_alert_seqs) {
        err = LL_ERR_NOMEM;
        goto out;
    }
    uint64_t tp = 0, tr = 0;
    for (int cd = 1; cd < NCAD; cd++) {
        if (!h.period[cd])
            continue;
        Loopledger__V1__CadenceAdherence *c = ll_arena_alloc(a, sizeof *c);
        if (!c) {
            err = LL_ERR_NOMEM;
            goto out;
        }
        loopledger__v1__cadence_adherence__init(c);
        c->cadence = (Loopledger__V1__Cadence)cd;
        c->periods = (uint32_t)h.periods[cd];
        c->reviewed = (uint32_t)h.reviewed[cd];
        c->adherence = h.periods[cd] ? (double)h.reviewed[cd] / (double)h.periods[cd] : 1;
        tp += h.periods[cd];
        tr += h.reviewed[cd];
        x->cadences[x->n_cadences++] = c;
    }
    x->review_adherence = tp ? (double)tr / (double)tp : 1;
    x->open_drift_alerts = h.drift;
    if (h.drift)
        memcpy(x->open_drift_alert_seqs, h.drift_seqs, h.drift * sizeof(uint64_t));
    x->n_open_drift_alert_seqs = h.drift;
    *out = x;
out:
    if (charter)
        loopledger__v1__entry_body__free_unpacked(charter, NULL);
    free(h.delays);
    free(h.drift_seqs);
    return err;
}

typedef struct names_ctx {
    ll_arena_t *a;
    char **v;
    size_t n, cap;
    int err;
} names_ctx_t;

static int names_cb(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    names_ctx_t *c = ctx;
    (void)val;
    (void)vlen;
    /* S ini 0 */
    if (klen < 3 || key[klen - 1] != 0)
        return 0;
    if ((c->err = grow((void **)&c->v, &c->cap, c->n + 1, sizeof *c->v)))
        return c->err;
    if (!(c->v[c->n++] = ll_arena_strdup(c->a, (const char *)key + 1)))
        return c->err = LL_ERR_NOMEM;
    return 0;
}

int ll_loophealth_query(ll_txn_t *txn, ll_arena_t *a,
                        const Loopledger__V1__GetLoopHealthRequest *r, int64_t clock_ns,
                        Loopledger__V1__GetLoopHealthResponse **out, char *msg, size_t cap)
{
    uint64_t n;
    int64_t t;
    int err;

    if (strlen(r->initiative) > LL_MAX_ID_LEN)
        LL_FAIL(LL_ERR_INVALID, "initiative is at most %d characters", LL_MAX_ID_LEN);
    if ((err = ll_asof_resolve(txn, r->as_of_size, &n, &t)))
        LL_FAIL(err, "as_of_size %" PRIu64 " is beyond the tree size %" PRIu64, r->as_of_size,
             ll_store_size(txn));
    int64_t now = r->now_unix_nanos ? r->now_unix_nanos : r->as_of_size ? t : clock_ns;
    Loopledger__V1__GetLoopHealthResponse *resp = ll_arena_alloc(a, sizeof *resp);
    if (!resp)
        return LL_ERR_NOMEM;
    loopledger__v1__get_loop_health_response__init(resp);
    resp->as_of_size = n;
    resp->now_unix_nanos = now;

    names_ctx_t names = {.a = a};
    if (r->initiative[0]) {
        char *one = ll_arena_strdup(a, r->initiative);
        names.v = malloc(sizeof *names.v);
        if (!one || !names.v) {
            free(names.v);
            return LL_ERR_NOMEM;
        }
        names.v[names.n++] = one;
    } else {
        uint8_t prefix[1] = {LL_IX_STATE};
        if ((err = ll_store_scan(txn, LL_TBL_INDEX, prefix, 1, NULL, 0, 0, names_cb, &names)) ||
            (err = names.err)) {
            free(names.v);
            LL_FAIL(err, "listing initiatives: %s", ll_strerror(err));
        }
    }
    resp->initiatives = ll_arena_alloc(a, (names.n ? names.n : 1) * sizeof *resp->initiatives);
    if (!resp->initiatives) {
        free(names.v);
        return LL_ERR_NOMEM;
    }
    for (size_t i = 0; i < names.n; i++) {
        err = health_one(txn, a, names.v[i], n, now, &resp->initiatives[resp->n_initiatives]);
        if (err == LL_ERR_NOT_FOUND && !r->initiative[0])
            continue; /* started after the as-of size */
        if (err) {
            snprintf(msg, cap, err == LL_ERR_NOT_FOUND ? "no initiative \"%s\"%s"
                                                       : "initiative \"%s\": %s",
                     names.v[i], err == LL_ERR_NOT_FOUND ? (r->as_of_size ? " as of that size" : "")
                                                         : ll_strerror(err));
            free(names.v);
            return err;
        }
        resp->n_initiatives++;
    }
    free(names.v);
    if (a->failed)
        return LL_ERR_NOMEM;
    *out = resp;
    return LL_OK;
}
