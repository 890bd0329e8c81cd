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
 *      and ll_trust.h.
 *
 * A server refuses a data directory of a newer version than it knows
 * (LL_ERR_PRECONDITION, with a message naming both versions), upgrades an
 * older one in place in one write transaction (all or nothing, so a crash
 * during the upgrade leaves the old version), and stamps a new, empty
 * directory with LL_FORMAT_VERSION. Adding a field to a record means a new
 * version and an upgrade step here, never a reader that guesses.
 */
#ifndef LL_FORMAT_H
#define LL_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "ll_store.h"

#define LL_FORMAT_VERSION 2u
#define LL_FORMAT_KEY "format"

/* The data format version as seen by txn: 1 when no version is stored and
 * the log is not empty, LL_FORMAT_VERSION for an empty log without one.
 * LL_ERR_CORRUPT if the stored value is malformed. */
int ll_format_version(ll_txn_t *txn, uint32_t *version);

/* Read-only check for tools that do not write (verify): LL_OK for a known
 * version, LL_ERR_PRECONDITION with msg for a newer one. */
int ll_format_check(ll_store_t *st, char *msg, size_t cap);

/* Makes st current before a server uses it: refuses a newer version
 * (LL_ERR_PRECONDITION with msg), upgrades an older one in place, stamps
 * an unversioned empty store. *from (may be NULL) receives the version
 * found. Idempotent. Must run before any other writer (the ledger's writer
 * thread starts in ll_ledger_open, which calls it first). */
int ll_format_prepare(ll_store_t *st, uint32_t *from, char *msg, size_t cap);

#endif
