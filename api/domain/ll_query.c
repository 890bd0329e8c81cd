/*
 * ll_query: ListEntries filters, GetInitiative, GetLineage, ListOpenLoops
 * (ll_query.h).
 *
 * Each answer touches only the index records it returns (plus O(log n) for
 * time bounds), so latency does not grow with the ledger; lists are capped
 * and paged, counts come from the per-initiative state record.
 */
#include "ll_query.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ll_crypto.h"
#include "ll_err.h"
#include "ll_gov.h"
#include "ll_loop.h"

#define NS_PER_DAY (86400LL * 1000000000LL)
#define LINEAGE_MAX_EDGES 20000

/* ---- entry references ---- */

static void summarize(const Loopledger__V1__EntryBody *b, char *out, size_t cap)
{
    switch (b->kind_case) {
    case LOOPLEDGER__V1__ENTRY_BODY__KIND_NOTE: snprintf(out, cap, "%s", b->note->text); break;
    case LOOPLEDGER__V1__ENTRY_BODY__KIND_ACTOR:
        snprintf(out, cap, "registers %s", b->actor->actor_id);
        break;
    case LOOPLEDGER__V1__ENTRY_BODY__KIND_GENESIS:
        snprintf(out, cap, "genesis of %s", b->genesis->origin);
        break;
    case LOOPLEDGER__V1__ENTRY_BODY__KIND_CHARTER: {
        const ProtobufCEnumValue *p = protobuf_c_enum_descriptor_get_value(
            &loopledger__v1__phase__descriptor, b->charter->phase);
        snprintf(out, cap, "%s [%s]", b->charter->title, p ? p->name + 6 : "?");
        break;
    }
    case LOOPLEDGER__V1__ENTRY_BODY__KIND_HYPOTHESIS:
        snprintf(out, cap, "%s", b->hypothesis->statement);
        break;
    case LOOPLEDGER__V1__ENTRY_BODY__KIND_EXPERIMENT:
        snprintf(out, cap, "%s (%s)", b->experiment->title, b->experiment->primary_metric);
        break;
    case LOOPLEDGER__V1__ENTRY_BODY__KIND_DEPLOYMENT:
        snprintf(out, cap, "%s at %g%%%s%s", b->deployment->version,
                 b->deployment->rollout_percent, b->deployment->scope[0] ? " of " : "",
                 b->deployment->scope);
        break;
    case LOOPLEDGER__V1__ENTRY_BODY__KIND_MEASUREMENT: {
        const Loopledger__V1__Observation *o = b->measurement->observations[0];
        snprintf(out, cap, "%zu observation%s: %s%s%s = %g", b->measurement->n_observations,
                 b->measurement->n_observations == 1 ? "" : "s", o->metric,
                 o->segment[0] ? "/" : "", o->segment, o->value);
        break;
    }
    case LOOPLEDGER__V1__ENTRY_BODY__KIND_ALERT:
        snprintf(out, cap, "%s%s%s: %g -> %g", b->alert->metric, b->alert->segment[0] ? "/" : "",
                 b->alert->segment, b->alert->baseline, b->alert->current);
        break;
    case LOOPLEDGER__V1__ENTRY_BODY__KIND_FINDING: snprintf(out, cap, "%s", b->finding->summary); break;
    case LOOPLEDGER__V1__ENTRY_BODY__KIND_ADJUSTMENT:
        snprintf(out, cap, "%s", b->adjustment->change);
        break;
    case LOOPLEDGER__V1__ENTRY_BODY__KIND_DECISION: {
        const ProtobufCEnumValue *o = protobuf_c_enum_descriptor_get_value(
            &loopledger__v1__outcome__descriptor, b->decision->outcome);
        snprintf(out, cap, "%s: %s", o ? o->name + 8 : "?", b->decision->rationale);
        break;
    }
    case LOOPLEDGER__V1__ENTRY_BODY__KIND_REVIEW: snprintf(out, cap, "%s", b->review->notes); break;
    case LOOPLEDGER__V1__ENTRY_BODY__KIND_SCALING_PLAN:
        snprintf(out, cap, "%s -> %s", b->scaling_plan->from_scope, b->scaling_plan->to_scope);
        break;
    case LOOPLEDGER__V1__ENTRY_BODY__KIND_ROADMAP_PROJECT:
        snprintf(out, cap, "%s", b->roadmap_project->title);
        break;
    case LOOPLEDGER__V1__ENTRY_BODY__KIND_CORRECTION:
        snprintf(out, cap, "%s", b->correction->reason);
        break;
    default: snprintf(out, cap, "?"); break;
    }
    /* One line: newlines become spaces. */
    for (char *p = out; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
}

int ll_query_ref(ll_txn_t *txn, ll_arena_t *a, uint64_t seq, Loopledger__V1__EntryRef **out)
{
    ll_entry_meta_t m;
    Loopledger__V1__EntryBody *b;
    char text[161];
    uint64_t by;
    int err;

    if ((err = ll_index_meta(txn, seq, &m)) || (err = ll_entry_load_body(txn, seq, &b)))
        return err;
    summarize(b, text, sizeof text);
    loopledger__v1__entry_body__free_unpacked(b, NULL);
    Loopledger__V1__EntryRef *r = ll_arena_alloc(a, sizeof *r);
    if (!r)
        return LL_ERR_NOMEM;
    loopledger__v1__entry_ref__init(r);
    r->seq = seq;
    r->kind = (Loopledger__V1__Kind)m.kind;
    r->initiative = ll_arena_strdup(a, m.initiative);
    r->author = ll_arena_strdup(a, m.author);
    r->server_time_unix_nanos = m.time_ns;
    r->summary = ll_arena_strdup(a, text);
    if (ll_index_superseded_by(txn, seq, &by) == LL_OK) {
        r->superseded = 1;
        r->superseded_by = by;
    }
    r->status = (Loopledger__V1__ApprovalStatus)ll_index_status(txn, seq);
    if (a->failed)
        return LL_ERR_NOMEM;
    *out = r;
    return LL_OK;
}

/* ---- ListEntries ---- */

int ll_query_seq_at_time(ll_txn_t *txn, int64_t t, uint64_t *seq)
{
    uint64_t lo = 0, hi = ll_store_size(txn);
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        ll_entry_meta_t m;
        int err = ll_index_meta(txn, mid, &m);
        if (err)
            return err;
        if (m.time_ns < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    *seq = lo;
    return LL_OK;
}

typedef struct list_ctx {
    ll_txn_t *txn;
    const Loopledger__V1__ListEntriesRequest *r;
    uint64_t to, *seqs, next;
    size_t n, page, examined;
    int err;
} list_ctx_t;

/* Does seq pass the filters the driving index did not already apply? */
static int matches(list_ctx_t *c, uint64_t seq, int *ok)
{
    const Loopledger__V1__ListEntriesRequest *r = c->r;
    ll_entry_meta_t m;
    int err;
    *ok = 0;
    if ((err = ll_index_meta(c->txn, seq, &m)))
        return err;
    if (r->kind && m.kind != (uint32_t)r->kind)
        return LL_OK;
    if (r->initiative[0] && strcmp(m.initiative, r->initiative))
        return LL_OK;
    if (r->author[0] && strcmp(m.author, r->author))
        return LL_OK;
    *ok = 1;
    return LL_OK;
}

/* Takes one candidate; returns 1 to stop. */
static int take(list_ctx_t *c, uint64_t seq)
{
    int ok;
    if (seq >= c->to)
        return 1;
    if (c->n == c->page || c->examined == LL_QUERY_SCAN_BUDGET) {
        c->next = seq;
        return 1;
    }
    c->examined++;
    if ((c->err = matches(c, seq, &ok)))
        return 1;
    if (ok)
        c->seqs[c->n++] = seq;
    return 0;
}

static int list_cb(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    (void)val;
    (void)vlen;
    return take(ctx, ll_get_be64(key + klen - 8));
}

int ll_query_list(ll_txn_t *txn, const Loopledger__V1__ListEntriesRequest *r, uint64_t from,
                  uint64_t to, unsigned page, uint64_t *seqs, size_t *n, uint64_t *next,
                  char *msg, size_t cap)
{
    list_ctx_t c = {.txn = txn, .r = r, .seqs = seqs, .page = page, .next = UINT64_MAX};
    uint8_t prefix[2 + LL_ID_SIZE + 1], start[2 + LL_ID_SIZE + 1 + 8];
    size_t pl = 0;
    int err;

    if (r->kind && !protobuf_c_enum_descriptor_get_value(&loopledger__v1__kind__descriptor,
                                                         r->kind))
        LL_FAIL(LL_ERR_INVALID, "unknown kind %d", r->kind);
    if (strlen(r->initiative) > LL_MAX_ID_LEN || strlen(r->author) > LL_MAX_ID_LEN)
        LL_FAIL(LL_ERR_INVALID, "initiative and author filters are at most %d characters", LL_MAX_ID_LEN);
    if (r->from_time_unix_nanos) {
        uint64_t s;
        if ((err = ll_query_seq_at_time(txn, r->from_time_unix_nanos, &s)))
            LL_FAIL(err, "time index: %s", ll_strerror(err));
        if (s > from)
            from = s;
    }
    if (r->to_time_unix_nanos) {
        uint64_t s;
        if ((err = ll_query_seq_at_time(txn, r->to_time_unix_nanos, &s)))
            LL_FAIL(err, "time index: %s", ll_strerror(err));
        if (s < to)
            to = s;
    }
    c.to = to;
    *n = 0;
    *next = UINT64_MAX;
    if (from >= to)
        return LL_OK;

    /* The most selective index that applies drives the scan. */
    if (r->initiative[0] && r->kind) {
        prefix[0] = LL_IX_INI_KIND;
        pl = 1 + strlen(r->initiative) + 1;
        memcpy(prefix + 1, r->initiative, pl - 1);
        prefix[pl++] = (uint8_t)r->kind;
    } else if (r->initiative[0]) {
        prefix[0] = LL_IX_INITIATIVE;
        pl = 1 + strlen(r->initiative) + 1;
        memcpy(prefix + 1, r->initiative, pl - 1);
    } else if (r->author[0]) {
        prefix[0] = LL_IX_AUTHOR;
        pl = 1 + strlen(r->author) + 1;
        memcpy(prefix + 1, r->author, pl - 1);
    } else if (r->kind) {
        prefix[0] = LL_IX_KIND;
        prefix[1] = (uint8_t)r->kind;
        pl = 2;
    }
    if (pl) {
        memcpy(start, prefix, pl);
        ll_put_be64(start + pl, from);
        err = ll_store_scan(txn, LL_TBL_INDEX, prefix, pl, start, pl + 8, 0, list_cb, &c);
    } else {
        err = LL_OK;
        for (uint64_t s = from; s < to && !take(&c, s); s++)
            ;
    }
    if (!err)
        err = c.err;
    if (err)
        LL_FAIL(err, "listing: %s", ll_strerror(err));
    *n = c.n;
    *next = c.next;
    return LL_OK;
}

/* ---- GetInitiative ---- */

typedef struct open_ctx {
    ll_txn_t *txn;
    ll_arena_t *a;
    Loopledger__V1__EntryRef **refs;
    size_t n, limit;
    int err;
} open_ctx_t;

static int open_cb(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    open_ctx_t *c = ctx;
    (void)val;
    (void)vlen;
    if (c->n == c->limit)
        return 1;
    if ((c->err = ll_query_ref(c->txn, c->a, ll_get_be64(key + klen - 8), &c->refs[c->n])))
        return c->err;
    c->n++;
    return 0;
}

static int open_list(ll_txn_t *txn, ll_arena_t *a, int cat, const char *ini, size_t limit,
                     Loopledger__V1__EntryRef ***refs, size_t *n)
{
    uint8_t prefix[2 + LL_ID_SIZE];
    size_t pl;
    open_ctx_t c = {.txn = txn, .a = a, .limit = limit};

    prefix[0] = LL_IX_OPEN;
    prefix[1] = (uint8_t)cat;
    pl = strlen(ini) + 1;
    memcpy(prefix + 2, ini, pl);
    pl += 2;
    c.refs = ll_arena_alloc(a, (limit ? limit : 1) * sizeof *c.refs);
    if (!c.refs)
        return LL_ERR_NOMEM;
    int err = ll_store_scan(txn, LL_TBL_INDEX, prefix, pl, NULL, 0, 0, open_cb, &c);
    if (err)
        return err;
    *refs = c.refs;
    *n = c.n;
    return LL_OK;
}

int64_t ll_query_cadence_period(int cadence)
{
    switch (cadence) {
    case LOOPLEDGER__V1__CADENCE__CADENCE_DAILY: return NS_PER_DAY;
    case LOOPLEDGER__V1__CADENCE__CADENCE_WEEKLY: return 7 * NS_PER_DAY;
    case LOOPLEDGER__V1__CADENCE__CADENCE_MONTHLY: return 31 * NS_PER_DAY;
    case LOOPLEDGER__V1__CADENCE__CADENCE_QUARTERLY: return 92 * NS_PER_DAY;
    default: return 0; /* post-campaign: no calendar */
    }
}

static int nonempty(const char *s)
{
    return s && s[0];
}

/* Readiness of a scaling plan: the five considerations, phases and risk
 * mitigations. */
int ll_query_readiness(ll_arena_t *a, const Loopledger__V1__ScalingPlan *p,
                     Loopledger__V1__ScalingReadiness *r)
{
    const Loopledger__V1__ScalingConsiderations *c = p->considerations;
    const Loopledger__V1__ChangeManagement *cm = c ? c->change_management : NULL;
    int mitigated = p->n_risks > 0;
    for (size_t i = 0; i < p->n_risks; i++)
        mitigated &= nonempty(p->risks[i]->mitigation);
    const struct {
        const char *name;
        int ok;
    } items[] = {
        {"data_infrastructure", c && nonempty(c->data_infrastructure)},
        {"technical_resources", c && nonempty(c->technical_resources)},
        {"change_management", cm && nonempty(cm->communication) && nonempty(cm->training) &&
                                  nonempty(cm->champions) && nonempty(cm->listening) &&
                                  nonempty(cm->phased_rollout)},
        {"system_interdependencies", c && nonempty(c->system_interdependencies)},
        {"budget_roi", c && c->budget_roi && c->budget_roi->budget > 0},
        {"phases", p->n_phases > 0},
        {"risk_mitigations", mitigated},
    };
    size_t n = sizeof items / sizeof items[0];
    r->required = (uint32_t)n;
    r->missing = ll_arena_alloc(a, n * sizeof *r->missing);
    if (!r->missing)
        return LL_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        if (items[i].ok)
            r->addressed++;
        else
            r->missing[r->n_missing++] = (char *)items[i].name;
    }
    r->ready = r->addressed == r->required;
    return LL_OK;
}

typedef struct plans_ctx {
    ll_txn_t *txn;
    ll_arena_t *a;
    Loopledger__V1__ScalingReadiness **out;
    size_t n, limit;
    int err;
} plans_ctx_t;

static int plans_cb(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    plans_ctx_t *c = ctx;
    uint64_t seq = ll_get_be64(key + klen - 8), by;
    Loopledger__V1__EntryBody *b;
    (void)val;
    (void)vlen;
    if (c->n == c->limit)
        return 1;
    if (ll_index_superseded_by(c->txn, seq, &by) == LL_OK)
        return 0; /* the correction replaced it */
    Loopledger__V1__ScalingReadiness *r = ll_arena_alloc(c->a, sizeof *r);
    if (!r)
        return c->err = LL_ERR_NOMEM;
    loopledger__v1__scaling_readiness__init(r);
    if ((c->err = ll_query_ref(c->txn, c->a, seq, &r->plan)) ||
        (c->err = ll_entry_load_body(c->txn, seq, &b)))
        return c->err;
    c->err = ll_query_readiness(c->a, b->scaling_plan, r);
    loopledger__v1__entry_body__free_unpacked(b, NULL);
    if (c->err)
        return c->err;
    c->out[c->n++] = r;
    return 0;
}

size_t ll_query_open_lists(Loopledger__V1__InitiativeState *s, ll_query_open_list_t out[5])
{
    const ll_query_open_list_t lists[] = {
        {LL_OPEN_HYPOTHESIS_UNRESOLVED, &s->open_hypotheses, &s->n_open_hypotheses,
         &s->open_hypotheses_count},
        {LL_OPEN_EXPERIMENT_RUNNING, &s->running_experiments, &s->n_running_experiments,
         &s->running_experiments_count},
        {LL_OPEN_FINDING_UNACTED, &s->unacted_findings, &s->n_unacted_findings,
         &s->unacted_findings_count},
        {LL_OPEN_ADJUSTMENT_AWAITING, &s->adjustments_awaiting_approval,
         &s->n_adjustments_awaiting_approval, &s->adjustments_awaiting_approval_count},
        {LL_OPEN_ALERT_UNDIAGNOSED, &s->undiagnosed_alerts, &s->n_undiagnosed_alerts,
         &s->undiagnosed_alerts_count},
    };
    memcpy(out, lists, sizeof lists);
    return sizeof lists / sizeof lists[0];
}

int ll_query_overdue(ll_arena_t *a, Loopledger__V1__InitiativeState *s,
                     const Loopledger__V1__Initiative *charter, const int64_t *last,
                     int64_t created_ns, int64_t now_ns)
{
    int wanted[LOOPLEDGER__V1__CADENCE__CADENCE_POST_CAMPAIGN + 1] = {0};
    if (charter)
        for (size_t i = 0; i < charter->n_review_cadences; i++)
            if (charter->review_cadences[i] <= LOOPLEDGER__V1__CADENCE__CADENCE_POST_CAMPAIGN)
                wanted[charter->review_cadences[i]] = 1;
    s->overdue_reviews = ll_arena_alloc(a, 6 * sizeof *s->overdue_reviews);
    if (!s->overdue_reviews)
        return LL_ERR_NOMEM;
    for (int cd = 1; cd <= LOOPLEDGER__V1__CADENCE__CADENCE_POST_CAMPAIGN; cd++) {
        int64_t period = ll_query_cadence_period(cd);
        int64_t since = last[cd] ? last[cd] : created_ns;
        /* Compared without subtraction: now comes from the client. */
        if ((!wanted[cd] && !last[cd]) || !period || now_ns <= since || now_ns - since <= period)
            continue;
        Loopledger__V1__OverdueReview *o = ll_arena_alloc(a, sizeof *o);
        if (!o)
            return LL_ERR_NOMEM;
        loopledger__v1__overdue_review__init(o);
        o->cadence = (Loopledger__V1__Cadence)cd;
        o->last_review_unix_nanos = last[cd];
        o->due_unix_nanos = since + period;
        s->overdue_reviews[s->n_overdue_reviews++] = o;
    }
    return LL_OK;
}

int ll_query_initiative(ll_txn_t *txn, ll_arena_t *a,
                        const Loopledger__V1__GetInitiativeRequest *r, int64_t now_ns,
                        Loopledger__V1__InitiativeState **out, char *msg, size_t cap)
{
    ll_loop_state_t st;
    Loopledger__V1__EntryBody *charter = NULL;
    size_t limit = r->list_limit ? r->list_limit : 50;
    int err;

    if (!r->initiative[0] || strlen(r->initiative) > LL_MAX_ID_LEN)
        LL_FAIL(LL_ERR_INVALID, "initiative is required (at most %d characters)", LL_MAX_ID_LEN);
    if (r->list_limit > 1000)
        LL_FAIL(LL_ERR_INVALID, "list_limit %u exceeds 1000", r->list_limit);
    if ((err = ll_index_state(txn, r->initiative, &st)))
        LL_FAIL(err, err == LL_ERR_NOT_FOUND ? "no initiative \"%s\"" : "initiative \"%s\": %s",
             r->initiative, ll_strerror(err));
    Loopledger__V1__InitiativeState *s = ll_arena_alloc(a, sizeof *s);
    if (!s)
        return LL_ERR_NOMEM;
    loopledger__v1__initiative_state__init(s);
    s->initiative = ll_arena_strdup(a, r->initiative);
    s->cycle = st.cycle;
    s->stage = (Loopledger__V1__Stage)st.stage;
    s->max_rollout_percent = st.max_rollout;
    s->entries = st.entries;
    s->phase = LOOPLEDGER__V1__PHASE__PHASE_PROPOSED; /* started by a roadmap project */
    if (st.charter_seq != UINT64_MAX) {
        if ((err = ll_query_ref(txn, a, st.charter_seq, &s->charter)) ||
            (err = ll_entry_load_body(txn, st.charter_seq, &charter)))
            goto fail;
        s->title = ll_arena_strdup(a, charter->charter->title);
        s->application = charter->charter->application;
        s->phase = charter->charter->phase;
    }
    if (st.stage_seq != UINT64_MAX && (err = ll_query_ref(txn, a, st.stage_seq, &s->stage_entry)))
        goto fail;

    ll_query_open_list_t lists[5];
    size_t nlists = ll_query_open_lists(s, lists);
    for (size_t i = 0; i < nlists; i++) {
        *lists[i].count = st.open[lists[i].cat];
        if ((err = open_list(txn, a, lists[i].cat, r->initiative, limit, lists[i].refs,
                             lists[i].n)))
            goto fail;
    }

    /* Reviews: every cadence the charter commits to or that was ever used. */
    int64_t last[LOOPLEDGER__V1__CADENCE__CADENCE_POST_CAMPAIGN + 1] = {0};
    for (int cd = 1; cd <= LOOPLEDGER__V1__CADENCE__CADENCE_POST_CAMPAIGN; cd++) {
        uint8_t k[2 + LL_ID_SIZE + 1];
        const uint8_t *v;
        size_t vl, kl = strlen(r->initiative) + 1;
        k[0] = LL_IX_REVIEW;
        memcpy(k + 1, r->initiative, kl);
        k[1 + kl] = (uint8_t)cd;
        if (ll_store_get(txn, LL_TBL_INDEX, k, kl + 2, &v, &vl) == LL_OK && vl == 16)
            last[cd] = (int64_t)ll_get_be64(v);
    }
    if ((err = ll_query_overdue(a, s, charter ? charter->charter : NULL, last, st.created_ns,
                                now_ns)))
        goto fail;

    /* The latest scaling plans that are still in force. */
    {
        uint8_t prefix[2 + LL_ID_SIZE + 1];
        size_t pl = strlen(r->initiative) + 1;
        plans_ctx_t pc = {.txn = txn, .a = a, .limit = 5};
        prefix[0] = LL_IX_INI_KIND;
        memcpy(prefix + 1, r->initiative, pl);
        prefix[1 + pl] = LOOPLEDGER__V1__ENTRY_BODY__KIND_SCALING_PLAN;
        pc.out = ll_arena_alloc(a, pc.limit * sizeof *pc.out);
        if (!pc.out) {
            err = LL_ERR_NOMEM;
            goto fail;
        }
        err = ll_store_scan(txn, LL_TBL_INDEX, prefix, pl + 2, NULL, 0, 1, plans_cb, &pc);
        if (!err)
            err = pc.err;
        if (err)
            goto fail;
        s->scaling_plans = pc.out;
        s->n_scaling_plans = pc.n;
    }
    if (charter)
        loopledger__v1__entry_body__free_unpacked(charter, NULL);
    if (a->failed)
        return LL_ERR_NOMEM;
    *out = s;
    return LL_OK;
fail:
    if (charter)
        loopledger__v1__entry_body__free_unpacked(charter, NULL);
    LL_FAIL(err, "initiative \"%s\": %s", r->initiative, ll_strerror(err));
}

/* ---- GetLineage ---- */

typedef struct seqset {
    uint64_t *slot; /* open addressing; UINT64_MAX = empty */
    size_t cap;
} seqset_t;

static int seqset_has(const seqset_t *s, uint64_t v)
{
    size_t i = (size_t)(v * 0x9e3779b97f4a7c15ull) & (s->cap - 1);
    while (s->slot[i] != UINT64_MAX) {
        if (s->slot[i] == v)
            return 1;
        i = (i + 1) & (s->cap - 1);
    }
    return 0;
}

/* Adds v (the caller keeps the set under half full: at most max nodes in
 * a table of >= 2 * max slots). Returns 1 if it was new. */
static int seqset_add(seqset_t *s, uint64_t v)
{
    size_t i = (size_t)(v * 0x9e3779b97f4a7c15ull) & (s->cap - 1);
    while (s->slot[i] != UINT64_MAX) {
        if (s->slot[i] == v)
            return 0;
        i = (i + 1) & (s->cap - 1);
    }
    s->slot[i] = v;
    return 1;
}

typedef struct lineage {
    ll_txn_t *txn;
    seqset_t seen;
    uint64_t *nodes; /* discovery order */
    size_t n, max;
    Loopledger__V1__Edge *edges;
    size_t ne, edge_cap;
    int truncated;
    uint64_t *frontier, *next;
    size_t nf, nn;
    int err;
} lineage_t;

static int add_edge(lineage_t *g, uint64_t src, int rel, uint64_t dst)
{
    if (g->ne == LINEAGE_MAX_EDGES) {
        g->truncated = 1; /* bounded memory whatever the link counts */
        return LL_OK;
    }
    if (g->ne == g->edge_cap) {
        size_t cap = g->edge_cap ? 2 * g->edge_cap : 64;
        Loopledger__V1__Edge *e = realloc(g->edges, cap * sizeof *e);
        if (!e)
            return LL_ERR_NOMEM;
        g->edges = e;
        g->edge_cap = cap;
    }
    Loopledger__V1__Edge *e = &g->edges[g->ne++];
    loopledger__v1__edge__init(e);
    e->source = src;
    e->relation = (Loopledger__V1__Relation)rel;
    e->target = dst;
    return LL_OK;
}

/* Visits seq; returns 1 if it is new (and queued for the next hop). */
/* Keeps seq as a node if it is one already or there is room: returns 1
 * when seq is a kept node (so an edge to it may be recorded). Only kept
 * nodes enter the set, so it never holds more than max values. */
static int visit(lineage_t *g, uint64_t seq)
{
    if (seqset_has(&g->seen, seq))
        return 1;
    if (g->n == g->max) {
        g->truncated = 1;
        return 0;
    }
    seqset_add(&g->seen, seq);
    g->nodes[g->n++] = seq;
    g->next[g->nn++] = seq;
    return 1;
}

static int forward_cb(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    lineage_t *g = ctx;
    (void)klen;
    (void)val;
    (void)vlen;
    /* L target8 relation u8 source8 */
    uint64_t tgt = ll_get_be64(key + 1), src = ll_get_be64(key + 10);
    if (!visit(g, src))
        return 1; /* no room: the walk is truncated */
    if ((g->err = add_edge(g, src, key[9], tgt)))
        return g->err;
    return 0;
}

int ll_query_lineage(ll_txn_t *txn, ll_arena_t *a, const Loopledger__V1__GetLineageRequest *r,
                     Loopledger__V1__Lineage **out, char *msg, size_t cap)
{
    lineage_t g = {.txn = txn};
    int err = LL_OK;
    size_t max = r->max_nodes ? r->max_nodes : 500;

    if (r->max_nodes > 5000)
        LL_FAIL(LL_ERR_INVALID, "max_nodes %u exceeds 5000", r->max_nodes);
    if (r->back_hops > 64 || r->forward_hops > 64)
        LL_FAIL(LL_ERR_INVALID, "at most 64 hops each way");
    if (r->seq >= ll_store_size(txn))
        LL_FAIL(LL_ERR_NOT_FOUND, "no entry %" PRIu64 " (the ledger has %" PRIu64 ")", r->seq,
             ll_store_size(txn));
    g.max = max;
    for (g.seen.cap = 16; g.seen.cap < 2 * max; g.seen.cap *= 2)
        ;
    g.seen.slot = malloc(g.seen.cap * sizeof *g.seen.slot);
    g.nodes = malloc(max * sizeof *g.nodes);
    g.frontier = malloc(max * sizeof *g.frontier);
    g.next = malloc(max * sizeof *g.next);
    if (!g.seen.slot || !g.nodes || !g.frontier || !g.next) {
        err = LL_ERR_NOMEM;
        goto out;
    }
    memset(g.seen.slot, 0xff, g.seen.cap * sizeof *g.seen.slot);

    /* Two walks from the root: back along each entry's own links, forward
     * along the incoming-link index. */
    for (int dir = 0; dir < 2 && !err; dir++) {
        unsigned hops = dir == 0 ? r->back_hops : r->forward_hops;
        g.nf = 0;
        g.nn = 0;
        if (dir == 0) {
            visit(&g, r->seq);
        } else {
            g.next[g.nn++] = r->seq;
        }
        for (unsigned h = 0; h < hops && !err; h++) {
            uint64_t *t = g.frontier;
            g.frontier = g.next;
            g.next = t;
            g.nf = g.nn;
            g.nn = 0;
            for (size_t i = 0; i < g.nf && !err; i++) {
                uint64_t s = g.frontier[i];
                if (dir == 0) {
                    Loopledger__V1__EntryBody *b;
                    if ((err = ll_entry_load_body(txn, s, &b)))
                        break;
                    for (size_t j = 0; j < b->n_links && !err; j++)
                        if (visit(&g, b->links[j]->target_seq))
                            err = add_edge(&g, s, b->links[j]->relation,
                                           b->links[j]->target_seq);
                    loopledger__v1__entry_body__free_unpacked(b, NULL);
                } else {
                    uint8_t prefix[9] = {LL_IX_LINK_IN};
                    ll_put_be64(prefix + 1, s);
                    err = ll_store_scan(txn, LL_TBL_INDEX, prefix, 9, NULL, 0, 0, forward_cb, &g);
                    if (!err)
                        err = g.err;
                }
            }
        }
    }
    if (err)
        goto out;

    Loopledger__V1__Lineage *L = ll_arena_alloc(a, sizeof *L);
    if (!L) {
        err = LL_ERR_NOMEM;
        goto out;
    }
    loopledger__v1__lineage__init(L);
    L->root = r->seq;
    L->truncated = g.truncated;
    /* Nodes in sequence order. */
    for (size_t i = 1; i < g.n; i++)
        for (size_t j = i; j > 0 && g.nodes[j - 1] > g.nodes[j]; j--) {
            uint64_t t = g.nodes[j];
            g.nodes[j] = g.nodes[j - 1];
            g.nodes[j - 1] = t;
        }
    L->nodes = ll_arena_alloc(a, (g.n ? g.n : 1) * sizeof *L->nodes);
    L->edges = ll_arena_alloc(a, (g.ne ? g.ne : 1) * sizeof *L->edges);
    if (!L->nodes || !L->edges) {
        err = LL_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < g.n; i++)
        if ((err = ll_query_ref(txn, a, g.nodes[i], &L->nodes[L->n_nodes++])))
            goto out;
    /* Edges are kept only between returned nodes (a truncated walk may
     * have seen a link to a node it could not take). */
    Loopledger__V1__Edge *earr = ll_arena_alloc(a, (g.ne ? g.ne : 1) * sizeof *earr);
    if (!earr) {
        err = LL_ERR_NOMEM;
        goto out;
    }
    /* Edges are recorded only between kept nodes (visit()). */
    for (size_t i = 0; i < g.ne; i++) {
        earr[L->n_edges] = g.edges[i];
        L->edges[L->n_edges] = &earr[L->n_edges];
        L->n_edges++;
    }
    *out = L;
out:
    free(g.seen.slot);
    free(g.nodes);
    free(g.frontier);
    free(g.next);
    free(g.edges);
    if (err)
        LL_FAIL(err, "lineage of %" PRIu64 ": %s", r->seq, ll_strerror(err));
    return LL_OK;
}

/* ---- ListOpenLoops ---- */

typedef struct loops_ctx {
    ll_txn_t *txn;
    ll_arena_t *a;
    Loopledger__V1__OpenLoop **loops;
    size_t n, page;
    uint8_t next_key[2 + LL_ID_SIZE + 8];
    size_t next_len;
    int err;
} loops_ctx_t;

static int loops_cb(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    loops_ctx_t *c = ctx;
    (void)val;
    (void)vlen;
    if (c->n == c->page) {
        memcpy(c->next_key, key, klen);
        c->next_len = klen;
        return 1;
    }
    Loopledger__V1__OpenLoop *l = ll_arena_alloc(c->a, sizeof *l);
    if (!l)
        return c->err = LL_ERR_NOMEM;
    loopledger__v1__open_loop__init(l);
    l->kind = (Loopledger__V1__OpenLoopKind)key[1];
    if ((c->err = ll_query_ref(c->txn, c->a, ll_get_be64(key + klen - 8), &l->entry)))
        return c->err;
    c->loops[c->n++] = l;
    return 0;
}

int ll_query_open_loops(ll_txn_t *txn, ll_arena_t *a,
                        const Loopledger__V1__ListOpenLoopsRequest *r,
                        Loopledger__V1__ListOpenLoopsResponse **out, char *msg, size_t cap)
{
    size_t page = r->page_size ? r->page_size : 100;
    uint8_t start[2 + LL_ID_SIZE + 8];
    size_t start_len = 0;
    int first = 1, last = LL_OPEN_ALERT_UNDIAGNOSED, err;

    if (r->page_size > 1000)
        LL_FAIL(LL_ERR_INVALID, "page_size %u exceeds 1000", r->page_size);
    if ((int)r->kind < 0 || (int)r->kind > (int)LL_OPEN_ALERT_UNDIAGNOSED)
        LL_FAIL(LL_ERR_INVALID, "unknown open-loop kind %d", r->kind);
    if (strlen(r->initiative) > LL_MAX_ID_LEN)
        LL_FAIL(LL_ERR_INVALID, "initiative is at most %d characters", LL_MAX_ID_LEN);
    if (r->kind)
        first = last = r->kind;
    if (r->page_token[0]) {
        /* The token is the hex of the index key to resume at. */
        size_t tl = strlen(r->page_token);
        if (tl % 2 || tl / 2 > sizeof start || tl < 4 ||
            ll_hex_decode(r->page_token, tl, start, tl / 2) || start[0] != LL_IX_OPEN ||
            start[1] < first || start[1] > last ||
            (r->initiative[0] && (tl / 2 < 2 + strlen(r->initiative) + 1 ||
                                  memcmp(start + 2, r->initiative, strlen(r->initiative) + 1))))
            LL_FAIL(LL_ERR_INVALID, "page_token is not one this server issued for this request");
        start_len = tl / 2;
        first = start[1];
    }
    loops_ctx_t c = {.txn = txn, .a = a, .page = page};
    c.loops = ll_arena_alloc(a, page * sizeof *c.loops);
    Loopledger__V1__ListOpenLoopsResponse *resp = ll_arena_alloc(a, sizeof *resp);
    if (!c.loops || !resp)
        return LL_ERR_NOMEM;
    loopledger__v1__list_open_loops_response__init(resp);
    for (int cat = first; cat <= last && !c.next_len; cat++) {
        uint8_t prefix[2 + LL_ID_SIZE];
        size_t pl = 2;
        prefix[0] = LL_IX_OPEN;
        prefix[1] = (uint8_t)cat;
        if (r->initiative[0]) {
            memcpy(prefix + 2, r->initiative, strlen(r->initiative) + 1);
            pl += strlen(r->initiative) + 1;
        }
        int resume = start_len && start[1] == cat;
        err = ll_store_scan(txn, LL_TBL_INDEX, prefix, pl, resume ? start : NULL,
                            resume ? start_len : 0, 0, loops_cb, &c);
        if (!err)
            err = c.err;
        if (err)
            LL_FAIL(err, "open loops: %s", ll_strerror(err));
    }
    resp->loops = c.loops;
    resp->n_loops = c.n;
    if (c.next_len) {
        char *tok = ll_arena_alloc(a, 2 * c.next_len + 1);
        if (!tok)
            return LL_ERR_NOMEM;
        ll_hex_encode(c.next_key, c.next_len, tok);
        resp->next_page_token = tok;
    } else {
        resp->next_page_token = (char *)"";
    }
    *out = resp;
    return LL_OK;
}
