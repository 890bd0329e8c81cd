/*
 * ll_lineage: GetLineage walks typed links back and forward to a depth,
 * with every edge's relation.
 */
#include <time.h>
#include <unistd.h>

#include "../support/ll_testloop.h"
#include "ll_lineage.h"

static void test_lineage_walks_back_and_forward(void **state)
{
    fx_t *f = *state;
    charter(f, "reco");
    uint64_t f1 = OK(finding(f, "reco", CONTENT_GAP, NULL, 0));
    uint64_t h = hypothesis(f, "reco", LINKS({REL(DERIVED_FROM), f1}));
    Loopledger__V1__Experiment e = experiment_msg();
    uint64_t ex = OK(add(f, "reco", KIND(EXPERIMENT), &e, LINKS({REL(TESTS), h})));
    uint64_t f2 = OK(finding(f, "reco", CONTENT_GAP, LINKS({REL(CONCLUDES), ex}, {REL(SUPPORTS), h})));
    Loopledger__V1__RoadmapProject p = LOOPLEDGER__V1__ROADMAP_PROJECT__INIT;
    p.title = "catalog content audit";
    p.status = LOOPLEDGER__V1__PROJECT_STATUS__PROJECT_STATUS_PROPOSED;
    p.effort = 2;
    uint64_t rp = OK(add(f, "catalog", KIND(ROADMAP_PROJECT), &p, LINKS({REL(SPAWNED_BY), f2})));

    ll_txn_t *t;
    ll_arena_t a = LL_ARENA_INIT;
    Loopledger__V1__Lineage *L;
    char msg[256];
    Loopledger__V1__GetLineageRequest r = LOOPLEDGER__V1__GET_LINEAGE_REQUEST__INIT;
    r.seq = rp;
    r.back_hops = 5;
    assert_int_equal(ll_store_begin_read(f->st, &t), LL_OK);
    assert_int_equal(ll_lineage_get(t, &a, &r, &L, msg, sizeof msg), LL_OK);
    /* project -> f2 -> {experiment, hypothesis} -> f1 */
    uint64_t want[] = {f1, h, ex, f2, rp};
    assert_int_equal(L->n_nodes, 5);
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(L->nodes[i]->seq, want[i]);
    assert_false(L->truncated);
    int saw_tests = 0;
    for (size_t i = 0; i < L->n_edges; i++)
        saw_tests |= L->edges[i]->source == ex && L->edges[i]->target == h &&
                     L->edges[i]->relation == REL(TESTS);
    assert_true(saw_tests);
    ll_arena_free(&a);

    /* One hop back only. */
    r.back_hops = 1;
    assert_int_equal(ll_lineage_get(t, &a, &r, &L, msg, sizeof msg), LL_OK);
    assert_int_equal(L->n_nodes, 2);
    ll_arena_free(&a);

    /* Forward from the first finding: everything that rests on it. */
    r.seq = f1;
    r.back_hops = 0;
    r.forward_hops = 5;
    assert_int_equal(ll_lineage_get(t, &a, &r, &L, msg, sizeof msg), LL_OK);
    assert_int_equal(L->n_nodes, 5);
    assert_int_equal(L->nodes[4]->seq, rp);
    ll_arena_free(&a);

    /* max_nodes truncates. */
    r.max_nodes = 3;
    assert_int_equal(ll_lineage_get(t, &a, &r, &L, msg, sizeof msg), LL_OK);
    assert_int_equal(L->n_nodes, 3);
    assert_true(L->truncated);
    ll_arena_free(&a);
    /* Truncation keeps edges between returned nodes only (a note linking
     * eight entries, two nodes allowed: one edge). */
    ll_store_abort(t);
    Loopledger__V1__Note nt = LOOPLEDGER__V1__NOTE__INIT;
    nt.text = "see also";
    lk_t many[8];
    for (int i = 0; i < 8; i++) {
        uint64_t tgt = OK(add(f, "reco", KIND(NOTE), &nt, NULL, 0));
        many[i] = (lk_t){REL(RELATES_TO), tgt};
    }
    uint64_t hub = OK(add(f, "reco", KIND(NOTE), &nt, many, 8));
    assert_int_equal(ll_store_begin_read(f->st, &t), LL_OK);
    r.seq = hub;
    r.back_hops = 1;
    r.forward_hops = 0;
    r.max_nodes = 2;
    assert_int_equal(ll_lineage_get(t, &a, &r, &L, msg, sizeof msg), LL_OK);
    assert_int_equal(L->n_nodes, 2);
    assert_int_equal(L->n_edges, 1);
    assert_true(L->truncated);
    assert_int_equal(L->edges[0]->source, hub);
    assert_int_equal(L->edges[0]->target, L->nodes[0]->seq);
    ll_arena_free(&a);
    r.max_nodes = 0;
    r.seq = 9999;
    assert_int_equal(ll_lineage_get(t, &a, &r, &L, msg, sizeof msg), LL_ERR_NOT_FOUND);
    ll_arena_free(&a);
    ll_store_abort(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lineage_walks_back_and_forward, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
