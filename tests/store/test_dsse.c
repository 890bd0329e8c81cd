/* Tests for ll_dsse: the PAE encoding from the DSSE v1 specification and
 * signatures bound to both payload type and body. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "ll_dsse.h"
#include "ll_err.h"

static void test_pae_matches_spec_example(void **state)
{
    const char type[] = "http://example.com/HelloWorld";
    const char body[] = "hello world";
    const char want[] = "DSSEv1 29 http://example.com/HelloWorld 11 hello world";
    uint8_t out[128];
    size_t n;
    (void)state;
    assert_int_equal(ll_dsse_pae_len(strlen(type), strlen(body)), strlen(want));
    assert_int_equal(ll_dsse_pae(type, strlen(type), (const uint8_t *)body,
                                 strlen(body), out, sizeof(out), &n),
                     LL_OK);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(out, want, n);
}

static void test_pae_empty_body_and_small_buffer(void **state)
{
    uint8_t out[64];
    size_t n;
    (void)state;
    assert_int_equal(ll_dsse_pae("", 0, NULL, 0, out, sizeof(out), &n), LL_OK);
    assert_int_equal(n, strlen("DSSEv1 0  0 "));
    assert_memory_equal(out, "DSSEv1 0  0 ", n);
    assert_int_equal(ll_dsse_pae("t", 1, (const uint8_t *)"b", 1, out,
                                 ll_dsse_pae_len(1, 1) - 1, &n),
                     LL_ERR_BUFFER);
}

static void test_signature_binds_type_and_body(void **state)
{
    const char *type = LL_DSSE_PAYLOAD_TYPE;
    uint8_t body[3000], pub[32], sig[64];
    ll_key_t *k;
    (void)state;
    /* Larger than the stack buffer, to exercise the heap path too. */
    for (size_t i = 0; i < sizeof(body); i++)
        body[i] = (uint8_t)i;
    assert_int_equal(ll_key_generate(&k), LL_OK);
    ll_key_public(k, pub);
    for (size_t len = 10; len <= sizeof(body); len += sizeof(body) - 10) {
        assert_int_equal(ll_dsse_sign(k, type, strlen(type), body, len, sig),
                         LL_OK);
        assert_int_equal(ll_dsse_verify(pub, type, strlen(type), body, len, sig,
                                        64),
                         LL_OK);
        /* The same bytes under another payload type do not verify. */
        assert_int_equal(ll_dsse_verify(pub, "application/json", 16, body, len,
                                        sig, 64),
                         LL_ERR_BAD_SIGNATURE);
        body[len - 1] ^= 0x80;
        assert_int_equal(ll_dsse_verify(pub, type, strlen(type), body, len, sig,
                                        64),
                         LL_ERR_BAD_SIGNATURE);
        body[len - 1] ^= 0x80;
    }
    ll_key_free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pae_matches_spec_example),
        cmocka_unit_test(test_pae_empty_body_and_small_buffer),
        cmocka_unit_test(test_signature_binds_type_and_body),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
