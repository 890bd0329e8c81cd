/*
 * ll_recvbudget: reads at once per lane, the budget handed to the oldest
 * waiter, lanes independent, stale reads handed back once, close.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "ll_err.h"
#include "ll_recvbudget.h"

static int held;
static ll_recvbudget_slot_t *held_slot;
static ll_recvbudget_slot_t s[5]; /* the calls' slots, zeroed by make() */

static void hold(ll_recvbudget_slot_t *s)
{
    held++;
    held_slot = s;
}

static ll_recvbudget_t *make(unsigned max_reads, long stale_ms)
{
    ll_recvbudget_t *b = NULL;
    held = 0;
    held_slot = NULL;
    memset(s, 0, sizeof s);
    assert_int_equal(ll_recvbudget_create(max_reads, stale_ms, hold, &b), LL_OK);
    return b;
}

/* Enters from[0], from[1], ... into lane, one per character of want: '1' must
 * be given the budget, '0' must wait, and none finds a stale read. */
static void enter_expect(ll_recvbudget_t *b, unsigned lane, ll_recvbudget_slot_t *from,
                         const char *want)
{
    for (size_t i = 0; want[i]; i++) {
        ll_recvbudget_slot_t *stale = NULL;
        assert_int_equal(ll_recvbudget_enter(b, lane, &from[i], &stale), want[i] - '0');
        assert_null(stale);
    }
}

static void test_budget_passes_to_the_oldest_waiter(void **state)
{
    (void)state;
    ll_recvbudget_t *b = make(2, 1000000);
    enter_expect(b, 0, s, "1100");
    assert_ptr_equal(ll_recvbudget_leave(b, 0, &s[1]), &s[2]);
    assert_ptr_equal(ll_recvbudget_leave(b, 0, &s[0]), &s[3]);
    /* A slot without the budget leaving changes nothing. */
    assert_null(ll_recvbudget_leave(b, 0, &s[1]));
    assert_null(ll_recvbudget_leave(b, 0, &s[2]));
    assert_null(ll_recvbudget_leave(b, 0, &s[3]));
    /* Both reads are free again. */
    enter_expect(b, 0, s, "11");
    assert_int_equal(held, 0);
    ll_recvbudget_free(b);
}

static void test_lanes_do_not_share_the_budget(void **state)
{
    (void)state;
    ll_recvbudget_t *b = make(1, 1000000);
    enter_expect(b, 1, s, "10");
    enter_expect(b, 0, &s[2], "1");
    assert_null(ll_recvbudget_leave(b, 0, &s[2]));
    assert_ptr_equal(ll_recvbudget_leave(b, 1, &s[0]), &s[1]);
    ll_recvbudget_free(b);
}

static void test_stale_read_is_handed_back_once(void **state)
{
    (void)state;
    /* stale_ms -1: every read counts as stale. */
    ll_recvbudget_t *b = make(1, -1);
    ll_recvbudget_slot_t *stale = NULL;
    enter_expect(b, 0, s, "1");
    assert_int_equal(ll_recvbudget_enter(b, 0, &s[1], &stale), 0);
    assert_ptr_equal(stale, &s[0]);
    assert_int_equal(held, 1);
    assert_ptr_equal(held_slot, &s[0]);
    enter_expect(b, 0, &s[2], "0");
    assert_int_equal(held, 1);
    /* The cancelled read ends as usual and hands its budget on. */
    assert_ptr_equal(ll_recvbudget_leave(b, 0, &s[0]), &s[1]);
    ll_recvbudget_free(b);
}

static void test_close_returns_the_waiters_and_refuses_more(void **state)
{
    (void)state;
    ll_recvbudget_t *b = make(1, 1000000);
    ll_recvbudget_slot_t *stale = NULL;
    enter_expect(b, 0, &s[0], "1");
    enter_expect(b, 1, &s[1], "10");
    enter_expect(b, 0, &s[3], "0");
    enter_expect(b, 1, &s[4], "0");
    ll_recvbudget_slot_t *w = ll_recvbudget_close(b);
    /* Lane 0 first, then lane 1, each oldest first. */
    assert_ptr_equal(w, &s[3]);
    assert_ptr_equal(w->next, &s[2]);
    assert_ptr_equal(w->next->next, &s[4]);
    assert_null(w->next->next->next);
    assert_int_equal(ll_recvbudget_enter(b, 0, &s[3], &stale), LL_ERR_UNAVAILABLE);
    /* Reads in progress end normally; nobody waits any more. */
    assert_null(ll_recvbudget_leave(b, 0, &s[0]));
    assert_null(ll_recvbudget_leave(b, 1, &s[1]));
    assert_null(ll_recvbudget_close(b));
    ll_recvbudget_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_budget_passes_to_the_oldest_waiter),
        cmocka_unit_test(test_lanes_do_not_share_the_budget),
        cmocka_unit_test(test_stale_read_is_handed_back_once),
        cmocka_unit_test(test_close_returns_the_waiters_and_refuses_more),
    };
    return cmocka_run_group_tests_name("ll_recvbudget", tests, NULL, NULL);
}
