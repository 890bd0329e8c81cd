/*
 * ll_query: ListOpenLoops across initiatives and pages, and ListEntries
 * filters answered from the indexes.
 */
#include <time.h>
#include <unistd.h>

#include "../support/ll_testloop.h"
#include "ll_query.h"

static void test_open_loops_across_initiatives_and_pages(void **state)
{
    fx_t *f = *state;
    charter(f, "a");
    charter(f, "b");
    uint64_t fa = OK(finding(f, "a", 0, NULL, 0));
    uint64_t fb = OK(finding(f, "b", 0, NULL, 0));
    uint64_t hb = hypothesis(f, "b", NULL, 0);
    uint64_t al = OK(alert(f, "a", 0));

    ll_txn_t *t;
    ll_arena_t a = LL_ARENA_INIT;
    Loopledger__V1__ListOpenLoopsResponse *resp;
    char msg[256];
    Loopledger__V1__ListOpenLoopsRequest r = LOOPLEDGER__V1__LIST_OPEN_LOOPS_REQUEST__INIT;
    assert_int_equal(ll_store_begin_read(f->st, &t), LL_OK);
    assert_int_equal(ll_query_open_loops(t, &a, &r, &resp, msg, sizeof msg), LL_OK);
    assert_int_equal(resp->n_loops, 4);
    assert_int_equal(resp->loops[0]->entry->seq, fa); /* findings first, by initiative */
    assert_int_equal(resp->loops[1]->entry->seq, fb);
    assert_int_equal(resp->loops[2]->entry->seq, hb);
    assert_int_equal(resp->loops[3]->entry->seq, al);
    assert_int_equal(resp->loops[3]->kind, LOOPLEDGER__V1__OPEN_LOOP_KIND__OPEN_LOOP_ALERT_NOT_DIAGNOSED);
    ll_arena_free(&a);

    /* Pages of one, resumed by token, see the same four. */
    r.page_size = 1;
    uint64_t seen[4];
    char token[600] = "";
    for (int i = 0; i < 4; i++) {
        r.page_token = token;
        assert_int_equal(ll_query_open_loops(t, &a, &r, &resp, msg, sizeof msg), LL_OK);
        assert_int_equal(resp->n_loops, 1);
        seen[i] = resp->loops[0]->entry->seq;
        snprintf(token, sizeof token, "%s", resp->next_page_token);
        ll_arena_free(&a);
        if (i < 3)
            assert_true(token[0]);
    }
    assert_false(token[0]);
    assert_int_equal(seen[0], fa);
    assert_int_equal(seen[3], al);

    /* Filters. */
    r.page_size = 0;
    r.page_token = "";
    r.initiative = "b";
    assert_int_equal(ll_query_open_loops(t, &a, &r, &resp, msg, sizeof msg), LL_OK);
    assert_int_equal(resp->n_loops, 2);
    ll_arena_free(&a);
    r.initiative = "";
    r.kind = LOOPLEDGER__V1__OPEN_LOOP_KIND__OPEN_LOOP_HYPOTHESIS_NOT_TESTED;
    assert_int_equal(ll_query_open_loops(t, &a, &r, &resp, msg, sizeof msg), LL_OK);
    assert_int_equal(resp->n_loops, 1);
    assert_int_equal(resp->loops[0]->entry->seq, hb);
    ll_arena_free(&a);
    r.page_token = "zz";
    assert_int_equal(ll_query_open_loops(t, &a, &r, &resp, msg, sizeof msg), LL_ERR_INVALID);
    ll_arena_free(&a);
    ll_store_abort(t);

    /* Closing loops removes them. */
    Loopledger__V1__Experiment e = experiment_msg();
    OK(add(f, "b", KIND(EXPERIMENT), &e, LINKS({REL(TESTS), hb})));
    refused(f, adjustment(f, "a", LINKS({REL(ADDRESSES), al})), LL_ERR_PRECONDITION,
            "diagnose before prescribing");
    uint64_t diag = OK(finding(f, "a", CONTENT_GAP, LINKS({REL(DIAGNOSES), al})));
    r.kind = 0;
    r.page_token = "";
    assert_int_equal(ll_store_begin_read(f->st, &t), LL_OK);
    assert_int_equal(ll_query_open_loops(t, &a, &r, &resp, msg, sizeof msg), LL_OK);
    /* findings fa, diag (initiative a), fb; the new, unconcluded experiment */
    assert_int_equal(resp->n_loops, 4);
    assert_int_equal(resp->loops[1]->entry->seq, diag);
    for (size_t i = 0; i < resp->n_loops; i++) {
        assert_int_not_equal(resp->loops[i]->entry->seq, hb);
        assert_int_not_equal(resp->loops[i]->entry->seq, al);
    }
    ll_arena_free(&a);
    ll_store_abort(t);
}

static void test_list_filters_use_indexes(void **state)
{
    fx_t *f = *state;
    charter(f, "a");
    charter(f, "b");
    uint64_t fa = OK(finding(f, "a", 0, NULL, 0));
    OK(finding(f, "b", 0, NULL, 0));
    uint64_t ha = hypothesis(f, "a", NULL, 0);
    ll_txn_t *t;
    uint64_t seqs[16], next;
    size_t n;
    char msg[256];
    Loopledger__V1__ListEntriesRequest r = LOOPLEDGER__V1__LIST_ENTRIES_REQUEST__INIT;
    assert_int_equal(ll_store_begin_read(f->st, &t), LL_OK);
    uint64_t size = ll_store_size(t);
    r.initiative = "a";
    assert_int_equal(ll_query_list(t, &r, 0, size, 16, seqs, &n, &next, msg, sizeof msg), LL_OK);
    assert_int_equal(n, 3); /* charter, finding, hypothesis */
    r.kind = (Loopledger__V1__Kind)KIND(FINDING);
    assert_int_equal(ll_query_list(t, &r, 0, size, 16, seqs, &n, &next, msg, sizeof msg), LL_OK);
    assert_int_equal(n, 1);
    assert_int_equal(seqs[0], fa);
    r.initiative = "";
    assert_int_equal(ll_query_list(t, &r, 0, size, 1, seqs, &n, &next, msg, sizeof msg), LL_OK);
    assert_int_equal(n, 1);
    assert_int_equal(next, fa + 1); /* more findings follow */
    r.kind = 0;
    r.author = "loopledgerd";
    assert_int_equal(ll_query_list(t, &r, 0, size, 16, seqs, &n, &next, msg, sizeof msg), LL_OK);
    assert_int_equal(n, 1);
    assert_int_equal(seqs[0], 0);
    assert_int_equal(next, UINT64_MAX);
    /* Time range: server time increases with seq. */
    ll_entry_meta_t m;
    assert_int_equal(ll_index_meta(t, ha, &m), LL_OK);
    r.author = "";
    r.from_time_unix_nanos = m.time_ns;
    assert_int_equal(ll_query_list(t, &r, 0, size, 16, seqs, &n, &next, msg, sizeof msg), LL_OK);
    assert_int_equal(n, 1);
    assert_int_equal(seqs[0], ha);
    r.from_time_unix_nanos = 0;
    r.to_time_unix_nanos = m.time_ns;
    assert_int_equal(ll_query_list(t, &r, 0, size, 16, seqs, &n, &next, msg, sizeof msg), LL_OK);
    assert_int_equal(n, ha);
    r.to_time_unix_nanos = 0;
    r.kind = (Loopledger__V1__Kind)99;
    assert_int_equal(ll_query_list(t, &r, 0, size, 16, seqs, &n, &next, msg, sizeof msg),
                     LL_ERR_INVALID);
    ll_store_abort(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_loops_across_initiatives_and_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_filters_use_indexes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
