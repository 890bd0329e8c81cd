/*
 * ll_asof: the building blocks of answers as of a tree size (ll_asof.h):
 * resolving the size, supersession and approval status as of it, and a
 * fast body loader for the replays. The initiative state replay itself is
 * in ll_initiative.c, beside the live answer it must equal.
 */
#include "ll_asof.h"
#include "ll_gov.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ll_bytes.h"
#include "ll_entry.h"
#include "ll_err.h"
#include "ll_query.h"

#define K(x) LOOPLEDGER__V1__ENTRY_BODY__KIND_##x
#define R(x) LOOPLEDGER__V1__RELATION__##x

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

int ll_asof_load_body(ll_txn_t *txn, uint64_t seq, Loopledger__V1__EntryBody **out,
                      int64_t *time_ns, ProtobufCAllocator *alloc)
{
    return ll_entry_load_body_fast(txn, seq, out, time_ns, alloc);
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
