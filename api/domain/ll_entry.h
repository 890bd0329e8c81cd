/*
 * ll_entry: decoding and stateless validation of signed entries, and the
 * byte layouts the log commits to.
 *
 * Wire facts used here:
 *   - AppendRequest field 1 is the Envelope; its bytes are kept exactly as
 *     received (ll_entry_find_envelope), never re-encoded.
 *   - A leaf is a LogEntry serialized as: field 1 (seq, varint), field 2
 *     (server time, varint), field 3 (the envelope bytes as received).
 *     ll_leaf_build writes exactly that; any protobuf parser reads it.
 *   - The dedup key of an entry is SHA-256(PAE(payloadType, payload)): the
 *     signed statement, so the same statement is recorded once.
 */
#ifndef LL_ENTRY_H
#define LL_ENTRY_H

#include <stddef.h>
#include <stdint.h>

#include "ll_arena.h"
#include "ll_crypto.h"
#include "ll_index.h"
#include "ll_store.h"
#include "loopledger/v1/entry.pb-c.h"

#define LL_MAX_LINKS 256

/* A decoded, statelessly valid entry. Owns its protobuf-c objects, which
 * live in its arena: never free them one by one (ll_entry_free). */
typedef struct ll_entry {
    Loopledger__V1__Envelope *env;
    Loopledger__V1__EntryBody *body;
    ll_arena_t arena; /* env and body, and everything they point to */
    const uint8_t *raw_env; /* borrowed: the caller's envelope bytes */
    size_t raw_env_len;
    uint8_t keyid[LL_HASH_LEN]; /* of the first signature */
    const uint8_t *sig;          /* borrowed from env */
    size_t sig_len;
    uint8_t dedup[LL_HASH_LEN];
} ll_entry_t;

/* Finds AppendRequest.envelope (field 1) in a serialized AppendRequest.
 * LL_ERR_INVALID if the message is malformed or has no envelope. */
int ll_entry_find_envelope(const uint8_t *req, size_t len, const uint8_t **env,
                           size_t *env_len);
/* The same, and AppendRequest.validate_only (field 2) into *validate_only
 * (0 or 1; may be NULL), without unpacking the request: the envelope is
 * borrowed from req, as received. Refuses what protobuf-c would refuse for
 * the two known fields (a wrong wire type) and a repeated envelope. */
int ll_entry_read_append_request(const uint8_t *req, size_t len, const uint8_t **env,
                                 size_t *env_len, int *validate_only);

/* Decodes and checks an envelope without looking at ledger state:
 * envelope and payload in canonical protobuf encoding (ll_pbcheck.h: no
 * unknown fields, no duplicate or out-of-order fields, one oneof member,
 * NUL-free UTF-8 strings; so every protobuf reader sees the same values),
 * payloadType exactly LL_DSSE_PAYLOAD_TYPE, exactly one signature with a 64-byte
 * sig and a 64-hex keyid, body well-formed with an author, a kind, valid
 * ids and link relations. On error a message goes to msg[cap].
 * On success the caller owns out (ll_entry_free); raw must outlive it. */
int ll_entry_decode(const uint8_t *raw, size_t len, ll_entry_t *out, char *msg,
                    size_t cap);

/* Verifies the entry's signature with pub: LL_OK, LL_ERR_BAD_SIGNATURE,
 * LL_ERR_NOMEM or LL_ERR_CRYPTO. */
LL_MUST_CHECK int ll_entry_verify(const ll_entry_t *e, const uint8_t pub[LL_PUBKEY_LEN]);

void ll_entry_free(ll_entry_t *e);

/* Serializes body, signs it and packs the Envelope into a malloc'd buffer
 * that the caller frees. */
int ll_entry_seal(const Loopledger__V1__EntryBody *body, const ll_key_t *key,
                  uint8_t **out, size_t *out_len);

/* Upper bound of a leaf's size for an envelope of env_len bytes. */
size_t ll_leaf_max_len(size_t env_len);

/* Writes the LogEntry leaf into out (at least ll_leaf_max_len bytes);
 * returns its length. */
size_t ll_leaf_build(uint64_t seq, int64_t time_ns, const uint8_t *env,
                     size_t env_len, uint8_t *out);

/* Splits a leaf into its sequence number, server time and envelope bytes
 * (pointing into leaf), accepting only the exact layout ll_leaf_build
 * writes. LL_ERR_INVALID otherwise. For readers of leaves (the audit,
 * loopctl verify) before they call ll_entry_decode on the envelope. */
int ll_leaf_parse(const uint8_t *leaf, size_t len, uint64_t *seq, int64_t *time_ns,
                  const uint8_t **env, size_t *env_len);

/* Name of the body's kind ("note", "actor", "genesis", ...). */
const char *ll_entry_kind_name(const Loopledger__V1__EntryBody *body);

/* Unpacks the EntryBody of entry seq from its leaf (LogEntry, then
 * Envelope payload). Caller frees *out with
 * loopledger__v1__entry_body__free_unpacked(*out, NULL). LL_ERR_NOT_FOUND
 * if there is no such entry, LL_ERR_CORRUPT if the leaf does not parse. */
int ll_entry_load_body(ll_txn_t *txn, uint64_t seq, Loopledger__V1__EntryBody **out);

/* ll_entry_load_body for hot loops: walks the LogEntry and Envelope framing
 * of the leaf instead of unpacking them, unpacks only the EntryBody with
 * alloc (NULL: malloc), and gives the entry's server time (time_ns may be
 * NULL). The caller frees *out with
 * loopledger__v1__entry_body__free_unpacked(*out, alloc).
 * LL_ERR_NOT_FOUND, LL_ERR_CORRUPT if the leaf does not parse. */
int ll_entry_load_body_fast(ll_txn_t *txn, uint64_t seq, Loopledger__V1__EntryBody **out,
                            int64_t *time_ns, ProtobufCAllocator *alloc);

#endif
