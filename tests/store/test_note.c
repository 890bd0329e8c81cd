/* Tests for ll_note: C2SP signed-note known answers (the example key of the
 * reference Go implementation), strict parsing, and checkpoint bodies. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "ll_err.h"
#include "ll_note.h"

static const char peter_text[] =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n";
static const char peter_note[] =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
    "\n"
    "\xe2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
static const char peter_vkey[] =
    "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";

static ll_key_t *peter_key(void)
{
    /* "PRIVATE+KEY+PeterNeumann+c74f20a3+" || base64(0x01 || seed) */
    const char *b64 = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    uint8_t blob[33];
    size_t n;
    ll_key_t *k;
    assert_int_equal(ll_base64_decode(b64, strlen(b64), blob, sizeof(blob), &n),
                     LL_OK);
    assert_int_equal(n, 33);
    assert_int_equal(blob[0], 1);
    assert_int_equal(ll_key_from_seed(blob + 1, &k), LL_OK);
    return k;
}

static void test_sign_matches_reference_note(void **state)
{
    ll_key_t *k = peter_key();
    uint8_t pub[32];
    char out[LL_NOTE_MAX], vkey[256];
    size_t n;
    (void)state;
    ll_key_public(k, pub);
    assert_int_equal(ll_note_verifier_key("PeterNeumann", pub, vkey, sizeof(vkey)),
                     LL_OK);
    assert_string_equal(vkey, peter_vkey);
    assert_int_equal(ll_note_sign(peter_text, strlen(peter_text), "PeterNeumann",
                                  k, out, sizeof(out), &n),
                     LL_OK);
    assert_int_equal(n, strlen(peter_note));
    assert_string_equal(out, peter_note);
    ll_key_free(k);
}

static void test_verify_reference_note(void **state)
{
    char name[LL_NOTE_MAX_NAME + 1];
    uint8_t pub[32];
    size_t blen;
    (void)state;
    assert_int_equal(ll_note_parse_verifier_key(peter_vkey, name, sizeof(name), pub),
                     LL_OK);
    assert_string_equal(name, "PeterNeumann");
    assert_int_equal(ll_note_verify(peter_note, strlen(peter_note), name, pub,
                                    &blen),
                     LL_OK);
    assert_int_equal(blen, strlen(peter_text));
}

static void test_verify_rejects_altered_notes(void **state)
{
    char name[LL_NOTE_MAX_NAME + 1], buf[LL_NOTE_MAX];
    uint8_t pub[32], other[32];
    size_t blen, n = strlen(peter_note);
    (void)state;
    assert_int_equal(ll_note_parse_verifier_key(peter_vkey, name, sizeof(name), pub),
                     LL_OK);
    /* A changed body. */
    memcpy(buf, peter_note, n + 1);
    buf[3] = 'Y';
    assert_int_equal(ll_note_verify(buf, n, name, pub, &blen), LL_ERR_BAD_SIGNATURE);
    /* Another key: no signature line for it. */
    memcpy(other, pub, 32);
    other[0] ^= 1;
    assert_int_equal(ll_note_verify(peter_note, n, name, other, &blen),
                     LL_ERR_NOT_FOUND);
    assert_int_equal(ll_note_verify(peter_note, n, "PeterN", pub, &blen),
                     LL_ERR_NOT_FOUND);
    /* Structural damage. */
    assert_int_equal(ll_note_verify(peter_note, n - 1, name, pub, &blen),
                     LL_ERR_INVALID); /* no final newline */
    assert_int_equal(ll_note_verify(peter_text, strlen(peter_text), name, pub, &blen),
                     LL_ERR_INVALID); /* no signatures */
    memcpy(buf, peter_note, n + 1);
    buf[0] = '\r';
    assert_int_equal(ll_note_verify(buf, n, name, pub, &blen), LL_ERR_INVALID);
    snprintf(buf, sizeof(buf), "%s-- bogus line\n", peter_note);
    assert_int_equal(ll_note_verify(buf, strlen(buf), name, pub, &blen),
                     LL_ERR_INVALID);
}

static void test_verify_skips_other_signers(void **state)
{
    char name[LL_NOTE_MAX_NAME + 1], buf[LL_NOTE_MAX];
    uint8_t pub[32];
    size_t blen;
    (void)state;
    assert_int_equal(ll_note_parse_verifier_key(peter_vkey, name, sizeof(name), pub),
                     LL_OK);
    /* A witness line before ours must not stop verification. */
    snprintf(buf, sizeof(buf), "%s\n\xe2\x80\x94 witness AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n%s",
             peter_text, peter_note + strlen(peter_text) + 1);
    assert_int_equal(ll_note_verify(buf, strlen(buf), name, pub, &blen), LL_OK);
}

static void test_verifier_key_parse_rejects_bad_hash_and_names(void **state)
{
    char name[LL_NOTE_MAX_NAME + 1], vk[128];
    uint8_t pub[32];
    (void)state;
    snprintf(vk, sizeof(vk), "%s", peter_vkey);
    vk[13] = vk[13] == '0' ? '1' : '0'; /* key hash digit */
    assert_int_equal(ll_note_parse_verifier_key(vk, name, sizeof(name), pub),
                     LL_ERR_INVALID);
    assert_int_equal(ll_note_parse_verifier_key("nohash", name, sizeof(name), pub),
                     LL_ERR_INVALID);
    assert_int_equal(ll_note_parse_verifier_key("a+b+c", name, sizeof(name), pub),
                     LL_ERR_INVALID);
    assert_false(ll_note_name_valid(""));
    assert_false(ll_note_name_valid("has space"));
    assert_false(ll_note_name_valid("has+plus"));
    assert_true(ll_note_name_valid("loopledger.example/log"));
}

static void test_checkpoint_round_trip_and_strictness(void **state)
{
    ll_checkpoint_t cp = {.size = 1234567}, back;
    char body[512];
    size_t n;
    (void)state;
    snprintf(cp.origin, sizeof(cp.origin), "loopledger/abcd1234");
    for (int i = 0; i < 32; i++)
        cp.root[i] = (uint8_t)i;
    assert_int_equal(ll_checkpoint_format(&cp, body, sizeof(body), &n), LL_OK);
    assert_string_equal(body, "loopledger/abcd1234\n1234567\n"
                              "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n");
    assert_int_equal(ll_checkpoint_parse(body, n, &back), LL_OK);
    assert_string_equal(back.origin, cp.origin);
    assert_int_equal(back.size, cp.size);
    assert_memory_equal(back.root, cp.root, 32);
    /* Extension lines are allowed. */
    snprintf(body + n, sizeof(body) - n, "ext line\n");
    assert_int_equal(ll_checkpoint_parse(body, strlen(body), &back), LL_OK);
    static const char *bad[] = {
        "o\n01\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
        "o\n-1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
        "o\n18446744073709551616\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
        "o\n1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd\n",
        "o\n1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        "\n1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
        "o\n1\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(ll_checkpoint_parse(bad[i], strlen(bad[i]), &back),
                         LL_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sign_matches_reference_note),
        cmocka_unit_test(test_verify_reference_note),
        cmocka_unit_test(test_verify_rejects_altered_notes),
        cmocka_unit_test(test_verify_skips_other_signers),
        cmocka_unit_test(test_verifier_key_parse_rejects_bad_hash_and_names),
        cmocka_unit_test(test_checkpoint_round_trip_and_strictness),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
