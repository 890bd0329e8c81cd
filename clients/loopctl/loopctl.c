/*
 * loopctl: command-line client of loopledger.
 *
 *   loopctl [--server HOST:PORT] [--json] <command> [args]
 *
 *   keygen OUT                    new Ed25519 key: OUT (0600) and OUT.pub
 *   append --key K FILE.json      sign an entry and append it
 *   append --key K --author A [--initiative I] [--link REL:SEQ]... --note TEXT
 *   KIND --key K --author A --initiative I [--link REL:SEQ]... [--FIELD V]...
 *                                 a domain entry from flags (loopctl_append.c)
 *   get SEQ                       one entry
 *   list [--from N] [--to N] [--limit N] [--initiative I] [--kind K]
 *        [--author A] [--since T] [--until T] [--long]
 *   state INITIATIVE / lineage SEQ / open-loops   LoopService (loopctl_loop.c)
 *   checkpoint [--size N]         the signed checkpoint (C2SP signed note)
 *   prove SEQ [--size N]          inclusion proof
 *   prove --consistency OLD [NEW] consistency proof
 *   verify --vkey VKEY [--state FILE] [--witness WVKEY... [--quorum N]] [SEQ...]
 *                                 auditor: checks the checkpoint signature,
 *                                 consistency with the remembered checkpoint,
 *                                 and each entry's signature and inclusion
 *   export [--format csv|jsonl] [--observations] [filters of list] [--as-of N]
 *                                 entries for BI tools (loopctl_export.c)
 *   watch [--from N] [--count N]  follow new entries
 *   health                        grpc.health.v1 check
 *
 * The files of loopctl, each with its header; the arrows of use run one
 * way, from the top of this list down (ops/check-cycles holds it so):
 *   loopctl.c         main, keygen, reads, proofs, verify, watch, health
 *   loopctl_append.c  append and the per-kind commands
 *   loopctl_loop.c    LoopService commands (state, lineage, open-loops),
 *                     relations (the link table)
 *   loopctl_roadmap.c RoadmapService commands, KPI tables
 *   loopctl_gov.c     GovernanceService commands, audit bundles
 *   loopctl_export.c  entries for BI tools
 *   loopctl_entry.c   JSON -> EntryBody, leaf printing
 *   loopctl_rpc.c     the one channel, unary calls, --as-of resolution
 *   loopctl_tls.c     local checks of TLS and key files before dialling
 *   loopctl_util.c    global options, parsing, formatting, error exits
 *   (lc_pbjson.c in api/json: descriptor-driven protobuf <-> JSON)
 * A CLI: every helper that cannot go on exits with a message (lc_die,
 * status 1; a gRPC error exits 3 with "CODE: message").
 */
#include <errno.h>
#include <grpc/support/log.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ll_crypto.h"
#include "ll_dsse.h"
#include "ll_entry.h"
#include "ll_err.h"
#include "ll_merkle.h"
#include "ll_cosig.h"
#include "ll_note.h"
#include "grpc/health/v1/health.pb-c.h"
#include "lc_pbjson.h"

#include "loopctl_append.h"
#include "loopctl_entry.h"
#include "loopctl_export.h"
#include "loopctl_gov.h"
#include "loopctl_loop.h"
#include "loopctl_roadmap.h"
#include "loopctl_rpc.h"
#include "loopctl_util.h"
#include "loopledger/v1/ledger.pb-c.h"

#define SVC "/loopledger.v1.LedgerService/"

static void hexs(const uint8_t *b, size_t n, char *out)
{
    ll_hex_encode(b, n, out);
}

/* ---- keygen ---- */

static int cmd_keygen(int argc, char **argv)
{
    if (argc != 2)
        lc_die("usage: loopctl keygen OUT");
    ll_key_t *k;
    char pubpath[4096], keyid[LL_KEYID_HEX_LEN + 1];
    uint8_t pub[LL_PUBKEY_LEN];
    int err;
    if ((err = ll_key_generate(&k)))
        lc_die("keygen: %s", ll_strerror(err));
    snprintf(pubpath, sizeof pubpath, "%s.pub", argv[1]);
    if ((err = ll_key_save(k, argv[1])))
        lc_die("writing %s: %s", argv[1], ll_strerror(err));
    if ((err = ll_key_save_public(k, pubpath)))
        lc_die("writing %s: %s", pubpath, ll_strerror(err));
    ll_key_public(k, pub);
    ll_keyid(pub, keyid);
    ll_key_free(k);
    if (lc_opts.json) {
        ll_jw_t jw;
        ll_jw_init(&jw, 0);
        ll_jw_begin_object(&jw);
        ll_jw_key(&jw, "private_key_file");
        ll_jw_string(&jw, argv[1]);
        ll_jw_key(&jw, "public_key_file");
        ll_jw_string(&jw, pubpath);
        ll_jw_key(&jw, "keyid");
        ll_jw_string(&jw, keyid);
        ll_jw_end_object(&jw);
        lc_print_json(&jw);
    } else {
        printf("wrote %s (private, mode 0600) and %s\nkeyid %s\n", argv[1], pubpath, keyid);
    }
    return 0;
}

/* ---- reads ---- */

static Loopledger__V1__GetEntryResponse *fetch_entry(uint64_t seq)
{
    Loopledger__V1__GetEntryRequest req = LOOPLEDGER__V1__GET_ENTRY_REQUEST__INIT;
    req.seq = seq;
    return lc_rpc(SVC "GetEntry", &req.base, &loopledger__v1__get_entry_response__descriptor);
}

static int cmd_get(int argc, char **argv)
{
    if (argc != 2)
        lc_die("usage: loopctl get SEQ");
    Loopledger__V1__GetEntryResponse *resp = fetch_entry(lc_parse_u64(argv[1], "SEQ"));
    ll_jw_t jw;
    if (lc_opts.json)
        ll_jw_init(&jw, 1);
    uint64_t seq = lc_parse_u64(argv[1], "SEQ"), by;
    int sup = lc_superseded(seq, &by);
    if (lc_print_leaf(resp->leaf.data, resp->leaf.len, lc_opts.json ? &jw : NULL, 1,
                      sup == 1 ? &by : NULL, resp->status, resp->effective, resp->updated_by))
        lc_die("entry is not a valid LogEntry");
    if (lc_opts.json)
        lc_print_json(&jw);
    else if (resp->status == LOOPLEDGER__V1__APPROVAL_STATUS__APPROVAL_STATUS_PENDING)
        printf("  approval: pending - under a HITL policy, not in effect yet (loopctl pending)\n");
    else if (resp->status == LOOPLEDGER__V1__APPROVAL_STATUS__APPROVAL_STATUS_REJECTED)
        printf("  approval: rejected - an approver rejected it; it never takes effect\n");
    loopledger__v1__get_entry_response__free_unpacked(resp, NULL);
    return 0;
}

/* A Kind by name ("finding", "scaling-plan", "initiative"). */
static Loopledger__V1__Kind kind_arg(const char *name)
{
    int v;
    if (lc_pbdesc_enum_value(&loopledger__v1__kind__descriptor, name, &v) || v == 0)
        lc_die("--kind: unknown kind %s", name);
    return (Loopledger__V1__Kind)v;
}

static int cmd_list(int argc, char **argv)
{
    uint64_t limit = UINT64_MAX, shown = 0;
    int full = 0;
    Loopledger__V1__ListEntriesRequest req = LOOPLEDGER__V1__LIST_ENTRIES_REQUEST__INIT;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--long")) {
            full = 1;
            continue;
        }
        if (!v)
            lc_die("list: unexpected argument %s", a);
        i++;
        if (!strcmp(a, "--from")) req.from_seq = lc_parse_u64(v, "--from");
        else if (!strcmp(a, "--to")) req.to_seq = lc_parse_u64(v, "--to");
        else if (!strcmp(a, "--limit")) limit = lc_parse_u64(v, "--limit");
        else if (!strcmp(a, "--initiative")) req.initiative = (char *)v;
        else if (!strcmp(a, "--author")) req.author = (char *)v;
        else if (!strcmp(a, "--kind")) req.kind = kind_arg(v);
        else if (!strcmp(a, "--since")) req.from_time_unix_nanos = lc_parse_time(v, "--since");
        else if (!strcmp(a, "--until")) req.to_time_unix_nanos = lc_parse_time(v, "--until");
        else lc_die("list: unexpected argument %s", a);
    }
    ll_jw_t jw;
    if (lc_opts.json) {
        ll_jw_init(&jw, 0);
        ll_jw_begin_array(&jw);
    }
    char *token = strdup("");
    do {
        req.page_size = limit - shown < 500 ? (uint32_t)(limit - shown) : 500;
        req.page_token = token;
        Loopledger__V1__ListEntriesResponse *resp =
            lc_rpc(SVC "ListEntries", &req.base, &loopledger__v1__list_entries_response__descriptor);
        for (size_t i = 0; i < resp->n_leaves && shown < limit; i++, shown++)
            if (lc_print_leaf(resp->leaves[i].data, resp->leaves[i].len,
                              lc_opts.json ? &jw : NULL, full,
                              i < resp->n_superseded_by && resp->superseded_by[i]
                                  ? &resp->superseded_by[i]
                                  : NULL,
                              i < resp->n_status ? (int)resp->status[i] : 0, NULL, 0))
                lc_die("entry is not a valid LogEntry");
        free(token);
        if (!(token = strdup(resp->next_page_token)))
            lc_die("out of memory");
        loopledger__v1__list_entries_response__free_unpacked(resp, NULL);
    } while (token[0] && shown < limit);
    free(token);
    if (lc_opts.json) {
        ll_jw_end_array(&jw);
        lc_print_json(&jw);
    } else if (!shown) {
        printf("0 entries\n");
    }
    return 0;
}

static int want_cosigned; /* verify --witness: ask for the newest cosigned checkpoint */

static Loopledger__V1__GetCheckpointResponse *fetch_checkpoint(uint64_t size)
{
    Loopledger__V1__GetCheckpointRequest req = LOOPLEDGER__V1__GET_CHECKPOINT_REQUEST__INIT;
    req.cosigned = want_cosigned;
    req.tree_size = size;
    return lc_rpc(SVC "GetCheckpoint", &req.base,
               &loopledger__v1__get_checkpoint_response__descriptor);
}

static int cmd_checkpoint(int argc, char **argv)
{
    uint64_t size = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--size") && i + 1 < argc) size = lc_parse_u64(argv[++i], "--size");
        else lc_die("checkpoint: unexpected argument %s", argv[i]);
    }
    Loopledger__V1__GetCheckpointResponse *cp = fetch_checkpoint(size);
    if (lc_opts.json) {
        char root[65];
        hexs(cp->root_hash.data, cp->root_hash.len == 32 ? 32 : 0, root);
        ll_jw_t jw;
        ll_jw_init(&jw, 0);
        ll_jw_begin_object(&jw);
        ll_jw_key(&jw, "tree_size");
        ll_jw_uint64(&jw, cp->tree_size);
        ll_jw_key(&jw, "root_hash");
        ll_jw_string(&jw, root);
        ll_jw_key(&jw, "checkpoint");
        ll_jw_string(&jw, cp->checkpoint);
        ll_jw_end_object(&jw);
        lc_print_json(&jw);
    } else {
        fputs(cp->checkpoint, stdout);
    }
    loopledger__v1__get_checkpoint_response__free_unpacked(cp, NULL);
    return 0;
}

static Loopledger__V1__GetInclusionProofResponse *fetch_inclusion(uint64_t seq, uint64_t size)
{
    Loopledger__V1__GetInclusionProofRequest req = LOOPLEDGER__V1__GET_INCLUSION_PROOF_REQUEST__INIT;
    req.seq = seq;
    req.tree_size = size;
    return lc_rpc(SVC "GetInclusionProof", &req.base,
               &loopledger__v1__get_inclusion_proof_response__descriptor);
}

static Loopledger__V1__GetConsistencyProofResponse *fetch_consistency(uint64_t old_size,
                                                                      uint64_t new_size)
{
    Loopledger__V1__GetConsistencyProofRequest req =
        LOOPLEDGER__V1__GET_CONSISTENCY_PROOF_REQUEST__INIT;
    req.old_size = old_size;
    req.new_size = new_size;
    return lc_rpc(SVC "GetConsistencyProof", &req.base,
               &loopledger__v1__get_consistency_proof_response__descriptor);
}

static void emit_hashes(ll_jw_t *jw, const char *key, ProtobufCBinaryData *h, size_t n)
{
    char hex[65];
    if (jw) {
        ll_jw_key(jw, key);
        ll_jw_begin_array(jw);
    }
    for (size_t i = 0; i < n; i++) {
        hexs(h[i].data, h[i].len == 32 ? 32 : 0, hex);
        if (jw)
            ll_jw_string(jw, hex);
        else
            printf("  %s\n", hex);
    }
    if (jw)
        ll_jw_end_array(jw);
}

static int cmd_prove(int argc, char **argv)
{
    uint64_t size = 0, seq = 0, old_size = 0;
    int consistency = 0, have_seq = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--size") && i + 1 < argc) size = lc_parse_u64(argv[++i], "--size");
        else if (!strcmp(argv[i], "--consistency") && i + 1 < argc) {
            consistency = 1;
            old_size = lc_parse_u64(argv[++i], "OLD");
            if (i + 1 < argc && argv[i + 1][0] != '-')
                size = lc_parse_u64(argv[++i], "NEW");
        } else if (!have_seq && argv[i][0] != '-') {
            seq = lc_parse_u64(argv[i], "SEQ");
            have_seq = 1;
        } else lc_die("prove: unexpected argument %s", argv[i]);
    }
    ll_jw_t jw, *j = NULL;
    if (lc_opts.json) {
        ll_jw_init(&jw, 0);
        j = &jw;
        ll_jw_begin_object(j);
    }
    char h1[65], h2[65];
    if (consistency) {
        Loopledger__V1__GetConsistencyProofResponse *p = fetch_consistency(old_size, size);
        hexs(p->old_root.data, p->old_root.len == 32 ? 32 : 0, h1);
        hexs(p->new_root.data, p->new_root.len == 32 ? 32 : 0, h2);
        if (j) {
            ll_jw_key(j, "old_size"); ll_jw_uint64(j, p->old_size);
            ll_jw_key(j, "new_size"); ll_jw_uint64(j, p->new_size);
            ll_jw_key(j, "old_root"); ll_jw_string(j, h1);
            ll_jw_key(j, "new_root"); ll_jw_string(j, h2);
        } else {
            printf("consistency %" PRIu64 " -> %" PRIu64 "\n  old root %s\n  new root %s\nproof:\n",
                   p->old_size, p->new_size, h1, h2);
        }
        emit_hashes(j, "hashes", p->hashes, p->n_hashes);
        loopledger__v1__get_consistency_proof_response__free_unpacked(p, NULL);
    } else {
        if (!have_seq)
            lc_die("usage: loopctl prove SEQ [--size N] | prove --consistency OLD [NEW]");
        Loopledger__V1__GetInclusionProofResponse *p = fetch_inclusion(seq, size);
        hexs(p->leaf_hash.data, p->leaf_hash.len == 32 ? 32 : 0, h1);
        hexs(p->root_hash.data, p->root_hash.len == 32 ? 32 : 0, h2);
        if (j) {
            ll_jw_key(j, "seq"); ll_jw_uint64(j, p->seq);
            ll_jw_key(j, "tree_size"); ll_jw_uint64(j, p->tree_size);
            ll_jw_key(j, "leaf_hash"); ll_jw_string(j, h1);
            ll_jw_key(j, "root_hash"); ll_jw_string(j, h2);
        } else {
            printf("inclusion of #%" PRIu64 " in tree of %" PRIu64 "\n  leaf hash %s\n  root      %s\nproof:\n",
                   p->seq, p->tree_size, h1, h2);
        }
        emit_hashes(j, "hashes", p->hashes, p->n_hashes);
        loopledger__v1__get_inclusion_proof_response__free_unpacked(p, NULL);
    }
    if (j) {
        ll_jw_end_object(j);
        lc_print_json(j);
    }
    return 0;
}

/* ---- verify: a CT-style auditor ---- */

static int proof_array(ProtobufCBinaryData *h, size_t n, uint8_t out[][LL_HASH_LEN])
{
    if (n > LL_MERKLE_MAX_PROOF)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (h[i].len != LL_HASH_LEN)
            return -1;
        memcpy(out[i], h[i].data, LL_HASH_LEN);
    }
    return 0;
}

/* Finds the public key registered under keyid in registration entry seq. */
static int registered_key(uint64_t seq, const char *keyid, uint8_t pub[LL_PUBKEY_LEN],
                          char *actor, size_t actor_cap)
{
    Loopledger__V1__GetEntryResponse *e = fetch_entry(seq);
    Loopledger__V1__LogEntry *le = loopledger__v1__log_entry__unpack(NULL, e->leaf.len, e->leaf.data);
    Loopledger__V1__EntryBody *b = NULL;
    int found = -1;
    if (le && le->envelope)
        b = loopledger__v1__entry_body__unpack(NULL, le->envelope->payload.len,
                                               le->envelope->payload.data);
    Loopledger__V1__ActorRegistration *cands[2] = {NULL, NULL};
    if (b && b->kind_case == LOOPLEDGER__V1__ENTRY_BODY__KIND_ACTOR)
        cands[0] = b->actor;
    if (b && b->kind_case == LOOPLEDGER__V1__ENTRY_BODY__KIND_GENESIS) {
        cands[0] = b->genesis->server;
        cands[1] = b->genesis->admin;
    }
    /* A key rotation registers its new key for its subject. */
    Loopledger__V1__ActorRegistration rot = LOOPLEDGER__V1__ACTOR_REGISTRATION__INIT;
    if (b && b->kind_case == LOOPLEDGER__V1__ENTRY_BODY__KIND_KEY_ROTATION) {
        rot.actor_id = b->key_rotation->actor_id;
        rot.public_key = b->key_rotation->new_public_key;
        cands[0] = &rot;
    }
    for (int i = 0; i < 2 && found; i++) {
        if (!cands[i] || cands[i]->public_key.len != LL_PUBKEY_LEN)
            continue;
        char kid[LL_KEYID_HEX_LEN + 1];
        ll_keyid(cands[i]->public_key.data, kid);
        if (!strcmp(kid, keyid)) {
            memcpy(pub, cands[i]->public_key.data, LL_PUBKEY_LEN);
            snprintf(actor, actor_cap, "%s", cands[i]->actor_id);
            found = 0;
        }
    }
    if (b)
        loopledger__v1__entry_body__free_unpacked(b, NULL);
    if (le)
        loopledger__v1__log_entry__free_unpacked(le, NULL);
    loopledger__v1__get_entry_response__free_unpacked(e, NULL);
    return found;
}

static int cmd_verify(int argc, char **argv)
{
    const char *vkey = NULL, *state = NULL, *audit = NULL;
    uint64_t seqs[256], quorum = 0;
    size_t nseq = 0, nwit = 0;
    ll_cosigner_t wit[32];
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--vkey") && i + 1 < argc) vkey = argv[++i];
        else if (!strcmp(argv[i], "--witness") && i + 1 < argc && nwit < 32) {
            if (ll_cosig_parse_verifier_key(argv[++i], &wit[nwit++]))
                lc_die("verify: --witness %s is not a witness (cosignature) verifier key", argv[i]);
        } else if (!strcmp(argv[i], "--quorum") && i + 1 < argc)
            quorum = lc_parse_u64(argv[++i], "--quorum");
        else if (!strcmp(argv[i], "--audit") && i + 1 < argc) audit = argv[++i];
        else if (!strcmp(argv[i], "--state") && i + 1 < argc) state = argv[++i];
        else if (argv[i][0] != '-' && nseq < 256) seqs[nseq++] = lc_parse_u64(argv[i], "SEQ");
        else lc_die("verify: unexpected argument %s", argv[i]);
    }
    if (!vkey)
        vkey = getenv("LOOPLEDGER_VKEY");
    if (!vkey)
        lc_die("verify: --vkey VERIFIER_KEY (from `loopledgerd verifier-key`) is required");
    if (audit)
        return lc_cmd_verify_audit(audit, vkey); /* offline: no server needed */
    char name[LL_NOTE_MAX_NAME + 1];
    uint8_t spub[LL_PUBKEY_LEN];
    if (ll_note_parse_verifier_key(vkey, name, sizeof name, spub))
        lc_die("verify: malformed verifier key");

    if (!nwit && quorum)
        lc_die("verify: --quorum needs the witnesses' keys (--witness VKEY ...)");
    if (nwit && !quorum)
        quorum = nwit;
    if (quorum > nwit)
        lc_die("verify: --quorum %" PRIu64 " is more than the %zu witnesses given", quorum, nwit);
    want_cosigned = nwit > 0;

    /* 1. The latest checkpoint (the newest cosigned one with --witness) must
     * be signed by the pinned key. */
    Loopledger__V1__GetCheckpointResponse *cp = fetch_checkpoint(0);
    size_t body_len;
    ll_checkpoint_t c;
    int bad = 0;
    if (ll_note_verify(cp->checkpoint, strlen(cp->checkpoint), name, spub, &body_len) ||
        ll_checkpoint_parse(cp->checkpoint, body_len, &c) || strcmp(c.origin, name) != 0)
        lc_die("FAIL: checkpoint is not signed by %s", name);
    char root_hex[65];
    hexs(c.root, LL_HASH_LEN, root_hex);
    printf("ok   checkpoint %s size %" PRIu64 " root %s signed by the pinned key\n", c.origin,
           c.size, root_hex);
    /* 1b. A quorum of the pinned witnesses cosigned it (C2SP tlog-cosignature):
     * no server can show this checkpoint to us and another history to them. */
    if (nwit) {
        uint64_t valid = 0;
        for (size_t i = 0; i < nwit; i++) {
            uint64_t ts;
            int dup = 0;
            for (size_t j = 0; j < i; j++)
                dup |= !memcmp(wit[j].pub, wit[i].pub, LL_PUBKEY_LEN);
            int err = ll_cosig_verify(cp->checkpoint, strlen(cp->checkpoint), &wit[i], &ts);
            if (!err && !dup) {
                valid++;
                printf("ok   cosigned by witness %s at %" PRIu64 "\n", wit[i].name, ts);
            } else {
                printf("--   witness %s: %s\n", wit[i].name,
                       dup ? "same key given twice" : err == LL_ERR_NOT_FOUND ? "no cosignature"
                                                                             : "bad cosignature");
            }
        }
        if (valid < quorum)
            lc_die("FAIL: %" PRIu64 " valid witness cosignature(s), quorum is %" PRIu64, valid,
                   quorum);
        printf("ok   %" PRIu64 " of %zu witnesses cosigned (quorum %" PRIu64 ")\n", valid, nwit,
               quorum);
    }

    /* 2. Consistency with the checkpoint remembered from last time. */
    if (state) {
        size_t len;
        char *old = lc_read_file(state, &len);
        if (old) {
            size_t obl;
            ll_checkpoint_t oc;
            if (ll_note_verify(old, len, name, spub, &obl) || ll_checkpoint_parse(old, obl, &oc))
                lc_die("FAIL: remembered checkpoint %s does not verify", state);
            if (oc.size > c.size) {
                lc_die("FAIL: the ledger shrank from %" PRIu64 " to %" PRIu64 " entries", oc.size, c.size);
            } else if (oc.size == 0 || oc.size == c.size) {
                if (oc.size == c.size && memcmp(oc.root, c.root, LL_HASH_LEN))
                    lc_die("FAIL: same size %" PRIu64 " but different roots: history was rewritten", c.size);
            } else {
                Loopledger__V1__GetConsistencyProofResponse *p = fetch_consistency(oc.size, c.size);
                uint8_t proof[LL_MERKLE_MAX_PROOF][LL_HASH_LEN];
                if (proof_array(p->hashes, p->n_hashes, proof) ||
                    ll_merkle_verify_consistency(oc.size, c.size, oc.root, c.root, proof, p->n_hashes))
                    lc_die("FAIL: checkpoint %" PRIu64 " is not consistent with remembered %" PRIu64,
                        c.size, oc.size);
                loopledger__v1__get_consistency_proof_response__free_unpacked(p, NULL);
            }
            printf("ok   consistent with remembered checkpoint of size %" PRIu64 "\n", oc.size);
            free(old);
        }
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s.tmp", state);
        FILE *f = fopen(tmp, "w");
        if (!f || fputs(cp->checkpoint, f) < 0 || fclose(f) || rename(tmp, state))
            lc_die("cannot write %s", state);
    }

    /* 3. Each entry: author's signature, then inclusion in the checkpoint. */
    for (size_t i = 0; i < nseq; i++) {
        uint64_t seq = seqs[i];
        if (seq >= c.size)
            lc_die("FAIL: entry %" PRIu64 " is not in the checkpoint (size %" PRIu64 ")", seq, c.size);
        Loopledger__V1__GetEntryResponse *e = fetch_entry(seq);
        {
            /* The server's rules for what may be signed (one reading of
             * every byte: ll_entry_decode), applied to what it serves. */
            const uint8_t *raw;
            size_t raw_len;
            uint64_t ls;
            int64_t lt;
            ll_entry_t de;
            char why[256];
            if (ll_leaf_parse(e->leaf.data, e->leaf.len, &ls, &lt, &raw, &raw_len))
                lc_die("FAIL: entry %" PRIu64 ": the leaf is not a LogEntry as the server writes it", seq);
            if (ll_entry_decode(raw, raw_len, &de, why, sizeof why))
                lc_die("FAIL: entry %" PRIu64 ": the server would refuse this envelope: %s", seq, why);
            ll_entry_free(&de);
        }
        Loopledger__V1__LogEntry *le =
            loopledger__v1__log_entry__unpack(NULL, e->leaf.len, e->leaf.data);
        if (!le || !le->envelope || le->envelope->n_signatures != 1 || le->seq != seq)
            lc_die("FAIL: entry %" PRIu64 " is malformed", seq);
        Loopledger__V1__Envelope *env = le->envelope;
        Loopledger__V1__EntryBody *b =
            loopledger__v1__entry_body__unpack(NULL, env->payload.len, env->payload.data);
        uint8_t pub[LL_PUBKEY_LEN];
        char actor[LL_MAX_ID_LEN + 1];
        if (!b || e->signer_key_seq > seq ||
            registered_key(e->signer_key_seq, env->signatures[0]->keyid, pub, actor, sizeof actor))
            lc_die("FAIL: entry %" PRIu64 ": signing key is not registered at entry %" PRIu64, seq,
                e->signer_key_seq);
        if (strcmp(actor, b->author))
            lc_die("FAIL: entry %" PRIu64 ": signed by %s's key but claims author %s", seq, actor,
                b->author);
        if (ll_dsse_verify(pub, env->payload_type, strlen(env->payload_type), env->payload.data,
                           env->payload.len, env->signatures[0]->sig.data,
                           env->signatures[0]->sig.len)) {
            printf("FAIL entry %" PRIu64 ": signature by %s does not verify\n", seq, actor);
            bad = 1;
        }
        uint8_t lh[LL_HASH_LEN], proof[LL_MERKLE_MAX_PROOF][LL_HASH_LEN];
        ll_merkle_leaf_hash(e->leaf.data, e->leaf.len, lh);
        Loopledger__V1__GetInclusionProofResponse *p = fetch_inclusion(seq, c.size);
        if (proof_array(p->hashes, p->n_hashes, proof) ||
            ll_merkle_verify_inclusion(lh, seq, c.size, proof, p->n_hashes, c.root)) {
            printf("FAIL entry %" PRIu64 ": not included in the checkpoint\n", seq);
            bad = 1;
        } else {
            printf("ok   entry %" PRIu64 " signed by %s (key registered at #%" PRIu64
                   "), included in checkpoint %" PRIu64 "\n", seq, actor, e->signer_key_seq, c.size);
        }
        loopledger__v1__get_inclusion_proof_response__free_unpacked(p, NULL);
        loopledger__v1__entry_body__free_unpacked(b, NULL);
        loopledger__v1__log_entry__free_unpacked(le, NULL);
        loopledger__v1__get_entry_response__free_unpacked(e, NULL);
    }
    loopledger__v1__get_checkpoint_response__free_unpacked(cp, NULL);
    return bad ? 1 : 0;
}

/* ---- watch, health ---- */

typedef struct watch_ctx {
    uint64_t remaining;
} watch_ctx_t;

static int on_watch(void *ctx, const uint8_t *msg, size_t len)
{
    watch_ctx_t *w = ctx;
    Loopledger__V1__WatchResponse *r = loopledger__v1__watch_response__unpack(NULL, len, msg);
    if (!r)
        lc_die("malformed WatchResponse");
    ll_jw_t jw;
    if (lc_opts.json)
        ll_jw_init(&jw, 0);
    if (lc_print_leaf(r->leaf.data, r->leaf.len, lc_opts.json ? &jw : NULL, 0, NULL, (int)r->status,
                      NULL, 0))
        lc_die("entry is not a valid LogEntry");
    if (lc_opts.json)
        lc_print_json(&jw);
    fflush(stdout);
    loopledger__v1__watch_response__free_unpacked(r, NULL);
    return --w->remaining == 0;
}

static int cmd_watch(int argc, char **argv)
{
    Loopledger__V1__WatchRequest req = LOOPLEDGER__V1__WATCH_REQUEST__INIT;
    watch_ctx_t w = {UINT64_MAX};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--from") && i + 1 < argc) req.from_seq = lc_parse_u64(argv[++i], "--from");
        else if (!strcmp(argv[i], "--count") && i + 1 < argc) w.remaining = lc_parse_u64(argv[++i], "--count");
        else lc_die("watch: unexpected argument %s", argv[i]);
    }
    if (w.remaining == 0)
        return 0;
    uint8_t buf[32];
    size_t n = loopledger__v1__watch_request__pack(&req, buf);
    ll_reply_t r;
    if (ll_client_stream(lc_client(), SVC "Watch", buf, n, 0, on_watch, &w, &r))
        lc_die("watch: call failed");
    if (w.remaining != 0 && r.code != GRPC_STATUS_OK) {
        fprintf(stderr, "loopctl: %s: %s\n", lc_status_name(r.code), r.message);
        return 3;
    }
    return 0;
}

static int cmd_health(int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        lc_die("usage: loopctl health");
    Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    uint8_t buf[8];
    size_t n = grpc__health__v1__health_check_request__pack(&req, buf);
    ll_reply_t r;
    lc_call("/grpc.health.v1.Health/Check", buf, n, &r);
    Grpc__Health__V1__HealthCheckResponse *resp =
        grpc__health__v1__health_check_response__unpack(NULL, r.resp_len, r.resp);
    int serving = resp && resp->status == GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
    printf("%s\n", serving ? "SERVING" : "NOT_SERVING");
    if (resp)
        grpc__health__v1__health_check_response__free_unpacked(resp, NULL);
    ll_reply_free(&r);
    return serving ? 0 : 1;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: loopctl [--server HOST:PORT] [--json] [--timeout MS]\n"
            "               [--tls-ca CA.crt --tls-cert ME.crt --tls-key ME.key]\n"
            "               [--save-request FILE] [--dry-run] COMMAND [ARGS]\n"
            "commands:\n"
            "  keygen OUT                       new Ed25519 key pair: OUT (0600), OUT.pub\n"
            "  append --key KEY FILE.json       sign an entry (JSON) and append it\n"
            "  append --key KEY --author ID [--initiative ID] [--link REL:SEQ]... --note TEXT\n"
            "  KIND --key KEY --author ID --initiative ID [--link REL:SEQ]... [--json BODY.json]\n"
            "       [--FIELD VALUE]...          append a domain entry; KIND is one of initiative\n"
            "                                   hypothesis experiment deployment measurement alert\n"
            "                                   finding adjustment decision review scaling-plan\n"
            "                                   roadmap-project correction (KIND --help: fields)\n"
            "  get SEQ                          show one entry\n"
            "  list [--from N] [--to N] [--limit N] [--initiative ID] [--kind KIND]\n"
            "       [--author ID] [--since T] [--until T] [--long]\n"
            "                                   entries in [from, to) (to defaults to the tree\n"
            "                                   size), T is RFC 3339 or unix nanoseconds\n"
            "  state INITIATIVE [--limit N] [--as-of SIZE|TIME]\n"
            "                                   derived loop state of an initiative\n"
            "  lineage SEQ [--back N] [--forward N] [--max N]\n"
            "                                   linked entries around SEQ (default back 5)\n"
            "  open-loops [--initiative ID] [--kind finding|hypothesis|experiment|alert]\n"
            "                                   loops left open across initiatives\n"
            "  relations                        which relation may link which kinds (the link table)\n"
            "  roadmap [--initiative I] [--application A] [--status S] [--half-life DAYS]\n"
            "          [--as-of SIZE|TIME] [--limit N] [--page TOKEN] [--explain]\n"
            "                                   projects ranked by evidence-weighted RICE, with\n"
            "                                   each score's components and evidence seqs\n"
            "  readout EXPERIMENT [--metric M] [--segment S] [--as-of SIZE|TIME]\n"
            "                                   A/B readout: lift, 95%% CI, p-value per variant\n"
            "  loop-health [INITIATIVE] [--as-of SIZE|TIME] [--now T]\n"
            "                                   finding->adjustment time, share acted on,\n"
            "                                   experiments per cycle, review adherence, drift\n"
            "  --dry-run (before the command, or among append/KIND options): validate only;\n"
            "                                   the server runs every check and says what the\n"
            "                                   entry would cause, nothing is written\n"
            "  resubmit FILE                    send a request saved by --save-request again\n"
            "                                   (idempotent: the original seq is returned)\n"
            "  decisions [--initiative I] [--approver A] [--level L] [--outcome O]\n"
            "            [--since T] [--until T] [--hops N]\n"
            "                                   decision history with the evidence behind it\n"
            "  pending [--initiative I]         entries waiting for human approval\n"
            "  actor ID                         an actor's roles, keys and governance history\n"
            "  export-audit --out FILE [--size N]\n"
            "                                   every entry with its inclusion proof against one\n"
            "                                   signed checkpoint, for offline verification\n"
            "  export [--format csv|jsonl] [--out FILE] [--observations] [--as-of SIZE]\n"
            "         [--initiative I] [--kind K] [--author A] [--since T] [--until T]\n"
            "                                   entries (or one row per measurement\n"
            "                                   observation) for BI tools, streamed\n"
            "  checkpoint [--size N]            signed checkpoint (C2SP signed note)\n"
            "  prove SEQ [--size N]             inclusion proof\n"
            "  prove --consistency OLD [NEW]    consistency proof\n"
            "  verify --vkey VKEY --audit FILE  offline audit of an export-audit file\n"
            "  verify --vkey VKEY [--state FILE] [--witness WVKEY]... [--quorum N] [SEQ...]\n"
            "                                   with --witness: the newest checkpoint cosigned by\n"
            "                                   at least N of those witnesses (default: all)\n"
            "                                   audit: checkpoint signature, consistency with\n"
            "                                   the checkpoint remembered in FILE, and each\n"
            "                                   entry's signature and inclusion\n"
            "  watch [--from N] [--count N]     follow entries as they are appended\n"
            "  health                           server health\n"
            "--as-of takes a tree size, or an RFC 3339 time: the ledger as it stood after\n"
            "its last entry at or before that time.\n"
            "The server defaults to $LOOPLEDGER_SERVER or 127.0.0.1:7600.\n");
}

/* gRPC's own log lines (E1130 ... Invalid private key) are not for
 * loopctl's users: every failure reaches them as a status and a message.
 * GRPC_VERBOSITY set in the environment lets them through for debugging. */
static void quiet_grpc_log(gpr_log_func_args *args)
{
    (void)args;
}

int main(int argc, char **argv)
{
    if (!getenv("GRPC_VERBOSITY"))
        gpr_set_log_function(quiet_grpc_log);
    lc_opts.server = getenv("LOOPLEDGER_SERVER") ? getenv("LOOPLEDGER_SERVER") : "127.0.0.1:7600";
    lc_opts.timeout_ms = 30000;
    lc_opts.ca = getenv("LOOPLEDGER_CA");
    lc_opts.cert = getenv("LOOPLEDGER_CERT");
    lc_opts.key = getenv("LOOPLEDGER_KEY");
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "--json")) lc_opts.json = 1;
        else if (!strcmp(argv[i], "--server") && i + 1 < argc) lc_opts.server = argv[++i];
        else if (!strcmp(argv[i], "--timeout") && i + 1 < argc) lc_opts.timeout_ms = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--tls-ca") && i + 1 < argc) lc_opts.ca = argv[++i];
        else if (!strcmp(argv[i], "--save-request") && i + 1 < argc) lc_opts.save_request = argv[++i];
        else if (!strcmp(argv[i], "--dry-run")) lc_opts.dry_run = 1;
        else if (!strcmp(argv[i], "--tls-cert") && i + 1 < argc) lc_opts.cert = argv[++i];
        else if (!strcmp(argv[i], "--tls-key") && i + 1 < argc) lc_opts.key = argv[++i];
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return 2;
    }
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {
        {"keygen", cmd_keygen}, {"append", lc_cmd_append}, {"get", cmd_get},
        {"list", cmd_list}, {"checkpoint", cmd_checkpoint}, {"prove", cmd_prove},
        {"verify", cmd_verify}, {"watch", cmd_watch}, {"health", cmd_health},
        {"state", lc_cmd_state}, {"lineage", lc_cmd_lineage}, {"open-loops", lc_cmd_open_loops},
        {"relations", lc_cmd_relations},
        {"roadmap", lc_cmd_roadmap}, {"readout", lc_cmd_readout},
        {"loop-health", lc_cmd_loop_health},
        {"decisions", lc_cmd_decisions}, {"pending", lc_cmd_pending}, {"actor", lc_cmd_actor},
        {"export-audit", lc_cmd_export_audit}, {"export", lc_cmd_export}, {"resubmit", lc_cmd_resubmit},
    };
    int rc = -1;
    for (size_t k = 0; k < sizeof cmds / sizeof cmds[0]; k++)
        if (!strcmp(argv[i], cmds[k].name))
            rc = cmds[k].fn(argc - i, argv + i);
    if (rc < 0 && lc_is_kind_command(argv[i]))
        rc = lc_cmd_kind(argc - i, argv + i);
    if (rc < 0) {
        fprintf(stderr, "loopctl: unknown command %s\n", argv[i]);
        usage(stderr);
        rc = 2;
    }
    lc_client_close();
    return rc;
}
