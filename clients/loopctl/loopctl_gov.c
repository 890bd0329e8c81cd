/*
 * loopctl governance commands: decisions, pending, actor, export-audit, and
 * `verify --audit FILE`, the offline auditor.
 *
 * The offline audit trusts nothing but the pinned verifier key: it checks
 * the export's checkpoint signature, that the export holds every entry of
 * that tree in order, each entry's inclusion proof against the signed root,
 * and each entry's author signature against the key state it rebuilds by
 * replaying the exported entries themselves (genesis, registrations, key
 * rotations, revocations, role grants) and the role matrix - the same chain
 * of authority and the same permissions the server enforced.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ll_authz.h"
#include "ll_crypto.h"
#include "ll_dsse.h"
#include "ll_entry.h"
#include "ll_err.h"
#include "ll_merkle.h"
#include "ll_note.h"
#include "loopctl_entry.h"
#include "loopctl_gov.h"
#include "loopctl_rpc.h"
#include "loopctl_util.h"
#include "loopledger/v1/governance.pb-c.h"

#define GOV "/loopledger.v1.GovernanceService/"

/* Lowercase enum value name without its prefix ("exception_handling"), as
 * everywhere else in loopctl. Rotates over a few static buffers so that
 * one printf can take several. */
static const char *enum_short(const ProtobufCEnumDescriptor *d, int v, size_t prefix)
{
    static char bufs[4][48];
    static unsigned next;
    const ProtobufCEnumValue *e = protobuf_c_enum_descriptor_get_value(d, v);
    if (!e || strlen(e->name) <= prefix)
        return "?";
    char *out = bufs[next++ % 4];
    size_t i = 0;
    for (const char *p = e->name + prefix; *p && i + 1 < sizeof bufs[0]; p++)
        out[i++] = (char)tolower((unsigned char)*p);
    out[i] = 0;
    return out;
}

static int enum_from(const ProtobufCEnumDescriptor *d, const char *name, size_t prefix,
                     const char *what)
{
    for (unsigned i = 0; i < d->n_values; i++) {
        const char *n = d->values[i].name;
        if (!strcasecmp(n, name) || (strlen(n) > prefix && !strcasecmp(n + prefix, name)))
            return d->values[i].value;
    }
    lc_die("unknown %s \"%s\"", what, name);
}

static const char *status_word(int s)
{
    return s == LOOPLEDGER__V1__APPROVAL_STATUS__APPROVAL_STATUS_PENDING    ? " [pending]"
           : s == LOOPLEDGER__V1__APPROVAL_STATUS__APPROVAL_STATUS_REJECTED ? " [rejected]"
                                                                             : "";
}

static void print_ref(const char *indent, const Loopledger__V1__EntryRef *r)
{
    printf("%s#%-6" PRIu64 " %-15s %-12s %s%s%s\n", indent, r->seq, lc_kind_name(r->kind),
           r->author, r->summary, status_word(r->status), r->superseded ? " [superseded]" : "");
}

static void jw_ref(ll_jw_t *jw, const Loopledger__V1__EntryRef *r)
{
    ll_jw_begin_object(jw);
    ll_jw_key(jw, "seq");
    ll_jw_uint64(jw, r->seq);
    ll_jw_key(jw, "kind");
    ll_jw_string(jw, lc_kind_name(r->kind));
    ll_jw_key(jw, "author");
    ll_jw_string(jw, r->author);
    ll_jw_key(jw, "initiative");
    ll_jw_string(jw, r->initiative);
    ll_jw_key(jw, "summary");
    ll_jw_string(jw, r->summary);
    ll_jw_key(jw, "status");
    ll_jw_string(jw, enum_short(&loopledger__v1__approval_status__descriptor, r->status, 16));
    ll_jw_key(jw, "superseded");
    ll_jw_bool(jw, r->superseded);
    ll_jw_end_object(jw);
}

int lc_cmd_decisions(int argc, char **argv)
{
    Loopledger__V1__DecisionHistoryRequest req = LOOPLEDGER__V1__DECISION_HISTORY_REQUEST__INIT;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            lc_die("decisions: %s needs a value", a);
        if (!strcmp(a, "--initiative")) req.initiative = (char *)v;
        else if (!strcmp(a, "--approver")) req.approver = (char *)v;
        else if (!strcmp(a, "--level"))
            req.level = enum_from(&loopledger__v1__hitl_level__descriptor, v, 11, "level");
        else if (!strcmp(a, "--outcome"))
            req.outcome = enum_from(&loopledger__v1__outcome__descriptor, v, 8, "outcome");
        else if (!strcmp(a, "--since")) req.from_time_unix_nanos = lc_parse_time(v, "--since");
        else if (!strcmp(a, "--until")) req.to_time_unix_nanos = lc_parse_time(v, "--until");
        else if (!strcmp(a, "--hops")) req.evidence_hops = (uint32_t)lc_parse_u64(v, "--hops");
        else lc_die("decisions: unexpected argument %s", a);
        i++;
    }
    ll_jw_t jw;
    if (lc_opts.json) {
        ll_jw_init(&jw, 0);
        ll_jw_begin_array(&jw);
    }
    char token[600] = "";
    size_t total = 0;
    do {
        req.page_token = token;
        Loopledger__V1__DecisionHistoryResponse *resp =
            lc_rpc(GOV "DecisionHistory", &req.base,
                   &loopledger__v1__decision_history_response__descriptor);
        total += resp->n_decisions;
        for (size_t i = 0; i < resp->n_decisions; i++) {
            const Loopledger__V1__DecisionRecord *d = resp->decisions[i];
            char when[40];
            if (lc_opts.json) {
                ll_jw_begin_object(&jw);
                ll_jw_key(&jw, "decision");
                jw_ref(&jw, d->decision);
                ll_jw_key(&jw, "level");
                ll_jw_string(&jw, enum_short(&loopledger__v1__hitl_level__descriptor, d->level, 11));
                ll_jw_key(&jw, "outcome");
                ll_jw_string(&jw, enum_short(&loopledger__v1__outcome__descriptor, d->outcome, 8));
                ll_jw_key(&jw, "rationale");
                ll_jw_string(&jw, d->rationale);
                ll_jw_key(&jw, "decided");
                ll_jw_begin_array(&jw);
                for (size_t k = 0; k < d->n_decided; k++) {
                    ll_jw_begin_object(&jw);
                    ll_jw_key(&jw, "entry");
                    jw_ref(&jw, d->decided[k]->entry);
                    ll_jw_key(&jw, "evidence");
                    ll_jw_begin_array(&jw);
                    for (size_t e = 0; e < d->decided[k]->n_evidence; e++)
                        jw_ref(&jw, d->decided[k]->evidence[e]);
                    ll_jw_end_array(&jw);
                    ll_jw_end_object(&jw);
                }
                ll_jw_end_array(&jw);
                ll_jw_end_object(&jw);
                continue;
            }
            lc_format_time(d->decision->server_time_unix_nanos, when);
            printf("#%-6" PRIu64 " %s  %s by %s (%s): %s\n", d->decision->seq, when,
                   enum_short(&loopledger__v1__outcome__descriptor, d->outcome, 8),
                   d->decision->author,
                   enum_short(&loopledger__v1__hitl_level__descriptor, d->level, 11),
                   d->rationale);
            for (size_t k = 0; k < d->n_decided; k++) {
                print_ref("    decides ", d->decided[k]->entry);
                for (size_t e = 0; e < d->decided[k]->n_evidence; e++)
                    print_ref("      rests on ", d->decided[k]->evidence[e]);
            }
        }
        snprintf(token, sizeof token, "%s", resp->next_page_token);
        protobuf_c_message_free_unpacked(&resp->base, NULL);
    } while (token[0]);
    if (lc_opts.json) {
        ll_jw_end_array(&jw);
        lc_print_json(&jw);
    } else if (!total) {
        printf("no decisions%s\n", req.initiative && req.initiative[0] ? " for that initiative" : "");
    }
    return 0;
}

int lc_cmd_pending(int argc, char **argv)
{
    Loopledger__V1__PendingApprovalsRequest req = LOOPLEDGER__V1__PENDING_APPROVALS_REQUEST__INIT;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--initiative") && i + 1 < argc) req.initiative = argv[++i];
        else lc_die("pending: unexpected argument %s", argv[i]);
    }
    ll_jw_t jw;
    if (lc_opts.json) {
        ll_jw_init(&jw, 0);
        ll_jw_begin_array(&jw);
    }
    char token[600] = "";
    size_t total = 0;
    do {
        req.page_token = token;
        Loopledger__V1__PendingApprovalsResponse *resp = lc_rpc(
            GOV "PendingApprovals", &req.base, &loopledger__v1__pending_approvals_response__descriptor);
        total += resp->n_pending;
        for (size_t i = 0; i < resp->n_pending; i++) {
            const Loopledger__V1__PendingApproval *p = resp->pending[i];
            if (lc_opts.json) {
                ll_jw_begin_object(&jw);
                ll_jw_key(&jw, "entry");
                jw_ref(&jw, p->entry);
                ll_jw_key(&jw, "policy_seq");
                ll_jw_uint64(&jw, p->policy_seq);
                ll_jw_key(&jw, "policy");
                ll_jw_string(&jw, p->policy_name);
                ll_jw_key(&jw, "level");
                ll_jw_string(&jw, enum_short(&loopledger__v1__hitl_level__descriptor, p->level, 11));
                ll_jw_key(&jw, "approvals_required");
                ll_jw_uint64(&jw, p->approvals_required);
                ll_jw_key(&jw, "approved_by");
                ll_jw_begin_array(&jw);
                for (size_t k = 0; k < p->n_approved_by; k++)
                    ll_jw_string(&jw, p->approved_by[k]);
                ll_jw_end_array(&jw);
                ll_jw_end_object(&jw);
                continue;
            }
            print_ref("", p->entry);
            printf("        policy \"%s\" (#%" PRIu64 "): %s, %zu of %u approvals", p->policy_name,
                   p->policy_seq, enum_short(&loopledger__v1__hitl_level__descriptor, p->level, 11),
                   p->n_approved_by, p->approvals_required);
            for (size_t k = 0; k < p->n_approved_by; k++)
                printf("%s%s", k ? ", " : " by ", p->approved_by[k]);
            printf("\n");
        }
        snprintf(token, sizeof token, "%s", resp->next_page_token);
        protobuf_c_message_free_unpacked(&resp->base, NULL);
    } while (token[0]);
    if (lc_opts.json) {
        ll_jw_end_array(&jw);
        lc_print_json(&jw);
    } else if (!total) {
        printf("no pending approvals\n");
    }
    return 0;
}

int lc_cmd_actor(int argc, char **argv)
{
    Loopledger__V1__ActorHistoryRequest req = LOOPLEDGER__V1__ACTOR_HISTORY_REQUEST__INIT;
    if (argc != 2)
        lc_die("usage: loopctl actor ID");
    req.actor_id = argv[1];
    Loopledger__V1__ActorHistoryResponse *r = lc_rpc(
        GOV "ActorHistory", &req.base, &loopledger__v1__actor_history_response__descriptor);
    if (lc_opts.json) {
        ll_jw_t jw;
        ll_jw_init(&jw, 0);
        ll_jw_begin_object(&jw);
        ll_jw_key(&jw, "actor_id");
        ll_jw_string(&jw, r->actor_id);
        ll_jw_key(&jw, "display_name");
        ll_jw_string(&jw, r->display_name);
        ll_jw_key(&jw, "roles");
        ll_jw_begin_array(&jw);
        for (size_t i = 0; i < r->n_roles; i++)
            ll_jw_string(&jw, lc_role_name(r->roles[i]));
        ll_jw_end_array(&jw);
        ll_jw_key(&jw, "keys");
        ll_jw_begin_array(&jw);
        for (size_t i = 0; i < r->n_keys; i++) {
            ll_jw_begin_object(&jw);
            ll_jw_key(&jw, "keyid");
            ll_jw_string(&jw, r->keys[i]->keyid);
            ll_jw_key(&jw, "registered_seq");
            ll_jw_uint64(&jw, r->keys[i]->registered_seq);
            ll_jw_key(&jw, "revoked_unix_nanos");
            ll_jw_int64(&jw, r->keys[i]->revoked_unix_nanos);
            ll_jw_end_object(&jw);
        }
        ll_jw_end_array(&jw);
        ll_jw_key(&jw, "governance");
        ll_jw_begin_array(&jw);
        for (size_t i = 0; i < r->n_governance; i++)
            jw_ref(&jw, r->governance[i]);
        ll_jw_end_array(&jw);
        ll_jw_key(&jw, "authored_count");
        ll_jw_uint64(&jw, r->authored_count);
        ll_jw_end_object(&jw);
        lc_print_json(&jw);
    } else {
        printf("%s (%s), roles:", r->actor_id, r->display_name);
        for (size_t i = 0; i < r->n_roles; i++)
            printf(" %s", lc_role_name(r->roles[i]));
        printf("\nkeys:\n");
        for (size_t i = 0; i < r->n_keys; i++) {
            char when[40] = "valid";
            if (r->keys[i]->revoked_unix_nanos)
                lc_format_time(r->keys[i]->revoked_unix_nanos, when);
            printf("  %.16s...  registered by #%-6" PRIu64 " %s%s\n", r->keys[i]->keyid,
                   r->keys[i]->registered_seq, r->keys[i]->revoked_unix_nanos ? "revoked " : "",
                   when);
        }
        printf("governance entries:\n");
        for (size_t i = 0; i < r->n_governance; i++)
            print_ref("  ", r->governance[i]);
        printf("authored %" PRIu64 " entries; most recent:\n", r->authored_count);
        for (size_t i = 0; i < r->n_recent; i++)
            print_ref("  ", r->recent[i]);
    }
    protobuf_c_message_free_unpacked(&r->base, NULL);
    return 0;
}

/* ---- export-audit: length-delimited AuditRecords ---- */

typedef struct export_ctx {
    FILE *out;
    uint64_t records;
} export_ctx_t;

static int put_varint(FILE *f, uint64_t v)
{
    do {
        if (fputc((int)((v & 0x7f) | (v >= 0x80 ? 0x80 : 0)), f) == EOF)
            return -1;
        v >>= 7;
    } while (v);
    return 0;
}

static int on_record(void *ctx, const uint8_t *msg, size_t len)
{
    export_ctx_t *x = ctx;
    if (put_varint(x->out, len) || fwrite(msg, 1, len, x->out) != len)
        return 1;
    x->records++;
    return 0;
}

int lc_cmd_export_audit(int argc, char **argv)
{
    Loopledger__V1__ExportAuditRequest req = LOOPLEDGER__V1__EXPORT_AUDIT_REQUEST__INIT;
    const char *path = NULL;
    uint8_t buf[32];
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--size") && i + 1 < argc) req.tree_size = lc_parse_u64(argv[++i], "--size");
        else if (!strcmp(argv[i], "--out") && i + 1 < argc) path = argv[++i];
        else lc_die("export-audit: unexpected argument %s", argv[i]);
    }
    if (!path)
        lc_die("usage: loopctl export-audit --out FILE [--size N]");
    export_ctx_t x = {fopen(path, "wb"), 0};
    if (!x.out)
        lc_die("cannot write %s", path);
    size_t n = loopledger__v1__export_audit_request__pack(&req, buf);
    ll_reply_t r;
    if (ll_client_stream(lc_client(), GOV "ExportAudit", buf, n, 0, on_record, &x, &r))
        lc_die("ExportAudit: call failed");
    if (fclose(x.out) || r.code != GRPC_STATUS_OK) {
        fprintf(stderr, "loopctl: %s: %s\n", lc_status_name(r.code), r.message);
        remove(path);
        exit(3);
    }
    ll_reply_free(&r);
    printf("wrote %s: checkpoint and %" PRIu64 " entries\n", path, x.records - 1);
    return 0;
}

/* ---- verify --audit FILE: the offline auditor ---- */

typedef struct key {
    uint8_t id[LL_HASH_LEN];
    uint8_t pub[LL_PUBKEY_LEN];
    char actor[129];
    int64_t revoked; /* 0 = valid */
} key_t_;

typedef struct actor {
    char id[129];
    uint32_t roles;
    size_t current; /* index of its current key */
} actor_t;

/* What the replay knows: keys and actors, rebuilt from the export alone. */
typedef struct authority {
    key_t_ *k;
    size_t n, cap;
    actor_t *a;
    size_t na, acap;
} authority_t;

static void *grow(void *p, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return p;
    *cap = *cap ? 2 * *cap : 16;
    p = realloc(p, *cap * size);
    if (!p)
        lc_die("out of memory");
    return p;
}

static key_t_ *key_find(authority_t *r, const uint8_t id[LL_HASH_LEN])
{
    for (size_t i = 0; i < r->n; i++)
        if (!memcmp(r->k[i].id, id, LL_HASH_LEN))
            return &r->k[i];
    return NULL;
}

static actor_t *actor_find(authority_t *r, const char *id)
{
    for (size_t i = 0; i < r->na; i++)
        if (!strcmp(r->a[i].id, id))
            return &r->a[i];
    return NULL;
}

static size_t key_add(authority_t *r, uint64_t seq, const ProtobufCBinaryData *pub,
                      const char *actor)
{
    if (pub->len != LL_PUBKEY_LEN || !pub->data)
        lc_die("FAIL: #%" PRIu64 ": a registered key is not 32 bytes", seq);
    r->k = grow(r->k, &r->cap, r->n, sizeof *r->k);
    key_t_ *k = &r->k[r->n];
    memset(k, 0, sizeof *k);
    memcpy(k->pub, pub->data, LL_PUBKEY_LEN);
    ll_sha256(k->pub, LL_PUBKEY_LEN, k->id);
    if (key_find(r, k->id))
        lc_die("FAIL: #%" PRIu64 ": a key registered twice", seq);
    snprintf(k->actor, sizeof k->actor, "%s", actor);
    return r->n++;
}

static void actor_add(authority_t *r, uint64_t seq, const Loopledger__V1__ActorRegistration *reg)
{
    if (!reg || !reg->actor_id[0] || strlen(reg->actor_id) > 128)
        lc_die("FAIL: #%" PRIu64 ": malformed actor registration", seq);
    if (actor_find(r, reg->actor_id))
        lc_die("FAIL: #%" PRIu64 ": actor \"%s\" registered twice", seq, reg->actor_id);
    size_t key = key_add(r, seq, &reg->public_key, reg->actor_id);
    r->a = grow(r->a, &r->acap, r->na, sizeof *r->a);
    actor_t *a = &r->a[r->na++];
    memset(a, 0, sizeof *a);
    snprintf(a->id, sizeof a->id, "%s", reg->actor_id);
    for (size_t i = 0; i < reg->n_roles; i++)
        if (reg->roles[i] > 0 && reg->roles[i] < 32)
            a->roles |= 1u << reg->roles[i];
    a->current = key;
}

static int get_varint(FILE *f, uint64_t *v)
{
    int c, shift = 0;
    *v = 0;
    while ((c = fgetc(f)) != EOF) {
        *v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80))
            return 0;
        if ((shift += 7) > 63)
            return -1;
    }
    return shift ? -1 : 1; /* 1: clean end of file */
}

static Loopledger__V1__AuditRecord *next_record(FILE *f, int *eof)
{
    uint64_t len;
    int rc = get_varint(f, &len);
    *eof = rc == 1;
    if (rc)
        return NULL;
    if (len > (64u << 20))
        lc_die("FAIL: audit file: record of %" PRIu64 " bytes", len);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf || fread(buf, 1, len, f) != len)
        lc_die("FAIL: audit file is truncated");
    Loopledger__V1__AuditRecord *r = loopledger__v1__audit_record__unpack(NULL, len, buf);
    free(buf);
    if (!r)
        lc_die("FAIL: audit file holds a malformed record");
    return r;
}

/* Replays the authority changes of entry seq (already authenticated). */
static void apply_authority(authority_t *au, uint64_t seq, const Loopledger__V1__EntryBody *b,
                            int64_t t)
{
    switch (b->kind_case) {
    case LOOPLEDGER__V1__ENTRY_BODY__KIND_ACTOR:
        actor_add(au, seq, b->actor);
        break;
    case LOOPLEDGER__V1__ENTRY_BODY__KIND_KEY_ROTATION: {
        actor_t *a = actor_find(au, b->key_rotation->actor_id);
        if (!a)
            lc_die("FAIL: #%" PRIu64 ": rotation for an unknown actor", seq);
        key_t_ *old = &au->k[a->current];
        /* Like the server: the old key stops at t unless it stopped earlier. */
        if (!old->revoked || old->revoked > t)
            old->revoked = t;
        size_t k = key_add(au, seq, &b->key_rotation->new_public_key, a->id);
        a = actor_find(au, b->key_rotation->actor_id); /* key_add may not move actors */
        a->current = k;
        break;
    }
    case LOOPLEDGER__V1__ENTRY_BODY__KIND_REVOCATION: {
        uint8_t rid[LL_HASH_LEN];
        key_t_ *rk;
        int64_t at = b->revocation->effective_unix_nanos ? b->revocation->effective_unix_nanos : t;
        if (strlen(b->revocation->keyid) != 2 * LL_HASH_LEN ||
            ll_hex_decode(b->revocation->keyid, 2 * LL_HASH_LEN, rid, LL_HASH_LEN) ||
            !(rk = key_find(au, rid)) || strcmp(rk->actor, b->revocation->actor_id))
            lc_die("FAIL: #%" PRIu64 ": revocation of a key that is not the actor's", seq);
        if (rk->revoked && rk->revoked <= at)
            lc_die("FAIL: #%" PRIu64 ": revocation would move a revocation later", seq);
        rk->revoked = at;
        break;
    }
    case LOOPLEDGER__V1__ENTRY_BODY__KIND_ROLE_GRANT: {
        actor_t *a = actor_find(au, b->role_grant->actor_id);
        if (!a || b->role_grant->n_roles == 0)
            lc_die("FAIL: #%" PRIu64 ": malformed role grant", seq);
        a->roles = 0;
        for (size_t i = 0; i < b->role_grant->n_roles; i++)
            if (b->role_grant->roles[i] > 0 && b->role_grant->roles[i] < 32)
                a->roles |= 1u << b->role_grant->roles[i];
        break;
    }
    default:
        break;
    }
}

/* The matrix (ll_authz.h), plus changing one's own key. */
static int may_write(const authority_t *au, const actor_t *author,
                     const Loopledger__V1__EntryBody *b)
{
    const char *subject = NULL;
    (void)au;
    if (ll_authz_may_author(author->roles, b->kind_case))
        return 1;
    if (b->kind_case == LOOPLEDGER__V1__ENTRY_BODY__KIND_KEY_ROTATION)
        subject = b->key_rotation->actor_id;
    if (b->kind_case == LOOPLEDGER__V1__ENTRY_BODY__KIND_REVOCATION)
        subject = b->revocation->actor_id;
    return subject && !strcmp(subject, author->id) &&
           (author->roles & ~LL_ROLE_BIT(LOOPLEDGER__V1__ROLE__ROLE_AUDITOR));
}

int lc_cmd_verify_audit(const char *path, const char *vkey)
{
    char name[LL_NOTE_MAX_NAME + 1];
    uint8_t spub[LL_PUBKEY_LEN], root[LL_HASH_LEN];
    ll_checkpoint_t cp;
    size_t body_len;
    authority_t au = {0};
    int eof;
    int64_t last_t = 0;
    FILE *f = fopen(path, "rb");

    if (!f)
        lc_die("cannot read %s", path);
    if (ll_note_parse_verifier_key(vkey, name, sizeof name, spub))
        lc_die("verify: malformed verifier key");
    Loopledger__V1__AuditRecord *r = next_record(f, &eof);
    if (!r || !r->checkpoint[0])
        lc_die("FAIL: the audit file does not start with a checkpoint");
    if (ll_note_verify(r->checkpoint, strlen(r->checkpoint), name, spub, &body_len) ||
        ll_checkpoint_parse(r->checkpoint, body_len, &cp) || strcmp(cp.origin, name))
        lc_die("FAIL: the export's checkpoint is not signed by %s", name);
    memcpy(root, cp.root, LL_HASH_LEN);
    loopledger__v1__audit_record__free_unpacked(r, NULL);

    uint64_t seq = 0;
    while ((r = next_record(f, &eof))) {
        uint8_t lh[LL_HASH_LEN], proof[LL_MERKLE_MAX_PROOF][LL_HASH_LEN], kid[LL_HASH_LEN];
        if (r->seq != seq)
            lc_die("FAIL: entry %" PRIu64 " is missing (found %" PRIu64 ")", seq, r->seq);
        if (r->n_proof > LL_MERKLE_MAX_PROOF)
            lc_die("FAIL: #%" PRIu64 ": proof too long", seq);
        for (size_t i = 0; i < r->n_proof; i++) {
            if (r->proof[i].len != LL_HASH_LEN)
                lc_die("FAIL: #%" PRIu64 ": malformed proof", seq);
            memcpy(proof[i], r->proof[i].data, LL_HASH_LEN);
        }
        ll_merkle_leaf_hash(r->leaf.data, r->leaf.len, lh);
        if (ll_merkle_verify_inclusion(lh, seq, cp.size, (const uint8_t(*)[LL_HASH_LEN])proof,
                                       r->n_proof, root))
            lc_die("FAIL: #%" PRIu64 " is not included in the signed tree", seq);

        {
            /* One reading of every signed byte (ll_entry_decode's rules). */
            const uint8_t *raw;
            size_t raw_len;
            uint64_t ls;
            int64_t lt;
            ll_entry_t de;
            char why[256];
            if (ll_leaf_parse(r->leaf.data, r->leaf.len, &ls, &lt, &raw, &raw_len))
                lc_die("FAIL: #%" PRIu64 ": the leaf is not a LogEntry as the server writes it", seq);
            if (ll_entry_decode(raw, raw_len, &de, why, sizeof why))
                lc_die("FAIL: #%" PRIu64 ": an envelope the server must refuse: %s", seq, why);
            ll_entry_free(&de);
        }
        Loopledger__V1__LogEntry *le =
            loopledger__v1__log_entry__unpack(NULL, r->leaf.len, r->leaf.data);
        Loopledger__V1__EntryBody *b = NULL;
        if (!le || !le->envelope || le->seq != seq || le->envelope->n_signatures != 1 ||
            strcmp(le->envelope->payload_type, LL_DSSE_PAYLOAD_TYPE) ||
            le->envelope->signatures[0]->sig.len != LL_SIG_LEN ||
            !(b = loopledger__v1__entry_body__unpack(NULL, le->envelope->payload.len,
                                                     le->envelope->payload.data)))
            lc_die("FAIL: #%" PRIu64 ": malformed entry", seq);
        const Loopledger__V1__Signature *sig = le->envelope->signatures[0];
        int64_t t = le->server_time_unix_nanos;
        if (seq > 0 && t <= last_t)
            lc_die("FAIL: #%" PRIu64 ": server time does not increase", seq);
        last_t = t;
        if (b->kind_case == LOOPLEDGER__V1__ENTRY_BODY__KIND_GENESIS) {
            if (seq != 0 || !b->genesis->server || !b->genesis->admin)
                lc_die("FAIL: #%" PRIu64 ": a misplaced or malformed genesis", seq);
            actor_add(&au, seq, b->genesis->server);
            actor_add(&au, seq, b->genesis->admin);
        } else if (seq == 0) {
            lc_die("FAIL: #0 is not a genesis entry");
        }
        key_t_ *k = NULL;
        actor_t *author = actor_find(&au, b->author);
        if (strlen(sig->keyid) != 2 * LL_HASH_LEN ||
            ll_hex_decode(sig->keyid, 2 * LL_HASH_LEN, kid, LL_HASH_LEN) ||
            !(k = key_find(&au, kid)))
            lc_die("FAIL: #%" PRIu64 ": signed by a key no earlier entry registered", seq);
        if (strcmp(k->actor, b->author) || !author)
            lc_die("FAIL: #%" PRIu64 ": key of \"%s\" used by author \"%s\"", seq, k->actor,
                   b->author);
        if (k->revoked && t >= k->revoked)
            lc_die("FAIL: #%" PRIu64 ": signed by a key revoked before it", seq);
        if (ll_dsse_verify(k->pub, le->envelope->payload_type, strlen(le->envelope->payload_type),
                           le->envelope->payload.data, le->envelope->payload.len, sig->sig.data,
                           sig->sig.len))
            lc_die("FAIL: #%" PRIu64 ": the author's signature does not verify", seq);
        /* Who may write what: the genesis is the server's by construction. */
        if (seq > 0 && !may_write(&au, author, b))
            lc_die("FAIL: #%" PRIu64 ": \"%s\" had no role allowing a %s entry", seq, b->author,
                   lc_kind_name(b->kind_case));
        if (seq > 0)
            apply_authority(&au, seq, b, t);
        loopledger__v1__entry_body__free_unpacked(b, NULL);
        loopledger__v1__log_entry__free_unpacked(le, NULL);
        loopledger__v1__audit_record__free_unpacked(r, NULL);
        seq++;
    }
    if (!eof)
        lc_die("FAIL: audit file is truncated");
    fclose(f);
    if (seq != cp.size)
        lc_die("FAIL: the export holds %" PRIu64 " entries, the checkpoint %" PRIu64, seq,
               cp.size);
    printf("ok   audit %s: checkpoint %s size %" PRIu64 " signed by the pinned key; every entry "
           "present, included, signed by its author's key at the time and allowed by the "
           "author's roles (%zu actors, %zu keys replayed)\n",
           path, cp.origin, cp.size, au.na, au.n);
    free(au.k);
    free(au.a);
    return 0;
}
