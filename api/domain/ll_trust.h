/*
 * ll_trust: keys, actors, roles and the signer index, the one place that
 * encodes and reads them.
 *
 * The ledger accepts an entry only if it is signed by a current key of a
 * registered actor whose roles permit its kind; these records are what
 * "registered", "current" and "roles" mean. They are written on the writer
 * thread, in the transaction that appends the entry that changes them
 * (actor registration, genesis, key rotation, revocation, role grant), and
 * read by the ledger (authentication, authorization), the auditor, the
 * governance queries and the offline verifier.
 *
 * Rules enforced by ll_trust_apply: the subject of a key rotation,
 * revocation or role grant must exist; a revoked key stays revoked (a
 * backdated revocation is never moved later); governance stays possible
 * (no change may leave the ledger without an admin).
 */
#ifndef LL_TRUST_H
#define LL_TRUST_H

#include <stddef.h>
#include <stdint.h>

#include "ll_crypto.h"
#include "ll_store.h"
#include "loopledger/v1/entry.pb-c.h"

/* Fixed part of a key record (pub, reg_seq, revoked_at); the actor id
 * follows. */
#define LL_TRUST_KEYREC_FIXED (LL_PUBKEY_LEN + 8 + 8)

/* A key record as read: points into the transaction's memory, valid until
 * the transaction ends. */
typedef struct ll_trust_key {
    uint8_t pub[LL_PUBKEY_LEN];
    uint64_t reg_seq;   /* seq of the entry that registered the key */
    int64_t revoked_at; /* server time from which it no longer signs; 0 = never */
    const char *actor;  /* not NUL-terminated: actor_len bytes */
    size_t actor_len;
} ll_trust_key_t;

/* The key record of keyid. LL_ERR_NOT_FOUND, LL_ERR_CORRUPT. */
int ll_trust_key(ll_txn_t *txn, const uint8_t keyid[LL_HASH_LEN], ll_trust_key_t *k);

/* Registration seq and revocation time (0 = not revoked) of keyid. */
int ll_trust_key_info(ll_txn_t *txn, const uint8_t keyid[LL_HASH_LEN], uint64_t *reg_seq,
                      int64_t *revoked_at);

/* Roles of actor, one bit per Loopledger__V1__Role. LL_ERR_NOT_FOUND if the
 * actor is not registered. */
int ll_trust_actor_roles(ll_txn_t *txn, const char *actor, uint32_t *roles);

/* Whether a registered actor still holds a valid key at time now (ns):
 * its current key is not revoked (rotation revokes the key it replaces, so
 * the current key is the only one that can still be valid). An actor
 * without one can neither sign nor, over mTLS, read. *live is set on
 * LL_OK; LL_ERR_NOT_FOUND if the actor is unknown, LL_ERR_CORRUPT if its
 * record or current key record is damaged. */
int ll_trust_actor_key_live(ll_txn_t *txn, const char *actor, int64_t now, int *live);

/* Registers actor r (its roles and its key) at seq. LL_ERR_EXISTS with msg
 * if the actor or the key is already registered. */
int ll_trust_register(ll_txn_t *txn, const Loopledger__V1__ActorRegistration *r,
                      uint64_t seq, char *msg, size_t cap);

/* Key rotation, revocation and role grants (b's kind is one of them) at
 * seq and server time t: the subject must exist; LL_ERR_PRECONDITION,
 * LL_ERR_EXISTS with msg when a rule refuses, a store error otherwise. The
 * author's permission is checked by the caller (ll_authz). */
int ll_trust_apply(ll_txn_t *txn, const Loopledger__V1__EntryBody *b, uint64_t seq, int64_t t,
                   char *msg, size_t cap);

/* The signer index: entry seq was signed with the key registered at
 * key_seq. */
int ll_trust_put_signer(ll_txn_t *txn, uint64_t seq, uint64_t key_seq);
/* LL_ERR_NOT_FOUND, LL_ERR_CORRUPT. */
int ll_trust_signer_key_seq(ll_txn_t *txn, uint64_t seq, uint64_t *key_seq);

#endif
