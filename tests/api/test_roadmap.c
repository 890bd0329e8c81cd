/*
 * Roadmap scoring (ll_roadmap), experiment readouts (ll_readout), as-of
 * answers (ll_asof) and the loop-health report (ll_loophealth), through
 * the real ledger. Expected scores are computed by hand from the formula
 * in ll_roadmap.h / README "Roadmap scoring"; each case shows the sum.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../support/ll_testledger.h"
#include "ll_asof.h"
#include "ll_entry.h"
#include "ll_err.h"
#include "ll_ledger.h"
#include "ll_loop.h"
#include "ll_loophealth.h"
#include "ll_query.h"
#include "ll_experiment.h"
#include "ll_readout.h"
#include "ll_roadmap.h"
#include "ll_initiative.h"

#define KIND(x) LOOPLEDGER__V1__ENTRY_BODY__KIND_##x
#define REL(x) LOOPLEDGER__V1__RELATION__##x
#define EC(x) LOOPLEDGER__V1__EVIDENCE_CLASS__EVIDENCE_CLASS_##x
#define SRC(x) LOOPLEDGER__V1__FINDING_SOURCE__FINDING_SOURCE_##x

#define NEAR(x, ref, tol)                                                                \
    do {                                                                                 \
        double x_ = (x), r_ = (ref);                                                     \
        if (!(fabs(x_ - r_) <= (tol)))                                                   \
            fail_msg("%s = %.15g, expected %.15g (tolerance %g)", #x, x_, r_, (double)(tol)); \
    } while (0)

/* Evidence appended in one test run is seconds old at most: with the
 * default 90-day half-life its decay is 1 to within 1e-5 for two minutes. */
#define FRESH 1e-5

typedef ll_tl_t fx_t;

static int setup(void **state)
{
    *state = ll_tl_new("test.example/roadmap", NULL);
    return 0;
}

static int teardown(void **state) { return ll_tl_teardown(state); }

/* Appends an entry signed by admin; fails the test if it is refused. */
static uint64_t add(fx_t *f, const char *ini, int kind, void *msg, const lk_t *links,
                    size_t nlinks)
{
    ll_append_result_t r = ll_tl_add(f, f->admin, "admin", ini, kind, msg, links, nlinks);
    ll_tl_appended(r);
    return r.seq;
}

static uint64_t charter(fx_t *f, const char *ini, Loopledger__V1__Cadence *cad, size_t ncad)
{
    Loopledger__V1__Initiative x = LOOPLEDGER__V1__INITIATIVE__INIT;
    x.title = "Recommendation engine";
    x.application = LOOPLEDGER__V1__APPLICATION__APPLICATION_RECOMMENDATION;
    x.phase = LOOPLEDGER__V1__PHASE__PHASE_PILOT;
    x.review_cadences = cad;
    x.n_review_cadences = ncad;
    return add(f, ini, KIND(CHARTER), &x, NULL, 0);
}

static uint64_t finding(fx_t *f, const char *ini, int source, const lk_t *links, size_t n)
{
    Loopledger__V1__Finding x = LOOPLEDGER__V1__FINDING__INIT;
    x.summary = "high CTR, low conversion in home & garden";
    x.source = (Loopledger__V1__FindingSource)source;
    x.evidence = source == SRC(CUSTOMER_SERVICE_REVIEW) || source == SRC(USER_SURVEY) ||
                         source == SRC(SOCIAL_MEDIA)
                     ? LOOPLEDGER__V1__EVIDENCE__EVIDENCE_QUALITATIVE
                     : LOOPLEDGER__V1__EVIDENCE__EVIDENCE_QUANTITATIVE;
    x.diagnosis = LOOPLEDGER__V1__DIAGNOSIS__DIAGNOSIS_CONTENT_GAP;
    return add(f, ini, KIND(FINDING), &x, links, n);
}

static uint64_t hypothesis(fx_t *f, const char *ini, const lk_t *links, size_t n)
{
    Loopledger__V1__Hypothesis x = LOOPLEDGER__V1__HYPOTHESIS__INIT;
    x.statement = "product page content is insufficient";
    return add(f, ini, KIND(HYPOTHESIS), &x, links, n);
}

static Loopledger__V1__Arm control = {PROTOBUF_C_MESSAGE_INIT(&loopledger__v1__arm__descriptor),
                                      "control", "current pages", 50};
static Loopledger__V1__Arm variant = {PROTOBUF_C_MESSAGE_INIT(&loopledger__v1__arm__descriptor),
                                      "ai_content", "AI-enhanced pages", 50};

static uint64_t experiment(fx_t *f, const char *ini, uint64_t h)
{
    static Loopledger__V1__Arm *variants[] = {&variant};
    Loopledger__V1__Experiment x = LOOPLEDGER__V1__EXPERIMENT__INIT;
    x.title = "content A/B";
    x.primary_metric = "conversion_rate";
    x.control = &control;
    x.n_variants = 1;
    x.variants = variants;
    return add(f, ini, KIND(EXPERIMENT), &x, LINKS({REL(TESTS), h}));
}

typedef struct obs {
    const char *metric, *arm, *unit, *segment;
    double value, stddev;
    uint64_t n;
} obs_t;

static uint64_t measure(fx_t *f, const char *ini, uint64_t exp, const obs_t *o, size_t n)
{
    Loopledger__V1__Observation ob[8], *op[8];
    Loopledger__V1__Measurement m = LOOPLEDGER__V1__MEASUREMENT__INIT;
    assert_true(n <= 8);
    for (size_t i = 0; i < n; i++) {
        loopledger__v1__observation__init(&ob[i]);
        ob[i].metric = (char *)o[i].metric;
        ob[i].arm = (char *)o[i].arm;
        ob[i].unit = (char *)(o[i].unit ? o[i].unit : "");
        ob[i].segment = (char *)(o[i].segment ? o[i].segment : "");
        ob[i].value = o[i].value;
        ob[i].stddev = o[i].stddev;
        ob[i].sample_size = o[i].n;
        op[i] = &ob[i];
    }
    m.source = "A/B test readout";
    m.n_observations = n;
    m.observations = op;
    return add(f, ini, KIND(MEASUREMENT), &m, LINKS({REL(MEASURES), exp}));
}

static uint64_t project(fx_t *f, const char *ini, const char *title, double reach, double impact,
                        double effort, const lk_t *links, size_t n)
{
    Loopledger__V1__RoadmapProject p = LOOPLEDGER__V1__ROADMAP_PROJECT__INIT;
    p.title = (char *)title;
    p.application = LOOPLEDGER__V1__APPLICATION__APPLICATION_CONTENT;
    p.status = LOOPLEDGER__V1__PROJECT_STATUS__PROJECT_STATUS_PROPOSED;
    p.reach = reach;
    p.impact = impact;
    p.effort = effort;
    return add(f, ini, KIND(ROADMAP_PROJECT), &p, links, n);
}

static uint64_t correct(fx_t *f, const char *ini, uint64_t target)
{
    Loopledger__V1__Correction c = LOOPLEDGER__V1__CORRECTION__INIT;
    c.reason = "wrong segment";
    return add(f, ini, KIND(CORRECTION), &c, LINKS({REL(SUPERSEDES), target}));
}

static int64_t time_of(fx_t *f, uint64_t seq)
{
    ll_txn_t *t;
    ll_entry_meta_t m;
    assert_int_equal(ll_store_begin_read(f->st, &t), LL_OK);
    assert_int_equal(ll_index_meta(t, seq, &m), LL_OK);
    ll_store_abort(t);
    return m.time_ns;
}

/* ---- queries ---- */

typedef struct answer {
    ll_txn_t *t;
    ll_arena_t a;
} answer_t;

static void done(answer_t *x)
{
    ll_arena_free(&x->a);
    ll_store_abort(x->t);
}

static Loopledger__V1__PrioritizeResponse *prioritize(fx_t *f, answer_t *x,
                                                      const Loopledger__V1__PrioritizeRequest *r)
{
    Loopledger__V1__PrioritizeResponse *resp;
    char msg[300];
    x->a = (ll_arena_t)LL_ARENA_INIT;
    assert_int_equal(ll_store_begin_read(f->st, &x->t), LL_OK);
    int err = ll_roadmap_prioritize(x->t, &x->a, r, &resp, msg, sizeof msg);
    if (err)
        fail_msg("prioritize: %s", msg);
    return resp;
}

static Loopledger__V1__PrioritizeResponse *rank_all(fx_t *f, answer_t *x)
{
    Loopledger__V1__PrioritizeRequest r = LOOPLEDGER__V1__PRIORITIZE_REQUEST__INIT;
    return prioritize(f, x, &r);
}

static const Loopledger__V1__RankedProject *find_project(const Loopledger__V1__PrioritizeResponse *p,
                                                         uint64_t seq)
{
    for (size_t i = 0; i < p->n_projects; i++)
        if (p->projects[i]->project->seq == seq)
            return p->projects[i];
    fail_msg("project %llu not ranked", (unsigned long long)seq);
    return NULL;
}

/* Packs msg into a malloc'd buffer (for byte-for-byte comparisons). */
static uint8_t *packed(const ProtobufCMessage *msg, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(msg);
    uint8_t *b = malloc(*len ? *len : 1);
    protobuf_c_message_pack(msg, b);
    return b;
}

/* ---- the combination, by hand ---- */

static void test_combine_hand_computed_cases(void **state)
{
    (void)state;
    ll_roadmap_conf_t c;
    /* No evidence: speculative, capped at 0.2. */
    ll_roadmap_combine(NULL, 0, 90, &c);
    assert_true(c.speculative);
    NEAR(c.confidence, 0.2, 1e-15);
    NEAR(c.evidence_weight, 0, 0);

    /* One fresh observational finding: E = 0.6, conf = 0.2 + 0.8 x 0.6 = 0.68. */
    ll_roadmap_ev_t one[] = {{0, 0, 0.6, 0}};
    ll_roadmap_combine(one, 1, 90, &c);
    assert_false(c.speculative);
    NEAR(c.evidence_weight, 0.6, 1e-15);
    NEAR(c.confidence, 0.68, 1e-15);
    NEAR(c.decay, 1, 1e-15);

    /* Decay: a p < 0.01 experiment one half-life old: c = 1.0 x 0.5;
     * conf = 0.2 + 0.8 x 0.5 = 0.6. Two half-lives: 0.2 + 0.8 x 0.25 = 0.4. */
    ll_roadmap_ev_t old[] = {{0, 0, 1.0, 90}};
    ll_roadmap_combine(old, 1, 90, &c);
    NEAR(c.confidence, 0.6, 1e-15);
    NEAR(c.decay, 0.5, 1e-15);
    old[0].age_days = 180;
    ll_roadmap_combine(old, 1, 90, &c);
    NEAR(c.confidence, 0.4, 1e-15);
    /* A shorter half-life ages the same evidence faster: 30 d -> 0.5^6. */
    ll_roadmap_combine(old, 1, 30, &c);
    NEAR(c.confidence, 0.2 + 0.8 * 0.015625, 1e-15);
    /* A clock skew never makes evidence younger than new. */
    old[0].age_days = -5;
    ll_roadmap_combine(old, 1, 90, &c);
    NEAR(c.confidence, 1.0, 1e-15);

    /* Mixed: observational fresh (0.6) + qualitative 180 d old (0.3 x 0.25 =
     * 0.075): E = 1 - 0.4 x 0.925 = 0.63, conf = 0.2 + 0.8 x 0.63 = 0.704.
     * decay = (0.6 x 1 + 0.3 x 0.25) / (0.6 + 0.3) = 0.75.
     * Refuted by a fresh p < 0.05 experiment (0.85): P = 0.85,
     * conf = 0.704 x 0.15 = 0.1056: below the speculative level. */
    ll_roadmap_ev_t mix[] = {{0, 0, 0.6, 0}, {0, 0, 0.3, 180}, {1, 0, 0.85, 0}};
    ll_roadmap_combine(mix, 2, 90, &c);
    NEAR(c.evidence_weight, 0.63, 1e-15);
    NEAR(c.confidence, 0.704, 1e-15);
    NEAR(c.decay, 0.75, 1e-15);
    ll_roadmap_combine(mix, 3, 90, &c);
    NEAR(c.penalty, 0.85, 1e-15);
    NEAR(c.confidence, 0.1056, 1e-14);

    /* Superseded evidence counts for nothing: only it -> speculative. */
    ll_roadmap_ev_t sup[] = {{0, 1, 1.0, 0}, {1, 0, 0.6, 0}};
    ll_roadmap_combine(sup, 2, 90, &c);
    assert_true(c.speculative);
    NEAR(c.confidence, 0.2, 1e-15);
    NEAR(c.penalty, 0, 0);

    /* Experiment grading by the readout's p-value. */
    NEAR(ll_roadmap_experiment_weight(0.0014), 1.0, 0);
    NEAR(ll_roadmap_experiment_weight(0.03), 0.85, 0);
    NEAR(ll_roadmap_experiment_weight(0.08), 0.7, 0);
    NEAR(ll_roadmap_experiment_weight(0.2), 0.4, 0);
}

/* ---- the seed's loop as evidence ---- */

typedef struct seedloop {
    uint64_t dash, survey, h, exp, meas, concl;
} seedloop_t;

/* Dashboard finding -> hypothesis -> A/B experiment with the seed's
 * numbers (1.12% of 30100 vs 1.41% of 29900, p = 0.00148) -> concluding
 * finding that rests on the dashboard finding. Plus a survey finding. */
static seedloop_t seed_loop(fx_t *f)
{
    seedloop_t s;
    charter(f, "reco", NULL, 0);
    s.dash = finding(f, "reco", SRC(DASHBOARD), NULL, 0);
    s.survey = finding(f, "reco", SRC(USER_SURVEY), NULL, 0);
    s.h = hypothesis(f, "reco", LINKS({REL(DERIVED_FROM), s.dash}));
    s.exp = experiment(f, "reco", s.h);
    obs_t o[] = {{"conversion_rate", "control", "%", "home & garden", 1.12, 0, 30100},
                 {"conversion_rate", "ai_content", "%", "home & garden", 1.41, 0, 29900},
                 {"return_rate", "control", "%", "home & garden", 4.0, 0, 337}};
    s.meas = measure(f, "reco", s.exp, o, 3);
    s.concl = finding(f, "reco", SRC(AB_TEST),
                      LINKS({REL(CONCLUDES), s.exp}, {REL(SUPPORTS), s.h},
                            {REL(DERIVED_FROM), s.dash}));
    return s;
}

static void test_evidence_classes_and_speculation_cap(void **state)
{
    fx_t *f = *state;
    seedloop_t s = seed_loop(f);
    /* P1 rests on the experiment (1.0) and, through DERIVED_FROM, the
     * dashboard finding (0.6): E = 1 - 0 x 0.4 = 1, conf = 1.
     * score = 1200000 x 2 x 1 / 4 = 600000. */
    uint64_t p1 = project(f, "catalog-content", "identify underperforming content", 1200000, 2, 4,
                          LINKS({REL(SPAWNED_BY), s.concl}));
    /* P2 rests on the survey (0.3): conf = 0.2 + 0.8 x 0.3 = 0.44;
     * score = 1000000 x 1 x 0.44 / 1 = 440000. */
    uint64_t p2 = project(f, "catalog-content", "survey-driven filters", 1000000, 1, 1,
                          LINKS({REL(SPAWNED_BY), s.survey}));
    /* P3: no evidence: speculative, conf 0.2; score = 5000000 x 3 x 0.2 / 2 = 1500000. */
    uint64_t p3 = project(f, "catalog-content", "AI everything", 5000000, 3, 2, NULL, 0);
    /* P4 rests on the dashboard finding alone: conf = 0.2 + 0.8 x 0.6 = 0.68;
     * score = 100 x 1 x 0.68 / 1 = 68. */
    uint64_t p4 = project(f, "reco", "dashboard follow-up", 100, 1, 1,
                          LINKS({REL(SPAWNED_BY), s.dash}));

    answer_t x;
    Loopledger__V1__PrioritizeResponse *r = rank_all(f, &x);
    assert_int_equal(r->total, 4);
    assert_int_equal(r->as_of_size, ll_store_committed_size(f->st));
    NEAR(r->half_life_days, 90, 0);
    /* Order: P3 (1.5M), P1 (600k), P2 (440k), P4 (68). */
    assert_int_equal(r->projects[0]->project->seq, p3);
    assert_int_equal(r->projects[1]->project->seq, p1);
    assert_int_equal(r->projects[2]->project->seq, p2);
    assert_int_equal(r->projects[3]->project->seq, p4);
    for (uint32_t i = 0; i < 4; i++)
        assert_int_equal(r->projects[i]->rank, i + 1);

    const Loopledger__V1__RankedProject *q = find_project(r, p1);
    NEAR(q->confidence, 1.0, FRESH);
    NEAR(q->score, 600000, 600000 * FRESH);
    NEAR(q->evidence_weight, 1.0, FRESH);
    assert_false(q->speculative);
    assert_int_equal(q->n_evidence, 2);
    assert_int_equal(q->evidence[0]->seq, s.concl);
    assert_int_equal(q->evidence[0]->class_, EC(EXPERIMENT));
    assert_int_equal(q->evidence[0]->experiment_seq, s.exp);
    NEAR(q->evidence[0]->p_value, 0.0014796414310789263, 1e-10);
    NEAR(q->evidence[0]->weight, 1.0, 0);
    assert_int_equal(q->evidence[1]->seq, s.dash);
    assert_int_equal(q->evidence[1]->class_, EC(OBSERVATIONAL));
    NEAR(q->evidence[1]->weight, 0.6, 0);
    /* The seqs that produced it: both findings, the experiment and its
     * measurement, ascending. */
    uint64_t want[] = {s.dash, s.exp, s.meas, s.concl};
    assert_int_equal(q->n_evidence_seqs, 4);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(q->evidence_seqs[i], want[i]);

    q = find_project(r, p2);
    NEAR(q->confidence, 0.44, FRESH);
    NEAR(q->score, 440000, 440000 * FRESH);
    assert_int_equal(q->evidence[0]->class_, EC(QUALITATIVE));
    assert_int_equal(q->evidence[0]->source, SRC(USER_SURVEY));

    q = find_project(r, p3);
    assert_true(q->speculative);
    NEAR(q->speculative_cap, 0.2, 0);
    NEAR(q->confidence, 0.2, 0);
    NEAR(q->score, 1500000, 1e-6);
    assert_int_equal(q->n_evidence, 0);
    assert_int_equal(q->n_evidence_seqs, 0);

    NEAR(find_project(r, p4)->confidence, 0.68, FRESH);
    done(&x);

    /* Filters: by initiative, by status. */
    Loopledger__V1__PrioritizeRequest req = LOOPLEDGER__V1__PRIORITIZE_REQUEST__INIT;
    req.initiative = "reco";
    r = prioritize(f, &x, &req);
    assert_int_equal(r->total, 1);
    assert_int_equal(r->projects[0]->project->seq, p4);
    done(&x);
    req.initiative = "";
    req.status = LOOPLEDGER__V1__PROJECT_STATUS__PROJECT_STATUS_DONE;
    r = prioritize(f, &x, &req);
    assert_int_equal(r->total, 0);
    done(&x);
}

static void test_refutation_lowers_confidence_until_superseded(void **state)
{
    fx_t *f = *state;
    seedloop_t s = seed_loop(f);
    uint64_t p1 = project(f, "catalog-content", "identify underperforming content", 1200000, 2, 4,
                          LINKS({REL(SPAWNED_BY), s.concl}));
    /* A later dashboard finding REFUTES the hypothesis the experiment
     * supported: P = 0.6, conf = 1 x (1 - 0.6) = 0.4; score = 240000. */
    uint64_t ref = finding(f, "reco", SRC(DASHBOARD), LINKS({REL(REFUTES), s.h}));
    uint64_t before_correction = ll_store_committed_size(f->st);
    answer_t x;
    Loopledger__V1__PrioritizeResponse *r = rank_all(f, &x);
    const Loopledger__V1__RankedProject *q = find_project(r, p1);
    NEAR(q->refutation_penalty, 0.6, FRESH);
    NEAR(q->confidence, 0.4, FRESH);
    NEAR(q->score, 240000, 240000 * FRESH);
    assert_int_equal(q->n_evidence, 3);
    assert_int_equal(q->evidence[2]->seq, ref);
    assert_int_equal(q->evidence[2]->role, LOOPLEDGER__V1__EVIDENCE_ROLE__EVIDENCE_ROLE_REFUTES);
    assert_int_equal(q->evidence[2]->hypothesis_seq, s.h);
    done(&x);

    /* The refuting finding is corrected: it no longer counts (but is
     * listed, marked), and confidence is back to 1. */
    uint64_t c = correct(f, "reco", ref);
    r = rank_all(f, &x);
    q = find_project(r, p1);
    NEAR(q->refutation_penalty, 0, 0);
    NEAR(q->confidence, 1.0, FRESH);
    assert_int_equal(q->n_evidence, 3);
    assert_true(q->evidence[2]->superseded);
    assert_int_equal(q->evidence[2]->superseded_by, c);
    NEAR(q->evidence[2]->contribution, 0, 0);
    for (size_t i = 0; i < q->n_evidence_seqs; i++)
        assert_int_not_equal(q->evidence_seqs[i], ref);
    done(&x);

    /* As of the size before the correction, the refutation still counts. */
    Loopledger__V1__PrioritizeRequest req = LOOPLEDGER__V1__PRIORITIZE_REQUEST__INIT;
    req.as_of_size = before_correction;
    r = prioritize(f, &x, &req);
    NEAR(find_project(r, p1)->confidence, 0.4, FRESH);
    assert_int_equal(r->as_of_size, before_correction);
    done(&x);

    /* Superseding the supporting finding makes the project speculative:
     * what only it rests on (the dashboard finding) no longer counts. */
    correct(f, "reco", s.concl);
    r = rank_all(f, &x);
    q = find_project(r, p1);
    assert_true(q->speculative);
    NEAR(q->confidence, 0.2, 0);
    assert_int_equal(q->n_evidence, 1);
    assert_true(q->evidence[0]->superseded);
    done(&x);
}

static void test_decay_uses_the_as_of_time_and_half_life(void **state)
{
    fx_t *f = *state;
    charter(f, "reco", NULL, 0);
    uint64_t fi = finding(f, "reco", SRC(SOCIAL_MEDIA), NULL, 0);
    uint64_t p = project(f, "reco", "social listening", 1000, 1, 1, LINKS({REL(SPAWNED_BY), fi}));
    usleep(20000);
    uint64_t last = finding(f, "reco", SRC(DASHBOARD), NULL, 0);
    /* Half-life 1e-7 days (8.64 ms); the as-of time is the last entry's
     * server time, so the age is exactly t(last) - t(fi). */
    const double hl = 1e-7;
    double age_days = (double)(time_of(f, last) - time_of(f, fi)) / 86400e9;
    double d = pow(0.5, age_days / hl);
    assert_true(d < 0.25); /* at least 20 ms old: more than two half-lives */
    Loopledger__V1__PrioritizeRequest req = LOOPLEDGER__V1__PRIORITIZE_REQUEST__INIT;
    req.half_life_days = hl;
    answer_t x;
    Loopledger__V1__PrioritizeResponse *r = prioritize(f, &x, &req);
    const Loopledger__V1__RankedProject *q = find_project(r, p);
    NEAR(q->evidence[0]->age_days, age_days, 1e-15);
    NEAR(q->evidence[0]->decay, d, 1e-12);
    NEAR(q->decay, d, 1e-12);
    NEAR(q->confidence, 0.2 + 0.8 * 0.3 * d, 1e-12);
    NEAR(q->score, 1000 * (0.2 + 0.8 * 0.3 * d), 1e-9);
    assert_int_equal(r->as_of_unix_nanos, time_of(f, last));
    done(&x);

    /* As of the project's own size, the finding is younger. */
    req.as_of_size = p + 1;
    r = prioritize(f, &x, &req);
    double d0 = pow(0.5, (double)(time_of(f, p) - time_of(f, fi)) / 86400e9 / hl);
    NEAR(find_project(r, p)->confidence, 0.2 + 0.8 * 0.3 * d0, 1e-12);
    assert_true(d0 > d);
    done(&x);

    /* Bad half-lives are refused. */
    char msg[300];
    Loopledger__V1__PrioritizeResponse *out;
    ll_arena_t a = LL_ARENA_INIT;
    ll_txn_t *t;
    assert_int_equal(ll_store_begin_read(f->st, &t), LL_OK);
    req.as_of_size = 0;
    req.half_life_days = -1;
    assert_int_equal(ll_roadmap_prioritize(t, &a, &req, &out, msg, sizeof msg), LL_ERR_INVALID);
    req.half_life_days = 90;
    req.as_of_size = 1000000;
    assert_int_equal(ll_roadmap_prioritize(t, &a, &req, &out, msg, sizeof msg), LL_ERR_RANGE);
    ll_arena_free(&a);
    ll_store_abort(t);
}

static void test_ties_break_by_seq_and_pages_are_stable(void **state)
{
    fx_t *f = *state;
    charter(f, "reco", NULL, 0);
    uint64_t p[7];
    /* Seven speculative projects with equal scores (100 x 1 x 0.2 / 1 = 20). */
    for (int i = 0; i < 7; i++)
        p[i] = project(f, "reco", "same", 100, 1, 1, NULL, 0);
    Loopledger__V1__PrioritizeRequest req = LOOPLEDGER__V1__PRIORITIZE_REQUEST__INIT;
    req.page_size = 3;
    answer_t x;
    Loopledger__V1__PrioritizeResponse *r = prioritize(f, &x, &req);
    assert_int_equal(r->total, 7);
    assert_int_equal(r->n_projects, 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(r->projects[i]->project->seq, p[i]);
    char token[80];
    snprintf(token, sizeof token, "%s", r->next_page_token);
    uint64_t size = r->as_of_size;
    done(&x);

    /* A new, better project arrives between pages: the next page still
     * continues the ranking of the size the first page pinned. */
    project(f, "reco", "better", 1000, 1, 1, NULL, 0);
    req.page_token = token;
    r = prioritize(f, &x, &req);
    assert_int_equal(r->as_of_size, size);
    assert_int_equal(r->n_projects, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(r->projects[i]->project->seq, p[3 + i]);
        assert_int_equal(r->projects[i]->rank, 4 + i);
    }
    done(&x);
    req.page_token = "garbage";
    ll_arena_t a = LL_ARENA_INIT;
    ll_txn_t *t;
    char msg[300];
    assert_int_equal(ll_store_begin_read(f->st, &t), LL_OK);
    assert_int_equal(ll_roadmap_prioritize(t, &a, &req, &r, msg, sizeof msg), LL_ERR_INVALID);
    ll_arena_free(&a);
    ll_store_abort(t);

    /* The same state gives the same bytes. */
    req.page_token = "";
    req.page_size = 0;
    size_t l1, l2;
    r = prioritize(f, &x, &req);
    uint8_t *b1 = packed(&r->base, &l1);
    done(&x);
    r = prioritize(f, &x, &req);
    uint8_t *b2 = packed(&r->base, &l2);
    done(&x);
    assert_int_equal(l1, l2);
    assert_memory_equal(b1, b2, l1);
    free(b1);
    free(b2);
}

static void test_past_answers_stay_the_same_after_appends(void **state)
{
    fx_t *f = *state;
    Loopledger__V1__Cadence cad[] = {LOOPLEDGER__V1__CADENCE__CADENCE_WEEKLY};
    seedloop_t s = seed_loop(f);
    charter(f, "bot", cad, 1);
    project(f, "catalog-content", "identify underperforming content", 1200000, 2, 4,
            LINKS({REL(SPAWNED_BY), s.concl}));
    project(f, "catalog-content", "survey-driven filters", 1000000, 1, 1,
            LINKS({REL(SPAWNED_BY), s.survey}));
    uint64_t n1 = ll_store_committed_size(f->st);

    Loopledger__V1__PrioritizeRequest pr = LOOPLEDGER__V1__PRIORITIZE_REQUEST__INIT;
    pr.as_of_size = n1;
    Loopledger__V1__GetInitiativeRequest ir = LOOPLEDGER__V1__GET_INITIATIVE_REQUEST__INIT;
    ir.initiative = "reco";
    ir.as_of_size = n1;
    answer_t x;
    char msg[300];
    size_t lp1, li1, lp2, li2;
    Loopledger__V1__PrioritizeResponse *r = prioritize(f, &x, &pr);
    uint8_t *bp1 = packed(&r->base, &lp1);
    done(&x);
    Loopledger__V1__InitiativeState *st;
    x.a = (ll_arena_t)LL_ARENA_INIT;
    assert_int_equal(ll_store_begin_read(f->st, &x.t), LL_OK);
    assert_int_equal(ll_initiative_get_as_of(x.t, &x.a, &ir, 0, &st, msg, sizeof msg), LL_OK);
    uint8_t *bi1 = packed(&st->base, &li1);
    assert_int_equal(st->running_experiments_count, 0);
    assert_int_equal(st->open_hypotheses_count, 0);
    assert_int_equal(st->unacted_findings_count, 0); /* each spawned a project or a hypothesis */
    done(&x);

    /* History moves on: refutation, corrections, new entries, an adjustment. */
    uint64_t ref = finding(f, "reco", SRC(DASHBOARD), LINKS({REL(REFUTES), s.h}));
    correct(f, "reco", s.survey);
    Loopledger__V1__Adjustment adj = LOOPLEDGER__V1__ADJUSTMENT__INIT;
    adj.category = LOOPLEDGER__V1__REFINEMENT__REFINEMENT_STRATEGIC_APPROACH;
    adj.change = "AI-assisted content";
    add(f, "reco", KIND(ADJUSTMENT), &adj, LINKS({REL(ADDRESSES), ref}));
    experiment(f, "reco", hypothesis(f, "reco", NULL, 0));
    project(f, "catalog-content", "new", 9e9, 3, 1, NULL, 0);

    r = prioritize(f, &x, &pr);
    uint8_t *bp2 = packed(&r->base, &lp2);
    done(&x);
    x.a = (ll_arena_t)LL_ARENA_INIT;
    assert_int_equal(ll_store_begin_read(f->st, &x.t), LL_OK);
    assert_int_equal(ll_initiative_get_as_of(x.t, &x.a, &ir, 0, &st, msg, sizeof msg), LL_OK);
    uint8_t *bi2 = packed(&st->base, &li2);
    done(&x);
    assert_int_equal(lp1, lp2);
    assert_memory_equal(bp1, bp2, lp1);
    assert_int_equal(li1, li2);
    assert_memory_equal(bi1, bi2, li1);
    free(bp1);
    free(bp2);
    free(bi1);
    free(bi2);

    /* Before the initiative existed: NOT_FOUND; beyond the tree: RANGE. */
    x.a = (ll_arena_t)LL_ARENA_INIT;
    assert_int_equal(ll_store_begin_read(f->st, &x.t), LL_OK);
    ir.as_of_size = 1; /* only the genesis entry */
    assert_int_equal(ll_initiative_get_as_of(x.t, &x.a, &ir, 0, &st, msg, sizeof msg),
                     LL_ERR_NOT_FOUND);
    ir.as_of_size = 100000;
    assert_int_equal(ll_initiative_get_as_of(x.t, &x.a, &ir, 0, &st, msg, sizeof msg), LL_ERR_RANGE);
    done(&x);
}

/* As of the latest size, the replay must equal the live incremental state
 * (same now): every list, count, reference and review. */
static void test_asof_at_latest_equals_live_state(void **state)
{
    fx_t *f = *state;
    Loopledger__V1__Cadence cad[] = {LOOPLEDGER__V1__CADENCE__CADENCE_WEEKLY,
                                     LOOPLEDGER__V1__CADENCE__CADENCE_MONTHLY};
    charter(f, "reco", cad, 2);
    Loopledger__V1__Deployment d = LOOPLEDGER__V1__DEPLOYMENT__INIT;
    d.version = "v1";
    d.rollout_percent = 10;
    add(f, "reco", KIND(DEPLOYMENT), &d, NULL, 0);
    uint64_t f1 = finding(f, "reco", SRC(DASHBOARD), NULL, 0);
    finding(f, "reco", SRC(USER_SURVEY), NULL, 0);
    uint64_t h = hypothesis(f, "reco", LINKS({REL(DERIVED_FROM), f1}));
    uint64_t h2 = hypothesis(f, "reco", NULL, 0);
    uint64_t ex = experiment(f, "reco", h);
    experiment(f, "reco", h2);
    Loopledger__V1__Alert al = LOOPLEDGER__V1__ALERT__INIT;
    al.metric = "ctr";
    al.detector = LOOPLEDGER__V1__DETECTOR__DETECTOR_DRIFT;
    add(f, "reco", KIND(ALERT), &al, NULL, 0);
    uint64_t f3 = finding(f, "reco", SRC(AB_TEST), LINKS({REL(CONCLUDES), ex}, {REL(SUPPORTS), h}));
    Loopledger__V1__Adjustment adj = LOOPLEDGER__V1__ADJUSTMENT__INIT;
    adj.category = LOOPLEDGER__V1__REFINEMENT__REFINEMENT_STRATEGIC_APPROACH;
    adj.change = "AI-assisted content";
    uint64_t a1 = add(f, "reco", KIND(ADJUSTMENT), &adj, LINKS({REL(ADDRESSES), f3}));
    add(f, "reco", KIND(ADJUSTMENT), &adj, LINKS({REL(ADDRESSES), f3}));
    Loopledger__V1__Decision dec = LOOPLEDGER__V1__DECISION__INIT;
    dec.level = LOOPLEDGER__V1__HITL_LEVEL__HITL_LEVEL_REVIEW_AND_APPROVAL;
    dec.outcome = LOOPLEDGER__V1__OUTCOME__OUTCOME_APPROVED;
    dec.rationale = "ok";
    add(f, "reco", KIND(DECISION), &dec, LINKS({REL(DECIDES), a1}));
    d.rollout_percent = 50;
    add(f, "reco", KIND(DEPLOYMENT), &d, LINKS({REL(CITES), ex}, {REL(IMPLEMENTS), a1}));
    Loopledger__V1__Review rv = LOOPLEDGER__V1__REVIEW__INIT;
    rv.cadence = LOOPLEDGER__V1__CADENCE__CADENCE_WEEKLY;
    rv.notes = "weekly";
    add(f, "reco", KIND(REVIEW), &rv, NULL, 0);
    Loopledger__V1__ScalingPlan sp = LOOPLEDGER__V1__SCALING_PLAN__INIT;
    sp.scenario = LOOPLEDGER__V1__SCALING_SCENARIO__SCALING_SCENARIO_TRAFFIC_SHARE;
    sp.to_scope = "all traffic";
    uint64_t plan = add(f, "reco", KIND(SCALING_PLAN), &sp, NULL, 0);
    add(f, "reco", KIND(SCALING_PLAN), &sp, NULL, 0);
    correct(f, "reco", plan);

    int64_t now = time_of(f, 1) + 40LL * 86400 * 1000000000;
    Loopledger__V1__GetInitiativeRequest ir = LOOPLEDGER__V1__GET_INITIATIVE_REQUEST__INIT;
    ir.initiative = "reco";
    answer_t x = {.a = LL_ARENA_INIT};
    char msg[300];
    Loopledger__V1__InitiativeState *live, *past;
    size_t l1, l2;
    assert_int_equal(ll_store_begin_read(f->st, &x.t), LL_OK);
    assert_int_equal(ll_initiative_get(x.t, &x.a, &ir, now, &live, msg, sizeof msg), LL_OK);
    ir.as_of_size = ll_store_size(x.t);
    assert_int_equal(ll_initiative_get_as_of(x.t, &x.a, &ir, now, &past, msg, sizeof msg), LL_OK);
    assert_int_equal(live->cycle, 1);
    assert_int_equal(live->n_overdue_reviews, 2);
    assert_int_equal(live->n_scaling_plans, 1);
    uint8_t *b1 = packed(&live->base, &l1), *b2 = packed(&past->base, &l2);
    assert_int_equal(l1, l2);
    assert_memory_equal(b1, b2, l1);
    free(b1);
    free(b2);
    /* And the replayed state record equals the stored one. */
    ll_loop_state_t s1, s2;
    assert_int_equal(ll_index_state(x.t, "reco", &s1), LL_OK);
    assert_int_equal(ll_initiative_state_as_of(x.t, "reco", ll_store_size(x.t), &s2), LL_OK);
    assert_memory_equal(&s1, &s2, sizeof s1);
    done(&x);
}

/* ---- readouts ---- */

static Loopledger__V1__ExperimentReadout *readout(fx_t *f, answer_t *x, uint64_t exp,
                                                  const char *metric, const char *segment,
                                                  uint64_t as_of)
{
    Loopledger__V1__GetExperimentReadoutRequest r =
        LOOPLEDGER__V1__GET_EXPERIMENT_READOUT_REQUEST__INIT;
    Loopledger__V1__ExperimentReadout *out;
    char msg[300];
    r.experiment_seq = exp;
    r.metric = (char *)(metric ? metric : "");
    r.segment = (char *)(segment ? segment : "");
    r.as_of_size = as_of;
    x->a = (ll_arena_t)LL_ARENA_INIT;
    assert_int_equal(ll_store_begin_read(f->st, &x->t), LL_OK);
    int err = ll_experiment_query(x->t, &x->a, &r, &out, msg, sizeof msg);
    if (err)
        fail_msg("readout: %s", msg);
    return out;
}

static void test_readout_of_the_seed_experiment(void **state)
{
    fx_t *f = *state;
    seedloop_t s = seed_loop(f);
    answer_t x;
    Loopledger__V1__ExperimentReadout *r = readout(f, &x, s.exp, NULL, NULL, 0);
    assert_string_equal(r->metric, "conversion_rate");
    assert_string_equal(r->control->arm, "control");
    assert_int_equal(r->control->sample_size, 30100);
    NEAR(r->control->value, 0.0112, 1e-15); /* percent observations read as rates */
    assert_int_equal(r->n_variants, 1);
    const Loopledger__V1__VariantReadout *v = r->variants[0];
    assert_string_equal(v->variant->arm, "ai_content");
    assert_int_equal(v->test, LOOPLEDGER__V1__READOUT_TEST__READOUT_TEST_TWO_PROPORTION_Z);
    /* Python reference (test_stats.c): z 3.17865, p 0.00147964, lift 25.89%. */
    NEAR(v->statistic, 3.178647050160587, 1e-9);
    NEAR(v->p_value, 0.0014796414310789263, 1e-10);
    NEAR(v->lift_percent, 25.892857142857142, 1e-9);
    NEAR(v->ci_low, 0.0011113265977178094, 1e-12);
    NEAR(v->ci_high, 0.00468867340228219, 1e-12);
    NEAR(v->lift_ci_low_percent, 100 * 0.0011113265977178094 / 0.0112, 1e-9);
    assert_true(v->significant);
    assert_int_equal(r->n_measurement_seqs, 1);
    assert_int_equal(r->measurement_seqs[0], s.meas);
    assert_int_equal(r->n_concluded_by, 1);
    assert_int_equal(r->concluded_by[0], s.concl);
    done(&x);

    /* Another metric with only one arm observed: no test, and a note. */
    r = readout(f, &x, s.exp, "return_rate", NULL, 0);
    assert_int_equal(r->variants[0]->test, LOOPLEDGER__V1__READOUT_TEST__READOUT_TEST_UNSPECIFIED);
    assert_string_equal(r->variants[0]->note, "no observations of this arm");
    done(&x);

    /* As of before the measurement: nothing observed yet. */
    r = readout(f, &x, s.exp, NULL, NULL, s.meas);
    assert_int_equal(r->control->sample_size, 0);
    assert_int_equal(r->n_measurement_seqs, 0);
    assert_int_equal(r->n_concluded_by, 0);
    done(&x);

    /* A non-experiment is named for what it is (issue 11 item 12); an
     * entry beyond the log is NOT_FOUND. */
    Loopledger__V1__GetExperimentReadoutRequest q = LOOPLEDGER__V1__GET_EXPERIMENT_READOUT_REQUEST__INIT;
    Loopledger__V1__ExperimentReadout *out;
    char msg[300];
    q.experiment_seq = s.dash;
    ll_arena_t a = LL_ARENA_INIT;
    ll_txn_t *t;
    assert_int_equal(ll_store_begin_read(f->st, &t), LL_OK);
    assert_int_equal(ll_experiment_query(t, &a, &q, &out, msg, sizeof msg), LL_ERR_INVALID);
    char want[80];
    snprintf(want, sizeof want, "#%llu is a finding, not an experiment",
             (unsigned long long)s.dash);
    assert_string_equal(msg, want);
    q.experiment_seq = 1000000;
    assert_int_equal(ll_experiment_query(t, &a, &q, &out, msg, sizeof msg), LL_ERR_NOT_FOUND);
    /* A segment nobody measured lists the ones that were. */
    q.experiment_seq = s.exp;
    q.segment = "DE";
    assert_int_equal(ll_experiment_query(t, &a, &q, &out, msg, sizeof msg), LL_ERR_NOT_FOUND);
    assert_non_null(strstr(msg, "no observations of conversion_rate in segment \"DE\"; segments measured: \""));
    ll_arena_free(&a);
    ll_store_abort(t);
}

static void test_readout_pools_windows_and_skips_superseded(void **state)
{
    fx_t *f = *state;
    charter(f, "reco", NULL, 0);
    uint64_t exp = experiment(f, "reco", hypothesis(f, "reco", NULL, 0));
    /* Two windows per arm: control 100/10000 + 240/20000 = 340/30000,
     * variant 150/10000 + 300/20000 = 450/30000. */
    obs_t w1[] = {{"conversion_rate", "control", NULL, "eu", 0.010, 0, 10000},
                  {"conversion_rate", "ai_content", NULL, "eu", 0.015, 0, 10000}};
    obs_t w2[] = {{"conversion_rate", "control", NULL, "us", 0.012, 0, 20000},
                  {"conversion_rate", "ai_content", NULL, "us", 0.015, 0, 20000}};
    measure(f, "reco", exp, w1, 2);
    uint64_t m2 = measure(f, "reco", exp, w2, 2);
    answer_t x;
    Loopledger__V1__ExperimentReadout *r = readout(f, &x, exp, NULL, NULL, 0);
    assert_int_equal(r->control->sample_size, 30000);
    NEAR(r->control->value, 340.0 / 30000, 1e-15);
    NEAR(r->variants[0]->variant->value, 450.0 / 30000, 1e-15);
    ll_stats_arm_t c = {.value = 340.0 / 30000, .n = 30000}, v = {.value = 450.0 / 30000, .n = 30000};
    ll_stats_result_t want;
    assert_int_equal(ll_stats_two_proportion(&c, &v, &want), LL_OK);
    NEAR(r->variants[0]->p_value, want.p, 1e-15);
    done(&x);
    /* One segment only. */
    r = readout(f, &x, exp, NULL, "eu", 0);
    assert_int_equal(r->control->sample_size, 10000);
    done(&x);
    /* A corrected window no longer counts. */
    correct(f, "reco", m2);
    r = readout(f, &x, exp, NULL, NULL, 0);
    assert_int_equal(r->control->sample_size, 10000);
    assert_int_equal(r->n_measurement_seqs, 1);
    done(&x);
}

static void test_readout_welch_for_means_with_stddev(void **state)
{
    fx_t *f = *state;
    charter(f, "reco", NULL, 0);
    uint64_t exp = experiment(f, "reco", hypothesis(f, "reco", NULL, 0));
    /* Basket value, mean 20.0 sd 5.0 n 30 vs 23.0 sd 6.0 n 35 (test_stats.c:
     * t 2.19858, df 62.9588, p 0.0315907). */
    obs_t o[] = {{"conversion_rate", "control", "EUR", NULL, 20.0, 5.0, 30},
                 {"conversion_rate", "ai_content", "EUR", NULL, 23.0, 6.0, 35}};
    measure(f, "reco", exp, o, 2);
    answer_t x;
    Loopledger__V1__ExperimentReadout *r = readout(f, &x, exp, NULL, NULL, 0);
    const Loopledger__V1__VariantReadout *v = r->variants[0];
    assert_int_equal(v->test, LOOPLEDGER__V1__READOUT_TEST__READOUT_TEST_WELCH_T);
    NEAR(v->statistic, 2.19858126772536, 1e-11);
    NEAR(v->degrees_of_freedom, 62.958820084919275, 1e-9);
    NEAR(v->p_value, 0.0315906945849582, 1e-10);
    NEAR(v->lift_percent, 15.0, 1e-12);
    assert_true(v->significant);
    done(&x);

    /* A project concluded by it weighs 0.85 (p < 0.05): conf = 0.2 + 0.8 x 0.85 = 0.88. */
    uint64_t fi = finding(f, "reco", SRC(AB_TEST), LINKS({REL(CONCLUDES), exp}));
    uint64_t p = project(f, "reco", "bigger baskets", 10, 1, 1, LINKS({REL(SPAWNED_BY), fi}));
    Loopledger__V1__PrioritizeResponse *pr = rank_all(f, &x);
    NEAR(find_project(pr, p)->confidence, 0.88, FRESH);
    NEAR(find_project(pr, p)->evidence[0]->weight, 0.85, 0);
    done(&x);
}

/* ---- loop health ---- */

static void test_loop_health_report(void **state)
{
    fx_t *f = *state;
    Loopledger__V1__Cadence cad[] = {LOOPLEDGER__V1__CADENCE__CADENCE_WEEKLY,
                                     LOOPLEDGER__V1__CADENCE__CADENCE_POST_CAMPAIGN};
    uint64_t ch = charter(f, "reco", cad, 2);
    Loopledger__V1__Deployment d = LOOPLEDGER__V1__DEPLOYMENT__INIT;
    d.version = "v1";
    d.rollout_percent = 10;
    add(f, "reco", KIND(DEPLOYMENT), &d, NULL, 0);
    uint64_t f1 = finding(f, "reco", SRC(DASHBOARD), NULL, 0);   /* addressed */
    uint64_t f2 = finding(f, "reco", SRC(USER_SURVEY), NULL, 0); /* spawns a project */
    uint64_t f3 = finding(f, "reco", SRC(DASHBOARD), NULL, 0);   /* a hypothesis */
    finding(f, "reco", SRC(MONITORING), NULL, 0);                /* not acted on */
    uint64_t f5 = finding(f, "reco", SRC(DASHBOARD), NULL, 0);   /* addressed */
    uint64_t gone = finding(f, "reco", SRC(DASHBOARD), NULL, 0); /* superseded */
    correct(f, "reco", gone);
    Loopledger__V1__Adjustment adj = LOOPLEDGER__V1__ADJUSTMENT__INIT;
    adj.category = LOOPLEDGER__V1__REFINEMENT__REFINEMENT_ALGORITHM;
    adj.change = "retrain";
    uint64_t a1 = add(f, "reco", KIND(ADJUSTMENT), &adj, LINKS({REL(ADDRESSES), f1}));
    usleep(5000);
    uint64_t a5 = add(f, "reco", KIND(ADJUSTMENT), &adj, LINKS({REL(ADDRESSES), f5}));
    add(f, "reco", KIND(ADJUSTMENT), &adj, LINKS({REL(ADDRESSES), f1})); /* not the first */
    project(f, "reco", "filters", 1, 1, 1, LINKS({REL(SPAWNED_BY), f2}));
    uint64_t h = hypothesis(f, "reco", LINKS({REL(DERIVED_FROM), f3}));
    experiment(f, "reco", h);
    experiment(f, "reco", h);
    experiment(f, "reco", h);
    add(f, "reco", KIND(DEPLOYMENT), &d, NULL, 0); /* after an adjustment: cycle 1 */
    Loopledger__V1__Alert al = LOOPLEDGER__V1__ALERT__INIT;
    al.metric = "ctr";
    al.detector = LOOPLEDGER__V1__DETECTOR__DETECTOR_DRIFT;
    uint64_t open_drift = add(f, "reco", KIND(ALERT), &al, NULL, 0);
    uint64_t diagnosed = add(f, "reco", KIND(ALERT), &al, NULL, 0);
    Loopledger__V1__Finding fd = LOOPLEDGER__V1__FINDING__INIT;
    fd.summary = "seasonal shift";
    fd.evidence = LOOPLEDGER__V1__EVIDENCE__EVIDENCE_QUANTITATIVE;
    fd.source = SRC(MONITORING);
    fd.diagnosis = LOOPLEDGER__V1__DIAGNOSIS__DIAGNOSIS_PREFERENCE_SHIFT;
    uint64_t f7 = add(f, "reco", KIND(FINDING), &fd, LINKS({REL(DIAGNOSES), diagnosed}));
    al.detector = LOOPLEDGER__V1__DETECTOR__DETECTOR_ACUTE_DROP;
    add(f, "reco", KIND(ALERT), &al, NULL, 0); /* not drift */
    Loopledger__V1__Review rv = LOOPLEDGER__V1__REVIEW__INIT;
    rv.cadence = LOOPLEDGER__V1__CADENCE__CADENCE_WEEKLY;
    rv.notes = "weekly";
    add(f, "reco", KIND(REVIEW), &rv, NULL, 0);
    add(f, "reco", KIND(REVIEW), &rv, NULL, 0); /* same week: one period */
    uint64_t end = ll_store_committed_size(f->st);

    /* Now: 3 weeks and a day after the charter -> 3 weekly periods, only
     * the first had a review: adherence 1/3. */
    const int64_t day = 86400LL * 1000000000LL;
    Loopledger__V1__GetLoopHealthRequest r = LOOPLEDGER__V1__GET_LOOP_HEALTH_REQUEST__INIT;
    r.initiative = "reco";
    r.now_unix_nanos = time_of(f, ch) + 22 * day;
    answer_t x = {.a = LL_ARENA_INIT};
    Loopledger__V1__GetLoopHealthResponse *resp;
    char msg[300];
    assert_int_equal(ll_store_begin_read(f->st, &x.t), LL_OK);
    assert_int_equal(ll_loophealth_query(x.t, &x.a, &r, 0, &resp, msg, sizeof msg), LL_OK);
    assert_int_equal(resp->n_initiatives, 1);
    const Loopledger__V1__LoopHealth *hh = resp->initiatives[0];
    /* Findings f1 f2 f3 f4 f5 f7 (gone is superseded): acted on f1 f2 f3 f5 = 4/6. */
    assert_int_equal(hh->findings, 6);
    assert_int_equal(hh->findings_acted_on, 4);
    NEAR(hh->acted_on_share, 4.0 / 6, 1e-15);
    /* Median of the two first-adjustment delays. */
    double d1 = (double)(time_of(f, a1) - time_of(f, f1)) / 1e9;
    double d5 = (double)(time_of(f, a5) - time_of(f, f5)) / 1e9;
    assert_int_equal(hh->findings_addressed, 2);
    NEAR(hh->median_finding_to_adjustment_seconds, (d1 + d5) / 2, 1e-9);
    assert_int_equal(hh->experiments, 3);
    assert_int_equal(hh->cycles, 1);
    NEAR(hh->experiments_per_cycle, 3, 0);
    assert_int_equal(hh->n_cadences, 1); /* post-campaign has no calendar */
    assert_int_equal(hh->cadences[0]->cadence, LOOPLEDGER__V1__CADENCE__CADENCE_WEEKLY);
    assert_int_equal(hh->cadences[0]->periods, 3);
    assert_int_equal(hh->cadences[0]->reviewed, 1);
    NEAR(hh->review_adherence, 1.0 / 3, 1e-15);
    assert_int_equal(hh->open_drift_alerts, 1);
    assert_int_equal(hh->open_drift_alert_seqs[0], open_drift);
    done(&x);

    /* As of before the diagnosing finding: both drift alerts were open. */
    r.as_of_size = f7;
    x.a = (ll_arena_t)LL_ARENA_INIT;
    assert_int_equal(ll_store_begin_read(f->st, &x.t), LL_OK);
    assert_int_equal(ll_loophealth_query(x.t, &x.a, &r, 0, &resp, msg, sizeof msg), LL_OK);
    assert_int_equal(resp->initiatives[0]->open_drift_alerts, 2);
    assert_int_equal(resp->initiatives[0]->findings, 5);
    done(&x);

    /* Every initiative; unknown initiative is NOT_FOUND. */
    charter(f, "bot", NULL, 0);
    r.initiative = "";
    r.as_of_size = end;
    x.a = (ll_arena_t)LL_ARENA_INIT;
    assert_int_equal(ll_store_begin_read(f->st, &x.t), LL_OK);
    assert_int_equal(ll_loophealth_query(x.t, &x.a, &r, 0, &resp, msg, sizeof msg), LL_OK);
    assert_int_equal(resp->n_initiatives, 1); /* "bot" started after that size */
    r.as_of_size = 0;
    assert_int_equal(ll_loophealth_query(x.t, &x.a, &r, 0, &resp, msg, sizeof msg), LL_OK);
    assert_int_equal(resp->n_initiatives, 2);
    assert_string_equal(resp->initiatives[0]->initiative, "bot");
    NEAR(resp->initiatives[0]->review_adherence, 1, 0);
    r.initiative = "nope";
    assert_int_equal(ll_loophealth_query(x.t, &x.a, &r, 0, &resp, msg, sizeof msg),
                     LL_ERR_NOT_FOUND);
    done(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_combine_hand_computed_cases),
        cmocka_unit_test_setup_teardown(test_evidence_classes_and_speculation_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refutation_lowers_confidence_until_superseded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decay_uses_the_as_of_time_and_half_life, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ties_break_by_seq_and_pages_are_stable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_past_answers_stay_the_same_after_appends, setup, teardown),
        cmocka_unit_test_setup_teardown(test_asof_at_latest_equals_live_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readout_of_the_seed_experiment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readout_pools_windows_and_skips_superseded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readout_welch_for_means_with_stddev, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loop_health_report, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
