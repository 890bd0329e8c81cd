/*
 * ll_dsse: DSSE v1 (https://github.com/secure-systems-lab/dsse) Pre-
 * Authentication Encoding and Ed25519 signing/verification over it.
 *
 * PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body,
 * where LEN is the byte length in ASCII decimal without leading zeros.
 */
#ifndef LL_DSSE_H
#define LL_DSSE_H

#include <stddef.h>
#include <stdint.h>

#include "ll_crypto.h"

#define LL_DSSE_PAYLOAD_TYPE "application/vnd.loopledger.entry+protobuf"

/* Length of PAE(type, body) for the given lengths. */
size_t ll_dsse_pae_len(size_t type_len, size_t body_len);

/* Writes PAE into out[cap]; *outlen receives its length. LL_ERR_BUFFER if
 * cap < ll_dsse_pae_len(). */
int ll_dsse_pae(const char *type, size_t type_len, const uint8_t *body,
                size_t body_len, uint8_t *out, size_t cap, size_t *outlen);

/* Signs PAE(type, body) with key. */
int ll_dsse_sign(const ll_key_t *key, const char *type, size_t type_len,
                 const uint8_t *body, size_t body_len, uint8_t sig[LL_SIG_LEN]);

/* Verifies sig over PAE(type, body) with pub. LL_OK, LL_ERR_BAD_SIGNATURE,
 * LL_ERR_NOMEM or LL_ERR_CRYPTO. */
LL_MUST_CHECK int ll_dsse_verify(const uint8_t pub[LL_PUBKEY_LEN], const char *type,
                                 size_t type_len, const uint8_t *body, size_t body_len,
                                 const uint8_t *sig, size_t siglen);

#endif
