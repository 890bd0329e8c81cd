/*
 * ll_entry: stateless decoding and validation of signed entries (ll_entry.h).
 *
 * Everything here runs on the RPC threads before an entry reaches the
 * single writer, so that the writer only does what needs ledger state.
 */
#include "ll_entry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ll_bytes.h"
#include "ll_dsse.h"
#include "ll_err.h"
#include "ll_check.h"
#include "ll_kinds.h"
#include "ll_pbcheck.h"

int ll_entry_read_append_request(const uint8_t *req, size_t len, const uint8_t **env,
                                 size_t *env_len, int *validate_only)
{
    const uint8_t *p = req, *end = req + len;
    const uint8_t *found = NULL;
    size_t found_len = 0;
    uint64_t vo = 0;
    /* Walk every field so that a malformed tail is refused, not ignored.
     * A repeated field 1 would be merged by protobuf; we refuse it rather
     * than store something other than what was signed. The two known
     * fields must have their own wire types (as protobuf-c requires);
     * validate_only, like protobuf's bool, is its last value, nonzero. */
    while (p < end) {
        uint64_t key, n;
        if (ll_get_varint(&p, end, &key))
            return LL_ERR_INVALID;
        if ((key >> 3) == 0 || ((key >> 3) == 1 && (key & 7) != 2) ||
            ((key >> 3) == 2 && (key & 7) != 0))
            return LL_ERR_INVALID;
        switch (key & 7) {
        case 0:
            if (ll_get_varint(&p, end, &n))
                return LL_ERR_INVALID;
            if (key >> 3 == 2)
                vo = n;
            break;
        case 1:
            if (end - p < 8)
                return LL_ERR_INVALID;
            p += 8;
            break;
        case 5:
            if (end - p < 4)
                return LL_ERR_INVALID;
            p += 4;
            break;
        case 2:
            if (ll_get_varint(&p, end, &n) || n > (uint64_t)(end - p))
                return LL_ERR_INVALID;
            if (key >> 3 == 1) {
                if (found)
                    return LL_ERR_INVALID;
                found = p;
                found_len = (size_t)n;
            }
            p += n;
            break;
        default:
            return LL_ERR_INVALID;
        }
    }
    if (!found)
        return LL_ERR_INVALID;
    *env = found;
    *env_len = found_len;
    if (validate_only)
        *validate_only = vo != 0;
    return LL_OK;
}

int ll_entry_find_envelope(const uint8_t *req, size_t len, const uint8_t **env,
                           size_t *env_len)
{
    return ll_entry_read_append_request(req, len, env, env_len, NULL);
}

static int id_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > LL_MAX_ID_LEN)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
              c == '@' || c == ':' || c == '/'))
            return 0;
    }
    return 1;
}

static int check_registration(const Loopledger__V1__ActorRegistration *r,
                              const char *what, char *msg, size_t cap)
{
    if (!r || !id_valid(r->actor_id)) {
        snprintf(msg, cap, "%s: actor_id must be 1-%d characters of [A-Za-z0-9-_.@:/]",
                 what, LL_MAX_ID_LEN);
        return LL_ERR_INVALID;
    }
    if (r->public_key.len != LL_PUBKEY_LEN) {
        snprintf(msg, cap, "%s: public_key must be a raw 32-byte Ed25519 key (got %zu bytes)",
                 what, r->public_key.len);
        return LL_ERR_INVALID;
    }
    if (r->n_roles == 0) {
        snprintf(msg, cap, "%s: at least one role is required", what);
        return LL_ERR_INVALID;
    }
    for (size_t i = 0; i < r->n_roles; i++) {
        if (r->roles[i] <= LOOPLEDGER__V1__ROLE__ROLE_UNSPECIFIED ||
            r->roles[i] > LOOPLEDGER__V1__ROLE__ROLE_SERVICE) {
            snprintf(msg, cap, "%s: unknown role %d", what, (int)r->roles[i]);
            return LL_ERR_INVALID;
        }
    }
    return LL_OK;
}

/* protobuf-c unpacking into the entry's arena: the envelope and body are
 * a dozen small objects, allocated on an RPC thread and released on the
 * writer's, so one block beats a dozen cross-thread frees. */
static void *arena_pb_alloc(void *data, size_t n)
{
    return ll_arena_alloc(data, n);
}

static void arena_pb_free(void *data, void *p)
{
    (void)data;
    (void)p;
}

/* ll_entry_decode without the cleanup: on error out may hold what was
 * unpacked so far, which the caller frees. */
static int decode(const uint8_t *raw, size_t len, ll_entry_t *out, char *msg, size_t cap)
{
    int err;
    memset(out, 0, sizeof *out);
    ProtobufCAllocator pa = {arena_pb_alloc, arena_pb_free, &out->arena};
    out->raw_env = raw;
    out->raw_env_len = len;
    /* One reading of every byte (ll_pbcheck.h): checked on the wire, before
     * protobuf-c's C strings could hide a NUL or its merging hide a
     * duplicate. After this, every string below is NUL-free, so strlen()
     * is its length. */
    char why[200];
    if (ll_pbcheck(&loopledger__v1__envelope__descriptor, raw, len, why, sizeof why))
        LL_FAIL(LL_ERR_INVALID, "envelope refused: %s", why);
    out->env = loopledger__v1__envelope__unpack(&pa, len, raw);
    if (!out->env)
        LL_FAIL(LL_ERR_INVALID, "envelope is not a valid loopledger.v1.Envelope protobuf");
    Loopledger__V1__Envelope *env = out->env;
    if (strlen(env->payload_type) != sizeof LL_DSSE_PAYLOAD_TYPE - 1 ||
        memcmp(env->payload_type, LL_DSSE_PAYLOAD_TYPE, sizeof LL_DSSE_PAYLOAD_TYPE - 1))
        LL_FAIL(LL_ERR_INVALID, "payload_type must be \"%s\", got \"%.80s\"",
             LL_DSSE_PAYLOAD_TYPE, env->payload_type);
    if (env->n_signatures != 1)
        LL_FAIL(LL_ERR_INVALID, "envelope must carry exactly one signature, got %zu",
             env->n_signatures);
    Loopledger__V1__Signature *sig = env->signatures[0];
    if (sig->sig.len != LL_SIG_LEN)
        LL_FAIL(LL_ERR_INVALID, "signature must be 64 bytes (Ed25519), got %zu",
             sig->sig.len);
    if (strlen(sig->keyid) != LL_KEYID_HEX_LEN ||
        ll_hex_decode(sig->keyid, LL_KEYID_HEX_LEN, out->keyid, LL_HASH_LEN))
        LL_FAIL(LL_ERR_INVALID, "keyid must be 64 lowercase hex digits (SHA-256 of the public key)");
    for (size_t i = 0; i < LL_KEYID_HEX_LEN; i++)
        if (sig->keyid[i] >= 'A' && sig->keyid[i] <= 'F')
            LL_FAIL(LL_ERR_INVALID, "keyid must be lowercase hex");
    out->sig = sig->sig.data;
    out->sig_len = sig->sig.len;
    if (env->payload.len == 0)
        LL_FAIL(LL_ERR_INVALID, "payload is empty");
    if (ll_pbcheck(&loopledger__v1__entry_body__descriptor, env->payload.data,
                   env->payload.len, why, sizeof why))
        LL_FAIL(LL_ERR_INVALID, "payload refused: %s", why);
    out->body = loopledger__v1__entry_body__unpack(&pa, env->payload.len,
                                                   env->payload.data);
    if (!out->body)
        LL_FAIL(LL_ERR_INVALID, "payload is not a valid loopledger.v1.EntryBody protobuf");
    /* Belt and braces for the walker: protobuf-c's own reading must give
     * the signed bytes back. Cheap next to the signature check. */
    if (ll_pbcheck_reencodes(&env->base, raw, len) != 1 ||
        ll_pbcheck_reencodes(&out->body->base, env->payload.data, env->payload.len) != 1)
        LL_FAIL(LL_ERR_INVALID, "envelope or payload is not in canonical protobuf encoding "
                                "(fields in number order, no defaults, no duplicates)");
    Loopledger__V1__EntryBody *b = out->body;
    if (!id_valid(b->author))
        LL_FAIL(LL_ERR_INVALID, "author must be a registered actor id (1-%d characters of [A-Za-z0-9-_.@:/])",
             LL_MAX_ID_LEN);
    if (b->initiative[0] && !id_valid(b->initiative))
        LL_FAIL(LL_ERR_INVALID, "initiative id must be 1-%d characters of [A-Za-z0-9-_.@:/]",
             LL_MAX_ID_LEN);
    if (b->n_links > LL_MAX_LINKS)
        LL_FAIL(LL_ERR_INVALID, "too many links (%zu, limit %d)", b->n_links, LL_MAX_LINKS);
    for (size_t i = 0; i < b->n_links; i++) {
        int r = (int)b->links[i]->relation;
        if (r <= LOOPLEDGER__V1__RELATION__RELATION_UNSPECIFIED ||
            r > LOOPLEDGER__V1__RELATION__IMPLEMENTS)
            LL_FAIL(LL_ERR_INVALID, "link %zu: unknown relation %d", i, r);
    }
    switch (b->kind_case) {
    case LOOPLEDGER__V1__ENTRY_BODY__KIND_NOTE:
        break;
    case LOOPLEDGER__V1__ENTRY_BODY__KIND_ACTOR:
        if ((err = check_registration(b->actor, "actor registration", msg, cap)))
            return err;
        break;
    case LOOPLEDGER__V1__ENTRY_BODY__KIND_GENESIS:
        if ((err = check_registration(b->genesis->server, "genesis server", msg, cap)) ||
            (err = check_registration(b->genesis->admin, "genesis admin", msg, cap)))
            return err;
        break;
    case LOOPLEDGER__V1__ENTRY_BODY__KIND__NOT_SET:
        LL_FAIL(LL_ERR_INVALID, "entry body has no kind (set exactly one of its oneof fields)");
    default:
        if ((err = ll_check_body(b, msg, cap)))
            return err;
        break;
    }
    /* The dedup key is the hash of what was signed. */
    size_t tl = sizeof LL_DSSE_PAYLOAD_TYPE - 1;
    size_t pl = ll_dsse_pae_len(tl, env->payload.len);
    uint8_t stack[2048], *pae = pl <= sizeof stack ? stack : malloc(pl);
    size_t got;
    if (!pae)
        LL_FAIL(LL_ERR_NOMEM, "out of memory");
    ll_dsse_pae(env->payload_type, tl, env->payload.data, env->payload.len, pae, pl, &got);
    ll_sha256(pae, got, out->dedup);
    if (pae != stack)
        free(pae);
    return LL_OK;
}

int ll_entry_decode(const uint8_t *raw, size_t len, ll_entry_t *out, char *msg,
                    size_t cap)
{
    int err = decode(raw, len, out, msg, cap);
    if (err)
        ll_entry_free(out);
    return err;
}

int ll_entry_verify(const ll_entry_t *e, const uint8_t pub[LL_PUBKEY_LEN])
{
    const char *type = e->env->payload_type;
    return ll_dsse_verify(pub, type, strlen(type), e->env->payload.data,
                          e->env->payload.len, e->sig, e->sig_len);
}

void ll_entry_free(ll_entry_t *e)
{
    ll_arena_free(&e->arena);
    e->body = NULL;
    e->env = NULL;
}

int ll_entry_seal(const Loopledger__V1__EntryBody *body, const ll_key_t *key,
                  uint8_t **out, size_t *out_len)
{
    int err = LL_OK;
    size_t blen = loopledger__v1__entry_body__get_packed_size(body);
    uint8_t *payload = malloc(blen ? blen : 1), *buf = NULL;
    uint8_t sigbytes[LL_SIG_LEN], pub[LL_PUBKEY_LEN];
    char keyid[LL_KEYID_HEX_LEN + 1];
    if (!payload)
        return LL_ERR_NOMEM;
    loopledger__v1__entry_body__pack(body, payload);
    if ((err = ll_dsse_sign(key, LL_DSSE_PAYLOAD_TYPE, strlen(LL_DSSE_PAYLOAD_TYPE),
                            payload, blen, sigbytes)))
        goto out;
    ll_key_public(key, pub);
    ll_keyid(pub, keyid);
    Loopledger__V1__Signature sig = LOOPLEDGER__V1__SIGNATURE__INIT;
    sig.sig.data = sigbytes;
    sig.sig.len = LL_SIG_LEN;
    sig.keyid = keyid;
    Loopledger__V1__Signature *sigs[1] = {&sig};
    Loopledger__V1__Envelope env = LOOPLEDGER__V1__ENVELOPE__INIT;
    env.payload.data = payload;
    env.payload.len = blen;
    env.payload_type = (char *)LL_DSSE_PAYLOAD_TYPE;
    env.n_signatures = 1;
    env.signatures = sigs;
    size_t elen = loopledger__v1__envelope__get_packed_size(&env);
    if (!(buf = malloc(elen))) {
        err = LL_ERR_NOMEM;
        goto out;
    }
    loopledger__v1__envelope__pack(&env, buf);
    *out = buf;
    *out_len = elen;
out:
    free(payload);
    return err;
}

size_t ll_leaf_max_len(size_t env_len)
{
    return 3 * 11 + env_len;
}

size_t ll_leaf_build(uint64_t seq, int64_t time_ns, const uint8_t *env,
                     size_t env_len, uint8_t *out)
{
    size_t n = 0;
    /* proto3 omits zero scalars; protobuf-c does the same, so a parser that
     * re-serialises a leaf gets these bytes back. */
    if (seq) {
        out[n++] = 0x08;
        n += ll_put_varint(out + n, seq);
    }
    if (time_ns) {
        out[n++] = 0x10;
        n += ll_put_varint(out + n, (uint64_t)time_ns);
    }
    out[n++] = 0x1a;
    n += ll_put_varint(out + n, env_len);
    memcpy(out + n, env, env_len);
    return n + env_len;
}

int ll_leaf_parse(const uint8_t *leaf, size_t len, uint64_t *seq, int64_t *time_ns,
                  const uint8_t **env, size_t *env_len)
{
    const uint8_t *p = leaf, *end = leaf + len;
    uint64_t f[3] = {0, 0, 0}, key, v;
    *env = NULL;
    while (p < end) {
        if (ll_get_varint(&p, end, &key) || ll_get_varint(&p, end, &v))
            return LL_ERR_INVALID;
        if (key == 0x08 || key == 0x10) {
            f[key >> 3] = v;
        } else if (key == 0x1a && !*env && v <= (uint64_t)(end - p)) {
            *env = p;
            *env_len = (size_t)v;
            p += v;
        } else {
            return LL_ERR_INVALID;
        }
    }
    if (!*env)
        return LL_ERR_INVALID;
    /* Byte for byte what ll_leaf_build writes, so no other encoding of
     * the same values (padding, order, repeats) passes. */
    uint8_t head[3 + 3 * LL_VARINT_MAX], *hp = head;
    if (f[1]) {
        *hp++ = 0x08;
        hp += ll_put_varint(hp, f[1]);
    }
    if (f[2]) {
        *hp++ = 0x10;
        hp += ll_put_varint(hp, f[2]);
    }
    *hp++ = 0x1a;
    hp += ll_put_varint(hp, *env_len);
    size_t n = (size_t)(hp - head);
    if (n + *env_len != len || memcmp(head, leaf, n))
        return LL_ERR_INVALID;
    *seq = f[1];
    *time_ns = (int64_t)f[2];
    return LL_OK;
}

const char *ll_entry_kind_name(const Loopledger__V1__EntryBody *body)
{
    return ll_kind_name(body->kind_case);
}

int ll_entry_load_body(ll_txn_t *txn, uint64_t seq, Loopledger__V1__EntryBody **out)
{
    const uint8_t *leaf;
    size_t len;
    int err;

    if ((err = ll_store_leaf(txn, seq, &leaf, &len)))
        return err;
    Loopledger__V1__LogEntry *le = loopledger__v1__log_entry__unpack(NULL, len, leaf);
    if (!le || !le->envelope) {
        if (le)
            loopledger__v1__log_entry__free_unpacked(le, NULL);
        return LL_ERR_CORRUPT;
    }
    *out = loopledger__v1__entry_body__unpack(NULL, le->envelope->payload.len,
                                              le->envelope->payload.data);
    loopledger__v1__log_entry__free_unpacked(le, NULL);
    return *out ? LL_OK : LL_ERR_CORRUPT;
}

/* Finds length-delimited field `want` in msg[len]; also the varint field
 * `want_varint` (0 for none) into *vout. Returns 0 if the bytes field was
 * found. */
static int leaf_field(const uint8_t *msg, size_t len, uint32_t want, const uint8_t **out,
                 size_t *out_len, uint32_t want_varint, uint64_t *vout)
{
    const uint8_t *p = msg, *end = msg + len;
    int found = -1;
    while (p < end) {
        uint64_t tag, v;
        if (ll_get_varint(&p, end, &tag))
            return -1;
        switch (tag & 7) {
        case 0:
            if (ll_get_varint(&p, end, &v))
                return -1;
            if (want_varint && (tag >> 3) == want_varint && vout)
                *vout = v;
            break;
        case 1:
            if (end - p < 8)
                return -1;
            p += 8;
            break;
        case 2:
            if (ll_get_varint(&p, end, &v) || v > (uint64_t)(end - p))
                return -1;
            if ((tag >> 3) == want) {
                *out = p;
                *out_len = (size_t)v;
                /* Writers put fields in number order: nothing we want follows. */
                if (want_varint < want)
                    return 0;
                found = 0;
            }
            p += v;
            break;
        case 5:
            if (end - p < 4)
                return -1;
            p += 4;
            break;
        default: return -1;
        }
    }
    return found;
}

int ll_entry_load_body_fast(ll_txn_t *txn, uint64_t seq, Loopledger__V1__EntryBody **out,
                            int64_t *time_ns, ProtobufCAllocator *alloc)
{
    const uint8_t *leaf, *env, *payload;
    size_t len, env_len, payload_len;
    uint64_t t = 0;
    int err;
    if ((err = ll_store_leaf(txn, seq, &leaf, &len)))
        return err;
    /* LogEntry: 2 server_time (varint), 3 envelope; Envelope: 1 payload. */
    if (leaf_field(leaf, len, 3, &env, &env_len, 2, &t) ||
        leaf_field(env, env_len, 1, &payload, &payload_len, 0, NULL))
        return LL_ERR_CORRUPT;
    *out = loopledger__v1__entry_body__unpack(alloc, payload_len, payload);
    if (!*out)
        return LL_ERR_CORRUPT;
    if (time_ns)
        *time_ns = (int64_t)t;
    return LL_OK;
}
