/*
 * ll_methods: the method table and its registration (ll_methods.h).
 *
 * Registration binds each row to its service context; the runtime calls
 * dispatch() for every method, which sends queries down ll_svc_serve and
 * hands the rest to their handler. So there is one path from the runtime
 * into any service.
 */
#include "ll_methods.h"

#include <stdlib.h>
#include <string.h>

#include "grpc/health/v1/health.pb-c.h"
#include "grpc/reflection/v1/reflection.pb-c.h"
#include "grpc/reflection/v1alpha/reflection.pb-c.h"
#include "ll_err.h"
#include "ll_reflection.h"
#include "ll_services.h"
#include "loopledger/v1/governance.pb-c.h"
#include "loopledger/v1/ledger.pb-c.h"
#include "loopledger/v1/loop.pb-c.h"
#include "loopledger/v1/roadmap.pb-c.h"

const char *const ll_service_names[LL_SERVICE_COUNT] = {
    [LL_SERVICE_HEALTH] = "grpc.health.v1.Health",
    [LL_SERVICE_LEDGER] = "loopledger.v1.LedgerService",
    [LL_SERVICE_LOOP] = "loopledger.v1.LoopService",
    [LL_SERVICE_ROADMAP] = "loopledger.v1.RoadmapService",
    [LL_SERVICE_GOVERNANCE] = "loopledger.v1.GovernanceService",
    [LL_SERVICE_REFLECTION] = "grpc.reflection.v1.ServerReflection",
    [LL_SERVICE_REFLECTION_V1ALPHA] = "grpc.reflection.v1alpha.ServerReflection",
};

#define PB(m) &loopledger__v1__##m##__descriptor
#define QUERY(svc, path, name, req, resp, fn) \
    {path, name, svc, PB(req), PB(resp), 0, 0, fn, NULL}
#define HANDLER(svc, path, name, req, resp, streaming, fn) \
    {path, name, svc, PB(req), PB(resp), streaming, 0, NULL, fn}

const ll_method_def_t ll_methods[] = {
    /* Health answers without touching the ledger: it is the benchmark's
     * trivial-call ceiling. */
    {"/grpc.health.v1.Health/Check", "Check", LL_SERVICE_HEALTH,
     &grpc__health__v1__health_check_request__descriptor,
     &grpc__health__v1__health_check_response__descriptor, 0, 1, ll_health_service_check, NULL},

    HANDLER(LL_SERVICE_LEDGER, "/loopledger.v1.LedgerService/Append", "Append", append_request,
            append_response, 0, ll_ledger_service_append),
    QUERY(LL_SERVICE_LEDGER, "/loopledger.v1.LedgerService/GetEntry", "GetEntry",
          get_entry_request, get_entry_response, ll_ledger_service_get_entry),
    QUERY(LL_SERVICE_LEDGER, "/loopledger.v1.LedgerService/ListEntries", "ListEntries",
          list_entries_request, list_entries_response, ll_ledger_service_list_entries),
    QUERY(LL_SERVICE_LEDGER, "/loopledger.v1.LedgerService/GetCheckpoint", "GetCheckpoint",
          get_checkpoint_request, get_checkpoint_response, ll_ledger_service_get_checkpoint),
    QUERY(LL_SERVICE_LEDGER, "/loopledger.v1.LedgerService/GetInclusionProof",
          "GetInclusionProof", get_inclusion_proof_request, get_inclusion_proof_response,
          ll_ledger_service_get_inclusion),
    QUERY(LL_SERVICE_LEDGER, "/loopledger.v1.LedgerService/GetConsistencyProof",
          "GetConsistencyProof", get_consistency_proof_request, get_consistency_proof_response,
          ll_ledger_service_get_consistency),
    HANDLER(LL_SERVICE_LEDGER, "/loopledger.v1.LedgerService/Watch", "Watch", watch_request,
            watch_response, 1, ll_ledger_service_watch),

    QUERY(LL_SERVICE_LOOP, "/loopledger.v1.LoopService/GetInitiative", "GetInitiative",
          get_initiative_request, initiative_state, ll_loop_service_get_initiative),
    QUERY(LL_SERVICE_LOOP, "/loopledger.v1.LoopService/GetLineage", "GetLineage",
          get_lineage_request, lineage, ll_loop_service_get_lineage),
    QUERY(LL_SERVICE_LOOP, "/loopledger.v1.LoopService/ListOpenLoops", "ListOpenLoops",
          list_open_loops_request, list_open_loops_response, ll_loop_service_list_open_loops),

    QUERY(LL_SERVICE_ROADMAP, "/loopledger.v1.RoadmapService/Prioritize", "Prioritize",
          prioritize_request, prioritize_response, ll_roadmap_service_prioritize),
    QUERY(LL_SERVICE_ROADMAP, "/loopledger.v1.RoadmapService/GetExperimentReadout",
          "GetExperimentReadout", get_experiment_readout_request, experiment_readout,
          ll_roadmap_service_readout),
    QUERY(LL_SERVICE_ROADMAP, "/loopledger.v1.RoadmapService/GetLoopHealth", "GetLoopHealth",
          get_loop_health_request, get_loop_health_response, ll_roadmap_service_loop_health),
    QUERY(LL_SERVICE_ROADMAP, "/loopledger.v1.RoadmapService/ListInitiatives", "ListInitiatives",
          list_initiatives_request, list_initiatives_response,
          ll_roadmap_service_list_initiatives),

    QUERY(LL_SERVICE_GOVERNANCE, "/loopledger.v1.GovernanceService/DecisionHistory",
          "DecisionHistory", decision_history_request, decision_history_response,
          ll_governance_service_decisions),
    QUERY(LL_SERVICE_GOVERNANCE, "/loopledger.v1.GovernanceService/PendingApprovals",
          "PendingApprovals", pending_approvals_request, pending_approvals_response,
          ll_governance_service_pending),
    QUERY(LL_SERVICE_GOVERNANCE, "/loopledger.v1.GovernanceService/ActorHistory",
          "ActorHistory", actor_history_request, actor_history_response,
          ll_governance_service_actor),
    HANDLER(LL_SERVICE_GOVERNANCE, "/loopledger.v1.GovernanceService/ExportAudit",
            "ExportAudit", export_audit_request, audit_record, 1,
            ll_governance_service_export),

    /* Server reflection, both package names, one handler (their messages
     * are the same on the wire). */
    {"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", "ServerReflectionInfo",
     LL_SERVICE_REFLECTION, &grpc__reflection__v1__server_reflection_request__descriptor,
     &grpc__reflection__v1__server_reflection_response__descriptor, LL_STREAM_BIDI, 0, NULL,
     ll_reflection_info},
    {"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", "ServerReflectionInfo",
     LL_SERVICE_REFLECTION_V1ALPHA,
     &grpc__reflection__v1alpha__server_reflection_request__descriptor,
     &grpc__reflection__v1alpha__server_reflection_response__descriptor, LL_STREAM_BIDI, 0,
     NULL, ll_reflection_info},
};

const size_t ll_method_count = sizeof ll_methods / sizeof ll_methods[0];

const ll_method_def_t *ll_method_find(const char *path)
{
    for (size_t i = 0; i < ll_method_count; i++)
        if (!strcmp(ll_methods[i].path, path))
            return &ll_methods[i];
    return NULL;
}

/* ---- registration ---- */

typedef struct binding {
    const ll_method_def_t *def;
    void *ctx;
    ll_store_t *st;
} binding_t;

struct ll_services {
    ll_ledger_service_t *ledger;
    ll_reflection_t *reflection;
    binding_t *bindings; /* one per row of ll_methods */
};

static void dispatch(ll_call_t *call, const uint8_t *req, size_t len, void *arg)
{
    const binding_t *b = arg;
    if (b->def->query)
        ll_svc_serve(call, b->def->no_snapshot ? NULL : b->st, b->ctx, req, len,
                     b->def->request, b->def->query);
    else
        b->def->handler(call, req, len, b->ctx);
}

int ll_services_register(ll_server_t *srv, ll_ledger_t *lg, ll_services_t **out)
{
    ll_services_t *s = calloc(1, sizeof *s);
    int err = LL_ERR_NOMEM;
    if (!s || !(s->bindings = calloc(ll_method_count, sizeof *s->bindings)))
        goto fail;
    if ((err = ll_ledger_service_create(lg, &s->ledger)))
        goto fail;
    /* Reflection lists every service of this table. */
    if ((err = ll_reflection_create(ll_descriptor_set, ll_descriptor_set_len, ll_service_names,
                                    LL_SERVICE_COUNT, &s->reflection)))
        goto fail;
    void *ctx[LL_SERVICE_COUNT] = {
        [LL_SERVICE_HEALTH] = NULL,
        [LL_SERVICE_LEDGER] = s->ledger,
        [LL_SERVICE_LOOP] = lg,
        [LL_SERVICE_ROADMAP] = lg,
        [LL_SERVICE_GOVERNANCE] = lg,
        [LL_SERVICE_REFLECTION] = s->reflection,
        [LL_SERVICE_REFLECTION_V1ALPHA] = s->reflection,
    };
    for (size_t i = 0; i < ll_method_count; i++) {
        binding_t *b = &s->bindings[i];
        b->def = &ll_methods[i];
        b->ctx = ctx[b->def->service];
        b->st = ll_ledger_store(lg);
        err = b->def->streaming == LL_STREAM_BIDI
                  ? ll_server_add_bidi_method(srv, b->def->path, dispatch, b)
                  : ll_server_add_method(srv, b->def->path, b->def->streaming, dispatch, b);
        if (err)
            goto fail;
    }
    /* Watch streams are fed on the server's background queue: a commit
     * means one send per caught-up stream, and thousands of those must
     * not delay the next Append (ll_ledger_service.c). */
    if ((err = ll_server_set_background(srv, "/loopledger.v1.LedgerService/Watch")))
        goto fail;
    /* Appends carry entries up to the message limit; reads are small. */
    if ((err = ll_server_set_bulk(srv, "/loopledger.v1.LedgerService/Append")))
        goto fail;
    *out = s;
    return LL_OK;
fail:
    ll_services_free(s);
    return err;
}

ll_ledger_service_t *ll_services_ledger(ll_services_t *s)
{
    return s->ledger;
}

void ll_services_stop(ll_services_t *s)
{
    if (s && s->ledger)
        ll_ledger_service_stop(s->ledger);
}

void ll_services_free(ll_services_t *s)
{
    if (!s)
        return;
    ll_ledger_service_free(s->ledger);
    ll_reflection_destroy(s->reflection);
    free(s->bindings);
    free(s);
}
