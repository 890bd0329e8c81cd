/*
 * ll_experiment: an experiment's readout under its pre-registered plan
 * (ll_plan.h), and the rules its verdict feeds.
 *
 * The readout (ll_readout.h: pooled arms and tests) is analysed under the
 * plan in force: the Experiment's own, or the amended_plan of the last
 * Correction in its supersession chain below the as-of size (amendments
 * after the first measurement are listed: "plan changed after data"). The
 * analysis itself (SRM check, multiple-testing correction, guardrails,
 * power, progress and the verdict of the rule in ll_plan.h) is
 * ll_verdict's (ll_verdict.h). "Ended" means a Finding below the as-of size CONCLUDES the
 * experiment (or LL_EXPERIMENT_ENDED says one is being appended).
 *
 * Rules, on the writer (called by ll_ledger inside the append's child
 * transaction):
 *   - ll_experiment_check_rollout, before ll_loop_apply: a Deployment that
 *     widens its initiative's rollout beyond the pilot on the strength of a
 *     concluded experiment with a plan needs that experiment's verdict to
 *     be SHIP, or an approver to have let a SHIP conclusion through against
 *     the verdict; an approved exception-handling Decision still suffices;
 *   - ll_experiment_hold, after ll_gov_apply: a Finding that CONCLUDES an
 *     experiment with a call contradicting the readout's verdict (SHIP
 *     against anything but SHIP or for another variant, ROLL_BACK against
 *     SHIP, anything but UNTRUSTWORTHY on an SRM-failed test) is held
 *     PENDING as a policy would hold it (ll_gov_hold; policy_seq = the
 *     experiment, review and approval, one approver).
 */
#ifndef LL_EXPERIMENT_H
#define LL_EXPERIMENT_H

#include <stddef.h>
#include <stdint.h>

#include "ll_arena.h"
#include "ll_plan.h"
#include "ll_readout.h"
#include "ll_store.h"
#include "loopledger/v1/roadmap.pb-c.h"

/* Flags. */
#define LL_EXPERIMENT_ENDED 1 /* analyse as ended (a concluding Finding is being appended) */

/* The readout of experiment exp's primary metric as of as_of, analysed
 * under its plan, into *out (the caller frees it with ll_readout_free).
 * segment NULL/"" = all; sups NULL or the supersessions below as_of;
 * scratch NULL (malloc) or where bodies are unpacked (must outlive *out).
 * LL_ERR_NOT_FOUND if exp is not an Experiment below as_of; store errors. */
int ll_experiment_readout(ll_txn_t *txn, uint64_t exp, uint64_t as_of, const char *segment,
                          const struct ll_asof_sups *sups, ll_scratch_t *scratch, int flags,
                          ll_readout_t *out);

/* The same for another metric (NULL/"" = the primary one). */
int ll_experiment_readout_metric(ll_txn_t *txn, uint64_t exp, uint64_t as_of,
                                 const char *metric, const char *segment, ll_readout_t *out);
int ll_experiment_readout_full(ll_txn_t *txn, uint64_t exp, uint64_t as_of, const char *metric,
                               const char *segment, const struct ll_asof_sups *sups,
                               ll_scratch_t *scratch, int flags, ll_readout_t *out);

/* GetExperimentReadout: the analysed readout as a protobuf answer in arena
 * a. LL_ERR_INVALID / LL_ERR_RANGE / LL_ERR_NOT_FOUND with msg[cap]. */
int ll_experiment_query(ll_txn_t *txn, ll_arena_t *a,
                        const Loopledger__V1__GetExperimentReadoutRequest *r,
                        Loopledger__V1__ExperimentReadout **out, char *msg, size_t cap);

/* The rollout rule above, for entry b about to be appended. LL_OK, or
 * LL_ERR_PRECONDITION with msg[cap] naming the verdict; store errors. */
int ll_experiment_check_rollout(ll_txn_t *txn, const Loopledger__V1__EntryBody *b, char *msg,
                                size_t cap);

/* The conclusion rule above, for entry b just indexed as seq. LL_OK or a
 * store error with msg[cap]. */
int ll_experiment_hold(ll_txn_t *txn, const Loopledger__V1__EntryBody *b, uint64_t seq,
                       char *msg, size_t cap);

#endif
