/*
 * ll_reflection: gRPC server reflection over the embedded descriptor set
 * (ll_reflection.h).
 *
 * A FileDescriptorSet is read with a minimal protobuf wire walker rather
 * than a generated descriptor.proto: only a handful of fields matter
 * (FileDescriptorProto name 1, package 2, dependency 3, message_type 4,
 * enum_type 5, service 6; DescriptorProto name 1, nested_type 3,
 * enum_type 4; ServiceDescriptorProto name 1, method 2; each of those
 * messages' name is field 1), and the files are answered as the exact
 * bytes protoc wrote.
 */
#include "ll_reflection.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grpc/reflection/v1/reflection.pb-c.h"
#include "ll_err.h"
#include "ll_svc.h"

typedef struct {
    const uint8_t *p;
    size_t n;
} rf_bytes_t;

typedef struct {
    rf_bytes_t name;
    rf_bytes_t raw; /* the serialized FileDescriptorProto */
    size_t *deps;   /* indexes of imported files */
    size_t ndeps;
} rf_file_t;

typedef struct {
    char *name; /* fully qualified, no leading dot */
    size_t file;
    int service; /* a service (not a message, enum or method) */
} rf_symbol_t;

struct ll_reflection {
    rf_file_t *files;
    size_t nfiles;
    rf_symbol_t *syms;
    size_t nsyms, capsyms;
    const char *const *services;
    size_t nservices;
};

/* ---- wire walking ---- */

typedef struct {
    const uint8_t *p, *end;
} rf_reader_t;

static int rd_varint(rf_reader_t *r, uint64_t *v)
{
    uint64_t x = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end)
            return LL_ERR_INVALID;
        uint8_t b = *r->p++;
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return LL_OK;
        }
    }
    return LL_ERR_INVALID;
}

/* Next field: its number, wire type, and for length-delimited fields the
 * bytes. Skips the values of other wire types. 1 = a field, 0 = end,
 * negative = malformed. */
static int rd_field(rf_reader_t *r, uint32_t *num, rf_bytes_t *val)
{
    uint64_t key, v;
    if (r->p == r->end)
        return 0;
    if (rd_varint(r, &key))
        return LL_ERR_INVALID;
    *num = (uint32_t)(key >> 3);
    val->p = NULL;
    val->n = 0;
    switch (key & 7) {
    case 0:
        return rd_varint(r, &v) ? LL_ERR_INVALID : 1;
    case 1:
        if (r->end - r->p < 8)
            return LL_ERR_INVALID;
        r->p += 8;
        return 1;
    case 2:
        if (rd_varint(r, &v) || v > (uint64_t)(r->end - r->p))
            return LL_ERR_INVALID;
        val->p = r->p;
        val->n = (size_t)v;
        r->p += v;
        return 1;
    case 5:
        if (r->end - r->p < 4)
            return LL_ERR_INVALID;
        r->p += 4;
        return 1;
    default:
        return LL_ERR_INVALID;
    }
}

/* ---- the index ---- */

static int add_symbol(ll_reflection_t *r, const char *scope, rf_bytes_t name, size_t file)
{
    if (r->nsyms == r->capsyms) {
        size_t cap = r->capsyms ? r->capsyms * 2 : 128;
        rf_symbol_t *s = realloc(r->syms, cap * sizeof *s);
        if (!s)
            return LL_ERR_NOMEM;
        r->syms = s;
        r->capsyms = cap;
    }
    size_t sl = strlen(scope);
    char *full = malloc(sl + 1 + name.n + 1);
    if (!full)
        return LL_ERR_NOMEM;
    memcpy(full, scope, sl);
    if (sl)
        full[sl++] = '.';
    memcpy(full + sl, name.p, name.n);
    full[sl + name.n] = 0;
    r->syms[r->nsyms].name = full;
    r->syms[r->nsyms].file = file;
    r->syms[r->nsyms].service = 0;
    r->nsyms++;
    return LL_OK;
}

static rf_bytes_t name_of(rf_bytes_t msg)
{
    rf_reader_t rd = {msg.p, msg.p + msg.n};
    rf_bytes_t v, none = {NULL, 0};
    uint32_t num;
    while (rd_field(&rd, &num, &v) == 1)
        if (num == 1)
            return v;
    return none;
}

/* Adds a DescriptorProto (or enum, with nested = 0) and what it nests.
 * Returns the symbol's index + 1 through scope building, or an error. */
static int index_type(ll_reflection_t *r, const char *scope, rf_bytes_t msg, size_t file,
                      int nested, int depth)
{
    rf_bytes_t name = name_of(msg), v;
    rf_reader_t rd = {msg.p, msg.p + msg.n};
    uint32_t num;
    int rc, err;
    if (!name.p || depth > 32)
        return LL_ERR_INVALID;
    if ((err = add_symbol(r, scope, name, file)))
        return err;
    if (!nested)
        return LL_OK;
    /* The symbol's name is the scope of what it nests; copy it, as the
     * array may move while nested types are added. */
    char *inner = strdup(r->syms[r->nsyms - 1].name);
    if (!inner)
        return LL_ERR_NOMEM;
    err = LL_OK;
    while (!err && (rc = rd_field(&rd, &num, &v)) == 1) {
        if (num == 3)
            err = index_type(r, inner, v, file, 1, depth + 1);
        else if (num == 4)
            err = index_type(r, inner, v, file, 0, depth + 1);
    }
    if (!err && rc < 0)
        err = LL_ERR_INVALID;
    free(inner);
    return err;
}

static int index_service(ll_reflection_t *r, const char *scope, rf_bytes_t svc, size_t file)
{
    rf_bytes_t name = name_of(svc), v;
    rf_reader_t rd = {svc.p, svc.p + svc.n};
    uint32_t num;
    int rc, err;
    if (!name.p)
        return LL_ERR_INVALID;
    if ((err = add_symbol(r, scope, name, file)))
        return err;
    r->syms[r->nsyms - 1].service = 1;
    char *inner = strdup(r->syms[r->nsyms - 1].name);
    if (!inner)
        return LL_ERR_NOMEM;
    while (!err && (rc = rd_field(&rd, &num, &v)) == 1)
        if (num == 2) {
            rf_bytes_t m = name_of(v);
            err = m.p ? add_symbol(r, inner, m, file) : LL_ERR_INVALID;
        }
    if (!err && rc < 0)
        err = LL_ERR_INVALID;
    free(inner);
    return err;
}

static long find_file(const ll_reflection_t *r, const uint8_t *name, size_t n)
{
    for (size_t i = 0; i < r->nfiles; i++)
        if (r->files[i].name.n == n && !memcmp(r->files[i].name.p, name, n))
            return (long)i;
    return -1;
}

static int index_file(ll_reflection_t *r, size_t fi)
{
    rf_file_t *f = &r->files[fi];
    rf_reader_t rd = {f->raw.p, f->raw.p + f->raw.n};
    rf_bytes_t v;
    uint32_t num;
    char pkg[256] = "";
    int rc, err = LL_OK;

    /* The package comes first in protoc's output, but do not rely on it. */
    while ((rc = rd_field(&rd, &num, &v)) == 1) {
        if (num == 1)
            f->name = v;
        else if (num == 2 && v.n < sizeof pkg) {
            memcpy(pkg, v.p, v.n);
            pkg[v.n] = 0;
        }
    }
    if (rc < 0 || !f->name.p)
        return LL_ERR_INVALID;
    rd.p = f->raw.p;
    while (!err && (rc = rd_field(&rd, &num, &v)) == 1) {
        if (num == 3) {
            long d = find_file(r, v.p, v.n);
            size_t *nd;
            if (d < 0)
                return LL_ERR_INVALID; /* --include_imports puts imports first */
            if (!(nd = realloc(f->deps, (f->ndeps + 1) * sizeof *nd)))
                return LL_ERR_NOMEM;
            f->deps = nd;
            f->deps[f->ndeps++] = (size_t)d;
        } else if (num == 4) {
            err = index_type(r, pkg, v, fi, 1, 0);
        } else if (num == 5) {
            err = index_type(r, pkg, v, fi, 0, 0);
        } else if (num == 6) {
            err = index_service(r, pkg, v, fi);
        }
    }
    return err ? err : rc < 0 ? LL_ERR_INVALID : LL_OK;
}

static int has_service(const ll_reflection_t *r, const char *name)
{
    for (size_t i = 0; i < r->nsyms; i++)
        if (r->syms[i].service && !strcmp(r->syms[i].name, name))
            return 1;
    return 0;
}

int ll_reflection_create(const uint8_t *set, size_t len, const char *const *services, size_t n,
                         ll_reflection_t **out)
{
    ll_reflection_t *r = calloc(1, sizeof *r);
    rf_reader_t rd = {set, set + len};
    rf_bytes_t v;
    uint32_t num;
    int rc, err = LL_OK;

    if (!r)
        return LL_ERR_NOMEM;
    while ((rc = rd_field(&rd, &num, &v)) == 1) {
        if (num != 1)
            continue;
        rf_file_t *nf = realloc(r->files, (r->nfiles + 1) * sizeof *nf);
        if (!nf) {
            err = LL_ERR_NOMEM;
            goto fail;
        }
        r->files = nf;
        memset(&r->files[r->nfiles], 0, sizeof *nf);
        r->files[r->nfiles].raw = v;
        r->nfiles++;
        if ((err = index_file(r, r->nfiles - 1)))
            goto fail;
    }
    if (rc < 0 || r->nfiles == 0) {
        err = LL_ERR_INVALID;
        goto fail;
    }
    /* A service the server lists but cannot describe is a build error. */
    for (size_t i = 0; i < n; i++)
        if (!has_service(r, services[i])) {
            err = LL_ERR_INVALID;
            goto fail;
        }
    r->services = services;
    r->nservices = n;
    *out = r;
    return LL_OK;
fail:
    ll_reflection_destroy(r);
    return err;
}

void ll_reflection_destroy(ll_reflection_t *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nfiles; i++)
        free(r->files[i].deps);
    for (size_t i = 0; i < r->nsyms; i++)
        free(r->syms[i].name);
    free(r->files);
    free(r->syms);
    free(r);
}

/* ---- the stream ---- */

/* Per answer: which files it already holds (imports are shared). Every
 * answer is complete on its own, as C++'s reflection answers: clients that
 * cache per stream and clients that do not both work. */
typedef struct {
    ll_reflection_t *r;
    uint8_t *sent;
} rf_stream_t;

static void stream_free(void *p)
{
    rf_stream_t *s = p;
    if (s) {
        free(s->sent);
        free(s);
    }
}

/* Appends file fi and, first, its imports not yet sent on this stream. */
static int collect(rf_stream_t *s, size_t fi, ProtobufCBinaryData *out, size_t *n, int depth)
{
    const rf_file_t *f = &s->r->files[fi];
    if (s->sent[fi] || depth > 64)
        return LL_OK;
    s->sent[fi] = 1;
    out[(*n)++] = (ProtobufCBinaryData){f->raw.n, (uint8_t *)f->raw.p};
    for (size_t i = 0; i < f->ndeps; i++)
        collect(s, f->deps[i], out, n, depth + 1);
    return LL_OK;
}

static void on_sent(ll_call_t *call, int ok, void *arg)
{
    (void)arg;
    if (ok)
        ll_call_read_next(call);
    else
        ll_svc_finish(call, LL_ERR_CANCELLED, "reflection stream broke");
}

void ll_reflection_info(ll_call_t *call, const uint8_t *req, size_t len, void *svc)
{
    ll_reflection_t *r = svc;
    rf_stream_t *s = NULL;
    Grpc__Reflection__V1__ServerReflectionRequest *q;
    Grpc__Reflection__V1__ServerReflectionResponse resp =
        GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__INIT;
    Grpc__Reflection__V1__FileDescriptorResponse files =
        GRPC__REFLECTION__V1__FILE_DESCRIPTOR_RESPONSE__INIT;
    Grpc__Reflection__V1__ListServiceResponse list =
        GRPC__REFLECTION__V1__LIST_SERVICE_RESPONSE__INIT;
    Grpc__Reflection__V1__ExtensionNumberResponse ext =
        GRPC__REFLECTION__V1__EXTENSION_NUMBER_RESPONSE__INIT;
    Grpc__Reflection__V1__ErrorResponse error = GRPC__REFLECTION__V1__ERROR_RESPONSE__INIT;
    Grpc__Reflection__V1__ServiceResponse *svcs = NULL, **svcp = NULL;
    ProtobufCBinaryData *fds = NULL;
    uint8_t *buf = NULL;
    char msg[300];
    long fi = -1;

    if (!req) {
        ll_svc_finish(call, LL_OK, NULL);
        return;
    }
    q = grpc__reflection__v1__server_reflection_request__unpack(NULL, len, req);
    if (!q) {
        ll_svc_finish(call, LL_ERR_INVALID, "malformed ServerReflectionRequest");
        return;
    }
    s = calloc(1, sizeof *s);
    if (s)
        s->sent = calloc(r->nfiles, 1);
    if (!s || !s->sent)
        goto nomem; /* out: frees s */
    s->r = r;

    resp.valid_host = q->host;
    resp.original_request = q;
    switch (q->message_request_case) {
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_LIST_SERVICES:
        svcs = calloc(r->nservices ? r->nservices : 1, sizeof *svcs);
        svcp = calloc(r->nservices ? r->nservices : 1, sizeof *svcp);
        if (!svcs || !svcp)
            goto nomem;
        for (size_t i = 0; i < r->nservices; i++) {
            grpc__reflection__v1__service_response__init(&svcs[i]);
            svcs[i].name = (char *)r->services[i];
            svcp[i] = &svcs[i];
        }
        list.n_service = r->nservices;
        list.service = svcp;
        resp.message_response_case =
            GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_LIST_SERVICES_RESPONSE;
        resp.list_services_response = &list;
        break;
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_BY_FILENAME:
        fi = find_file(r, (const uint8_t *)q->file_by_filename, strlen(q->file_by_filename));
        if (fi < 0)
            snprintf(msg, sizeof msg, "no file %.200s (list_services, then ask for a symbol)",
                     q->file_by_filename);
        break;
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_SYMBOL:
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_ALL_EXTENSION_NUMBERS_OF_TYPE: {
        const char *sym = q->message_request_case ==
                                  GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_SYMBOL
                              ? q->file_containing_symbol
                              : q->all_extension_numbers_of_type;
        if (sym[0] == '.')
            sym++; /* some clients send ".pkg.Type" */
        for (size_t i = 0; i < r->nsyms && fi < 0; i++)
            if (!strcmp(r->syms[i].name, sym))
                fi = (long)r->syms[i].file;
        if (fi < 0) {
            snprintf(msg, sizeof msg, "no symbol %.200s in loopledgerd's descriptors", sym);
        } else if (q->message_request_case !=
                   GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_SYMBOL) {
            ext.base_type_name = (char *)sym;
            resp.message_response_case =
                GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ALL_EXTENSION_NUMBERS_RESPONSE;
            resp.all_extension_numbers_response = &ext;
            fi = -1;
        }
        break;
    }
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_EXTENSION:
        snprintf(msg, sizeof msg, "no extensions are declared in loopledgerd's descriptors");
        break;
    default:
        snprintf(msg, sizeof msg, "empty ServerReflectionRequest: set one of list_services, "
                                  "file_by_filename, file_containing_symbol");
        break;
    }
    if (fi >= 0) {
        size_t n = 0;
        if (!(fds = calloc(r->nfiles, sizeof *fds)))
            goto nomem;
        collect(s, (size_t)fi, fds, &n, 0);
        files.n_file_descriptor_proto = n;
        files.file_descriptor_proto = fds;
        resp.message_response_case =
            GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_FILE_DESCRIPTOR_RESPONSE;
        resp.file_descriptor_response = &files;
    } else if (resp.message_response_case ==
               GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE__NOT_SET) {
        error.error_code = GRPC_STATUS_NOT_FOUND; /* a field of the answer, not the call's status */
        error.error_message = msg;
        resp.message_response_case =
            GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ERROR_RESPONSE;
        resp.error_response = &error;
    }
    size_t n = grpc__reflection__v1__server_reflection_response__get_packed_size(&resp);
    if (!(buf = malloc(n ? n : 1)))
        goto nomem;
    grpc__reflection__v1__server_reflection_response__pack(&resp, buf);
    ll_call_send(call, buf, n, on_sent, NULL);
    goto out;
nomem:
    ll_svc_finish(call, LL_ERR_NOMEM, "out of memory");
out:
    free(buf);
    free(fds);
    free(svcs);
    free(svcp);
    grpc__reflection__v1__server_reflection_request__free_unpacked(q, NULL);
    stream_free(s);
}
