/*
 * ll_loop: the closed loop's rules and indexes.
 *
 * Entry kinds (domain.proto) are checked in two steps:
 *   - ll_loop_check_body(): stateless field checks, on the RPC thread
 *     (called by ll_entry_decode), so bad input never reaches the writer;
 *   - ll_loop_apply(): on the writer, inside the child transaction that
 *     appends the entry: the link table, the loop rules, and every index,
 *     so an entry and its index records commit or vanish together.
 *
 * Link table: one row per allowed (source kind, relation, target kinds),
 * with a flag for the rows that may cross initiatives on purpose
 * (ll_loop_link_rules()). Loop rules enforced on append:
 *   - an Adjustment must ADDRESS a Finding with a diagnosis, or an Alert
 *     that carries one or was DIAGNOSED ("diagnose before prescribing");
 *   - a Deployment that widens its initiative's rollout beyond the largest
 *     so far must CITE a concluded Experiment (it has a control by
 *     construction) or an approved exception-handling Decision, unless it
 *     is the first deployment and stays within the pilot share ("tested
 *     against a control before full deployment");
 *   - a Correction SUPERSEDES exactly one entry, never deletes it, and an
 *     entry is superseded at most once (correct the correction instead);
 *   - domain entries belong to a chartered initiative (an Initiative entry
 *     came first); a RoadmapProject may name a new initiative, which it
 *     then starts.
 *
 * Index records live in LL_TBL_INDEX under one-byte prefixes (see
 * ll_loop.c); the queries in ll_query.c read them.
 */
#ifndef LL_LOOP_H
#define LL_LOOP_H

#include <stddef.h>
#include <stdint.h>

#include "ll_bytes.h"
#include "ll_store.h"
#include "loopledger/v1/entry.pb-c.h"

/* Largest first rollout, in percent, that counts as a pilot. */
#define LL_PILOT_MAX_PERCENT 10.0

/* Kinds are the EntryBody oneof numbers (Kind enum values). */
#define LL_KIND_MAX 64

/* Internal open-loop categories; 1..4 equal the OpenLoopKind values. */
enum ll_open {
    LL_OPEN_FINDING_UNACTED = 1,
    LL_OPEN_HYPOTHESIS_UNTESTED = 2,
    LL_OPEN_EXPERIMENT_RUNNING = 3,
    LL_OPEN_ALERT_UNDIAGNOSED = 4,
    LL_OPEN_HYPOTHESIS_UNRESOLVED = 5, /* no Finding supports/refutes it */
    LL_OPEN_ADJUSTMENT_AWAITING = 6,   /* no approving/rejecting Decision */
    LL_OPEN__COUNT
};

/* Per-initiative derived counters, kept current by ll_loop_apply. */
typedef struct ll_loop_state {
    uint64_t first_seq;   /* first entry of the initiative */
    uint64_t charter_seq; /* latest Initiative entry; UINT64_MAX if none */
    uint64_t stage_seq;   /* entry that set the stage */
    uint64_t entries;
    uint64_t open[LL_OPEN__COUNT];
    double max_rollout;
    int64_t created_ns;
    uint32_t cycle;
    uint32_t stage; /* Loopledger__V1__Stage */
} ll_loop_state_t;

/* What the index knows of every entry. */
typedef struct ll_entry_meta {
    uint32_t kind;
    int64_t time_ns;
    char initiative[129];
    char author[129];
} ll_entry_meta_t;

typedef struct ll_link_rule {
    uint32_t source;            /* kind, or 0 for any */
    int relation;               /* Loopledger__V1__Relation */
    uint64_t targets;           /* bit (1 << kind) per allowed target kind */
    int cross_initiative;
} ll_link_rule_t;

/* The link table and its length. */
const ll_link_rule_t *ll_loop_link_rules(size_t *n);

/* Stateless checks of the body's kind fields. LL_OK or LL_ERR_INVALID
 * with a message in msg[cap]. */
int ll_loop_check_body(const Loopledger__V1__EntryBody *b, char *msg,
                       size_t cap);

/* Rules and indexes for the entry about to be appended as seq at server
 * time t, inside the writer's child transaction. On error msg[cap] says
 * which rule refused (LL_ERR_PRECONDITION, LL_ERR_INVALID) or what failed. */
int ll_loop_apply(ll_txn_t *txn, const Loopledger__V1__EntryBody *b,
                  uint64_t seq, int64_t t, char *msg, size_t cap);

/* Index lookups shared with the queries. */
int ll_loop_meta(ll_txn_t *txn, uint64_t seq, ll_entry_meta_t *out);
int ll_loop_state(ll_txn_t *txn, const char *initiative, ll_loop_state_t *out);
/* Seq of the Correction superseding seq; LL_ERR_NOT_FOUND if none. */
int ll_loop_superseded_by(ll_txn_t *txn, uint64_t seq, uint64_t *by);

/* Closes open loop (cat, initiative, seq) if it is open, updating that
 * initiative's counters (for rules decided outside ll_loop_apply). */
int ll_loop_close_open(ll_txn_t *txn, int cat, const char *initiative, uint64_t seq);

/* Unpacks the EntryBody of entry seq; caller frees with
 * loopledger__v1__entry_body__free_unpacked. */
int ll_loop_load_body(ll_txn_t *txn, uint64_t seq,
                      Loopledger__V1__EntryBody **out);

/* Name of kind ("hypothesis") and of relation ("supports"); "unknown". */
const char *ll_kind_name(uint32_t kind);
const char *ll_relation_name(int relation);

/* Index key layouts (prefix byte first), shared with ll_query.c. */
#define LL_IX_META 'E'       /* E seq8 -> meta */
#define LL_IX_INITIATIVE 'I' /* I ini 0 seq8 -> kind u8 */
#define LL_IX_KIND 'K'       /* K kind u8 seq8 */
#define LL_IX_AUTHOR 'A'     /* A author 0 seq8 */
#define LL_IX_INI_KIND 'J'   /* J ini 0 kind u8 seq8 */
#define LL_IX_LINK_IN 'L'    /* L target8 relation u8 source8 */
#define LL_IX_OPEN 'O'       /* O cat u8 ini 0 seq8 */
#define LL_IX_STATE 'S'      /* S ini -> ll_loop_state_t */
#define LL_IX_SUPERSEDED 'X' /* X seq8 -> correction seq8 */
#define LL_IX_REVIEW 'R'     /* R ini 0 cadence u8 -> time8 seq8 */
#define LL_IX_CONCLUDED 'C'  /* C experiment seq8 -> finding seq8 */
#define LL_IX_DIAGNOSED 'D'  /* D alert seq8 -> finding seq8 */
#define LL_IX_SERIES 'M'     /* M ini 0 metric 0 segment 0 arm 0 seq8 i16 -> double */

#endif
