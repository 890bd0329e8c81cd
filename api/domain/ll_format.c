/*
 * ll_format: format versions and in-place upgrades (ll_format.h).
 *
 * Why the upgrade collects before it writes: it rewrites records of the
 * table it scans, and doing that inside the scan callback would rely on
 * LMDB cursor behaviour under concurrent puts; the records are small and
 * the upgrade runs once.
 */
#include "ll_format.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ll_bytes.h"
#include "ll_err.h"
#include "ll_index.h"

/* Format 1's records, frozen as they were written: the writer's structs on
 * LP64 little-endian machines (where format 1 was produced). */
typedef struct v1_state {
    uint64_t first_seq, charter_seq, stage_seq, entries;
    uint64_t open[7];
    double max_rollout;
    int64_t created_ns;
    uint32_t cycle, stage;
} v1_state_t;

typedef struct v1_hitl {
    uint32_t status;
    uint64_t policy_seq;
    uint32_t level, required, approvals;
} v1_hitl_t;

_Static_assert(sizeof(v1_state_t) == 112, "format 1 'S' records are 112 bytes");
_Static_assert(sizeof(v1_hitl_t) == 32, "format 1 'H' records are 32 bytes");

int ll_format_version(ll_txn_t *txn, uint32_t *version)
{
    const uint8_t *v;
    size_t n;
    int err = ll_store_get(txn, LL_TBL_META, LL_FORMAT_KEY, strlen(LL_FORMAT_KEY), &v, &n);
    if (err == LL_ERR_NOT_FOUND) {
        *version = ll_store_size(txn) ? 1 : LL_FORMAT_VERSION;
        return LL_OK;
    }
    if (err)
        return err;
    if (n != 4)
        return LL_ERR_CORRUPT;
    *version = ll_get_be32(v);
    return LL_OK;
}

static int refuse_newer(uint32_t version, char *msg, size_t cap)
{
    LL_FAIL(LL_ERR_PRECONDITION,
            "the data directory has data format %u, newer than format %u of this "
            "loopledgerd: run the loopledgerd release that wrote it (or a newer one)",
            version, LL_FORMAT_VERSION);
}

int ll_format_check(ll_store_t *st, char *msg, size_t cap)
{
    ll_txn_t *txn;
    uint32_t version;
    int err = ll_store_begin_read(st, &txn);
    if (err)
        LL_FAIL(err, "reading the data format: %s", ll_strerror(err));
    err = ll_format_version(txn, &version);
    ll_store_abort(txn);
    if (err)
        LL_FAIL(err, "reading the data format: %s", ll_strerror(err));
    return version > LL_FORMAT_VERSION ? refuse_newer(version, msg, cap) : LL_OK;
}

/* ---- 1 -> 2 ---- */

typedef struct rewrite {
    uint8_t *key;
    size_t klen, vlen;
    uint8_t val[LL_INDEX_STATE_LEN];
} rewrite_t;

typedef struct upgrade {
    rewrite_t *r;
    size_t n, cap;
    int err;
} upgrade_t;

static rewrite_t *next_rewrite(upgrade_t *u, const uint8_t *key, size_t klen)
{
    if (u->n == u->cap) {
        size_t ncap = u->cap ? 2 * u->cap : 256;
        rewrite_t *p = realloc(u->r, ncap * sizeof *p);
        if (!p)
            return NULL;
        u->r = p;
        u->cap = ncap;
    }
    rewrite_t *w = &u->r[u->n];
    if (!(w->key = malloc(klen)))
        return NULL;
    memcpy(w->key, key, klen);
    w->klen = klen;
    u->n++;
    return w;
}

static int v1_cb(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    upgrade_t *u = ctx;
    rewrite_t *w;
    if (klen == 0)
        return 0;
    switch (key[0]) {
    case LL_IX_STATE: {
        v1_state_t o;
        ll_loop_state_t s;
        if (vlen != sizeof o)
            return u->err = LL_ERR_CORRUPT;
        memcpy(&o, val, sizeof o);
        memset(&s, 0, sizeof s);
        s.first_seq = o.first_seq;
        s.charter_seq = o.charter_seq;
        s.stage_seq = o.stage_seq;
        s.entries = o.entries;
        memcpy(s.open, o.open, sizeof s.open);
        s.max_rollout = o.max_rollout;
        s.created_ns = o.created_ns;
        s.cycle = o.cycle;
        s.stage = o.stage;
        if (!(w = next_rewrite(u, key, klen)))
            return u->err = LL_ERR_NOMEM;
        ll_index_encode_state(&s, w->val);
        w->vlen = LL_INDEX_STATE_LEN;
        return 0;
    }
    case LL_IX_HITL: {
        v1_hitl_t o;
        ll_hitl_t h;
        if (vlen != sizeof o)
            return u->err = LL_ERR_CORRUPT;
        memcpy(&o, val, sizeof o);
        h.status = o.status;
        h.policy_seq = o.policy_seq;
        h.level = o.level;
        h.required = o.required;
        h.approvals = o.approvals;
        if (!(w = next_rewrite(u, key, klen)))
            return u->err = LL_ERR_NOMEM;
        ll_index_encode_hitl(&h, w->val);
        w->vlen = LL_INDEX_HITL_LEN;
        return 0;
    }
    case LL_IX_SERIES: {
        double d;
        if (vlen != sizeof d)
            return u->err = LL_ERR_CORRUPT;
        memcpy(&d, val, sizeof d);
        if (!(w = next_rewrite(u, key, klen)))
            return u->err = LL_ERR_NOMEM;
        ll_put_be_double(w->val, d);
        w->vlen = 8;
        return 0;
    }
    default:
        return 0;
    }
}

static int upgrade_1_to_2(ll_txn_t *txn, char *msg, size_t cap)
{
    upgrade_t u = {0};
    int err = LL_OK;
    static const uint8_t prefixes[] = {LL_IX_STATE, LL_IX_HITL, LL_IX_SERIES};
    for (size_t i = 0; i < sizeof prefixes && !err; i++)
        if (!(err = ll_store_scan(txn, LL_TBL_INDEX, &prefixes[i], 1, NULL, 0, 0, v1_cb, &u)))
            err = u.err;
    for (size_t i = 0; i < u.n && !err; i++)
        err = ll_store_put(txn, LL_TBL_INDEX, u.r[i].key, u.r[i].klen, u.r[i].val, u.r[i].vlen);
    for (size_t i = 0; i < u.n; i++)
        free(u.r[i].key);
    free(u.r);
    if (err)
        LL_FAIL(err, "upgrading data format 1 to 2: %s (%s)", ll_strerror(err),
                ll_store_last_error());
    return LL_OK;
}

int ll_format_prepare(ll_store_t *st, uint32_t *from, char *msg, size_t cap)
{
    ll_txn_t *txn = NULL;
    uint32_t version;
    uint8_t v[4];
    int err = ll_store_begin_write(st, &txn);
    if (err)
        LL_FAIL(err, "opening the data format: %s", ll_strerror(err));
    const uint8_t *cur;
    size_t n;
    int stored = ll_store_get(txn, LL_TBL_META, LL_FORMAT_KEY, strlen(LL_FORMAT_KEY), &cur,
                              &n) == LL_OK;
    if ((err = ll_format_version(txn, &version))) {
        snprintf(msg, cap, "reading the data format: %s", ll_strerror(err));
        goto out;
    }
    if (from)
        *from = version;
    if (version > LL_FORMAT_VERSION) {
        err = refuse_newer(version, msg, cap);
        goto out;
    }
    if (version == LL_FORMAT_VERSION && stored)
        goto out; /* nothing to do: the read-only abort below */
    if (version == 1 && (err = upgrade_1_to_2(txn, msg, cap)))
        goto out;
    ll_put_be32(v, LL_FORMAT_VERSION);
    if ((err = ll_store_put(txn, LL_TBL_META, LL_FORMAT_KEY, strlen(LL_FORMAT_KEY), v, 4))) {
        snprintf(msg, cap, "writing the data format: %s", ll_strerror(err));
        goto out;
    }
    err = ll_store_commit(txn);
    txn = NULL;
    if (err)
        snprintf(msg, cap, "committing the data format: %s (%s)", ll_strerror(err),
                 ll_store_last_error());
out:
    ll_store_abort(txn);
    return err;
}
