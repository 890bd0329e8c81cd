/*
 * ll_index: readers and writers of the index records (ll_index.h).
 *
 * Why the layouts live here and only here: the writers (ll_loop, ll_gov)
 * and the many readers (queries, as-of replay, audit) used to each know
 * the byte layout of the records they touched; one reader per record
 * family means a layout change is one edit, and the as-of replay and the
 * live path cannot read the same record two ways.
 */
#include "ll_index.h"

#include <string.h>

#include "ll_bytes.h"
#include "ll_err.h"
#include "loopledger/v1/entry.pb-c.h"

#define ST(x) LOOPLEDGER__V1__APPROVAL_STATUS__APPROVAL_STATUS_##x

/* The state record's encoding names seven open-loop counters; a new
 * category is a new format version (ll_format.h). */
_Static_assert(LL_OPEN__COUNT == 7, "the 'S' record encodes 7 open-loop counters");

void ll_index_encode_state(const ll_loop_state_t *s, uint8_t out[LL_INDEX_STATE_LEN])
{
    uint8_t *p = out;
    ll_put_be64(p, s->first_seq);
    ll_put_be64(p + 8, s->charter_seq);
    ll_put_be64(p + 16, s->stage_seq);
    ll_put_be64(p + 24, s->entries);
    p += 32;
    for (int i = 0; i < LL_OPEN__COUNT; i++, p += 8)
        ll_put_be64(p, s->open[i]);
    ll_put_be_double(p, s->max_rollout);
    ll_put_be64(p + 8, (uint64_t)s->created_ns);
    ll_put_be32(p + 16, s->cycle);
    ll_put_be32(p + 20, s->stage);
}

void ll_index_decode_state(const uint8_t in[LL_INDEX_STATE_LEN], ll_loop_state_t *s)
{
    const uint8_t *p = in;
    s->first_seq = ll_get_be64(p);
    s->charter_seq = ll_get_be64(p + 8);
    s->stage_seq = ll_get_be64(p + 16);
    s->entries = ll_get_be64(p + 24);
    p += 32;
    for (int i = 0; i < LL_OPEN__COUNT; i++, p += 8)
        s->open[i] = ll_get_be64(p);
    s->max_rollout = ll_get_be_double(p);
    s->created_ns = (int64_t)ll_get_be64(p + 8);
    s->cycle = ll_get_be32(p + 16);
    s->stage = ll_get_be32(p + 20);
}

void ll_index_encode_hitl(const ll_hitl_t *h, uint8_t out[LL_INDEX_HITL_LEN])
{
    ll_put_be32(out, h->status);
    ll_put_be64(out + 4, h->policy_seq);
    ll_put_be32(out + 12, h->level);
    ll_put_be32(out + 16, h->required);
    ll_put_be32(out + 20, h->approvals);
}

void ll_index_decode_hitl(const uint8_t in[LL_INDEX_HITL_LEN], ll_hitl_t *h)
{
    memset(h, 0, sizeof *h);
    h->status = ll_get_be32(in);
    h->policy_seq = ll_get_be64(in + 4);
    h->level = ll_get_be32(in + 12);
    h->required = ll_get_be32(in + 16);
    h->approvals = ll_get_be32(in + 20);
}

size_t ll_index_key_str(uint8_t *k, size_t at, const char *s)
{
    size_t n = strlen(s);
    memcpy(k + at, s, n);
    k[at + n] = 0;
    return at + n + 1;
}

int ll_index_meta(ll_txn_t *txn, uint64_t seq, ll_entry_meta_t *out)
{
    uint8_t k[9] = {LL_IX_META};
    const uint8_t *v;
    size_t vl;
    int err;

    ll_put_be64(k + 1, seq);
    if ((err = ll_store_get(txn, LL_TBL_INDEX, k, sizeof k, &v, &vl)))
        return err;
    /* kind u8, time8, ini_len u8, ini, author_len u8, author */
    if (vl < 11 || v[9] > LL_MAX_ID_LEN || vl < 11u + v[9] || v[10 + v[9]] > LL_MAX_ID_LEN ||
        vl != 11u + v[9] + v[10 + v[9]])
        return LL_ERR_CORRUPT;
    out->kind = v[0];
    out->time_ns = (int64_t)ll_get_be64(v + 1);
    memcpy(out->initiative, v + 10, v[9]);
    out->initiative[v[9]] = 0;
    memcpy(out->author, v + 11 + v[9], v[10 + v[9]]);
    out->author[v[10 + v[9]]] = 0;
    return LL_OK;
}

int ll_index_put_meta(ll_txn_t *txn, uint64_t seq, uint32_t kind, int64_t t,
                    const char *ini, const char *author)
{
    uint8_t k[9] = {LL_IX_META}, v[11 + 2 * LL_MAX_ID_LEN];
    size_t il = strlen(ini), al = strlen(author);

    ll_put_be64(k + 1, seq);
    v[0] = (uint8_t)kind;
    ll_put_be64(v + 1, (uint64_t)t);
    v[9] = (uint8_t)il;
    memcpy(v + 10, ini, il);
    v[10 + il] = (uint8_t)al;
    memcpy(v + 11 + il, author, al);
    return ll_store_put(txn, LL_TBL_INDEX, k, sizeof k, v, 11 + il + al);
}

int ll_index_state(ll_txn_t *txn, const char *initiative, ll_loop_state_t *out)
{
    uint8_t k[1 + LL_ID_SIZE];
    const uint8_t *v;
    size_t vl;
    int err;

    k[0] = LL_IX_STATE;
    size_t kl = ll_index_key_str(k, 1, initiative);
    if ((err = ll_store_get(txn, LL_TBL_INDEX, k, kl, &v, &vl)))
        return err;
    if (vl != LL_INDEX_STATE_LEN)
        return LL_ERR_CORRUPT;
    ll_index_decode_state(v, out);
    return LL_OK;
}

int ll_index_put_state(ll_txn_t *txn, const char *initiative, const ll_loop_state_t *s)
{
    uint8_t k[1 + LL_ID_SIZE], v[LL_INDEX_STATE_LEN];
    k[0] = LL_IX_STATE;
    size_t kl = ll_index_key_str(k, 1, initiative);
    ll_index_encode_state(s, v);
    return ll_store_put(txn, LL_TBL_INDEX, k, kl, v, sizeof v);
}

int ll_index_superseded_by(ll_txn_t *txn, uint64_t seq, uint64_t *by)
{
    uint8_t k[9] = {LL_IX_SUPERSEDED};
    const uint8_t *v;
    size_t vl;
    int err;

    ll_put_be64(k + 1, seq);
    if ((err = ll_store_get(txn, LL_TBL_INDEX, k, sizeof k, &v, &vl)))
        return err;
    if (vl != 8)
        return LL_ERR_CORRUPT;
    *by = ll_get_be64(v);
    return LL_OK;
}

int ll_index_hitl(ll_txn_t *txn, uint64_t seq, ll_hitl_t *out)
{
    uint8_t k[9] = {LL_IX_HITL};
    const uint8_t *v;
    size_t vl;
    int err;
    ll_put_be64(k + 1, seq);
    if ((err = ll_store_get(txn, LL_TBL_INDEX, k, sizeof k, &v, &vl)))
        return err;
    if (vl != LL_INDEX_HITL_LEN)
        return LL_ERR_CORRUPT;
    ll_index_decode_hitl(v, out);
    return LL_OK;
}

int ll_index_put_hitl(ll_txn_t *txn, uint64_t seq, const ll_hitl_t *h)
{
    uint8_t k[9] = {LL_IX_HITL}, v[LL_INDEX_HITL_LEN];
    ll_put_be64(k + 1, seq);
    ll_index_encode_hitl(h, v);
    return ll_store_put(txn, LL_TBL_INDEX, k, sizeof k, v, sizeof v);
}

uint32_t ll_index_status(ll_txn_t *txn, uint64_t seq)
{
    ll_hitl_t h;
    int err = ll_index_hitl(txn, seq, &h);
    /* Fail closed: an unreadable record is not "effective". */
    return err == LL_OK ? h.status : err == LL_ERR_NOT_FOUND ? ST(EFFECTIVE) : ST(PENDING);
}

