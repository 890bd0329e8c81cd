/*
 * Shared ledger set-up for the unit tests of the closed loop's modules
 * (ll_loop, ll_check, ll_query, ll_initiative, ll_lineage, ll_drift): the
 * ledger fixture of ll_testledger.h per test (setup/teardown for cmocka),
 * appending helpers that sign as the admin, builders of the minimum valid
 * entry of each kind, and refused(), which checks the code, the message and
 * that nothing was written.
 *
 * Header-only (static inline) so that each test file uses what it needs.
 */
#ifndef LL_TESTLOOP_H
#define LL_TESTLOOP_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "ll_testledger.h"
#include "ll_testutil.h"
#include "ll_entry.h"
#include "ll_err.h"
#include "ll_ledger.h"
#include "ll_initiative.h"
#include "ll_loop.h"

#define KIND(x) LOOPLEDGER__V1__ENTRY_BODY__KIND_##x
#define REL(x) LOOPLEDGER__V1__RELATION__##x

typedef ll_tl_t fx_t;

static inline int setup(void **state)
{
    *state = ll_tl_new("test.example/loop", NULL);
    return 0;
}

static inline int teardown(void **state) { return ll_tl_teardown(state); }

/* Appends an entry of kind with body msg (a pointer to the kind's message),
 * signed by author with key. */
static inline ll_append_result_t add_signed(fx_t *f, const ll_key_t *key, const char *author,
                                            const char *ini, int kind, void *msg,
                                            const lk_t *links, size_t nlinks)
{
    return ll_tl_add(f, key, author, ini, kind, msg, links, nlinks);
}

static inline ll_append_result_t add(fx_t *f, const char *ini, int kind, void *msg, const lk_t *links,
                              size_t nlinks)
{
    return add_signed(f, f->admin, "admin", ini, kind, msg, links, nlinks);
}

/* Appends and returns the sequence number, failing the test on refusal. */
#define OK(expr)                                                                   \
    ({                                                                             \
        ll_append_result_t r_ = (expr);                                            \
        if (r_.err)                                                                \
            fail_msg("refused: %s: %s", ll_strerror(r_.err), r_.msg);              \
        r_.seq;                                                                    \
    })

/* Expects a refusal with code whose message contains needle, and no write. */
static inline void refused(fx_t *f, ll_append_result_t r, int code, const char *needle)
{
    uint64_t before = ll_store_committed_size(f->st);
    if (r.err != code)
        fail_msg("expected %s, got %s: %s", ll_strerror(code), ll_strerror(r.err), r.msg);
    if (!strstr(r.msg, needle))
        fail_msg("message \"%s\" lacks \"%s\"", r.msg, needle);
    assert_int_equal(ll_store_committed_size(f->st), before);
}

/* ---- builders with the minimum valid fields ---- */

static inline Loopledger__V1__Initiative charter_msg(const char *title)
{
    Loopledger__V1__Initiative x = LOOPLEDGER__V1__INITIATIVE__INIT;
    x.title = (char *)title;
    x.application = LOOPLEDGER__V1__APPLICATION__APPLICATION_RECOMMENDATION;
    x.phase = LOOPLEDGER__V1__PHASE__PHASE_PILOT;
    return x;
}

static inline uint64_t charter(fx_t *f, const char *ini)
{
    Loopledger__V1__Initiative x = charter_msg("Recommendation engine");
    return OK(add(f, ini, KIND(CHARTER), &x, NULL, 0));
}

static inline uint64_t hypothesis(fx_t *f, const char *ini, const lk_t *links, size_t n)
{
    Loopledger__V1__Hypothesis x = LOOPLEDGER__V1__HYPOTHESIS__INIT;
    x.statement = "product page content is insufficient";
    return OK(add(f, ini, KIND(HYPOTHESIS), &x, links, n));
}

static inline Loopledger__V1__Experiment experiment_msg(void)
{
    static Loopledger__V1__Arm control = {PROTOBUF_C_MESSAGE_INIT(&loopledger__v1__arm__descriptor),
                                          "control", "current pages", 50};
    static Loopledger__V1__Arm variant = {PROTOBUF_C_MESSAGE_INIT(&loopledger__v1__arm__descriptor),
                                          "ai-content", "AI-enhanced pages", 50};
    static Loopledger__V1__Arm *variants[] = {&variant};
    Loopledger__V1__Experiment x = LOOPLEDGER__V1__EXPERIMENT__INIT;
    x.title = "content A/B";
    x.primary_metric = "conversion";
    x.control = &control;
    x.n_variants = 1;
    x.variants = variants;
    return x;
}

static inline Loopledger__V1__Finding finding_msg(int diagnosis)
{
    Loopledger__V1__Finding x = LOOPLEDGER__V1__FINDING__INIT;
    x.summary = "high CTR, low conversion in home & garden";
    x.evidence = LOOPLEDGER__V1__EVIDENCE__EVIDENCE_QUANTITATIVE;
    x.source = LOOPLEDGER__V1__FINDING_SOURCE__FINDING_SOURCE_DASHBOARD;
    x.diagnosis = (Loopledger__V1__Diagnosis)diagnosis;
    return x;
}

static inline ll_append_result_t finding(fx_t *f, const char *ini, int diagnosis, const lk_t *links,
                                  size_t n)
{
    Loopledger__V1__Finding x = finding_msg(diagnosis);
    return add(f, ini, KIND(FINDING), &x, links, n);
}

static inline ll_append_result_t adjustment(fx_t *f, const char *ini, const lk_t *links, size_t n)
{
    Loopledger__V1__Adjustment x = LOOPLEDGER__V1__ADJUSTMENT__INIT;
    x.category = LOOPLEDGER__V1__REFINEMENT__REFINEMENT_STRATEGIC_APPROACH;
    x.change = "prioritise AI-assisted content for those pages";
    return add(f, ini, KIND(ADJUSTMENT), &x, links, n);
}

static inline ll_append_result_t deployment(fx_t *f, const char *ini, double share, const lk_t *links,
                                     size_t n)
{
    Loopledger__V1__Deployment x = LOOPLEDGER__V1__DEPLOYMENT__INIT;
    x.version = "reco-v2";
    x.rollout_percent = share;
    return add(f, ini, KIND(DEPLOYMENT), &x, links, n);
}

static inline ll_append_result_t alert(fx_t *f, const char *ini, int diagnosis)
{
    Loopledger__V1__Alert x = LOOPLEDGER__V1__ALERT__INIT;
    x.metric = "ctr";
    x.detector = LOOPLEDGER__V1__DETECTOR__DETECTOR_ACUTE_DROP;
    x.diagnosis = (Loopledger__V1__Diagnosis)diagnosis;
    return add(f, ini, KIND(ALERT), &x, NULL, 0);
}

static inline ll_append_result_t decision(fx_t *f, const char *ini, int level, int outcome,
                                   const lk_t *links, size_t n)
{
    Loopledger__V1__Decision x = LOOPLEDGER__V1__DECISION__INIT;
    x.level = (Loopledger__V1__HitlLevel)level;
    x.outcome = (Loopledger__V1__Outcome)outcome;
    x.rationale = "reviewed";
    return add(f, ini, KIND(DECISION), &x, links, n);
}

#define APPROVED LOOPLEDGER__V1__OUTCOME__OUTCOME_APPROVED
#define REJECTED LOOPLEDGER__V1__OUTCOME__OUTCOME_REJECTED
#define EXCEPTION LOOPLEDGER__V1__HITL_LEVEL__HITL_LEVEL_EXCEPTION_HANDLING
#define REVIEW_APPROVAL LOOPLEDGER__V1__HITL_LEVEL__HITL_LEVEL_REVIEW_AND_APPROVAL
#define CONTENT_GAP LOOPLEDGER__V1__DIAGNOSIS__DIAGNOSIS_CONTENT_GAP

static inline Loopledger__V1__InitiativeState *state_of(fx_t *f, ll_txn_t **t, ll_arena_t *a,
                                                 const char *ini, int64_t now)
{
    Loopledger__V1__GetInitiativeRequest r = LOOPLEDGER__V1__GET_INITIATIVE_REQUEST__INIT;
    Loopledger__V1__InitiativeState *s;
    char msg[256];
    r.initiative = (char *)ini;
    assert_int_equal(ll_store_begin_read(f->st, t), LL_OK);
    int err = ll_initiative_get(*t, a, &r, now, &s, msg, sizeof msg);
    if (err)
        fail_msg("%s", msg);
    return s;
}

#endif
