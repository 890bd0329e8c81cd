/*
 * ll_asof: initiative state and references as of a tree size (ll_asof.h).
 *
 * Why replay instead of snapshots of the state record: snapshots would
 * cost a write per entry forever to serve a rare governance question; the
 * replay reads only the initiative's own entries and their incoming links,
 * and it is checked against the live incremental state by the unit tests
 * (as of the latest size, both must give the same answer).
 */
#include "ll_asof.h"
#include "ll_gov.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ll_bytes.h"
#include "ll_err.h"
#include "ll_query.h"

#define K(x) LOOPLEDGER__V1__ENTRY_BODY__KIND_##x
#define R(x) LOOPLEDGER__V1__RELATION__##x
#define NS_PER_DAY (86400LL * 1000000000LL)

int ll_asof_resolve(ll_txn_t *txn, uint64_t as_of, uint64_t *n, int64_t *t)
{
    uint64_t size = ll_store_size(txn);
    ll_entry_meta_t m;
    int err;
    if (as_of > size)
        return LL_ERR_RANGE;
    *n = as_of ? as_of : size;
    if (t) {
        *t = 0;
        if (*n) {
            if ((err = ll_index_meta(txn, *n - 1, &m)))
                return err;
            *t = m.time_ns;
        }
    }
    return LL_OK;
}

int ll_asof_superseded(ll_txn_t *txn, uint64_t seq, uint64_t n, uint64_t *by)
{
    uint64_t b;
    int err = ll_index_superseded_by(txn, seq, &b);
    if (err == LL_ERR_NOT_FOUND)
        return 0;
    if (err)
        return err;
    if (b >= n)
        return 0;
    if (by)
        *by = b;
    return 1;
}

/* Finds length-delimited field `want` in msg[len]; also the varint field
 * `want_varint` (0 for none) into *vout. Returns 0 if the bytes field was
 * found. */
static int field(const uint8_t *msg, size_t len, uint32_t want, const uint8_t **out,
                 size_t *out_len, uint32_t want_varint, uint64_t *vout)
{
    const uint8_t *p = msg, *end = msg + len;
    int found = -1;
    while (p < end) {
        uint64_t tag, v;
        if (ll_get_varint(&p, end, &tag))
            return -1;
        switch (tag & 7) {
        case 0:
            if (ll_get_varint(&p, end, &v))
                return -1;
            if (want_varint && (tag >> 3) == want_varint && vout)
                *vout = v;
            break;
        case 1:
            if (end - p < 8)
                return -1;
            p += 8;
            break;
        case 2:
            if (ll_get_varint(&p, end, &v) || v > (uint64_t)(end - p))
                return -1;
            if ((tag >> 3) == want) {
                *out = p;
                *out_len = (size_t)v;
                /* Writers put fields in number order: nothing we want follows. */
                if (want_varint < want)
                    return 0;
                found = 0;
            }
            p += v;
            break;
        case 5:
            if (end - p < 4)
                return -1;
            p += 4;
            break;
        default: return -1;
        }
    }
    return found;
}

int ll_asof_load_body(ll_txn_t *txn, uint64_t seq, Loopledger__V1__EntryBody **out,
                      int64_t *time_ns, ProtobufCAllocator *alloc)
{
    const uint8_t *leaf, *env, *payload;
    size_t len, env_len, payload_len;
    uint64_t t = 0;
    int err;
    if ((err = ll_store_leaf(txn, seq, &leaf, &len)))
        return err;
    /* LogEntry: 2 server_time (varint), 3 envelope; Envelope: 1 payload. */
    if (field(leaf, len, 3, &env, &env_len, 2, &t) ||
        field(env, env_len, 1, &payload, &payload_len, 0, NULL))
        return LL_ERR_CORRUPT;
    *out = loopledger__v1__entry_body__unpack(alloc, payload_len, payload);
    if (!*out)
        return LL_ERR_CORRUPT;
    if (time_ns)
        *time_ns = (int64_t)t;
    return LL_OK;
}

struct ll_asof_sups {
    uint64_t *keys, *vals; /* open addressing; UINT64_MAX = empty */
    size_t cap, n;
    uint64_t below;
    int err;
};

static size_t sups_slot(const ll_asof_sups_t *s, uint64_t seq)
{
    size_t j = (size_t)(seq * 0x9e3779b97f4a7c15ull) & (s->cap - 1);
    while (s->keys[j] != UINT64_MAX && s->keys[j] != seq)
        j = (j + 1) & (s->cap - 1);
    return j;
}

static int sups_put(ll_asof_sups_t *s, uint64_t seq, uint64_t by)
{
    if (2 * (s->n + 1) > s->cap) {
        ll_asof_sups_t g = {.cap = s->cap ? 2 * s->cap : 256};
        g.keys = malloc(g.cap * sizeof *g.keys);
        g.vals = malloc(g.cap * sizeof *g.vals);
        if (!g.keys || !g.vals) {
            free(g.keys);
            free(g.vals);
            return LL_ERR_NOMEM;
        }
        memset(g.keys, 0xff, g.cap * sizeof *g.keys);
        for (size_t i = 0; i < s->cap; i++)
            if (s->keys[i] != UINT64_MAX) {
                size_t j = sups_slot(&g, s->keys[i]);
                g.keys[j] = s->keys[i];
                g.vals[j] = s->vals[i];
            }
        free(s->keys);
        free(s->vals);
        s->keys = g.keys;
        s->vals = g.vals;
        s->cap = g.cap;
    }
    size_t j = sups_slot(s, seq);
    s->keys[j] = seq;
    s->vals[j] = by;
    s->n++;
    return LL_OK;
}

static int sups_cb(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    ll_asof_sups_t *s = ctx;
    if (klen != 9 || vlen != 8)
        return s->err = LL_ERR_CORRUPT;
    uint64_t by = ll_get_be64(val);
    if (by >= s->below)
        return 0;
    return (s->err = sups_put(s, ll_get_be64(key + 1), by)) ? s->err : 0;
}

int ll_asof_sups_load(ll_txn_t *txn, uint64_t n, ll_asof_sups_t **out)
{
    ll_asof_sups_t *s = calloc(1, sizeof *s);
    uint8_t prefix[1] = {LL_IX_SUPERSEDED};
    int err;
    if (!s)
        return LL_ERR_NOMEM;
    s->below = n;
    if ((err = sups_put(s, UINT64_MAX - 1, 0))) { /* allocates; never a real seq */
        ll_asof_sups_free(s);
        return err;
    }
    err = ll_store_scan(txn, LL_TBL_INDEX, prefix, 1, NULL, 0, 0, sups_cb, s);
    if (err || (err = s->err)) {
        ll_asof_sups_free(s);
        return err;
    }
    *out = s;
    return LL_OK;
}

int ll_asof_sups_get(const ll_asof_sups_t *s, uint64_t seq, uint64_t *by)
{
    size_t j = sups_slot(s, seq);
    if (s->keys[j] != seq)
        return 0;
    if (by)
        *by = s->vals[j];
    return 1;
}

void ll_asof_sups_free(ll_asof_sups_t *s)
{
    if (!s)
        return;
    free(s->keys);
    free(s->vals);
    free(s);
}

int ll_asof_ref(ll_txn_t *txn, ll_arena_t *a, uint64_t seq, uint64_t n,
                Loopledger__V1__EntryRef **out)
{
    int err = ll_query_ref(txn, a, seq, out);
    if (!err && (*out)->superseded && (*out)->superseded_by >= n) {
        (*out)->superseded = 0;
        (*out)->superseded_by = 0;
    }
    if (!err)
        (*out)->status = (Loopledger__V1__ApprovalStatus)ll_gov_status_as_of(txn, seq, n);
    return err;
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
        if (rel == R(DECIDES) && m.kind == K(DECISION) && c->policy) {
            /* Under a policy: closed once effective or rejected as of n. */
            c->closed = ll_gov_status_as_of(c->txn, c->seq, c->n) !=
                        LOOPLEDGER__V1__APPROVAL_STATUS__APPROVAL_STATUS_PENDING;
        } else if (rel == R(DECIDES) && m.kind == K(DECISION)) {
            Loopledger__V1__EntryBody *b;
            if ((c->err = ll_entry_load_body(c->txn, src, &b)))
                return c->err;
            int o = b->decision->outcome;
            c->closed = o == LOOPLEDGER__V1__OUTCOME__OUTCOME_APPROVED ||
                        o == LOOPLEDGER__V1__OUTCOME__OUTCOME_REJECTED;
            loopledger__v1__entry_body__free_unpacked(b, NULL);
        }
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

/* Seqs per open category, in ascending order. */
typedef struct seqvec {
    uint64_t *v;
    size_t n, cap;
} seqvec_t;

static int vec_push(seqvec_t *s, uint64_t x)
{
    if (s->n == s->cap) {
        size_t ncap = s->cap ? 2 * s->cap : 16;
        uint64_t *p = realloc(s->v, ncap * sizeof *p);
        if (!p)
            return LL_ERR_NOMEM;
        s->v = p;
        s->cap = ncap;
    }
    s->v[s->n++] = x;
    return LL_OK;
}

typedef struct replay {
    ll_txn_t *txn;
    const char *ini;
    uint64_t n;
    int have;
    ll_loop_state_t st;
    seqvec_t open[LL_OPEN__COUNT];
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
    return vec_push(&p->open[cat], seq);
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
    /* The step reads the body of alerts and deployments only; the others
     * need no unpacking. */
    if (kind == K(ALERT) || kind == K(DEPLOYMENT)) {
        if ((err = ll_entry_load_body(p->txn, seq, &b)))
            return err;
    } else {
        stub.kind_case = (Loopledger__V1__EntryBody__KindCase)kind;
    }
    unsigned opens = ll_loop_step(st, seq, b ? b : &stub);
    if (b)
        loopledger__v1__entry_body__free_unpacked(b, NULL);
    for (int cat = 1; cat < LL_OPEN__COUNT && !err; cat++)
        if (opens & (1u << cat))
            err = open_if(p, cat, seq);
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

int ll_asof_state(ll_txn_t *txn, const char *initiative, uint64_t n, ll_loop_state_t *out)
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

static int plans_cb(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
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
    c->err = ll_query_readiness(c->a, b->scaling_plan, r);
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

static int refs_of(ll_txn_t *txn, ll_arena_t *a, const seqvec_t *s, size_t limit, uint64_t n,
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

int ll_asof_initiative(ll_txn_t *txn, ll_arena_t *a,
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
            (err = ll_entry_load_body(txn, st->charter_seq, &charter)))
            goto fail;
        s->title = ll_arena_strdup(a, charter->charter->title);
        s->application = charter->charter->application;
        s->phase = charter->charter->phase;
    }
    if (st->stage_seq != UINT64_MAX &&
        (err = ll_asof_ref(txn, a, st->stage_seq, n, &s->stage_entry)))
        goto fail;

    ll_query_open_list_t lists[5];
    size_t nlists = ll_query_open_lists(s, lists);
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
    if ((err = ll_query_overdue(a, s, charter ? charter->charter : NULL, kc.last,
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
    if ((err = ll_store_scan(txn, LL_TBL_INDEX, prefix, pl, from, pl + 8, 1, plans_cb, &kc)) ||
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
