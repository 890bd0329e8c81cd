/*
 * ll_dsse: DSSE v1 pre-authentication encoding and Ed25519 over it.
 *
 * Signing PAE(type, body) instead of the body alone binds the payload type
 * into the signature, so an entry signed for loopledger can never be
 * replayed as some other protocol's message with the same bytes.
 */
#include "ll_dsse.h"

#include <stdio.h>
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

int ll_dsse_pae(const char *type, size_t type_len, const uint8_t *body,
                size_t body_len, uint8_t *out, size_t cap, size_t *outlen)
{
    size_t need = ll_dsse_pae_len(type_len, body_len), o;
    int n;

    if (cap < need)
        return LL_ERR_BUFFER;
    /* snprintf writes a NUL we do not want counted; the header fits easily
     * in cap because need >= header length + bodies. */
    n = snprintf((char *)out, cap, "DSSEv1 %zu ", type_len);
    o = (size_t)n;
    memcpy(out + o, type, type_len);
    o += type_len;
    n = snprintf((char *)out + o, cap - o, " %zu ", body_len);
    o += (size_t)n;
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
