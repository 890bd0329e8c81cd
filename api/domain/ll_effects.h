/*
 * ll_effects: what an appended entry caused, beyond the entry itself
 * (AppendResponse.effects): it is pending under a policy, a decision it
 * carries recorded an approval, made an entry effective or rejected it, a
 * correction superseded an entry, the drift detector raised an alert in the
 * same commit.
 *
 * The writer takes a snapshot of the governance state the entry may change
 * before applying it (ll_effects_before) and compares after
 * (ll_effects_after), inside the same child transaction, so the effects
 * describe exactly what that transaction did (and, for a validate-only
 * append, what it would do). Nothing here writes.
 */
#ifndef LL_EFFECTS_H
#define LL_EFFECTS_H

#include <stddef.h>
#include <stdint.h>

#include "ll_index.h"
#include "ll_store.h"
#include "loopledger/v1/entry.pb-c.h"

#define LL_EFFECTS_MAX 8
#define LL_EFFECT_TEXT 160

/* Effect types: the values of loopledger.v1.AppendEffect.Type. */
enum {
    LL_EFFECT_PENDING = 1,
    LL_EFFECT_APPROVAL_RECORDED = 2,
    LL_EFFECT_BECAME_EFFECTIVE = 3,
    LL_EFFECT_REJECTED = 4,
    LL_EFFECT_ALERT_RAISED = 5,
    LL_EFFECT_SUPERSEDES = 6,
};

typedef struct ll_effect {
    uint32_t type;
    uint64_t seq;        /* the entry concerned */
    uint64_t policy_seq; /* governance effects: the policy */
    uint32_t level;      /* Loopledger__V1__HitlLevel */
    uint32_t approvals, required;
    char text[LL_EFFECT_TEXT]; /* one line for people */
} ll_effect_t;

/* A list of effects held by value (results are copied between threads). */
typedef struct ll_effects {
    unsigned n;
    ll_effect_t e[LL_EFFECTS_MAX];
} ll_effects_t;

/* Governance state of the entries a decision decides, before it applies. */
typedef struct ll_effects_snap {
    unsigned n;
    uint64_t seq[LL_EFFECTS_MAX];
    int has[LL_EFFECTS_MAX]; /* a policy holds seq (hitl is valid) */
    ll_hitl_t hitl[LL_EFFECTS_MAX];
} ll_effects_snap_t;

/* Records, in txn before the entry b is applied, what ll_effects_after
 * compares against. Reads only; never fails (unreadable state gives no
 * effect rather than a refused append). */
void ll_effects_before(ll_txn_t *txn, const Loopledger__V1__EntryBody *b, ll_effects_snap_t *s);

/* Appends to out what b, just applied in txn as seq, caused: PENDING for
 * b itself, APPROVAL_RECORDED / BECAME_EFFECTIVE / REJECTED for what it
 * decides, SUPERSEDES for what it corrects. Extra effects beyond
 * LL_EFFECTS_MAX are dropped. */
void ll_effects_after(ll_txn_t *txn, const Loopledger__V1__EntryBody *b, uint64_t seq,
                      const ll_effects_snap_t *s, ll_effects_t *out);

/* Adds one effect (dropped when out is full). Returns the slot or NULL. */
ll_effect_t *ll_effects_add(ll_effects_t *out, uint32_t type, uint64_t seq);

/* Lowercase name of a HITL level ("exception_handling"), "?" if unknown. */
const char *ll_effects_level_name(uint32_t level);

#endif
