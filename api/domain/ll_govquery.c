/*
 * ll_govquery: DecisionHistory, PendingApprovals, ActorHistory
 * (ll_govquery.h). Decisions are found through the same indexes as
 * ListEntries (kind, initiative, author, time), so a governance review of
 * one initiative or one approver reads only those decisions.
 */
#include "ll_govquery.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ll_crypto.h"
#include "ll_err.h"
#include "ll_gov.h"
#include "ll_ledger.h"
#include "ll_loop.h"
#include "ll_query.h"
#include "ll_trust.h"
#include "ll_lineage.h"
#include "ll_record.h"

/* Work bounds of one DecisionHistory call. */
#define DH_MAX_EXAMINED 5000
#define DH_MAX_REFS 20000
#define DH_MAX_DECIDED 32

static int parse_seq_token(const char *tok, uint64_t *out)
{
    char *end;
    if (!tok[0])
        return 0;
    if (tok[0] < '0' || tok[0] > '9')
        return -1;
    *out = strtoull(tok, &end, 10);
    return *end ? -1 : 0;
}

/* Evidence behind an entry: its lineage `hops` back, newest first, without
 * the entry itself. */
static int evidence_of(ll_txn_t *txn, ll_arena_t *a, uint64_t seq, unsigned hops,
                       Loopledger__V1__DecidedEntry *d, char *msg, size_t cap)
{
    Loopledger__V1__GetLineageRequest lr = LOOPLEDGER__V1__GET_LINEAGE_REQUEST__INIT;
    Loopledger__V1__Lineage *L;
    int err;
    lr.seq = seq;
    lr.back_hops = hops;
    lr.max_nodes = 50;
    if ((err = ll_lineage_get(txn, a, &lr, &L, msg, cap)))
        return err;
    d->evidence = ll_arena_alloc(a, (L->n_nodes ? L->n_nodes : 1) * sizeof *d->evidence);
    if (!d->evidence)
        return LL_ERR_NOMEM;
    for (size_t i = L->n_nodes; i-- > 0;) {
        if (L->nodes[i]->seq == seq)
            d->entry = L->nodes[i];
        else
            d->evidence[d->n_evidence++] = L->nodes[i];
    }
    return d->entry ? LL_OK : ll_query_ref(txn, a, seq, &d->entry);
}

int ll_govquery_decisions(ll_txn_t *txn, ll_arena_t *a,
                          const Loopledger__V1__DecisionHistoryRequest *r,
                          Loopledger__V1__DecisionHistoryResponse **out, char *msg, size_t cap)
{
    Loopledger__V1__ListEntriesRequest lr = LOOPLEDGER__V1__LIST_ENTRIES_REQUEST__INIT;
    size_t page = r->page_size ? r->page_size : 50;
    unsigned hops = r->evidence_hops ? r->evidence_hops : 2;
    uint64_t from = 0, size = ll_store_size(txn), seqs[64], next;
    int err;

    if (r->page_size > 500)
        LL_FAIL(LL_ERR_INVALID, "page_size %u exceeds 500", r->page_size);
    if (r->evidence_hops > 5)
        LL_FAIL(LL_ERR_INVALID, "evidence_hops %u exceeds 5", r->evidence_hops);
    if (parse_seq_token(r->page_token, &from))
        LL_FAIL(LL_ERR_INVALID, "page_token is not one this server issued");
    lr.kind = LOOPLEDGER__V1__KIND__KIND_DECISION;
    lr.initiative = r->initiative;
    lr.author = r->approver;
    lr.from_time_unix_nanos = r->from_time_unix_nanos;
    lr.to_time_unix_nanos = r->to_time_unix_nanos;

    Loopledger__V1__DecisionHistoryResponse *resp = ll_arena_alloc(a, sizeof *resp);
    if (!resp || !(resp->decisions = ll_arena_alloc(a, page * sizeof *resp->decisions)))
        return LL_ERR_NOMEM;
    loopledger__v1__decision_history_response__init(resp);
    resp->decisions = ll_arena_alloc(a, page * sizeof *resp->decisions);
    resp->next_page_token = (char *)"";
    if (!resp->decisions)
        return LL_ERR_NOMEM;
    /* Bounded work per call whatever the filters and link counts: stop
     * early (with a token) after DH_MAX_EXAMINED decisions or DH_MAX_REFS
     * evidence references. */
    size_t examined = 0, refs = 0;
    int stopped = 0;
    while (from < size && !stopped) {
        size_t n;
        if ((err = ll_query_list(txn, &lr, from, size, 64, seqs, &n, &next, msg, cap)))
            return err;
        for (size_t i = 0; i < n; i++) {
            Loopledger__V1__EntryBody *b;
            if (resp->n_decisions == page || examined == DH_MAX_EXAMINED || refs >= DH_MAX_REFS) {
                next = seqs[i];
                stopped = 1;
                break;
            }
            examined++;
            if ((err = ll_entry_load_body(txn, seqs[i], &b)))
                LL_FAIL(err, "reading decision #%" PRIu64 ": %s", seqs[i], ll_strerror(err));
            const Loopledger__V1__Decision *d = b->decision;
            if ((r->level && d->level != r->level) || (r->outcome && d->outcome != r->outcome)) {
                loopledger__v1__entry_body__free_unpacked(b, NULL);
                continue;
            }
            Loopledger__V1__DecisionRecord *rec = ll_arena_alloc(a, sizeof *rec);
            if (!rec) {
                loopledger__v1__entry_body__free_unpacked(b, NULL);
                return LL_ERR_NOMEM;
            }
            loopledger__v1__decision_record__init(rec);
            rec->level = d->level;
            rec->outcome = d->outcome;
            rec->rationale = ll_arena_strdup(a, d->rationale);
            rec->decided = ll_arena_alloc(a, (b->n_links ? b->n_links : 1) * sizeof *rec->decided);
            err = rec->decided ? ll_query_ref(txn, a, seqs[i], &rec->decision) : LL_ERR_NOMEM;
            for (size_t l = 0; !err && l < b->n_links && rec->n_decided < DH_MAX_DECIDED; l++) {
                if (b->links[l]->relation != LOOPLEDGER__V1__RELATION__DECIDES)
                    continue;
                Loopledger__V1__DecidedEntry *de = ll_arena_alloc(a, sizeof *de);
                if (!de) {
                    err = LL_ERR_NOMEM;
                    break;
                }
                loopledger__v1__decided_entry__init(de);
                err = evidence_of(txn, a, b->links[l]->target_seq, hops, de, msg, cap);
                refs += 1 + de->n_evidence;
                rec->decided[rec->n_decided++] = de;
            }
            loopledger__v1__entry_body__free_unpacked(b, NULL);
            if (err)
                return err;
            resp->decisions[resp->n_decisions++] = rec;
        }
        if (next == UINT64_MAX)
            break;
        from = next;
    }
    if (stopped && next != UINT64_MAX) {
        char *tok = ll_arena_alloc(a, 24);
        if (!tok)
            return LL_ERR_NOMEM;
        snprintf(tok, 24, "%" PRIu64, next);
        resp->next_page_token = tok;
    }
    if (a->failed)
        return LL_ERR_NOMEM;
    *out = resp;
    return LL_OK;
}

/* ---- PendingApprovals ---- */

typedef struct pend_ctx {
    ll_txn_t *txn;
    ll_arena_t *a;
    Loopledger__V1__PendingApprovalsResponse *resp;
    size_t page;
    uint8_t next_key[1 + LL_ID_SIZE + 8];
    size_t next_len;
    int err;
} pend_ctx_t;

static int approver_cb(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    Loopledger__V1__PendingApproval *p = ((void **)ctx)[0];
    ll_arena_t *a = ((void **)ctx)[1];
    (void)val;
    (void)vlen;
    if (p->n_approved_by == LL_GOV_MAX_APPROVALS)
        return 1;
    char *name = ll_arena_alloc(a, klen - 9 + 1);
    if (!name)
        return LL_ERR_NOMEM;
    memcpy(name, key + 9, klen - 9);
    name[klen - 9] = 0;
    p->approved_by[p->n_approved_by++] = name;
    return 0;
}

static int pend_cb(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    pend_ctx_t *c = ctx;
    uint64_t seq = ll_get_be64(key + klen - 8);
    ll_hitl_t h;
    Loopledger__V1__EntryBody *pb;
    (void)val;
    (void)vlen;
    if (c->resp->n_pending == c->page) {
        memcpy(c->next_key, key, klen);
        c->next_len = klen;
        return 1;
    }
    Loopledger__V1__PendingApproval *p = ll_arena_alloc(c->a, sizeof *p);
    if (!p)
        return c->err = LL_ERR_NOMEM;
    loopledger__v1__pending_approval__init(p);
    if ((c->err = ll_query_ref(c->txn, c->a, seq, &p->entry)) ||
        (c->err = ll_index_hitl(c->txn, seq, &h)) ||
        (c->err = ll_record_load(c->txn, h.policy_seq, &pb, NULL, NULL)))
        return c->err;
    p->policy_seq = h.policy_seq;
    if (pb->kind_case == LOOPLEDGER__V1__ENTRY_BODY__KIND_POLICY) {
        p->policy_name = ll_arena_strdup(c->a, pb->policy->name);
    } else { /* ll_gov: a conclusion against the experiment's verdict */
        char nm[96];
        snprintf(nm, sizeof nm, "contradicts the verdict of experiment #%llu",
                 (unsigned long long)h.policy_seq);
        p->policy_name = ll_arena_strdup(c->a, nm);
    }
    loopledger__v1__entry_body__free_unpacked(pb, NULL);
    p->level = (Loopledger__V1__HitlLevel)h.level;
    p->approvals_required = h.required;
    p->approved_by = ll_arena_alloc(c->a, LL_GOV_MAX_APPROVALS * sizeof *p->approved_by);
    if (!p->approved_by)
        return c->err = LL_ERR_NOMEM;
    uint8_t prefix[9] = {LL_IX_APPROVAL};
    void *actx[2] = {p, c->a};
    ll_put_be64(prefix + 1, seq);
    if ((c->err = ll_store_scan(c->txn, LL_TBL_INDEX, prefix, 9, NULL, 0, 0, approver_cb, actx)))
        return c->err;
    c->resp->pending[c->resp->n_pending++] = p;
    return 0;
}

int ll_govquery_pending(ll_txn_t *txn, ll_arena_t *a,
                        const Loopledger__V1__PendingApprovalsRequest *r,
                        Loopledger__V1__PendingApprovalsResponse **out, char *msg, size_t cap)
{
    pend_ctx_t c = {.txn = txn, .a = a, .page = r->page_size ? r->page_size : 100};
    uint8_t prefix[1 + LL_ID_SIZE], start[1 + LL_ID_SIZE + 8];
    size_t pl = 1, sl = 0;
    int err;

    if (r->page_size > 1000)
        LL_FAIL(LL_ERR_INVALID, "page_size %u exceeds 1000", r->page_size);
    if (strlen(r->initiative) > LL_MAX_ID_LEN)
        LL_FAIL(LL_ERR_INVALID, "initiative is at most %d characters", LL_MAX_ID_LEN);
    prefix[0] = LL_IX_PENDING;
    if (r->initiative[0]) {
        memcpy(prefix + 1, r->initiative, strlen(r->initiative) + 1);
        pl += strlen(r->initiative) + 1;
    }
    if (r->page_token[0]) {
        size_t tl = strlen(r->page_token);
        if (tl % 2 || tl / 2 > sizeof start || tl / 2 < pl ||
            ll_hex_decode(r->page_token, tl, start, tl / 2) || memcmp(start, prefix, pl))
            LL_FAIL(LL_ERR_INVALID, "page_token is not one this server issued");
        sl = tl / 2;
    }
    c.resp = ll_arena_alloc(a, sizeof *c.resp);
    if (!c.resp)
        return LL_ERR_NOMEM;
    loopledger__v1__pending_approvals_response__init(c.resp);
    c.resp->pending = ll_arena_alloc(a, c.page * sizeof *c.resp->pending);
    c.resp->next_page_token = (char *)"";
    if (!c.resp->pending)
        return LL_ERR_NOMEM;
    err = ll_store_scan(txn, LL_TBL_INDEX, prefix, pl, sl ? start : NULL, sl, 0, pend_cb, &c);
    if (!err)
        err = c.err;
    if (err)
        LL_FAIL(err, "pending approvals: %s", ll_strerror(err));
    if (c.next_len) {
        char *tok = ll_arena_alloc(a, 2 * c.next_len + 1);
        if (!tok)
            return LL_ERR_NOMEM;
        ll_hex_encode(c.next_key, c.next_len, tok);
        c.resp->next_page_token = tok;
    }
    *out = c.resp;
    return LL_OK;
}

/* ---- ActorHistory ---- */

typedef struct actor_ctx {
    ll_txn_t *txn;
    ll_arena_t *a;
    Loopledger__V1__ActorHistoryResponse *resp;
    const char *actor;
    size_t cap_gov, cap_keys;
    uint64_t count;
    int err;
} actor_ctx_t;

static int add_key(actor_ctx_t *c, const uint8_t *pub, uint64_t reg_seq)
{
    uint8_t kid[LL_HASH_LEN];
    uint64_t rs;
    int64_t revoked = 0;
    if (c->resp->n_keys == c->cap_keys)
        return LL_OK;
    ll_sha256(pub, LL_PUBKEY_LEN, kid);
    Loopledger__V1__ActorKey *k = ll_arena_alloc(c->a, sizeof *k);
    char *hex = ll_arena_alloc(c->a, 2 * LL_HASH_LEN + 1);
    if (!k || !hex)
        return LL_ERR_NOMEM;
    loopledger__v1__actor_key__init(k);
    ll_hex_encode(kid, LL_HASH_LEN, hex);
    k->keyid = hex;
    k->registered_seq = reg_seq;
    if (ll_trust_key_info(c->txn, kid, &rs, &revoked) == LL_OK)
        k->revoked_unix_nanos = revoked;
    c->resp->keys[c->resp->n_keys++] = k;
    return LL_OK;
}

static int subject_cb(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    actor_ctx_t *c = ctx;
    uint64_t seq = ll_get_be64(key + klen - 8);
    Loopledger__V1__EntryBody *b;
    Loopledger__V1__EntryRef *ref;
    const Loopledger__V1__ActorRegistration *reg = NULL;
    (void)val;
    (void)vlen;
    if (c->resp->n_governance == c->cap_gov)
        return 1;
    if ((c->err = ll_query_ref(c->txn, c->a, seq, &ref)) ||
        (c->err = ll_entry_load_body(c->txn, seq, &b)))
        return c->err;
    c->resp->governance[c->resp->n_governance++] = ref;
    switch (b->kind_case) {
    case LOOPLEDGER__V1__ENTRY_BODY__KIND_ACTOR: reg = b->actor; break;
    case LOOPLEDGER__V1__ENTRY_BODY__KIND_GENESIS:
        reg = !strcmp(b->genesis->admin->actor_id, c->actor) ? b->genesis->admin
                                                             : b->genesis->server;
        break;
    case LOOPLEDGER__V1__ENTRY_BODY__KIND_KEY_ROTATION:
        c->err = add_key(c, b->key_rotation->new_public_key.data, seq);
        break;
    default: break;
    }
    if (reg) {
        c->resp->display_name = ll_arena_strdup(c->a, reg->display_name);
        c->err = add_key(c, reg->public_key.data, seq);
    }
    loopledger__v1__entry_body__free_unpacked(b, NULL);
    return c->err;
}

static int count_cb(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    (void)key;
    (void)klen;
    (void)val;
    (void)vlen;
    ((actor_ctx_t *)ctx)->count++;
    return 0;
}

static int recent_cb(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    actor_ctx_t *c = ctx;
    (void)val;
    (void)vlen;
    if (c->resp->n_recent == 20)
        return 1;
    c->err = ll_query_ref(c->txn, c->a, ll_get_be64(key + klen - 8),
                          &c->resp->recent[c->resp->n_recent]);
    if (c->err)
        return c->err;
    c->resp->n_recent++;
    return 0;
}

int ll_govquery_actor(ll_txn_t *txn, ll_arena_t *a, const Loopledger__V1__ActorHistoryRequest *r,
                      Loopledger__V1__ActorHistoryResponse **out, char *msg, size_t cap)
{
    actor_ctx_t c = {.txn = txn, .a = a, .actor = r->actor_id, .cap_gov = 200, .cap_keys = 32};
    uint32_t roles;
    uint8_t prefix[1 + LL_ID_SIZE];
    size_t n = strlen(r->actor_id);
    int err;

    if (n == 0 || n > LL_MAX_ID_LEN)
        LL_FAIL(LL_ERR_INVALID, "actor_id is required (at most %d characters)", LL_MAX_ID_LEN);
    if ((err = ll_trust_actor_roles(txn, r->actor_id, &roles)))
        LL_FAIL(err, err == LL_ERR_NOT_FOUND ? "no actor \"%s\"" : "actor \"%s\": %s", r->actor_id,
             ll_strerror(err));
    c.resp = ll_arena_alloc(a, sizeof *c.resp);
    if (!c.resp)
        return LL_ERR_NOMEM;
    loopledger__v1__actor_history_response__init(c.resp);
    c.resp->actor_id = ll_arena_strdup(a, r->actor_id);
    c.resp->roles = ll_arena_alloc(a, 6 * sizeof *c.resp->roles);
    c.resp->governance = ll_arena_alloc(a, c.cap_gov * sizeof *c.resp->governance);
    c.resp->keys = ll_arena_alloc(a, c.cap_keys * sizeof *c.resp->keys);
    c.resp->recent = ll_arena_alloc(a, 20 * sizeof *c.resp->recent);
    if (a->failed)
        return LL_ERR_NOMEM;
    for (int role = 1; role <= 5; role++)
        if (roles & (1u << role))
            c.resp->roles[c.resp->n_roles++] = (Loopledger__V1__Role)role;
    prefix[0] = LL_IX_SUBJECT;
    memcpy(prefix + 1, r->actor_id, n + 1);
    if ((err = ll_store_scan(txn, LL_TBL_INDEX, prefix, n + 2, NULL, 0, 0, subject_cb, &c)) ||
        (err = c.err))
        LL_FAIL(err, "actor history: %s", ll_strerror(err));
    prefix[0] = LL_IX_AUTHOR;
    if ((err = ll_store_scan(txn, LL_TBL_INDEX, prefix, n + 2, NULL, 0, 0, count_cb, &c)) ||
        (err = ll_store_scan(txn, LL_TBL_INDEX, prefix, n + 2, NULL, 0, 1, recent_cb, &c)) ||
        (err = c.err))
        LL_FAIL(err, "actor history: %s", ll_strerror(err));
    c.resp->authored_count = c.count;
    if (!c.resp->display_name)
        c.resp->display_name = (char *)"";
    *out = c.resp;
    return LL_OK;
}
