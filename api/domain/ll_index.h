/*
 * ll_index: the derived index records of LL_TBL_INDEX, in one table.
 *
 * Every record of the index table starts with a one-byte prefix naming its
 * family. All prefixes are defined here and nowhere else, with their key
 * and value layouts ("seq8" = u64 big-endian, "ini 0" = an id and its NUL
 * terminator, "u8" = one byte):
 *
 *   prefix  key                                   value               writer
 *   'E'     E seq8                                meta (see below)    ll_loop
 *   'I'     I ini 0 seq8                          kind u8             ll_loop
 *   'K'     K kind u8 seq8                        -                   ll_loop
 *   'A'     A author 0 seq8                       -                   ll_loop
 *   'J'     J ini 0 kind u8 seq8                  -                   ll_loop
 *   'L'     L target8 relation u8 source8         -                   ll_loop
 *   'O'     O cat u8 ini 0 seq8                   -                   ll_loop
 *   'S'     S ini 0                               state (see below)   ll_loop
 *   'X'     X seq8                                correction seq8     ll_loop
 *   'R'     R ini 0 cadence u8                    time8 seq8          ll_loop
 *   'C'     C experiment seq8                     finding seq8        ll_loop
 *   'D'     D alert seq8                          finding seq8        ll_loop
 *   'M'     M ini 0 metric 0 segment 0 arm 0 seq8 i16   value (double) ll_loop
 *   'P'     P seq8 (policies)                     -                   ll_gov
 *   'H'     H seq8                                hitl (see below)    ll_gov
 *   'V'     V seq8 approver 0 (approvals)         -                   ll_gov
 *   'Y'     Y ini 0 seq8 (pending, per initiative) -                  ll_gov
 *   'G'     G actor 0 seq8 (entries about actor)  -                   ll_gov
 *   's'     s seq8                                signer key reg seq8 ll_trust
 *   'U'     U seq8 (patches of records)           effective record    ll_record
 *
 * Records are written in the same transaction as the entry they derive
 * from, so an entry and its index records commit or vanish together.
 * Record values: the readers and writers below are the only code that
 * knows their byte layout. Data format 3 (ll_format.h), all integers
 * big-endian, doubles as their IEEE 754 bits big-endian:
 *
 *   meta  'E': kind u8, time i64, ini_len u8, ini, author_len u8, author
 *   state 'S' (LL_INDEX_STATE_LEN = 112 bytes): first_seq u64,
 *         charter_seq u64, stage_seq u64, entries u64, open[7] u64 (by
 *         enum ll_open, [0] unused), max_rollout f64, created_ns i64,
 *         cycle u32, stage u32
 *   hitl  'H' (LL_INDEX_HITL_LEN = 24 bytes): status u32, policy_seq u64,
 *         level u32, required u32, approvals u32
 *   series 'M': the observation's value f64
 *   record 'U': a serialized EntryBody, the record after the patch
 *         (ll_record.h); written since data format 3
 *
 * Format 1 (before ll_format) stored 'S' and 'H' as the writer's in-memory
 * structs and 'M' as a host-order double; formats 1 and 2 gave 'S', 'O' and
 * 'Y' the meanings before issue 11 and had no 'U'. ll_format upgrades any older
 * format by rebuilding every record from the leaves.
 */
#ifndef LL_INDEX_H
#define LL_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "ll_store.h"

/* Longest actor or initiative id, in bytes; LL_ID_SIZE with its NUL. */
#define LL_MAX_ID_LEN 128
#define LL_ID_SIZE (LL_MAX_ID_LEN + 1)

#define LL_IX_META 'E'
#define LL_IX_INITIATIVE 'I'
#define LL_IX_KIND 'K'
#define LL_IX_AUTHOR 'A'
#define LL_IX_INI_KIND 'J'
#define LL_IX_LINK_IN 'L'
#define LL_IX_OPEN 'O'
#define LL_IX_STATE 'S'
#define LL_IX_SUPERSEDED 'X'
#define LL_IX_REVIEW 'R'
#define LL_IX_CONCLUDED 'C'
#define LL_IX_DIAGNOSED 'D'
#define LL_IX_SERIES 'M'
#define LL_IX_POLICY 'P'
#define LL_IX_HITL 'H'
#define LL_IX_APPROVAL 'V'
#define LL_IX_PENDING 'Y'
#define LL_IX_SUBJECT 'G'
#define LL_IX_SIGNER 's'
#define LL_IX_RECORD 'U'

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

/* Per-initiative derived counters ('S'), kept current by ll_loop_apply. */
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

/* What the index knows of every entry ('E'). */
typedef struct ll_entry_meta {
    uint32_t kind;
    int64_t time_ns;
    char initiative[LL_ID_SIZE];
    char author[LL_ID_SIZE];
} ll_entry_meta_t;

/* Approval state of an entry a policy holds ('H'). */
typedef struct ll_hitl {
    uint32_t status;   /* Loopledger__V1__ApprovalStatus */
    uint64_t policy_seq;
    uint32_t level;    /* Loopledger__V1__HitlLevel */
    uint32_t required;
    uint32_t approvals;
} ll_hitl_t;

#define LL_INDEX_STATE_LEN 112
#define LL_INDEX_HITL_LEN 24

/* The explicit encodings above (exported for the format upgrade). */
void ll_index_encode_state(const ll_loop_state_t *s, uint8_t out[LL_INDEX_STATE_LEN]);
void ll_index_decode_state(const uint8_t in[LL_INDEX_STATE_LEN], ll_loop_state_t *s);
void ll_index_encode_hitl(const ll_hitl_t *h, uint8_t out[LL_INDEX_HITL_LEN]);
void ll_index_decode_hitl(const uint8_t in[LL_INDEX_HITL_LEN], ll_hitl_t *h);

/* Appends id s and its NUL to key k at offset at; returns the new length.
 * The caller provides LL_ID_SIZE bytes of room (ids are checked on append). */
size_t ll_index_key_str(uint8_t *k, size_t at, const char *s);

/* The meta record of entry seq. LL_ERR_NOT_FOUND, LL_ERR_CORRUPT. */
int ll_index_meta(ll_txn_t *txn, uint64_t seq, ll_entry_meta_t *out);
int ll_index_put_meta(ll_txn_t *txn, uint64_t seq, uint32_t kind, int64_t t,
                      const char *initiative, const char *author);

/* The state record of an initiative. LL_ERR_NOT_FOUND, LL_ERR_CORRUPT. */
int ll_index_state(ll_txn_t *txn, const char *initiative, ll_loop_state_t *out);
int ll_index_put_state(ll_txn_t *txn, const char *initiative, const ll_loop_state_t *s);

/* Seq of the Correction superseding seq; LL_ERR_NOT_FOUND if none. */
int ll_index_superseded_by(ll_txn_t *txn, uint64_t seq, uint64_t *by);

/* The entry's HITL record; LL_ERR_NOT_FOUND when no policy applied. */
int ll_index_hitl(ll_txn_t *txn, uint64_t seq, ll_hitl_t *out);
int ll_index_put_hitl(ll_txn_t *txn, uint64_t seq, const ll_hitl_t *h);

/* Derived status of seq (Loopledger__V1__ApprovalStatus): EFFECTIVE unless
 * a policy made it pending or it was rejected. Fails closed: an unreadable
 * record reads as PENDING. */
uint32_t ll_index_status(ll_txn_t *txn, uint64_t seq);

#endif
