/*
 * ll_initiative: GetInitiative, live and as of a tree size
 * (ll_initiative.h).
 *
 * Live answers read the incremental state record and the open-loop index
 * of the initiative. As-of answers recompute the same state by replaying
 * the initiative's entries below N through ll_loop_step (the live path's
 * own step function), and derive the open loops from the incoming links
 * below N. Why replay instead of snapshots of the state record: snapshots
 * would cost a write per entry forever to serve a rare governance
 * question; the replay reads only the initiative's own entries and their
 * incoming links, and it is checked against the live incremental state by
 * the unit tests (as of the latest size, both must give the same answer,
 * byte for byte). Both fill the response through the same helpers
 * (open_lists, overdue, readiness), which is why they share this file.
 */
#include "ll_initiative.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ll_asof.h"
#include "ll_bytes.h"
#include "ll_err.h"
#include "ll_gov.h"
#include "ll_loop.h"
#include "ll_query.h"
#include "ll_record.h"
#include "ll_u64vec.h"

#define K(x) LOOPLEDGER__V1__ENTRY_BODY__KIND_##x
#define R(x) LOOPLEDGER__V1__RELATION__##x
#define NS_PER_DAY (86400LL * 1000000000LL)

/* The five open-loop lists of an InitiativeState with their categories
 * (live and as-of answers fill the same fields). */
typedef struct open_list {
    int cat; /* enum ll_open */
    Loopledger__V1__EntryRef ***refs;
    size_t *n;
    uint64_t *count;
} open_list_t;

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

int64_t ll_initiative_cadence_period(int cadence)
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
static int readiness(ll_arena_t *a, const Loopledger__V1__ScalingPlan *p,
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
    c->err = readiness(c->a, b->scaling_plan, r);
    loopledger__v1__entry_body__free_unpacked(b, NULL);
    if (c->err)
        return c->err;
    c->out[c->n++] = r;
    return 0;
}

static size_t open_lists(Loopledger__V1__InitiativeState *s, open_list_t out[5])
{
    const open_list_t lists[] = {
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

static int overdue(ll_arena_t *a, Loopledger__V1__InitiativeState *s,
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
        int64_t period = ll_initiative_cadence_period(cd);
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

int ll_initiative_get(ll_txn_t *txn, ll_arena_t *a,
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
            (err = ll_record_load(txn, st.charter_seq, &charter, NULL, NULL)))
            goto fail;
        s->title = ll_arena_strdup(a, charter->charter->title);
        s->application = charter->charter->application;
        s->phase = charter->charter->phase;
    }
    if (st.stage_seq != UINT64_MAX && (err = ll_query_ref(txn, a, st.stage_seq, &s->stage_entry)))
        goto fail;

    open_list_t lists[5];
    size_t nlists = open_lists(s, lists);
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
    if ((err = overdue(a, s, charter ? charter->charter : NULL, last, st.created_ns,
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

/* ---- open loops as of n, from the incoming links below n ---- */

typedef struct close_ctx {
    ll_txn_t *txn;
    uint64_t n, seq;
    int cat; /* enum ll_open */
    int policy; /* seq is held by a HITL policy */
    int closed, err;
} close_ctx_t;

static int close_cb(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    close_ctx_t *c = ctx;
    int rel = key[9];
    uint64_t src = ll_get_be64(key + 10);
    ll_entry_meta_t m;
    (void)klen;
    (void)val;
    (void)vlen;
    if (src >= c->n)
        return 0; /* sorted by relation first: later relations may still count */
    if (rel == R(SUPERSEDES)) {
        /* A superseded entry is not open, whatever its category. */
        c->closed = 1;
        return 1;
    }
    if ((c->err = ll_index_meta(c->txn, src, &m)))
        return c->err;
    /* The closing rules of ll_loop.c's apply_link. */
    switch (c->cat) {
    case LL_OPEN_HYPOTHESIS_UNTESTED:
        c->closed = rel == R(TESTS) ||
                    ((rel == R(SUPPORTS) || rel == R(REFUTES)) && m.kind == K(FINDING));
        break;
    case LL_OPEN_HYPOTHESIS_UNRESOLVED:
        c->closed = (rel == R(SUPPORTS) || rel == R(REFUTES)) && m.kind == K(FINDING);
        break;
    case LL_OPEN_EXPERIMENT_RUNNING: c->closed = rel == R(CONCLUDES); break;
    case LL_OPEN_ALERT_UNDIAGNOSED: c->closed = rel == R(DIAGNOSES); break;
    case LL_OPEN_FINDING_UNACTED:
        c->closed = rel == R(ADDRESSES) || rel == R(SPAWNED_BY) ||
                    (rel == R(DERIVED_FROM) && m.kind == K(HYPOTHESIS));
        break;
    case LL_OPEN_ADJUSTMENT_AWAITING:
        /* Opened only under a policy: closed once effective or rejected as
         * of n. */
        if (rel == R(DECIDES) && m.kind == K(DECISION) && c->policy)
            c->closed = ll_gov_status_as_of(c->txn, c->seq, c->n) !=
                        LOOPLEDGER__V1__APPROVAL_STATUS__APPROVAL_STATUS_PENDING;
        break;
    default: break;
    }
    return c->closed ? 1 : 0;
}

/* 1 if open-loop category cat of entry seq was closed below n, 0 if not,
 * or a negative ll_err code. */
static int closed_before(ll_txn_t *txn, int cat, uint64_t seq, uint64_t n)
{
    uint8_t prefix[9] = {LL_IX_LINK_IN};
    close_ctx_t c = {.txn = txn, .n = n, .seq = seq, .cat = cat};
    ll_hitl_t h;
    c.policy = cat == LL_OPEN_ADJUSTMENT_AWAITING && ll_index_hitl(txn, seq, &h) == LL_OK;
    ll_put_be64(prefix + 1, seq);
    int err = ll_store_scan(txn, LL_TBL_INDEX, prefix, sizeof prefix, NULL, 0, 0, close_cb, &c);
    if (err || (err = c.err))
        return err;
    return c.closed;
}

typedef struct replay {
    ll_txn_t *txn;
    const char *ini;
    uint64_t n;
    int have;
    ll_loop_state_t st;
    ll_u64vec_t open[LL_OPEN__COUNT]; /* seqs per open category, ascending */
    int err;
} replay_t;

/* Adds seq to category cat unless a link below n closed it. */
static int open_if(replay_t *p, int cat, uint64_t seq)
{
    int c = closed_before(p->txn, cat, seq, p->n);
    if (c < 0)
        return c;
    if (c)
        return LL_OK;
    p->st.open[cat]++;
    return ll_u64vec_push(&p->open[cat], seq);
}

/* One entry of the initiative, in seq order: ll_loop_step, as
 * ll_loop_apply applied it. */
static int replay_one(replay_t *p, uint64_t seq, uint32_t kind)
{
    ll_loop_state_t *st = &p->st;
    Loopledger__V1__EntryBody stub = LOOPLEDGER__V1__ENTRY_BODY__INIT, *b = NULL;
    int err = LL_OK;

    if (!p->have) {
        ll_entry_meta_t m;
        if (kind < K(CHARTER) || kind > K(CORRECTION))
            return LL_OK; /* no state yet: notes do not start one */
        if ((err = ll_index_meta(p->txn, seq, &m)))
            return err;
        ll_loop_state_init(st, seq, m.time_ns);
        p->have = 1;
    }
    /* The step reads the body of alerts and deployments only, the effect
     * that of deployments; decisions are read for what they make
     * effective. The others need no unpacking. */
    if (kind == K(ALERT) || kind == K(DEPLOYMENT) || kind == K(DECISION)) {
        if ((err = ll_entry_load_body(p->txn, seq, &b)))
            return err;
    } else {
        stub.kind_case = (Loopledger__V1__EntryBody__KindCase)kind;
    }
    ll_hitl_t h;
    int held = ll_index_hitl(p->txn, seq, &h) == LL_OK;
    unsigned opens = ll_loop_step(st, seq, b ? b : &stub);
    if (kind == K(ADJUSTMENT) && held)
        opens |= 1u << LL_OPEN_ADJUSTMENT_AWAITING;
    if (!held)
        ll_loop_effect(st, seq, b ? b : &stub);
    for (int cat = 1; cat < LL_OPEN__COUNT && !err; cat++)
        if (opens & (1u << cat))
            err = open_if(p, cat, seq);
    /* A held entry takes effect at the decision that makes it effective,
     * as ll_gov's decide() applies it live. */
    for (size_t i = 0; !err && kind == K(DECISION) && i < b->n_links; i++) {
        uint64_t tgt = b->links[i]->target_seq;
        Loopledger__V1__EntryBody *tb;
        if (b->links[i]->relation != R(DECIDES) || ll_index_hitl(p->txn, tgt, &h) != LL_OK ||
            ll_gov_status_as_of(p->txn, tgt, seq) !=
                LOOPLEDGER__V1__APPROVAL_STATUS__APPROVAL_STATUS_PENDING ||
            ll_gov_status_as_of(p->txn, tgt, seq + 1) !=
                LOOPLEDGER__V1__APPROVAL_STATUS__APPROVAL_STATUS_EFFECTIVE)
            continue;
        if (!(err = ll_entry_load_body(p->txn, tgt, &tb))) {
            ll_loop_effect(st, tgt, tb);
            loopledger__v1__entry_body__free_unpacked(tb, NULL);
        }
    }
    if (b)
        loopledger__v1__entry_body__free_unpacked(b, NULL);
    return err;
}

static int replay_cb(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    replay_t *p = ctx;
    uint64_t seq = ll_get_be64(key + klen - 8);
    if (seq >= p->n)
        return 1;
    if (vlen != 1)
        return p->err = LL_ERR_CORRUPT;
    return (p->err = replay_one(p, seq, val[0])) ? p->err : 0;
}

static void replay_free(replay_t *p)
{
    for (int i = 0; i < LL_OPEN__COUNT; i++)
        free(p->open[i].v);
}

static int replay_run(ll_txn_t *txn, const char *ini, uint64_t n, replay_t *p)
{
    uint8_t prefix[2 + LL_ID_SIZE];
    size_t il = strlen(ini);
    int err;
    memset(p, 0, sizeof *p);
    p->txn = txn;
    p->ini = ini;
    p->n = n;
    if (il == 0 || il > LL_MAX_ID_LEN)
        return LL_ERR_INVALID;
    prefix[0] = LL_IX_INITIATIVE;
    memcpy(prefix + 1, ini, il + 1);
    err = ll_store_scan(txn, LL_TBL_INDEX, prefix, il + 2, NULL, 0, 0, replay_cb, p);
    if (!err)
        err = p->err;
    if (!err && !p->have)
        err = LL_ERR_NOT_FOUND;
    return err;
}

int ll_initiative_state_as_of(ll_txn_t *txn, const char *initiative, uint64_t n, ll_loop_state_t *out)
{
    replay_t p;
    int err = replay_run(txn, initiative, n, &p);
    if (!err)
        *out = p.st;
    replay_free(&p);
    return err;
}

/* ---- GetInitiative as of n ---- */

typedef struct kind_ctx {
    ll_txn_t *txn;
    ll_arena_t *a;
    uint64_t n;
    size_t count, limit;
    int64_t last[LOOPLEDGER__V1__CADENCE__CADENCE_POST_CAMPAIGN + 1];
    Loopledger__V1__ScalingReadiness **plans;
    int err;
} kind_ctx_t;

static int reviews_cb(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    kind_ctx_t *c = ctx;
    uint64_t seq = ll_get_be64(key + klen - 8);
    Loopledger__V1__EntryBody *b;
    ll_entry_meta_t m;
    (void)val;
    (void)vlen;
    if (seq >= c->n)
        return 1;
    if ((c->err = ll_index_meta(c->txn, seq, &m)) || (c->err = ll_entry_load_body(c->txn, seq, &b)))
        return c->err;
    int cd = b->review->cadence;
    if (cd > 0 && cd <= LOOPLEDGER__V1__CADENCE__CADENCE_POST_CAMPAIGN)
        c->last[cd] = m.time_ns; /* ascending: the last one wins */
    loopledger__v1__entry_body__free_unpacked(b, NULL);
    return 0;
}

static int asof_plans_cb(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    kind_ctx_t *c = ctx;
    uint64_t seq = ll_get_be64(key + klen - 8);
    Loopledger__V1__EntryBody *b;
    (void)val;
    (void)vlen;
    if (c->count == c->limit)
        return 1;
    int sup = ll_asof_superseded(c->txn, seq, c->n, NULL);
    if (sup)
        return sup < 0 ? (c->err = sup) : 0;
    Loopledger__V1__ScalingReadiness *r = ll_arena_alloc(c->a, sizeof *r);
    if (!r)
        return c->err = LL_ERR_NOMEM;
    loopledger__v1__scaling_readiness__init(r);
    if ((c->err = ll_asof_ref(c->txn, c->a, seq, c->n, &r->plan)) ||
        (c->err = ll_entry_load_body(c->txn, seq, &b)))
        return c->err;
    c->err = readiness(c->a, b->scaling_plan, r);
    loopledger__v1__entry_body__free_unpacked(b, NULL);
    if (c->err)
        return c->err;
    c->plans[c->count++] = r;
    return 0;
}

static size_t ini_kind_prefix(uint8_t *k, const char *ini, uint32_t kind)
{
    size_t il = strlen(ini) + 1;
    k[0] = LL_IX_INI_KIND;
    memcpy(k + 1, ini, il);
    k[1 + il] = (uint8_t)kind;
    return il + 2;
}

static int refs_of(ll_txn_t *txn, ll_arena_t *a, const ll_u64vec_t *s, size_t limit, uint64_t n,
                   Loopledger__V1__EntryRef ***refs, size_t *nrefs)
{
    size_t k = s->n < limit ? s->n : limit;
    int err;
    *refs = ll_arena_alloc(a, (k ? k : 1) * sizeof **refs);
    if (!*refs)
        return LL_ERR_NOMEM;
    for (size_t i = 0; i < k; i++)
        if ((err = ll_asof_ref(txn, a, s->v[i], n, &(*refs)[i])))
            return err;
    *nrefs = k;
    return LL_OK;
}

int ll_initiative_get_as_of(ll_txn_t *txn, ll_arena_t *a,
                       const Loopledger__V1__GetInitiativeRequest *r, int64_t now_ns,
                       Loopledger__V1__InitiativeState **out, char *msg, size_t cap)
{
    Loopledger__V1__EntryBody *charter = NULL;
    size_t limit = r->list_limit ? r->list_limit : 50;
    uint64_t n;
    int64_t t;
    replay_t p;
    int err;

    if (!r->initiative[0] || strlen(r->initiative) > LL_MAX_ID_LEN)
        LL_FAIL(LL_ERR_INVALID, "initiative is required (at most %d characters)", LL_MAX_ID_LEN);
    if (r->list_limit > 1000)
        LL_FAIL(LL_ERR_INVALID, "list_limit %u exceeds 1000", r->list_limit);
    if ((err = ll_asof_resolve(txn, r->as_of_size, &n, &t)))
        LL_FAIL(err, "as_of_size %llu is beyond the tree size %llu",
             (unsigned long long)r->as_of_size, (unsigned long long)ll_store_size(txn));
    if (!now_ns)
        now_ns = t;
    if ((err = replay_run(txn, r->initiative, n, &p))) {
        replay_free(&p);
        LL_FAIL(err, err == LL_ERR_NOT_FOUND ? "no initiative \"%s\" as of size %llu"
                                          : "initiative \"%s\" as of size %llu: %s",
             r->initiative, (unsigned long long)n, ll_strerror(err));
    }
    const ll_loop_state_t *st = &p.st;
    Loopledger__V1__InitiativeState *s = ll_arena_alloc(a, sizeof *s);
    if (!s) {
        err = LL_ERR_NOMEM;
        goto fail;
    }
    loopledger__v1__initiative_state__init(s);
    s->initiative = ll_arena_strdup(a, r->initiative);
    s->cycle = st->cycle;
    s->stage = (Loopledger__V1__Stage)st->stage;
    s->max_rollout_percent = st->max_rollout;
    s->entries = st->entries;
    s->phase = LOOPLEDGER__V1__PHASE__PHASE_PROPOSED;
    if (st->charter_seq != UINT64_MAX) {
        if ((err = ll_asof_ref(txn, a, st->charter_seq, n, &s->charter)) ||
            (err = ll_record_load(txn, st->charter_seq, &charter, NULL, NULL)))
            goto fail;
        s->title = ll_arena_strdup(a, charter->charter->title);
        s->application = charter->charter->application;
        s->phase = charter->charter->phase;
    }
    if (st->stage_seq != UINT64_MAX &&
        (err = ll_asof_ref(txn, a, st->stage_seq, n, &s->stage_entry)))
        goto fail;

    open_list_t lists[5];
    size_t nlists = open_lists(s, lists);
    for (size_t i = 0; i < nlists; i++) {
        *lists[i].count = st->open[lists[i].cat];
        if ((err = refs_of(txn, a, &p.open[lists[i].cat], limit, n, lists[i].refs, lists[i].n)))
            goto fail;
    }

    /* Reviews: the charter's cadences and every cadence used below n. */
    kind_ctx_t kc = {.txn = txn, .a = a, .n = n};
    uint8_t prefix[2 + LL_ID_SIZE + 1], from[2 + LL_ID_SIZE + 1 + 8];
    size_t pl = ini_kind_prefix(prefix, r->initiative, K(REVIEW));
    if ((err = ll_store_scan(txn, LL_TBL_INDEX, prefix, pl, NULL, 0, 0, reviews_cb, &kc)) ||
        (err = kc.err))
        goto fail;
    if ((err = overdue(a, s, charter ? charter->charter : NULL, kc.last,
                                st->created_ns, now_ns)))
        goto fail;

    /* The latest scaling plans in force as of n. */
    pl = ini_kind_prefix(prefix, r->initiative, K(SCALING_PLAN));
    memcpy(from, prefix, pl);
    ll_put_be64(from + pl, n - 1);
    kc.limit = 5;
    kc.plans = ll_arena_alloc(a, kc.limit * sizeof *kc.plans);
    if (!kc.plans) {
        err = LL_ERR_NOMEM;
        goto fail;
    }
    if ((err = ll_store_scan(txn, LL_TBL_INDEX, prefix, pl, from, pl + 8, 1, asof_plans_cb, &kc)) ||
        (err = kc.err))
        goto fail;
    s->scaling_plans = kc.plans;
    s->n_scaling_plans = kc.count;

    if (charter)
        loopledger__v1__entry_body__free_unpacked(charter, NULL);
    replay_free(&p);
    if (a->failed)
        return LL_ERR_NOMEM;
    *out = s;
    return LL_OK;
fail:
    if (charter)
        loopledger__v1__entry_body__free_unpacked(charter, NULL);
    replay_free(&p);
    LL_FAIL(err, "initiative \"%s\" as of size %llu: %s", r->initiative, (unsigned long long)n,
         ll_strerror(err));
}
