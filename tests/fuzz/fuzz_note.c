/*
 * fuzz_note: hostile bytes as a C2SP signed note (ll_note_verify), as a
 * tlog-checkpoint body (ll_checkpoint_parse) and as a verifier key string
 * (ll_note_parse_verifier_key).
 *
 * Contracts checked: a note that verifies has a body that is a prefix of
 * it, ends in a newline and, when it parses as a checkpoint, formats back
 * to the same three lines (one encoding per checkpoint); a parsed verifier
 * key prints to a string that parses back to the same name and key.
 */
#include <string.h>

#include "ll_err.h"
#include "ll_fuzz.h"
#include "ll_note.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    uint8_t pub[LL_PUBKEY_LEN], pub2[LL_PUBKEY_LEN];
    char name[LL_NOTE_MAX_NAME + 1], buf[LL_NOTE_MAX];
    ll_checkpoint_t cp;
    size_t body_len, n;

    ll_key_public(ll_fuzz_key(), pub);
    if (ll_note_verify(text, size, LL_FUZZ_ORIGIN, pub, &body_len) == LL_OK) {
        LL_FUZZ_CHECK(body_len > 0 && body_len < size && text[body_len - 1] == '\n');
        if (ll_checkpoint_parse(text, body_len, &cp) == LL_OK) {
            LL_FUZZ_CHECK(ll_checkpoint_format(&cp, buf, sizeof buf, &n) == LL_OK);
            LL_FUZZ_CHECK(n <= body_len && memcmp(buf, text, n) == 0);
        }
    }
    if (ll_checkpoint_parse(text, size, &cp) == LL_OK) {
        LL_FUZZ_CHECK(ll_checkpoint_format(&cp, buf, sizeof buf, &n) == LL_OK);
        LL_FUZZ_CHECK(n <= size && memcmp(buf, text, n) == 0);
    }
    char *s = malloc(size + 1);
    LL_FUZZ_CHECK(s);
    memcpy(s, data, size);
    s[size] = 0;
    if (ll_note_parse_verifier_key(s, name, sizeof name, pub2) == LL_OK) {
        /* Printing is canonical; parsing is not (like Go's note package it
         * takes the key hash in either hex case: regressions/note), so the
         * contract is that the printed key parses back to the same key. */
        char name2[LL_NOTE_MAX_NAME + 1];
        uint8_t pub3[LL_PUBKEY_LEN];
        LL_FUZZ_CHECK(ll_note_verifier_key(name, pub2, buf, sizeof buf) == LL_OK);
        LL_FUZZ_CHECK(ll_note_parse_verifier_key(buf, name2, sizeof name2, pub3) == LL_OK);
        LL_FUZZ_CHECK(strcmp(name, name2) == 0 && memcmp(pub2, pub3, LL_PUBKEY_LEN) == 0);
    }
    free(s);
    return 0;
}
