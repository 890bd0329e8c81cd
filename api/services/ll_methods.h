/*
 * ll_methods: every RPC method the server offers, in one table.
 *
 * One row per method of every service: its path, its request and response
 * message descriptors, whether it streams, and how it is served. The table
 * is the single source for registering methods with the runtime
 * (ll_services_register) and is meant to drive anything else that needs
 * the RPC surface as data (gRPC server reflection, an HTTP JSON gateway,
 * docs, tests): walk ll_methods[0 .. ll_method_count).
 *
 * How a method is served (exactly one of query / handler is set):
 *  - query: a unary read. ll_svc_serve() decodes the request with
 *    `request`, opens one read snapshot (none when no_snapshot), runs the
 *    query, packs its `response` message or maps its ll_err to a status
 *    (ll_status.h). Every read method of every service takes this path.
 *  - handler: the method needs the call itself - Append (hands the raw
 *    envelope bytes to the writer and answers later), and the server
 *    streaming methods (Watch, ExportAudit), and the bidirectional
 *    reflection streams (ll_reflection.h, served from the embedded
 *    descriptor set; they list ll_service_names). Handlers decode their
 *    own request and end the call through ll_svc_fail / ll_svc_finish.
 *
 * Invariants (checked by tests/api/services/test_methods.c):
 *  path == "/" + ll_service_names[service] + "/" + name; paths are unique;
 *  request and response are set; streaming methods have a handler.
 */
#ifndef LL_METHODS_H
#define LL_METHODS_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

#include "ll_ledger.h"
#include "ll_server.h"
#include "ll_svc.h"

/* The services; each method is served with its service's context. */
typedef enum ll_service_id {
    LL_SERVICE_HEALTH = 0, /* grpc.health.v1.Health; context: none */
    LL_SERVICE_LEDGER,     /* loopledger.v1.LedgerService; ll_ledger_service_t */
    LL_SERVICE_LOOP,       /* loopledger.v1.LoopService; ll_ledger_t */
    LL_SERVICE_ROADMAP,    /* loopledger.v1.RoadmapService; ll_ledger_t */
    LL_SERVICE_GOVERNANCE, /* loopledger.v1.GovernanceService; ll_ledger_t */
    LL_SERVICE_REFLECTION, /* grpc.reflection.v1.ServerReflection; ll_reflection_t */
    LL_SERVICE_REFLECTION_V1ALPHA, /* grpc.reflection.v1alpha.ServerReflection; same */
    LL_SERVICE_COUNT
} ll_service_id_t;

typedef struct ll_method_def {
    const char *path;      /* full gRPC path, "/loopledger.v1.LedgerService/GetEntry" */
    const char *name;      /* method name as in the .proto, "GetEntry" */
    ll_service_id_t service;
    const ProtobufCMessageDescriptor *request;  /* the request message */
    const ProtobufCMessageDescriptor *response; /* the (each streamed) response */
    int streaming;         /* LL_STREAM_SERVER (a stream of response) or
                              LL_STREAM_BIDI (both sides stream); 0: unary */
    int no_snapshot;       /* query answered without a read transaction */
    ll_svc_query_fn query; /* unary read, served by ll_svc_serve */
    ll_handler_fn handler; /* or: raw handler (svc argument = service context) */
} ll_method_def_t;

#define LL_STREAM_SERVER 1
#define LL_STREAM_BIDI 2

/* Full service names ("loopledger.v1.LedgerService"), by ll_service_id_t. */
extern const char *const ll_service_names[LL_SERVICE_COUNT];

/* The table, in .proto order, and its length. Static data; never freed. */
extern const ll_method_def_t ll_methods[];
extern const size_t ll_method_count;

/* The row for a full path, or NULL. */
const ll_method_def_t *ll_method_find(const char *path);

/* ---- serving the table ---- */

typedef struct ll_services ll_services_t;

/* Creates every service context over lg (borrowed, must outlive *out) and
 * registers every method of the table on srv (before ll_server_start).
 * Caller owns *out: ll_services_stop before ll_server_shutdown, then
 * ll_services_free after it. Returns LL_OK or an ll_err. */
int ll_services_register(ll_server_t *srv, ll_ledger_t *lg, ll_services_t **out);

/* The LedgerService context (metrics read its Watch stream count). */
struct ll_ledger_service *ll_services_ledger(ll_services_t *s);

/* Ends every open stream (UNAVAILABLE) and refuses new ones, so that
 * streams do not hold ll_server_shutdown's drain open. */
void ll_services_stop(ll_services_t *s);

/* Frees the contexts (after ll_server_shutdown). NULL is a no-op. */
void ll_services_free(ll_services_t *s);

#endif
