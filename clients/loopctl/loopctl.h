/*
 * loopctl internals shared between its command files.
 */
#ifndef LOOPCTL_H
#define LOOPCTL_H

#include <stddef.h>
#include <stdint.h>

#include "ll_client.h"
#include "ll_json.h"
#include "loopledger/v1/entry.pb-c.h"

typedef struct lc_opts {
    const char *server;
    int json;
    int timeout_ms;
} lc_opts_t;

/* Builds an EntryBody from a JSON document (see README "Entry JSON").
 * On success *out is owned by the caller (lc_body_free). Errors go to
 * err[cap]. Relative public_key_file paths resolve against base_dir. */
int lc_body_from_json(const ll_json_t *doc, const char *base_dir,
                      Loopledger__V1__EntryBody **out, char *err, size_t cap);
void lc_body_free(Loopledger__V1__EntryBody *body);

/* Relation and role names <-> enum values; -1 / NULL when unknown. */
int lc_relation_from_name(const char *name);
const char *lc_relation_name(int rel);
const char *lc_role_name(int role);

/* Prints one leaf (serialized LogEntry) for humans, or as a JSON object
 * into jw when jw is non-NULL. Returns LL_OK or LL_ERR_INVALID. */
int lc_print_leaf(const uint8_t *leaf, size_t len, ll_jw_t *jw);

#endif
