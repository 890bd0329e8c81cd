/*
 * ll_svc: the shared request/answer path of every method (ll_svc.h).
 */
#include "ll_svc.h"

#include <stdarg.h>
#include <stdio.h>

#include "ll_err.h"
#include "ll_status.h"

void ll_svc_reply(ll_call_t *call, const ProtobufCMessage *msg)
{
    /* No intermediate buffer: a ListEntries page can be tens of MB. */
    size_t n = protobuf_c_message_get_packed_size(msg);
    grpc_slice s = grpc_slice_malloc(n);
    protobuf_c_message_pack(msg, GRPC_SLICE_START_PTR(s));
    ll_call_reply_slice(call, s);
}

void ll_svc_fail(ll_call_t *call, int err, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    ll_call_fail(call, ll_status_from_err(err), "%s", buf);
}

void ll_svc_finish(ll_call_t *call, int err, const char *msg)
{
    ll_call_finish(call, ll_status_from_err(err), msg);
}

void ll_svc_serve(ll_call_t *call, ll_store_t *st, void *ctx, const uint8_t *req, size_t len,
                  const ProtobufCMessageDescriptor *desc, ll_svc_query_fn fn)
{
    ProtobufCMessage *r = protobuf_c_message_unpack(desc, NULL, len, req);
    ll_arena_t a = LL_ARENA_INIT;
    ll_txn_t *txn = NULL;
    ProtobufCMessage *resp = NULL;
    char msg[300] = "";
    int err;

    if (!r) {
        /* The one literal code: the request does not decode at all. */
        ll_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, "malformed %s", desc->name);
        return;
    }
    if (st && (err = ll_store_begin_read(st, &txn))) {
        ll_svc_fail(call, err, "cannot read ledger: %s", ll_strerror(err));
        goto out;
    }
    if ((err = fn(ctx, txn, &a, r, &resp, msg, sizeof msg))) {
        ll_svc_fail(call, err, "%s", msg[0] ? msg : ll_strerror(err));
        goto out;
    }
    if (!resp || a.failed) {
        /* A query that ran out of arena memory half-way must not answer. */
        ll_svc_fail(call, LL_ERR_NOMEM, "%s", ll_strerror(LL_ERR_NOMEM));
        goto out;
    }
    ll_svc_reply(call, resp);
out:
    ll_store_abort(txn);
    ll_arena_free(&a);
    protobuf_c_message_free_unpacked(r, NULL);
}
