/*
 * loopledger.v1.GovernanceService (ll_services.h).
 *
 * The three reads follow LoopService's shape (one read transaction, an
 * arena per call). ExportAudit streams one signed checkpoint and then every
 * entry of that tree with its inclusion proof, one message in flight at a
 * time; entries of a fixed tree size never change, so each message reads
 * in its own short transaction instead of pinning old pages for the whole
 * export.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "ll_arena.h"
#include "ll_err.h"
#include "ll_govquery.h"
#include "ll_merkle.h"
#include "ll_note.h"
#include "ll_services.h"
#include "ll_svc.h"
#include "ll_status.h"
#include "loopledger/v1/governance.pb-c.h"

struct ll_governance_service {
    ll_ledger_t *lg;
    ll_store_t *st;
};




static int q_decisions(ll_txn_t *t, ll_arena_t *a, const ProtobufCMessage *req,
                       ProtobufCMessage **resp, char *msg, size_t cap)
{
    return ll_govquery_decisions(t, a, (const void *)req,
                                 (Loopledger__V1__DecisionHistoryResponse **)resp, msg, cap);
}

static int q_pending(ll_txn_t *t, ll_arena_t *a, const ProtobufCMessage *req,
                     ProtobufCMessage **resp, char *msg, size_t cap)
{
    return ll_govquery_pending(t, a, (const void *)req,
                               (Loopledger__V1__PendingApprovalsResponse **)resp, msg, cap);
}

static int q_actor(ll_txn_t *t, ll_arena_t *a, const ProtobufCMessage *req,
                   ProtobufCMessage **resp, char *msg, size_t cap)
{
    return ll_govquery_actor(t, a, (const void *)req,
                             (Loopledger__V1__ActorHistoryResponse **)resp, msg, cap);
}

static void do_decisions(ll_call_t *call, const uint8_t *req, size_t len, void *arg)
{
    ll_svc_serve(call, ((ll_governance_service_t *)arg)->st, req, len,
                 &loopledger__v1__decision_history_request__descriptor, q_decisions);
}

static void do_pending(ll_call_t *call, const uint8_t *req, size_t len, void *arg)
{
    ll_svc_serve(call, ((ll_governance_service_t *)arg)->st, req, len,
                 &loopledger__v1__pending_approvals_request__descriptor, q_pending);
}

static void do_actor(ll_call_t *call, const uint8_t *req, size_t len, void *arg)
{
    ll_svc_serve(call, ((ll_governance_service_t *)arg)->st, req, len,
                 &loopledger__v1__actor_history_request__descriptor, q_actor);
}

/* ---- ExportAudit ---- */

typedef struct export {
    ll_governance_service_t *svc;
    ll_call_t *call;
    uint64_t size, next;
} export_t;

static void export_pump(export_t *x);

static void export_sent(ll_call_t *call, int ok, void *arg)
{
    export_t *x = arg;
    if (!ok) {
        ll_call_finish(call, GRPC_STATUS_CANCELLED, "stream broken");
        return;
    }
    export_pump(x);
}

static void export_pump(export_t *x)
{
    Loopledger__V1__AuditRecord rec = LOOPLEDGER__V1__AUDIT_RECORD__INIT;
    uint8_t proof[LL_MERKLE_MAX_PROOF][LL_HASH_LEN];
    ProtobufCBinaryData hashes[LL_MERKLE_MAX_PROOF];
    const uint8_t *leaf;
    size_t leaf_len, count;
    ll_txn_t *txn = NULL;
    int err;

    if (x->next == x->size) {
        ll_call_finish(x->call, GRPC_STATUS_OK, NULL);
        return;
    }
    if ((err = ll_store_begin_read(x->svc->st, &txn)) ||
        (err = ll_store_leaf(txn, x->next, &leaf, &leaf_len)) ||
        (err = ll_merkle_inclusion_proof(ll_store_node_fn, txn, x->next, x->size, proof, &count))) {
        ll_store_abort(txn);
        ll_call_finish(x->call, ll_status_from_err(err == LL_ERR_NOT_FOUND ? LL_ERR_CORRUPT : err),
                       "reading the log for the export");
        return;
    }
    for (size_t i = 0; i < count; i++) {
        hashes[i].data = proof[i];
        hashes[i].len = LL_HASH_LEN;
    }
    rec.checkpoint = (char *)"";
    rec.seq = x->next;
    rec.leaf.data = (uint8_t *)leaf;
    rec.leaf.len = leaf_len;
    rec.n_proof = count;
    rec.proof = hashes;
    size_t n = loopledger__v1__audit_record__get_packed_size(&rec);
    uint8_t *buf = malloc(n);
    if (buf)
        loopledger__v1__audit_record__pack(&rec, buf);
    ll_store_abort(txn);
    if (!buf) {
        ll_call_finish(x->call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
        return;
    }
    x->next++;
    ll_call_send(x->call, buf, n, export_sent, x);
    free(buf);
}

static void do_export(ll_call_t *call, const uint8_t *req, size_t len, void *arg)
{
    ll_governance_service_t *svc = arg;
    Loopledger__V1__ExportAuditRequest *r =
        loopledger__v1__export_audit_request__unpack(NULL, len, req);
    char note[LL_NOTE_MAX];
    size_t note_len;
    uint64_t size;
    uint8_t root[LL_HASH_LEN];
    ll_txn_t *txn = NULL;
    int err;

    if (!r) {
        ll_call_finish(call, GRPC_STATUS_INVALID_ARGUMENT, "malformed ExportAuditRequest");
        return;
    }
    if ((err = ll_store_begin_read(svc->st, &txn)) ||
        (err = ll_ledger_checkpoint(svc->lg, txn, r->tree_size, note, sizeof note, &note_len,
                                    &size, root))) {
        char msg[120];
        snprintf(msg, sizeof msg, "checkpoint of size %" PRIu64 ": %s", r->tree_size,
                 ll_strerror(err));
        ll_store_abort(txn);
        loopledger__v1__export_audit_request__free_unpacked(r, NULL);
        ll_call_finish(call, ll_status_from_err(err), msg);
        return;
    }
    ll_store_abort(txn);
    loopledger__v1__export_audit_request__free_unpacked(r, NULL);
    export_t *x = calloc(1, sizeof *x);
    if (!x) {
        ll_call_finish(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
        return;
    }
    x->svc = svc;
    x->call = call;
    x->size = size;
    ll_call_set_data(call, x, free);
    /* First record: the signed checkpoint every proof is against. */
    Loopledger__V1__AuditRecord rec = LOOPLEDGER__V1__AUDIT_RECORD__INIT;
    rec.checkpoint = note;
    size_t n = loopledger__v1__audit_record__get_packed_size(&rec);
    uint8_t *buf = malloc(n);
    if (!buf) {
        ll_call_finish(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
        return;
    }
    loopledger__v1__audit_record__pack(&rec, buf);
    ll_call_send(call, buf, n, export_sent, x);
    free(buf);
}

int ll_governance_service_register(ll_server_t *srv, ll_ledger_t *lg,
                                   ll_governance_service_t **out)
{
    ll_governance_service_t *svc = calloc(1, sizeof *svc);
    int err;
    if (!svc)
        return LL_ERR_NOMEM;
    svc->lg = lg;
    svc->st = ll_ledger_store(lg);
    if ((err = ll_server_add_method(srv, "/loopledger.v1.GovernanceService/DecisionHistory", 0,
                                    do_decisions, svc)) ||
        (err = ll_server_add_method(srv, "/loopledger.v1.GovernanceService/PendingApprovals", 0,
                                    do_pending, svc)) ||
        (err = ll_server_add_method(srv, "/loopledger.v1.GovernanceService/ActorHistory", 0,
                                    do_actor, svc)) ||
        (err = ll_server_add_method(srv, "/loopledger.v1.GovernanceService/ExportAudit", 1,
                                    do_export, svc))) {
        free(svc);
        return err;
    }
    *out = svc;
    return LL_OK;
}

void ll_governance_service_free(ll_governance_service_t *svc)
{
    free(svc);
}
