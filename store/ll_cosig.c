/*
 * ll_cosig: Ed25519 cosignature/v1 lines. See ll_cosig.h.
 */
#include "ll_cosig.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ll_err.h"

#define COSIG_TYPE 0x04
#define EM_DASH "\xe2\x80\x94"
#define BLOB_LEN (4 + 8 + LL_SIG_LEN)

void ll_cosig_keyid(const char *name, const uint8_t pub[LL_PUBKEY_LEN], uint8_t out[4])
{
    uint8_t buf[LL_NOTE_MAX_NAME + 2 + LL_PUBKEY_LEN], h[LL_HASH_LEN];
    size_t n = strnlen(name, LL_NOTE_MAX_NAME);
    memcpy(buf, name, n);
    buf[n] = '\n';
    buf[n + 1] = COSIG_TYPE;
    memcpy(buf + n + 2, pub, LL_PUBKEY_LEN);
    ll_sha256(buf, n + 2 + LL_PUBKEY_LEN, h);
    memcpy(out, h, 4);
}

int ll_cosig_verifier_key(const char *name, const uint8_t pub[LL_PUBKEY_LEN], char *out,
                          size_t cap)
{
    uint8_t kid[4], blob[1 + LL_PUBKEY_LEN];
    char b64[ll_base64_len(sizeof blob) + 1];
    if (!ll_note_name_valid(name))
        return LL_ERR_INVALID;
    ll_cosig_keyid(name, pub, kid);
    blob[0] = COSIG_TYPE;
    memcpy(blob + 1, pub, LL_PUBKEY_LEN);
    ll_base64_encode(blob, sizeof blob, b64);
    int n = snprintf(out, cap, "%s+%02x%02x%02x%02x+%s", name, kid[0], kid[1], kid[2], kid[3],
                     b64);
    return n < 0 || (size_t)n >= cap ? LL_ERR_BUFFER : LL_OK;
}

int ll_cosig_parse_verifier_key(const char *vkey, ll_cosigner_t *out)
{
    const char *p1 = strchr(vkey, '+'), *p2;
    uint8_t kid[4], want[4], blob[1 + LL_PUBKEY_LEN + 1];
    size_t nlen, bl;
    if (!p1 || !(p2 = strchr(p1 + 1, '+')) || p2 - p1 - 1 != 8)
        return LL_ERR_INVALID;
    nlen = (size_t)(p1 - vkey);
    if (!nlen || nlen > LL_NOTE_MAX_NAME)
        return LL_ERR_INVALID;
    memcpy(out->name, vkey, nlen);
    out->name[nlen] = 0;
    if (!ll_note_name_valid(out->name) || ll_hex_decode(p1 + 1, 8, kid, 4) ||
        ll_base64_decode(p2 + 1, strlen(p2 + 1), blob, sizeof blob, &bl) ||
        bl != 1 + LL_PUBKEY_LEN || blob[0] != COSIG_TYPE)
        return LL_ERR_INVALID;
    memcpy(out->pub, blob + 1, LL_PUBKEY_LEN);
    ll_cosig_keyid(out->name, out->pub, want);
    return memcmp(kid, want, 4) ? LL_ERR_INVALID : LL_OK;
}

/* "cosignature/v1\ntime <ts>\n" || body into msg[cap]; its length. */
static size_t signed_message(const char *body, size_t blen, uint64_t ts, char *msg, size_t cap)
{
    int n = snprintf(msg, cap, "cosignature/v1\ntime %" PRIu64 "\n", ts);
    if (n < 0 || (size_t)n + blen > cap)
        return 0;
    memcpy(msg + n, body, blen);
    return (size_t)n + blen;
}

int ll_cosig_sign(const char *body, size_t body_len, const char *name, const ll_key_t *key,
                  uint64_t ts, char line[LL_COSIG_LINE_MAX])
{
    char msg[LL_NOTE_MAX + 64];
    uint8_t pub[LL_PUBKEY_LEN], blob[BLOB_LEN];
    char b64[ll_base64_len(BLOB_LEN) + 1];
    size_t mlen;
    int err;
    if (!ts || ts > INT64_MAX || !ll_note_name_valid(name) || !body_len ||
        body[body_len - 1] != '\n' || memmem(body, body_len, "\n\n", 2))
        return LL_ERR_INVALID;
    if (!(mlen = signed_message(body, body_len, ts, msg, sizeof msg)))
        return LL_ERR_TOO_LARGE;
    ll_key_public(key, pub);
    ll_cosig_keyid(name, pub, blob);
    for (int i = 0; i < 8; i++)
        blob[4 + i] = (uint8_t)(ts >> (56 - 8 * i));
    if ((err = ll_key_sign(key, msg, mlen, blob + 12)))
        return err;
    ll_base64_encode(blob, sizeof blob, b64);
    snprintf(line, LL_COSIG_LINE_MAX, EM_DASH " %s %s\n", name, b64);
    return LL_OK;
}

int ll_cosig_verify(const char *note, size_t len, const ll_cosigner_t *c, uint64_t *ts)
{
    const char *end = note + len, *sep = memmem(note, len, "\n\n", 2), *p;
    uint8_t kid[4];
    size_t nlen = strlen(c->name), dl = strlen(EM_DASH);
    if (!sep || !len || note[len - 1] != '\n')
        return LL_ERR_INVALID;
    size_t blen = (size_t)(sep - note) + 1;
    ll_cosig_keyid(c->name, c->pub, kid);
    for (p = sep + 2; p < end;) {
        const char *eol = memchr(p, '\n', (size_t)(end - p)), *sp;
        uint8_t blob[4096];
        size_t bl;
        if (!eol || (size_t)(eol - p) < dl + 3 || memcmp(p, EM_DASH " ", dl + 1))
            return LL_ERR_INVALID;
        p += dl + 1;
        if (!(sp = memchr(p, ' ', (size_t)(eol - p))))
            return LL_ERR_INVALID;
        if ((size_t)(sp - p) == nlen && !memcmp(p, c->name, nlen) &&
            !ll_base64_decode(sp + 1, (size_t)(eol - sp - 1), blob, sizeof blob, &bl) &&
            bl >= 4 && !memcmp(blob, kid, 4)) {
            char msg[LL_NOTE_MAX + 64];
            size_t mlen;
            uint64_t t = 0;
            if (bl != BLOB_LEN)
                return LL_ERR_BAD_SIGNATURE;
            for (int i = 0; i < 8; i++)
                t = t << 8 | blob[4 + i];
            if (t > INT64_MAX || !(mlen = signed_message(note, blen, t, msg, sizeof msg)))
                return LL_ERR_BAD_SIGNATURE;
            int err = ll_ed25519_verify(c->pub, msg, mlen, blob + 12, LL_SIG_LEN);
            if (!err && ts)
                *ts = t;
            return err;
        }
        p = eol + 1;
    }
    return LL_ERR_NOT_FOUND;
}
