/*
 * loopctl_entry: entries on the client side: JSON -> EntryBody, names of
 * kinds, relations and roles, and printing of leaves for people or JSON.
 * Needs no server; uses loopctl_util only.
 */
#ifndef LOOPCTL_ENTRY_H
#define LOOPCTL_ENTRY_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "ll_json.h"
#include "ll_jw.h"
#include "loopledger/v1/entry.pb-c.h"

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

#endif
