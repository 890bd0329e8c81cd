/*
 * ll_loop: the closed loop's rules and indexes.
 *
 * Entry kinds (domain.proto) are checked in two steps:
 *   - ll_check_body() (ll_check.h): stateless field checks, on the RPC
 *     thread (called by ll_entry_decode), so bad input never reaches the
 *     writer;
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
 *     then starts;
 *   - a charter, roadmap project or policy FOLLOWS its record's latest
 *     entry to update it (ll_record.h; a patch merges, ll_mask.h); the
 *     rules below see the record as it stands after the update.
 *
 * Index records live in LL_TBL_INDEX under the one-byte prefixes of
 * ll_index.h, which also reads and writes their values; the queries read
 * them.
 */
#ifndef LL_LOOP_H
#define LL_LOOP_H

#include <stddef.h>
#include <stdint.h>

#include "ll_bytes.h"
#include "ll_entry.h"
#include "ll_index.h"
#include "ll_kinds.h"
#include "ll_store.h"
#include "loopledger/v1/entry.pb-c.h"

/* Largest first rollout, in percent, that counts as a pilot. */
#define LL_PILOT_MAX_PERCENT 10.0

typedef struct ll_link_rule {
    uint32_t source;            /* kind, or 0 for any */
    int relation;               /* Loopledger__V1__Relation */
    uint64_t targets;           /* bit (1 << kind) per allowed target kind */
    int cross_initiative;
    /* The source acts on the target (puts it into action or builds the
     * loop's next step on it): the target must be in effect, not pending
     * or rejected under a policy (ll_gov_apply refuses otherwise). Links
     * that only record something about the target (measures, supports,
     * concludes, diagnoses, decides, reviews, supersedes, relates_to) may
     * point at any entry. */
    int acts_on;
} ll_link_rule_t;

/* The link table and its length. */
const ll_link_rule_t *ll_loop_link_rules(size_t *n);

/* The row allowing a src kind to link rel to a dst kind (a row of its own
 * kind before the generic one), or NULL if the table refuses the link. */
const ll_link_rule_t *ll_loop_link_rule(uint32_t src, int rel, uint32_t dst);

/* Rules and indexes for the entry about to be appended as seq at server
 * time t, inside the writer's child transaction. On error msg[cap] says
 * which rule refused (LL_ERR_PRECONDITION, LL_ERR_INVALID) or what failed. */
int ll_loop_apply(ll_txn_t *txn, const Loopledger__V1__EntryBody *b,
                  uint64_t seq, int64_t t, char *msg, size_t cap);

/* A new initiative state record, as its first entry (first_seq, at server
 * time created_ns) starts it: no charter, no stage yet. */
void ll_loop_state_init(ll_loop_state_t *st, uint64_t first_seq, int64_t created_ns);

/* The state transition of one entry of the initiative, appended as seq:
 * the entry count, the latest charter, and the open-loop categories it
 * opens, returned as bits (1u << enum ll_open); recording them (and
 * st->open[]) is the caller's: live adds index records, the replay counts
 * those not closed below its size.
 * Reads only b->kind_case and, for an Alert, b->alert, so a replay may
 * pass a body with only kind_case set for other kinds. */
unsigned ll_loop_step(ll_loop_state_t *st, uint64_t seq, const Loopledger__V1__EntryBody *b);

/* What an entry changes once it is in effect: the largest rollout, the
 * stage and the cycle (a deployment after an adjustment is a redeploy and
 * starts the next turn). An entry no policy holds takes effect when it is
 * appended; one a policy holds, at the decision that makes it effective;
 * a pending or rejected entry never moves them. ll_loop_step plus this are
 * the one definition of these rules: live (ll_loop_apply, ll_gov) and the
 * as-of replay (ll_initiative_state_as_of) both call them, so they cannot
 * disagree. Reads b->kind_case and, for a Deployment, b->deployment. */
void ll_loop_effect(ll_loop_state_t *st, uint64_t seq, const Loopledger__V1__EntryBody *b);

/* ll_loop_effect on the stored state record of b's initiative (live). */
int ll_loop_take_effect(ll_txn_t *txn, uint64_t seq, const Loopledger__V1__EntryBody *b);

/* Opens loop (cat, initiative, seq), updating the initiative's counters
 * (for loops opened outside ll_loop_apply: a held adjustment). */
int ll_loop_open(ll_txn_t *txn, int cat, const char *initiative, uint64_t seq);

/* Closes open loop (cat, initiative, seq) if it is open, updating that
 * initiative's counters (for rules decided outside ll_loop_apply). */
int ll_loop_close_open(ll_txn_t *txn, int cat, const char *initiative, uint64_t seq);

/* Is decision seq an approved exception for entry b (a widening
 * Deployment): exception-handling level, approved, by someone else with
 * the approver role, in effect? 1 or 0. */
int ll_loop_exception_ok(ll_txn_t *txn, const Loopledger__V1__EntryBody *b, uint64_t seq);

#endif
