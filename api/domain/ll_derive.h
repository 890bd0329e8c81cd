/*
 * ll_derive: the derived tables, rebuilt from the leaves and compared with
 * what is stored.
 *
 * Everything the server decides from besides the leaves (actors, keys and
 * roles, policies, dedup records, every index, loop state, the meta
 * records "size", "last_time" and "origin") is a function of the leaves:
 * the writer computes it from each entry, its sequence number and its
 * server time, all recorded in the leaf. So it can be recomputed, and a
 * stored table that differs from the recomputed one was altered (bit rot,
 * a bad disk, or someone with write access to the file: one flipped role
 * byte made a contributor an admin; one flipped dedup key let an envelope
 * be appended twice). The audit (ll_audit.h) proves the leaves; this
 * proves what was derived from them.
 *
 * How: every leaf is replayed, in order, through the writer's own apply
 * code (ll_ledger_replay_entry, passed in as a ll_derive_apply_fn so that
 * this module sits below the ledger and no call cycle forms) into a
 * scratch LMDB environment in a temporary directory, with the leaf's
 * sequence number and server time; then each table of the scratch is
 * compared record by record with the stored one, both ways (missing,
 * extra, different), in one merge walk of the two in key order. The meta record "checkpoint" is
 * the one record that is not derived (it is a signature, checked by
 * ll_audit_checkpoint) and is skipped; any other record in meta must be
 * derived.
 *
 * The start-up check (ll_derive_startup_check) is the cheap part of this,
 * what authorisation relies on: it replays only the entries that change
 * actors and keys (found by the kind index), compares the actor and key
 * records and the origin, checks meta "size" and "last_time" against the
 * last leaf, and checks that meta holds no record but the known ones.
 * Hiding an entry from the kind index makes it disagree too; only damage
 * to the index and the trust records that agrees with itself escapes it,
 * and the full check finds that.
 */
#ifndef LL_DERIVE_H
#define LL_DERIVE_H

#include <stddef.h>
#include <stdint.h>

#include "ll_entry.h"
#include "ll_store.h"

#define LL_DERIVE_NO_SEQ UINT64_MAX

typedef struct ll_derive_report {
    uint64_t replayed;                 /* leaves replayed */
    uint64_t records[LL_TBL__COUNT];   /* stored records compared, per table */
    uint64_t diffs[LL_TBL__COUNT];     /* records missing, extra or different */
    int damaged;                       /* 1 if anything disagreed */
    /* Entry whose replay failed (the writer could not have written it
     * there), or LL_DERIVE_NO_SEQ when the leaves replayed and only
     * tables differ. */
    uint64_t bad_seq;
    /* The first difference: "table actors, key "ana": expected 00000004...,
     * found 00000006..." or the replay failure. */
    char what[512];
    double seconds;
    /* The stored format version when older than LL_FORMAT_VERSION (else 0):
     * the index records, whose encoding or meaning changed since, were not
     * compared; a server rebuilds them from the leaves at its next start. */
    uint32_t old_format;
} ll_derive_report_t;

/* Applies one recorded entry (envelope env, sequence number seq, server
 * time t from its leaf) to the scratch transaction w exactly as the writer
 * did; trust_only: only the actor and key records. LL_OK, LL_ERR_CORRUPT
 * when the writer could not have written it (why in msg[cap]), other codes
 * for store failures. ll_ledger_replay is the one implementation. */
typedef int (*ll_derive_replay_fn)(ll_txn_t *w, const uint8_t *env, size_t len, uint64_t seq,
                                   int64_t t, int trust_only, char *msg, size_t cap);

/* ll_derive_replay_fn for an entry already decoded from its envelope (which
 * e borrows): ll_ledger_replay_entry. */
typedef int (*ll_derive_apply_fn)(ll_txn_t *w, const ll_entry_t *e, uint64_t seq, int64_t t,
                                  int trust_only, char *msg, size_t cap);

/* Name of an auxiliary table ("meta", "dedup", "actors", "keys", "index"). */
const char *ll_derive_table_name(enum ll_table t);

/* Rebuilds every derived table of st from its leaves and compares (see
 * above). The scratch lives in a fresh directory under $TMPDIR (or /tmp)
 * and is removed afterwards. Returns LL_OK when the check ran to the end,
 * damaged or not (rep->damaged), or an ll_err code when it could not run
 * (store unreadable, out of memory or disk for the scratch). */
int ll_derive_check(ll_store_t *st, ll_derive_apply_fn apply, ll_derive_report_t *rep);

/* The same check fed by a reader that decodes the entries anyway (the
 * audit, ll_audit_run_visit), so that each leaf is decoded once:
 * ll_derive_begin opens the scratch; ll_derive_feed replays entry seq
 * (decoded from its leaf, server time t), in order from #0; ll_derive_end
 * compares the scratch with stored, the read snapshot the entries came
 * from, fills rep as ll_derive_check does, and frees r. A feed that fails
 * stops the replay: later feeds return the same code (LL_ERR_CORRUPT: the
 * entry is the finding, reported by ll_derive_end). ll_derive_end returns
 * LL_ERR_INVALID when fewer entries were fed than stored holds, with no
 * failure to explain it. ll_derive_abandon frees r without a report (NULL
 * is allowed). One thread at a time. */
typedef struct ll_derive_run ll_derive_run_t;
int ll_derive_begin(ll_derive_apply_fn apply, ll_derive_run_t **out);
int ll_derive_feed(ll_derive_run_t *r, uint64_t seq, int64_t t, const ll_entry_t *e);
int ll_derive_end(ll_derive_run_t *r, ll_txn_t *stored, ll_derive_report_t *rep);
void ll_derive_abandon(ll_derive_run_t *r);

/* Replaces every derived record of the store w writes (a write
 * transaction, the caller's to commit or abort) with the one rebuilt from
 * its leaves: the same replay as ll_derive_check into a scratch, then
 * each auxiliary table cleared and copied (meta keeps the records that are
 * not derived). For format upgrades (ll_format_prepare). LL_OK; else
 * msg[cap] says why (LL_ERR_CORRUPT: a leaf does not replay) and the
 * caller aborts w, so nothing changes. */
int ll_derive_rebuild(ll_txn_t *w, ll_derive_replay_fn replay, char *msg, size_t cap);

/* The start-up check (see above): LL_OK, or LL_ERR_CORRUPT with the first
 * disagreement in msg[cap]; other codes when it could not run. */
int ll_derive_startup_check(ll_store_t *st, ll_derive_replay_fn replay, char *msg,
                            size_t cap);

#endif
