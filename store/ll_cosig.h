/*
 * ll_cosig: C2SP tlog-cosignature (https://c2sp.org/tlog-cosignature),
 * Ed25519 "cosignature/v1": a witness's timestamped statement that a
 * checkpoint is the largest consistent tree it has seen for that log.
 *
 * A cosignature is a signed-note signature line
 *     "— <witness name> base64(keyid[4] || timestamp u64 BE || sig[64])\n"
 * keyid = SHA-256(name || "\n" || 0x04 || pub)[:4], and sig is Ed25519 over
 *     "cosignature/v1\ntime <timestamp decimal>\n" || checkpoint body
 * (the body with its final newline, no signature lines). Verifier keys are
 * "<name>+<8 hex keyid>+base64(0x04 || pub)" (signed-note vkeys with
 * signature type 0x04).
 */
#ifndef LL_COSIG_H
#define LL_COSIG_H

#include <stddef.h>
#include <stdint.h>

#include "ll_crypto.h"
#include "ll_note.h"

/* Longest cosignature line this module writes, with its NUL. */
#define LL_COSIG_LINE_MAX (LL_NOTE_MAX_NAME + 128)

typedef struct ll_cosigner {
    char name[LL_NOTE_MAX_NAME + 1];
    uint8_t pub[LL_PUBKEY_LEN];
} ll_cosigner_t;

void ll_cosig_keyid(const char *name, const uint8_t pub[LL_PUBKEY_LEN], uint8_t out[4]);

/* Verifier key of a cosigner into out[cap]. LL_ERR_INVALID (bad name),
 * LL_ERR_BUFFER. */
int ll_cosig_verifier_key(const char *name, const uint8_t pub[LL_PUBKEY_LEN], char *out,
                          size_t cap);

/* Parses a cosigner verifier key (type 0x04; the key id must match).
 * LL_ERR_INVALID otherwise. */
int ll_cosig_parse_verifier_key(const char *vkey, ll_cosigner_t *out);

/* Signs the checkpoint body (body_len bytes: a valid note body ending in
 * '\n') at time ts (POSIX seconds, 1..2^63-1) and writes the signature
 * line, NUL-terminated, into line[LL_COSIG_LINE_MAX]. */
int ll_cosig_sign(const char *body, size_t body_len, const char *name, const ll_key_t *key,
                  uint64_t ts, char line[LL_COSIG_LINE_MAX]);

/* Looks in note (len bytes: body, blank line, signature lines) for a line
 * of cosigner c and verifies it. LL_OK and *ts (may be NULL) on success;
 * LL_ERR_NOT_FOUND when no line has c's name and key id; LL_ERR_BAD_SIGNATURE
 * when such a line does not verify; LL_ERR_INVALID for a malformed note. */
int ll_cosig_verify(const char *note, size_t len, const ll_cosigner_t *c, uint64_t *ts);

#endif
