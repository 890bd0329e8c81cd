/*
 * ll_note: C2SP signed notes and tlog checkpoints.
 *
 * The parser is deliberately strict: a checkpoint is the thing auditors pin
 * and compare, so any text that two implementations could read differently
 * (stray carriage returns, missing final newline, a second blank line,
 * non-canonical numbers) is rejected rather than interpreted.
 */
#include "ll_note.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ll_err.h"

#define SIG_TYPE_ED25519 0x01
#define EM_DASH "\xe2\x80\x94" /* U+2014, starts every signature line */
#define KEYHASH_LEN 4
#define SIGBLOB_LEN (KEYHASH_LEN + LL_SIG_LEN)

int ll_note_name_valid(const char *name)
{
    size_t n = 0;

    if (!name)
        return 0;
    for (; name[n]; n++) {
        unsigned char c = (unsigned char)name[n];
        if (c <= 0x20 || c >= 0x7f || c == '+')
            return 0;
        if (n >= LL_NOTE_MAX_NAME)
            return 0;
    }
    return n > 0;
}

void ll_note_keyhash(const char *name, const uint8_t pub[LL_PUBKEY_LEN],
                     uint8_t out[KEYHASH_LEN])
{
    uint8_t buf[LL_NOTE_MAX_NAME + 2 + LL_PUBKEY_LEN], h[LL_HASH_LEN];
    size_t n = strlen(name);

    if (n > LL_NOTE_MAX_NAME)
        n = LL_NOTE_MAX_NAME; /* callers validate names; never overflow */
    memcpy(buf, name, n);
    buf[n] = '\n';
    buf[n + 1] = SIG_TYPE_ED25519;
    memcpy(buf + n + 2, pub, LL_PUBKEY_LEN);
    ll_sha256(buf, n + 2 + LL_PUBKEY_LEN, h);
    memcpy(out, h, KEYHASH_LEN);
}

int ll_note_verifier_key(const char *name, const uint8_t pub[LL_PUBKEY_LEN],
                         char *out, size_t cap)
{
    uint8_t kh[KEYHASH_LEN], blob[1 + LL_PUBKEY_LEN];
    char b64[ll_base64_len(sizeof(blob)) + 1];
    int n;

    if (!ll_note_name_valid(name))
        return LL_ERR_INVALID;
    ll_note_keyhash(name, pub, kh);
    blob[0] = SIG_TYPE_ED25519;
    memcpy(blob + 1, pub, LL_PUBKEY_LEN);
    ll_base64_encode(blob, sizeof(blob), b64);
    n = snprintf(out, cap, "%s+%02x%02x%02x%02x+%s", name, kh[0], kh[1], kh[2],
                 kh[3], b64);
    if (n < 0 || (size_t)n >= cap)
        return LL_ERR_BUFFER;
    return LL_OK;
}

int ll_note_parse_verifier_key(const char *vkey, char *name, size_t namecap,
                               uint8_t pub[LL_PUBKEY_LEN])
{
    const char *p1 = strchr(vkey, '+'), *p2;
    uint8_t kh[KEYHASH_LEN], want[KEYHASH_LEN], blob[1 + LL_PUBKEY_LEN + 1];
    size_t nlen, bloblen;

    if (!p1)
        return LL_ERR_INVALID;
    p2 = strchr(p1 + 1, '+');
    if (!p2 || p2 - p1 - 1 != 2 * KEYHASH_LEN)
        return LL_ERR_INVALID;
    nlen = (size_t)(p1 - vkey);
    if (nlen == 0 || nlen > LL_NOTE_MAX_NAME || nlen + 1 > namecap)
        return LL_ERR_INVALID;
    memcpy(name, vkey, nlen);
    name[nlen] = '\0';
    if (!ll_note_name_valid(name))
        return LL_ERR_INVALID;
    if (ll_hex_decode(p1 + 1, 2 * KEYHASH_LEN, kh, KEYHASH_LEN) != LL_OK)
        return LL_ERR_INVALID;
    if (ll_base64_decode(p2 + 1, strlen(p2 + 1), blob, sizeof(blob),
                         &bloblen) != LL_OK ||
        bloblen != 1 + LL_PUBKEY_LEN || blob[0] != SIG_TYPE_ED25519)
        return LL_ERR_INVALID;
    memcpy(pub, blob + 1, LL_PUBKEY_LEN);
    ll_note_keyhash(name, pub, want);
    if (memcmp(kh, want, KEYHASH_LEN) != 0)
        return LL_ERR_INVALID;
    return LL_OK;
}

/* Body rules shared by signing and verifying: non-empty, ends in '\n', no
 * blank line (which would end the body early), no NUL or CR. */
static int body_valid(const char *body, size_t len)
{
    size_t i;

    if (len == 0 || body[len - 1] != '\n' || body[0] == '\n')
        return 0;
    for (i = 0; i < len; i++) {
        if (body[i] == '\0' || body[i] == '\r')
            return 0;
        if (body[i] == '\n' && i + 1 < len && body[i + 1] == '\n')
            return 0;
    }
    return 1;
}

int ll_note_sign(const char *body, size_t len, const char *name,
                 const ll_key_t *key, char *out, size_t cap, size_t *outlen)
{
    uint8_t pub[LL_PUBKEY_LEN], blob[SIGBLOB_LEN];
    char b64[ll_base64_len(SIGBLOB_LEN) + 1];
    size_t b64len, need;
    int rc;

    if (!body_valid(body, len) || !ll_note_name_valid(name))
        return LL_ERR_INVALID;
    ll_key_public(key, pub);
    ll_note_keyhash(name, pub, blob);
    rc = ll_key_sign(key, body, len, blob + KEYHASH_LEN);
    if (rc != LL_OK)
        return rc;
    b64len = ll_base64_encode(blob, sizeof(blob), b64);
    need = len + 1 + strlen(EM_DASH) + 1 + strlen(name) + 1 + b64len + 1;
    if (need + 1 > cap || need > LL_NOTE_MAX)
        return LL_ERR_BUFFER;
    memcpy(out, body, len);
    snprintf(out + len, cap - len, "\n" EM_DASH " %s %s\n", name, b64);
    *outlen = need;
    return LL_OK;
}

int ll_note_verify(const char *note, size_t len, const char *name,
                   const uint8_t pub[LL_PUBKEY_LEN], size_t *body_len)
{
    const char *sep = NULL, *p, *end = note + len;
    uint8_t kh[KEYHASH_LEN];
    size_t blen, i, nlen = strlen(name);
    int found = 0, rc = LL_ERR_NOT_FOUND;

    if (len == 0 || len > LL_NOTE_MAX || note[len - 1] != '\n')
        return LL_ERR_INVALID;
    for (i = 0; i < len; i++)
        if (note[i] == '\0' || note[i] == '\r')
            return LL_ERR_INVALID;
    /* The body ends at the first blank line. */
    for (i = 0; i + 1 < len; i++) {
        if (note[i] == '\n' && note[i + 1] == '\n') {
            sep = note + i;
            break;
        }
    }
    if (!sep)
        return LL_ERR_INVALID;
    blen = (size_t)(sep - note) + 1;
    if (!body_valid(note, blen))
        return LL_ERR_INVALID;
    ll_note_keyhash(name, pub, kh);

    for (p = sep + 2; p < end;) {
        const char *eol = memchr(p, '\n', (size_t)(end - p)), *sp, *sigtext;
        /* Room for other algorithms' lines too: Ed25519 cosignatures
         * (76 bytes), ML-DSA-44 ones (2,432 bytes). */
        uint8_t blob[4096];
        size_t bloblen;

        if (!eol || (size_t)(eol - p) < strlen(EM_DASH) + 3 ||
            memcmp(p, EM_DASH " ", strlen(EM_DASH) + 1) != 0)
            return LL_ERR_INVALID;
        p += strlen(EM_DASH) + 1;
        sp = memchr(p, ' ', (size_t)(eol - p));
        if (!sp || sp == p)
            return LL_ERR_INVALID;
        sigtext = sp + 1;
        if (ll_base64_decode(sigtext, (size_t)(eol - sigtext), blob,
                             sizeof(blob), &bloblen) != LL_OK ||
            bloblen < KEYHASH_LEN + 1)
            return LL_ERR_INVALID;
        /* Lines for other keys (other witnesses, other algorithms) are
         * allowed and skipped; only ours must verify. */
        if (!found && (size_t)(sp - p) == nlen && memcmp(p, name, nlen) == 0 &&
            memcmp(blob, kh, KEYHASH_LEN) == 0) {
            found = 1;
            if (bloblen != SIGBLOB_LEN)
                rc = LL_ERR_BAD_SIGNATURE;
            else
                rc = ll_ed25519_verify(pub, note, blen, blob + KEYHASH_LEN,
                                       LL_SIG_LEN);
        }
        p = eol + 1;
    }
    if (rc == LL_OK)
        *body_len = blen;
    return rc;
}

int ll_checkpoint_format(const ll_checkpoint_t *cp, char *out, size_t cap,
                         size_t *outlen)
{
    char b64[ll_base64_len(LL_HASH_LEN) + 1];
    int n;

    if (!ll_note_name_valid(cp->origin))
        return LL_ERR_INVALID;
    ll_base64_encode(cp->root, LL_HASH_LEN, b64);
    n = snprintf(out, cap, "%s\n%llu\n%s\n", cp->origin,
                 (unsigned long long)cp->size, b64);
    if (n < 0 || (size_t)n >= cap)
        return LL_ERR_BUFFER;
    *outlen = (size_t)n;
    return LL_OK;
}

/* Next line of [*p, end) without its '\n'; 0 if there is none. */
static int next_line(const char **p, const char *end, const char **line,
                     size_t *n)
{
    const char *eol;

    if (*p >= end)
        return 0;
    eol = memchr(*p, '\n', (size_t)(end - *p));
    if (!eol)
        return 0;
    *line = *p;
    *n = (size_t)(eol - *p);
    *p = eol + 1;
    return 1;
}

int ll_checkpoint_parse(const char *body, size_t len, ll_checkpoint_t *out)
{
    const char *p = body, *end = body + len, *line;
    size_t n, i, rootlen;
    uint64_t size = 0;

    if (!body_valid(body, len))
        return LL_ERR_INVALID;
    if (!next_line(&p, end, &line, &n) || n == 0 || n > LL_NOTE_MAX_NAME)
        return LL_ERR_INVALID;
    memcpy(out->origin, line, n);
    out->origin[n] = '\0';
    /* The origin may contain spaces per C2SP but must be printable; we use
     * the stricter name rule since our origins are also key names. */
    if (!ll_note_name_valid(out->origin))
        return LL_ERR_INVALID;
    if (!next_line(&p, end, &line, &n) || n == 0 || n > 20 ||
        (line[0] == '0' && n > 1))
        return LL_ERR_INVALID;
    for (i = 0; i < n; i++) {
        unsigned d;
        if (line[i] < '0' || line[i] > '9')
            return LL_ERR_INVALID;
        d = (unsigned)(line[i] - '0');
        if (size > (UINT64_MAX - d) / 10)
            return LL_ERR_INVALID;
        size = size * 10 + d;
    }
    out->size = size;
    if (!next_line(&p, end, &line, &n) ||
        ll_base64_decode(line, n, out->root, LL_HASH_LEN, &rootlen) != LL_OK ||
        rootlen != LL_HASH_LEN)
        return LL_ERR_INVALID;
    return LL_OK;
}
