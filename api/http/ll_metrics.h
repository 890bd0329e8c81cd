/*
 * ll_metrics: /metrics in the Prometheus text exposition format (0.0.4),
 * plus /healthz and /readyz.
 *
 * Series (all prefixed loopledger_):
 *   rpc_requests_total{method,code,transport}  counter: calls ended, by
 *       full method path, gRPC status name and transport (grpc | http:
 *       the JSON gateway's in-process calls)
 *   rpc_duration_seconds{method}               histogram: arrival to end
 *   append_batch_entries                       histogram: entries written
 *       per durable commit (group commit)
 *   commit_duration_seconds                    histogram: LMDB commit incl.
 *       fsync
 *   tree_size                                  gauge: committed entries
 *   entries{kind}                              gauge: entries by kind
 *   initiatives                                gauge
 *   pending_approvals                          gauge: entries awaiting HITL
 *   open_loops{kind}                           gauge: by OpenLoopKind name
 *   undiagnosed_alerts                         gauge
 *   lmdb_map_used_bytes, lmdb_map_size_bytes   gauges
 *   watch_streams                              gauge: live Watch streams
 *   ready                                      gauge: 0 while writes are
 *       refused (start-up damage check)
 *
 * Entries by kind are counted incrementally: the first scrape reads every
 * entry's index record once, later scrapes only the new ones.
 *
 * /healthz answers 200 "ok" while the process serves. /readyz answers 200
 * "ready", or 503 with the reason while the ledger refuses writes
 * (ll_ledger_damage: the stored tree disagrees with the signed checkpoint).
 * Both are public; /metrics is a READ-class path for the authorizer.
 */
#ifndef LL_METRICS_H
#define LL_METRICS_H

#include "ll_http.h"
#include "ll_ledger.h"
#include "ll_server.h"
#include "ll_services.h"

typedef struct ll_metrics ll_metrics_t;

/* Registers /metrics, /healthz and /readyz on h. Everything passed is
 * borrowed and must outlive h; lsvc may be NULL. Caller owns *out
 * (ll_metrics_free after ll_http_free). */
int ll_metrics_register(ll_http_t *h, ll_server_t *rpc, ll_ledger_t *lg,
                        ll_ledger_service_t *lsvc, ll_metrics_t **out);
void ll_metrics_free(ll_metrics_t *m);

#endif
