/*
 * loopctl_append: signing and appending entries (`append`, `resubmit`,
 * and `KIND ...` for the domain kinds).
 */
#ifndef LOOPCTL_APPEND_H
#define LOOPCTL_APPEND_H

#include "loopledger/v1/entry.pb-c.h"
#include "loopledger/v1/ledger.pb-c.h"

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

#endif
