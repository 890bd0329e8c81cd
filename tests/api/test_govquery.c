/*
 * ll_govquery: pending approvals follow the approvals counted so far and
 * disappear when the entry takes effect; the decision history names each
 * decision's decided entries and filters by approver; an actor's history
 * has its roles, its key and the governance entries about it; bad requests
 * are INVALID_ARGUMENT or NOT_FOUND with a message.
 */
#include "../support/ll_testloop.h"
#include "ll_govquery.h"

typedef struct people {
    ll_key_t *ana, *paula, *quinn;
    uint64_t paula_reg;
} people_t;

static uint64_t reg(fx_t *f, const char *id, const ll_key_t *key, int role)
{
    uint8_t pub[LL_PUBKEY_LEN];
    Loopledger__V1__Role roles[1] = {(Loopledger__V1__Role)role};
    Loopledger__V1__ActorRegistration a = LOOPLEDGER__V1__ACTOR_REGISTRATION__INIT;
    ll_key_public(key, pub);
    a.actor_id = (char *)id;
    a.display_name = (char *)id;
    a.n_roles = 1;
    a.roles = roles;
    a.public_key.data = pub;
    a.public_key.len = LL_PUBKEY_LEN;
    return OK(add(f, "", KIND(ACTOR), &a, NULL, 0));
}

/* A charter, ana's diagnosed finding, a policy (adjustments need two
 * review-and-approval decisions) and ana's adjustment it holds pending;
 * returns the adjustment's seq. */
static uint64_t pending_adjustment(fx_t *f, people_t *p)
{
    assert_int_equal(ll_key_generate(&p->ana), LL_OK);
    assert_int_equal(ll_key_generate(&p->paula), LL_OK);
    assert_int_equal(ll_key_generate(&p->quinn), LL_OK);
    reg(f, "ana", p->ana, LOOPLEDGER__V1__ROLE__ROLE_CONTRIBUTOR);
    p->paula_reg = reg(f, "paula", p->paula, LOOPLEDGER__V1__ROLE__ROLE_APPROVER);
    reg(f, "quinn", p->quinn, LOOPLEDGER__V1__ROLE__ROLE_APPROVER);
    charter(f, "reco");
    Loopledger__V1__Finding fm = finding_msg(CONTENT_GAP);
    uint64_t fs = OK(add_signed(f, p->ana, "ana", "reco", KIND(FINDING), &fm, NULL, 0));
    Loopledger__V1__Kind kinds[1] = {(Loopledger__V1__Kind)KIND(ADJUSTMENT)};
    Loopledger__V1__Policy pol = LOOPLEDGER__V1__POLICY__INIT;
    pol.name = "two approvals for adjustments";
    pol.n_kinds = 1;
    pol.kinds = kinds;
    pol.level = REVIEW_APPROVAL;
    pol.approvals = 2;
    OK(add(f, "", KIND(POLICY), &pol, NULL, 0));
    Loopledger__V1__Adjustment adj = LOOPLEDGER__V1__ADJUSTMENT__INIT;
    adj.category = LOOPLEDGER__V1__REFINEMENT__REFINEMENT_STRATEGIC_APPROACH;
    adj.change = "prioritise AI-assisted content";
    return OK(add_signed(f, p->ana, "ana", "reco", KIND(ADJUSTMENT), &adj,
                         LINKS({REL(ADDRESSES), fs})));
}

static uint64_t approve(fx_t *f, const ll_key_t *key, const char *who, uint64_t target)
{
    Loopledger__V1__Decision d = LOOPLEDGER__V1__DECISION__INIT;
    d.level = REVIEW_APPROVAL;
    d.outcome = APPROVED;
    d.rationale = "evidence holds";
    return OK(add_signed(f, key, who, "reco", KIND(DECISION), &d, LINKS({REL(DECIDES), target})));
}

static Loopledger__V1__PendingApprovalsResponse *pending(ll_txn_t *txn, ll_arena_t *a)
{
    Loopledger__V1__PendingApprovalsRequest r = LOOPLEDGER__V1__PENDING_APPROVALS_REQUEST__INIT;
    Loopledger__V1__PendingApprovalsResponse *out;
    char msg[LL_MSG_MAX];
    r.initiative = "reco";
    if (ll_govquery_pending(txn, a, &r, &out, msg, sizeof msg))
        fail_msg("%s", msg);
    return out;
}

static void free_people(people_t *p)
{
    ll_key_free(p->ana);
    ll_key_free(p->paula);
    ll_key_free(p->quinn);
}

static void test_pending_follows_approvals_until_effective(void **state)
{
    fx_t *f = *state;
    people_t p;
    ll_txn_t *txn;
    ll_arena_t arena = LL_ARENA_INIT, *a = &arena;
    uint64_t adj = pending_adjustment(f, &p);

    assert_int_equal(ll_store_begin_read(f->st, &txn), LL_OK);
    Loopledger__V1__PendingApprovalsResponse *r = pending(txn, a);
    assert_int_equal(r->n_pending, 1);
    assert_int_equal(r->pending[0]->entry->seq, adj);
    assert_int_equal(r->pending[0]->approvals_required, 2);
    assert_int_equal(r->pending[0]->n_approved_by, 0);
    assert_string_equal(r->pending[0]->policy_name, "two approvals for adjustments");
    ll_store_abort(txn);

    approve(f, p.paula, "paula", adj);
    assert_int_equal(ll_store_begin_read(f->st, &txn), LL_OK);
    r = pending(txn, a);
    assert_int_equal(r->n_pending, 1);
    assert_int_equal(r->pending[0]->n_approved_by, 1);
    assert_string_equal(r->pending[0]->approved_by[0], "paula");
    ll_store_abort(txn);

    approve(f, p.quinn, "quinn", adj);
    assert_int_equal(ll_store_begin_read(f->st, &txn), LL_OK);
    r = pending(txn, a);
    assert_int_equal(r->n_pending, 0);
    ll_store_abort(txn);
    ll_arena_free(&arena);
    free_people(&p);
}

static void test_decision_history_by_approver(void **state)
{
    fx_t *f = *state;
    people_t p;
    ll_txn_t *txn;
    ll_arena_t arena = LL_ARENA_INIT, *a = &arena;
    char msg[LL_MSG_MAX];
    uint64_t adj = pending_adjustment(f, &p);
    uint64_t d1 = approve(f, p.paula, "paula", adj);
    approve(f, p.quinn, "quinn", adj);

    Loopledger__V1__DecisionHistoryRequest r = LOOPLEDGER__V1__DECISION_HISTORY_REQUEST__INIT;
    Loopledger__V1__DecisionHistoryResponse *out;
    r.approver = "paula";
    r.evidence_hops = 1;
    assert_int_equal(ll_store_begin_read(f->st, &txn), LL_OK);
    if (ll_govquery_decisions(txn, a, &r, &out, msg, sizeof msg))
        fail_msg("%s", msg);
    assert_int_equal(out->n_decisions, 1);
    assert_int_equal(out->decisions[0]->decision->seq, d1);
    assert_int_equal(out->decisions[0]->n_decided, 1);
    assert_int_equal(out->decisions[0]->decided[0]->entry->seq, adj);
    /* The adjustment rests on the finding it addresses. */
    assert_true(out->decisions[0]->decided[0]->n_evidence >= 1);

    r.approver = "";
    r.initiative = "reco";
    if (ll_govquery_decisions(txn, a, &r, &out, msg, sizeof msg))
        fail_msg("%s", msg);
    assert_int_equal(out->n_decisions, 2);

    r.evidence_hops = 6;
    assert_int_equal(ll_govquery_decisions(txn, a, &r, &out, msg, sizeof msg), LL_ERR_INVALID);
    assert_non_null(strstr(msg, "evidence_hops"));
    ll_store_abort(txn);
    ll_arena_free(&arena);
    free_people(&p);
}

static void test_actor_history_and_bad_requests(void **state)
{
    fx_t *f = *state;
    people_t p;
    ll_txn_t *txn;
    ll_arena_t arena = LL_ARENA_INIT, *a = &arena;
    char msg[LL_MSG_MAX];
    uint64_t adj = pending_adjustment(f, &p);
    approve(f, p.paula, "paula", adj);

    Loopledger__V1__ActorHistoryRequest r = LOOPLEDGER__V1__ACTOR_HISTORY_REQUEST__INIT;
    Loopledger__V1__ActorHistoryResponse *out;
    r.actor_id = "paula";
    assert_int_equal(ll_store_begin_read(f->st, &txn), LL_OK);
    if (ll_govquery_actor(txn, a, &r, &out, msg, sizeof msg))
        fail_msg("%s", msg);
    assert_string_equal(out->actor_id, "paula");
    assert_int_equal(out->n_roles, 1);
    assert_int_equal(out->roles[0], LOOPLEDGER__V1__ROLE__ROLE_APPROVER);
    assert_int_equal(out->n_keys, 1);
    assert_int_equal(out->keys[0]->registered_seq, p.paula_reg);
    assert_int_equal(out->keys[0]->revoked_unix_nanos, 0);
    assert_true(out->n_governance >= 1);
    assert_int_equal(out->governance[0]->seq, p.paula_reg);
    assert_int_equal(out->authored_count, 1); /* her decision */

    r.actor_id = "nobody";
    assert_int_equal(ll_govquery_actor(txn, a, &r, &out, msg, sizeof msg), LL_ERR_NOT_FOUND);
    assert_non_null(strstr(msg, "nobody"));
    r.actor_id = "";
    assert_int_equal(ll_govquery_actor(txn, a, &r, &out, msg, sizeof msg), LL_ERR_INVALID);
    ll_store_abort(txn);
    ll_arena_free(&arena);
    free_people(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pending_follows_approvals_until_effective, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_decision_history_by_approver, setup, teardown),
        cmocka_unit_test_setup_teardown(test_actor_history_and_bad_requests, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
