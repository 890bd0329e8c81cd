/*
 * ll_portfolio: the portfolio and ledger totals (ll_portfolio.h).
 */
#include "ll_portfolio.h"

#include <stdio.h>
#include <string.h>

#include "ll_bytes.h"
#include "ll_err.h"
#include "ll_entry.h"
#include "ll_index.h"
#include "ll_initiative.h"
#include "ll_kpi.h"
#include "ll_loophealth.h"

#define PAGE_DEFAULT 100
#define PAGE_MAX 1000

#define FAIL(code, ...)                      \
    do {                                     \
        snprintf(msg, cap, __VA_ARGS__);     \
        return (code);                       \
    } while (0)


/* ---- counting helpers ---- */

static int count_visit(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val,
                       size_t vlen)
{
    (void)key, (void)klen, (void)val, (void)vlen;
    (*(uint64_t *)ctx)++;
    return 0;
}

static int pending_count(ll_txn_t *txn, const char *initiative, uint64_t *out)
{
    uint8_t k[2 + 128];
    size_t n = 1;
    k[0] = LL_IX_PENDING;
    if (initiative)
        n = ll_index_key_str(k, 1, initiative);
    *out = 0;
    return ll_store_scan(txn, LL_TBL_INDEX, k, n, NULL, 0, 0, count_visit, out);
}

/* ---- ListInitiatives ---- */

typedef struct names {
    ll_arena_t *a;
    char **v;
    size_t n, cap;
} names_t;

static int name_visit(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val,
                      size_t vlen)
{
    names_t *ns = ctx;
    (void)val, (void)vlen;
    if (klen < 3 || key[klen - 1] != 0)
        return LL_ERR_CORRUPT;
    if (ns->n == ns->cap)
        return 1;
    ns->v[ns->n++] = ll_arena_strdup(ns->a, (const char *)key + 1);
    return 0;
}

static int summarize(ll_txn_t *txn, ll_arena_t *a, const char *ini, int64_t now,
                     uint32_t window, Loopledger__V1__InitiativeSummary **out, char *msg,
                     size_t cap)
{
    Loopledger__V1__GetInitiativeRequest gr = LOOPLEDGER__V1__GET_INITIATIVE_REQUEST__INIT;
    Loopledger__V1__GetLoopHealthRequest hr = LOOPLEDGER__V1__GET_LOOP_HEALTH_REQUEST__INIT;
    Loopledger__V1__InitiativeState *st;
    Loopledger__V1__GetLoopHealthResponse *h;
    int err;

    gr.initiative = (char *)ini;
    gr.now_unix_nanos = now;
    gr.list_limit = 1; /* counts are complete; the lists are not shown */
    if ((err = ll_initiative_get(txn, a, &gr, now, &st, msg, cap)))
        return err;
    hr.initiative = (char *)ini;
    hr.now_unix_nanos = now;
    if ((err = ll_loophealth_query(txn, a, &hr, now, &h, msg, cap)))
        return err;
    Loopledger__V1__InitiativeSummary *s = ll_arena_alloc(a, sizeof *s);
    if (!s)
        return LL_ERR_NOMEM;
    loopledger__v1__initiative_summary__init(s);
    s->initiative = st->initiative;
    s->title = st->title;
    s->application = st->application;
    s->phase = st->phase;
    s->stage = st->stage;
    s->cycle = st->cycle;
    s->charter = st->charter;
    s->entries = st->entries;
    s->max_rollout_percent = st->max_rollout_percent;
    s->unacted_findings = st->unacted_findings_count;
    s->untested_hypotheses = st->open_hypotheses_count;
    s->running_experiments = st->running_experiments_count;
    s->undiagnosed_alerts = st->undiagnosed_alerts_count;
    s->open_loops = s->unacted_findings + s->untested_hypotheses + s->running_experiments +
                    s->undiagnosed_alerts;
    s->n_overdue_reviews = st->n_overdue_reviews;
    s->overdue_reviews = st->overdue_reviews;
    if (h->n_initiatives)
        s->health = h->initiatives[0];
    if ((err = pending_count(txn, ini, &s->pending_approvals)))
        goto store_fail;
    /* KPIs exactly as GetInitiative answers them (ll_kpi.h). */
    if ((err = ll_kpi_fill(txn, a, st, 0, window, msg, cap)))
        return err;
    s->n_kpis = st->n_kpis;
    s->kpis = st->kpis;
    *out = s;
    return LL_OK;
store_fail:
    snprintf(msg, cap, "initiative \"%s\": %s", ini, ll_strerror(err));
    return err;
}

int ll_portfolio_list(ll_txn_t *txn, ll_arena_t *a,
                      const Loopledger__V1__ListInitiativesRequest *r, int64_t clock_ns,
                      Loopledger__V1__ListInitiativesResponse **out, char *msg, size_t cap)
{
    uint32_t page = r->page_size ? r->page_size : PAGE_DEFAULT;
    int64_t now = r->now_unix_nanos ? r->now_unix_nanos : clock_ns;
    uint8_t from[2 + 128];
    size_t flen = 0;
    int err;

    if (r->page_size > PAGE_MAX)
        FAIL(LL_ERR_INVALID, "page_size %u exceeds %d", r->page_size, PAGE_MAX);
    if (r->kpi_window > LL_KPI_MAX_WINDOW)
        FAIL(LL_ERR_INVALID, "kpi_window %u exceeds %d", r->kpi_window, LL_KPI_MAX_WINDOW);
    if (strlen(r->initiative) > 128 || strlen(r->page_token) > 128)
        FAIL(LL_ERR_INVALID, "initiative and page_token have at most 128 characters");
    if (r->page_token[0] && r->initiative[0])
        FAIL(LL_ERR_INVALID, "page_token is not one this request was issued (one initiative "
                             "has one page)");
    Loopledger__V1__ListInitiativesResponse *resp = ll_arena_alloc(a, sizeof *resp);
    if (!resp)
        return LL_ERR_NOMEM;
    loopledger__v1__list_initiatives_response__init(resp);
    resp->tree_size = ll_store_size(txn);

    if (r->initiative[0]) {
        ll_loop_state_t ls;
        if ((err = ll_index_state(txn, r->initiative, &ls)))
            FAIL(err, err == LL_ERR_NOT_FOUND ? "no initiative \"%s\"" : "initiative \"%s\": %s",
                 r->initiative, ll_strerror(err));
        if (!(resp->initiatives = ll_arena_alloc(a, sizeof *resp->initiatives)))
            return LL_ERR_NOMEM;
        if ((err = summarize(txn, a, r->initiative, now, r->kpi_window,
                             &resp->initiatives[0], msg, cap)))
            return err;
        resp->n_initiatives = 1;
        *out = resp;
        return LL_OK;
    }
    if (r->page_token[0]) {
        from[0] = LL_IX_STATE;
        flen = ll_index_key_str(from, 1, r->page_token);
    }
    /* Filters are on the charter, so names are read in chunks and
     * summarized until the page is full or the index ends. */
    if (!(resp->initiatives = ll_arena_alloc(a, page * sizeof *resp->initiatives)))
        return LL_ERR_NOMEM;
    names_t ns = {.a = a, .cap = page + 1};
    if (!(ns.v = ll_arena_alloc(a, ns.cap * sizeof *ns.v)))
        return LL_ERR_NOMEM;
    uint8_t prefix = LL_IX_STATE;
    for (;;) {
        ns.n = 0;
        if ((err = ll_store_scan(txn, LL_TBL_INDEX, &prefix, 1, flen ? from : NULL, flen, 0,
                                 name_visit, &ns)))
            FAIL(err, "reading initiatives: %s", ll_strerror(err));
        if (a->failed)
            return LL_ERR_NOMEM;
        size_t i = 0;
        for (; i < ns.n && resp->n_initiatives < page; i++) {
            Loopledger__V1__InitiativeSummary *s;
            if ((err = summarize(txn, a, ns.v[i], now, r->kpi_window, &s, msg, cap)))
                return err;
            if ((r->application && s->application != r->application) ||
                (r->phase && s->phase != r->phase))
                continue;
            resp->initiatives[resp->n_initiatives++] = s;
        }
        if (resp->n_initiatives == page && i < ns.n) {
            resp->next_page_token = ns.v[i];
            break;
        }
        if (ns.n < ns.cap)
            break; /* the index ended */
        from[0] = LL_IX_STATE;
        flen = ll_index_key_str(from, 1, ns.v[ns.n - 1]);
        /* The last name is read again as the next chunk's first: skip it
         * by continuing just after it (its key plus a zero byte sorts next). */
        from[flen++] = 0;
    }
    *out = resp;
    return LL_OK;
}

/* ---- totals ---- */

static int state_visit(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val,
                       size_t vlen)
{
    ll_portfolio_totals_t *t = ctx;
    ll_loop_state_t st;
    (void)key, (void)klen;
    if (vlen != LL_INDEX_STATE_LEN) /* the explicit encoding (ll_index.h) */
        return LL_ERR_CORRUPT;
    ll_index_decode_state(val, &st);
    t->initiatives++;
    for (int i = 0; i < LL_OPEN__COUNT; i++)
        t->open[i] += st.open[i];
    return 0;
}

int ll_portfolio_totals(ll_txn_t *txn, ll_portfolio_totals_t *out)
{
    uint8_t prefix = LL_IX_STATE;
    int err;
    memset(out, 0, sizeof *out);
    if ((err = ll_store_scan(txn, LL_TBL_INDEX, &prefix, 1, NULL, 0, 0, state_visit, out)))
        return err;
    return pending_count(txn, NULL, &out->pending_approvals);
}
