/*
 * ll_roadmap: RoadmapService.Prioritize, evidence-weighted RICE.
 *
 *   score = reach x impact x confidence / effort
 *
 * where confidence is computed from the signed evidence linked to the
 * project, never typed in (README.md, "Roadmap scoring", has the worked
 * example):
 *
 *   Supporting evidence S: the Findings the project is SPAWNED_BY, and the
 *   Findings those rest on (Finding DERIVED_FROM Finding, transitively, at
 *   most LL_ROADMAP_MAX_DEPTH hops), each counted once.
 *   Refuting evidence R: Findings that REFUTE a Hypothesis some counting
 *   supporting finding SUPPORTS (and are not themselves in S).
 *
 *   Each finding f gets a class weight w(f):
 *     EXPERIMENT     it CONCLUDES an Experiment whose readout (ll_readout.h,
 *                    primary metric, all segments) has a test; graded by
 *                    the smallest p-value p of its variants:
 *                    p < 0.01: 1.0, p < 0.05: 0.85, p < 0.10: 0.7, else 0.4
 *                    An experiment whose readout is untrustworthy (sample
 *                    ratio mismatch) or underpowered (ended short of its
 *                    plan's sample, ll_plan.h) counts as OBSERVATIONAL
 *                    instead, and the evidence item's note says why.
 *     OBSERVATIONAL  otherwise, quantitative evidence: 0.6
 *     QUALITATIVE    otherwise (customer-service reviews, surveys, social
 *                    media): 0.3
 *   and decays with its age a (days from the finding's server time to the
 *   as-of time, the server time of entry as_of_size - 1, never negative):
 *     d(f) = 0.5 ^ (a / half_life_days),   c(f) = w(f) x d(f).
 *   A finding superseded by a Correction below as_of_size counts for
 *   nothing (c = 0), nor does what only it rests on; the same holds for
 *   superseded hypotheses, experiments and measurements.
 *
 *   evidence_weight    E = 1 - prod over S of (1 - c(f))
 *   refutation_penalty P = 1 - prod over R of (1 - c(f))
 *   confidence = (cap + (1 - cap) x E) x (1 - P),   cap = 0.2
 *   A project with no counting supporting finding is speculative: E = 0,
 *   P = 0, confidence = cap.
 *
 * So evidence only raises confidence above the speculative level, a fresh
 * significant experiment brings it to 1, and refutation takes away the
 * share its own strength says. Ranking: score descending, then project
 * seq ascending; superseded projects are not ranked. The same ledger
 * state and request give the same answer.
 *
 * Cost: one pass over the matching RoadmapProjects below as_of_size, with
 * each finding, experiment readout and hypothesis evaluated once per call
 * (memoised), so shared evidence is read once.
 */
#ifndef LL_ROADMAP_H
#define LL_ROADMAP_H

#include <stddef.h>

#include "ll_arena.h"
#include "ll_store.h"
#include "loopledger/v1/roadmap.pb-c.h"

#define LL_ROADMAP_SPECULATIVE_CAP 0.2
#define LL_ROADMAP_DEFAULT_HALF_LIFE_DAYS 90.0
#define LL_ROADMAP_MAX_HALF_LIFE_DAYS 3650.0
#define LL_ROADMAP_W_EXPERIMENT_P01 1.0
#define LL_ROADMAP_W_EXPERIMENT_P05 0.85
#define LL_ROADMAP_W_EXPERIMENT_P10 0.7
#define LL_ROADMAP_W_EXPERIMENT_NS 0.4
#define LL_ROADMAP_W_OBSERVATIONAL 0.6
#define LL_ROADMAP_W_QUALITATIVE 0.3
/* DERIVED_FROM hops followed back from a spawning finding. */
#define LL_ROADMAP_MAX_DEPTH 8
/* Evidence items considered per project (the rest is ignored). */
#define LL_ROADMAP_MAX_EVIDENCE 256

/* One piece of evidence, as the combination sees it. */
typedef struct ll_roadmap_ev {
    int refutes;      /* 0: supporting, 1: refuting */
    int superseded;   /* counts for nothing */
    double weight;    /* class weight */
    double age_days;  /* negative ages count as 0 */
} ll_roadmap_ev_t;

typedef struct ll_roadmap_conf {
    double evidence_weight, penalty, decay, confidence;
    int speculative;
} ll_roadmap_conf_t;

/* The formula above on n items with the given half-life (> 0). Pure. */
void ll_roadmap_combine(const ll_roadmap_ev_t *ev, size_t n, double half_life_days,
                        ll_roadmap_conf_t *out);

/* Prioritize: the ranked page in arena a. LL_ERR_INVALID for a bad filter,
 * half-life or token, LL_ERR_RANGE for as_of_size beyond the tree; msg
 * says what. The answer is a pure function of the request and the entries
 * below the size it reads, so it is remembered by tree head (ll_memo.h,
 * ll_roadmap_memo.c): an identical request at the same size is answered
 * from memory, equal to ll_roadmap_prioritize_live's. */
int ll_roadmap_prioritize(ll_txn_t *txn, ll_arena_t *a,
                          const Loopledger__V1__PrioritizeRequest *r,
                          Loopledger__V1__PrioritizeResponse **out, char *msg,
                          size_t cap);

/* The same, always computed (what the memo remembers; tests compare). */
int ll_roadmap_prioritize_live(ll_txn_t *txn, ll_arena_t *a,
                               const Loopledger__V1__PrioritizeRequest *r,
                               Loopledger__V1__PrioritizeResponse **out, char *msg,
                               size_t cap);

/* The class weight of a concluded experiment with smallest p-value p. */
double ll_roadmap_experiment_weight(double p);

#endif
