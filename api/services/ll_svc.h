/*
 * ll_svc: the one path every RPC method takes from request bytes to an
 * answer (the method table, ll_methods.h, says which method takes which
 * branch).
 *
 * A unary read method is a query (ll_svc_query_fn): ll_svc_serve() unpacks
 * the request with the method's descriptor, opens one LMDB read snapshot,
 * runs the query with a per-call arena, and either packs its answer into
 * the reply or ends the call with the query's ll_err and message. Methods
 * that cannot be a query (Append hands raw envelope bytes to the writer;
 * Watch and ExportAudit stream) end their calls with ll_svc_fail() and
 * ll_svc_finish(), which take an ll_err too.
 *
 * So no service picks a gRPC status code: ll_err -> status is decided in
 * ll_status.c alone. The only literal code a service may use is
 * INVALID_ARGUMENT for a request it cannot decode.
 */
#ifndef LL_SVC_H
#define LL_SVC_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "ll_arena.h"
#include "ll_server.h"
#include "ll_store.h"

/* A query. ctx is the method's service context (ll_methods.h). txn is a
 * read snapshot (NULL for methods served without one). The answer, and
 * everything it points to, is allocated in a or points into txn; both stay
 * valid until the reply is packed. On failure returns an ll_err and may
 * write a message for the caller into msg[cap] (empty: ll_strerror). */
typedef int (*ll_svc_query_fn)(void *ctx, ll_txn_t *txn, ll_arena_t *a,
                               const ProtobufCMessage *req, ProtobufCMessage **resp,
                               char *msg, size_t cap);

/* Packs msg straight into the slice gRPC sends and replies OK. */
void ll_svc_reply(ll_call_t *call, const ProtobufCMessage *msg);

/* Unpacks req as desc (INVALID_ARGUMENT "malformed <Message>" if it does
 * not decode), runs fn in a read transaction of st (st NULL: no snapshot,
 * txn NULL), and replies with its answer or ends the call with its error.
 * Ends the call exactly once. */
void ll_svc_serve(ll_call_t *call, ll_store_t *st, void *ctx, const uint8_t *req, size_t len,
                  const ProtobufCMessageDescriptor *desc, ll_svc_query_fn fn);

/* Ends a unary call with err's status (ll_status.h) and a printf-style
 * message. err must not be LL_OK. */
void ll_svc_fail(ll_call_t *call, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Ends a streaming call: LL_OK, or err's status, with msg (may be NULL). */
void ll_svc_finish(ll_call_t *call, int err, const char *msg);

#endif
