/*
 * test_reflection: indexing the embedded descriptor set (ll_reflection).
 * The answers themselves are checked end to end by independent clients
 * (tests/e2e/test_reflection.sh, clients/python/tests/test_reflection.py).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "ll_err.h"
#include "ll_methods.h"
#include "ll_reflection.h"

static void test_embedded_set_describes_every_table_service(void **state)
{
    (void)state;
    ll_reflection_t *r = NULL;
    assert_int_equal(ll_reflection_create(ll_descriptor_set, ll_descriptor_set_len,
                                          ll_service_names, LL_SERVICE_COUNT, &r),
                     LL_OK);
    assert_non_null(r);
    ll_reflection_destroy(r);
}

static void test_unknown_service_is_refused(void **state)
{
    (void)state;
    static const char *const names[] = {"loopledger.v1.LedgerService", "loopledger.v1.Nope"};
    ll_reflection_t *r = NULL;
    assert_int_equal(ll_reflection_create(ll_descriptor_set, ll_descriptor_set_len, names, 2, &r),
                     LL_ERR_INVALID);
    assert_null(r);
    /* A method or a message is not a service. */
    static const char *const method[] = {"loopledger.v1.LedgerService.Append"};
    static const char *const message[] = {"loopledger.v1.EntryBody"};
    assert_int_equal(ll_reflection_create(ll_descriptor_set, ll_descriptor_set_len, method, 1, &r),
                     LL_ERR_INVALID);
    assert_int_equal(ll_reflection_create(ll_descriptor_set, ll_descriptor_set_len, message, 1, &r),
                     LL_ERR_INVALID);
    assert_null(r);
}

static void test_malformed_sets_are_refused(void **state)
{
    (void)state;
    ll_reflection_t *r = NULL;
    /* Every truncation of the set's first file is malformed or empty. */
    for (size_t n = 1; n < 200; n += 7)
        assert_int_equal(ll_reflection_create(ll_descriptor_set, n, NULL, 0, &r), LL_ERR_INVALID);
    assert_int_equal(ll_reflection_create((const uint8_t *)"", 0, NULL, 0, &r), LL_ERR_INVALID);
    /* A file that imports one the set does not hold first. */
    static const uint8_t orphan[] = {0x0a, 0x0d, 0x0a, 0x03, 'a', '.', 'p',
                                     0x1a, 0x06, 'b', '.', 'p', 'r', 'o', 't'};
    assert_int_equal(ll_reflection_create(orphan, sizeof orphan, NULL, 0, &r), LL_ERR_INVALID);
    assert_null(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_embedded_set_describes_every_table_service),
        cmocka_unit_test(test_unknown_service_is_refused),
        cmocka_unit_test(test_malformed_sets_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
