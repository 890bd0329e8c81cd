/*
 * ll_ledger_mirror: a mirror's side of the ledger (ll_ledger.h): the
 * primary's leaves applied through the writer like appends
 * (ll_ledger_replicate), the read-only switch, and where GetCheckpoint's
 * notes come from on mirrors and witnessed ledgers.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ll_err.h"
#include "ll_ledger_int.h"
#include "ll_merkle.h"

void ll_ledger_set_cp_source(ll_ledger_t *lg, const ll_cp_source_t *src)
{
    lg->cp_source = src;
}

const ll_cp_source_t *ll_ledger_cp_source(ll_ledger_t *lg)
{
    return lg->cp_source;
}

void ll_ledger_set_replica_of(ll_ledger_t *lg, const char *primary)
{
    snprintf(lg->replica_of, sizeof lg->replica_of, "%s", primary ? primary : "");
}

/* Reads a protobuf varint; 0 on malformed input, else bytes used. */
static size_t get_varint(const uint8_t *p, size_t n, uint64_t *v)
{
    *v = 0;
    for (size_t i = 0; i < n && i < 10; i++) {
        *v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if (!(p[i] & 0x80))
            return i + 1;
    }
    return 0;
}

void ll_ledger_replicate(ll_ledger_t *lg, const uint8_t *leaf, size_t len, ll_append_cb cb,
                         void *ctx)
{
    uint64_t seq = 0, t = 0, elen = 0;
    size_t off = 0, k;
    ll_append_result_t r0 = {.err = LL_ERR_CORRUPT};
    /* The layout ll_leaf_build writes: [0x08 seq] [0x10 time] 0x1a len env. */
    if (off < len && leaf[off] == 0x08) {
        if (!(k = get_varint(leaf + off + 1, len - off - 1, &seq)))
            goto malformed;
        off += 1 + k;
    }
    if (off < len && leaf[off] == 0x10) {
        if (!(k = get_varint(leaf + off + 1, len - off - 1, &t)))
            goto malformed;
        off += 1 + k;
    }
    if (off >= len || leaf[off] != 0x1a || !(k = get_varint(leaf + off + 1, len - off - 1, &elen)) ||
        elen != len - off - 1 - k || t > INT64_MAX)
        goto malformed;
    off += 1 + k;

    ll_job_t *job = ll_ledger_job_new(leaf + off, (size_t)elen, cb, ctx);
    if (!job) {
        r0.err = LL_ERR_NOMEM;
        snprintf(r0.msg, sizeof r0.msg, "out of memory");
        cb(ctx, &r0);
        return;
    }
    ll_append_result_t *r = &job->res;
    job->replica = 1;
    job->want_seq = seq;
    job->fixed_time = (int64_t)t;
    ll_merkle_leaf_hash(leaf, len, job->want_leaf);
    if ((r->err = ll_entry_decode(job->raw, job->raw_len, &job->entry, r->msg, sizeof r->msg)))
        goto fail;
    if (job->entry.body->kind_case == LOOPLEDGER__V1__ENTRY_BODY__KIND_GENESIS) {
        /* The genesis is signed by the server actor it registers. */
        const Loopledger__V1__Genesis *g = job->entry.body->genesis;
        if (seq != 0 || !g->server || g->server->public_key.len != LL_PUBKEY_LEN ||
            ll_entry_verify(&job->entry, g->server->public_key.data)) {
            r->err = LL_ERR_UNAUTHENTICATED;
            snprintf(r->msg, sizeof r->msg, "primary's genesis is not signed by its server key");
            goto fail;
        }
        job->genesis = 1;
    }
    ll_ledger_enqueue(lg, job);
    return;
fail:
    ll_ledger_job_done(lg, job, cb, ctx);
    return;
malformed:
    snprintf(r0.msg, sizeof r0.msg, "primary's leaf is not a loopledger LogEntry");
    cb(ctx, &r0);
}
