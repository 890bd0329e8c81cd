/*
 * loopctl entries: JSON -> EntryBody for `append`, and leaf -> text/JSON
 * for `get`, `list` and `watch`.
 *
 * Entry JSON (one object):
 *   { "author": "alice", "initiative": "reco-engine",
 *     "links": [ {"relation": "SUPPORTS", "target": 3} ],
 *     "note": "free text" }                          -- a note, or
 *     "actor": { "id": "bob", "name": "Bob", "roles": ["contributor"],
 *                "public_key_file": "bob.pub" }      -- an actor registration
 * Unknown keys are refused: a typo must not silently drop signed content.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ll_crypto.h"
#include "ll_err.h"
#include "ll_merkle.h"
#include "loopctl.h"

static const char *const relation_names[] = {
    [LOOPLEDGER__V1__RELATION__RELATES_TO] = "relates_to",
    [LOOPLEDGER__V1__RELATION__TESTS] = "tests",
    [LOOPLEDGER__V1__RELATION__SUPPORTS] = "supports",
    [LOOPLEDGER__V1__RELATION__REFUTES] = "refutes",
    [LOOPLEDGER__V1__RELATION__ADDRESSES] = "addresses",
    [LOOPLEDGER__V1__RELATION__DECIDES] = "decides",
    [LOOPLEDGER__V1__RELATION__REVIEWS] = "reviews",
    [LOOPLEDGER__V1__RELATION__SPAWNED_BY] = "spawned_by",
    [LOOPLEDGER__V1__RELATION__SUPERSEDES] = "supersedes",
    [LOOPLEDGER__V1__RELATION__FOLLOWS] = "follows",
};
#define N_REL ((int)(sizeof relation_names / sizeof relation_names[0]))

static const char *const role_names[] = {
    [LOOPLEDGER__V1__ROLE__ROLE_ADMIN] = "admin",
    [LOOPLEDGER__V1__ROLE__ROLE_CONTRIBUTOR] = "contributor",
    [LOOPLEDGER__V1__ROLE__ROLE_APPROVER] = "approver",
    [LOOPLEDGER__V1__ROLE__ROLE_AUDITOR] = "auditor",
    [LOOPLEDGER__V1__ROLE__ROLE_SERVICE] = "service",
};
#define N_ROLE ((int)(sizeof role_names / sizeof role_names[0]))

int lc_relation_from_name(const char *name)
{
    for (int i = 1; i < N_REL; i++)
        if (relation_names[i] && !strcasecmp(name, relation_names[i]))
            return i;
    return -1;
}

const char *lc_relation_name(int rel)
{
    return rel > 0 && rel < N_REL ? relation_names[rel] : "unknown";
}

const char *lc_role_name(int role)
{
    return role > 0 && role < N_ROLE ? role_names[role] : "unknown";
}

static int role_from_name(const char *name)
{
    for (int i = 1; i < N_ROLE; i++)
        if (!strcasecmp(name, role_names[i]))
            return i;
    return -1;
}

static char *dup_string(const ll_json_t *v)
{
    size_t n;
    const char *s = ll_json_string(v, &n);
    if (!s || memchr(s, 0, n))
        return NULL;
    return strndup(s, n);
}

static int only_keys(const ll_json_t *obj, const char *const *allowed, char *err,
                     size_t cap, const char *where)
{
    size_t n = ll_json_object_len(obj);
    for (size_t i = 0; i < n; i++) {
        const char *k = ll_json_object_key(obj, i);
        int ok = 0;
        for (const char *const *a = allowed; *a; a++)
            ok |= !strcmp(k, *a);
        if (!ok) {
            snprintf(err, cap, "%s: unknown field \"%s\"", where, k);
            return LL_ERR_INVALID;
        }
    }
    return LL_OK;
}

#define BAD(...)                            \
    do {                                    \
        snprintf(err, cap, __VA_ARGS__);    \
        rc = LL_ERR_INVALID;                \
        goto fail;                          \
    } while (0)

int lc_body_from_json(const ll_json_t *doc, const char *base_dir,
                      Loopledger__V1__EntryBody **out, char *err, size_t cap)
{
    static const char *const top_keys[] = {"author", "initiative", "links", "note",
                                           "actor", "client_time_unix_nanos", NULL};
    static const char *const actor_keys[] = {"id", "name", "roles", "public_key",
                                             "public_key_file", NULL};
    int rc = LL_OK;
    Loopledger__V1__EntryBody *b = calloc(1, sizeof *b);
    if (!b)
        return LL_ERR_NOMEM;
    loopledger__v1__entry_body__init(b);
    b->author = b->initiative = NULL;
    if (ll_json_type(doc) != LL_JSON_OBJECT)
        BAD("entry JSON must be an object");
    if ((rc = only_keys(doc, top_keys, err, cap, "entry")))
        goto fail;
    const ll_json_t *v;
    if (!(v = ll_json_object_get(doc, "author")) || !(b->author = dup_string(v)))
        BAD("entry: \"author\" (string) is required");
    v = ll_json_object_get(doc, "initiative");
    if (v && !(b->initiative = dup_string(v)))
        BAD("entry: \"initiative\" must be a string");
    if (!b->initiative)
        b->initiative = strdup("");
    if ((v = ll_json_object_get(doc, "client_time_unix_nanos"))) {
        if (ll_json_get_int64(v, &b->client_time_unix_nanos))
            BAD("entry: \"client_time_unix_nanos\" must be an integer");
    } else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        b->client_time_unix_nanos = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    }
    b->nonce.data = malloc(16);
    if (!b->nonce.data || ll_random(b->nonce.data, 16))
        BAD("cannot make a nonce");
    b->nonce.len = 16;
    if ((v = ll_json_object_get(doc, "links"))) {
        if (ll_json_type(v) != LL_JSON_ARRAY)
            BAD("entry: \"links\" must be an array");
        size_t n = ll_json_array_len(v);
        b->links = calloc(n ? n : 1, sizeof *b->links);
        if (!b->links)
            BAD("out of memory");
        for (size_t i = 0; i < n; i++) {
            const ll_json_t *l = ll_json_array_get(v, i), *rel, *tgt;
            Loopledger__V1__Link *link = calloc(1, sizeof *link);
            if (!link)
                BAD("out of memory");
            loopledger__v1__link__init(link);
            b->links[b->n_links++] = link;
            char *name;
            if (ll_json_type(l) != LL_JSON_OBJECT || !(rel = ll_json_object_get(l, "relation")) ||
                !(tgt = ll_json_object_get(l, "target")) || !(name = dup_string(rel)))
                BAD("links[%zu]: needs {\"relation\": NAME, \"target\": SEQ}", i);
            int r = lc_relation_from_name(name);
            free(name);
            if (r < 0)
                BAD("links[%zu]: unknown relation", i);
            link->relation = (Loopledger__V1__Relation)r;
            if (ll_json_get_uint64(tgt, &link->target_seq))
                BAD("links[%zu]: target must be a sequence number", i);
        }
    }
    const ll_json_t *note = ll_json_object_get(doc, "note");
    const ll_json_t *actor = ll_json_object_get(doc, "actor");
    if (!!note + !!actor != 1)
        BAD("entry: exactly one kind is required: \"note\" or \"actor\"");
    if (note) {
        b->kind_case = LOOPLEDGER__V1__ENTRY_BODY__KIND_NOTE;
        b->note = calloc(1, sizeof *b->note);
        if (!b->note)
            BAD("out of memory");
        loopledger__v1__note__init(b->note);
        if (!(b->note->text = dup_string(note)))
            BAD("entry: \"note\" must be a string");
    } else {
        b->kind_case = LOOPLEDGER__V1__ENTRY_BODY__KIND_ACTOR;
        Loopledger__V1__ActorRegistration *a = calloc(1, sizeof *a);
        if (!a)
            BAD("out of memory");
        loopledger__v1__actor_registration__init(a);
        b->actor = a;
        a->actor_id = a->display_name = NULL;
        if (ll_json_type(actor) != LL_JSON_OBJECT)
            BAD("entry: \"actor\" must be an object");
        if ((rc = only_keys(actor, actor_keys, err, cap, "actor")))
            goto fail;
        if (!(v = ll_json_object_get(actor, "id")) || !(a->actor_id = dup_string(v)))
            BAD("actor: \"id\" (string) is required");
        v = ll_json_object_get(actor, "name");
        a->display_name = v ? dup_string(v) : strdup(a->actor_id);
        if (!a->display_name)
            BAD("actor: \"name\" must be a string");
        if (!(v = ll_json_object_get(actor, "roles")) || ll_json_type(v) != LL_JSON_ARRAY)
            BAD("actor: \"roles\" (array of admin|contributor|approver|auditor|service) is required");
        size_t n = ll_json_array_len(v);
        a->roles = calloc(n ? n : 1, sizeof *a->roles);
        if (!a->roles)
            BAD("out of memory");
        for (size_t i = 0; i < n; i++) {
            char *name = dup_string(ll_json_array_get(v, i));
            int r = name ? role_from_name(name) : -1;
            free(name);
            if (r < 0)
                BAD("actor: roles[%zu] is not one of admin|contributor|approver|auditor|service", i);
            a->roles[a->n_roles++] = (Loopledger__V1__Role)r;
        }
        a->public_key.data = malloc(LL_PUBKEY_LEN);
        if (!a->public_key.data)
            BAD("out of memory");
        a->public_key.len = LL_PUBKEY_LEN;
        if ((v = ll_json_object_get(actor, "public_key"))) {
            size_t sl, got;
            const char *s = ll_json_string(v, &sl);
            if (!s || ll_base64_decode(s, sl, a->public_key.data, LL_PUBKEY_LEN, &got) ||
                got != LL_PUBKEY_LEN)
                BAD("actor: \"public_key\" must be the base64 of a raw 32-byte Ed25519 key");
        } else if ((v = ll_json_object_get(actor, "public_key_file"))) {
            char *f = dup_string(v), path[4096];
            if (!f)
                BAD("actor: \"public_key_file\" must be a string");
            if (f[0] == '/' || !base_dir)
                snprintf(path, sizeof path, "%s", f);
            else
                snprintf(path, sizeof path, "%s/%s", base_dir, f);
            free(f);
            if (ll_pubkey_load(path, a->public_key.data))
                BAD("actor: cannot read public key file %s", path);
        } else {
            BAD("actor: \"public_key\" or \"public_key_file\" is required");
        }
    }
    *out = b;
    return LL_OK;
fail:
    lc_body_free(b);
    return rc ? rc : LL_ERR_INVALID;
}

void lc_body_free(Loopledger__V1__EntryBody *b)
{
    if (!b)
        return;
    /* Built by hand above, so freed by hand: every pointer is ours. */
    free(b->author);
    free(b->initiative);
    free(b->nonce.data);
    for (size_t i = 0; i < b->n_links; i++)
        free(b->links[i]);
    free(b->links);
    if (b->kind_case == LOOPLEDGER__V1__ENTRY_BODY__KIND_NOTE && b->note) {
        free(b->note->text);
        free(b->note);
    } else if (b->kind_case == LOOPLEDGER__V1__ENTRY_BODY__KIND_ACTOR && b->actor) {
        free(b->actor->actor_id);
        free(b->actor->display_name);
        free(b->actor->roles);
        free(b->actor->public_key.data);
        free(b->actor);
    }
    free(b);
}

static void fmt_time(int64_t ns, char out[40])
{
    time_t s = (time_t)(ns / 1000000000);
    struct tm tm;
    gmtime_r(&s, &tm);
    size_t n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 40 - n, ".%03dZ", (int)((ns / 1000000) % 1000));
}

static void jw_hex(ll_jw_t *jw, const char *key, const uint8_t *b, size_t n)
{
    char hex[2 * 64 + 1];
    if (n > 64)
        n = 64;
    ll_hex_encode(b, n, hex);
    ll_jw_key(jw, key);
    ll_jw_string(jw, hex);
}

/* The exact leaf bytes, so scripts and independent verifiers can hash them
 * themselves instead of trusting leaf_hash. */
static void jw_b64(ll_jw_t *jw, const char *key, const uint8_t *b, size_t n)
{
    char *text = malloc(ll_base64_len(n) + 1);
    if (!text)
        abort(); /* a CLI printing one entry; nothing to salvage */
    ll_base64_encode(b, n, text);
    ll_jw_key(jw, key);
    ll_jw_string(jw, text);
    free(text);
}

static void print_registration(const Loopledger__V1__ActorRegistration *a, ll_jw_t *jw,
                               const char *label)
{
    char keyid[LL_KEYID_HEX_LEN + 1] = "";
    if (a->public_key.len == LL_PUBKEY_LEN)
        ll_keyid(a->public_key.data, keyid);
    if (jw) {
        ll_jw_key(jw, label);
        ll_jw_begin_object(jw);
        ll_jw_key(jw, "id");
        ll_jw_string(jw, a->actor_id);
        ll_jw_key(jw, "name");
        ll_jw_string(jw, a->display_name);
        ll_jw_key(jw, "roles");
        ll_jw_begin_array(jw);
        for (size_t i = 0; i < a->n_roles; i++)
            ll_jw_string(jw, lc_role_name(a->roles[i]));
        ll_jw_end_array(jw);
        ll_jw_key(jw, "keyid");
        ll_jw_string(jw, keyid);
        ll_jw_end_object(jw);
        return;
    }
    printf("  %s: %s (%s) roles:", label, a->actor_id, a->display_name);
    for (size_t i = 0; i < a->n_roles; i++)
        printf(" %s", lc_role_name(a->roles[i]));
    printf("  keyid %.16s…\n", keyid);
}

int lc_print_leaf(const uint8_t *leaf, size_t len, ll_jw_t *jw)
{
    Loopledger__V1__LogEntry *le = loopledger__v1__log_entry__unpack(NULL, len, leaf);
    Loopledger__V1__EntryBody *b = NULL;
    if (!le || !le->envelope)
        goto bad;
    b = loopledger__v1__entry_body__unpack(NULL, le->envelope->payload.len,
                                           le->envelope->payload.data);
    if (!b)
        goto bad;
    uint8_t lh[LL_HASH_LEN];
    ll_merkle_leaf_hash(leaf, len, lh);
    const char *kind = b->kind_case == LOOPLEDGER__V1__ENTRY_BODY__KIND_NOTE ? "note"
                       : b->kind_case == LOOPLEDGER__V1__ENTRY_BODY__KIND_ACTOR ? "actor"
                       : b->kind_case == LOOPLEDGER__V1__ENTRY_BODY__KIND_GENESIS ? "genesis"
                                                                                  : "unknown";
    char when[40];
    fmt_time(le->server_time_unix_nanos, when);
    if (jw) {
        ll_jw_begin_object(jw);
        ll_jw_key(jw, "seq");
        ll_jw_uint64(jw, le->seq);
        ll_jw_key(jw, "server_time");
        ll_jw_string(jw, when);
        ll_jw_key(jw, "server_time_unix_nanos");
        ll_jw_int64(jw, le->server_time_unix_nanos);
        ll_jw_key(jw, "kind");
        ll_jw_string(jw, kind);
        ll_jw_key(jw, "author");
        ll_jw_string(jw, b->author);
        ll_jw_key(jw, "initiative");
        ll_jw_string(jw, b->initiative);
        if (le->envelope->n_signatures) {
            ll_jw_key(jw, "keyid");
            ll_jw_string(jw, le->envelope->signatures[0]->keyid);
        }
        jw_hex(jw, "leaf_hash", lh, LL_HASH_LEN);
        jw_b64(jw, "leaf", leaf, len);
        ll_jw_key(jw, "links");
        ll_jw_begin_array(jw);
        for (size_t i = 0; i < b->n_links; i++) {
            ll_jw_begin_object(jw);
            ll_jw_key(jw, "relation");
            ll_jw_string(jw, lc_relation_name(b->links[i]->relation));
            ll_jw_key(jw, "target");
            ll_jw_uint64(jw, b->links[i]->target_seq);
            ll_jw_end_object(jw);
        }
        ll_jw_end_array(jw);
        if (b->kind_case == LOOPLEDGER__V1__ENTRY_BODY__KIND_NOTE) {
            ll_jw_key(jw, "note");
            ll_jw_string(jw, b->note->text);
        } else if (b->kind_case == LOOPLEDGER__V1__ENTRY_BODY__KIND_ACTOR) {
            print_registration(b->actor, jw, "actor");
        } else if (b->kind_case == LOOPLEDGER__V1__ENTRY_BODY__KIND_GENESIS) {
            ll_jw_key(jw, "origin");
            ll_jw_string(jw, b->genesis->origin);
            print_registration(b->genesis->server, jw, "server");
            print_registration(b->genesis->admin, jw, "admin");
        }
        ll_jw_end_object(jw);
    } else {
        printf("#%-6" PRIu64 " %s  %-7s by %-12s", le->seq, when, kind, b->author);
        if (b->initiative[0])
            printf(" initiative %s", b->initiative);
        printf("\n");
        for (size_t i = 0; i < b->n_links; i++)
            printf("  %s -> #%" PRIu64 "\n", lc_relation_name(b->links[i]->relation),
                   b->links[i]->target_seq);
        if (b->kind_case == LOOPLEDGER__V1__ENTRY_BODY__KIND_NOTE) {
            printf("  %s\n", b->note->text);
        } else if (b->kind_case == LOOPLEDGER__V1__ENTRY_BODY__KIND_ACTOR) {
            print_registration(b->actor, NULL, "registers");
        } else if (b->kind_case == LOOPLEDGER__V1__ENTRY_BODY__KIND_GENESIS) {
            printf("  origin %s\n", b->genesis->origin);
            print_registration(b->genesis->server, NULL, "server");
            print_registration(b->genesis->admin, NULL, "admin");
        }
    }
    loopledger__v1__entry_body__free_unpacked(b, NULL);
    loopledger__v1__log_entry__free_unpacked(le, NULL);
    return LL_OK;
bad:
    if (le)
        loopledger__v1__log_entry__free_unpacked(le, NULL);
    return LL_ERR_INVALID;
}
