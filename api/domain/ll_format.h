/*
 * ll_format: the version of a data directory's record encodings, and the
 * upgrade from older versions.
 *
 * The log itself (leaves, tree nodes) is defined by public specs and does
 * not change; what changes with the code is the encoding of the records
 * derived from it (ll_index.h, ll_trust.h). The meta table holds
 * LL_FORMAT_KEY -> version u32 big-endian. Versions:
 *   1  every data directory written before versioning (no LL_FORMAT_KEY):
 *      state 'S' and approval 'H' records were raw in-memory structs and
 *      series 'M' values host-order doubles;
 *   2  every record with the explicit encoding documented in ll_index.h
 *      and ll_trust.h;
 *   3  the same encodings, with the meanings of issue 11: state 'S' and
 *      open-loop 'O' records count only what is in effect and not
 *      superseded, pending 'Y' only entries a policy holds, and patches of
 *      long-lived records store their merged record ('U', ll_record.h).
 *
 * A server refuses a data directory of a newer version than it knows
 * (LL_ERR_PRECONDITION, with a message naming both versions), upgrades an
 * older one in place, and stamps a new, empty directory with
 * LL_FORMAT_VERSION. The upgrade, from any older version, rebuilds every
 * derived table from the leaves (ll_derive_rebuild: the writer's own
 * replay, as verify runs it) in the one write transaction that stamps the
 * new version: all or nothing, so a crash during the upgrade leaves the
 * old version. Rebuilding rather than converting records means one upgrade
 * path for every version, and it also gives old data the current rules'
 * meanings, which no record-by-record conversion can.
 *
 * Why on open, not by an explicit `loopledgerd upgrade`: a server of this
 * version cannot serve an older directory correctly (its readers know one
 * encoding and one meaning), and the upgrade is atomic and idempotent, so
 * there is nothing for an operator to decide; the server logs "upgraded
 * the data format from N to 3". It costs one replay of the log (what
 * `loopledgerd verify` costs) at the first start; take a backup first if
 * a downgrade may be wanted (an older release refuses the new version).
 * Changing a record's encoding or meaning means a new version here, never
 * a reader that guesses.
 */
#ifndef LL_FORMAT_H
#define LL_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "ll_store.h"

#define LL_FORMAT_VERSION 3u
#define LL_FORMAT_KEY "format"

/* The data format version as seen by txn: 1 when no version is stored and
 * the log is not empty, LL_FORMAT_VERSION for an empty log without one.
 * LL_ERR_CORRUPT if the stored value is malformed. */
int ll_format_version(ll_txn_t *txn, uint32_t *version);

/* Read-only check for tools that do not write (verify): LL_OK for a known
 * version, LL_ERR_PRECONDITION with msg for a newer one. */
int ll_format_check(ll_store_t *st, char *msg, size_t cap);

/* Rebuilds the derived tables in write transaction w from its leaves
 * (ll_ledger_rebuild_derived); LL_OK or an ll_err code with msg[cap]. */
typedef int (*ll_format_rebuild_fn)(ll_txn_t *w, char *msg, size_t cap);

/* Makes st current before a server uses it: refuses a newer version
 * (LL_ERR_PRECONDITION with msg), upgrades an older non-empty one in place
 * with rebuild (NULL: refuses it, LL_ERR_PRECONDITION), stamps an
 * unversioned empty store. *from (may be NULL) receives the version
 * found. Idempotent. Must run before any other writer (the ledger's writer
 * thread starts in ll_ledger_open, which calls it first). */
int ll_format_prepare(ll_store_t *st, ll_format_rebuild_fn rebuild, uint32_t *from, char *msg,
                      size_t cap);

#endif
