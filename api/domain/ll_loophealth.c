/*
 * ll_loophealth: the loop-health report (ll_loophealth.h has the
 * definitions).
 *
 * Why no index of its own: the report is read monthly or quarterly, per
 * initiative, so it walks the initiative's Findings, Experiments, Reviews
 * and Alerts through the (initiative, kind) index and their incoming
 * links, filtering by seq for as-of answers; the append path stays as it
 * is. The portfolio shows every initiative's report on its front page, so
 * the walk's result is remembered per (initiative, tree head) (ll_memo.h):
 * it is split into what the first n entries fix (collect) and what the
 * clock adds, how many review periods have passed (finish), so a live
 * report is exactly the walk's and costs a lookup when the ledger has not
 * grown.
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
#include "ll_memo.h"
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
    uint64_t findings, acted, experiments, drift;
    double *delays;
    size_t n_delays, cap_delays;
    uint64_t *drift_seqs;
    size_t cap_drift;
    uint64_t *reviews; /* (cadence, period index k) pairs in seq order */
    size_t n_reviews, cap_reviews;
    int err;
} hctx_t;

/* What health_one remembers per (initiative, tree head): everything but
 * the clock's part (how many periods have passed), followed by
 * drift_seqs[n_drift] and reviews[2 n_reviews]. */
typedef struct facts {
    int64_t start;
    int64_t period[NCAD];
    uint64_t cycle, findings, acted, experiments, n_delays, n_drift, n_reviews;
    double median_delay;
} facts_t;

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
    /* Which periods are reviewed depends on how many have passed by
     * "now": the pairs are kept and counted per request (finish). */
    if ((err = grow((void **)&h->reviews, &h->cap_reviews, 2 * (h->n_reviews + 1),
                    sizeof *h->reviews)))
        return err;
    h->reviews[2 * h->n_reviews] = (uint64_t)cd;
    h->reviews[2 * h->n_reviews + 1] = (uint64_t)((m.time_ns - h->start) / h->period[cd]);
    h->n_reviews++;
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

/* The clock-independent facts of one initiative as of n, as one malloc'd
 * blob (facts_t, then its arrays) in *out, *outlen. */
static int collect(ll_txn_t *txn, const char *ini, uint64_t n, uint8_t **out, size_t *outlen)
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
    if (charter)
        for (size_t i = 0; i < charter->charter->n_review_cadences; i++) {
            int cd = charter->charter->review_cadences[i];
            if (cd > 0 && cd < NCAD)
                h.period[cd] = ll_initiative_cadence_period(cd);
        }
    if ((err = each_of_kind(&h, ini, K(FINDING), on_finding)) ||
        (err = each_of_kind(&h, ini, K(EXPERIMENT), on_experiment)) ||
        (err = each_of_kind(&h, ini, K(REVIEW), on_review)) ||
        (err = each_of_kind(&h, ini, K(ALERT), on_alert)))
        goto out;

    facts_t f = {.start = h.start,
                 .cycle = st.cycle,
                 .findings = h.findings,
                 .acted = h.acted,
                 .experiments = h.experiments,
                 .n_delays = h.n_delays,
                 .n_drift = h.drift,
                 .n_reviews = h.n_reviews};
    memcpy(f.period, h.period, sizeof f.period);
    if (h.n_delays) {
        qsort(h.delays, h.n_delays, sizeof *h.delays, cmp_double);
        size_t m = h.n_delays / 2;
        f.median_delay = h.n_delays % 2 ? h.delays[m] : (h.delays[m - 1] + h.delays[m]) / 2;
    }
    size_t len = sizeof f + (h.drift + 2 * h.n_reviews) * sizeof(uint64_t);
    uint8_t *blob = malloc(len);
    if (!blob) {
        err = LL_ERR_NOMEM;
        goto out;
    }
    memcpy(blob, &f, sizeof f);
    if (h.drift)
        memcpy(blob + sizeof f, h.drift_seqs, h.drift * sizeof(uint64_t));
    if (h.n_reviews)
        memcpy(blob + sizeof f + h.drift * sizeof(uint64_t), h.reviews,
               2 * h.n_reviews * sizeof(uint64_t));
    *out = blob;
    *outlen = len;
out:
    if (charter)
        loopledger__v1__entry_body__free_unpacked(charter, NULL);
    free(h.delays);
    free(h.drift_seqs);
    free(h.reviews);
    return err;
}

/* The report from the facts blob and "now". */
static int finish(ll_arena_t *a, const char *ini, const uint8_t *blob, int64_t now,
                  Loopledger__V1__LoopHealth **out)
{
    facts_t f;
    uint64_t periods[NCAD] = {0}, reviewed[NCAD] = {0}, last_k[NCAD];
    memcpy(&f, blob, sizeof f);
    const uint8_t *drift = blob + sizeof f, *rev = drift + f.n_drift * sizeof(uint64_t);

    for (int cd = 0; cd < NCAD; cd++) {
        last_k[cd] = UINT64_MAX;
        if (f.period[cd])
            periods[cd] = now > f.start ? (uint64_t)((now - f.start) / f.period[cd]) : 0;
    }
    for (uint64_t i = 0; i < f.n_reviews; i++) {
        uint64_t p[2];
        memcpy(p, rev + 2 * i * sizeof(uint64_t), sizeof p);
        /* Reviews come in time order: count each period once. */
        if (p[1] < periods[p[0]] && p[1] != last_k[p[0]]) {
            reviewed[p[0]]++;
            last_k[p[0]] = p[1];
        }
    }

    Loopledger__V1__LoopHealth *x = ll_arena_alloc(a, sizeof *x);
    if (!x)
        return LL_ERR_NOMEM;
    loopledger__v1__loop_health__init(x);
    x->initiative = ll_arena_strdup(a, ini);
    x->findings = f.findings;
    x->findings_acted_on = f.acted;
    x->acted_on_share = f.findings ? (double)f.acted / (double)f.findings : 0;
    x->findings_addressed = f.n_delays;
    x->median_finding_to_adjustment_seconds = f.median_delay;
    x->experiments = f.experiments;
    x->cycles = f.cycle;
    x->experiments_per_cycle = (double)f.experiments / (f.cycle ? f.cycle : 1);
    x->cadences = ll_arena_alloc(a, NCAD * sizeof *x->cadences);
    x->open_drift_alert_seqs = ll_arena_alloc(a, (f.n_drift ? f.n_drift : 1) * sizeof(uint64_t));
    if (!x->initiative || !x->cadences || !x->open_drift_alert_seqs)
        return LL_ERR_NOMEM;
    uint64_t tp = 0, tr = 0;
    for (int cd = 1; cd < NCAD; cd++) {
        if (!f.period[cd])
            continue;
        Loopledger__V1__CadenceAdherence *c = ll_arena_alloc(a, sizeof *c);
        if (!c)
            return LL_ERR_NOMEM;
        loopledger__v1__cadence_adherence__init(c);
        c->cadence = (Loopledger__V1__Cadence)cd;
        c->periods = (uint32_t)periods[cd];
        c->reviewed = (uint32_t)reviewed[cd];
        c->adherence = periods[cd] ? (double)reviewed[cd] / (double)periods[cd] : 1;
        tp += periods[cd];
        tr += reviewed[cd];
        x->cadences[x->n_cadences++] = c;
    }
    x->review_adherence = tp ? (double)tr / (double)tp : 1;
    x->open_drift_alerts = f.n_drift;
    if (f.n_drift)
        memcpy(x->open_drift_alert_seqs, drift, f.n_drift * sizeof(uint64_t));
    x->n_open_drift_alert_seqs = f.n_drift;
    *out = x;
    return LL_OK;
}

/* The report of one initiative as of n: the facts remembered for this
 * tree head (ll_memo.h) or collected now, finished with "now". */
static int health_one(ll_txn_t *txn, ll_arena_t *a, const char *ini, uint64_t n, int64_t now,
                      Loopledger__V1__LoopHealth **out)
{
    ll_memo_key_t *k = malloc(sizeof *k);
    uint8_t *blob = NULL;
    size_t len = 0;
    int err;

    if (!k)
        return LL_ERR_NOMEM;
    if ((err = ll_memo_key(txn, n, "loophealth", ini, strlen(ini), k)))
        goto out;
    if (ll_memo_get(k, &blob, &len) != LL_OK) {
        if ((err = collect(txn, ini, n, &blob, &len)))
            goto out;
        ll_memo_put(k, blob, len);
    }
    err = finish(a, ini, blob, now, out);
out:
    free(blob);
    free(k);
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
