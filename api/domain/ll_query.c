/*
 * ll_query: entry references and summaries, ListEntries filters,
 * ListOpenLoops (ll_query.h).
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
#include "ll_record.h"

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

    if ((err = ll_index_meta(txn, seq, &m)) || (err = ll_record_load(txn, seq, &b, NULL, NULL)))
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
