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
#include "ll_loophealth.h"
#include "ll_query.h"

/* Open items of "reco" as each query sees them, at size n (0: live). */
typedef struct open_view {
    uint64_t unacted, unresolved, untested, running, undiagnosed;
} open_view_t;

static open_view_t view_initiative(fx_t *f, uint64_t n)
{
    ll_txn_t *t;
    ll_arena_t a = LL_ARENA_INIT;
    Loopledger__V1__GetInitiativeRequest r = LOOPLEDGER__V1__GET_INITIATIVE_REQUEST__INIT;
    Loopledger__V1__InitiativeState *s;
    ll_loop_state_t st;
    char msg[256];
    open_view_t v;
    r.initiative = "reco";
    r.as_of_size = n;
    assert_int_equal(ll_store_begin_read(f->st, &t), LL_OK);
    int err = n ? ll_initiative_get_as_of(t, &a, &r, 0, &s, msg, sizeof msg)
                : ll_initiative_get(t, &a, &r, 0, &s, msg, sizeof msg);
    if (err)
        fail_msg("%s", msg);
    v.unacted = s->unacted_findings_count;
    v.unresolved = s->open_hypotheses_count;
    v.running = s->running_experiments_count;
    v.undiagnosed = s->undiagnosed_alerts_count;
    assert_int_equal(s->n_unacted_findings, v.unacted);
    if (n)
        assert_int_equal(ll_initiative_state_as_of(t, "reco", n, &st), LL_OK);
    else
        assert_int_equal(ll_index_state(t, "reco", &st), LL_OK);
    v.untested = st.open[LL_OPEN_HYPOTHESIS_UNTESTED];
    ll_arena_free(&a);
    ll_store_abort(t);
    return v;
}

static open_view_t view_list(fx_t *f)
{
    ll_txn_t *t;
    ll_arena_t a = LL_ARENA_INIT;
    Loopledger__V1__ListOpenLoopsRequest r = LOOPLEDGER__V1__LIST_OPEN_LOOPS_REQUEST__INIT;
    Loopledger__V1__ListOpenLoopsResponse *resp;
    char msg[256];
    open_view_t v = {0};
    r.initiative = "reco";
    assert_int_equal(ll_store_begin_read(f->st, &t), LL_OK);
    assert_int_equal(ll_query_open_loops(t, &a, &r, &resp, msg, sizeof msg), LL_OK);
    for (size_t i = 0; i < resp->n_loops; i++) {
        assert_false(resp->loops[i]->entry->superseded); /* never listed */
        switch ((int)resp->loops[i]->kind) {
        case LL_OPEN_FINDING_UNACTED: v.unacted++; break;
        case LL_OPEN_HYPOTHESIS_UNTESTED: v.untested++; break;
        case LL_OPEN_EXPERIMENT_RUNNING: v.running++; break;
        case LL_OPEN_ALERT_UNDIAGNOSED: v.undiagnosed++; break;
        default: fail_msg("unexpected open-loop kind %d", resp->loops[i]->kind);
        }
    }
    ll_arena_free(&a);
    ll_store_abort(t);
    return v;
}

/* Loop health as of n: unacted findings and open drift alerts. */
static void health_agrees(fx_t *f, uint64_t n, const open_view_t *v)
{
    ll_txn_t *t;
    ll_arena_t a = LL_ARENA_INIT;
    Loopledger__V1__GetLoopHealthRequest r = LOOPLEDGER__V1__GET_LOOP_HEALTH_REQUEST__INIT;
    Loopledger__V1__GetLoopHealthResponse *resp;
    char msg[256];
    r.initiative = "reco";
    r.as_of_size = n;
    assert_int_equal(ll_store_begin_read(f->st, &t), LL_OK);
    assert_int_equal(ll_loophealth_query(t, &a, &r, 1, &resp, msg, sizeof msg), LL_OK);
    assert_int_equal(resp->n_initiatives, 1);
    const Loopledger__V1__LoopHealth *h = resp->initiatives[0];
    assert_int_equal(h->findings - h->findings_acted_on, v->unacted);
    assert_int_equal(h->open_drift_alerts, v->undiagnosed);
    ll_arena_free(&a);
    ll_store_abort(t);
}

/* Issue 11 item 4: one meaning of "open" (a superseded entry is not open;
 * its correction stands in for it). ListOpenLoops, GetInitiative (live and
 * as of every size) and GetLoopHealth agree on a ledger with every kind of
 * open item, some of them superseded. */
static void test_open_means_the_same_everywhere(void **state)
{
    fx_t *f = *state;
    Loopledger__V1__Correction c = LOOPLEDGER__V1__CORRECTION__INIT;
    Loopledger__V1__Alert al = LOOPLEDGER__V1__ALERT__INIT;
    Loopledger__V1__Experiment e = experiment_msg();
    c.reason = "recorded against the wrong segment";
    al.metric = "ctr";
    al.detector = LOOPLEDGER__V1__DETECTOR__DETECTOR_DRIFT;
    uint64_t start = ll_store_committed_size(f->st) + 1;
    charter(f, "reco");
    uint64_t f1 = OK(finding(f, "reco", CONTENT_GAP, NULL, 0));
    uint64_t f2 = OK(finding(f, "reco", CONTENT_GAP, NULL, 0));
    OK(finding(f, "reco", CONTENT_GAP, NULL, 0));
    uint64_t h1 = hypothesis(f, "reco", NULL, 0);
    uint64_t h2 = hypothesis(f, "reco", NULL, 0);
    uint64_t x1 = OK(add(f, "reco", KIND(EXPERIMENT), &e, LINKS({REL(TESTS), h1})));
    OK(add(f, "reco", KIND(EXPERIMENT), &e, LINKS({REL(TESTS), h1})));
    uint64_t a1 = OK(add(f, "reco", KIND(ALERT), &al, NULL, 0));
    OK(add(f, "reco", KIND(ALERT), &al, NULL, 0));
    OK(adjustment(f, "reco", LINKS({REL(ADDRESSES), f2})));
    /* One of each kind superseded; the correction of a finding is itself
     * corrected: still not open. */
    uint64_t c1 = OK(add(f, "reco", KIND(CORRECTION), &c, LINKS({REL(SUPERSEDES), f1})));
    OK(add(f, "reco", KIND(CORRECTION), &c, LINKS({REL(SUPERSEDES), h2})));
    OK(add(f, "reco", KIND(CORRECTION), &c, LINKS({REL(SUPERSEDES), x1})));
    OK(add(f, "reco", KIND(CORRECTION), &c, LINKS({REL(SUPERSEDES), a1})));
    OK(add(f, "reco", KIND(CORRECTION), &c, LINKS({REL(SUPERSEDES), c1})));

    open_view_t live = view_initiative(f, 0), list = view_list(f);
    assert_int_equal(live.unacted, 1);     /* f3 (f1 superseded, f2 addressed) */
    assert_int_equal(live.unresolved, 1);  /* h1 (h2 superseded) */
    assert_int_equal(live.untested, 0);    /* h1 tested, h2 superseded */
    assert_int_equal(live.running, 1);     /* the second experiment */
    assert_int_equal(live.undiagnosed, 1); /* the second alert */
    assert_int_equal(list.unacted, live.unacted);
    assert_int_equal(list.untested, live.untested);
    assert_int_equal(list.running, live.running);
    assert_int_equal(list.undiagnosed, live.undiagnosed);
    uint64_t size = ll_store_committed_size(f->st);
    for (uint64_t n = start; n <= size; n++) {
        open_view_t past = view_initiative(f, n);
        health_agrees(f, n, &past);
        if (n == size)
            assert_memory_equal(&past, &live, sizeof past);
    }
}

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
    /* No policy holds it: in effect at once, awaiting nothing. */
    assert_int_equal(s->adjustments_awaiting_approval_count, 0);
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
        cmocka_unit_test_setup_teardown(test_open_means_the_same_everywhere, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
