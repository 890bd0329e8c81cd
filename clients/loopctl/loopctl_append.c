/*
 * loopctl_append: signing and appending entries.
 *
 *   append --key K FILE.json                 any kind, from entry JSON
 *   append --key K --author A [--initiative I] [--link REL:SEQ]... --note TEXT
 *   KIND --key K --author A --initiative I [--link REL:SEQ]...
 *        [--json BODY.json] [--FIELD VALUE]...
 *
 * KIND is a domain kind (initiative, hypothesis, ..., scaling-plan,
 * roadmap-project, correction). --FIELD names a field of the kind's
 * message ('-' or '_'), dotted for nested ones (--expected_effect.metric),
 * repeated by repeating the flag; lc_pbjson_set does the typing from the
 * descriptor, so the flags follow the .proto without a table here. --json
 * supplies the kind's body first; flags then add to it.
 *
 * Updates of long-lived records (initiative, roadmap-project, policy):
 * given a --link follows:SEQ, the command sends a PATCH (update_mask,
 * ll_mask.h) naming the fields given (--FIELD flags and --json keys), so
 * every other field carries over; --update-mask PATHS (comma-separated)
 * names more, e.g. a field to clear; --replace sends the whole record
 * instead (no mask: fields not given are cleared).
 */
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lc_pbjson.h"
#include "ll_crypto.h"
#include "ll_entry.h"
#include "ll_err.h"
#include "ll_mask.h"
#include "loopctl_append.h"
#include "loopctl_entry.h"
#include "loopctl_rpc.h"
#include "loopctl_tls.h"
#include "ll_effects.h"
#include "loopctl_util.h"
#include "loopledger/v1/ledger.pb-c.h"

#define SVC "/loopledger.v1.LedgerService/"

static const char *effect_type_name(int t)
{
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&loopledger__v1__append_effect__type__descriptor, t);
    static char lower[40];
    size_t i = 0;
    if (!v)
        return "unknown";
    for (; v->name[i] && i + 1 < sizeof lower; i++)
        lower[i] = (char)(v->name[i] >= 'A' && v->name[i] <= 'Z' ? v->name[i] + 32 : v->name[i]);
    lower[i] = 0;
    return lower;
}

void lc_print_append(const Loopledger__V1__AppendResponse *resp,
                     const Loopledger__V1__EntryBody *body)
{
    char lh[65] = "";
    const char *st = lc_status_word(resp->status);
    if (resp->leaf_hash.len == LL_HASH_LEN)
        ll_hex_encode(resp->leaf_hash.data, LL_HASH_LEN, lh);
    if (lc_opts.json) {
        ll_jw_t jw;
        ll_jw_init(&jw, 0);
        ll_jw_begin_object(&jw);
        ll_jw_key(&jw, "seq");
        ll_jw_uint64(&jw, resp->seq);
        if (body) {
            ll_jw_key(&jw, "kind");
            ll_jw_string(&jw, lc_kind_name(body->kind_case));
        }
        ll_jw_key(&jw, "server_time_unix_nanos");
        ll_jw_int64(&jw, resp->server_time_unix_nanos);
        ll_jw_key(&jw, "leaf_hash");
        ll_jw_string(&jw, lh);
        ll_jw_key(&jw, "duplicate");
        ll_jw_bool(&jw, resp->duplicate);
        ll_jw_key(&jw, "validate_only");
        ll_jw_bool(&jw, resp->validate_only);
        ll_jw_key(&jw, "status");
        ll_jw_string(&jw, st[0] ? st : "effective");
        ll_jw_key(&jw, "effects");
        ll_jw_begin_array(&jw);
        for (size_t i = 0; i < resp->n_effects; i++) {
            const Loopledger__V1__AppendEffect *e = resp->effects[i];
            ll_jw_begin_object(&jw);
            ll_jw_key(&jw, "type");
            ll_jw_string(&jw, effect_type_name(e->type));
            ll_jw_key(&jw, "seq");
            ll_jw_uint64(&jw, e->seq);
            if (e->policy_seq || e->level) {
                ll_jw_key(&jw, "policy_seq");
                ll_jw_uint64(&jw, e->policy_seq);
                ll_jw_key(&jw, "level");
                ll_jw_string(&jw, ll_effects_level_name((uint32_t)e->level));
                ll_jw_key(&jw, "approvals");
                ll_jw_uint64(&jw, e->approvals);
                ll_jw_key(&jw, "approvals_required");
                ll_jw_uint64(&jw, e->approvals_required);
            }
            ll_jw_key(&jw, "description");
            ll_jw_string(&jw, e->description);
            ll_jw_end_object(&jw);
        }
        ll_jw_end_array(&jw);
        if (resp->effective && resp->effective->kind_case) {
            const ProtobufCFieldDescriptor *ef = protobuf_c_message_descriptor_get_field(
                &loopledger__v1__entry_body__descriptor, resp->effective->kind_case);
            if (ef) {
                ll_jw_key(&jw, "effective");
                ll_jw_begin_object(&jw);
                ll_jw_key(&jw, ef->name);
                lc_pbjson_write(&jw, *(const ProtobufCMessage *const *)((const char *)resp->effective +
                                                                        ef->offset));
                ll_jw_end_object(&jw);
            }
        }
        ll_jw_end_object(&jw);
        lc_print_json(&jw);
        return;
    }
    char summary[200] = "";
    const char *kind = body ? lc_kind_name(body->kind_case) : "entry";
    if (body) /* a patch alone is partial: summarize the record it makes */
        lc_summarize(resp->effective ? resp->effective : body, summary, sizeof summary);
    if (resp->validate_only)
        printf("dry run: %s would be %s #%" PRIu64 "%s%s; nothing was written\n", kind,
               resp->duplicate ? "a duplicate of" : "appended as", resp->seq,
               summary[0] ? ": " : "", summary);
    else if (resp->duplicate)
        printf("already recorded: %s #%" PRIu64 "%s%s\n  leaf hash %s\n", kind, resp->seq,
               summary[0] ? ": " : "", summary, lh);
    else
        printf("appended %s #%" PRIu64 "%s%s\n  leaf hash %s\n", kind, resp->seq,
               summary[0] ? ": " : "", summary, lh);
    if (st[0])
        printf("  status: %s%s\n", st,
               !strcmp(st, "pending") ? " (not in effect until approved; loopctl pending)" : "");
    for (size_t i = 0; i < resp->n_effects; i++)
        printf("  %s%s\n", resp->validate_only ? "would: " : "", resp->effects[i]->description);
    if (resp->effective)
        lc_print_effective(resp->effective);
}

void lc_append_body(const Loopledger__V1__EntryBody *body, const char *keyfile)
{
    ll_key_t *key;
    uint8_t *env;
    size_t env_len;
    int rc;

    key = lc_load_signing_key(keyfile);
    rc = ll_entry_seal(body, key, &env, &env_len);
    ll_key_free(key);
    if (rc)
        lc_die("signing: %s", ll_strerror(rc));
    /* Re-packing the envelope as AppendRequest.envelope carries its payload
     * (the signed bytes) unchanged. */
    Loopledger__V1__AppendRequest req = LOOPLEDGER__V1__APPEND_REQUEST__INIT;
    Loopledger__V1__Envelope *e = loopledger__v1__envelope__unpack(NULL, env_len, env);
    if (!e)
        lc_die("internal: sealed envelope does not parse");
    req.envelope = e;
    req.validate_only = lc_opts.dry_run;
    size_t rl = loopledger__v1__append_request__get_packed_size(&req);
    uint8_t *rb = malloc(rl);
    if (!rb)
        lc_die("out of memory");
    loopledger__v1__append_request__pack(&req, rb);
    loopledger__v1__envelope__free_unpacked(e, NULL);
    free(env);
    if (lc_opts.save_request) {
        /* The exact request, for an idempotent `loopctl resubmit` after an
         * ambiguous failure (the server answers the original seq). */
        FILE *f = fopen(lc_opts.save_request, "wb");
        if (!f || fwrite(rb, 1, rl, f) != rl || fclose(f))
            lc_die("cannot write %s", lc_opts.save_request);
    }
    ll_reply_t r;
    lc_call(SVC "Append", rb, rl, &r);
    free(rb);
    Loopledger__V1__AppendResponse *resp =
        loopledger__v1__append_response__unpack(NULL, r.resp_len, r.resp);
    if (!resp)
        lc_die("malformed AppendResponse");
    lc_print_append(resp, body);
    loopledger__v1__append_response__free_unpacked(resp, NULL);
    ll_reply_free(&r);
}

/* "REL:SEQ" -> a link on b. */
static void add_link_arg(Loopledger__V1__EntryBody *b, const char *arg)
{
    char rel[64], err[200];
    const char *colon = strchr(arg, ':');
    if (!colon || (size_t)(colon - arg) >= sizeof rel)
        lc_die("--link wants RELATION:SEQ, got %s", arg);
    memcpy(rel, arg, (size_t)(colon - arg));
    rel[colon - arg] = 0;
    if (lc_body_add_link(b, rel, lc_parse_u64(colon + 1, "--link target"), err, sizeof err))
        lc_die("--link %s: %s", arg, err);
}

static ll_json_t *load_json(const char *file)
{
    size_t len;
    char *text = lc_read_file(file, &len), err[256];
    ll_json_t *doc;
    if (!text)
        lc_die("cannot read %s: %s", file, strerror(errno));
    if (ll_json_parse(text, len, &doc, err, sizeof err))
        lc_die("%s: %s", file, err);
    free(text);
    return doc;
}

int lc_cmd_append(int argc, char **argv)
{
    const char *keyfile = NULL, *file = NULL, *author = NULL, *initiative = NULL,
               *note = NULL;
    const char *links[LL_MAX_LINKS];
    size_t nlinks = 0;
    Loopledger__V1__EntryBody *body = NULL;
    char err[512];

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--dry-run")) lc_opts.dry_run = 1;
        else if (!strcmp(a, "--key") && i + 1 < argc) keyfile = argv[++i];
        else if (!strcmp(a, "--author") && i + 1 < argc) author = argv[++i];
        else if (!strcmp(a, "--initiative") && i + 1 < argc) initiative = argv[++i];
        else if (!strcmp(a, "--note") && i + 1 < argc) note = argv[++i];
        else if (!strcmp(a, "--link") && i + 1 < argc && nlinks < LL_MAX_LINKS) links[nlinks++] = argv[++i];
        else if (a[0] != '-' && !file) file = a;
        else lc_die("append: unexpected argument %s", a);
    }
    if (!keyfile)
        lc_die("append: --key FILE is required");
    if (file) {
        if (author || initiative || note || nlinks)
            lc_die("append: give either FILE.json or flags, not both");
        ll_json_t *doc = load_json(file);
        char *dirc = strdup(file);
        int rc = lc_body_from_json(doc, dirname(dirc), &body, err, sizeof err);
        free(dirc);
        ll_json_free(doc);
        if (rc)
            lc_die("%s: %s", file, err);
    } else {
        if (!author)
            lc_die("append: --author ID is required (or give FILE.json)");
        if (!note)
            lc_die("append: --note TEXT is required; other kinds: loopctl KIND ... or FILE.json");
        if (lc_body_new(author, initiative, &body))
            lc_die("out of memory");
        for (size_t i = 0; i < nlinks; i++)
            add_link_arg(body, links[i]);
        body->kind_case = LOOPLEDGER__V1__ENTRY_BODY__KIND_NOTE;
        if (!(body->note = malloc(sizeof *body->note)))
            lc_die("out of memory");
        loopledger__v1__note__init(body->note);
        if (!(body->note->text = strdup(note)))
            lc_die("out of memory");
    }
    lc_append_body(body, keyfile);
    lc_body_free(body);
    return 0;
}

/* Domain kinds that have a command (the Kind enum's names, '_' -> '-'). */
int lc_is_kind_command(const char *name)
{
    const ProtobufCFieldDescriptor *f = lc_kind_field(name);
    return f && f->id >= LOOPLEDGER__V1__ENTRY_BODY__KIND_CHARTER &&
           (strcmp(name, "charter") != 0);
}

/* One line per settable field of d, nested messages dotted ("--expected-
 * effect.metric"), with the value's type, an enum's values, and whether the
 * flag repeats. */
static void usage_fields(FILE *f, const ProtobufCMessageDescriptor *d, const char *prefix,
                         int depth)
{
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *fd = &d->fields[i];
        char name[160];
        size_t n = (size_t)snprintf(name, sizeof name, "%s%s", prefix, fd->name);
        for (size_t k = strlen(prefix); k < n; k++)
            if (name[k] == '_')
                name[k] = '-';
        int rep = fd->label == PROTOBUF_C_LABEL_REPEATED;
        if (fd->type == PROTOBUF_C_TYPE_MESSAGE) {
            if (rep)
                fprintf(f, "  --%s.FIELD   (repeated: setting a field again starts a new element)\n",
                        name);
            if (depth < 4) {
                char sub[170];
                snprintf(sub, sizeof sub, "%s.", name);
                usage_fields(f, fd->descriptor, sub, depth + 1);
            }
            continue;
        }
        const char *type = fd->type == PROTOBUF_C_TYPE_STRING ? "TEXT"
                           : fd->type == PROTOBUF_C_TYPE_BOOL ? "true|false"
                           : fd->type == PROTOBUF_C_TYPE_ENUM ? "VALUE"
                           : fd->type == PROTOBUF_C_TYPE_BYTES ? "BASE64"
                           : fd->type == PROTOBUF_C_TYPE_DOUBLE || fd->type == PROTOBUF_C_TYPE_FLOAT
                               ? "NUMBER"
                               : "INTEGER";
        int col = fprintf(f, "  --%s %s%s", name, type, rep ? " (repeat the flag)" : "");
        if (fd->type == PROTOBUF_C_TYPE_ENUM) {
            const ProtobufCEnumDescriptor *e = fd->descriptor;
            fprintf(f, "%*s one of:", col < 44 ? 44 - col : 1, "");
            for (unsigned k = 0; k < e->n_values; k++) {
                char v[64];
                if (e->values[k].value == 0)
                    continue; /* UNSPECIFIED */
                fprintf(f, " %s", lc_pbdesc_enum_name(e, e->values[k].value, v, sizeof v));
            }
        }
        fputc('\n', f);
    }
}

/* `loopctl KIND --help`: stdout, since it was asked for. */
static void kind_usage(FILE *f, const char *kind, const ProtobufCFieldDescriptor *fd)
{
    const ProtobufCMessageDescriptor *d = fd->descriptor;
    int record = ll_mask_is_record(fd->id);
    fprintf(f,
            "usage: loopctl %s --key KEY --author ID --initiative ID [--link REL:SEQ]...\n"
            "       [--json BODY.json] [--dry-run]%s [--FIELD VALUE]...\n",
            kind, record ? " [--update-mask PATHS | --replace]" : "");
    if (record)
        fprintf(f,
                "update: with --link follows:SEQ (the record's latest entry) this sends a patch:\n"
                "  only the fields given (--FIELD, --json keys) change, the rest carry over;\n"
                "  --update-mask a,b also names fields to change, and a named field not given\n"
                "  is cleared; --replace sends the whole record (fields not given are cleared).\n"
                "  loopctl get SEQ shows the record after the update.\n");
    fprintf(f, "fields of %s ('-' or '_' in names; nested fields dotted):\n", d->short_name);
    usage_fields(f, d, "", 0);
}

/* The update_mask of a record update: paths[] (malloc'd strings, owned by
 * the body once attached). */
typedef struct mask_paths {
    char **v;
    size_t n;
} mask_paths_t;

/* Adds the top-level field that flag or JSON key name (nested names
 * dotted, '-' or '_', lowerCamel JSON spelling) to m, once. */
static void mask_add(mask_paths_t *m, const ProtobufCMessageDescriptor *d, const char *name)
{
    char top[128];
    size_t n = 0;
    for (const char *p = name; *p && *p != '.' && n + 2 < sizeof top; p++) {
        if (*p >= 'A' && *p <= 'Z') {
            top[n++] = '_';
            top[n++] = (char)(*p + 32);
        } else {
            top[n++] = *p == '-' ? '_' : *p;
        }
    }
    top[n] = 0;
    if (!protobuf_c_message_descriptor_get_field_by_name(d, top))
        return; /* the flag is refused later with its own message */
    for (size_t i = 0; i < m->n; i++)
        if (!strcmp(m->v[i], top))
            return;
    char **nv = realloc(m->v, (m->n + 1) * sizeof *nv);
    if (!nv || !(nv[m->n] = strdup(top)))
        lc_die("out of memory");
    m->v = nv;
    m->n++;
}

static int has_follows(const Loopledger__V1__EntryBody *b)
{
    for (size_t i = 0; i < b->n_links; i++)
        if (b->links[i]->relation == LOOPLEDGER__V1__RELATION__FOLLOWS)
            return 1;
    return 0;
}

int lc_cmd_kind(int argc, char **argv)
{
    const char *kind = argv[0], *keyfile = NULL, *author = NULL, *initiative = NULL,
               *json = NULL;
    const ProtobufCFieldDescriptor *f = lc_kind_field(kind);
    Loopledger__V1__EntryBody *body;
    ProtobufCMessage *m;
    char err[512];
    int rc;

    if (!f)
        lc_die("unknown kind %s", kind);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            kind_usage(stdout, kind, f);
            return 0;
        }
    }
    /* --dry-run and --replace are the flags without a value: take them out
     * first. */
    int n = 1, replace = 0;
    const char *update_mask = NULL;
    mask_paths_t mask = {0};
    for (int i = 1; i < argc; i++) {
        int bare = i == 1 || strncmp(argv[i - 1], "--", 2) ||
                   !strcmp(argv[i - 1], "--dry-run") || !strcmp(argv[i - 1], "--replace");
        if (!strcmp(argv[i], "--dry-run") && bare)
            lc_opts.dry_run = 1;
        else if (!strcmp(argv[i], "--replace") && bare)
            replace = 1;
        else
            argv[n++] = argv[i];
    }
    argc = n;
    /* First pass: the entry's own options. */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) || i + 1 >= argc) {
            kind_usage(stderr, kind, f);
            lc_die("%s: expected --NAME VALUE pairs, got %s", kind, a);
        }
        if (!strcmp(a, "--key")) keyfile = argv[i + 1];
        else if (!strcmp(a, "--author")) author = argv[i + 1];
        else if (!strcmp(a, "--initiative")) initiative = argv[i + 1];
        else if (!strcmp(a, "--json")) json = argv[i + 1];
        else if (!strcmp(a, "--update-mask")) update_mask = argv[i + 1];
        i++;
    }
    if (replace && update_mask)
        lc_die("%s: --replace sends the whole record; --update-mask a patch: give one", kind);
    if (!keyfile || !author)
        lc_die("%s: --key FILE and --author ID are required", kind);
    if (lc_body_new(author, initiative, &body))
        lc_die("out of memory");
    if (json) {
        ll_json_t *doc = load_json(json);
        rc = lc_pbjson_parse(f->descriptor, doc, f->name, &m, err, sizeof err);
        for (size_t k = 0; !rc && k < ll_json_object_len(doc); k++)
            mask_add(&mask, f->descriptor, ll_json_object_key(doc, k));
        ll_json_free(doc);
        if (rc)
            lc_die("%s: %s", json, err);
    } else if (!(m = malloc(((const ProtobufCMessageDescriptor *)f->descriptor)->sizeof_message))) {
        lc_die("out of memory");
    } else {
        protobuf_c_message_init(f->descriptor, m);
    }
    body->kind_case = (Loopledger__V1__EntryBody__KindCase)f->id;
    *(ProtobufCMessage **)((char *)body + f->offset) = m;
    /* Second pass: links and fields, in order. */
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *a = argv[i] + 2, *v = argv[i + 1];
        if (!strcmp(a, "key") || !strcmp(a, "author") || !strcmp(a, "initiative") ||
            !strcmp(a, "json") || !strcmp(a, "update-mask"))
            continue;
        if (!strcmp(a, "link")) {
            add_link_arg(body, v);
            continue;
        }
        if ((rc = lc_pbjson_set(m, a, v, f->name, err, sizeof err))) {
            if (rc == LL_ERR_NOMEM)
                lc_die("out of memory");
            lc_die("--%s: %s (loopctl %s --help lists the fields)", a, err, kind);
        }
        mask_add(&mask, f->descriptor, a);
    }
    if (update_mask) {
        /* Explicit paths go as written: the server names a bad one. */
        char *list = strdup(update_mask), *save = NULL;
        if (!list)
            lc_die("out of memory");
        for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            char **nv = realloc(mask.v, (mask.n + 1) * sizeof *nv);
            if (!nv || !(nv[mask.n] = strdup(t)))
                lc_die("out of memory");
            mask.v = nv;
            mask.n++;
        }
        free(list);
    }
    if (ll_mask_is_record(f->id) && !replace && (update_mask || has_follows(body))) {
        if (!mask.n)
            lc_die("%s: an update names what it changes: give --FIELD VALUE flags, "
                   "--update-mask PATHS, or --replace for a whole new record", kind);
        if (!(body->update_mask = malloc(sizeof *body->update_mask)))
            lc_die("out of memory");
        loopledger__v1__update_mask__init(body->update_mask);
        body->update_mask->paths = mask.v;
        body->update_mask->n_paths = mask.n;
        mask.v = NULL;
        mask.n = 0;
    } else if (update_mask) {
        lc_die("%s: --update-mask applies to initiative, roadmap-project and policy updates",
               kind);
    }
    for (size_t k = 0; k < mask.n; k++)
        free(mask.v[k]);
    free(mask.v);
    lc_append_body(body, keyfile);
    lc_body_free(body);
    return 0;
}

int lc_cmd_resubmit(int argc, char **argv)
{
    size_t len;
    ll_reply_t r;
    if (argc != 2)
        lc_die("usage: loopctl resubmit FILE (a request saved with --save-request)");
    char *req = lc_read_file(argv[1], &len);
    if (!req)
        lc_die("cannot read %s", argv[1]);
    lc_call(SVC "Append", (const uint8_t *)req, len, &r);
    free(req);
    Loopledger__V1__AppendResponse *resp =
        loopledger__v1__append_response__unpack(NULL, r.resp_len, r.resp);
    if (!resp)
        lc_die("malformed AppendResponse");
    lc_print_append(resp, NULL);
    loopledger__v1__append_response__free_unpacked(resp, NULL);
    ll_reply_free(&r);
    return 0;
}
