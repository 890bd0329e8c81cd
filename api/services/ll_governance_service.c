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
#include "loopledger/v1/governance.pb-c.h"

LL_SVC_QUERY(ll_governance_service_decisions)
{
    (void)ctx;
    return ll_govquery_decisions(txn, a, (const void *)req,
                                 (Loopledger__V1__DecisionHistoryResponse **)resp, msg, cap);
}

LL_SVC_QUERY(ll_governance_service_pending)
{
    (void)ctx;
    return ll_govquery_pending(txn, a, (const void *)req,
                               (Loopledger__V1__PendingApprovalsResponse **)resp, msg, cap);
}

LL_SVC_QUERY(ll_governance_service_actor)
{
    (void)ctx;
    return ll_govquery_actor(txn, a, (const void *)req,
                             (Loopledger__V1__ActorHistoryResponse **)resp, msg, cap);
}

/* ---- ExportAudit ---- */

typedef struct export {
    ll_store_t *st;
    ll_call_t *call;
    uint64_t size, next;
} export_t;

static void export_pump(export_t *x);

static void export_sent(ll_call_t *call, int ok, void *arg)
{
    export_t *x = arg;
    if (!ok) {
        ll_svc_finish(call, LL_ERR_CANCELLED, "stream broken");
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
        ll_svc_finish(x->call, LL_OK, NULL);
        return;
    }
    if ((err = ll_store_begin_read(x->st, &txn)) ||
        (err = ll_store_leaf(txn, x->next, &leaf, &leaf_len)) ||
        (err = ll_merkle_inclusion_proof(ll_store_node_fn, txn, x->next, x->size, proof, &count))) {
        ll_store_abort(txn);
        ll_svc_finish(x->call, err == LL_ERR_NOT_FOUND ? LL_ERR_CORRUPT : err,
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
        ll_svc_finish(x->call, LL_ERR_NOMEM, "out of memory");
        return;
    }
    x->next++;
    ll_call_send(x->call, buf, n, export_sent, x);
    free(buf);
}

LL_SVC_HANDLER(ll_governance_service_export)
{
    ll_ledger_t *lg = svc;
    ll_store_t *st = ll_ledger_store(lg);
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
    if ((err = ll_store_begin_read(st, &txn)) ||
        (err = ll_ledger_checkpoint(lg, txn, r->tree_size, note, sizeof note, &note_len,
                                    &size, root))) {
        char msg[120];
        snprintf(msg, sizeof msg, "checkpoint of size %" PRIu64 ": %s", r->tree_size,
                 ll_strerror(err));
        ll_store_abort(txn);
        loopledger__v1__export_audit_request__free_unpacked(r, NULL);
        ll_svc_finish(call, err, msg);
        return;
    }
    ll_store_abort(txn);
    loopledger__v1__export_audit_request__free_unpacked(r, NULL);
    export_t *x = calloc(1, sizeof *x);
    if (!x) {
        ll_svc_finish(call, LL_ERR_NOMEM, "out of memory");
        return;
    }
    x->st = st;
    x->call = call;
    x->size = size;
    ll_call_set_data(call, x, free);
    /* First record: the signed checkpoint every proof is against. */
    Loopledger__V1__AuditRecord rec = LOOPLEDGER__V1__AUDIT_RECORD__INIT;
    rec.checkpoint = note;
    size_t n = loopledger__v1__audit_record__get_packed_size(&rec);
    uint8_t *buf = malloc(n);
    if (!buf) {
        ll_svc_finish(call, LL_ERR_NOMEM, "out of memory");
        return;
    }
    loopledger__v1__audit_record__pack(&rec, buf);
    ll_call_send(call, buf, n, export_sent, x);
    free(buf);
}
