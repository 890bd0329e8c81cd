/*
 * ll_ledger: the ledger's write path and its trust rules, above the store
 * and below the RPC surface (it knows nothing of gRPC).
 *
 * Write path. ll_ledger_submit() decodes and verifies an envelope on the
 * caller's thread (so signature checks run in parallel on the RPC threads),
 * then queues it for the single writer thread. The writer takes everything
 * queued, applies it into one LMDB write transaction (at the first refused
 * entry the pass is redone with a child transaction per entry, so a
 * rejected entry rolls back alone), commits once (group commit: the
 * batch's leaves in one synced write-ahead-log frame), and only then
 * reports each result. So a success result always means "durable". An
 * RPC handler's append that is alone in flight while the writer is idle
 * (LL_SUBMIT_INLINE) goes through the same batch code on the handler's
 * own thread instead of the writer's.
 *
 * Trust. Sequence 0 is the genesis entry, signed by the server's actor key,
 * registering the server actor and the first admin. Every other entry must
 * be signed by a registered key of its author; only admins register actors.
 *
 * Checkpoints are C2SP signed notes over "<origin>\n<size>\n<root>\n",
 * signed with the server's note key, whose verifier key clients pin.
 * The latest one handed out is persisted (meta LL_AUDIT_CP_KEY) in the next
 * commit; at open the stored tree is checked against it, and on mismatch
 * the ledger refuses appends and new checkpoints (LL_ERR_CORRUPT, reads go
 * on): it never builds on, or signs, a tree that contradicts its own
 * signature. Nor when the actor, key and role records disagree with the
 * entries that wrote them (ll_derive_startup_check), or meta holds a
 * record the ledger never writes.
 *
 * Space. A batch that runs out of map is rolled back whole, the map grows
 * (ll_store_grow) and the batch is retried; entries that still do not fit
 * get LL_ERR_FULL and nothing of them is written.
 */
#ifndef LL_LEDGER_H
#define LL_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#include "ll_crypto.h"
#include "ll_derive.h"
#include "ll_effects.h"
#include "ll_err.h"
#include "ll_hist.h"
#include "ll_note.h"
#include "ll_store.h"

#define LL_SERVER_ACTOR "loopledgerd"
#define LL_LEDGER_QUEUE_ENTRIES 4096
#define LL_LEDGER_QUEUE_BYTES (64u << 20)

typedef struct ll_ledger ll_ledger_t;

/* Outcome of one append. err is LL_OK or an ll_err code, msg explains it. */
typedef struct ll_append_result {
    int err;
    char msg[LL_MSG_MAX];
    uint64_t seq;
    int64_t time_ns;
    uint8_t leaf_hash[LL_HASH_LEN]; /* zero for a validate-only append */
    int duplicate;
    int validate_only; /* nothing was written: seq and time are what it would get */
    uint32_t status;   /* Loopledger__V1__ApprovalStatus right after the append */
    ll_effects_t effects; /* what the entry caused (none for a duplicate) */
    /* A patch's effective record after the update (ll_record.h); NULL for
     * every other entry and for a duplicate. Borrowed: valid only during
     * the result callback. */
    const Loopledger__V1__EntryBody *effective;
} ll_append_result_t;

/* Receives the result; runs on the writer thread, or on the submitting
 * thread when the entry fails before being queued. Must not block long. */
typedef void (*ll_append_cb)(void *ctx, const ll_append_result_t *res);

/* Runs on the writer thread after each durable commit, with the new size. */
typedef void (*ll_commit_hook)(void *ctx, uint64_t new_size);

typedef struct ll_ledger_config {
    /* Keys: borrowed, must outlive the ledger. */
    const ll_key_t *note_key;  /* signs checkpoints */
    const ll_key_t *actor_key; /* the server actor's entry key */
    /* Origin (checkpoint first line and note key name) for a new ledger;
     * an existing ledger keeps the origin stored at its genesis. */
    const char *origin;
    /* Largest batch one commit takes; 0 means 4096. */
    unsigned max_batch;
    /* Append budget: at most this many submitted appends, and this many
     * envelope bytes, between ll_ledger_submit and their result; beyond
     * it a submit is answered at once with LL_ERR_TOO_LARGE (nothing is
     * copied, verified or written). 0 means the LL_LEDGER_QUEUE_* default. */
    size_t max_queue_entries;
    size_t max_queue_bytes;
    /* Largest leaf (serialized LogEntry) accepted; 0 means no limit but
     * the transport's. Set to LL_TILES_MAX_ENTRY when the log is published
     * as tlog-tiles, whose entry bundles frame a leaf with 2 bytes: Append
     * then refuses, with LL_ERR_TOO_LARGE, an envelope whose leaf could
     * exceed it (ll_leaf_max_len: the envelope plus 33 bytes). */
    size_t max_leaf;
} ll_ledger_config_t;

/* Opens the ledger over st (borrowed; must outlive the ledger) and starts
 * the writer thread. Caller owns *out (ll_ledger_close). */
int ll_ledger_open(ll_store_t *st, const ll_ledger_config_t *cfg,
                   ll_ledger_t **out);

/* Drains the queue (every queued entry gets its result), stops the writer. */
void ll_ledger_close(ll_ledger_t *lg);

/* Writes the genesis entry of an empty ledger, registering the server actor
 * and admin (admin_id, admin_pub). LL_ERR_EXISTS if the ledger is not empty. */
int ll_ledger_genesis(ll_ledger_t *lg, const char *admin_id,
                      const uint8_t admin_pub[LL_PUBKEY_LEN],
                      ll_append_result_t *res);

/* Submits envelope bytes (copied; the caller may free them on return).
 * cb is called exactly once. When the append budget (max_queue_*) is
 * used up, cb runs at once on the caller's thread with LL_ERR_TOO_LARGE. */
void ll_ledger_submit(ll_ledger_t *lg, const uint8_t *env, size_t len,
                      ll_append_cb cb, void *ctx);

/* Submits and waits for the result. */
void ll_ledger_append(ll_ledger_t *lg, const uint8_t *env, size_t len,
                      ll_append_result_t *res);

/* As ll_ledger_submit, for a caller authenticated by its transport (a
 * client certificate naming actor caller): the entry's author must be that
 * actor (LL_ERR_PERMISSION otherwise). caller NULL means no transport
 * identity (plaintext loopback). */
void ll_ledger_submit_as(ll_ledger_t *lg, const uint8_t *env, size_t len,
                         const char *caller, ll_append_cb cb, void *ctx);

/* Submit flags. */
/* Validate only (AIP-163): the writer runs every check and applies the
 * entry (and what it would cause) in a child transaction that it then
 * rolls back; the result says what would happen, with validate_only set,
 * and nothing is written or announced to commit hooks. */
#define LL_SUBMIT_VALIDATE_ONLY 1u
/* Inline: when the writer is idle and this is the only append in flight,
 * the calling thread writes the entry itself (one batch, the same commit
 * as the writer's) and cb runs before this returns, saving the hand-off
 * to the writer thread and back when appends come one at a time. Only for
 * a caller that holds no store transaction and no lock that cb takes (an
 * RPC handler); under load the entry queues for the writer as usual, so
 * batching is unchanged. */
#define LL_SUBMIT_INLINE 2u

/* As ll_ledger_submit_as, with LL_SUBMIT_* flags. */
void ll_ledger_submit_opts(ll_ledger_t *lg, const uint8_t *env, size_t len,
                           const char *caller, unsigned flags, ll_append_cb cb,
                           void *ctx);

/* Follow-up entries: entries the server itself signs because of what an
 * entry says (the drift detector's Alerts). After an entry is applied as
 * seq, on the writer thread and inside its (child) transaction txn, fn may
 * return up to cap sealed envelopes (envs[i], lens[i]; malloc'd, the
 * writer frees them). The writer applies each right after the entry, in
 * the same commit, each in its own child transaction (a refused follow-up
 * leaves the entry intact), and names them in the entry's effects
 * (ALERT_RAISED for an Alert). fn only reads txn; it must not submit or wait. */
typedef size_t (*ll_follow_up_fn)(void *ctx, ll_txn_t *txn, uint64_t seq,
                                  const Loopledger__V1__EntryBody *b, uint8_t **envs,
                                  size_t *lens, size_t cap);

/* Installs (fn) or removes (NULL) the one follow-up function. After it
 * returns, a removed fn is not running and is not called again. */
void ll_ledger_set_follow_up(ll_ledger_t *lg, ll_follow_up_fn fn, void *ctx);

/* Actors, keys, roles and the signer index are read with ll_trust.h. */

#define LL_LEDGER_MAX_HOOKS 4

/* Adds a hook called on the writer thread after each commit (it must not
 * block or wait for appends). LL_ERR_FULL when all slots are taken. */
int ll_ledger_add_commit_hook(ll_ledger_t *lg, ll_commit_hook fn, void *ctx);
/* Removes the hook (fn, ctx); after it returns the hook is not called
 * again by a commit that starts later. */
void ll_ledger_remove_commit_hook(ll_ledger_t *lg, ll_commit_hook fn, void *ctx);

/* The store under the ledger. */
ll_store_t *ll_ledger_store(ll_ledger_t *lg);

/* The ledger's origin (NUL-terminated, static for the ledger's life). */
const char *ll_ledger_origin(ll_ledger_t *lg);

/* Why the ledger refuses writes, or NULL when it accepts them. Set at open
 * when the stored tree disagrees with the last signed checkpoint persisted
 * with it (see ll_audit.h); reads keep working. Static for the ledger's
 * life. */
const char *ll_ledger_damage(ll_ledger_t *lg);

/* Server verifier key "<origin>+<hash>+<base64>" into out[cap]. */
int ll_ledger_verifier_key(ll_ledger_t *lg, char *out, size_t cap);

/* Signed checkpoint for tree size `size` (0 = txn's latest) as seen by txn:
 * the note into note[cap] (NUL-terminated), its size and root. */
int ll_ledger_checkpoint(ll_ledger_t *lg, ll_txn_t *txn, uint64_t size,
                         char *note, size_t cap, size_t *note_len,
                         uint64_t *out_size, uint8_t root[LL_HASH_LEN]);

/* Writer metrics: entries written per durable commit, and each commit's
 * duration in nanoseconds (LMDB write + fsync). Any thread. */
void ll_ledger_metrics(ll_ledger_t *lg, ll_hist_snap_t *batch, ll_hist_snap_t *commit_ns);

/* Appends submitted and not yet queued for the writer or refused: those
 * being decoded and verified right now. The writer waits briefly for
 * them so that they join its next commit. */
size_t ll_ledger_arriving(ll_ledger_t *lg);

/* Replays one recorded entry into txn (a scratch store being rebuilt by
 * ll_derive), through the writer's own code: env is the leaf's envelope,
 * seq and t the sequence number and server time recorded in the leaf.
 * With trust_only, only the actor and key records are written (txn need
 * hold no leaves; for the start-up check); otherwise the leaf, its Merkle
 * nodes, dedup record and every index, and seq must equal txn's size.
 * LL_OK; LL_ERR_CORRUPT when the writer could not have written this entry
 * there (why in msg[cap]: undecodable, refused by the rules, a duplicate,
 * server time not increasing); other codes for store failures. */
int ll_ledger_replay(ll_txn_t *txn, const uint8_t *env, size_t len, uint64_t seq, int64_t t,
                     int trust_only, char *msg, size_t cap);
/* ll_ledger_replay of an entry already decoded (ll_entry_decode) from its
 * envelope, which e borrows and keeps. The replay of `loopledgerd verify`
 * (ll_derive_apply_fn), fed by the audit's own decoding. */
int ll_ledger_replay_entry(ll_txn_t *txn, const ll_entry_t *e, uint64_t seq, int64_t t,
                           int trust_only, char *msg, size_t cap);

/* `loopledgerd verify`'s second half: every derived table rebuilt from the
 * leaves with ll_ledger_replay_entry and compared (ll_derive_check). */
int ll_ledger_check_derived(ll_store_t *st, ll_derive_report_t *rep);
/* The format upgrade's rebuild (ll_format_rebuild_fn): every derived table
 * of the store w writes replaced by its replay with ll_ledger_replay
 * (ll_derive_rebuild). */
int ll_ledger_rebuild_derived(ll_txn_t *w, char *msg, size_t cap);
/* Where GetCheckpoint's notes come from beyond the ledger's own signing
 * (api/scale/). Every member may be NULL. Witness cosignatures
 * (ll_wsubmit.h): lines() appends to note[cap] the cosignature lines held
 * for tree size (count, or LL_ERR_BUFFER); latest() is the newest cosigned
 * size (0: none). Mirrors (ll_mirror.h): checkpoint() replaces
 * ll_ledger_checkpoint (a mirror serves the primary's signed notes, it
 * cannot sign them). */
typedef struct ll_cp_source {
    int (*lines)(void *ctx, uint64_t size, char *note, size_t cap);
    uint64_t (*latest)(void *ctx);
    int (*checkpoint)(void *ctx, uint64_t size, char *note, size_t cap, size_t *note_len,
                      uint64_t *out_size, uint8_t root[LL_HASH_LEN]);
    void *ctx;
} ll_cp_source_t;

/* Sets the source (borrowed; must outlive the ledger's readers; NULL: the
 * ledger's own) before serving; ll_ledger_cp_source returns it. */
void ll_ledger_set_cp_source(ll_ledger_t *lg, const ll_cp_source_t *src);
const ll_cp_source_t *ll_ledger_cp_source(ll_ledger_t *lg);

/* Mirrors. Makes lg a read-only mirror of primary (a name for messages):
 * Append is refused with LL_ERR_PRECONDITION naming it. NULL or "" undoes
 * it (promotion). Call before serving. */
void ll_ledger_set_replica_of(ll_ledger_t *lg, const char *primary);

/* Applies a primary's leaf (the exact bytes its GetEntry returns) through
 * the same write path as Append: the envelope's signature is checked
 * against the key history at the leaf's time (the genesis against the
 * server key it registers), every domain rule and index applies, and the
 * entry gets the primary's seq and time. It must land at the leaf's seq
 * and its rebuilt leaf must hash like the given one, or nothing is written
 * (LL_ERR_PRECONDITION / LL_ERR_CORRUPT; LL_ERR_UNAUTHENTICATED for an
 * unknown or revoked key). cb as for ll_ledger_submit; leaves submitted
 * in order are group-committed like appends. */
void ll_ledger_replicate(ll_ledger_t *lg, const uint8_t *leaf, size_t len, ll_append_cb cb,
                         void *ctx);

#endif
