/*
 * ll_roadmap: evidence-weighted RICE ranking (ll_roadmap.h has the
 * formula).
 *
 * Why evaluate every matching project per call instead of keeping scores
 * in an index: confidence depends on the as-of time (decay), the
 * half-life, later supersessions and later refutations, all of which the
 * caller may vary; a stored score would be wrong for every other request.
 * Instead each call memoises what projects share (a finding's class and
 * links, an experiment's readout, a hypothesis' refuters), so the cost is
 * one read per distinct entry in the evidence graph below as_of_size.
 */
#include "ll_roadmap.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ll_asof.h"
#include "ll_err.h"
#include "ll_loop.h"
#include "ll_experiment.h"
#include "ll_readout.h"
#include "ll_record.h"
#include "ll_scratch.h"
#include "ll_u64vec.h"

#define K(x) LOOPLEDGER__V1__ENTRY_BODY__KIND_##x
#define R(x) LOOPLEDGER__V1__RELATION__##x
#define NS_PER_DAY 86400e9
#define NONE UINT64_MAX

double ll_roadmap_experiment_weight(double p)
{
    if (p < 0.01)
        return LL_ROADMAP_W_EXPERIMENT_P01;
    if (p < 0.05)
        return LL_ROADMAP_W_EXPERIMENT_P05;
    if (p < 0.10)
        return LL_ROADMAP_W_EXPERIMENT_P10;
    return LL_ROADMAP_W_EXPERIMENT_NS;
}

/* ---- per-call memo ---- */

/* seq -> index, open addressing; UINT64_MAX keys are empty slots. */
typedef struct seqmap {
    uint64_t *keys;
    uint32_t *vals;
    size_t cap, n;
} seqmap_t;

static int map_grow(seqmap_t *m)
{
    size_t ncap = m->cap ? 2 * m->cap : 1024;
    uint64_t *k = malloc(ncap * sizeof *k);
    uint32_t *v = malloc(ncap * sizeof *v);
    if (!k || !v) {
        free(k);
        free(v);
        return LL_ERR_NOMEM;
    }
    memset(k, 0xff, ncap * sizeof *k);
    for (size_t i = 0; i < m->cap; i++) {
        if (m->keys[i] == NONE)
            continue;
        size_t j = (size_t)(m->keys[i] * 0x9e3779b97f4a7c15ull) & (ncap - 1);
        while (k[j] != NONE)
            j = (j + 1) & (ncap - 1);
        k[j] = m->keys[i];
        v[j] = m->vals[i];
    }
    free(m->keys);
    free(m->vals);
    m->keys = k;
    m->vals = v;
    m->cap = ncap;
    return LL_OK;
}

/* *slot receives the value slot for key; returns 1 if it was present. */
static int map_slot(seqmap_t *m, uint64_t key, uint32_t **slot, int *err)
{
    *err = LL_OK;
    if (2 * (m->n + 1) > m->cap && (*err = map_grow(m)))
        return 0;
    size_t j = (size_t)(key * 0x9e3779b97f4a7c15ull) & (m->cap - 1);
    while (m->keys[j] != NONE && m->keys[j] != key)
        j = (j + 1) & (m->cap - 1);
    *slot = &m->vals[j];
    if (m->keys[j] == key)
        return 1;
    m->keys[j] = key;
    m->n++;
    return 0;
}

static void map_free(seqmap_t *m)
{
    free(m->keys);
    free(m->vals);
}

/* A finding, evaluated once per call. Its derived-from findings, supported
 * hypotheses and readout measurements are runs in the pool. */
typedef struct fnode {
    uint64_t seq, superseded_by, exp_seq;
    int64_t time_ns;
    double weight, p;
    int cls, source, is_finding;
    int verdict;      /* of exp_seq's readout */
    const char *note; /* why an experiment counts as observational (static) */
    uint32_t derived_off, n_derived, supports_off, n_supports, meas_off, n_meas;
} fnode_t;

/* An experiment's readout summary. */
typedef struct xnode {
    double p; /* NAN: no test */
    int verdict;
    const char *demoted; /* untrustworthy / underpowered: why (static), else NULL */
    uint32_t meas_off, n_meas;
} xnode_t;

typedef struct ctx {
    ll_txn_t *txn;
    uint64_t n;
    int64_t t;
    double half_life;
    seqmap_t fmap, xmap, hmap;
    fnode_t *f;
    size_t nf, capf;
    xnode_t *x;
    size_t nx, capx;
    ll_u64vec_t pool;
    ll_asof_sups_t *sups; /* supersessions below n */
    ll_scratch_t scratch; /* bodies read while one project is evaluated */
    /* hypothesis -> run of refuting finding seqs in pool (off, n) */
    uint32_t (*h)[2];
    size_t nh, caph;
} ctx_t;

typedef struct item {
    uint32_t node;
    int role; /* EvidenceRole */
    uint64_t hypothesis;
} item_t;

/* One project's evaluation. */
typedef struct eval {
    item_t items[LL_ROADMAP_MAX_EVIDENCE];
    size_t n;
    double evidence_weight, penalty, decay, confidence;
    int speculative;
} eval_t;

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return LL_OK;
    size_t ncap = *cap ? 2 * *cap : 256;
    while (ncap < need)
        ncap *= 2;
    void *q = realloc(*p, ncap * elem);
    if (!q)
        return LL_ERR_NOMEM;
    *p = q;
    *cap = ncap;
    return LL_OK;
}

typedef struct refute_ctx {
    ctx_t *c;
    int err;
} refute_ctx_t;

static int meas_to_pool(ctx_t *c, const ll_readout_t *r, uint32_t *off, uint32_t *n)
{
    *off = (uint32_t)c->pool.n;
    for (size_t i = 0; i < r->n_meas; i++)
        if (ll_u64vec_push(&c->pool, r->meas[i]))
            return LL_ERR_NOMEM;
    *n = (uint32_t)r->n_meas;
    return LL_OK;
}

/* Index of experiment seq's readout node. */
static int experiment(ctx_t *c, uint64_t seq, uint32_t *idx)
{
    uint32_t *slot;
    int err;
    if (map_slot(&c->xmap, seq, &slot, &err)) {
        *idx = *slot;
        return LL_OK;
    }
    if (err || (err = grow((void **)&c->x, &c->capx, c->nx + 1, sizeof *c->x)))
        return err;
    xnode_t *x = &c->x[c->nx];
    ll_readout_t r;
    memset(x, 0, sizeof *x);
    x->p = NAN;
    err = ll_experiment_readout(c->txn, seq, c->n, NULL, c->sups, &c->scratch, 0, &r);
    if (err == LL_OK) {
        x->p = r.min_p;
        x->verdict = r.verdict;
        if (r.verdict == LOOPLEDGER__V1__VERDICT__VERDICT_UNTRUSTWORTHY)
            x->demoted = "sample ratio mismatch: the experiment is untrustworthy, counted as observational";
        else if (r.underpowered)
            x->demoted = "ended short of its planned sample (underpowered), counted as observational";
        err = meas_to_pool(c, &r, &x->meas_off, &x->n_meas);
        ll_readout_free(&r);
    } else if (err == LL_ERR_NOT_FOUND) {
        err = LL_OK;
    }
    if (err)
        return err;
    *slot = (uint32_t)c->nx;
    *idx = (uint32_t)c->nx++;
    return LL_OK;
}

/* Index of finding seq's node (evaluated on first use). A seq that is not
 * a Finding gets a node with is_finding = 0. */
static int finding(ctx_t *c, uint64_t seq, uint32_t *idx)
{
    uint32_t *slot;
    int err;
    if (map_slot(&c->fmap, seq, &slot, &err)) {
        *idx = *slot;
        return LL_OK;
    }
    if (err || (err = grow((void **)&c->f, &c->capf, c->nf + 1, sizeof *c->f)))
        return err;
    uint32_t me = (uint32_t)c->nf++;
    *slot = me;
    fnode_t *f = &c->f[me];
    memset(f, 0, sizeof *f);
    f->seq = seq;
    f->superseded_by = NONE;
    f->exp_seq = NONE;
    f->p = NAN;
    Loopledger__V1__EntryBody *b;
    int64_t t;
    if (seq >= c->n)
        return LL_ERR_CORRUPT; /* links point backwards */
    /* Scratch: what the node needs is copied out of the body below. */
    if ((err = ll_asof_load_body(c->txn, seq, &b, &t, &c->scratch.pb)))
        return err;
    if (b->kind_case != K(FINDING)) {
        *idx = me;
        return LL_OK;
    }
    f = &c->f[me];
    f->is_finding = 1;
    f->time_ns = t;
    f->source = b->finding->source;
    (void)ll_asof_sups_get(c->sups, seq, &f->superseded_by); /* sets it only when superseded */
    /* Links: derived-from findings, supported hypotheses, concluded
     * experiments (the most significant readout wins). */
    f->derived_off = (uint32_t)c->pool.n;
    for (size_t i = 0; i < b->n_links; i++)
        if (b->links[i]->relation == R(DERIVED_FROM) && (err = ll_u64vec_push(&c->pool, b->links[i]->target_seq)))
            goto out;
    f->n_derived = (uint32_t)(c->pool.n - f->derived_off);
    f->supports_off = (uint32_t)c->pool.n;
    for (size_t i = 0; i < b->n_links; i++)
        if (b->links[i]->relation == R(SUPPORTS) && (err = ll_u64vec_push(&c->pool, b->links[i]->target_seq)))
            goto out;
    f->n_supports = (uint32_t)(c->pool.n - f->supports_off);
    double best = NAN;
    uint64_t best_exp = NONE;
    uint32_t best_x = 0;
    for (size_t i = 0; i < b->n_links; i++) {
        uint64_t e = b->links[i]->target_seq;
        uint32_t xi;
        if (b->links[i]->relation != R(CONCLUDES))
            continue;
        if (ll_asof_sups_get(c->sups, e, NULL))
            continue;
        if ((err = experiment(c, e, &xi)))
            goto out;
        double p = c->x[xi].p;
        if (!isnan(p) && (isnan(best) || p < best)) {
            best = p;
            best_exp = e;
            best_x = xi;
        }
    }
    f = &c->f[me];
    if (best_exp != NONE && c->x[best_x].demoted) {
        /* The readout cannot carry experiment-class weight (ll_plan.h). */
        f->cls = LOOPLEDGER__V1__EVIDENCE_CLASS__EVIDENCE_CLASS_OBSERVATIONAL;
        f->weight = LL_ROADMAP_W_OBSERVATIONAL;
        f->p = best;
        f->exp_seq = best_exp;
        f->verdict = c->x[best_x].verdict;
        f->note = c->x[best_x].demoted;
        f->meas_off = c->x[best_x].meas_off;
        f->n_meas = c->x[best_x].n_meas;
    } else if (best_exp != NONE) {
        f->cls = LOOPLEDGER__V1__EVIDENCE_CLASS__EVIDENCE_CLASS_EXPERIMENT;
        f->weight = ll_roadmap_experiment_weight(best);
        f->p = best;
        f->exp_seq = best_exp;
        f->verdict = c->x[best_x].verdict;
        f->meas_off = c->x[best_x].meas_off;
        f->n_meas = c->x[best_x].n_meas;
    } else if (b->finding->evidence == LOOPLEDGER__V1__EVIDENCE__EVIDENCE_QUANTITATIVE) {
        f->cls = LOOPLEDGER__V1__EVIDENCE_CLASS__EVIDENCE_CLASS_OBSERVATIONAL;
        f->weight = LL_ROADMAP_W_OBSERVATIONAL;
    } else {
        f->cls = LOOPLEDGER__V1__EVIDENCE_CLASS__EVIDENCE_CLASS_QUALITATIVE;
        f->weight = LL_ROADMAP_W_QUALITATIVE;
    }
    *idx = me;
out:
    return err;
}

static int refute_cb(void *vctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    refute_ctx_t *rc = vctx;
    uint64_t src = ll_get_be64(key + klen - 8);
    (void)val;
    (void)vlen;
    if (src >= rc->c->n)
        return 1;
    return (rc->err = ll_u64vec_push(&rc->c->pool, src)) ? rc->err : 0;
}

/* Run (off, n) in the pool of the sources that REFUTE hypothesis h below
 * the as-of size; empty when h is superseded. */
static int refuters(ctx_t *c, uint64_t h, uint32_t *off, uint32_t *n)
{
    uint32_t *slot;
    int err;
    if (map_slot(&c->hmap, h, &slot, &err)) {
        *off = c->h[*slot][0];
        *n = c->h[*slot][1];
        return LL_OK;
    }
    if (err || (err = grow((void **)&c->h, &c->caph, c->nh + 1, sizeof *c->h)))
        return err;
    uint32_t me = (uint32_t)c->nh++;
    *slot = me;
    c->h[me][0] = (uint32_t)c->pool.n;
    c->h[me][1] = 0;
    if (!ll_asof_sups_get(c->sups, h, NULL)) {
        uint8_t prefix[10] = {LL_IX_LINK_IN};
        refute_ctx_t rc = {.c = c};
        ll_put_be64(prefix + 1, h);
        prefix[9] = R(REFUTES);
        if ((err = ll_store_scan(c->txn, LL_TBL_INDEX, prefix, sizeof prefix, NULL, 0, 0,
                                 refute_cb, &rc)) ||
            (err = rc.err))
            return err;
        c->h[me][1] = (uint32_t)(c->pool.n - c->h[me][0]);
    }
    *off = c->h[me][0];
    *n = c->h[me][1];
    return LL_OK;
}

/* ---- one project ---- */

static int has_node(const eval_t *e, uint32_t node)
{
    for (size_t i = 0; i < e->n; i++)
        if (e->items[i].node == node)
            return 1;
    return 0;
}

static int add_item(eval_t *e, uint32_t node, int role, uint64_t h)
{
    if (e->n == LL_ROADMAP_MAX_EVIDENCE)
        return 0;
    e->items[e->n].node = node;
    e->items[e->n].role = role;
    e->items[e->n].hypothesis = h;
    e->n++;
    return 1;
}

static double decay_of(double age_days, double half_life)
{
    return pow(0.5, (age_days > 0 ? age_days : 0) / half_life);
}

void ll_roadmap_combine(const ll_roadmap_ev_t *ev, size_t n, double half_life,
                        ll_roadmap_conf_t *out)
{
    double keep_s = 1, keep_r = 1, wsum = 0, wdsum = 0;
    int counted = 0;
    for (size_t i = 0; i < n; i++) {
        double ci = ev[i].superseded ? 0 : ev[i].weight * decay_of(ev[i].age_days, half_life);
        if (ev[i].refutes) {
            keep_r *= 1 - ci;
        } else {
            keep_s *= 1 - ci;
            if (!ev[i].superseded) {
                counted++;
                wsum += ev[i].weight;
                wdsum += ci;
            }
        }
    }
    out->speculative = counted == 0;
    out->evidence_weight = 1 - keep_s;
    out->penalty = out->speculative ? 0 : 1 - keep_r;
    out->decay = wsum > 0 ? wdsum / wsum : 1;
    out->confidence = out->speculative
                          ? LL_ROADMAP_SPECULATIVE_CAP
                          : (LL_ROADMAP_SPECULATIVE_CAP +
                             (1 - LL_ROADMAP_SPECULATIVE_CAP) * out->evidence_weight) *
                                (1 - out->penalty);
}

#define SUPPORTS LOOPLEDGER__V1__EVIDENCE_ROLE__EVIDENCE_ROLE_SUPPORTS
#define REFUTES LOOPLEDGER__V1__EVIDENCE_ROLE__EVIDENCE_ROLE_REFUTES

static int evaluate(ctx_t *c, const Loopledger__V1__EntryBody *b, eval_t *e)
{
    int err;
    e->n = 0;
    /* Supporting findings: breadth-first from SPAWNED_BY, by depth. */
    for (size_t i = 0; i < b->n_links; i++) {
        uint32_t node;
        if (b->links[i]->relation != R(SPAWNED_BY))
            continue;
        if ((err = finding(c, b->links[i]->target_seq, &node)))
            return err;
        if (c->f[node].is_finding && !has_node(e, node))
            add_item(e, node, SUPPORTS, 0);
    }
    size_t level_start = 0;
    for (int depth = 0; depth < LL_ROADMAP_MAX_DEPTH && level_start < e->n; depth++) {
        size_t level_end = e->n;
        for (size_t i = level_start; i < level_end; i++) {
            const fnode_t *f = &c->f[e->items[i].node];
            if (f->superseded_by != NONE)
                continue; /* what only a superseded finding rests on does not count */
            uint32_t off = f->derived_off, nd = f->n_derived;
            for (uint32_t j = 0; j < nd; j++) {
                uint32_t node;
                if ((err = finding(c, c->pool.v[off + j], &node)))
                    return err;
                if (c->f[node].is_finding && !has_node(e, node))
                    add_item(e, node, SUPPORTS, 0);
            }
        }
        level_start = level_end;
    }
    /* Refuting findings of the hypotheses the counting support supports. */
    size_t n_support = e->n;
    for (size_t i = 0; i < n_support; i++) {
        const fnode_t *f = &c->f[e->items[i].node];
        if (f->superseded_by != NONE)
            continue;
        uint32_t soff = f->supports_off, ns = f->n_supports;
        for (uint32_t j = 0; j < ns; j++) {
            uint64_t h = c->pool.v[soff + j];
            uint32_t roff, nr;
            if ((err = refuters(c, h, &roff, &nr)))
                return err;
            for (uint32_t k = 0; k < nr; k++) {
                uint32_t node;
                if ((err = finding(c, c->pool.v[roff + k], &node)))
                    return err;
                if (c->f[node].is_finding && !has_node(e, node))
                    add_item(e, node, REFUTES, h);
            }
        }
    }
    /* Combine. */
    ll_roadmap_ev_t ev[LL_ROADMAP_MAX_EVIDENCE];
    for (size_t i = 0; i < e->n; i++) {
        const fnode_t *f = &c->f[e->items[i].node];
        ev[i].refutes = e->items[i].role == REFUTES;
        ev[i].superseded = f->superseded_by != NONE;
        ev[i].weight = f->weight;
        ev[i].age_days = (double)(c->t - f->time_ns) / NS_PER_DAY;
    }
    ll_roadmap_conf_t r;
    ll_roadmap_combine(ev, e->n, c->half_life, &r);
    e->speculative = r.speculative;
    e->evidence_weight = r.evidence_weight;
    e->penalty = r.penalty;
    e->decay = r.decay;
    e->confidence = r.confidence;
    return LL_OK;
}

static double score_of(const Loopledger__V1__RoadmapProject *p, double confidence)
{
    double s = p->reach * p->impact * confidence / p->effort;
    return isnan(s) ? 0 : s;
}

/* ---- Prioritize ---- */

/* evaluate() for project entry seq whose effective record is b: a
 * project updated by later entries (ll_record.h) rests on what any entry
 * of its record was SPAWNED_BY, so the links of its earlier entries count
 * with b's own. */
static int evaluate_record(ctx_t *c, uint64_t seq, const Loopledger__V1__EntryBody *b, eval_t *e)
{
    Loopledger__V1__Link *own = NULL, **links = NULL;
    size_t n = 0, cap = 0;
    uint64_t at = seq;
    int err = LL_OK;
    const Loopledger__V1__EntryBody *cur = b;
    Loopledger__V1__EntryBody *prev = NULL;
    for (;;) {
        uint64_t next = NONE;
        for (size_t i = 0; i < cur->n_links; i++) {
            const Loopledger__V1__Link *l = cur->links[i];
            if (l->relation == R(FOLLOWS) && l->target_seq < at)
                next = l->target_seq;
            if (l->relation != R(SPAWNED_BY))
                continue;
            if (n == cap) {
                size_t nc = cap ? 2 * cap : 8;
                Loopledger__V1__Link *no = realloc(own, nc * sizeof *no);
                if (!no) {
                    err = LL_ERR_NOMEM;
                    goto out;
                }
                own = no;
                cap = nc;
            }
            own[n++] = *l;
        }
        if (prev)
            loopledger__v1__entry_body__free_unpacked(prev, NULL);
        prev = NULL;
        if (next == NONE)
            break;
        if ((err = ll_entry_load_body_fast(c->txn, next, &prev, NULL, NULL)))
            goto out;
        if (prev->kind_case != K(ROADMAP_PROJECT))
            break;
        cur = prev;
        at = next;
    }
    if (!(links = malloc((n ? n : 1) * sizeof *links))) {
        err = LL_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        links[i] = &own[i];
    Loopledger__V1__EntryBody view = *b;
    view.n_links = n;
    view.links = links;
    err = evaluate(c, &view, e);
out:
    if (prev)
        loopledger__v1__entry_body__free_unpacked(prev, NULL);
    free(links);
    free(own);
    return err;
}

typedef struct ranked {
    uint64_t seq;
    double score;
} ranked_t;

typedef struct scan_ctx {
    ctx_t *c;
    const Loopledger__V1__PrioritizeRequest *r;
    ranked_t *v;
    size_t n, cap;
    eval_t *e;
    int err;
} scan_ctx_t;

static int project_cb(void *vctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    scan_ctx_t *s = vctx;
    ctx_t *c = s->c;
    uint64_t seq = ll_get_be64(key + klen - 8);
    Loopledger__V1__EntryBody *b;
    (void)val;
    (void)vlen;
    if (seq >= c->n)
        return 1;
    if (ll_asof_sups_get(c->sups, seq, NULL))
        return 0;
    /* A project is ranked once, as its record's latest entry below n. */
    uint64_t by;
    if ((s->err = ll_record_followed_by(c->txn, seq, c->n, &by)) == LL_OK)
        return 0;
    if (s->err != LL_ERR_NOT_FOUND)
        return s->err;
    s->err = LL_OK;
    ll_scratch_reset(&c->scratch); /* no body of the previous project is alive */
    if ((s->err = ll_record_load(c->txn, seq, &b, NULL, &c->scratch.pb)))
        return s->err;
    const Loopledger__V1__RoadmapProject *p = b->roadmap_project;
    if ((s->r->application && p->application != s->r->application) ||
        (s->r->status && p->status != s->r->status))
        return 0;
    s->err = evaluate_record(c, seq, b, s->e);
    if (!s->err && !(s->err = grow((void **)&s->v, &s->cap, s->n + 1, sizeof *s->v))) {
        s->v[s->n].seq = seq;
        s->v[s->n].score = score_of(p, s->e->confidence);
        s->n++;
    }
    return s->err ? s->err : 0;
}

static int cmp_ranked(const void *x, const void *y)
{
    const ranked_t *a = x, *b = y;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    return (a->seq > b->seq) - (a->seq < b->seq);
}

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return (a > b) - (a < b);
}

/* The RankedProject for one project of the page. */
static int explain(ctx_t *c, ll_arena_t *a, uint64_t seq, uint32_t rank, eval_t *e,
                   Loopledger__V1__RankedProject **out)
{
    Loopledger__V1__EntryBody *b;
    int err;
    Loopledger__V1__RankedProject *rp = ll_arena_alloc(a, sizeof *rp);
    if (!rp)
        return LL_ERR_NOMEM;
    loopledger__v1__ranked_project__init(rp);
    if ((err = ll_record_load(c->txn, seq, &b, NULL, NULL)))
        return err;
    if ((err = evaluate_record(c, seq, b, e)) ||
        (err = ll_asof_ref(c->txn, a, seq, c->n, &rp->project)))
        goto out;
    const Loopledger__V1__RoadmapProject *p = b->roadmap_project;
    rp->rank = rank;
    rp->title = ll_arena_strdup(a, p->title);
    rp->application = p->application;
    rp->status = p->status;
    rp->reach = p->reach;
    rp->impact = p->impact;
    rp->effort = p->effort;
    rp->confidence = e->confidence;
    rp->score = score_of(p, e->confidence);
    rp->evidence_weight = e->evidence_weight;
    rp->decay = e->decay;
    rp->refutation_penalty = e->penalty;
    rp->speculative = e->speculative;
    rp->speculative_cap = LL_ROADMAP_SPECULATIVE_CAP;
    rp->evidence = ll_arena_alloc(a, (e->n ? e->n : 1) * sizeof *rp->evidence);
    /* Seqs: every counting finding, its experiment and the measurements. */
    size_t ns = 0, caps = 0;
    for (size_t i = 0; i < e->n; i++)
        caps += 2 + c->f[e->items[i].node].n_meas;
    uint64_t *seqs = ll_arena_alloc(a, (caps ? caps : 1) * sizeof *seqs);
    if (!rp->evidence || !seqs) {
        err = LL_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < e->n; i++) {
        const fnode_t *f = &c->f[e->items[i].node];
        Loopledger__V1__EvidenceItem *it = ll_arena_alloc(a, sizeof *it);
        if (!it) {
            err = LL_ERR_NOMEM;
            goto out;
        }
        loopledger__v1__evidence_item__init(it);
        it->seq = f->seq;
        it->role = (Loopledger__V1__EvidenceRole)e->items[i].role;
        it->class_ = (Loopledger__V1__EvidenceClass)f->cls;
        it->source = (Loopledger__V1__FindingSource)f->source;
        it->weight = f->weight;
        it->age_days = (double)(c->t - f->time_ns) / NS_PER_DAY;
        if (it->age_days < 0)
            it->age_days = 0;
        it->decay = decay_of(it->age_days, c->half_life);
        it->contribution = f->superseded_by != NONE ? 0 : f->weight * it->decay;
        it->hypothesis_seq = e->items[i].hypothesis;
        if (f->exp_seq != NONE) {
            it->experiment_seq = f->exp_seq;
            it->p_value = f->p;
            it->verdict = (Loopledger__V1__Verdict)f->verdict;
        }
        it->note = ll_arena_strdup(a, f->note ? f->note : "");
        if (f->superseded_by != NONE) {
            it->superseded = 1;
            it->superseded_by = f->superseded_by;
        } else {
            seqs[ns++] = f->seq;
            if (f->exp_seq != NONE)
                seqs[ns++] = f->exp_seq;
            for (uint32_t j = 0; j < f->n_meas; j++)
                seqs[ns++] = c->pool.v[f->meas_off + j];
        }
        rp->evidence[rp->n_evidence++] = it;
    }
    qsort(seqs, ns, sizeof *seqs, cmp_u64);
    size_t u = 0;
    for (size_t i = 0; i < ns; i++)
        if (!u || seqs[u - 1] != seqs[i])
            seqs[u++] = seqs[i];
    rp->evidence_seqs = seqs;
    rp->n_evidence_seqs = u;
    *out = rp;
out:
    loopledger__v1__entry_body__free_unpacked(b, NULL);
    return err;
}

static void ctx_free(ctx_t *c)
{
    map_free(&c->fmap);
    map_free(&c->xmap);
    map_free(&c->hmap);
    free(c->f);
    free(c->x);
    free(c->h);
    free(c->pool.v);
    ll_asof_sups_free(c->sups);
    ll_scratch_free(&c->scratch);
}

int ll_roadmap_prioritize_live(ll_txn_t *txn, ll_arena_t *a,
                               const Loopledger__V1__PrioritizeRequest *r,
                               Loopledger__V1__PrioritizeResponse **out, char *msg, size_t cap)
{
    uint64_t as_of = r->as_of_size, offset = 0;
    double half = r->half_life_days;
    size_t page = r->page_size ? r->page_size : 50;
    int err;

    if (r->page_size > 1000)
        LL_FAIL(LL_ERR_INVALID, "page_size %u exceeds 1000", r->page_size);
    if (strlen(r->initiative) > LL_MAX_ID_LEN)
        LL_FAIL(LL_ERR_INVALID, "initiative is at most %d characters", LL_MAX_ID_LEN);
    if (r->application && !protobuf_c_enum_descriptor_get_value(
                              &loopledger__v1__application__descriptor, r->application))
        LL_FAIL(LL_ERR_INVALID, "unknown application %d", r->application);
    if (r->status && !protobuf_c_enum_descriptor_get_value(
                         &loopledger__v1__project_status__descriptor, r->status))
        LL_FAIL(LL_ERR_INVALID, "unknown status %d", r->status);
    if (r->page_token[0]) {
        /* as_of:offset:half_life, so later pages rank the same state. */
        unsigned long long t_as_of, t_off;
        int used = 0;
        if (sscanf(r->page_token, "%llu:%llu:%lf%n", &t_as_of, &t_off, &half, &used) != 3 ||
            (size_t)used != strlen(r->page_token) || t_as_of == 0)
            LL_FAIL(LL_ERR_INVALID, "page_token is not one this server issued");
        as_of = t_as_of;
        offset = t_off;
    }
    if (half == 0)
        half = LL_ROADMAP_DEFAULT_HALF_LIFE_DAYS;
    if (!(half > 0) || half > LL_ROADMAP_MAX_HALF_LIFE_DAYS)
        LL_FAIL(LL_ERR_INVALID, "half_life_days must be in (0, %g], got %g",
             LL_ROADMAP_MAX_HALF_LIFE_DAYS, half);

    ctx_t c = {.txn = txn, .half_life = half};
    ll_scratch_init(&c.scratch);
    if ((err = ll_asof_resolve(txn, as_of, &c.n, &c.t)))
        LL_FAIL(err, "as_of_size %" PRIu64 " is beyond the tree size %" PRIu64, as_of,
             ll_store_size(txn));
    eval_t *e = malloc(sizeof *e);
    scan_ctx_t s = {.c = &c, .r = r, .e = e};
    if (e && (err = ll_asof_sups_load(txn, c.n, &c.sups)))
        goto out;
    Loopledger__V1__PrioritizeResponse *resp = ll_arena_alloc(a, sizeof *resp);
    if (!e || !resp) {
        err = LL_ERR_NOMEM;
        goto out;
    }
    loopledger__v1__prioritize_response__init(resp);

    /* The projects: by initiative and kind, or by kind alone. */
    uint8_t prefix[2 + LL_ID_SIZE + 1];
    size_t pl;
    if (r->initiative[0]) {
        pl = strlen(r->initiative) + 1;
        prefix[0] = LL_IX_INI_KIND;
        memcpy(prefix + 1, r->initiative, pl);
        prefix[1 + pl] = (uint8_t)K(ROADMAP_PROJECT);
        pl += 2;
    } else {
        prefix[0] = LL_IX_KIND;
        prefix[1] = (uint8_t)K(ROADMAP_PROJECT);
        pl = 2;
    }
    if ((err = ll_store_scan(txn, LL_TBL_INDEX, prefix, pl, NULL, 0, 0, project_cb, &s)) ||
        (err = s.err))
        goto out;
    if (s.n)
        qsort(s.v, s.n, sizeof *s.v, cmp_ranked);

    resp->as_of_size = c.n;
    resp->as_of_unix_nanos = c.t;
    resp->half_life_days = half;
    resp->total = s.n;
    size_t first = offset < s.n ? (size_t)offset : s.n;
    size_t count = s.n - first < page ? s.n - first : page;
    resp->projects = ll_arena_alloc(a, (count ? count : 1) * sizeof *resp->projects);
    if (!resp->projects) {
        err = LL_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < count; i++)
        if ((err = explain(&c, a, s.v[first + i].seq, (uint32_t)(first + i + 1), e,
                           &resp->projects[resp->n_projects++])))
            goto out;
    if (first + count < s.n) {
        char tok[80];
        snprintf(tok, sizeof tok, "%" PRIu64 ":%zu:%.17g", c.n, first + count, half);
        resp->next_page_token = ll_arena_strdup(a, tok);
    } else {
        resp->next_page_token = (char *)"";
    }
    if (a->failed)
        err = LL_ERR_NOMEM;
    else
        *out = resp;
out:
    free(e);
    free(s.v);
    ctx_free(&c);
    if (err)
        LL_FAIL(err, "prioritize: %s", ll_strerror(err));
    return LL_OK;
}
