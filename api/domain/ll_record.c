/*
 * ll_record: effective state of long-lived records (ll_record.h).
 */
#include "ll_record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ll_assert.h"
#include "ll_bytes.h"
#include "ll_check.h"
#include "ll_entry.h"
#include "ll_err.h"
#include "ll_index.h"
#include "ll_kinds.h"
#include "ll_mask.h"

#define K(x) LOOPLEDGER__V1__ENTRY_BODY__KIND_##x
#define FOLLOWS LOOPLEDGER__V1__RELATION__FOLLOWS

static size_t record_key(uint8_t k[9], uint64_t seq)
{
    k[0] = LL_IX_RECORD;
    ll_put_be64(k + 1, seq);
    return 9;
}

typedef struct follower {
    ll_txn_t *txn;
    uint32_t kind;
    uint64_t below, by;
    int found;
} follower_t;

static int follower_cb(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val,
                       size_t vlen)
{
    follower_t *f = ctx;
    ll_entry_meta_t m;
    uint64_t src = ll_get_be64(key + 10);
    (void)val;
    (void)vlen;
    if (klen != 18 || src >= f->below)
        return 0;
    if (ll_index_meta(f->txn, src, &m) == LL_OK && m.kind == f->kind) {
        f->by = src;
        f->found = 1;
        return 1;
    }
    return 0;
}

int ll_record_followed_by(ll_txn_t *txn, uint64_t seq, uint64_t n, uint64_t *by)
{
    ll_entry_meta_t m;
    uint8_t prefix[10];
    int err;
    if ((err = ll_index_meta(txn, seq, &m)))
        return err;
    follower_t f = {.txn = txn, .kind = m.kind, .below = n};
    prefix[0] = LL_IX_LINK_IN;
    ll_put_be64(prefix + 1, seq);
    prefix[9] = (uint8_t)FOLLOWS;
    if ((err = ll_store_scan(txn, LL_TBL_INDEX, prefix, sizeof prefix, NULL, 0, 0, follower_cb,
                             &f)))
        return err;
    if (!f.found)
        return LL_ERR_NOT_FOUND;
    *by = f.by;
    return LL_OK;
}

/* The record b FOLLOWS must be the latest entry of its record. */
static int check_latest(ll_txn_t *txn, const Loopledger__V1__EntryBody *b, uint64_t target,
                        char *msg, size_t cap)
{
    uint64_t by;
    int err = ll_record_followed_by(txn, target, UINT64_MAX, &by);
    if (err == LL_OK)
        LL_FAIL(LL_ERR_PRECONDITION,
             "#%llu was already updated by #%llu: follow the record's latest entry instead",
             (unsigned long long)target, (unsigned long long)by);
    if (err != LL_ERR_NOT_FOUND)
        LL_FAIL(err, "reading the followers of #%llu: %s", (unsigned long long)target,
             ll_strerror(err));
    if (b->kind_case == K(CHARTER)) {
        /* A charter may also be replaced without a link (a new charter). */
        ll_loop_state_t st;
        if (ll_index_state(txn, b->initiative, &st) == LL_OK && st.charter_seq != target &&
            st.charter_seq != UINT64_MAX)
            LL_FAIL(LL_ERR_PRECONDITION,
                 "#%llu is not the latest charter of initiative \"%s\": follow #%llu",
                 (unsigned long long)target, b->initiative, (unsigned long long)st.charter_seq);
    }
    return LL_OK;
}

int ll_record_merge(ll_txn_t *txn, const Loopledger__V1__EntryBody *b,
                    Loopledger__V1__EntryBody **out, char *msg, size_t cap)
{
    Loopledger__V1__EntryBody *base = NULL;
    uint64_t target = UINT64_MAX;
    int err, patch = ll_mask_is_patch(b);

    *out = NULL;
    if (!ll_mask_is_record(b->kind_case))
        return LL_OK;
    for (size_t i = 0; i < b->n_links; i++) {
        ll_entry_meta_t tm;
        uint64_t t = b->links[i]->target_seq;
        if (b->links[i]->relation != FOLLOWS)
            continue;
        if ((err = ll_index_meta(txn, t, &tm)))
            LL_FAIL(err == LL_ERR_NOT_FOUND ? LL_ERR_CORRUPT : err,
                 "no index record for entry %llu", (unsigned long long)t);
        if (tm.kind != b->kind_case) {
            if (patch)
                LL_FAIL(LL_ERR_PRECONDITION,
                     "a patch of a %s must FOLLOW the %s it updates; #%llu is a %s",
                     ll_kind_name(b->kind_case), ll_kind_name(b->kind_case),
                     (unsigned long long)t, ll_kind_name(tm.kind));
            continue; /* the link table decides */
        }
        /* Charters followed any earlier charter before patches existed;
         * their replay must accept what was accepted then. */
        if ((patch || b->kind_case != K(CHARTER)) && (err = check_latest(txn, b, t, msg, cap)))
            return err;
        target = t;
    }
    if (!patch)
        return LL_OK;
    LL_ASSERT(target != UINT64_MAX); /* ll_mask_check: exactly one FOLLOWS */
    if ((err = ll_record_load(txn, target, &base, NULL, NULL)))
        LL_FAIL(err, "reading #%llu: %s", (unsigned long long)target, ll_strerror(err));
    err = ll_mask_apply(base, b, out);
    loopledger__v1__entry_body__free_unpacked(base, NULL);
    if (err)
        LL_FAIL(err, "applying the update_mask to #%llu: %s", (unsigned long long)target,
             ll_strerror(err));
    char why[LL_MSG_MAX - 96];
    if ((err = ll_check_body(*out, why, sizeof why))) {
        loopledger__v1__entry_body__free_unpacked(*out, NULL);
        *out = NULL;
        LL_FAIL(err, "the record after this patch of #%llu is not valid: %s",
             (unsigned long long)target, why);
    }
    return LL_OK;
}

int ll_record_put(ll_txn_t *txn, uint64_t seq, const Loopledger__V1__EntryBody *eff)
{
    uint8_t k[9];
    size_t n = loopledger__v1__entry_body__get_packed_size(eff);
    uint8_t *v = malloc(n ? n : 1);
    int err;
    if (!v)
        return LL_ERR_NOMEM;
    loopledger__v1__entry_body__pack(eff, v);
    err = ll_store_put(txn, LL_TBL_INDEX, k, record_key(k, seq), v, n);
    free(v);
    return err;
}

int ll_record_is_patched(ll_txn_t *txn, uint64_t seq)
{
    uint8_t k[9];
    const uint8_t *v;
    size_t vl;
    return ll_store_get(txn, LL_TBL_INDEX, k, record_key(k, seq), &v, &vl) == LL_OK;
}

int ll_record_load(ll_txn_t *txn, uint64_t seq, Loopledger__V1__EntryBody **out,
                   int64_t *time_ns, ProtobufCAllocator *alloc)
{
    uint8_t k[9];
    const uint8_t *v;
    size_t vl;
    int err = ll_store_get(txn, LL_TBL_INDEX, k, record_key(k, seq), &v, &vl);
    if (err == LL_ERR_NOT_FOUND)
        return ll_entry_load_body_fast(txn, seq, out, time_ns, alloc);
    if (err)
        return err;
    if (time_ns) {
        ll_entry_meta_t m;
        if ((err = ll_index_meta(txn, seq, &m)))
            return err == LL_ERR_NOT_FOUND ? LL_ERR_CORRUPT : err;
        *time_ns = m.time_ns;
    }
    *out = loopledger__v1__entry_body__unpack(alloc, vl, v);
    return *out ? LL_OK : LL_ERR_CORRUPT;
}
