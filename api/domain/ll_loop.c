/*
 * ll_loop: entry-kind checks, the link table, loop rules and indexes
 * (ll_loop.h).
 *
 * Why indexes are maintained incrementally instead of derived per query:
 * the queries must answer in milliseconds on ledgers of 10^5..10^6 entries,
 * so every "open" fact (a finding nobody acted on, an experiment nobody
 * concluded...) is an index record added when the entry arrives and removed
 * by the entry that closes it, in the same transaction. A query then reads
 * only what it returns.
 */
#include "ll_loop.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ll_err.h"
#include "loopledger/v1/loop.pb-c.h"
#include "ll_trust.h"
#include "ll_record.h"

#define K_NOTE LOOPLEDGER__V1__ENTRY_BODY__KIND_NOTE
#define K_ACTOR LOOPLEDGER__V1__ENTRY_BODY__KIND_ACTOR
#define K_GENESIS LOOPLEDGER__V1__ENTRY_BODY__KIND_GENESIS
#define K_INITIATIVE LOOPLEDGER__V1__ENTRY_BODY__KIND_CHARTER
#define K_HYPOTHESIS LOOPLEDGER__V1__ENTRY_BODY__KIND_HYPOTHESIS
#define K_EXPERIMENT LOOPLEDGER__V1__ENTRY_BODY__KIND_EXPERIMENT
#define K_DEPLOYMENT LOOPLEDGER__V1__ENTRY_BODY__KIND_DEPLOYMENT
#define K_MEASUREMENT LOOPLEDGER__V1__ENTRY_BODY__KIND_MEASUREMENT
#define K_ALERT LOOPLEDGER__V1__ENTRY_BODY__KIND_ALERT
#define K_FINDING LOOPLEDGER__V1__ENTRY_BODY__KIND_FINDING
#define K_ADJUSTMENT LOOPLEDGER__V1__ENTRY_BODY__KIND_ADJUSTMENT
#define K_DECISION LOOPLEDGER__V1__ENTRY_BODY__KIND_DECISION
#define K_REVIEW LOOPLEDGER__V1__ENTRY_BODY__KIND_REVIEW
#define K_SCALING LOOPLEDGER__V1__ENTRY_BODY__KIND_SCALING_PLAN
#define K_ROADMAP LOOPLEDGER__V1__ENTRY_BODY__KIND_ROADMAP_PROJECT
#define K_CORRECTION LOOPLEDGER__V1__ENTRY_BODY__KIND_CORRECTION
#define K_POLICY LOOPLEDGER__V1__ENTRY_BODY__KIND_POLICY

#define R(x) LOOPLEDGER__V1__RELATION__##x
/* The closed loop's kinds; governance kinds (40+) belong to no initiative. */
#define IS_DOMAIN(k) LL_KIND_IS_DOMAIN(k)
#define B(k) (1ull << (k))
/* Every domain kind (20..32). */
#define DOMAIN_KINDS (((1ull << 33) - 1) & ~((1ull << 20) - 1))
#define ANY_KIND (DOMAIN_KINDS | B(K_NOTE) | B(K_ACTOR) | B(K_GENESIS))

#define EFFECTIVE LOOPLEDGER__V1__APPROVAL_STATUS__APPROVAL_STATUS_EFFECTIVE

/* The one table of allowed links. Relations not listed for a source kind
 * are refused; RELATES_TO is the generic, same-initiative cross-reference. */
static const ll_link_rule_t link_rules[] = {
    {0, R(RELATES_TO), DOMAIN_KINDS | B(K_NOTE), 0, 0},
    {K_NOTE, R(RELATES_TO), ANY_KIND, 1, 0},
    {K_NOTE, R(SUPPORTS), ANY_KIND, 1, 0},
    {K_NOTE, R(REFUTES), ANY_KIND, 1, 0},
    {K_NOTE, R(FOLLOWS), ANY_KIND, 1, 0},
    {K_INITIATIVE, R(FOLLOWS), B(K_INITIATIVE), 0, 1},
    {K_HYPOTHESIS, R(DERIVED_FROM), B(K_FINDING) | B(K_ALERT) | B(K_MEASUREMENT), 0, 1},
    {K_EXPERIMENT, R(TESTS), B(K_HYPOTHESIS), 0, 1},
    {K_DEPLOYMENT, R(IMPLEMENTS), B(K_EXPERIMENT) | B(K_ADJUSTMENT) | B(K_SCALING), 0, 1},
    {K_DEPLOYMENT, R(CITES), B(K_EXPERIMENT) | B(K_DECISION), 0, 1},
    {K_DEPLOYMENT, R(FOLLOWS), B(K_DEPLOYMENT), 0, 1},
    {K_MEASUREMENT, R(MEASURES), B(K_DEPLOYMENT) | B(K_EXPERIMENT), 0, 0},
    {K_ALERT, R(DERIVED_FROM), B(K_MEASUREMENT), 0, 0},
    {K_FINDING, R(DERIVED_FROM), B(K_MEASUREMENT) | B(K_ALERT) | B(K_FINDING) | B(K_REVIEW), 0, 0},
    {K_FINDING, R(SUPPORTS), B(K_HYPOTHESIS), 0, 0},
    {K_FINDING, R(REFUTES), B(K_HYPOTHESIS), 0, 0},
    {K_FINDING, R(CONCLUDES), B(K_EXPERIMENT), 0, 0},
    {K_FINDING, R(DIAGNOSES), B(K_ALERT), 0, 0},
    {K_ADJUSTMENT, R(ADDRESSES), B(K_FINDING) | B(K_ALERT), 0, 1},
    {K_DECISION, R(DECIDES), DOMAIN_KINDS, 0, 0},
    {K_REVIEW, R(REVIEWS), DOMAIN_KINDS, 0, 0},
    {K_SCALING, R(DERIVED_FROM), B(K_FINDING) | B(K_EXPERIMENT) | B(K_REVIEW), 0, 1},
    {K_ROADMAP, R(SPAWNED_BY), B(K_FINDING), 1, 1},
    /* Updates of long-lived records (ll_record.h): the later entry of the
     * record FOLLOWS its latest one. */
    {K_ROADMAP, R(FOLLOWS), B(K_ROADMAP), 0, 1},
    {K_POLICY, R(FOLLOWS), B(K_POLICY), 0, 0},
    {K_CORRECTION, R(SUPERSEDES), DOMAIN_KINDS, 0, 0},
};

const ll_link_rule_t *ll_loop_link_rules(size_t *n)
{
    *n = sizeof link_rules / sizeof link_rules[0];
    return link_rules;
}

/* ---- index primitives ---- */

static int put(ll_txn_t *txn, const uint8_t *k, size_t kl, const void *v, size_t vl)
{
    return ll_store_put(txn, LL_TBL_INDEX, k, kl, v, vl);
}

static size_t open_key(uint8_t *k, int cat, const char *ini, uint64_t seq)
{
    k[0] = LL_IX_OPEN;
    k[1] = (uint8_t)cat;
    size_t n = ll_index_key_str(k, 2, ini);
    ll_put_be64(k + n, seq);
    return n + 8;
}

static int open_add(ll_txn_t *txn, ll_loop_state_t *st, int cat, const char *ini, uint64_t seq)
{
    uint8_t k[2 + LL_ID_SIZE + 8];
    size_t kl = open_key(k, cat, ini, seq);
    st->open[cat]++;
    return put(txn, k, kl, "", 0);
}

/* Closes an open loop if it is open; target's own initiative owns it. */
static int open_close(ll_txn_t *txn, int cat, const char *ini, uint64_t seq, const char *cur_ini,
                      ll_loop_state_t *cur)
{
    uint8_t k[2 + LL_ID_SIZE + 8];
    size_t kl = open_key(k, cat, ini, seq);
    const uint8_t *v;
    size_t vl;
    int err = ll_store_get(txn, LL_TBL_INDEX, k, kl, &v, &vl);

    if (err == LL_ERR_NOT_FOUND)
        return LL_OK;
    if (err || (err = ll_store_del(txn, LL_TBL_INDEX, k, kl)))
        return err;
    if (cur && !strcmp(ini, cur_ini)) {
        if (cur->open[cat])
            cur->open[cat]--;
        return LL_OK;
    }
    /* A cross-initiative link closed a loop of another initiative. */
    ll_loop_state_t other;
    if ((err = ll_index_state(txn, ini, &other)))
        return err;
    if (other.open[cat])
        other.open[cat]--;
    return ll_index_put_state(txn, ini, &other);
}

int ll_loop_close_open(ll_txn_t *txn, int cat, const char *initiative, uint64_t seq)
{
    return open_close(txn, cat, initiative, seq, "", NULL);
}

/* ---- rules ---- */

const ll_link_rule_t *ll_loop_link_rule(uint32_t src, int rel, uint32_t dst)
{
    const ll_link_rule_t *generic = NULL;
    for (size_t i = 0; i < sizeof link_rules / sizeof link_rules[0]; i++) {
        const ll_link_rule_t *r = &link_rules[i];
        if (r->relation != rel || !(r->targets & B(dst)))
            continue;
        if (r->source == src)
            return r;
        if (r->source == 0 && IS_DOMAIN(src))
            generic = r;
    }
    return generic;
}

/* Is alert (seq, body) diagnosed: its own diagnosis or a diagnosing Finding? */
static int alert_diagnosed(ll_txn_t *txn, uint64_t seq, const Loopledger__V1__Alert *a)
{
    uint8_t k[9] = {LL_IX_DIAGNOSED};
    const uint8_t *v;
    size_t vl;
    if (a->diagnosis != 0)
        return 1;
    ll_put_be64(k + 1, seq);
    /* The diagnosing finding counts only once it is in effect. */
    return ll_store_get(txn, LL_TBL_INDEX, k, sizeof k, &v, &vl) == LL_OK && vl == 8 &&
           ll_index_status(txn, ll_get_be64(v)) == EFFECTIVE;
}

static int is_concluded(ll_txn_t *txn, uint64_t exp)
{
    uint8_t k[9] = {LL_IX_CONCLUDED};
    const uint8_t *v;
    size_t vl;
    ll_put_be64(k + 1, exp);
    /* Concluded by a finding that is in effect (not pending, not rejected). */
    return ll_store_get(txn, LL_TBL_INDEX, k, sizeof k, &v, &vl) == LL_OK && vl == 8 &&
           ll_index_status(txn, ll_get_be64(v)) == EFFECTIVE;
}

static uint32_t stage_of(uint32_t kind)
{
    switch (kind) {
    case K_DEPLOYMENT: return LOOPLEDGER__V1__STAGE__STAGE_DEPLOY;
    case K_MEASUREMENT:
    case K_ALERT: return LOOPLEDGER__V1__STAGE__STAGE_MEASURE;
    case K_FINDING: return LOOPLEDGER__V1__STAGE__STAGE_LEARN;
    case K_ADJUSTMENT: return LOOPLEDGER__V1__STAGE__STAGE_ADJUST;
    default: return 0;
    }
}

void ll_loop_state_init(ll_loop_state_t *st, uint64_t first_seq, int64_t created_ns)
{
    memset(st, 0, sizeof *st);
    st->first_seq = first_seq;
    st->charter_seq = UINT64_MAX;
    st->stage_seq = UINT64_MAX;
    st->created_ns = created_ns;
}

unsigned ll_loop_step(ll_loop_state_t *st, uint64_t seq, const Loopledger__V1__EntryBody *b)
{
    uint32_t kind = b->kind_case;
    unsigned opens = 0;

    st->entries++;
    switch (kind) {
    case K_INITIATIVE:
        st->charter_seq = seq;
        break;
    case K_HYPOTHESIS:
        opens = 1u << LL_OPEN_HYPOTHESIS_UNTESTED | 1u << LL_OPEN_HYPOTHESIS_UNRESOLVED;
        break;
    case K_EXPERIMENT:
        opens = 1u << LL_OPEN_EXPERIMENT_RUNNING;
        break;
    case K_FINDING:
        opens = 1u << LL_OPEN_FINDING_UNACTED;
        break;
    case K_ALERT:
        if (b->alert->diagnosis == 0)
            opens = 1u << LL_OPEN_ALERT_UNDIAGNOSED;
        break;
    default:
        /* An adjustment awaits approval only when a policy holds it: ll_gov
         * opens that loop (ll_loop_open). */
        break;
    }
    return opens;
}

void ll_loop_effect(ll_loop_state_t *st, uint64_t seq, const Loopledger__V1__EntryBody *b)
{
    uint32_t kind = b->kind_case;
    if (kind == K_DEPLOYMENT && b->deployment->rollout_percent > st->max_rollout)
        st->max_rollout = b->deployment->rollout_percent;
    uint32_t stage = stage_of(kind);
    if (stage) {
        /* A deployment after an adjustment closes one turn of the loop. */
        if (stage == LOOPLEDGER__V1__STAGE__STAGE_DEPLOY &&
            st->stage == LOOPLEDGER__V1__STAGE__STAGE_ADJUST) {
            st->cycle++;
            stage = LOOPLEDGER__V1__STAGE__STAGE_REDEPLOY;
        }
        st->stage = stage;
        st->stage_seq = seq;
    }
}

int ll_loop_take_effect(ll_txn_t *txn, uint64_t seq, const Loopledger__V1__EntryBody *b)
{
    ll_loop_state_t st;
    int err;
    if (!b->initiative[0] || !IS_DOMAIN(b->kind_case) || !stage_of(b->kind_case))
        return LL_OK;
    if ((err = ll_index_state(txn, b->initiative, &st)))
        return err == LL_ERR_NOT_FOUND ? LL_OK : err;
    ll_loop_effect(&st, seq, b);
    return ll_index_put_state(txn, b->initiative, &st);
}

int ll_loop_open(ll_txn_t *txn, int cat, const char *initiative, uint64_t seq)
{
    ll_loop_state_t st;
    int err;
    if ((err = ll_index_state(txn, initiative, &st)) ||
        (err = open_add(txn, &st, cat, initiative, seq)))
        return err;
    return ll_index_put_state(txn, initiative, &st);
}

int ll_loop_exception_ok(ll_txn_t *txn, const Loopledger__V1__EntryBody *b, uint64_t seq)
{
    Loopledger__V1__EntryBody *d;
    int ok = 0;
    uint32_t roles = 0;
    /* An exception needs someone else with the approver role, and the
     * decision itself in effect. */
    if (ll_entry_load_body(txn, seq, &d) == LL_OK) {
        ok = d->kind_case == LOOPLEDGER__V1__ENTRY_BODY__KIND_DECISION &&
             d->decision->level == LOOPLEDGER__V1__HITL_LEVEL__HITL_LEVEL_EXCEPTION_HANDLING &&
             d->decision->outcome == LOOPLEDGER__V1__OUTCOME__OUTCOME_APPROVED &&
             strcmp(d->author, b->author) != 0 &&
             ll_trust_actor_roles(txn, d->author, &roles) == LL_OK &&
             (roles & (1u << LOOPLEDGER__V1__ROLE__ROLE_APPROVER)) &&
             ll_index_status(txn, seq) == EFFECTIVE;
        loopledger__v1__entry_body__free_unpacked(d, NULL);
    }
    return ok;
}

/* Checks a Deployment against "tested against a control before full
 * deployment". */
static int check_rollout(ll_txn_t *txn, const Loopledger__V1__EntryBody *b,
                         const ll_loop_state_t *st, char *msg, size_t cap)
{
    double share = b->deployment->rollout_percent;
    if (share <= st->max_rollout)
        return LL_OK; /* not widening */
    if (st->max_rollout == 0 && share <= LL_PILOT_MAX_PERCENT)
        return LL_OK; /* the pilot */
    for (size_t i = 0; i < b->n_links; i++) {
        const Loopledger__V1__Link *l = b->links[i];
        ll_entry_meta_t m;
        if (l->relation != R(CITES) || ll_index_meta(txn, l->target_seq, &m))
            continue;
        if (m.kind == K_EXPERIMENT && is_concluded(txn, l->target_seq))
            return LL_OK;
        if (m.kind == K_DECISION && ll_loop_exception_ok(txn, b, l->target_seq))
            return LL_OK;
    }
    LL_FAIL(LL_ERR_PRECONDITION,
         "tested against a control before full deployment: widening %s from %g%% to %g%% must "
         "CITE a concluded experiment or an approved exception-handling decision",
         b->initiative, st->max_rollout, share);
}

/* "Diagnose before prescribing." */
static int check_diagnosed(ll_txn_t *txn, const Loopledger__V1__EntryBody *b, char *msg, size_t cap)
{
    for (size_t i = 0; i < b->n_links; i++) {
        const Loopledger__V1__Link *l = b->links[i];
        Loopledger__V1__EntryBody *t;
        int ok = 0;
        if (l->relation != R(ADDRESSES) || ll_entry_load_body(txn, l->target_seq, &t))
            continue;
        if (t->kind_case == K_FINDING)
            ok = t->finding->diagnosis != 0 && ll_index_status(txn, l->target_seq) == EFFECTIVE;
        else if (t->kind_case == K_ALERT)
            ok = alert_diagnosed(txn, l->target_seq, t->alert);
        loopledger__v1__entry_body__free_unpacked(t, NULL);
        if (ok)
            return LL_OK;
    }
    LL_FAIL(LL_ERR_PRECONDITION,
         "diagnose before prescribing: an adjustment must ADDRESS a finding with a diagnosis or a "
         "diagnosed alert");
}

/* Series key for one observation (drift detection reads these). */
static size_t series_key(uint8_t *k, const char *ini, const Loopledger__V1__Observation *o)
{
    size_t n;
    k[0] = LL_IX_SERIES;
    n = ll_index_key_str(k, 1, ini);
    n = ll_index_key_str(k, n, o->metric);
    n = ll_index_key_str(k, n, o->segment);
    n = ll_index_key_str(k, n, o->arm);
    return n;
}

/* Records finding seq as the one that concluded/diagnosed the target (key
 * k), unless an effective finding already did: a later, pending one must
 * not hide it. */
static int put_evidence(ll_txn_t *txn, const uint8_t k[9], uint64_t seq)
{
    const uint8_t *v;
    size_t vl;
    uint8_t sv[8];
    if (ll_store_get(txn, LL_TBL_INDEX, k, 9, &v, &vl) == LL_OK && vl == 8 &&
        ll_index_status(txn, ll_get_be64(v)) == EFFECTIVE)
        return LL_OK;
    ll_put_be64(sv, seq);
    return put(txn, k, 9, sv, 8);
}

/* Effects of one link on the open loops and indexes. */
static int apply_link(ll_txn_t *txn, const Loopledger__V1__EntryBody *b, uint64_t seq,
                      const Loopledger__V1__Link *l, const ll_entry_meta_t *tm,
                      ll_loop_state_t *st)
{
    uint32_t kind = b->kind_case;
    uint64_t tgt = l->target_seq;
    const char *ti = tm->initiative, *ci = b->initiative;
    uint8_t k[18], v[8];
    int err = LL_OK;

    k[0] = LL_IX_LINK_IN;
    ll_put_be64(k + 1, tgt);
    k[9] = (uint8_t)l->relation;
    ll_put_be64(k + 10, seq);
    if ((err = put(txn, k, 18, "", 0)))
        return err;
    ll_put_be64(v, seq);
    switch (l->relation) {
    case R(TESTS):
        err = open_close(txn, LL_OPEN_HYPOTHESIS_UNTESTED, ti, tgt, ci, st);
        break;
    case R(SUPPORTS):
    case R(REFUTES):
        if (kind == K_FINDING && tm->kind == K_HYPOTHESIS &&
            !(err = open_close(txn, LL_OPEN_HYPOTHESIS_UNTESTED, ti, tgt, ci, st)))
            err = open_close(txn, LL_OPEN_HYPOTHESIS_UNRESOLVED, ti, tgt, ci, st);
        break;
    case R(CONCLUDES):
        k[0] = LL_IX_CONCLUDED;
        ll_put_be64(k + 1, tgt);
        if (!(err = put_evidence(txn, k, seq)))
            err = open_close(txn, LL_OPEN_EXPERIMENT_RUNNING, ti, tgt, ci, st);
        break;
    case R(DIAGNOSES):
        k[0] = LL_IX_DIAGNOSED;
        ll_put_be64(k + 1, tgt);
        if (!(err = put_evidence(txn, k, seq)))
            err = open_close(txn, LL_OPEN_ALERT_UNDIAGNOSED, ti, tgt, ci, st);
        break;
    case R(ADDRESSES):
        if (tm->kind == K_FINDING)
            err = open_close(txn, LL_OPEN_FINDING_UNACTED, ti, tgt, ci, st);
        break;
    case R(SPAWNED_BY):
        err = open_close(txn, LL_OPEN_FINDING_UNACTED, ti, tgt, ci, st);
        break;
    case R(DERIVED_FROM):
        if (kind == K_HYPOTHESIS && tm->kind == K_FINDING)
            err = open_close(txn, LL_OPEN_FINDING_UNACTED, ti, tgt, ci, st);
        break;
    case R(SUPERSEDES):
        k[0] = LL_IX_SUPERSEDED;
        ll_put_be64(k + 1, tgt);
        err = put(txn, k, 9, v, 8);
        /* One meaning of "open": a superseded entry is not open (its
         * correction stands in for it); every loop it held closes. */
        for (int cat = 1; cat < LL_OPEN__COUNT && !err; cat++)
            err = open_close(txn, cat, ti, tgt, ci, st);
        break;
    default:
        break;
    }
    return err;
}

/* ---- names of initiatives ---- */

/* Edit distance (insertions, deletions, substitutions) between a and b,
 * capped at LL_MAX_ID_LEN + 1. */
static unsigned edit_distance(const char *a, const char *b)
{
    unsigned row[LL_ID_SIZE + 1];
    size_t la = strlen(a), lb = strlen(b);
    if (la > LL_MAX_ID_LEN || lb > LL_MAX_ID_LEN)
        return LL_MAX_ID_LEN + 1;
    for (size_t j = 0; j <= lb; j++)
        row[j] = (unsigned)j;
    for (size_t i = 1; i <= la; i++) {
        unsigned diag = row[0];
        row[0] = (unsigned)i;
        for (size_t j = 1; j <= lb; j++) {
            unsigned up = row[j];
            unsigned best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

#define NEAREST 3

typedef struct nearest {
    const char *want;
    char name[NEAREST][LL_ID_SIZE];
    unsigned dist[NEAREST];
    size_t n, total;
} nearest_t;

static int nearest_cb(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    nearest_t *c = ctx;
    char name[LL_ID_SIZE];
    (void)val;
    (void)vlen;
    if (klen < 3 || klen - 2 > LL_MAX_ID_LEN)
        return 0;
    memcpy(name, key + 1, klen - 2); /* S ini 0 */
    name[klen - 2] = 0;
    unsigned d = edit_distance(c->want, name);
    c->total++;
    /* Keep the NEAREST closest, ties in name order (the scan's order). */
    size_t at = c->n;
    while (at > 0 && c->dist[at - 1] > d)
        at--;
    if (at >= NEAREST)
        return 0;
    size_t last = c->n < NEAREST ? c->n : NEAREST - 1;
    for (size_t i = last; i > at; i--) {
        c->dist[i] = c->dist[i - 1];
        memcpy(c->name[i], c->name[i - 1], LL_ID_SIZE);
    }
    c->dist[at] = d;
    snprintf(c->name[at], LL_ID_SIZE, "%s", name);
    if (c->n < NEAREST)
        c->n++;
    return 0;
}

/* Refuses an entry naming an initiative that does not exist, with the
 * closest existing names (edit distance), so a typo starts nothing. */
static int unknown_initiative(ll_txn_t *txn, const char *ini, char *msg, size_t cap)
{
    nearest_t c = {.want = ini};
    uint8_t prefix[1] = {LL_IX_STATE};
    char list[3 * (LL_ID_SIZE + 4)];
    size_t ll = 0;
    int err = ll_store_scan(txn, LL_TBL_INDEX, prefix, 1, NULL, 0, 0, nearest_cb, &c);
    if (err)
        LL_FAIL(err, "reading initiatives: %s", ll_strerror(err));
    list[0] = 0;
    for (size_t i = 0; i < c.n; i++)
        ll += (size_t)snprintf(list + ll, sizeof list - ll, "%s\"%s\"", i ? ", " : "", c.name[i]);
    if (!c.n)
        LL_FAIL(LL_ERR_NOT_FOUND,
             "no initiative \"%s\" (the ledger has none yet): append its initiative charter first",
             ini);
    LL_FAIL(LL_ERR_NOT_FOUND,
         "no initiative \"%s\"; closest: %s (an initiative charter or a roadmap project starts "
         "a new one)",
         ini, list);
}

int ll_loop_apply(ll_txn_t *txn, const Loopledger__V1__EntryBody *b, uint64_t seq, int64_t t,
                  char *msg, size_t cap)
{
    uint32_t kind = b->kind_case;
    const char *ini = b->initiative;
    ll_loop_state_t st;
    int err, have_state = 0, domain = IS_DOMAIN(kind);
    uint8_t k[2 + 2 * LL_ID_SIZE + 16];
    size_t kl;

    /* Links: the table, same initiative unless the row allows crossing. */
    for (size_t i = 0; i < b->n_links; i++) {
        const Loopledger__V1__Link *l = b->links[i];
        ll_entry_meta_t tm;
        const ll_link_rule_t *r;
        if ((err = ll_index_meta(txn, l->target_seq, &tm)))
            LL_FAIL(err == LL_ERR_NOT_FOUND ? LL_ERR_CORRUPT : err,
                 "link %zu: no index record for entry %llu", i,
                 (unsigned long long)l->target_seq);
        r = ll_loop_link_rule(kind, l->relation, tm.kind);
        if (!r)
            LL_FAIL(LL_ERR_PRECONDITION, "link %zu: a %s may not link %s a %s (#%llu)", i,
                 ll_kind_name(kind), ll_relation_name(l->relation), ll_kind_name(tm.kind),
                 (unsigned long long)l->target_seq);
        if (!r->cross_initiative && strcmp(tm.initiative, ini))
            LL_FAIL(LL_ERR_PRECONDITION,
                 "link %zu: #%llu belongs to initiative \"%s\", not \"%s\"; only %s links may cross initiatives",
                 i, (unsigned long long)l->target_seq, tm.initiative, ini,
                 kind == K_NOTE ? "note" : "roadmap_project spawned_by");
        if (l->relation == R(SUPERSEDES)) {
            uint64_t by;
            if (ll_index_superseded_by(txn, l->target_seq, &by) == LL_OK)
                LL_FAIL(LL_ERR_PRECONDITION,
                     "#%llu is already superseded by #%llu; supersede that correction instead",
                     (unsigned long long)l->target_seq, (unsigned long long)by);
        }
    }

    if (ini[0]) {
        err = ll_index_state(txn, ini, &st);
        if (err == LL_OK)
            have_state = 1;
        else if (err != LL_ERR_NOT_FOUND)
            LL_FAIL(err, "reading initiative state: %s", ll_strerror(err));
    }
    /* An entry names an existing initiative or none; only a charter or a
     * roadmap project starts one. */
    if (ini[0] && !have_state && kind != K_INITIATIVE && kind != K_ROADMAP)
        return unknown_initiative(txn, ini, msg, cap);
    if (domain && kind != K_INITIATIVE && kind != K_ROADMAP &&
        (!have_state || st.charter_seq == UINT64_MAX))
        LL_FAIL(LL_ERR_PRECONDITION,
             "initiative \"%s\" has no charter yet: append an initiative entry first", ini);
    if (ini[0] && !have_state && domain) {
        ll_loop_state_init(&st, seq, t);
        have_state = 1;
    }

    /* Loop rules that need state. */
    if (kind == K_ADJUSTMENT && (err = check_diagnosed(txn, b, msg, cap)))
        return err;
    if (kind == K_DEPLOYMENT && (err = check_rollout(txn, b, &st, msg, cap)))
        return err;
    if (kind == K_INITIATIVE && have_state && st.charter_seq != UINT64_MAX) {
        /* Policies select by application: a later charter may change the
         * phase or scope, never what kind of initiative it is. */
        Loopledger__V1__EntryBody *c;
        if ((err = ll_record_load(txn, st.charter_seq, &c, NULL, NULL)))
            LL_FAIL(err, "reading the charter: %s", ll_strerror(err));
        int same = c->charter->application == b->charter->application;
        loopledger__v1__entry_body__free_unpacked(c, NULL);
        if (!same)
            LL_FAIL(LL_ERR_PRECONDITION,
                 "initiative \"%s\": its application is fixed by its first charter", ini);
    }

    /* Indexes. */
    if ((err = ll_index_put_meta(txn, seq, kind, t, ini, b->author)))
        goto store_fail;
    k[0] = LL_IX_KIND;
    k[1] = (uint8_t)kind;
    ll_put_be64(k + 2, seq);
    if ((err = put(txn, k, 10, "", 0)))
        goto store_fail;
    k[0] = LL_IX_AUTHOR;
    kl = ll_index_key_str(k, 1, b->author);
    ll_put_be64(k + kl, seq);
    if ((err = put(txn, k, kl + 8, "", 0)))
        goto store_fail;
    if (ini[0]) {
        uint8_t kv = (uint8_t)kind;
        k[0] = LL_IX_INITIATIVE;
        kl = ll_index_key_str(k, 1, ini);
        ll_put_be64(k + kl, seq);
        if ((err = put(txn, k, kl + 8, &kv, 1)))
            goto store_fail;
        k[0] = LL_IX_INI_KIND;
        kl = ll_index_key_str(k, 1, ini);
        k[kl] = (uint8_t)kind;
        ll_put_be64(k + kl + 1, seq);
        if ((err = put(txn, k, kl + 9, "", 0)))
            goto store_fail;
    }
    for (size_t i = 0; i < b->n_links; i++) {
        ll_entry_meta_t tm;
        if ((err = ll_index_meta(txn, b->links[i]->target_seq, &tm)) ||
            (err = apply_link(txn, b, seq, b->links[i], &tm, have_state ? &st : NULL)))
            goto store_fail;
    }
    if (!have_state)
        return LL_OK;

    /* Derived state of the initiative: the one step function, then the
     * open-loop records of the categories the entry opens. */
    unsigned opens = ll_loop_step(&st, seq, b);
    for (int cat = 1; cat < LL_OPEN__COUNT; cat++)
        if ((opens & (1u << cat)) && (err = open_add(txn, &st, cat, ini, seq)))
            goto store_fail;
    switch (kind) {
    case K_REVIEW: {
        uint8_t v[16];
        k[0] = LL_IX_REVIEW;
        kl = ll_index_key_str(k, 1, ini);
        k[kl++] = (uint8_t)b->review->cadence;
        ll_put_be64(v, (uint64_t)t);
        ll_put_be64(v + 8, seq);
        if ((err = put(txn, k, kl, v, 16)))
            goto store_fail;
        break;
    }
    case K_MEASUREMENT:
        for (size_t i = 0; i < b->measurement->n_observations; i++) {
            const Loopledger__V1__Observation *o = b->measurement->observations[i];
            uint8_t sk[1 + LL_ID_SIZE + 320 + 10];
            size_t n = series_key(sk, ini, o);
            ll_put_be64(sk + n, seq);
            sk[n + 8] = (uint8_t)(i >> 8);
            sk[n + 9] = (uint8_t)i;
            uint8_t dv[8];
            ll_put_be_double(dv, o->value);
            if ((err = put(txn, sk, n + 10, dv, sizeof dv)))
                goto store_fail;
        }
        break;
    default:
        break;
    }
    if ((err = ll_index_put_state(txn, ini, &st)))
        goto store_fail;
    return LL_OK;
store_fail:
    LL_FAIL(err, "cannot write indexes: %s (%s)", ll_strerror(err), ll_store_last_error());
}
