/*
 * loopctl entries: JSON -> EntryBody for `append` and the per-kind
 * commands, and leaf -> text/JSON for `get`, `list` and `watch`.
 *
 * Entry JSON (one object):
 *   { "author": "alice", "initiative": "reco-engine",
 *     "links": [ {"relation": "supports", "target": 3} ],
 *     KIND: ... }
 * where KIND is exactly one EntryBody oneof member: "note" (a string),
 * "actor" ({"id", "name", "roles", "public_key" | "public_key_file"}), or
 * a domain kind ("charter", "hypothesis", ..., "correction") whose object
 * lc_pbjson converts field by field from the .proto. Unknown keys are
 * refused with their path: a typo must not silently drop signed content.
 *
 * Bodies built here are malloc'd like protobuf-c's unpacked messages, so
 * lc_body_free is protobuf_c_message_free_unpacked.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lc_pbjson.h"
#include "ll_crypto.h"
#include "ll_err.h"
#include "ll_kinds.h"
#include "ll_merkle.h"
#include "loopctl_entry.h"
#include "ll_effects.h"
#include "loopctl_util.h"

#define K(x) LOOPLEDGER__V1__ENTRY_BODY__KIND_##x

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
    int v;
    if (lc_pbdesc_enum_value(&loopledger__v1__relation__descriptor, name, &v) || v == 0)
        return -1;
    return v;
}

const char *lc_relation_name(int rel)
{
    return ll_relation_name(rel);
}

const char *lc_role_name(int role)
{
    return role > 0 && role < N_ROLE ? role_names[role] : "unknown";
}

const char *lc_kind_name(uint32_t kind)
{
    /* Lowercase Kind names ("initiative", "scaling_plan"), made once. */
    static char names[64][40];
    if (kind >= 64 || !protobuf_c_enum_descriptor_get_value(&loopledger__v1__kind__descriptor, (int)kind))
        return "unknown";
    if (!names[kind][0])
        lc_pbdesc_enum_name(&loopledger__v1__kind__descriptor, (int)kind, names[kind], sizeof names[kind]);
    return names[kind];
}

const ProtobufCFieldDescriptor *lc_kind_field(const char *name)
{
    const ProtobufCFieldDescriptor *f;
    if (!strcmp(name, "initiative"))
        name = "charter";
    f = lc_pbdesc_field(&loopledger__v1__entry_body__descriptor, name);
    if (!f || !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) || f->id == K(GENESIS))
        return NULL;
    return f;
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
            snprintf(err, cap, "%s.%s: unknown field", where, k);
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

static const char *const top_keys[] = {"author", "initiative", "links",
                                       "client_time_unix_nanos", NULL};

static int actor_from_json(Loopledger__V1__EntryBody *b, const ll_json_t *actor,
                           const char *base_dir, char *err, size_t cap)
{
    static const char *const actor_keys[] = {"id", "name", "roles", "public_key",
                                             "public_key_file", NULL};
    const ll_json_t *v;
    int rc = LL_OK;
    Loopledger__V1__ActorRegistration *a = malloc(sizeof *a);
    if (!a)
        return LL_ERR_NOMEM;
    loopledger__v1__actor_registration__init(a);
    b->kind_case = K(ACTOR);
    b->actor = a;
    if (ll_json_type(actor) != LL_JSON_OBJECT)
        BAD("entry: \"actor\" must be an object");
    if ((rc = only_keys(actor, actor_keys, err, cap, "actor")))
        goto fail;
    char *s;
    if (!(v = ll_json_object_get(actor, "id")) || !(s = dup_string(v)))
        BAD("actor: \"id\" (string) is required");
    a->actor_id = s;
    v = ll_json_object_get(actor, "name");
    if (!(s = v ? dup_string(v) : strdup(a->actor_id)))
        BAD("actor: \"name\" must be a string");
    a->display_name = s;
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
        const char *t = ll_json_string(v, &sl);
        if (!t || ll_base64_decode(t, sl, a->public_key.data, LL_PUBKEY_LEN, &got) ||
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
fail:
    return rc;
}

/* Sets the body's kind from member key with JSON value v. */
static int kind_from_json(Loopledger__V1__EntryBody *b, const ProtobufCFieldDescriptor *f,
                          const ll_json_t *v, const char *base_dir, char *err, size_t cap)
{
    int rc = LL_OK;
    if (f->id == K(ACTOR))
        return actor_from_json(b, v, base_dir, err, cap);
    if (f->id == K(NOTE) && ll_json_type(v) == LL_JSON_STRING) {
        Loopledger__V1__Note *n = malloc(sizeof *n);
        if (!n)
            return LL_ERR_NOMEM;
        loopledger__v1__note__init(n);
        b->kind_case = K(NOTE);
        b->note = n;
        if (!(n->text = dup_string(v)))
            BAD("entry: \"note\" must be a string");
        return LL_OK;
    }
    ProtobufCMessage *m;
    if ((rc = lc_pbjson_parse(f->descriptor, v, f->name, &m, err, cap)))
        return rc;
    b->kind_case = (Loopledger__V1__EntryBody__KindCase)f->id;
    *(ProtobufCMessage **)((char *)b + f->offset) = m;
fail:
    return rc;
}

int lc_body_new(const char *author, const char *initiative, Loopledger__V1__EntryBody **out)
{
    Loopledger__V1__EntryBody *b = malloc(sizeof *b);
    struct timespec ts;
    if (!b)
        return LL_ERR_NOMEM;
    loopledger__v1__entry_body__init(b);
    b->author = strdup(author ? author : "");
    b->initiative = strdup(initiative ? initiative : "");
    b->nonce.data = malloc(16);
    if (!b->author || !b->initiative || !b->nonce.data || ll_random(b->nonce.data, 16)) {
        lc_body_free(b);
        return LL_ERR_NOMEM;
    }
    b->nonce.len = 16;
    clock_gettime(CLOCK_REALTIME, &ts);
    b->client_time_unix_nanos = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    *out = b;
    return LL_OK;
}

int lc_body_add_link(Loopledger__V1__EntryBody *b, const char *relation, uint64_t target,
                     char *err, size_t cap)
{
    int r = lc_relation_from_name(relation);
    if (r < 0) {
        snprintf(err, cap, "unknown relation \"%s\"", relation);
        return LL_ERR_INVALID;
    }
    Loopledger__V1__Link **nl = realloc(b->links, (b->n_links + 1) * sizeof *nl);
    if (!nl)
        return LL_ERR_NOMEM;
    b->links = nl;
    Loopledger__V1__Link *l = malloc(sizeof *l);
    if (!l)
        return LL_ERR_NOMEM;
    loopledger__v1__link__init(l);
    l->relation = (Loopledger__V1__Relation)r;
    l->target_seq = target;
    b->links[b->n_links++] = l;
    return LL_OK;
}

int lc_body_from_json(const ll_json_t *doc, const char *base_dir,
                      Loopledger__V1__EntryBody **out, char *err, size_t cap)
{
    int rc = LL_OK;
    Loopledger__V1__EntryBody *b = NULL;
    const ll_json_t *v, *kind_v = NULL;
    const ProtobufCFieldDescriptor *kind_f = NULL;
    char *author = NULL, *ini = NULL;

    if (ll_json_type(doc) != LL_JSON_OBJECT) {
        snprintf(err, cap, "entry JSON must be an object");
        return LL_ERR_INVALID;
    }
    for (size_t i = 0; i < ll_json_object_len(doc); i++) {
        const char *k = ll_json_object_key(doc, i);
        const ProtobufCFieldDescriptor *f;
        int top = 0;
        for (const char *const *t = top_keys; *t; t++)
            top |= !strcmp(k, *t);
        if (top)
            continue;
        f = protobuf_c_message_descriptor_get_field_by_name(&loopledger__v1__entry_body__descriptor, k);
        if (!f || !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) || f->id == K(GENESIS))
            BAD("entry.%s: unknown field", k);
        if (kind_f)
            BAD("entry: exactly one kind is allowed (\"%s\" and \"%s\")", kind_f->name, k);
        kind_f = f;
        kind_v = ll_json_object_value(doc, i);
    }
    if (!kind_f)
        BAD("entry: exactly one kind is required: note, actor, charter, hypothesis, experiment, "
            "deployment, measurement, alert, finding, adjustment, decision, review, "
            "scaling_plan, roadmap_project or correction");
    if (!(v = ll_json_object_get(doc, "author")) || !(author = dup_string(v)))
        BAD("entry: \"author\" (string) is required");
    v = ll_json_object_get(doc, "initiative");
    if (v && !(ini = dup_string(v)))
        BAD("entry: \"initiative\" must be a string");
    if ((rc = lc_body_new(author, ini, &b)))
        goto fail;
    if ((v = ll_json_object_get(doc, "client_time_unix_nanos")) &&
        ll_json_get_int64(v, &b->client_time_unix_nanos))
        BAD("entry: \"client_time_unix_nanos\" must be an integer");
    if ((v = ll_json_object_get(doc, "links"))) {
        if (ll_json_type(v) != LL_JSON_ARRAY)
            BAD("entry: \"links\" must be an array");
        for (size_t i = 0; i < ll_json_array_len(v); i++) {
            const ll_json_t *l = ll_json_array_get(v, i), *rel, *tgt;
            static const char *const link_keys[] = {"relation", "target", NULL};
            char where[32], *name;
            uint64_t target;
            snprintf(where, sizeof where, "links[%zu]", i);
            if (ll_json_type(l) != LL_JSON_OBJECT || !(rel = ll_json_object_get(l, "relation")) ||
                !(tgt = ll_json_object_get(l, "target")) || !(name = dup_string(rel)))
                BAD("links[%zu]: needs {\"relation\": NAME, \"target\": SEQ}", i);
            if ((rc = only_keys(l, link_keys, err, cap, where))) {
                free(name);
                goto fail;
            }
            if (ll_json_get_uint64(tgt, &target)) {
                free(name);
                BAD("links[%zu]: target must be a sequence number", i);
            }
            rc = lc_body_add_link(b, name, target, err, cap);
            free(name);
            if (rc) {
                char inner[200];
                snprintf(inner, sizeof inner, "%s", err);
                BAD("links[%zu]: %s", i, inner);
            }
        }
    }
    if ((rc = kind_from_json(b, kind_f, kind_v, base_dir, err, cap)))
        goto fail;
    free(author);
    free(ini);
    *out = b;
    return LL_OK;
fail:
    free(author);
    free(ini);
    lc_body_free(b);
    return rc ? rc : LL_ERR_INVALID;
}

void lc_body_free(Loopledger__V1__EntryBody *b)
{
    if (b)
        protobuf_c_message_free_unpacked(&b->base, NULL);
}

/* ---- printing ---- */

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

static const char *enum_short(const ProtobufCEnumDescriptor *d, int v, char *buf, size_t cap)
{
    return lc_pbdesc_enum_name(d, v, buf, cap);
}

void lc_summarize(const Loopledger__V1__EntryBody *b, char *out, size_t cap)
{
    char e1[48], e2[48];
    switch (b->kind_case) {
    case K(NOTE): snprintf(out, cap, "%s", b->note->text); break;
    case K(ACTOR): snprintf(out, cap, "registers %s", b->actor->actor_id); break;
    case K(GENESIS): snprintf(out, cap, "genesis of %s", b->genesis->origin); break;
    case K(CHARTER):
        snprintf(out, cap, "%s [%s, %s]", b->charter->title,
                 enum_short(&loopledger__v1__application__descriptor, b->charter->application, e1, sizeof e1),
                 enum_short(&loopledger__v1__phase__descriptor, b->charter->phase, e2, sizeof e2));
        break;
    case K(HYPOTHESIS): snprintf(out, cap, "%s", b->hypothesis->statement); break;
    case K(EXPERIMENT):
        snprintf(out, cap, "%s (primary metric %s, %zu variant%s)", b->experiment->title,
                 b->experiment->primary_metric, b->experiment->n_variants,
                 b->experiment->n_variants == 1 ? "" : "s");
        break;
    case K(DEPLOYMENT):
        snprintf(out, cap, "%s at %g%%%s%s", b->deployment->version, b->deployment->rollout_percent,
                 b->deployment->scope[0] ? " of " : "", b->deployment->scope);
        break;
    case K(MEASUREMENT): {
        size_t n = b->measurement->n_observations;
        const Loopledger__V1__Observation *o = n ? b->measurement->observations[0] : NULL;
        if (!o) {
            snprintf(out, cap, "no observations");
            break;
        }
        snprintf(out, cap, "%s%s%s%s%s = %g%s%s (%zu observation%s%s%s)", o->metric,
                 o->segment[0] ? " / " : "", o->segment, o->arm[0] ? " / arm " : "", o->arm,
                 o->value, o->unit[0] ? " " : "", o->unit, n, n == 1 ? "" : "s",
                 b->measurement->source[0] ? " from " : "", b->measurement->source);
        break;
    }
    case K(ALERT):
        snprintf(out, cap, "%s%s%s: %g -> %g (%s)", b->alert->metric, b->alert->segment[0] ? " / " : "",
                 b->alert->segment, b->alert->baseline, b->alert->current,
                 enum_short(&loopledger__v1__detector__descriptor, b->alert->detector, e1, sizeof e1));
        break;
    case K(FINDING):
        snprintf(out, cap, "%s [%s, %s]", b->finding->summary,
                 enum_short(&loopledger__v1__evidence__descriptor, b->finding->evidence, e1, sizeof e1),
                 enum_short(&loopledger__v1__diagnosis__descriptor, b->finding->diagnosis, e2, sizeof e2));
        break;
    case K(ADJUSTMENT):
        snprintf(out, cap, "[%s] %s",
                 enum_short(&loopledger__v1__refinement__descriptor, b->adjustment->category, e1, sizeof e1),
                 b->adjustment->change);
        break;
    case K(DECISION):
        snprintf(out, cap, "%s (%s): %s",
                 enum_short(&loopledger__v1__outcome__descriptor, b->decision->outcome, e1, sizeof e1),
                 enum_short(&loopledger__v1__hitl_level__descriptor, b->decision->level, e2, sizeof e2),
                 b->decision->rationale);
        break;
    case K(REVIEW):
        snprintf(out, cap, "%s review: %s",
                 enum_short(&loopledger__v1__cadence__descriptor, b->review->cadence, e1, sizeof e1),
                 b->review->notes);
        break;
    case K(SCALING_PLAN):
        snprintf(out, cap, "%s: %s -> %s",
                 enum_short(&loopledger__v1__scaling_scenario__descriptor, b->scaling_plan->scenario, e1, sizeof e1),
                 b->scaling_plan->from_scope, b->scaling_plan->to_scope);
        break;
    case K(ROADMAP_PROJECT):
        snprintf(out, cap, "%s [%s]", b->roadmap_project->title,
                 enum_short(&loopledger__v1__project_status__descriptor, b->roadmap_project->status, e1, sizeof e1));
        break;
    case K(CORRECTION): snprintf(out, cap, "%s", b->correction->reason); break;
    case K(POLICY): {
        const Loopledger__V1__Policy *p = b->policy;
        char kinds[120] = "", cond[160] = "";
        size_t kl = 0, cl = 0;
        for (size_t i = 0; i < p->n_kinds && kl < sizeof kinds; i++)
            kl += (size_t)snprintf(kinds + kl, sizeof kinds - kl, "%s%s", i ? ", " : "",
                                   lc_kind_name((uint32_t)p->kinds[i]));
        if (p->application && cl < sizeof cond)
            cl += (size_t)snprintf(cond + cl, sizeof cond - cl, "%sapplication %s", cl ? ", " : "",
                                   enum_short(&loopledger__v1__application__descriptor,
                                              p->application, e1, sizeof e1));
        if (p->refinement && cl < sizeof cond)
            cl += (size_t)snprintf(cond + cl, sizeof cond - cl, "%scategory %s", cl ? ", " : "",
                                   enum_short(&loopledger__v1__refinement__descriptor,
                                              p->refinement, e1, sizeof e1));
        if (p->threshold_field[0] && cl < sizeof cond)
            cl += (size_t)snprintf(cond + cl, sizeof cond - cl, "%s%s > %g", cl ? ", " : "",
                                   p->threshold_field, p->threshold);
        snprintf(out, cap, "%s: %s%s%s%s need %u approval%s at %s", p->name, kinds,
                 cond[0] ? " (" : "", cond, cond[0] ? ")" : "", p->approvals,
                 p->approvals == 1 ? "" : "s", ll_effects_level_name((uint32_t)p->level));
        break;
    }
    case K(KEY_ROTATION): snprintf(out, cap, "new key for %s", b->key_rotation->actor_id); break;
    case K(REVOCATION):
        snprintf(out, cap, "revokes key %.16s... of %s", b->revocation->keyid,
                 b->revocation->actor_id);
        break;
    case K(ROLE_GRANT): {
        size_t l = (size_t)snprintf(out, cap, "roles of %s:", b->role_grant->actor_id);
        for (size_t i = 0; i < b->role_grant->n_roles && l < cap; i++)
            l += (size_t)snprintf(out + l, cap - l, " %s", lc_role_name(b->role_grant->roles[i]));
        break;
    }
    default: snprintf(out, cap, "?"); break;
    }
    for (char *p = out; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
}

/* The kind's message in the body's oneof, or NULL (note/actor/genesis
 * are printed by hand). */
static const ProtobufCMessage *domain_part(const Loopledger__V1__EntryBody *b,
                                           const ProtobufCFieldDescriptor **f)
{
    if (b->kind_case < K(CHARTER))
        return NULL;
    *f = protobuf_c_message_descriptor_get_field(&loopledger__v1__entry_body__descriptor,
                                                 (unsigned)b->kind_case);
    if (!*f)
        return NULL;
    return *(ProtobufCMessage *const *)((const char *)b + (*f)->offset);
}

void lc_print_effective(const Loopledger__V1__EntryBody *effective)
{
    const ProtobufCFieldDescriptor *df = NULL;
    const ProtobufCMessage *dm = domain_part(effective, &df);
    if (!dm)
        return;
    printf("  record after the update:\n");
    lc_pbjson_write_text(stdout, dm, 4);
}

int lc_print_leaf(const uint8_t *leaf, size_t len, ll_jw_t *jw, int full,
                  const uint64_t *superseded_by, int status,
                  const Loopledger__V1__EntryBody *effective, uint64_t updated_by)
{
    const char *st = lc_status_word(status);
    Loopledger__V1__LogEntry *le = loopledger__v1__log_entry__unpack(NULL, len, leaf);
    Loopledger__V1__EntryBody *b = NULL;
    const ProtobufCFieldDescriptor *df = NULL;
    const ProtobufCMessage *dm;
    char summary[512];
    if (!le || !le->envelope)
        goto bad;
    b = loopledger__v1__entry_body__unpack(NULL, le->envelope->payload.len,
                                           le->envelope->payload.data);
    if (!b)
        goto bad;
    uint8_t lh[LL_HASH_LEN];
    ll_merkle_leaf_hash(leaf, len, lh);
    const char *kind = lc_kind_name(b->kind_case);
    char when[40];
    lc_format_time(le->server_time_unix_nanos, when);
    lc_summarize(b, summary, sizeof summary);
    dm = domain_part(b, &df);
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
        ll_jw_key(jw, "summary");
        ll_jw_string(jw, summary);
        if (status) {
            ll_jw_key(jw, "status");
            ll_jw_string(jw, st[0] ? st : "effective");
        }
        if (superseded_by) {
            ll_jw_key(jw, "superseded");
            ll_jw_bool(jw, 1);
            ll_jw_key(jw, "superseded_by");
            ll_jw_uint64(jw, *superseded_by);
        }
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
        if (b->kind_case == K(NOTE)) {
            ll_jw_key(jw, "note");
            ll_jw_string(jw, b->note->text);
        } else if (b->kind_case == K(ACTOR)) {
            print_registration(b->actor, jw, "actor");
        } else if (b->kind_case == K(GENESIS)) {
            ll_jw_key(jw, "origin");
            ll_jw_string(jw, b->genesis->origin);
            print_registration(b->genesis->server, jw, "server");
            print_registration(b->genesis->admin, jw, "admin");
        } else if (dm) {
            ll_jw_key(jw, df->name);
            lc_pbjson_write(jw, dm);
        }
        if (b->update_mask) {
            ll_jw_key(jw, "update_mask");
            ll_jw_begin_array(jw);
            for (size_t i = 0; i < b->update_mask->n_paths; i++)
                ll_jw_string(jw, b->update_mask->paths[i]);
            ll_jw_end_array(jw);
        }
        const ProtobufCFieldDescriptor *ef = NULL;
        const ProtobufCMessage *em = effective ? domain_part(effective, &ef) : NULL;
        if (em) {
            ll_jw_key(jw, "effective");
            ll_jw_begin_object(jw);
            ll_jw_key(jw, ef->name);
            lc_pbjson_write(jw, em);
            ll_jw_end_object(jw);
        }
        if (updated_by) {
            ll_jw_key(jw, "updated_by");
            ll_jw_uint64(jw, updated_by);
        }
        ll_jw_end_object(jw);
    } else {
        printf("#%-5" PRIu64 " %s  %-15s by %-10s", le->seq, when, kind, b->author);
        if (b->initiative[0])
            printf(" [%s]", b->initiative);
        if (b->kind_case >= K(CHARTER))
            printf("  %s", summary);
        if (st[0])
            printf("  [%s]", st);
        if (superseded_by)
            printf("  [superseded by #%" PRIu64 "]", *superseded_by);
        if (updated_by)
            printf("  [updated by #%" PRIu64 "]", updated_by);
        printf("\n");
        for (size_t i = 0; i < b->n_links; i++)
            printf("  %s -> #%" PRIu64 "\n", lc_relation_name(b->links[i]->relation),
                   b->links[i]->target_seq);
        if (b->kind_case == K(NOTE)) {
            printf("  %s\n", b->note->text);
        } else if (b->kind_case == K(ACTOR)) {
            print_registration(b->actor, NULL, "registers");
        } else if (b->kind_case == K(GENESIS)) {
            printf("  origin %s\n", b->genesis->origin);
            print_registration(b->genesis->server, NULL, "server");
            print_registration(b->genesis->admin, NULL, "admin");
        } else if (dm && full) {
            lc_pbjson_write_text(stdout, dm, 4);
        }
        if (b->update_mask) {
            printf("  patch (update_mask):");
            for (size_t i = 0; i < b->update_mask->n_paths; i++)
                printf("%s%s", i ? ", " : " ", b->update_mask->paths[i]);
            printf("\n");
        }
        if (effective && full)
            lc_print_effective(effective);
    }
    loopledger__v1__entry_body__free_unpacked(b, NULL);
    loopledger__v1__log_entry__free_unpacked(le, NULL);
    return LL_OK;
bad:
    if (le)
        loopledger__v1__log_entry__free_unpacked(le, NULL);
    return LL_ERR_INVALID;
}
