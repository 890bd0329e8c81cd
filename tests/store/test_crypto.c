/* Tests for ll_crypto: Ed25519 known answers (RFC 8032), key files and
 * their modes, and the strictness of the text encodings. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "ll_crypto.h"
#include "ll_err.h"
#include "../support/ll_testutil.h"

static void unhex(const char *h, uint8_t *out, size_t n)
{
    assert_int_equal(ll_hex_decode(h, strlen(h), out, n), LL_OK);
}

/* RFC 8032 section 7.1, TEST 1 and TEST 2. */
static void test_ed25519_matches_rfc8032_vectors(void **state)
{
    static const struct {
        const char *seed, *pub, *msg, *sig;
    } v[] = {
        {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
         "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
         "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
         "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
        {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
         "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
         "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
         "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        uint8_t seed[32], pub[32], want_pub[32], msg[8], sig[64], want_sig[64];
        size_t mlen = strlen(v[i].msg) / 2;
        ll_key_t *k;
        unhex(v[i].seed, seed, 32);
        unhex(v[i].pub, want_pub, 32);
        unhex(v[i].msg, msg, mlen);
        unhex(v[i].sig, want_sig, 64);
        assert_int_equal(ll_key_from_seed(seed, &k), LL_OK);
        ll_key_public(k, pub);
        assert_memory_equal(pub, want_pub, 32);
        assert_int_equal(ll_key_sign(k, msg, mlen, sig), LL_OK);
        assert_memory_equal(sig, want_sig, 64);
        assert_int_equal(ll_ed25519_verify(pub, msg, mlen, sig, 64), LL_OK);
        ll_key_free(k);
    }
}

static void test_verify_rejects_tampering(void **state)
{
    uint8_t pub[32], sig[64];
    const char msg[] = "deploy -> measure -> learn -> adjust";
    ll_key_t *k;
    (void)state;
    assert_int_equal(ll_key_generate(&k), LL_OK);
    ll_key_public(k, pub);
    assert_int_equal(ll_key_sign(k, msg, sizeof(msg), sig), LL_OK);
    assert_int_equal(ll_ed25519_verify(pub, msg, sizeof(msg), sig, 64), LL_OK);
    assert_int_equal(ll_ed25519_verify(pub, msg, sizeof(msg) - 1, sig, 64),
                     LL_ERR_BAD_SIGNATURE);
    assert_int_equal(ll_ed25519_verify(pub, msg, sizeof(msg), sig, 63),
                     LL_ERR_BAD_SIGNATURE);
    sig[10] ^= 1;
    assert_int_equal(ll_ed25519_verify(pub, msg, sizeof(msg), sig, 64),
                     LL_ERR_BAD_SIGNATURE);
    sig[10] ^= 1;
    pub[0] ^= 1;
    assert_int_equal(ll_ed25519_verify(pub, msg, sizeof(msg), sig, 64),
                     LL_ERR_BAD_SIGNATURE);
    ll_key_free(k);
}

/* The verifying keys are cached by public key: many keys, keys that share
 * a cache slot, and a key evicted and seen again must each verify only
 * their own signatures. */
static void test_verify_key_cache_never_confuses_keys(void **state)
{
    enum { N = 200 };
    static uint8_t pub[N][32], sig[N][64];
    static ll_key_t *k[N];
    const char msg[] = "one statement, many signers";
    (void)state;
    for (int i = 0; i < N; i++) {
        assert_int_equal(ll_key_generate(&k[i]), LL_OK);
        ll_key_public(k[i], pub[i]);
        assert_int_equal(ll_key_sign(k[i], msg, sizeof msg, sig[i]), LL_OK);
    }
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < N; i++) {
            int j = (i + 1) % N;
            assert_int_equal(ll_ed25519_verify(pub[i], msg, sizeof msg, sig[i], 64), LL_OK);
            /* Another key's signature, right after this key was cached. */
            assert_int_equal(ll_ed25519_verify(pub[i], msg, sizeof msg, sig[j], 64),
                             LL_ERR_BAD_SIGNATURE);
            assert_int_equal(ll_ed25519_verify(pub[j], msg, sizeof msg, sig[i], 64),
                             LL_ERR_BAD_SIGNATURE);
        }
    }
    for (int i = 0; i < N; i++)
        ll_key_free(k[i]);
}

/* Threads verify at once against more keys than the cache has slots, so
 * a slot's context is replaced while other threads copy from it: every
 * verification still answers for its own key and signature (and ASan sees
 * no context freed while in use). Failures are counted, not asserted, off
 * the main thread. */
enum { MT_KEYS = 150, MT_THREADS = 4, MT_ROUNDS = 3 };
static uint8_t mt_pub[MT_KEYS][32], mt_sig[MT_KEYS][64];
static const char mt_msg[] = "verified by many threads";

static void *mt_verify(void *arg)
{
    long t = (long)arg, wrong = 0;
    for (int round = 0; round < MT_ROUNDS; round++)
        for (int n = 0; n < MT_KEYS; n++) {
            int i = (int)((n * 7 + t * 31) % MT_KEYS), j = (i + 1 + (int)t) % MT_KEYS;
            wrong += ll_ed25519_verify(mt_pub[i], mt_msg, sizeof mt_msg, mt_sig[i], 64) != LL_OK;
            wrong += ll_ed25519_verify(mt_pub[i], mt_msg, sizeof mt_msg, mt_sig[j], 64) !=
                     LL_ERR_BAD_SIGNATURE;
        }
    return (void *)wrong;
}

static void test_verify_concurrent_threads_share_the_cache(void **state)
{
    pthread_t th[MT_THREADS];
    (void)state;
    for (int i = 0; i < MT_KEYS; i++) {
        ll_key_t *k;
        assert_int_equal(ll_key_generate(&k), LL_OK);
        ll_key_public(k, mt_pub[i]);
        assert_int_equal(ll_key_sign(k, mt_msg, sizeof mt_msg, mt_sig[i]), LL_OK);
        ll_key_free(k);
    }
    for (long t = 0; t < MT_THREADS; t++)
        assert_int_equal(pthread_create(&th[t], NULL, mt_verify, (void *)t), 0);
    for (int t = 0; t < MT_THREADS; t++) {
        void *wrong;
        assert_int_equal(pthread_join(th[t], &wrong), 0);
        assert_int_equal((long)wrong, 0);
    }
}

static void test_key_files_are_private_and_round_trip(void **state)
{
    char dir[256], priv[300], pubf[300];
    uint8_t a[32], b[32], c[32];
    struct stat st;
    ll_key_t *k, *k2;
    (void)state;
    ll_test_tmpdir(dir);
    snprintf(priv, sizeof(priv), "%s/a.key", dir);
    snprintf(pubf, sizeof(pubf), "%s/a.pub", dir);
    assert_int_equal(ll_key_generate(&k), LL_OK);
    assert_int_equal(ll_key_save(k, priv), LL_OK);
    assert_int_equal(stat(priv, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* Never overwrite an existing key. */
    assert_int_equal(ll_key_save(k, priv), LL_ERR_EXISTS);
    assert_int_equal(ll_key_save_public(k, pubf), LL_OK);
    assert_int_equal(ll_key_load(priv, &k2), LL_OK);
    ll_key_public(k, a);
    ll_key_public(k2, b);
    assert_memory_equal(a, b, 32);
    assert_int_equal(ll_pubkey_load(pubf, c), LL_OK);
    assert_memory_equal(a, c, 32);
    assert_int_equal(ll_pubkey_load(priv, c), LL_OK);
    assert_memory_equal(a, c, 32);
    /* A public key is not a private key. */
    assert_int_equal(ll_key_load(pubf, &k2 /* unchanged on error */),
                     LL_ERR_INVALID);
    ll_key_free(k2);
    ll_key_free(k);
    assert_int_equal(ll_key_load("/nonexistent/x.key", &k), LL_ERR_IO);
    ll_test_rmdir(dir);
}

static void test_base64_round_trips_and_is_strict(void **state)
{
    static const char *rfc4648[][2] = {
        {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
    };
    static const char *bad[] = {"Zg=", "Zg", "Z===", "Zh==", "Zm9=", "Zm 9",
                                "Zm9v\n", "=Zm9", "Zg==Zm9v", "Zm-v"};
    char out[64];
    uint8_t buf[64];
    size_t n;
    (void)state;
    for (size_t i = 0; i < 7; i++) {
        const char *plain = rfc4648[i][0], *enc = rfc4648[i][1];
        assert_int_equal(ll_base64_encode((const uint8_t *)plain, strlen(plain),
                                          out),
                         strlen(enc));
        assert_string_equal(out, enc);
        assert_int_equal(ll_base64_decode(enc, strlen(enc), buf, sizeof(buf), &n),
                         LL_OK);
        assert_int_equal(n, strlen(plain));
        assert_memory_equal(buf, plain, n);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(ll_base64_decode(bad[i], strlen(bad[i]), buf,
                                          sizeof(buf), &n),
                         LL_ERR_INVALID);
    assert_int_equal(ll_base64_decode("Zm9vYmFy", 8, buf, 5, &n), LL_ERR_BUFFER);
}

static void test_hex_and_keyid(void **state)
{
    uint8_t b[3], pub[32] = {0};
    char out[65];
    (void)state;
    assert_int_equal(ll_hex_decode("00ffA0", 6, b, 3), LL_OK);
    ll_hex_encode(b, 3, out);
    assert_string_equal(out, "00ffa0");
    assert_int_equal(ll_hex_decode("00ff", 4, b, 3), LL_ERR_INVALID);
    assert_int_equal(ll_hex_decode("00fg00", 6, b, 3), LL_ERR_INVALID);
    /* key id = hex SHA-256 of the raw key: SHA-256 of 32 zero bytes. */
    ll_keyid(pub, out);
    assert_string_equal(out, "66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925");
    assert_true(ll_ct_equal("abc", "abc", 3));
    assert_false(ll_ct_equal("abc", "abd", 3));
}

static void test_sha256_known_answer(void **state)
{
    uint8_t h[32];
    char hex[65];
    (void)state;
    ll_sha256("abc", 3, h);
    ll_hex_encode(h, 32, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ed25519_matches_rfc8032_vectors),
        cmocka_unit_test(test_verify_rejects_tampering),
        cmocka_unit_test(test_verify_key_cache_never_confuses_keys),
        cmocka_unit_test(test_verify_concurrent_threads_share_the_cache),
        cmocka_unit_test(test_key_files_are_private_and_round_trip),
        cmocka_unit_test(test_base64_round_trips_and_is_strict),
        cmocka_unit_test(test_hex_and_keyid),
        cmocka_unit_test(test_sha256_known_answer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
