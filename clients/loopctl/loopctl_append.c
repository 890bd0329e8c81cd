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
#include "loopctl.h"
#include "loopledger/v1/ledger.pb-c.h"

#define SVC "/loopledger.v1.LedgerService/"

void lc_append_body(const Loopledger__V1__EntryBody *body, const char *keyfile)
{
    ll_key_t *key;
    uint8_t *env;
    size_t env_len;
    int rc;

    if ((rc = ll_key_load(keyfile, &key)))
        lc_die("cannot load key %s: %s", keyfile, ll_strerror(rc));
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
    char lh[65] = "";
    if (resp->leaf_hash.len == LL_HASH_LEN)
        ll_hex_encode(resp->leaf_hash.data, LL_HASH_LEN, lh);
    if (lc_opts.json) {
        ll_jw_t jw;
        ll_jw_init(&jw, 0);
        ll_jw_begin_object(&jw);
        ll_jw_key(&jw, "seq");
        ll_jw_uint64(&jw, resp->seq);
        ll_jw_key(&jw, "kind");
        ll_jw_string(&jw, lc_kind_name(body->kind_case));
        ll_jw_key(&jw, "server_time_unix_nanos");
        ll_jw_int64(&jw, resp->server_time_unix_nanos);
        ll_jw_key(&jw, "leaf_hash");
        ll_jw_string(&jw, lh);
        ll_jw_key(&jw, "duplicate");
        ll_jw_bool(&jw, resp->duplicate);
        ll_jw_end_object(&jw);
        lc_print_json(&jw);
    } else if (body->kind_case >= LOOPLEDGER__V1__ENTRY_BODY__KIND_CHARTER) {
        char summary[200];
        lc_summarize(body, summary, sizeof summary);
        printf("%s %s #%" PRIu64 ": %s\n  leaf hash %s\n",
               resp->duplicate ? "already recorded:" : "appended", lc_kind_name(body->kind_case),
               resp->seq, summary, lh);
    } else {
        printf("%s seq %" PRIu64 " (leaf hash %s)\n",
               resp->duplicate ? "already recorded as" : "appended", resp->seq, lh);
    }
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
        if (!strcmp(a, "--key") && i + 1 < argc) keyfile = argv[++i];
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

static void kind_usage(const char *kind, const ProtobufCFieldDescriptor *f)
{
    const ProtobufCMessageDescriptor *d = f->descriptor;
    fprintf(stderr,
            "usage: loopctl %s --key KEY --author ID --initiative ID [--link REL:SEQ]...\n"
            "       [--json BODY.json] [--FIELD VALUE]...\nfields of %s:", kind, d->short_name);
    for (unsigned i = 0; i < d->n_fields; i++)
        fprintf(stderr, " --%s%s", d->fields[i].name,
                d->fields[i].type == PROTOBUF_C_TYPE_MESSAGE ? ".FIELD" : "");
    fputc('\n', stderr);
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
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        kind_usage(kind, f);
        return 0;
    }
    /* First pass: the entry's own options. */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) || i + 1 >= argc) {
            kind_usage(kind, f);
            lc_die("%s: expected --NAME VALUE pairs, got %s", kind, a);
        }
        if (!strcmp(a, "--key")) keyfile = argv[i + 1];
        else if (!strcmp(a, "--author")) author = argv[i + 1];
        else if (!strcmp(a, "--initiative")) initiative = argv[i + 1];
        else if (!strcmp(a, "--json")) json = argv[i + 1];
        i++;
    }
    if (!keyfile || !author)
        lc_die("%s: --key FILE and --author ID are required", kind);
    if (lc_body_new(author, initiative, &body))
        lc_die("out of memory");
    if (json) {
        ll_json_t *doc = load_json(json);
        rc = lc_pbjson_parse(f->descriptor, doc, f->name, &m, err, sizeof err);
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
            !strcmp(a, "json"))
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
    }
    lc_append_body(body, keyfile);
    lc_body_free(body);
    return 0;
}

int lc_cmd_resubmit(int argc, char **argv)
{
    size_t len;
    ll_reply_t r;
    char lh[65] = "";
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
    if (resp->leaf_hash.len == LL_HASH_LEN)
        ll_hex_encode(resp->leaf_hash.data, LL_HASH_LEN, lh);
    if (lc_opts.json) {
        ll_jw_t jw;
        ll_jw_init(&jw, 0);
        ll_jw_begin_object(&jw);
        ll_jw_key(&jw, "seq");
        ll_jw_uint64(&jw, resp->seq);
        ll_jw_key(&jw, "leaf_hash");
        ll_jw_string(&jw, lh);
        ll_jw_key(&jw, "duplicate");
        ll_jw_bool(&jw, resp->duplicate);
        ll_jw_end_object(&jw);
        lc_print_json(&jw);
    } else {
        printf("%s seq %" PRIu64 " (leaf hash %s)\n",
               resp->duplicate ? "already recorded as" : "appended", resp->seq, lh);
    }
    loopledger__v1__append_response__free_unpacked(resp, NULL);
    ll_reply_free(&r);
    return 0;
}
