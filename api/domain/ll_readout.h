/*
 * ll_readout: an A/B experiment's readout from the ledger: per arm, the
 * Measurements that MEASURE the experiment, then each variant against the
 * control with ll_stats.
 *
 * Which observations count: those of Measurements linked to the
 * experiment by MEASURES with seq < as_of (and not superseded by a
 * Correction with seq < as_of), whose metric is the one read out (the
 * experiment's primary metric by default), whose arm names the control
 * (Experiment.control.name) or a variant (by name), and whose segment
 * matches when a segment is asked for. Observations of one arm are
 * treated as disjoint samples (separate windows or segments) and pooled:
 * sample sizes add, values average weighted by sample size, and standard
 * deviations combine through the total sum of squares.
 *
 * Which test: Welch's t-test when every observation of both arms carries
 * a standard deviation; the two-proportion z-test when every observation
 * of both arms is a rate (unit "%" is divided by 100; the value must then
 * lie in [0, 1]) without one; otherwise none, with a note saying why.
 *
 * Reads happen inside the caller's read transaction; nothing is cached
 * between calls.
 */
#ifndef LL_READOUT_H
#define LL_READOUT_H

#include <stddef.h>
#include <stdint.h>

#include "ll_arena.h"
#include "ll_plan.h"
#include "ll_scratch.h"
#include "ll_stats.h"
#include "ll_store.h"
#include "loopledger/v1/roadmap.pb-c.h"

struct ll_asof_sups; /* ll_asof.h */

/* Arms beyond this many (control + variants) are ignored. */
#define LL_READOUT_MAX_ARMS 16
/* Guardrail x variant results kept (the rest is ignored). */
#define LL_READOUT_MAX_GUARDS 64

typedef struct ll_readout_arm {
    const char *name;    /* points into the readout's experiment body */
    ll_stats_arm_t s;    /* pooled */
    uint32_t obs;        /* observations pooled */
    int all_sd, all_rate;
    double sum_w, sum_ss; /* pooling accumulators */
    int test;            /* variants: enum ll_stats_test, NONE if no test */
    ll_stats_result_t r; /* variants, when test != NONE */
    const char *note;    /* variants: why no test (static string) */
    /* Under the plan (ll_plan.h), variants only: */
    double p_corr;       /* corrected p (sequential: of the always-valid p) */
    double seq_p, seq_lo, seq_hi; /* running always-valid p and interval; NAN */
    double power;        /* to detect the MDE at the sizes reached; NAN */
    int verdict;         /* Loopledger__V1__Verdict */
    int underpowered;
    char reason[200];
} ll_readout_arm_t;

typedef struct ll_readout_guard {
    const Loopledger__V1__Guardrail *g; /* into the plan's body */
    size_t arm;          /* variant index in arms[] */
    int test;            /* enum ll_stats_test; NONE: see note */
    double lift, p;      /* relative change (fraction), one-sided p */
    int breached;
    const char *note;
} ll_readout_guard_t;

typedef struct ll_readout {
    Loopledger__V1__EntryBody *body; /* the Experiment entry (owned unless scratch) */
    ll_scratch_t *scratch;           /* where body was unpacked; NULL: malloc */
    const char *metric;              /* into body or the caller's string */
    const char *segment;             /* the caller's; valid only while computing */
    size_t n_arms;                   /* arms[0] is the control */
    ll_readout_arm_t arms[LL_READOUT_MAX_ARMS];
    uint64_t *meas; /* measurement seqs read, ascending (owned) */
    size_t n_meas, cap_meas;
    double min_p;   /* smallest p-value over tested variants; NAN if none */
    /* The plan in force and its analysis (filled in by ll_experiment). */
    ll_plan_t plan;
    Loopledger__V1__EntryBody *plan_body; /* an amending Correction (owned unless scratch) */
    uint64_t first_meas;                  /* UINT64_MAX: no measurement yet */
    int ended;
    int srm_checked, srm_mismatch;
    double srm_chi2, srm_p;
    const char *srm_note;
    ll_readout_guard_t guards[LL_READOUT_MAX_GUARDS];
    size_t n_guards;
    double progress;  /* smallest arm / planned per arm; NAN without a plan */
    int underpowered;
    int verdict;      /* Loopledger__V1__Verdict */
    size_t verdict_arm; /* SHIP: the variant shipped */
    char reason[400];
} ll_readout_t;

/* Computes the readout of experiment exp as of tree size as_of (> exp).
 * metric NULL or "" = the primary metric; segment NULL or "" = all.
 * On LL_OK the caller frees *out with ll_readout_free. LL_ERR_NOT_FOUND if
 * exp is not an Experiment entry below as_of; store errors otherwise. */
int ll_readout_compute(ll_txn_t *txn, uint64_t exp, uint64_t as_of,
                       const char *metric, const char *segment,
                       ll_readout_t *out);

/* The same for callers that read out many experiments: the supersessions
 * below as_of preloaded (ll_asof.h; NULL: looked up), and entry bodies
 * unpacked into scratch (NULL: malloc), which must then outlive *out. */
int ll_readout_compute_with(ll_txn_t *txn, uint64_t exp, uint64_t as_of,
                            const char *metric, const char *segment,
                            const struct ll_asof_sups *sups, ll_scratch_t *scratch,
                            ll_readout_t *out);

/* The same, with plan (may be NULL) giving a sequential plan's mixture
 * scale and alpha for the looks (each Measurement is one: the running
 * always-valid p-value and interval per variant). The plan's analysis
 * (SRM, corrections, guardrails, verdict) is ll_experiment's: these
 * functions leave those fields of *out zero. */
int ll_readout_compute_opts(ll_txn_t *txn, uint64_t exp, uint64_t as_of,
                            const char *metric, const char *segment,
                            const struct ll_asof_sups *sups, ll_scratch_t *scratch,
                            const ll_plan_t *plan, ll_readout_t *out);

/* The test of variant v against control c as the readout chooses it
 * (Welch when both carry standard deviations, two-proportion when both are
 * rates): enum ll_stats_test, or LL_STATS_NONE with *note set. */
int ll_readout_test(const ll_readout_arm_t *c, const ll_readout_arm_t *v,
                    ll_stats_result_t *res, const char **note);

/* Frees what ll_readout_compute allocated (the struct itself is the
 * caller's). Safe on a zeroed struct. */
void ll_readout_free(ll_readout_t *r);

#endif
