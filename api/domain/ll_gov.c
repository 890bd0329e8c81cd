/*
 * ll_gov: HITL policies, approvals and governance indexes (ll_gov.h).
 *
 * Policies are few and change rarely, so each append simply scans them
 * ('P' index) and decodes the ones whose kinds match; the status of an
 * entry under a policy is one small record, updated in place by the
 * decisions about it, so "derived status shown everywhere" is one lookup.
 */
#include "ll_gov.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ll_authz.h"
#include "ll_crypto.h"
#include "ll_err.h"
#include "ll_effects.h"
#include "ll_kinds.h"
#include "ll_loop.h"
#include "ll_record.h"

#define K(x) LOOPLEDGER__V1__ENTRY_BODY__KIND_##x
#define ST(x) LOOPLEDGER__V1__APPROVAL_STATUS__APPROVAL_STATUS_##x

/* ---- records ---- */

typedef struct replay {
    ll_txn_t *txn;
    uint64_t n;
    ll_hitl_t h;
    char author[LL_ID_SIZE];      /* of the decided entry */
    char who[LL_GOV_MAX_APPROVALS][LL_ID_SIZE];
    uint32_t status;
} replay_t;

static int replay_cb(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    replay_t *r = ctx;
    uint64_t src = ll_get_be64(key + 10);
    Loopledger__V1__EntryBody *b;
    (void)klen;
    (void)val;
    (void)vlen;
    if (src >= r->n)
        return 1; /* incoming links are in source order */
    if (ll_entry_load_body(r->txn, src, &b))
        return 1;
    const Loopledger__V1__Decision *d = b->decision;
    /* Only decisions that counted when they were appended (see decide()). */
    if (b->kind_case == K(DECISION) && (uint32_t)d->level == r->h.level &&
        strcmp(b->author, r->author)) {
        if (d->outcome == LOOPLEDGER__V1__OUTCOME__OUTCOME_REJECTED) {
            r->status = ST(REJECTED);
        } else if (d->outcome == LOOPLEDGER__V1__OUTCOME__OUTCOME_APPROVED) {
            uint32_t i;
            for (i = 0; i < r->h.approvals && strcmp(r->who[i], b->author); i++)
                ;
            if (i == r->h.approvals && i < LL_GOV_MAX_APPROVALS) {
                snprintf(r->who[i], sizeof r->who[i], "%s", b->author);
                if (++r->h.approvals >= r->h.required)
                    r->status = ST(EFFECTIVE);
            }
        }
    }
    loopledger__v1__entry_body__free_unpacked(b, NULL);
    return r->status != ST(PENDING);
}

uint32_t ll_gov_status_as_of(ll_txn_t *txn, uint64_t seq, uint64_t n)
{
    replay_t r;
    ll_entry_meta_t m;
    uint8_t prefix[10] = {LL_IX_LINK_IN};
    if (ll_index_hitl(txn, seq, &r.h) == LL_ERR_NOT_FOUND)
        return ST(EFFECTIVE);
    if (ll_index_meta(txn, seq, &m))
        return ST(PENDING);
    memset(r.who, 0, sizeof r.who);
    r.txn = txn;
    r.n = n;
    r.h.approvals = 0;
    r.status = ST(PENDING);
    snprintf(r.author, sizeof r.author, "%s", m.author);
    ll_put_be64(prefix + 1, seq);
    prefix[9] = LOOPLEDGER__V1__RELATION__DECIDES;
    ll_store_scan(txn, LL_TBL_INDEX, prefix, sizeof prefix, NULL, 0, 0, replay_cb, &r);
    return r.status;
}

static size_t pending_key(uint8_t *k, const char *ini, uint64_t seq)
{
    size_t n = strlen(ini);
    k[0] = LL_IX_PENDING;
    memcpy(k + 1, ini, n);
    k[1 + n] = 0;
    ll_put_be64(k + 2 + n, seq);
    return n + 10;
}

static int put_subject(ll_txn_t *txn, const char *actor, uint64_t seq)
{
    uint8_t k[1 + LL_ID_SIZE + 8];
    size_t n = strlen(actor);
    k[0] = LL_IX_SUBJECT;
    memcpy(k + 1, actor, n);
    k[1 + n] = 0;
    ll_put_be64(k + 2 + n, seq);
    return ll_store_put(txn, LL_TBL_INDEX, k, n + 10, "", 0);
}

/* ---- policies ---- */

typedef struct match {
    ll_txn_t *txn;
    const Loopledger__V1__EntryBody *b;
    uint32_t application; /* of the entry's initiative; 0 if unknown */
    int have_application;  /* looked up only when a policy asks for it */
    ll_hitl_t best;
    int found, err;
} match_t;

static int field_value(const Loopledger__V1__EntryBody *b, const char *field, double *v)
{
    if (!strcmp(field, "rollout_percent") && b->kind_case == K(DEPLOYMENT)) {
        *v = b->deployment->rollout_percent;
        return 1;
    }
    if (!strcmp(field, "magnitude_percent") && b->kind_case == K(ADJUSTMENT)) {
        /* A change's size either way: a 40% price cut is a 40% change. */
        *v = fabs(b->adjustment->magnitude_percent);
        return 1;
    }
    return 0;
}

static uint32_t initiative_application(ll_txn_t *txn, const Loopledger__V1__EntryBody *b)
{
    ll_loop_state_t st;
    Loopledger__V1__EntryBody *c;
    uint32_t app = 0;
    if (b->kind_case == K(CHARTER))
        return (uint32_t)b->charter->application;
    if (!b->initiative[0] || ll_index_state(txn, b->initiative, &st) ||
        st.charter_seq == UINT64_MAX || ll_record_load(txn, st.charter_seq, &c, NULL, NULL))
        return 0;
    app = (uint32_t)c->charter->application;
    loopledger__v1__entry_body__free_unpacked(c, NULL);
    return app;
}

static int policy_matches(const Loopledger__V1__Policy *p, match_t *m)
{
    const Loopledger__V1__EntryBody *b = m->b;
    int kind_ok = 0;
    for (size_t i = 0; i < p->n_kinds; i++)
        kind_ok |= (uint32_t)p->kinds[i] == (uint32_t)b->kind_case;
    if (!kind_ok)
        return 0;
    if (p->refinement &&
        (b->kind_case != K(ADJUSTMENT) || b->adjustment->category != p->refinement))
        return 0;
    if (p->application) {
        if (!m->have_application) {
            m->application = initiative_application(m->txn, b);
            m->have_application = 1;
        }
        if ((uint32_t)p->application != m->application)
            return 0;
    }
    if (p->threshold_field[0]) {
        double v;
        if (!field_value(b, p->threshold_field, &v) || !(v > p->threshold))
            return 0;
    }
    return 1;
}

static int policy_cb(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    match_t *m = ctx;
    uint64_t seq = ll_get_be64(key + 1);
    Loopledger__V1__EntryBody *pb;
    (void)klen;
    (void)val;
    (void)vlen;
    if ((m->err = ll_record_load(m->txn, seq, &pb, NULL, NULL)))
        return m->err;
    const Loopledger__V1__Policy *p = pb->policy;
    if (policy_matches(p, m) && (!m->found || p->approvals > m->best.required)) {
        m->found = 1;
        m->best.status = ST(PENDING);
        m->best.policy_seq = seq;
        m->best.level = (uint32_t)p->level;
        m->best.required = p->approvals;
        m->best.approvals = 0;
    }
    loopledger__v1__entry_body__free_unpacked(pb, NULL);
    return 0;
}

/* ---- gating: what acts on an entry needs it in effect ---- */

typedef struct rejecter {
    ll_txn_t *txn;
    uint32_t level;
    char entry_author[LL_ID_SIZE];
    char who[LL_ID_SIZE];
} rejecter_t;

static int rejecter_cb(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    rejecter_t *r = ctx;
    Loopledger__V1__EntryBody *b;
    (void)klen;
    (void)val;
    (void)vlen;
    if (ll_entry_load_body(r->txn, ll_get_be64(key + 10), &b))
        return 0;
    /* The decision that counted (decide()): same level, not the author's. */
    if (b->kind_case == K(DECISION) && (uint32_t)b->decision->level == r->level &&
        b->decision->outcome == LOOPLEDGER__V1__OUTCOME__OUTCOME_REJECTED &&
        strcmp(b->author, r->entry_author))
        snprintf(r->who, sizeof r->who, "%s", b->author);
    loopledger__v1__entry_body__free_unpacked(b, NULL);
    return r->who[0] != 0;
}

/* LL_OK if target is in effect; else LL_ERR_PRECONDITION with msg naming
 * what is missing ("#55 was rejected by ben", "#76 needs 1 more approval
 * at exception_handling"). */
static int require_effective(ll_txn_t *txn, const Loopledger__V1__EntryBody *b, size_t i,
                             uint64_t target, char *msg, size_t cap)
{
    ll_hitl_t h;
    int err = ll_index_hitl(txn, target, &h);
    if (err == LL_ERR_NOT_FOUND || (err == LL_OK && h.status == ST(EFFECTIVE)))
        return LL_OK;
    if (err)
        LL_FAIL(err, "reading approval state of #%llu: %s", (unsigned long long)target,
             ll_strerror(err));
    const char *rel = ll_relation_name(b->links[i]->relation);
    if (h.status == ST(REJECTED)) {
        rejecter_t r = {.txn = txn, .level = h.level};
        ll_entry_meta_t m;
        uint8_t prefix[10] = {LL_IX_LINK_IN};
        if (ll_index_meta(txn, target, &m) == LL_OK)
            snprintf(r.entry_author, sizeof r.entry_author, "%s", m.author);
        ll_put_be64(prefix + 1, target);
        prefix[9] = LOOPLEDGER__V1__RELATION__DECIDES;
        ll_store_scan(txn, LL_TBL_INDEX, prefix, sizeof prefix, NULL, 0, 0, rejecter_cb, &r);
        LL_FAIL(LL_ERR_PRECONDITION,
             "link %zu: #%llu was rejected by %s; a %s may not %s a rejected entry "
             "(supersede it with a correction and act on that)",
             i, (unsigned long long)target, r.who[0] ? r.who : "an approver",
             ll_kind_name(b->kind_case), rel);
    }
    uint32_t left = h.required > h.approvals ? h.required - h.approvals : 1;
    LL_FAIL(LL_ERR_PRECONDITION,
         "link %zu: #%llu needs %u more approval%s at %s (policy #%llu); a %s may %s it only "
         "once it is in effect",
         i, (unsigned long long)target, left, left == 1 ? "" : "s",
         ll_effects_level_name(h.level), (unsigned long long)h.policy_seq,
         ll_kind_name(b->kind_case), rel);
}

/* Refuses an entry whose links act on (ll_link_rule_t.acts_on) an entry
 * that is not in effect. */
static int check_acts_on(ll_txn_t *txn, const Loopledger__V1__EntryBody *b, char *msg, size_t cap)
{
    for (size_t i = 0; i < b->n_links; i++) {
        ll_entry_meta_t tm;
        const ll_link_rule_t *r;
        int err;
        if (ll_index_meta(txn, b->links[i]->target_seq, &tm))
            continue; /* ll_loop_apply already refused unknown targets */
        r = ll_loop_link_rule(b->kind_case, b->links[i]->relation, tm.kind);
        if (r && r->acts_on &&
            (err = require_effective(txn, b, i, b->links[i]->target_seq, msg, cap)))
            return err;
    }
    return LL_OK;
}

/* Has actor already decided target? One decision per actor and entry, so
 * the log itself shows how many distinct actors decided. */
typedef struct again {
    ll_txn_t *txn;
    const char *actor;
    uint64_t self, found;
} again_t;

static int again_cb(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    again_t *a = ctx;
    ll_entry_meta_t m;
    uint64_t src = ll_get_be64(key + 10);
    (void)klen;
    (void)val;
    (void)vlen;
    if (src != a->self && ll_index_meta(a->txn, src, &m) == LL_OK && m.kind == K(DECISION) &&
        !strcmp(m.author, a->actor)) {
        a->found = src;
        return 1;
    }
    return 0;
}

/* ---- decisions ---- */

static int decide(ll_txn_t *txn, const Loopledger__V1__EntryBody *b, uint64_t seq,
                  uint64_t target, uint32_t author_roles, char *msg, size_t cap)
{
    ll_hitl_t h;
    ll_entry_meta_t tm;
    again_t ag = {.txn = txn, .actor = b->author, .self = seq, .found = UINT64_MAX};
    uint8_t prefix[10] = {LL_IX_LINK_IN};
    ll_put_be64(prefix + 1, target);
    prefix[9] = LOOPLEDGER__V1__RELATION__DECIDES;
    int err = ll_store_scan(txn, LL_TBL_INDEX, prefix, sizeof prefix, NULL, 0, 0, again_cb, &ag);
    if (err)
        LL_FAIL(err, "reading decisions about #%llu: %s", (unsigned long long)target,
             ll_strerror(err));
    if (ag.found != UINT64_MAX)
        LL_FAIL(LL_ERR_EXISTS,
             "\"%s\" already decided #%llu (decision #%llu): one decision per actor and "
             "entry, so the log shows how many distinct actors decided",
             b->author, (unsigned long long)target, (unsigned long long)ag.found);
    err = ll_index_hitl(txn, target, &h);
    if (err == LL_ERR_NOT_FOUND)
        return LL_OK; /* no policy: a plain decision */
    if (err || (err = ll_index_meta(txn, target, &tm)))
        LL_FAIL(err, "reading approval state of #%llu: %s", (unsigned long long)target,
             ll_strerror(err));
    if (!strcmp(tm.author, b->author))
        LL_FAIL(LL_ERR_PERMISSION, "an approver never decides their own entry: #%llu is by \"%s\"",
             (unsigned long long)target, b->author);
    if (!(author_roles & LL_ROLE_BIT(LOOPLEDGER__V1__ROLE__ROLE_APPROVER)))
        LL_FAIL(LL_ERR_PERMISSION,
             "#%llu is pending under a policy: only actors with the approver role decide it",
             (unsigned long long)target);
    if (h.status == ST(REJECTED))
        LL_FAIL(LL_ERR_PRECONDITION, "#%llu was rejected; a rejected entry stays rejected",
             (unsigned long long)target);
    if ((uint32_t)b->decision->level != h.level) {
        const ProtobufCEnumValue *lv = protobuf_c_enum_descriptor_get_value(
            &loopledger__v1__hitl_level__descriptor, (int)h.level);
        LL_FAIL(LL_ERR_PRECONDITION, "the policy behind #%llu requires a decision of level %s",
             (unsigned long long)target, lv ? lv->name : "?");
    }
    if (h.status == ST(EFFECTIVE))
        return LL_OK; /* already effective: the decision is recorded, nothing changes */
    if (b->decision->outcome == LOOPLEDGER__V1__OUTCOME__OUTCOME_REJECTED) {
        h.status = ST(REJECTED);
    } else if (b->decision->outcome == LOOPLEDGER__V1__OUTCOME__OUTCOME_APPROVED) {
        uint8_t k[9 + LL_ID_SIZE];
        const uint8_t *v;
        size_t vl, n = strlen(b->author);
        k[0] = LL_IX_APPROVAL;
        ll_put_be64(k + 1, target);
        memcpy(k + 9, b->author, n + 1);
        if (ll_store_get(txn, LL_TBL_INDEX, k, n + 10, &v, &vl) == LL_OK)
            return LL_OK; /* counted once per approver */
        if ((err = ll_store_put(txn, LL_TBL_INDEX, k, n + 10, "", 0)))
            return err;
        if (++h.approvals >= h.required)
            h.status = ST(EFFECTIVE);
    } else {
        return LL_OK; /* escalated or deferred: still pending */
    }
    if ((err = ll_index_put_hitl(txn, target, &h)))
        return err;
    if (h.status != ST(PENDING)) {
        uint8_t pk[1 + LL_ID_SIZE + 8];
        size_t pl = pending_key(pk, tm.initiative, target);
        if ((err = ll_store_del(txn, LL_TBL_INDEX, pk, pl)))
            return err;
        if (tm.kind == K(ADJUSTMENT) &&
            (err = ll_loop_close_open(txn, LL_OPEN_ADJUSTMENT_AWAITING, tm.initiative, target)))
            return err;
    }
    if (h.status == ST(EFFECTIVE)) {
        /* Now it takes effect: stage, cycle, rollout (ll_loop_effect). */
        Loopledger__V1__EntryBody *tb;
        if ((err = ll_entry_load_body(txn, target, &tb)))
            return err;
        err = ll_loop_take_effect(txn, target, tb);
        loopledger__v1__entry_body__free_unpacked(tb, NULL);
        if (err)
            return err;
    }
    return LL_OK;
}

int ll_gov_hold(ll_txn_t *txn, uint64_t seq, const char *initiative, const ll_hitl_t *h)
{
    uint8_t pk[1 + LL_ID_SIZE + 8];
    size_t pl = pending_key(pk, initiative, seq);
    int err = ll_index_put_hitl(txn, seq, h);
    return err ? err : ll_store_put(txn, LL_TBL_INDEX, pk, pl, "", 0);
}

int ll_gov_apply(ll_txn_t *txn, const Loopledger__V1__EntryBody *b, uint64_t seq,
                 uint32_t author_roles, char *msg, size_t cap)
{
    uint32_t kind = b->kind_case;
    int err = LL_OK;

    if ((err = check_acts_on(txn, b, msg, cap)))
        return err;
    switch (kind) {
    case K(POLICY): {
        /* 'P' lists the policies in force: an update (ll_record.h) takes
         * the place of the policy it FOLLOWS. */
        uint8_t k[9] = {LL_IX_POLICY};
        for (size_t i = 0; i < b->n_links; i++) {
            if (b->links[i]->relation != LOOPLEDGER__V1__RELATION__FOLLOWS)
                continue;
            ll_put_be64(k + 1, b->links[i]->target_seq);
            if ((err = ll_store_del(txn, LL_TBL_INDEX, k, sizeof k)) && err != LL_ERR_NOT_FOUND)
                goto store_fail;
        }
        ll_put_be64(k + 1, seq);
        if ((err = ll_store_put(txn, LL_TBL_INDEX, k, sizeof k, "", 0)))
            goto store_fail;
        return LL_OK;
    }
    case K(ACTOR):
        err = put_subject(txn, b->actor->actor_id, seq);
        break;
    case K(GENESIS):
        if (!(err = put_subject(txn, b->genesis->server->actor_id, seq)))
            err = put_subject(txn, b->genesis->admin->actor_id, seq);
        break;
    case K(KEY_ROTATION):
        err = put_subject(txn, b->key_rotation->actor_id, seq);
        break;
    case K(REVOCATION):
        err = put_subject(txn, b->revocation->actor_id, seq);
        break;
    case K(ROLE_GRANT):
        err = put_subject(txn, b->role_grant->actor_id, seq);
        break;
    case K(DECISION):
        for (size_t i = 0; i < b->n_links; i++)
            if (b->links[i]->relation == LOOPLEDGER__V1__RELATION__DECIDES &&
                (err = decide(txn, b, seq, b->links[i]->target_seq, author_roles, msg, cap)))
                return err;
        return LL_OK;
    case K(CORRECTION):
        /* A superseded entry awaits nothing: its correction stands in for
         * it (the same rule closes its open loops in ll_loop). */
        for (size_t i = 0; i < b->n_links && !err; i++) {
            ll_entry_meta_t tm;
            uint64_t tgt = b->links[i]->target_seq;
            if (b->links[i]->relation != LOOPLEDGER__V1__RELATION__SUPERSEDES ||
                ll_index_status(txn, tgt) != ST(PENDING) || ll_index_meta(txn, tgt, &tm))
                continue;
            uint8_t pk[1 + LL_ID_SIZE + 8];
            size_t pl = pending_key(pk, tm.initiative, tgt);
            err = ll_store_del(txn, LL_TBL_INDEX, pk, pl);
            if (err == LL_ERR_NOT_FOUND)
                err = LL_OK;
        }
        break;
    default:
        break;
    }
    if (err)
        goto store_fail;
    if (kind < K(CHARTER) || kind > K(CORRECTION))
        return LL_OK;

    /* Does a policy hold this entry for approval? */
    match_t m = {.txn = txn, .b = b};
    uint8_t prefix[1] = {LL_IX_POLICY};
    if ((err = ll_store_scan(txn, LL_TBL_INDEX, prefix, 1, NULL, 0, 0, policy_cb, &m)) ||
        (err = m.err))
        goto store_fail;
    if (!m.found) {
        if ((err = ll_loop_take_effect(txn, seq, b)))
            goto store_fail;
        return LL_OK;
    }
    uint8_t pk[1 + LL_ID_SIZE + 8];
    size_t pl = pending_key(pk, b->initiative, seq);
    if ((err = ll_index_put_hitl(txn, seq, &m.best)) ||
        (err = ll_store_put(txn, LL_TBL_INDEX, pk, pl, "", 0)))
        goto store_fail;
    /* "Awaiting approval" means held by a policy, nothing else. */
    if (kind == K(ADJUSTMENT) && b->initiative[0] &&
        (err = ll_loop_open(txn, LL_OPEN_ADJUSTMENT_AWAITING, b->initiative, seq)))
        goto store_fail;
    return LL_OK;
store_fail:
    LL_FAIL(err, "cannot write governance indexes: %s", ll_strerror(err));
}
