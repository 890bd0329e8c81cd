/*
 * ll_initiative: GetInitiative's state follows the loop (stage, cycle,
 * counters, open lists), reviews become overdue by cadence, and scaling
 * plans list what they are missing. (As-of answers equal live ones byte
 * for byte: test_roadmap.c.)
 */
#include <time.h>
#include <unistd.h>

#include "../support/ll_testloop.h"
#include "ll_initiative.h"

static void test_initiative_state_follows_the_loop(void **state)
{
    fx_t *f = *state;
    ll_txn_t *t;
    ll_arena_t a = LL_ARENA_INIT;
    charter(f, "reco");
    OK(deployment(f, "reco", 10, NULL, 0));
    uint64_t fi = OK(finding(f, "reco", CONTENT_GAP, NULL, 0));
    uint64_t h = hypothesis(f, "reco", LINKS({REL(DERIVED_FROM), fi}));
    Loopledger__V1__Experiment e = experiment_msg();
    uint64_t ex = OK(add(f, "reco", KIND(EXPERIMENT), &e, LINKS({REL(TESTS), h})));
    uint64_t al = OK(alert(f, "reco", 0));

    Loopledger__V1__InitiativeState *s = state_of(f, &t, &a, "reco", 0);
    assert_string_equal(s->title, "Recommendation engine");
    assert_int_equal(s->phase, LOOPLEDGER__V1__PHASE__PHASE_PILOT);
    assert_int_equal(s->stage, LOOPLEDGER__V1__STAGE__STAGE_MEASURE); /* the alert */
    assert_int_equal(s->cycle, 0);
    assert_int_equal(s->open_hypotheses_count, 1);
    assert_int_equal(s->open_hypotheses[0]->seq, h);
    assert_int_equal(s->running_experiments_count, 1);
    assert_int_equal(s->running_experiments[0]->seq, ex);
    assert_int_equal(s->unacted_findings_count, 0); /* a hypothesis was derived from it */
    assert_int_equal(s->undiagnosed_alerts_count, 1);
    assert_int_equal(s->undiagnosed_alerts[0]->seq, al);
    assert_int_equal(s->max_rollout_percent, 10);
    ll_arena_free(&a);
    ll_store_abort(t);

    /* Conclude, adjust, approve, redeploy: one full turn. */
    uint64_t f2 = OK(finding(f, "reco", CONTENT_GAP, LINKS({REL(CONCLUDES), ex}, {REL(SUPPORTS), h})));
    uint64_t adj = OK(adjustment(f, "reco", LINKS({REL(ADDRESSES), f2})));
    s = state_of(f, &t, &a, "reco", 0);
    assert_int_equal(s->stage, LOOPLEDGER__V1__STAGE__STAGE_ADJUST);
    assert_int_equal(s->adjustments_awaiting_approval_count, 1);
    assert_int_equal(s->running_experiments_count, 0);
    assert_int_equal(s->open_hypotheses_count, 0);
    ll_arena_free(&a);
    ll_store_abort(t);
    OK(decision(f, "reco", REVIEW_APPROVAL, APPROVED, LINKS({REL(DECIDES), adj})));
    OK(deployment(f, "reco", 50, LINKS({REL(CITES), ex}, {REL(IMPLEMENTS), adj})));
    s = state_of(f, &t, &a, "reco", 0);
    assert_int_equal(s->cycle, 1);
    assert_int_equal(s->stage, LOOPLEDGER__V1__STAGE__STAGE_REDEPLOY);
    assert_int_equal(s->adjustments_awaiting_approval_count, 0);
    assert_int_equal(s->max_rollout_percent, 50);
    ll_arena_free(&a);
    ll_store_abort(t);
}

static void test_reviews_overdue_by_cadence(void **state)
{
    fx_t *f = *state;
    ll_txn_t *t;
    ll_arena_t a = LL_ARENA_INIT;
    Loopledger__V1__Cadence cad[] = {LOOPLEDGER__V1__CADENCE__CADENCE_WEEKLY};
    Loopledger__V1__Initiative c = charter_msg("chatbot");
    c.n_review_cadences = 1;
    c.review_cadences = cad;
    OK(add(f, "bot", KIND(CHARTER), &c, NULL, 0));
    const int64_t day = 86400LL * 1000000000LL;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    Loopledger__V1__InitiativeState *s = state_of(f, &t, &a, "bot", now + 6 * day);
    assert_int_equal(s->n_overdue_reviews, 0);
    ll_arena_free(&a);
    ll_store_abort(t);
    s = state_of(f, &t, &a, "bot", now + 8 * day);
    assert_int_equal(s->n_overdue_reviews, 1);
    assert_int_equal(s->overdue_reviews[0]->cadence, LOOPLEDGER__V1__CADENCE__CADENCE_WEEKLY);
    assert_int_equal(s->overdue_reviews[0]->last_review_unix_nanos, 0);
    ll_arena_free(&a);
    ll_store_abort(t);
    Loopledger__V1__Review r = LOOPLEDGER__V1__REVIEW__INIT;
    r.cadence = LOOPLEDGER__V1__CADENCE__CADENCE_WEEKLY;
    r.notes = "weekly dashboard review";
    OK(add(f, "bot", KIND(REVIEW), &r, NULL, 0));
    s = state_of(f, &t, &a, "bot", now + 6 * day);
    assert_int_equal(s->n_overdue_reviews, 0);
    ll_arena_free(&a);
    ll_store_abort(t);
}

static void test_scaling_plan_readiness_lists_what_is_missing(void **state)
{
    fx_t *f = *state;
    ll_txn_t *t;
    ll_arena_t a = LL_ARENA_INIT;
    charter(f, "reco");
    Loopledger__V1__ChangeManagement cm = LOOPLEDGER__V1__CHANGE_MANAGEMENT__INIT;
    cm.communication = "all-hands";
    cm.training = "workshops";
    cm.champions = "merchandisers";
    cm.listening = "office hours";
    cm.phased_rollout = "10/50/100";
    Loopledger__V1__ScalingConsiderations cons = LOOPLEDGER__V1__SCALING_CONSIDERATIONS__INIT;
    cons.data_infrastructure = "feature store capacity doubled";
    cons.technical_resources = "2 ML engineers";
    cons.change_management = &cm;
    cons.system_interdependencies = "search ranking";
    Loopledger__V1__ScalingPlan p = LOOPLEDGER__V1__SCALING_PLAN__INIT;
    p.scenario = LOOPLEDGER__V1__SCALING_SCENARIO__SCALING_SCENARIO_CATEGORY_EXPANSION;
    p.from_scope = "home & garden";
    p.to_scope = "all categories";
    p.considerations = &cons;
    OK(add(f, "reco", KIND(SCALING_PLAN), &p, NULL, 0));
    Loopledger__V1__InitiativeState *s = state_of(f, &t, &a, "reco", 0);
    assert_int_equal(s->n_scaling_plans, 1);
    Loopledger__V1__ScalingReadiness *r = s->scaling_plans[0];
    assert_false(r->ready);
    assert_int_equal(r->required, 7);
    assert_int_equal(r->addressed, 4);
    assert_int_equal(r->n_missing, 3);
    assert_string_equal(r->missing[0], "budget_roi");
    assert_string_equal(r->missing[1], "phases");
    assert_string_equal(r->missing[2], "risk_mitigations");
    ll_arena_free(&a);
    ll_store_abort(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_initiative_state_follows_the_loop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reviews_overdue_by_cadence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scaling_plan_readiness_lists_what_is_missing, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
