/*
 * loopctl internals shared between its command files:
 *   loopctl.c         main, keygen, reads, proofs, verify, watch, health
 *   loopctl_util.c    global options, RPC helpers, error exits
 *   loopctl_entry.c   JSON -> EntryBody, leaf printing
 *   loopctl_append.c  append and the per-kind commands
 *   loopctl_loop.c    LoopService commands (state, lineage, open-loops),
 *                     relations (the link table)
 *   loopctl_tls.c     local checks of TLS and key files before dialling
 *   lc_pbjson.c       descriptor-driven protobuf <-> JSON
 * A CLI: every helper that cannot go on exits with a message (lc_die,
 * status 1; a gRPC error exits 3 with "CODE: message").
 */
#ifndef LOOPCTL_H
#define LOOPCTL_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "ll_client.h"
#include "ll_crypto.h"
#include "ll_json.h"
#include "loopledger/v1/entry.pb-c.h"
#include "loopledger/v1/ledger.pb-c.h"

typedef struct lc_opts {
    const char *server;
    int json;
    int timeout_ms;
    /* mTLS (all three, or none for plaintext loopback) */
    const char *ca, *cert, *key;
    /* Append: also write the AppendRequest bytes here (for resubmit). */
    const char *save_request;
    /* Append: validate only (AIP-163); nothing is written. */
    int dry_run;
} lc_opts_t;

extern lc_opts_t lc_opts;

/* ---- loopctl_util.c ---- */

void lc_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
const char *lc_status_name(grpc_status_code c);
/* The shared channel (created on first use); closed by main. */
ll_client_t *lc_client(void);
void lc_client_close(void);
/* Unary call; exits on failure (3 for a gRPC error status). */
void lc_call(const char *method, const uint8_t *req, size_t len, ll_reply_t *r);
/* Unary call with protobuf-c messages; the caller frees the answer with
 * protobuf_c_message_free_unpacked(.., NULL). */
void *lc_rpc(const char *method, const ProtobufCMessage *req,
             const ProtobufCMessageDescriptor *resp_desc);
uint64_t lc_parse_u64(const char *s, const char *what);
/* RFC 3339 ("2026-11-28T07:00:00Z", fraction and offset allowed) or unix
 * nanoseconds. */
int64_t lc_parse_time(const char *s, const char *what);
/* An --as-of argument: a tree size (digits), or an RFC 3339 time, which
 * means the size ending with the last entry at or before that time (found
 * by binary search over GetEntry; exits when there is none). */
uint64_t lc_parse_as_of(const char *s, const char *what);
/* Finishes jw and prints it with a newline. */
void lc_print_json(ll_jw_t *jw);
/* Lowercase approval status for people: "pending", "rejected", or "" when
 * effective (or unknown: nothing to flag). */
const char *lc_status_word(int status);
/* A number for people: whole numbers from 1,000 on with thousands
 * separators (never 3.5e+06), two decimals from 1, three significant
 * digits below. Returns out. */
char *lc_fmt_num(double v, char *out, size_t cap);
/* s cut to width characters ("..." -> "initiati..") so that table
 * columns stay aligned. Returns out. */
char *lc_fit(const char *s, int width, char *out, size_t cap);
/* Lowercase HITL level ("exception_handling"); "?" when unknown. */
const char *lc_level_name(int level);
/* Whole file, NUL-terminated, malloc'd; NULL with errno on failure. */
char *lc_read_file(const char *path, size_t *len);

/* ---- loopctl_tls.c ---- */

/* Checks the mTLS files before dialling (given, readable, PEM, key matches
 * certificate, certificate within its validity); exits with a message
 * naming the variable or flag to set otherwise. */
void lc_tls_check(const char *ca, const char *cert, const char *key);
/* Loads the signing key of --key; exits with a precise message when the
 * file is missing, unreadable, a public key or not a private key. */
ll_key_t *lc_load_signing_key(const char *path);

/* ---- loopctl_entry.c ---- */

/* Builds an EntryBody from a JSON document (see README "Entry JSON").
 * On success *out is owned by the caller (lc_body_free). Errors go to
 * err[cap]. Relative public_key_file paths resolve against base_dir. */
int lc_body_from_json(const ll_json_t *doc, const char *base_dir,
                      Loopledger__V1__EntryBody **out, char *err, size_t cap);
/* An empty body (no kind yet) with author, initiative, a fresh nonce and
 * the client time; caller frees with lc_body_free. */
int lc_body_new(const char *author, const char *initiative,
                Loopledger__V1__EntryBody **out);
int lc_body_add_link(Loopledger__V1__EntryBody *b, const char *relation,
                     uint64_t target, char *err, size_t cap);
void lc_body_free(Loopledger__V1__EntryBody *body);

/* The EntryBody oneof member for a kind name ("hypothesis",
 * "scaling_plan" or "scaling-plan", "initiative" for charter), or NULL.
 * Genesis is never a client kind. */
const ProtobufCFieldDescriptor *lc_kind_field(const char *name);

/* Lowercase Kind name ("initiative", "scaling_plan"); "unknown". */
const char *lc_kind_name(uint32_t kind);

/* Relation and role names <-> enum values; -1 / "unknown" when unknown. */
int lc_relation_from_name(const char *name);
const char *lc_relation_name(int rel);
const char *lc_role_name(int role);

/* One line describing the body (title, statement, summary...). */
void lc_summarize(const Loopledger__V1__EntryBody *b, char *out, size_t cap);
void lc_format_time(int64_t ns, char out[40]);

/* Prints one leaf (serialized LogEntry) for humans (full: every field of
 * the kind; else the summary line and links), or as a JSON object into jw
 * when jw is non-NULL (always full). superseded_by, when non-NULL, is the
 * Correction that supersedes the entry (JSON: "superseded": true,
 * "superseded_by": N). status is the entry's ApprovalStatus (0 = not
 * known: not shown; text flags "[pending]" / "[rejected]", JSON has
 * "status"). A patch of a long-lived record shows its update_mask, and,
 * when effective is non-NULL, the record after the update (JSON:
 * "update_mask", "effective"); updated_by != 0 names the later entry of the
 * record (JSON: "updated_by"). Returns LL_OK or LL_ERR_INVALID. */
int lc_print_leaf(const uint8_t *leaf, size_t len, ll_jw_t *jw, int full,
                  const uint64_t *superseded_by, int status,
                  const Loopledger__V1__EntryBody *effective, uint64_t updated_by);

/* The record after an update (GetEntry's or Append's effective), for
 * humans: "  record after the update:" and its fields. */
void lc_print_effective(const Loopledger__V1__EntryBody *effective);

/* ---- loopctl_append.c ---- */

/* Seals body with the key in keyfile, appends it and prints the result
 * (label names the kind for humans). Exits on any failure. */
void lc_append_body(const Loopledger__V1__EntryBody *body, const char *keyfile);
/* Prints an AppendResponse: seq, status, and what the entry caused (text
 * or --json). body (may be NULL) names the kind and summary. */
void lc_print_append(const Loopledger__V1__AppendResponse *resp,
                     const Loopledger__V1__EntryBody *body);
int lc_cmd_append(int argc, char **argv);
/* Sends a saved AppendRequest again: idempotent (the original seq). */
int lc_cmd_resubmit(int argc, char **argv);
/* `loopctl KIND ...` for the domain kinds; argv[0] is the kind. */
int lc_cmd_kind(int argc, char **argv);
int lc_is_kind_command(const char *name);

/* ---- loopctl_loop.c ---- */

/* Asks LoopService whether seq is superseded: 1 (and *by), 0 when it is
 * not, -1 when the server cannot say (the caller then says nothing). */
int lc_superseded(uint64_t seq, uint64_t *by);
int lc_cmd_state(int argc, char **argv);
/* KPIs against their targets, as `state` prints them (loopctl_roadmap.c). */
struct Loopledger__V1__InitiativeState;
void lc_print_kpis(const struct Loopledger__V1__InitiativeState *s);
int lc_cmd_lineage(int argc, char **argv);
int lc_cmd_open_loops(int argc, char **argv);
/* The link table (source kind, relation, target kinds), from the server's
 * own definition. */
int lc_cmd_relations(int argc, char **argv);

/* ---- loopctl_gov.c ---- */

int lc_cmd_decisions(int argc, char **argv);
/* loopctl_export.c */
int lc_cmd_export(int argc, char **argv);
int lc_cmd_pending(int argc, char **argv);
int lc_cmd_actor(int argc, char **argv);
int lc_cmd_export_audit(int argc, char **argv);
/* Offline audit of an export-audit file against a pinned verifier key. */
int lc_cmd_verify_audit(const char *path, const char *vkey);

#endif
