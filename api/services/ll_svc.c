/*
 * ll_svc: shared request/answer plumbing of the query services (ll_svc.h).
 */
#include "ll_svc.h"

#include <stdlib.h>

#include "ll_err.h"
#include "ll_status.h"

void ll_svc_reply(ll_call_t *call, const ProtobufCMessage *msg)
{
    size_t n = protobuf_c_message_get_packed_size(msg);
    uint8_t *b = malloc(n ? n : 1);
    if (!b) {
        ll_call_fail(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
        return;
    }
    protobuf_c_message_pack(msg, b);
    ll_call_reply(call, b, n);
    free(b);
}

void ll_svc_serve(ll_call_t *call, ll_store_t *st, const uint8_t *req, size_t len,
                  const ProtobufCMessageDescriptor *desc, ll_svc_query_fn fn)
{
    ProtobufCMessage *r = protobuf_c_message_unpack(desc, NULL, len, req);
    ll_arena_t a = LL_ARENA_INIT;
    ll_txn_t *txn = NULL;
    ProtobufCMessage *resp = NULL;
    char msg[300] = "";
    int err;

    if (!r) {
        ll_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, "malformed %s", desc->name);
        return;
    }
    if ((err = ll_store_begin_read(st, &txn))) {
        ll_call_fail(call, ll_status_from_err(err), "cannot read ledger: %s", ll_strerror(err));
        goto out;
    }
    if ((err = fn(txn, &a, r, &resp, msg, sizeof msg))) {
        ll_call_fail(call, ll_status_from_err(err), "%s", msg[0] ? msg : ll_strerror(err));
        goto out;
    }
    ll_svc_reply(call, resp);
out:
    ll_store_abort(txn);
    ll_arena_free(&a);
    protobuf_c_message_free_unpacked(r, NULL);
}
