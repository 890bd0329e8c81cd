/*
 * ll_note: C2SP signed-note (https://c2sp.org/signed-note) with Ed25519
 * keys, and C2SP tlog-checkpoint bodies (https://c2sp.org/tlog-checkpoint).
 *
 * A note is: body text (non-empty, ends in '\n'), a blank line, then one or
 * more signature lines "— <name> <base64(keyhash[4] || sig[64])>\n" (U+2014
 * EM DASH). keyhash = first 4 bytes of SHA-256(name || "\n" || 0x01 || pub).
 * The signature is Ed25519 over the body text including its final newline.
 * A verifier key is printed as "<name>+<8 hex keyhash>+<base64(0x01||pub)>".
 *
 * A checkpoint body is "<origin>\n<tree size decimal>\n<base64 root>\n",
 * optionally followed by extension lines (kept, not interpreted).
 */
#ifndef LL_NOTE_H
#define LL_NOTE_H

#include <stddef.h>
#include <stdint.h>

#include "ll_crypto.h"

#define LL_NOTE_MAX_NAME 255
#define LL_NOTE_MAX 8192 /* largest note this module produces or accepts */

/* 1 if name is a valid key name / origin: non-empty, at most
 * LL_NOTE_MAX_NAME bytes, printable ASCII without spaces or '+'. */
int ll_note_name_valid(const char *name);

void ll_note_keyhash(const char *name, const uint8_t pub[LL_PUBKEY_LEN],
                     uint8_t out[4]);

/* Writes the verifier key string (NUL-terminated) into out[cap].
 * LL_ERR_INVALID for a bad name, LL_ERR_BUFFER if cap is too small. */
int ll_note_verifier_key(const char *name, const uint8_t pub[LL_PUBKEY_LEN],
                         char *out, size_t cap);

/* Parses a verifier key string; checks that its key hash matches.
 * name receives the NUL-terminated name (namecap >= LL_NOTE_MAX_NAME+1). */
int ll_note_parse_verifier_key(const char *vkey, char *name, size_t namecap,
                               uint8_t pub[LL_PUBKEY_LEN]);

/* Signs body (len bytes, must end in '\n' and contain no blank line) and
 * writes the whole note, NUL-terminated, into out[cap]; *outlen excludes
 * the NUL. */
int ll_note_sign(const char *body, size_t len, const char *name,
                 const ll_key_t *key, char *out, size_t cap, size_t *outlen);

/* Verifies note (len bytes) against the key (name, pub): the note must be
 * well formed and carry a signature line with that name and key hash whose
 * signature verifies. Other signature lines are ignored. On success
 * *body_len is the length of the body text (prefix of note).
 * LL_ERR_INVALID (malformed), LL_ERR_NOT_FOUND (no line for this key),
 * LL_ERR_BAD_SIGNATURE. */
LL_MUST_CHECK int ll_note_verify(const char *note, size_t len, const char *name,
                   const uint8_t pub[LL_PUBKEY_LEN], size_t *body_len);

typedef struct ll_checkpoint {
    char origin[LL_NOTE_MAX_NAME + 1];
    uint64_t size;
    uint8_t root[LL_HASH_LEN];
} ll_checkpoint_t;

/* Writes the checkpoint body (NUL-terminated) into out[cap]; *outlen
 * excludes the NUL. */
int ll_checkpoint_format(const ll_checkpoint_t *cp, char *out, size_t cap,
                         size_t *outlen);

/* Parses a checkpoint body (the first three lines; extension lines are
 * allowed and ignored). LL_ERR_INVALID if malformed. */
int ll_checkpoint_parse(const char *body, size_t len, ll_checkpoint_t *out);

#endif
