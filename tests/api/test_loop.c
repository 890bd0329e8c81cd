/*
 * ll_loop: the closed loop's rules on append (a chartered initiative, the
 * link table, initiatives kept apart, diagnose before prescribing, tested
 * against a control before widening, corrections), through the real
 * ledger: each rule has an accepting and a rejecting case, and every
 * refusal leaves the log as it was.
 */
#include <time.h>
#include <unistd.h>

#include "../support/ll_testloop.h"
#include "ll_query.h"

static void test_domain_entries_need_a_chartered_initiative(void **state)
{
    fx_t *f = *state;
    Loopledger__V1__Hypothesis h = LOOPLEDGER__V1__HYPOTHESIS__INIT;
    h.statement = "x";
    refused(f, add(f, "reco", KIND(HYPOTHESIS), &h, NULL, 0), LL_ERR_PRECONDITION, "no charter");
    refused(f, add(f, "", KIND(HYPOTHESIS), &h, NULL, 0), LL_ERR_INVALID, "initiative");
    charter(f, "reco");
    OK(add(f, "reco", KIND(HYPOTHESIS), &h, NULL, 0));
}

static void test_link_table_allows_and_refuses(void **state)
{
    fx_t *f = *state;
    charter(f, "reco");
    uint64_t fi = OK(finding(f, "reco", 0, NULL, 0));
    /* Hypothesis DERIVED_FROM Finding is in the table... */
    uint64_t h = hypothesis(f, "reco", LINKS({REL(DERIVED_FROM), fi}));
    /* ...an Experiment that TESTS a Finding is not. */
    Loopledger__V1__Experiment e = experiment_msg();
    refused(f, add(f, "reco", KIND(EXPERIMENT), &e, LINKS({REL(TESTS), fi})),
            LL_ERR_PRECONDITION, "may not link tests a finding");
    OK(add(f, "reco", KIND(EXPERIMENT), &e, LINKS({REL(TESTS), h})));
    /* RELATES_TO is generic within an initiative. */
    OK(finding(f, "reco", 0, LINKS({REL(RELATES_TO), h})));
    /* Actor and genesis entries are not domain targets. */
    refused(f, finding(f, "reco", 0, LINKS({REL(RELATES_TO), 0})), LL_ERR_PRECONDITION,
            "genesis");
}

static void test_links_stay_within_an_initiative_except_spawned_projects(void **state)
{
    fx_t *f = *state;
    charter(f, "reco");
    charter(f, "chatbot");
    uint64_t h = hypothesis(f, "reco", NULL, 0);
    refused(f, finding(f, "chatbot", 0, LINKS({REL(SUPPORTS), h})), LL_ERR_PRECONDITION,
            "belongs to initiative \"reco\"");
    uint64_t fi = OK(finding(f, "reco", CONTENT_GAP, NULL, 0));
    /* A roadmap project may start a new initiative from another's finding. */
    Loopledger__V1__RoadmapProject p = LOOPLEDGER__V1__ROADMAP_PROJECT__INIT;
    p.title = "identify underperforming product content across the catalog";
    p.status = LOOPLEDGER__V1__PROJECT_STATUS__PROJECT_STATUS_PROPOSED;
    p.reach = 1000;
    p.impact = 2;
    p.effort = 3;
    OK(add(f, "catalog-content", KIND(ROADMAP_PROJECT), &p, LINKS({REL(SPAWNED_BY), fi})));
    ll_loop_state_t st;
    ll_txn_t *t;
    assert_int_equal(ll_store_begin_read(f->st, &t), LL_OK);
    assert_int_equal(ll_index_state(t, "catalog-content", &st), LL_OK);
    assert_int_equal(st.entries, 1);
    /* The finding it was spawned by counts as acted on. */
    assert_int_equal(ll_index_state(t, "reco", &st), LL_OK);
    assert_int_equal(st.open[LL_OPEN_FINDING_UNACTED], 0);
    ll_store_abort(t);
    /* But the new initiative needs a charter for other kinds. */
    Loopledger__V1__Hypothesis hx = LOOPLEDGER__V1__HYPOTHESIS__INIT;
    hx.statement = "y";
    refused(f, add(f, "catalog-content", KIND(HYPOTHESIS), &hx, NULL, 0), LL_ERR_PRECONDITION,
            "no charter");
}

static void test_adjustment_must_address_a_diagnosis(void **state)
{
    fx_t *f = *state;
    charter(f, "reco");
    uint64_t undiagnosed = OK(finding(f, "reco", 0, NULL, 0));
    refused(f, adjustment(f, "reco", LINKS({REL(ADDRESSES), undiagnosed})), LL_ERR_PRECONDITION,
            "diagnose before prescribing");
    refused(f, adjustment(f, "reco", NULL, 0), LL_ERR_PRECONDITION,
            "diagnose before prescribing");
    uint64_t diagnosed = OK(finding(f, "reco", CONTENT_GAP, NULL, 0));
    OK(adjustment(f, "reco", LINKS({REL(ADDRESSES), diagnosed})));

    /* An alert: refused until a finding diagnoses it. */
    uint64_t a = OK(alert(f, "reco", 0));
    refused(f, adjustment(f, "reco", LINKS({REL(ADDRESSES), a})), LL_ERR_PRECONDITION,
            "diagnose before prescribing");
    refused(f, finding(f, "reco", 0, LINKS({REL(DIAGNOSES), a})), LL_ERR_INVALID,
            "must state its diagnosis");
    OK(finding(f, "reco", LOOPLEDGER__V1__DIAGNOSIS__DIAGNOSIS_DATA_PATTERN_SHIFT,
               LINKS({REL(DIAGNOSES), a})));
    OK(adjustment(f, "reco", LINKS({REL(ADDRESSES), a})));
    /* An alert that knows its cause needs no finding. */
    uint64_t a2 = OK(alert(f, "reco", LOOPLEDGER__V1__DIAGNOSIS__DIAGNOSIS_INFRASTRUCTURE));
    OK(adjustment(f, "reco", LINKS({REL(ADDRESSES), a2})));
}

static void test_widening_rollout_needs_a_controlled_experiment_or_exception(void **state)
{
    fx_t *f = *state;
    charter(f, "reco");
    refused(f, deployment(f, "reco", 25, NULL, 0), LL_ERR_PRECONDITION,
            "tested against a control");
    OK(deployment(f, "reco", 10, NULL, 0)); /* the pilot */
    OK(deployment(f, "reco", 5, NULL, 0));  /* narrowing is always allowed */
    refused(f, deployment(f, "reco", 50, NULL, 0), LL_ERR_PRECONDITION,
            "tested against a control");

    uint64_t h = hypothesis(f, "reco", NULL, 0);
    Loopledger__V1__Experiment e = experiment_msg();
    uint64_t ex = OK(add(f, "reco", KIND(EXPERIMENT), &e, LINKS({REL(TESTS), h})));
    /* A running experiment is not evidence yet. */
    refused(f, deployment(f, "reco", 50, LINKS({REL(CITES), ex})), LL_ERR_PRECONDITION,
            "concluded experiment");
    OK(finding(f, "reco", 0, LINKS({REL(CONCLUDES), ex}, {REL(SUPPORTS), h})));
    OK(deployment(f, "reco", 50, LINKS({REL(CITES), ex})));

    /* Or an approved exception-handling decision by another actor with the
     * approver role; a rejected one, or one by the deployer, is not. */
    ll_key_t *dana;
    uint8_t pub[LL_PUBKEY_LEN];
    Loopledger__V1__Role approver[] = {LOOPLEDGER__V1__ROLE__ROLE_APPROVER};
    Loopledger__V1__ActorRegistration reg = LOOPLEDGER__V1__ACTOR_REGISTRATION__INIT;
    assert_int_equal(ll_key_generate(&dana), LL_OK);
    ll_key_public(dana, pub);
    reg.actor_id = "dana";
    reg.display_name = "Dana";
    reg.n_roles = 1;
    reg.roles = approver;
    reg.public_key.data = pub;
    reg.public_key.len = LL_PUBKEY_LEN;
    OK(add(f, "", KIND(ACTOR), &reg, NULL, 0));
    Loopledger__V1__Decision dx = LOOPLEDGER__V1__DECISION__INIT;
    dx.level = EXCEPTION;
    dx.outcome = REJECTED;
    dx.rationale = "no";
    uint64_t d1 = OK(add_signed(f, dana, "dana", "reco", KIND(DECISION), &dx, LINKS({REL(DECIDES), ex})));
    refused(f, deployment(f, "reco", 100, LINKS({REL(CITES), d1})), LL_ERR_PRECONDITION,
            "exception-handling decision");
    uint64_t own = OK(decision(f, "reco", EXCEPTION, APPROVED, LINKS({REL(DECIDES), ex})));
    refused(f, deployment(f, "reco", 100, LINKS({REL(CITES), own})), LL_ERR_PRECONDITION,
            "exception-handling decision");
    dx.outcome = APPROVED;
    dx.rationale = "market test";
    uint64_t d2 = OK(add_signed(f, dana, "dana", "reco", KIND(DECISION), &dx, LINKS({REL(DECIDES), ex})));
    ll_key_free(dana);
    OK(deployment(f, "reco", 100, LINKS({REL(CITES), d2})));
}

static void test_correction_supersedes_once_and_never_deletes(void **state)
{
    fx_t *f = *state;
    charter(f, "reco");
    uint64_t fi = OK(finding(f, "reco", 0, NULL, 0));
    Loopledger__V1__Correction c = LOOPLEDGER__V1__CORRECTION__INIT;
    refused(f, add(f, "reco", KIND(CORRECTION), &c, LINKS({REL(SUPERSEDES), fi})),
            LL_ERR_INVALID, "reason");
    c.reason = "wrong segment";
    refused(f, add(f, "reco", KIND(CORRECTION), &c, NULL, 0), LL_ERR_INVALID,
            "exactly one");
    uint64_t c1 = OK(add(f, "reco", KIND(CORRECTION), &c, LINKS({REL(SUPERSEDES), fi})));
    refused(f, add(f, "reco", KIND(CORRECTION), &c, LINKS({REL(SUPERSEDES), fi})),
            LL_ERR_PRECONDITION, "already superseded");
    OK(add(f, "reco", KIND(CORRECTION), &c, LINKS({REL(SUPERSEDES), c1})));

    ll_txn_t *t;
    ll_arena_t a = LL_ARENA_INIT;
    Loopledger__V1__EntryRef *ref;
    uint64_t by;
    assert_int_equal(ll_store_begin_read(f->st, &t), LL_OK);
    assert_int_equal(ll_index_superseded_by(t, fi, &by), LL_OK);
    assert_int_equal(by, c1);
    /* Still there, marked. */
    assert_int_equal(ll_query_ref(t, &a, fi, &ref), LL_OK);
    assert_true(ref->superseded);
    assert_int_equal(ref->superseded_by, c1);
    assert_string_equal(ref->summary, "high CTR, low conversion in home & garden");
    ll_arena_free(&a);
    ll_store_abort(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_domain_entries_need_a_chartered_initiative, setup, teardown),
        cmocka_unit_test_setup_teardown(test_link_table_allows_and_refuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_links_stay_within_an_initiative_except_spawned_projects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_adjustment_must_address_a_diagnosis, setup, teardown),
        cmocka_unit_test_setup_teardown(test_widening_rollout_needs_a_controlled_experiment_or_exception, setup, teardown),
        cmocka_unit_test_setup_teardown(test_correction_supersedes_once_and_never_deletes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
