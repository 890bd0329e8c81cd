/*
 * ll_dsse: DSSE v1 pre-authentication encoding and Ed25519 over it.
 *
 * Signing PAE(type, body) instead of the body alone binds the payload type
 * into the signature, so an entry signed for loopledger can never be
 * replayed as some other protocol's message with the same bytes.
 */
#include "ll_dsse.h"

#include <stdlib.h>
#include <string.h>

#include "ll_err.h"

static size_t dec_len(size_t v)
{
    size_t n = 1;

    while (v >= 10) {
        v /= 10;
        n++;
    }
    return n;
}

size_t ll_dsse_pae_len(size_t type_len, size_t body_len)
{
    /* "DSSEv1" SP LEN SP type SP LEN SP body */
    return 6 + 1 + dec_len(type_len) + 1 + type_len + 1 + dec_len(body_len) +
           1 + body_len;
}

/* Writes v in decimal at out; returns the digits written (dec_len(v)). */
static size_t put_dec(uint8_t *out, size_t v)
{
    size_t n = dec_len(v);
    for (size_t i = n; i-- > 0; v /= 10)
        out[i] = (uint8_t)('0' + v % 10);
    return n;
}

int ll_dsse_pae(const char *type, size_t type_len, const uint8_t *body,
                size_t body_len, uint8_t *out, size_t cap, size_t *outlen)
{
    size_t need = ll_dsse_pae_len(type_len, body_len), o;

    if (cap < need)
        return LL_ERR_BUFFER;
    /* Built by hand, not with snprintf: every Append builds it twice (its
     * dedup key, its signature check). */
    memcpy(out, "DSSEv1 ", 7);
    o = 7;
    o += put_dec(out + o, type_len);
    out[o++] = ' ';
    memcpy(out + o, type, type_len);
    o += type_len;
    out[o++] = ' ';
    o += put_dec(out + o, body_len);
    out[o++] = ' ';
    if (body_len)
        memcpy(out + o, body, body_len);
    o += body_len;
    *outlen = o;
    return LL_OK;
}

/* Builds PAE in a stack buffer when small (the common case: entries are a
 * few hundred bytes), else on the heap. */
static int pae_build(const char *type, size_t type_len, const uint8_t *body,
                     size_t body_len, uint8_t *stack, size_t stack_cap,
                     uint8_t **pae, size_t *pae_len)
{
    size_t need = ll_dsse_pae_len(type_len, body_len);
    uint8_t *buf = stack;

    if (need > stack_cap) {
        buf = malloc(need);
        if (!buf)
            return LL_ERR_NOMEM;
    }
    *pae = buf;
    return ll_dsse_pae(type, type_len, body, body_len, buf, need, pae_len);
}

int ll_dsse_sign(const ll_key_t *key, const char *type, size_t type_len,
                 const uint8_t *body, size_t body_len, uint8_t sig[LL_SIG_LEN])
{
    uint8_t stack[2048], *pae = NULL;
    size_t len;
    int rc;

    rc = pae_build(type, type_len, body, body_len, stack, sizeof(stack), &pae,
                   &len);
    if (rc == LL_OK)
        rc = ll_key_sign(key, pae, len, sig);
    if (pae != stack)
        free(pae);
    return rc;
}

int ll_dsse_verify(const uint8_t pub[LL_PUBKEY_LEN], const char *type,
                   size_t type_len, const uint8_t *body, size_t body_len,
                   const uint8_t *sig, size_t siglen)
{
    uint8_t stack[2048], *pae = NULL;
    size_t len;
    int rc;

    rc = pae_build(type, type_len, body, body_len, stack, sizeof(stack), &pae,
                   &len);
    if (rc == LL_OK)
        rc = ll_ed25519_verify(pub, pae, len, sig, siglen);
    if (pae != stack)
        free(pae);
    return rc;
}
