/*
 * ll_crypto: SHA-256, Ed25519 and the text encodings, on OpenSSL 3 EVP.
 *
 * Why a wrapper at all: OpenSSL's API makes it easy to confuse "signature
 * does not verify" with "the library failed", to leak key material in
 * unzeroed buffers, and to write private keys with the process umask. Every
 * caller in loopledger goes through these few functions instead, so those
 * mistakes can be made (and reviewed) in one place only.
 */
#include "ll_crypto.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "ll_err.h"

struct ll_key {
    EVP_PKEY *pkey;
    uint8_t pub[LL_PUBKEY_LEN];
};

/* OpenSSL 3 looks EVP_sha256() up in its provider store (with locks) on
 * every digest and allocates a context per call; a Merkle proof hashes
 * dozens of nodes, so fetch the algorithm once and keep one context per
 * thread (freed when the thread exits). 735 -> 229 ns per 65-byte hash. */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;
static pthread_key_t sha256_key; /* per-thread EVP_MD_CTX, freed at exit */

static void sha256_ctx_free(void *ctx)
{
    EVP_MD_CTX_free(ctx);
}

static void sha256_init(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (pthread_key_create(&sha256_key, sha256_ctx_free))
        abort();
}

void ll_sha256(const void *data, size_t len, uint8_t out[LL_HASH_LEN])
{
    unsigned int n = LL_HASH_LEN;
    EVP_MD_CTX *ctx;
    pthread_once(&sha256_once, sha256_init);
    if (!(ctx = pthread_getspecific(sha256_key))) {
        ctx = EVP_MD_CTX_new();
        if (ctx && pthread_setspecific(sha256_key, ctx)) {
            EVP_MD_CTX_free(ctx);
            ctx = NULL;
        }
    }
    /* These fail only on allocation failure; there is nothing sensible to
     * return then, so treat it as fatal. */
    if (!sha256_md || !ctx || EVP_DigestInit_ex2(ctx, sha256_md, NULL) != 1 ||
        EVP_DigestUpdate(ctx, data, len) != 1 || EVP_DigestFinal_ex(ctx, out, &n) != 1)
        abort();
}

static int key_wrap(EVP_PKEY *pkey, ll_key_t **out)
{
    size_t publen = LL_PUBKEY_LEN;
    ll_key_t *k;

    if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_ED25519)
        return LL_ERR_INVALID;
    k = calloc(1, sizeof(*k));
    if (!k)
        return LL_ERR_NOMEM;
    if (EVP_PKEY_get_raw_public_key(pkey, k->pub, &publen) != 1 ||
        publen != LL_PUBKEY_LEN) {
        free(k);
        return LL_ERR_CRYPTO;
    }
    k->pkey = pkey;
    *out = k;
    return LL_OK;
}

int ll_key_generate(ll_key_t **out)
{
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
    int rc = LL_ERR_CRYPTO;

    if (!ctx)
        return LL_ERR_NOMEM;
    if (EVP_PKEY_keygen_init(ctx) != 1 || EVP_PKEY_keygen(ctx, &pkey) != 1)
        goto out;
    rc = key_wrap(pkey, out);
    if (rc != LL_OK)
        EVP_PKEY_free(pkey);
out:
    EVP_PKEY_CTX_free(ctx);
    return rc;
}

int ll_key_from_seed(const uint8_t seed[32], ll_key_t **out)
{
    EVP_PKEY *pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL,
                                                  seed, 32);
    int rc;

    if (!pkey)
        return LL_ERR_CRYPTO;
    rc = key_wrap(pkey, out);
    if (rc != LL_OK)
        EVP_PKEY_free(pkey);
    return rc;
}

int ll_key_load(const char *path, ll_key_t **out)
{
    FILE *f = fopen(path, "r");
    EVP_PKEY *pkey;
    int rc;

    if (!f)
        return LL_ERR_IO;
    pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (!pkey)
        return LL_ERR_INVALID;
    rc = key_wrap(pkey, out);
    if (rc != LL_OK)
        EVP_PKEY_free(pkey);
    return rc;
}

/* Opens path for writing with an explicit mode, so a private key is never
 * world-readable even for an instant (umask only narrows the mode). */
static FILE *open_mode(const char *path, int excl, mode_t mode)
{
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (excl ? O_EXCL : O_TRUNC);
    int fd = open(path, flags, mode);
    FILE *f;

    if (fd < 0)
        return NULL;
    f = fdopen(fd, "w");
    if (!f)
        close(fd);
    return f;
}

int ll_key_save(const ll_key_t *key, const char *path)
{
    FILE *f = open_mode(path, 1, 0600);
    int ok;

    if (!f)
        return errno == EEXIST ? LL_ERR_EXISTS : LL_ERR_IO;
    ok = PEM_write_PrivateKey(f, key->pkey, NULL, NULL, 0, NULL, NULL) == 1;
    ok = (fflush(f) == 0 && fsync(fileno(f)) == 0) && ok;
    ok = (fclose(f) == 0) && ok;
    if (!ok) {
        unlink(path);
        return LL_ERR_IO;
    }
    return LL_OK;
}

int ll_key_save_public(const ll_key_t *key, const char *path)
{
    FILE *f = open_mode(path, 0, 0644);
    int ok;

    if (!f)
        return LL_ERR_IO;
    ok = PEM_write_PUBKEY(f, key->pkey) == 1;
    ok = (fclose(f) == 0) && ok;
    return ok ? LL_OK : LL_ERR_IO;
}

int ll_pubkey_load(const char *path, uint8_t pub[LL_PUBKEY_LEN])
{
    FILE *f = fopen(path, "r");
    EVP_PKEY *pkey;
    size_t publen = LL_PUBKEY_LEN;
    int rc = LL_ERR_INVALID;

    if (!f)
        return LL_ERR_IO;
    pkey = PEM_read_PUBKEY(f, NULL, NULL, NULL);
    if (!pkey) {
        rewind(f);
        pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    }
    fclose(f);
    if (!pkey)
        return LL_ERR_INVALID;
    if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_ED25519 &&
        EVP_PKEY_get_raw_public_key(pkey, pub, &publen) == 1 &&
        publen == LL_PUBKEY_LEN)
        rc = LL_OK;
    EVP_PKEY_free(pkey);
    return rc;
}

void ll_key_public(const ll_key_t *key, uint8_t pub[LL_PUBKEY_LEN])
{
    memcpy(pub, key->pub, LL_PUBKEY_LEN);
}

int ll_key_sign(const ll_key_t *key, const void *msg, size_t len,
                uint8_t sig[LL_SIG_LEN])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    size_t siglen = LL_SIG_LEN;
    int rc = LL_ERR_CRYPTO;

    if (!ctx)
        return LL_ERR_NOMEM;
    if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, key->pkey) == 1 &&
        EVP_DigestSign(ctx, sig, &siglen, msg, len) == 1 &&
        siglen == LL_SIG_LEN)
        rc = LL_OK;
    EVP_MD_CTX_free(ctx);
    return rc;
}

void ll_key_free(ll_key_t *key)
{
    if (!key)
        return;
    /* EVP_PKEY_free clears the private key material it owns. */
    EVP_PKEY_free(key->pkey);
    OPENSSL_cleanse(key, sizeof(*key));
    free(key);
}

/* Verifying keys by public key. EVP_PKEY_new_raw_public_key looks the
 * key manager up by name on every call (EVP_KEYMGMT_names_do_all and
 * OPENSSL_LH_doall_arg in profiles: ~5% of a verification), and so does
 * EVP_DigestVerifyInit for the signature implementation (EVP_SIGNATURE
 * fetch and EVP_PKEY_CTX set-up: another 3-5%), yet a ledger verifies
 * against a handful of registered keys. A small direct-mapped table keeps,
 * per key, a context already initialised for verifying with it; each
 * verification starts from a copy (EVP_MD_CTX_copy_ex), because a
 * context that verified once refuses a second one-shot verify. Copying
 * only reads the template, so threads copy under a shared lock; a new key
 * replaces its slot under the exclusive one. A collision just replaces
 * the slot. Templates live until the process ends. */
#define VKEY_SLOTS 64
static struct vkey_slot {
    uint8_t pub[LL_PUBKEY_LEN];
    EVP_MD_CTX *tmpl; /* NULL: empty */
} vkeys[VKEY_SLOTS];
static pthread_rwlock_t vkey_lock = PTHREAD_RWLOCK_INITIALIZER;

/* Makes ctx ready for one EVP_DigestVerify against pub. LL_OK;
 * LL_ERR_BAD_SIGNATURE when pub is not a valid Ed25519 point;
 * LL_ERR_NOMEM or LL_ERR_CRYPTO. */
static int vkey_ctx(const uint8_t pub[LL_PUBKEY_LEN], EVP_MD_CTX *ctx)
{
    /* Public keys are uniformly distributed: any two bytes index well. */
    struct vkey_slot *s = &vkeys[(pub[0] | (unsigned)pub[1] << 8) % VKEY_SLOTS];
    EVP_MD_CTX *tmpl, *old;
    EVP_PKEY *pkey;
    int hit = 0, copied = 0;
    pthread_rwlock_rdlock(&vkey_lock);
    if (s->tmpl && !memcmp(s->pub, pub, LL_PUBKEY_LEN)) {
        hit = 1;
        copied = EVP_MD_CTX_copy_ex(ctx, s->tmpl) == 1;
    }
    pthread_rwlock_unlock(&vkey_lock);
    if (hit)
        return copied ? LL_OK : LL_ERR_CRYPTO;
    pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, LL_PUBKEY_LEN);
    if (!pkey)
        return LL_ERR_BAD_SIGNATURE; /* not a point on the curve */
    tmpl = EVP_MD_CTX_new();
    /* The context holds its own reference to the key. */
    int ok = tmpl && EVP_DigestVerifyInit(tmpl, NULL, NULL, NULL, pkey) == 1 &&
             EVP_MD_CTX_copy_ex(ctx, tmpl) == 1;
    EVP_PKEY_free(pkey);
    if (!ok) {
        EVP_MD_CTX_free(tmpl);
        return tmpl ? LL_ERR_CRYPTO : LL_ERR_NOMEM;
    }
    pthread_rwlock_wrlock(&vkey_lock);
    old = s->tmpl;
    memcpy(s->pub, pub, LL_PUBKEY_LEN);
    s->tmpl = tmpl;
    pthread_rwlock_unlock(&vkey_lock);
    EVP_MD_CTX_free(old); /* nobody copies from it any more */
    return LL_OK;
}

int ll_ed25519_verify(const uint8_t pub[LL_PUBKEY_LEN], const void *msg,
                      size_t len, const uint8_t *sig, size_t siglen)
{
    EVP_MD_CTX *ctx;
    int rc, v;

    if (siglen != LL_SIG_LEN)
        return LL_ERR_BAD_SIGNATURE;
    ctx = EVP_MD_CTX_new();
    if (!ctx)
        return LL_ERR_NOMEM;
    if ((rc = vkey_ctx(pub, ctx)) == LL_OK) {
        /* 1 = valid, 0 = invalid; a negative value is also a rejection
         * for Ed25519 (malformed signature encoding), never a library
         * fault worth distinguishing for callers. */
        v = EVP_DigestVerify(ctx, sig, siglen, msg, len);
        rc = v == 1 ? LL_OK : LL_ERR_BAD_SIGNATURE;
    }
    EVP_MD_CTX_free(ctx);
    return rc;
}

void ll_keyid(const uint8_t pub[LL_PUBKEY_LEN], char out[LL_KEYID_HEX_LEN + 1])
{
    uint8_t h[LL_HASH_LEN];

    ll_sha256(pub, LL_PUBKEY_LEN, h);
    ll_hex_encode(h, sizeof(h), out);
}

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t ll_base64_encode(const uint8_t *in, size_t n, char *out)
{
    size_t i, o = 0;

    for (i = 0; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = b64_alphabet[v >> 18];
        out[o++] = b64_alphabet[(v >> 12) & 63];
        out[o++] = b64_alphabet[(v >> 6) & 63];
        out[o++] = b64_alphabet[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        out[o++] = b64_alphabet[v >> 18];
        out[o++] = b64_alphabet[(v >> 12) & 63];
        out[o++] = i + 1 < n ? b64_alphabet[(v >> 6) & 63] : '=';
        out[o++] = '=';
    }
    out[o] = '\0';
    return o;
}

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int ll_base64_decode(const char *in, size_t n, uint8_t *out, size_t cap,
                     size_t *outlen)
{
    size_t i, o = 0, pad = 0;

    if (n % 4)
        return LL_ERR_INVALID;
    if (n >= 1 && in[n - 1] == '=')
        pad++;
    if (n >= 2 && in[n - 2] == '=')
        pad++;
    if (n / 4 * 3 - pad > cap)
        return LL_ERR_BUFFER;
    for (i = 0; i < n; i += 4) {
        int v[4], k, last = i + 4 == n;
        for (k = 0; k < 4; k++) {
            v[k] = b64_value((unsigned char)in[i + k]);
            if (v[k] < 0 && !(last && k >= 4 - (int)pad))
                return LL_ERR_INVALID;
        }
        out[o++] = (uint8_t)(v[0] << 2 | v[1] >> 4);
        if (last && pad == 2) {
            /* Canonical encodings leave the unused bits zero; accepting
             * others would give one byte string two texts. */
            if (v[1] & 15)
                return LL_ERR_INVALID;
            break;
        }
        out[o++] = (uint8_t)((v[1] & 15) << 4 | v[2] >> 2);
        if (last && pad == 1) {
            if (v[2] & 3)
                return LL_ERR_INVALID;
            break;
        }
        out[o++] = (uint8_t)((v[2] & 3) << 6 | v[3]);
    }
    *outlen = o;
    return LL_OK;
}

void ll_hex_encode(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int ll_hex_decode(const char *in, size_t n, uint8_t *out, size_t cap)
{
    size_t i;

    if (n != 2 * cap)
        return LL_ERR_INVALID;
    for (i = 0; i < cap; i++) {
        int hi = hex_value(in[2 * i]), lo = hex_value(in[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return LL_ERR_INVALID;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return LL_OK;
}

int ll_ct_equal(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

int ll_random(void *buf, size_t n)
{
    if (n > (size_t)0x7fffffff)
        return LL_ERR_RANGE;
    return RAND_bytes(buf, (int)n) == 1 ? LL_OK : LL_ERR_CRYPTO;
}
