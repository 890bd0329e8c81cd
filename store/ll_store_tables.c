/*
 * ll_store_tables: the auxiliary tables (ll_store.h): keys and values are
 * the callers' bytes; LMDB keeps them sorted, which ll_store_scan uses
 * for prefix and range scans in both directions.
 */
#include <stdlib.h>
#include <string.h>

#include "ll_assert.h"
#include "ll_err.h"
#include "ll_store_int.h"

int ll_store_get(ll_txn_t *txn, enum ll_table tbl, const void *key, size_t klen,
                 const uint8_t **val, size_t *vlen)
{
    if ((unsigned)tbl >= LL_TBL__COUNT)
        return LL_ERR_INVALID;
    LL_ASSERT(!txn->child_open);
    MDB_val k = {klen, (void *)key}, v;
    int rc = mdb_get(txn->txn, txn->st->aux[tbl], &k, &v);
    if (rc)
        return ll_store_map_err_(rc, "read table");
    *val = v.mv_data;
    *vlen = v.mv_size;
    return LL_OK;
}

int ll_store_put(ll_txn_t *txn, enum ll_table tbl, const void *key, size_t klen,
                 const void *val, size_t vlen)
{
    if ((unsigned)tbl >= LL_TBL__COUNT || !txn->write)
        return LL_ERR_INVALID;
    LL_ASSERT(!txn->child_open);
    MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};
    return ll_store_write_err_(txn->st, mdb_put(txn->txn, txn->st->aux[tbl], &k, &v, 0), "write table");
}

int ll_store_del(ll_txn_t *txn, enum ll_table tbl, const void *key, size_t klen)
{
    if ((unsigned)tbl >= LL_TBL__COUNT || !txn->write)
        return LL_ERR_INVALID;
    LL_ASSERT(!txn->child_open);
    MDB_val k = {klen, (void *)key};
    int rc = mdb_del(txn->txn, txn->st->aux[tbl], &k, NULL);
    return rc == MDB_NOTFOUND ? LL_OK : ll_store_map_err_(rc, "delete from table");
}

int ll_store_clear(ll_txn_t *txn, enum ll_table tbl)
{
    if ((unsigned)tbl >= LL_TBL__COUNT || !txn->write)
        return LL_ERR_INVALID;
    LL_ASSERT(!txn->child_open);
    return ll_store_map_err_(mdb_drop(txn->txn, txn->st->aux[tbl], 0), "clear table");
}

static int has_prefix(const MDB_val *k, const void *prefix, size_t plen)
{
    return k->mv_size >= plen && memcmp(k->mv_data, prefix, plen) == 0;
}

struct ll_cursor {
    MDB_cursor *cur;
    MDB_cursor_op op; /* MDB_FIRST, then MDB_NEXT */
};

int ll_store_cursor_open(ll_txn_t *txn, enum ll_table tbl, ll_cursor_t **out)
{
    int rc;
    *out = NULL;
    if ((unsigned)tbl >= LL_TBL__COUNT)
        return LL_ERR_INVALID;
    ll_cursor_t *c = malloc(sizeof *c);
    if (!c)
        return LL_ERR_NOMEM;
    if ((rc = mdb_cursor_open(txn->txn, txn->st->aux[tbl], &c->cur))) {
        free(c);
        return ll_store_map_err_(rc, "open cursor");
    }
    c->op = MDB_FIRST;
    *out = c;
    return LL_OK;
}

int ll_store_cursor_next(ll_cursor_t *c, const uint8_t **key, size_t *klen,
                         const uint8_t **val, size_t *vlen)
{
    MDB_val k, v;
    int rc = mdb_cursor_get(c->cur, &k, &v, c->op);
    if (rc == MDB_NOTFOUND)
        return LL_ERR_NOT_FOUND;
    if (rc)
        return ll_store_map_err_(rc, "walk table");
    c->op = MDB_NEXT;
    *key = k.mv_data;
    *klen = k.mv_size;
    *val = v.mv_data;
    *vlen = v.mv_size;
    return LL_OK;
}

void ll_store_cursor_close(ll_cursor_t *c)
{
    if (!c)
        return;
    mdb_cursor_close(c->cur);
    free(c);
}

int ll_store_scan(ll_txn_t *txn, enum ll_table tbl, const void *prefix,
                  size_t plen, const void *from, size_t flen, int reverse,
                  ll_store_scan_fn fn, void *ctx)
{
    MDB_cursor *cur;
    MDB_val k, v;
    int rc, err = LL_OK;
    uint8_t upper[512];

    if ((unsigned)tbl >= LL_TBL__COUNT || plen > sizeof(upper))
        return LL_ERR_INVALID;
    if ((rc = mdb_cursor_open(txn->txn, txn->st->aux[tbl], &cur)))
        return ll_store_map_err_(rc, "open cursor");
    if (!reverse && !from && plen == 0) {
        rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); /* LMDB has no empty keys */
    } else if (!reverse) {
        k.mv_data = (void *)(from ? from : prefix);
        k.mv_size = from ? flen : plen;
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    } else if (from) {
        /* Last key <= from: position at the first key >= from and step
         * back unless it is from itself. */
        k.mv_data = (void *)from;
        k.mv_size = flen;
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        if (rc == MDB_NOTFOUND)
            rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
        else if (rc == 0 && (k.mv_size != flen || memcmp(k.mv_data, from, flen)))
            rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
    } else {
        /* Last key with the prefix: just before the first key greater than
         * every key with it (prefix with its last non-0xff byte bumped). */
        size_t n = plen;
        memcpy(upper, prefix, plen);
        while (n > 0 && upper[n - 1] == 0xff)
            n--;
        if (n == 0) {
            rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
        } else {
            upper[n - 1]++;
            k.mv_data = upper;
            k.mv_size = n;
            rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
            rc = rc == MDB_NOTFOUND ? mdb_cursor_get(cur, &k, &v, MDB_LAST)
                                    : rc ? rc : mdb_cursor_get(cur, &k, &v, MDB_PREV);
        }
    }
    while (rc == 0 && has_prefix(&k, prefix, plen)) {
        int r = fn(ctx, k.mv_data, k.mv_size, v.mv_data, v.mv_size);
        if (r) {
            err = r < 0 ? r : LL_OK;
            break;
        }
        rc = mdb_cursor_get(cur, &k, &v, reverse ? MDB_PREV : MDB_NEXT);
    }
    if (rc && rc != MDB_NOTFOUND && err == LL_OK)
        err = ll_store_map_err_(rc, "scan table");
    mdb_cursor_close(cur);
    return err;
}
