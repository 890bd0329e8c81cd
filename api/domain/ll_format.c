/*
 * ll_format: format versions and in-place upgrades (ll_format.h).
 */
#include "ll_format.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ll_bytes.h"
#include "ll_err.h"

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

int ll_format_prepare(ll_store_t *st, ll_format_rebuild_fn rebuild, uint32_t *from, char *msg,
                      size_t cap)
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
    if (version < LL_FORMAT_VERSION && ll_store_size(txn)) {
        /* Every older format: rebuild the derived tables from the leaves,
         * in this transaction (all or nothing). */
        if (!rebuild) {
            err = LL_ERR_PRECONDITION;
            snprintf(msg, cap, "the data directory has data format %u; start loopledgerd on "
                               "it to upgrade it to format %u",
                     version, LL_FORMAT_VERSION);
            goto out;
        }
        if ((err = rebuild(txn, msg, cap)))
            goto out;
    }
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
