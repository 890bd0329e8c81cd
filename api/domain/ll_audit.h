/*
 * ll_audit: offline verification of a whole ledger, for an operator who
 * suspects the data file (bit rot, a bad disk, or someone with write
 * access to it) rather than the network.
 *
 * Clients already verify what the server tells them (signed checkpoints,
 * inclusion and consistency proofs). The audit checks what the server
 * would tell them, from the raw store, trusting nothing in it but the
 * server's note key:
 *   1. every leaf: present, laid out exactly as ll_leaf_build writes it,
 *      carrying its own sequence number, its RFC 9162 leaf hash equal to
 *      the stored level-0 node, and its envelope decoding and validating;
 *   2. every signature, against the key registered for its author at the
 *      time (the keys table record, which must name the author, must have
 *      been registered at the sequence number kept for this entry, before
 *      it, and must equal the key in that registration entry);
 *   3. every stored tree node above the leaves: node(L, i) must equal
 *      H(node(L-1, 2i), node(L-1, 2i+1));
 *   4. the last signed checkpoint persisted with the tree (meta
 *      LL_AUDIT_CP_KEY): its signature, and its root against the tree.
 *
 * Locating damage. The report names the FIRST damaged sequence number. A
 * mismatching node is blamed on itself only when both its children check
 * out; otherwise the child's own failure (deeper, so more precise) explains
 * it. So a flipped byte in a leaf points at that leaf, one in a node at
 * the first leaf under that node.
 *
 * Signatures dominate the cost, and they are the bound: an audit cannot
 * take less than (entries) / (verifications per second per core x cores).
 * So the calling thread does everything else, in sequence order: it reads
 * each leaf, checks its hash, layout, envelope and key record (step 1 and
 * step 2 but the signature itself), and queues the signature (its public
 * key, and the payload's bytes in the map) for `threads` worker threads
 * that do nothing but verify; then, while they still verify, it checks the
 * tree nodes and the checkpoint (steps 3-4). A caller's visitor (the
 * derived-table replay of loopledgerd verify, ll_derive.h) sees each
 * decoded entry on that thread too, so the replay costs no second decode
 * and rides in the time the workers need anyway. The queue holds a bounded
 * window of entries (tens of thousands), so memory does not grow with the
 * ledger. A signature that fails is checked again from its leaf, whole,
 * so the finding is worded as it always was.
 *
 * Caveat, stated honestly: the audit reads through LMDB. Damage to LMDB's
 * own page structure (headers, branch pages, the meta pages) may make LMDB
 * refuse to open the file (reported as an error, not a location), and a
 * flipped byte in free pages changes nothing the ledger holds, so there is
 * nothing to detect.
 */
#ifndef LL_AUDIT_H
#define LL_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "ll_crypto.h"
#include "ll_entry.h"
#include "ll_store.h"

/* Meta key under which the ledger keeps the latest signed checkpoint note
 * it handed out (written by the writer in the next commit after signing). */
#define LL_AUDIT_CP_KEY "checkpoint"

#define LL_AUDIT_NO_SEQ UINT64_MAX

typedef struct ll_audit_report {
    uint64_t size;        /* leaves examined (the stored tree size) */
    uint64_t leaf_bytes;  /* their total size */
    uint64_t signatures;  /* signatures that verified */
    uint64_t nodes;       /* stored nodes above level 0 that were checked */
    uint64_t cp_size;     /* size of the persisted checkpoint; 0 if none */
    int damaged;          /* 1 if anything failed */
    /* First damaged sequence number, or LL_AUDIT_NO_SEQ when the damage
     * cannot be tied to one (e.g. only the checkpoint disagrees). */
    uint64_t first_bad_seq;
    char what[320];       /* what is wrong there */
    double seconds;       /* wall time of the audit (with the visitor's) */
} ll_audit_report_t;

/* Audits the whole store. note_pub is the server's checkpoint key (the
 * public half of note.key). threads: signature-verifying threads besides
 * the calling one; 0 means one per online CPU.
 * Returns LL_OK when the audit ran to the end, whether or not it found
 * damage (see rep->damaged), or an ll_err code when it could not run
 * (the store unreadable, out of memory). */
int ll_audit_run(ll_store_t *st, const uint8_t note_pub[LL_PUBKEY_LEN],
                 unsigned threads, ll_audit_report_t *rep);

/* Sees the entries as the audit reads them (ll_audit_run_visit). Both
 * callbacks run on the calling thread. */
typedef struct ll_audit_visitor {
    /* Entry seq, with server time t from its leaf, in sequence order from
     * #0, for each entry whose leaf, leaf hash, envelope and key record
     * check out (its signature may still be being verified; a bad one is
     * in the report). e is valid during the call only. Visiting stops at
     * the first entry that does not check out, or when this returns
     * nonzero. May be NULL. */
    int (*entry)(void *ctx, uint64_t seq, int64_t t, const ll_entry_t *e);
    /* Once, after the last entry was offered (while signatures may still be
     * being verified), with txn the read snapshot the entries came from:
     * visited_all is 1 when every entry of the tree was visited and entry
     * never asked to stop. Not called when the audit cannot start (its
     * report says why). May be NULL. */
    void (*done)(void *ctx, ll_txn_t *txn, int visited_all);
    void *ctx;
} ll_audit_visitor_t;

/* ll_audit_run, showing each entry to visitor (may be NULL) as it goes. */
int ll_audit_run_visit(ll_store_t *st, const uint8_t note_pub[LL_PUBKEY_LEN], unsigned threads,
                       const ll_audit_visitor_t *visitor, ll_audit_report_t *rep);

/* Checks the persisted checkpoint, as seen by txn, against the stored tree.
 * LL_OK if none is stored (*cp_size = 0) or if its signature verifies with
 * (origin, note_pub) and the tree's root at its size equals its root
 * (*cp_size = that size). LL_ERR_CORRUPT otherwise, with the reason in
 * msg[cap]. Other codes if the store cannot be read. O(log n). */
int ll_audit_checkpoint(ll_txn_t *txn, const char *origin,
                        const uint8_t note_pub[LL_PUBKEY_LEN],
                        uint64_t *cp_size, char *msg, size_t cap);

#endif
