/*
 * ll_crypto: the small, hard-to-misuse crypto surface of loopledger, on
 * OpenSSL 3 EVP: SHA-256, Ed25519 keys/signatures, key files, base64, hex.
 *
 * Keys are opaque (ll_key_t); public keys cross module boundaries as raw
 * 32-byte arrays. Private key files are PKCS#8 PEM written with mode 0600;
 * public key files are SubjectPublicKeyInfo PEM. Verification returns
 * LL_ERR_BAD_SIGNATURE for a signature that does not verify and reserves
 * LL_ERR_CRYPTO for failures of the library itself.
 */
#ifndef LL_CRYPTO_H
#define LL_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "ll_err.h"

#define LL_HASH_LEN 32
#define LL_PUBKEY_LEN 32
#define LL_SIG_LEN 64
#define LL_KEYID_HEX_LEN 64 /* hex SHA-256 of the raw public key */

typedef struct ll_key ll_key_t; /* an Ed25519 private key */

/* SHA-256 of len bytes at data into out. Never fails. */
void ll_sha256(const void *data, size_t len, uint8_t out[LL_HASH_LEN]);

/* Generates a fresh Ed25519 key. *out is owned by the caller (ll_key_free). */
int ll_key_generate(ll_key_t **out);

/* Builds the key whose 32-byte RFC 8032 private seed is seed (for known-
 * answer tests and deterministic tooling). Caller frees *out. */
int ll_key_from_seed(const uint8_t seed[32], ll_key_t **out);

/* Reads a PKCS#8 PEM Ed25519 private key. LL_ERR_IO if unreadable,
 * LL_ERR_INVALID if not an Ed25519 private key. Caller frees *out. */
int ll_key_load(const char *path, ll_key_t **out);

/* Writes key as PKCS#8 PEM to path, created with mode 0600 (fails with
 * LL_ERR_EXISTS if path exists). */
int ll_key_save(const ll_key_t *key, const char *path);

/* Writes the public half as SubjectPublicKeyInfo PEM (mode 0644, replaces). */
int ll_key_save_public(const ll_key_t *key, const char *path);

/* Reads a public key file: SubjectPublicKeyInfo PEM, or a PKCS#8 private key
 * PEM (its public half is taken). */
int ll_pubkey_load(const char *path, uint8_t pub[LL_PUBKEY_LEN]);

/* Raw 32-byte public key of key. */
void ll_key_public(const ll_key_t *key, uint8_t pub[LL_PUBKEY_LEN]);

/* Ed25519 signature of msg. LL_ERR_CRYPTO on library failure. */
int ll_key_sign(const ll_key_t *key, const void *msg, size_t len,
                uint8_t sig[LL_SIG_LEN]);

/* Frees key, zeroing its secret. NULL is allowed. */
void ll_key_free(ll_key_t *key);

/* Verifies an Ed25519 signature. LL_OK, LL_ERR_BAD_SIGNATURE (also for a
 * siglen other than 64 or an invalid public key), or LL_ERR_CRYPTO. */
LL_MUST_CHECK int ll_ed25519_verify(const uint8_t pub[LL_PUBKEY_LEN], const void *msg,
                                    size_t len, const uint8_t *sig, size_t siglen);

/* Key id: lowercase hex SHA-256 of the raw public key, NUL-terminated. */
void ll_keyid(const uint8_t pub[LL_PUBKEY_LEN], char out[LL_KEYID_HEX_LEN + 1]);

/* Standard base64 (RFC 4648 section 4, with padding). encode writes
 * ll_base64_len(n)+1 bytes including the NUL and returns the text length. */
#define ll_base64_len(n) (4 * (((size_t)(n) + 2) / 3))
size_t ll_base64_encode(const uint8_t *in, size_t n, char *out);
/* Strict decode (padding required, no whitespace). LL_ERR_INVALID on bad
 * input, LL_ERR_BUFFER if cap is too small. */
int ll_base64_decode(const char *in, size_t n, uint8_t *out, size_t cap,
                     size_t *outlen);

/* Lowercase hex; out needs 2n+1 bytes. */
void ll_hex_encode(const uint8_t *in, size_t n, char *out);
/* Exactly 2*cap hex digits into cap bytes; LL_ERR_INVALID otherwise. */
int ll_hex_decode(const char *in, size_t n, uint8_t *out, size_t cap);

/* Constant-time equality of n bytes: 1 if equal. */
int ll_ct_equal(const void *a, const void *b, size_t n);

/* Fills buf with n cryptographically random bytes. */
int ll_random(void *buf, size_t n);

#endif
