/*
 * ll_trust: the records that say who may sign (ll_trust.h).
 *
 * Records, all integers big-endian:
 *   keys   keyid[32] -> pub[32] || reg_seq u64 || revoked_at i64 || actor id
 *   actors actor id  -> roles u32 (bit per Role) || reg_seq u64 || keyid[32]
 *   index  's' || seq u64 -> the signer's key registration seq u64
 *
 * Why one module: the writer (ll_ledger), the auditor (ll_audit), the
 * governance queries and the offline verifier all read these records; with
 * the layout in one file a change to it cannot silently break one reader.
 */
#include "ll_trust.h"

#include <stdio.h>
#include <string.h>

#include "ll_bytes.h"
#include "ll_crypto.h"
#include "ll_err.h"
#include "ll_index.h"

#define KEYREC_FIXED LL_TRUST_KEYREC_FIXED
/* Actor record: roles u32, registration seq u64, current key id. */
#define ACTORREC_LEN (4 + 8 + LL_HASH_LEN)

int ll_trust_key(ll_txn_t *txn, const uint8_t keyid[LL_HASH_LEN], ll_trust_key_t *k)
{
    const uint8_t *v;
    size_t n;
    int err = ll_store_get(txn, LL_TBL_KEYS, keyid, LL_HASH_LEN, &v, &n);
    if (err)
        return err;
    if (n < KEYREC_FIXED)
        return LL_ERR_CORRUPT;
    memcpy(k->pub, v, LL_PUBKEY_LEN);
    k->reg_seq = ll_get_be64(v + LL_PUBKEY_LEN);
    k->revoked_at = (int64_t)ll_get_be64(v + LL_PUBKEY_LEN + 8);
    k->actor = (const char *)v + KEYREC_FIXED;
    k->actor_len = n - KEYREC_FIXED;
    return LL_OK;
}

int ll_trust_actor_roles(ll_txn_t *txn, const char *actor, uint32_t *roles)
{
    const uint8_t *v;
    size_t n;
    int err = ll_store_get(txn, LL_TBL_ACTORS, actor, strlen(actor), &v, &n);
    if (err)
        return err;
    if (n < 12)
        return LL_ERR_CORRUPT;
    *roles = ll_get_be32(v);
    return LL_OK;
}

int ll_trust_actor_key_live(ll_txn_t *txn, const char *actor, int64_t now, int *live)
{
    const uint8_t *v;
    size_t n;
    ll_trust_key_t k;
    int err = ll_store_get(txn, LL_TBL_ACTORS, actor, strlen(actor), &v, &n);
    if (err)
        return err;
    if (n != ACTORREC_LEN)
        return LL_ERR_CORRUPT;
    if ((err = ll_trust_key(txn, v + 12, &k))) /* the current key id */
        return err == LL_ERR_NOT_FOUND ? LL_ERR_CORRUPT : err;
    *live = !(k.revoked_at && now >= k.revoked_at);
    return LL_OK;
}

int ll_trust_register(ll_txn_t *txn, const Loopledger__V1__ActorRegistration *r,
                     uint64_t seq, char *msg, size_t cap)
{
    const uint8_t *v;
    size_t n;
    uint8_t keyid[LL_HASH_LEN];
    uint8_t arec[ACTORREC_LEN], krec[KEYREC_FIXED + LL_MAX_ID_LEN];
    size_t alen = strlen(r->actor_id);
    if (ll_store_get(txn, LL_TBL_ACTORS, r->actor_id, alen, &v, &n) == LL_OK) {
        snprintf(msg, cap, "actor \"%s\" is already registered", r->actor_id);
        return LL_ERR_EXISTS;
    }
    ll_sha256(r->public_key.data, LL_PUBKEY_LEN, keyid);
    if (ll_store_get(txn, LL_TBL_KEYS, keyid, LL_HASH_LEN, &v, &n) == LL_OK) {
        snprintf(msg, cap, "this public key is already registered to another actor");
        return LL_ERR_EXISTS;
    }
    uint32_t roles = 0;
    for (size_t i = 0; i < r->n_roles; i++)
        roles |= 1u << r->roles[i];
    ll_put_be32(arec, roles);
    ll_put_be64(arec + 4, seq);
    memcpy(arec + 12, keyid, LL_HASH_LEN);
    memcpy(krec, r->public_key.data, LL_PUBKEY_LEN);
    ll_put_be64(krec + LL_PUBKEY_LEN, seq);
    ll_put_be64(krec + LL_PUBKEY_LEN + 8, 0);
    memcpy(krec + KEYREC_FIXED, r->actor_id, alen);
    int err;
    if ((err = ll_store_put(txn, LL_TBL_ACTORS, r->actor_id, alen, arec, sizeof arec)) ||
        (err = ll_store_put(txn, LL_TBL_KEYS, keyid, LL_HASH_LEN, krec, KEYREC_FIXED + alen)))
        snprintf(msg, cap, "storing actor: %s", ll_strerror(err));
    return err;
}

int ll_trust_key_info(ll_txn_t *txn, const uint8_t keyid[LL_HASH_LEN], uint64_t *reg_seq,
                       int64_t *revoked_at)
{
    ll_trust_key_t k;
    int err = ll_trust_key(txn, keyid, &k);
    if (err)
        return err;
    *reg_seq = k.reg_seq;
    *revoked_at = k.revoked_at;
    return LL_OK;
}

/* Rewrites the actor record with new roles and/or current key. */
static int update_actor(ll_txn_t *txn, const char *actor, const uint32_t *roles,
                        const uint8_t *keyid)
{
    const uint8_t *v;
    size_t n;
    uint8_t arec[ACTORREC_LEN];
    int err = ll_store_get(txn, LL_TBL_ACTORS, actor, strlen(actor), &v, &n);
    if (err)
        return err;
    if (n != ACTORREC_LEN)
        return LL_ERR_CORRUPT;
    memcpy(arec, v, n);
    if (roles) {
        ll_put_be32(arec, *roles);
    }
    if (keyid)
        memcpy(arec + 12, keyid, LL_HASH_LEN);
    return ll_store_put(txn, LL_TBL_ACTORS, actor, strlen(actor), arec, sizeof arec);
}

/* Sets a key's revocation time. */
static int revoke_key(ll_txn_t *txn, const uint8_t keyid[LL_HASH_LEN], int64_t at)
{
    const uint8_t *v;
    size_t n;
    uint8_t rec[KEYREC_FIXED + LL_MAX_ID_LEN];
    int err = ll_store_get(txn, LL_TBL_KEYS, keyid, LL_HASH_LEN, &v, &n);
    if (err)
        return err;
    if (n < KEYREC_FIXED || n > sizeof rec)
        return LL_ERR_CORRUPT;
    memcpy(rec, v, n);
    ll_put_be64(rec + LL_PUBKEY_LEN + 8, (uint64_t)at);
    return ll_store_put(txn, LL_TBL_KEYS, keyid, LL_HASH_LEN, rec, n);
}

#define ADMIN_BIT (1u << LOOPLEDGER__V1__ROLE__ROLE_ADMIN)

typedef struct admins {
    const char *except;
    int found;
} admins_t;

static int admin_cb(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    admins_t *a = ctx;
    if (vlen >= 4 && (val[3] & ADMIN_BIT) &&
        !(klen == strlen(a->except) && !memcmp(key, a->except, klen))) {
        a->found = 1;
        return 1;
    }
    return 0;
}

/* Governance must stay possible: refuses a change that would leave no
 * admin but `subject` (whose admin role or current key is going). */
static int keep_an_admin(ll_txn_t *txn, const char *subject, char *msg, size_t cap)
{
    uint32_t roles = 0;
    admins_t a = {subject, 0};
    int err;
    if (ll_trust_actor_roles(txn, subject, &roles) || !(roles & ADMIN_BIT))
        return LL_OK;
    if ((err = ll_store_scan(txn, LL_TBL_ACTORS, "", 0, NULL, 0, 0, admin_cb, &a)))
        return err;
    if (a.found)
        return LL_OK;
    snprintf(msg, cap, "\"%s\" is the last admin: register another admin first", subject);
    return LL_ERR_PRECONDITION;
}

/* Revokes a replaced key at t, unless it was revoked earlier already (a
 * backdated revocation must not be moved later). */
static int revoke_old(ll_txn_t *txn, const uint8_t keyid[LL_HASH_LEN], int64_t t)
{
    ll_trust_key_t k;
    int err = ll_trust_key(txn, keyid, &k);
    if (err)
        return err;
    return k.revoked_at && k.revoked_at <= t ? LL_OK : revoke_key(txn, keyid, t);
}

int ll_trust_apply(ll_txn_t *txn, const Loopledger__V1__EntryBody *b, uint64_t seq, int64_t t,
                   char *msg, size_t cap)
{
    const uint8_t *v;
    size_t n;
    ll_trust_key_t k;
    uint8_t keyid[LL_HASH_LEN];
    const char *subject = b->kind_case == LOOPLEDGER__V1__ENTRY_BODY__KIND_KEY_ROTATION
                              ? b->key_rotation->actor_id
                          : b->kind_case == LOOPLEDGER__V1__ENTRY_BODY__KIND_REVOCATION
                              ? b->revocation->actor_id
                              : b->role_grant->actor_id;
    int err;

    if ((err = ll_store_get(txn, LL_TBL_ACTORS, subject, strlen(subject), &v, &n))) {
        snprintf(msg, cap, "no actor \"%s\"", subject);
        return err == LL_ERR_NOT_FOUND ? LL_ERR_PRECONDITION : err;
    }
    if (n != ACTORREC_LEN)
        return LL_ERR_CORRUPT;
    uint8_t arec_keyid[LL_HASH_LEN];
    memcpy(arec_keyid, v + 12, LL_HASH_LEN);
    switch (b->kind_case) {
    case LOOPLEDGER__V1__ENTRY_BODY__KIND_KEY_ROTATION: {
        const Loopledger__V1__KeyRotation *r = b->key_rotation;
        uint8_t old[LL_HASH_LEN], krec[KEYREC_FIXED + LL_MAX_ID_LEN];
        size_t alen = strlen(subject);
        memcpy(old, v + 12, LL_HASH_LEN);
        ll_sha256(r->new_public_key.data, LL_PUBKEY_LEN, keyid);
        if (ll_store_get(txn, LL_TBL_KEYS, keyid, LL_HASH_LEN, &v, &n) == LL_OK) {
            snprintf(msg, cap, "key_rotation: the new key is already registered");
            return LL_ERR_EXISTS;
        }
        memcpy(krec, r->new_public_key.data, LL_PUBKEY_LEN);
        ll_put_be64(krec + LL_PUBKEY_LEN, seq);
        ll_put_be64(krec + LL_PUBKEY_LEN + 8, 0);
        memcpy(krec + KEYREC_FIXED, subject, alen);
        /* The old key stops signing now; what it signed stays valid. */
        if ((err = ll_store_put(txn, LL_TBL_KEYS, keyid, LL_HASH_LEN, krec, KEYREC_FIXED + alen)) ||
            (err = revoke_old(txn, old, t)) || (err = update_actor(txn, subject, NULL, keyid)))
            goto store_fail;
        return LL_OK;
    }
    case LOOPLEDGER__V1__ENTRY_BODY__KIND_REVOCATION: {
        const Loopledger__V1__Revocation *r = b->revocation;
        int64_t at = r->effective_unix_nanos ? r->effective_unix_nanos : t;
        ll_hex_decode(r->keyid, 2 * LL_HASH_LEN, keyid, LL_HASH_LEN);
        if ((err = ll_trust_key(txn, keyid, &k)) || k.actor_len != strlen(subject) ||
            memcmp(k.actor, subject, k.actor_len)) {
            snprintf(msg, cap, "revocation: key %.16s... is not a key of \"%s\"", r->keyid, subject);
            return LL_ERR_PRECONDITION;
        }
        if (k.revoked_at && k.revoked_at <= at) {
            snprintf(msg, cap, "revocation: key %.16s... is already revoked", r->keyid);
            return LL_ERR_PRECONDITION;
        }
        if (!memcmp(arec_keyid, keyid, LL_HASH_LEN) && (err = keep_an_admin(txn, subject, msg, cap)))
            return err;
        if ((err = revoke_key(txn, keyid, at)))
            goto store_fail;
        return LL_OK;
    }
    default: {
        uint32_t roles = 0;
        for (size_t i = 0; i < b->role_grant->n_roles; i++)
            roles |= 1u << b->role_grant->roles[i];
        if (!(roles & ADMIN_BIT) && (err = keep_an_admin(txn, subject, msg, cap)))
            return err;
        if ((err = update_actor(txn, subject, &roles, NULL)))
            goto store_fail;
        return LL_OK;
    }
    }
store_fail:
    snprintf(msg, cap, "cannot store: %s", ll_strerror(err));
    return err;
}

int ll_trust_signer_key_seq(ll_txn_t *txn, uint64_t seq, uint64_t *key_seq)
{
    uint8_t k[9] = {LL_IX_SIGNER};
    const uint8_t *v;
    size_t n;
    ll_put_be64(k + 1, seq);
    int err = ll_store_get(txn, LL_TBL_INDEX, k, sizeof k, &v, &n);
    if (err)
        return err;
    if (n != 8)
        return LL_ERR_CORRUPT;
    *key_seq = ll_get_be64(v);
    return LL_OK;
}

int ll_trust_put_signer(ll_txn_t *txn, uint64_t seq, uint64_t key_seq)
{
    uint8_t k[9] = {LL_IX_SIGNER}, v[8];
    ll_put_be64(k + 1, seq);
    ll_put_be64(v, key_seq);
    return ll_store_put(txn, LL_TBL_INDEX, k, sizeof k, v, sizeof v);
}
