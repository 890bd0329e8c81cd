/*
 * ll_gateway: the JSON gateway. Every read RPC of LedgerService,
 * LoopService, RoadmapService and GovernanceService answers GET requests
 * under /v1/ in protobuf's canonical proto3 JSON mapping
 * (lc_pbjson_write_proto3), so tools that cannot speak gRPC can curl the
 * ledger.
 *
 * One path per method: a request is turned into the RPC's request message
 * (path variables and query parameters by field name, snake_case or
 * lowerCamelCase, repeated fields by repeating the parameter, enums by
 * name or number, 64-bit integers as decimal text, nested fields dotted)
 * and run through ll_server_invoke, i.e. the gRPC method's own authorizer
 * and handler. Errors come back as {"code", "message", "details"} with
 * grpc-gateway's HTTP status for the code (ll_http_status_from_grpc); a
 * malformed parameter is INVALID_ARGUMENT (400) and never reaches the
 * handler.
 *
 * Routes (GET; {x} binds request field x):
 *   /v1/entries                        LedgerService.ListEntries
 *   /v1/entries/{seq}                  LedgerService.GetEntry
 *   /v1/entries/{seq}/inclusion-proof  LedgerService.GetInclusionProof
 *   /v1/entries/{seq}/lineage          LoopService.GetLineage
 *   /v1/checkpoint                     LedgerService.GetCheckpoint
 *   /v1/consistency-proof              LedgerService.GetConsistencyProof
 *   /v1/initiatives                    RoadmapService.ListInitiatives
 *   /v1/initiatives/{initiative}       LoopService.GetInitiative
 *   /v1/open-loops                     LoopService.ListOpenLoops
 *   /v1/roadmap/priorities             RoadmapService.Prioritize
 *   /v1/experiments/{experiment_seq}/readout
 *                                      RoadmapService.GetExperimentReadout
 *   /v1/loop-health                    RoadmapService.GetLoopHealth
 *   /v1/decisions                      GovernanceService.DecisionHistory
 *   /v1/pending-approvals              GovernanceService.PendingApprovals
 *   /v1/actors/{actor_id}              GovernanceService.ActorHistory
 * Streaming RPCs (Watch, ExportAudit) and Append are not served. The
 * request/response descriptors are the method table's (ll_methods.h);
 * ll_gateway_register refuses (LL_ERR_INVALID) when a unary read of the
 * table has no route or a route names no such read.
 */
#ifndef LL_GATEWAY_H
#define LL_GATEWAY_H

#include <protobuf-c/protobuf-c.h>

#include "ll_http.h"
#include "ll_server.h"

/* Registers /v1/ on h, invoking methods of rpc (borrowed; must outlive
 * h). */
int ll_gateway_register(ll_http_t *h, ll_server_t *rpc);

/* Runs the RPC path on req (packed from msg) as identity and returns the
 * answer: LL_OK with *resp (caller frees with
 * protobuf_c_message_free_unpacked(*resp, NULL)) when the status is OK;
 * otherwise *code and msg[cap] carry the status. Shared by the console's
 * helpers. */
int ll_gateway_call(ll_server_t *rpc, const char *path, const ProtobufCMessage *req,
                    const ProtobufCMessageDescriptor *resp_desc, const char *identity,
                    ProtobufCMessage **resp, grpc_status_code *code, char *msg, size_t cap);

#endif
