/*
 * ll_cosig: cosignature/v1 lines have the spec's layout (key id with type
 * 0x04, big-endian timestamp, Ed25519 over "cosignature/v1\ntime T\n" and
 * the body, checked here by rebuilding the message by hand), verify only
 * for the right key, name, body and time, and coexist with the log's own
 * signature in one note.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "ll_cosig.h"
#include "ll_crypto.h"
#include "ll_err.h"
#include "ll_note.h"

static const char body[] = "example.com/log\n42\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";

static ll_key_t *key_of(uint8_t b)
{
    uint8_t seed[32];
    ll_key_t *k;
    memset(seed, b, sizeof seed);
    assert_int_equal(ll_key_from_seed(seed, &k), LL_OK);
    return k;
}

static void test_cosignature_layout_matches_spec(void **state)
{
    (void)state;
    ll_key_t *k = key_of(7);
    ll_cosigner_t c;
    char vkey[512], line[LL_COSIG_LINE_MAX];
    ll_key_public(k, c.pub);
    snprintf(c.name, sizeof c.name, "witness.example/w1");
    assert_int_equal(ll_cosig_verifier_key(c.name, c.pub, vkey, sizeof vkey), LL_OK);
    ll_cosigner_t back;
    assert_int_equal(ll_cosig_parse_verifier_key(vkey, &back), LL_OK);
    assert_string_equal(back.name, c.name);
    assert_memory_equal(back.pub, c.pub, 32);
    /* A log (type 0x01) key is not a cosigner key. */
    char logkey[512];
    assert_int_equal(ll_note_verifier_key(c.name, c.pub, logkey, sizeof logkey), LL_OK);
    assert_int_equal(ll_cosig_parse_verifier_key(logkey, &back), LL_ERR_INVALID);

    assert_int_equal(ll_cosig_sign(body, strlen(body), c.name, k, 1679315147, line), LL_OK);
    const char *pfx = "\xe2\x80\x94 witness.example/w1 ";
    assert_int_equal(strncmp(line, pfx, strlen(pfx)), 0);
    uint8_t blob[128];
    size_t bl;
    const char *b64 = line + strlen(pfx);
    assert_int_equal(ll_base64_decode(b64, strlen(b64) - 1, blob, sizeof blob, &bl), LL_OK);
    assert_int_equal(bl, 4 + 8 + 64);
    /* key id = SHA-256(name || "\n" || 0x04 || pub)[:4] */
    uint8_t kin[64], h[32];
    size_t n = strlen(c.name);
    memcpy(kin, c.name, n);
    kin[n] = '\n';
    kin[n + 1] = 0x04;
    memcpy(kin + n + 2, c.pub, 32);
    ll_sha256(kin, n + 34, h);
    assert_memory_equal(blob, h, 4);
    uint64_t ts = 0;
    for (int i = 0; i < 8; i++)
        ts = ts << 8 | blob[4 + i];
    assert_true(ts == 1679315147);
    char msg[256];
    int ml = snprintf(msg, sizeof msg, "cosignature/v1\ntime 1679315147\n%s", body);
    assert_int_equal(ll_ed25519_verify(c.pub, msg, (size_t)ml, blob + 12, 64), LL_OK);
    ll_key_free(k);
}

static void test_cosigned_note_verifies_for_both_keys(void **state)
{
    (void)state;
    ll_key_t *logk = key_of(1), *w1 = key_of(2), *w2 = key_of(3);
    uint8_t logpub[32];
    ll_cosigner_t c1 = {.name = "w1.example"}, c2 = {.name = "w2.example"}, c3;
    ll_key_public(logk, logpub);
    ll_key_public(w1, c1.pub);
    ll_key_public(w2, c2.pub);
    char note[LL_NOTE_MAX], line[LL_COSIG_LINE_MAX];
    size_t nl, bl;
    uint64_t ts;
    assert_int_equal(ll_note_sign(body, strlen(body), "example.com/log", logk, note, sizeof note, &nl),
                     LL_OK);
    assert_int_equal(ll_cosig_verify(note, nl, &c1, &ts), LL_ERR_NOT_FOUND);
    assert_int_equal(ll_cosig_sign(body, strlen(body), c1.name, w1, 100, line), LL_OK);
    strcat(note, line);
    nl = strlen(note);
    assert_int_equal(ll_cosig_verify(note, nl, &c1, &ts), LL_OK);
    assert_true(ts == 100);
    assert_int_equal(ll_cosig_verify(note, nl, &c2, &ts), LL_ERR_NOT_FOUND);
    /* The log's signature still verifies beside a cosignature line. */
    assert_int_equal(ll_note_verify(note, nl, "example.com/log", logpub, &bl), LL_OK);
    assert_int_equal(bl, strlen(body));
    /* Same name, same key id, signature by another key: bad, not absent. */
    c3 = c2;
    snprintf(c3.name, sizeof c3.name, "%s", c1.name);
    memcpy(c3.pub, c1.pub, 32);
    ll_key_t *wrong = w2;
    char forged[LL_COSIG_LINE_MAX];
    assert_int_equal(ll_cosig_sign(body, strlen(body), c1.name, wrong, 100, forged), LL_OK);
    char note2[LL_NOTE_MAX];
    size_t n2;
    assert_int_equal(ll_note_sign(body, strlen(body), "example.com/log", logk, note2, sizeof note2, &n2),
                     LL_OK);
    /* Put c1's key id on w2's signature. */
    uint8_t blob[128];
    size_t blen;
    const char *b64 = strchr(forged + 4, ' ') + 1;
    assert_int_equal(ll_base64_decode(b64, strlen(b64) - 1, blob, sizeof blob, &blen), LL_OK);
    ll_cosig_keyid(c1.name, c1.pub, blob);
    char enc[200];
    ll_base64_encode(blob, blen, enc);
    snprintf(note2 + n2, sizeof note2 - n2, "\xe2\x80\x94 %s %s\n", c1.name, enc);
    assert_int_equal(ll_cosig_verify(note2, strlen(note2), &c3, &ts), LL_ERR_BAD_SIGNATURE);
    /* A changed body or time does not verify. */
    char *sz = strstr(note, "\n42\n");
    sz[2] = '3';
    assert_int_equal(ll_cosig_verify(note, nl, &c1, &ts), LL_ERR_BAD_SIGNATURE);
    ll_key_free(logk);
    ll_key_free(w1);
    ll_key_free(w2);
}

static void test_sign_refuses_bad_input(void **state)
{
    (void)state;
    ll_key_t *k = key_of(9);
    char line[LL_COSIG_LINE_MAX];
    assert_int_equal(ll_cosig_sign(body, strlen(body), "w", k, 0, line), LL_ERR_INVALID);
    assert_int_equal(ll_cosig_sign(body, strlen(body), "w", k, (uint64_t)INT64_MAX + 1, line),
                     LL_ERR_INVALID);
    assert_int_equal(ll_cosig_sign(body, strlen(body), "bad name", k, 1, line), LL_ERR_INVALID);
    assert_int_equal(ll_cosig_sign("a\n\nb\n", 5, "w", k, 1, line), LL_ERR_INVALID);
    ll_key_free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cosignature_layout_matches_spec),
        cmocka_unit_test(test_cosigned_note_verifies_for_both_keys),
        cmocka_unit_test(test_sign_refuses_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
