/*
 * ll_console: console assets and helpers (ll_console.h).
 */
#include "ll_console.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lc_pbjson.h"
#include "ll_crypto.h"
#include "ll_err.h"
#include "ll_gateway.h"
#include "ll_json.h"
#include "loopledger/v1/entry.pb-c.h"
#include "loopledger/v1/ledger.pb-c.h"

#define LEDGER "/loopledger.v1.LedgerService/"

struct ll_console {
    ll_server_t *rpc;
    ll_ledger_t *lg;
    char *dir;
};

static const char *type_of(const char *path)
{
    const char *dot = strrchr(path, '.');
    if (dot && !strcmp(dot, ".html"))
        return "text/html; charset=utf-8";
    if (dot && !strcmp(dot, ".js"))
        return "text/javascript; charset=utf-8";
    if (dot && !strcmp(dot, ".css"))
        return "text/css; charset=utf-8";
    if (dot && !strcmp(dot, ".svg"))
        return "image/svg+xml";
    return "application/octet-stream";
}

static void b64(ll_jw_t *jw, const uint8_t *p, size_t n)
{
    char *t = malloc(ll_base64_len(n) + 1);
    if (!t) {
        ll_jw_null(jw);
        return;
    }
    ll_base64_encode(p, n, t);
    ll_jw_string(jw, t);
    free(t);
}

static void u64s(ll_jw_t *jw, const char *key, uint64_t v)
{
    char b[24];
    snprintf(b, sizeof b, "%" PRIu64, v);
    ll_jw_key(jw, key);
    ll_jw_string(jw, b);
}

/* One decoded entry: the leaf's LogEntry, its envelope and body. A leaf
 * that does not decode is shown as such (the page says so), never hidden. */
/* with_leaf: the leaf's bytes too (base64), which only the entry page
 * needs (the browser hashes them for the inclusion proof); lists of
 * hundreds of entries leave them out: they repeat the whole entry and
 * were the largest part of rendering a timeline. */
static void write_entry(ll_jw_t *jw, const ProtobufCBinaryData *leaf, int with_leaf,
                        uint64_t key_seq, int status, uint64_t superseded_by)
{
    Loopledger__V1__LogEntry *le = loopledger__v1__log_entry__unpack(NULL, leaf->len, leaf->data);
    Loopledger__V1__EntryBody *body = NULL;
    const ProtobufCEnumValue *sv =
        protobuf_c_enum_descriptor_get_value(&loopledger__v1__approval_status__descriptor, status);
    ll_jw_begin_object(jw);
    if (with_leaf) {
        ll_jw_key(jw, "leaf");
        b64(jw, leaf->data, leaf->len);
    }
    u64s(jw, "signerKeySeq", key_seq);
    ll_jw_key(jw, "status");
    ll_jw_string(jw, sv ? sv->name : "APPROVAL_STATUS_UNSPECIFIED");
    u64s(jw, "supersededBy", superseded_by);
    if (le) {
        char t[24];
        u64s(jw, "seq", le->seq);
        snprintf(t, sizeof t, "%" PRId64, le->server_time_unix_nanos);
        ll_jw_key(jw, "serverTimeUnixNanos");
        ll_jw_string(jw, t);
    }
    if (le && le->envelope) {
        Loopledger__V1__Envelope *e = le->envelope;
        ll_jw_key(jw, "payloadType");
        ll_jw_string(jw, e->payload_type);
        ll_jw_key(jw, "signatures");
        ll_jw_begin_array(jw);
        for (size_t i = 0; i < e->n_signatures; i++) {
            ll_jw_begin_object(jw);
            ll_jw_key(jw, "keyid");
            ll_jw_string(jw, e->signatures[i]->keyid);
            ll_jw_key(jw, "sig");
            b64(jw, e->signatures[i]->sig.data, e->signatures[i]->sig.len);
            ll_jw_end_object(jw);
        }
        ll_jw_end_array(jw);
        body = loopledger__v1__entry_body__unpack(NULL, e->payload.len, e->payload.data);
    }
    if (body) {
        ll_jw_key(jw, "body");
        lc_pbjson_write_proto3(jw, &body->base);
    } else {
        ll_jw_key(jw, "decodeError");
        ll_jw_string(jw, "the leaf does not decode as a LogEntry with an EntryBody");
    }
    ll_jw_end_object(jw);
    if (body)
        loopledger__v1__entry_body__free_unpacked(body, NULL);
    if (le)
        loopledger__v1__log_entry__free_unpacked(le, NULL);
}

static void finish_json(ll_jw_t *jw, ll_http_resp_t *out)
{
    size_t len;
    char *text = ll_jw_finish(jw, &len);
    if (!text) {
        ll_http_error(out, GRPC_STATUS_INTERNAL, "cannot write the answer as JSON");
        return;
    }
    out->status = 200;
    out->type = "application/json";
    out->body = text;
    out->len = len;
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    if (!s || s[0] < '0' || s[0] > '9')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end)
        return -1;
    *out = v;
    return 0;
}

static void api_entry(ll_console_t *c, const ll_http_req_t *req, const char *seqs,
                      ll_http_resp_t *out)
{
    Loopledger__V1__GetEntryRequest r = LOOPLEDGER__V1__GET_ENTRY_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    grpc_status_code code;
    char msg[512];
    int err;
    if (parse_u64(seqs, &r.seq)) {
        ll_http_error(out, GRPC_STATUS_INVALID_ARGUMENT, "entry number expected, got \"%.40s\"",
                      seqs);
        return;
    }
    if ((err = ll_gateway_call(c->rpc, LEDGER "GetEntry", &r.base,
                               &loopledger__v1__get_entry_response__descriptor, req->identity,
                               &resp, &code, msg, sizeof msg))) {
        ll_http_error(out, GRPC_STATUS_INTERNAL, "GetEntry: %s", ll_strerror(err));
        return;
    }
    if (code != GRPC_STATUS_OK) {
        ll_http_error(out, code, "%s", msg);
        return;
    }
    Loopledger__V1__GetEntryResponse *g = (void *)resp;
    ll_jw_t jw;
    ll_jw_init(&jw, 0);
    write_entry(&jw, &g->leaf, 1, g->signer_key_seq, g->status, g->superseded_by);
    finish_json(&jw, out);
    protobuf_c_message_free_unpacked(resp, NULL);
}

typedef struct qset {
    ProtobufCMessage *msg;
    char err[300];
} qset_t;

static int set_q(void *ctx, const char *key, const char *value)
{
    qset_t *q = ctx;
    if (!value) {
        snprintf(q->err, sizeof q->err, "query parameter %.100s has no value", key);
        return LL_ERR_INVALID;
    }
    return lc_pbjson_set(q->msg, key, value, "", q->err, sizeof q->err);
}

static void api_entries(ll_console_t *c, const ll_http_req_t *req, ll_http_resp_t *out)
{
    Loopledger__V1__ListEntriesRequest *r = malloc(sizeof *r);
    ProtobufCMessage *resp = NULL;
    grpc_status_code code;
    char msg[512];
    int err;
    if (!r) {
        ll_http_error(out, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
        return;
    }
    loopledger__v1__list_entries_request__init(r);
    qset_t q = {.msg = &r->base};
    if (ll_http_query_each(req, set_q, &q)) {
        ll_http_error(out, GRPC_STATUS_INVALID_ARGUMENT, "query: %s", q.err);
        goto out;
    }
    if ((err = ll_gateway_call(c->rpc, LEDGER "ListEntries", &r->base,
                               &loopledger__v1__list_entries_response__descriptor,
                               req->identity, &resp, &code, msg, sizeof msg))) {
        ll_http_error(out, GRPC_STATUS_INTERNAL, "ListEntries: %s", ll_strerror(err));
        goto out;
    }
    if (code != GRPC_STATUS_OK) {
        ll_http_error(out, code, "%s", msg);
        goto out;
    }
    Loopledger__V1__ListEntriesResponse *l = (void *)resp;
    ll_jw_t jw;
    ll_jw_init(&jw, 0);
    ll_jw_begin_object(&jw);
    ll_jw_key(&jw, "entries");
    ll_jw_begin_array(&jw);
    for (size_t i = 0; i < l->n_leaves; i++)
        write_entry(&jw, &l->leaves[i], 0, 0, i < l->n_status ? l->status[i] : 0,
                    i < l->n_superseded_by ? l->superseded_by[i] : 0);
    ll_jw_end_array(&jw);
    ll_jw_key(&jw, "nextPageToken");
    ll_jw_string(&jw, l->next_page_token);
    ll_jw_end_object(&jw);
    finish_json(&jw, out);
out:
    if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    protobuf_c_message_free_unpacked(&r->base, NULL);
}

static void api_config(ll_console_t *c, const ll_http_req_t *req, ll_http_resp_t *out)
{
    char vkey[512] = "";
    ll_jw_t jw;
    ll_ledger_verifier_key(c->lg, vkey, sizeof vkey);
    ll_jw_init(&jw, 0);
    ll_jw_begin_object(&jw);
    ll_jw_key(&jw, "origin");
    ll_jw_string(&jw, ll_ledger_origin(c->lg));
    ll_jw_key(&jw, "verifierKey");
    ll_jw_string(&jw, vkey);
    u64s(&jw, "treeSize", ll_store_committed_size(ll_ledger_store(c->lg)));
    ll_jw_key(&jw, "identity");
    ll_jw_string(&jw, req->identity);
    ll_jw_key(&jw, "tls");
    ll_jw_bool(&jw, ll_http_tls(req->http));
    ll_jw_key(&jw, "writesRefused");
    ll_jw_string(&jw, ll_ledger_damage(c->lg));
    ll_jw_end_object(&jw);
    finish_json(&jw, out);
}

static void serve_api(void *ctx, const ll_http_req_t *req, ll_http_resp_t *out)
{
    ll_console_t *c = ctx;
    const char *p = req->path + strlen("/console/api/");
    if (!strcmp(p, "config"))
        api_config(c, req, out);
    else if (!strncmp(p, "entry/", 6))
        api_entry(c, req, p + 6, out);
    else if (!strcmp(p, "entries"))
        api_entries(c, req, out);
    else
        ll_http_error(out, GRPC_STATUS_NOT_FOUND, "no console helper %.100s", req->path);
}

static void serve_file_from_dir(ll_console_t *c, const char *rel, ll_http_resp_t *out)
{
    char path[4096];
    struct stat sb;
    int fd;
    snprintf(path, sizeof path, "%s/%s", c->dir, rel);
    if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
        ll_http_error(out, GRPC_STATUS_NOT_FOUND, "no console file %.100s", rel);
        return;
    }
    if (fstat(fd, &sb) || !S_ISREG(sb.st_mode) || sb.st_size > (8 << 20) ||
        !(out->body = malloc((size_t)sb.st_size + 1)) ||
        read(fd, out->body, (size_t)sb.st_size) != sb.st_size) {
        free(out->body);
        out->body = NULL;
        ll_http_error(out, GRPC_STATUS_NOT_FOUND, "no console file %.100s", rel);
    } else {
        out->len = (size_t)sb.st_size;
        out->status = 200;
        out->type = type_of(rel);
        out->cache = "no-cache";
    }
    close(fd);
}

static void serve_assets(void *ctx, const ll_http_req_t *req, ll_http_resp_t *out)
{
    ll_console_t *c = ctx;
    const char *rel = req->path + strlen("/console/");
    if (!*rel)
        rel = "index.html";
    for (const char *s = rel; *s; s++) {
        /* Asset names are flat: letters, digits, '-', '_', '.'. */
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_' || (*s == '.' && s != rel))) {
            ll_http_error(out, GRPC_STATUS_NOT_FOUND, "no console file %.100s", rel);
            return;
        }
    }
    if (c->dir) {
        serve_file_from_dir(c, rel, out);
        return;
    }
    for (size_t i = 0; i < ll_console_nassets; i++) {
        if (!strcmp(ll_console_assets[i].path, rel)) {
            out->status = 200;
            out->type = type_of(rel);
            out->body = (char *)ll_console_assets[i].data;
            out->len = ll_console_assets[i].len;
            out->static_body = 1;
            /* Assets change only with the binary; revalidate anyway so an
             * upgrade shows at once. */
            out->cache = "no-cache";
            return;
        }
    }
    ll_http_error(out, GRPC_STATUS_NOT_FOUND, "no console file %.100s", rel);
}

static void serve_root(void *ctx, const ll_http_req_t *req, ll_http_resp_t *out)
{
    static char moved[] = "see /console/\n";
    (void)ctx, (void)req;
    out->status = 302;
    out->type = "text/plain; charset=utf-8";
    out->body = moved;
    out->len = sizeof moved - 1;
    out->static_body = 1;
    out->extra_header = "Location";
    out->extra_value = "/console/";
}

int ll_console_register(ll_http_t *h, ll_server_t *rpc, ll_ledger_t *lg,
                        const char *assets_dir, ll_console_t **out)
{
    ll_console_t *c = calloc(1, sizeof *c);
    int err;
    if (!c)
        return LL_ERR_NOMEM;
    c->rpc = rpc;
    c->lg = lg;
    if (assets_dir && !(c->dir = strdup(assets_dir))) {
        free(c);
        return LL_ERR_NOMEM;
    }
    *out = c;
    if ((err = ll_http_add_route(h, "/", LL_HTTP_PUBLIC, NULL, serve_root, c)) ||
        (err = ll_http_add_route(h, "/console", LL_HTTP_PUBLIC, NULL, serve_root, c)) ||
        (err = ll_http_add_route(h, "/console/", LL_HTTP_PUBLIC, NULL, serve_assets, c)) ||
        (err = ll_http_add_route(h, "/console/api/", LL_HTTP_READ, "/loopledger.http/Console",
                                 serve_api, c)))
        return err;
    return LL_OK;
}

void ll_console_free(ll_console_t *c)
{
    if (!c)
        return;
    free(c->dir);
    free(c);
}
