/*
 * ll_assert: LL_ASSERT stops a build with LL_ASSERTS (Debug, sanitizer) at
 * a broken precondition, here ll_store's "the parent must not be used
 * until the child ends", and costs nothing (its condition is not even
 * evaluated) in a release build.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "../support/ll_testutil.h"
#include "ll_assert.h"
#include "ll_err.h"
#include "ll_store.h"

#ifdef LL_ASSERTS
static char dir[64];

/* Runs fn in a child process; returns the signal that ended it (0 if it
 * exited). */
static int dies_by(void (*fn)(void))
{
    pid_t pid = fork();
    int status = 0;
    assert_true(pid >= 0);
    if (pid == 0) {
        /* Keep the expected abort's message out of the test log. */
        (void)!freopen("/dev/null", "w", stderr);
        fn();
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

static void put_on_parent_with_open_child(void)
{
    ll_store_t *st;
    ll_txn_t *w, *child;
    if (ll_store_open(dir, NULL, &st) || ll_store_begin_write(st, &w) ||
        ll_store_begin_child(w, &child))
        _exit(2);
    ll_store_put(w, LL_TBL_META, "k", 1, "v", 1); /* breaks the contract */
    _exit(0);
}

static void false_condition(void)
{
    LL_ASSERT(1 + 1 == 3);
}

static void test_assert_aborts_on_a_broken_precondition(void **state)
{
    (void)state;
    ll_test_tmpdir(dir);
    assert_int_equal(dies_by(false_condition), SIGABRT);
    assert_int_equal(dies_by(put_on_parent_with_open_child), SIGABRT);
    ll_test_rmdir(dir);
}
#else
static void test_assert_is_compiled_out_of_release_builds(void **state)
{
    int evaluated = 0;
    (void)state;
    LL_ASSERT(++evaluated == 42);
    assert_int_equal(evaluated, 0);
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
#ifdef LL_ASSERTS
        cmocka_unit_test(test_assert_aborts_on_a_broken_precondition),
#else
        cmocka_unit_test(test_assert_is_compiled_out_of_release_builds),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
