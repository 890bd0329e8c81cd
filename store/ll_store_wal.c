/*
 * ll_store_wal: the store's write-ahead commit (ll_store.h, Durability):
 * a top-level write transaction's new leaves go to the log (ll_durable.h)
 * before LMDB commits without a sync, and what the log hands back after an
 * unclean stop.
 */
#include <stdio.h>
#include <stdlib.h>

#include "ll_assert.h"
#include "ll_bytes.h"
#include "ll_err.h"
#include "ll_store_int.h"

int ll_store_commit_logged(ll_txn_t *txn)
{
    ll_store_t *st = txn->st;
    if (!txn->write || txn->parent || !ll_durable_wal(st->dur))
        return ll_store_commit_(txn, 0);
    LL_ASSERT(!txn->child_open);
    int merr = ll_store_put_tree_meta_(txn);
    if (merr) {
        ll_store_abort(txn);
        return merr;
    }
    uint64_t first = atomic_load(&st->size), end = txn->frontier.size;
    size_t n = (size_t)(end - first);
    if (n == 0)
        return ll_store_commit_(txn, 0);
    if (n > st->leafcap) {
        const uint8_t **lv = realloc(st->leafv, n * sizeof *lv);
        if (lv)
            st->leafv = lv;
        size_t *ln = lv ? realloc(st->lenv, n * sizeof *ln) : NULL;
        if (ln)
            st->lenv = ln;
        if (!lv || !ln) {
            ll_store_abort(txn);
            return LL_ERR_NOMEM;
        }
        st->leafcap = n;
    }
    /* The new leaves, read back in key order with one cursor. */
    MDB_cursor *cur;
    uint8_t kb[8];
    ll_put_be64(kb, first);
    MDB_val k = {8, kb}, v;
    int rc = mdb_cursor_open(txn->txn, st->leaves, &cur);
    if (!rc) {
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_KEY);
        for (size_t i = 0; !rc && i < n; i++) {
            st->leafv[i] = v.mv_data;
            st->lenv[i] = v.mv_size;
            if (i + 1 < n)
                rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
        }
        mdb_cursor_close(cur);
    }
    if (rc) {
        int err = ll_store_map_err_(rc, "read the new leaves");
        ll_store_abort(txn);
        return err;
    }
    char msg[400];
    int err = ll_durable_log(st->dur, first, n, st->leafv, st->lenv, msg, sizeof msg);
    if (err) {
        ll_store_set_error_("%s", msg);
        ll_store_abort(txn);
        return err;
    }
    if ((err = ll_store_commit_(txn, 1))) {
        /* Logged but not committed, and not acknowledged: a retry must be
         * free to log other leaves under these numbers. */
        char why[160];
        snprintf(why, sizeof why, "%.150s", ll_store_last_error());
        if (ll_durable_retract(st->dur, first, msg, sizeof msg))
            ll_store_set_error_("%s; %.200s", why, msg);
    }
    return err;
}

size_t ll_store_pending(ll_store_t *st, const ll_wal_rec_t **recs)
{
    return ll_durable_pending(st->dur, recs);
}

void ll_store_pending_done(ll_store_t *st)
{
    ll_durable_pending_done(st->dur);
}

void ll_store_sync_metrics(ll_store_t *st, ll_hist_snap_t *syncs, uint64_t *log_bytes)
{
    ll_durable_metrics(st->dur, syncs, log_bytes);
}

const char *ll_store_open_note(ll_store_t *st)
{
    return ll_durable_note(st->dur);
}
