/*
 * ll_svc: the shape every read-only query method shares - unpack the
 * request, answer from one LMDB read snapshot with a per-call arena, map an
 * ll_err to its gRPC status with the query's own message, pack the reply.
 */
#ifndef LL_SVC_H
#define LL_SVC_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "ll_arena.h"
#include "ll_server.h"
#include "ll_store.h"

/* A query: reads in txn, allocates its answer in a, or returns an ll_err
 * with a message in msg[cap]. */
typedef int (*ll_svc_query_fn)(ll_txn_t *txn, ll_arena_t *a, const ProtobufCMessage *req,
                               ProtobufCMessage **resp, char *msg, size_t cap);

/* Packs msg and replies OK (RESOURCE_EXHAUSTED if it cannot allocate). */
void ll_svc_reply(ll_call_t *call, const ProtobufCMessage *msg);

/* Unpacks req as desc (INVALID_ARGUMENT if malformed), runs fn in a read
 * transaction of st and replies with its answer or its error. */
void ll_svc_serve(ll_call_t *call, ll_store_t *st, const uint8_t *req, size_t len,
                  const ProtobufCMessageDescriptor *desc, ll_svc_query_fn fn);

#endif
