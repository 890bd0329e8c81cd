/*
 * lc_pbjson: descriptor-driven JSON and flag text -> protobuf (lc_pbjson.h).
 * Field names and storage are lc_pbdesc's; the way back, message -> JSON,
 * is lc_pbjson_write.
 *
 * Why descriptors rather than hand-written converters: the contract has
 * thirteen entry kinds and a dozen answer messages, and it grows. Walking
 * ProtobufCFieldDescriptor (label, type, offset, quantifier_offset) gives
 * one converter whose behaviour is the same for every message and which a
 * new .proto field reaches without touching loopctl. The storage facts
 * this relies on are listed in lc_pbdesc.h.
 */
#include "lc_pbjson.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lc_pbdesc.h"
#include "ll_crypto.h"
#include "ll_err.h"

typedef union scalar {
    int32_t i32;
    uint32_t u32;
    int64_t i64;
    uint64_t u64;
    float f;
    double d;
    protobuf_c_boolean b;
    char *s;
    ProtobufCBinaryData bd;
    ProtobufCMessage *m;
} scalar_t;

static int bad(char *err, size_t cap, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int bad(char *err, size_t cap, const char *path, const char *fmt, ...)
{
    va_list ap;
    int n = snprintf(err, cap, "%s%s", path, path[0] ? ": " : "");
    if (n < 0 || (size_t)n >= cap)
        return LL_ERR_INVALID;
    va_start(ap, fmt);
    vsnprintf(err + n, cap - (size_t)n, fmt, ap);
    va_end(ap);
    return LL_ERR_INVALID;
}

static void enum_choices(const ProtobufCEnumDescriptor *d, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = 0;
    for (unsigned i = 0; i < d->n_values && n < cap; i++) {
        char nm[64];
        if (d->values[i].value == 0)
            continue; /* UNSPECIFIED: never a useful choice */
        int w = snprintf(buf + n, cap - n, "%s%s", n ? "|" : "",
                         lc_pbdesc_enum_name(d, d->values[i].value, nm, sizeof nm));
        if (w < 0)
            break;
        n += (size_t)w;
    }
}

/* ---- scalar conversion ---- */

static int int_range(const ProtobufCFieldDescriptor *f, int64_t v, uint64_t u, int is_unsigned,
                     scalar_t *out, const char *path, char *err, size_t cap)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_ENUM:
        if (is_unsigned ? u > INT32_MAX : (v < INT32_MIN || v > INT32_MAX))
            return bad(err, cap, path, "out of range for a 32-bit integer");
        out->i32 = is_unsigned ? (int32_t)u : (int32_t)v;
        return LL_OK;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        if (is_unsigned ? u > UINT32_MAX : (v < 0 || v > UINT32_MAX))
            return bad(err, cap, path, "out of range for an unsigned 32-bit integer");
        out->u32 = is_unsigned ? (uint32_t)u : (uint32_t)v;
        return LL_OK;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        if (is_unsigned && u > INT64_MAX)
            return bad(err, cap, path, "out of range for a 64-bit integer");
        out->i64 = is_unsigned ? (int64_t)u : v;
        return LL_OK;
    default: /* uint64, fixed64 */
        if (!is_unsigned && v < 0)
            return bad(err, cap, path, "must not be negative");
        out->u64 = is_unsigned ? u : (uint64_t)v;
        return LL_OK;
    }
}

static int is_unsigned_type(ProtobufCType t)
{
    return t == PROTOBUF_C_TYPE_UINT32 || t == PROTOBUF_C_TYPE_FIXED32 ||
           t == PROTOBUF_C_TYPE_UINT64 || t == PROTOBUF_C_TYPE_FIXED64;
}

/* Integer from decimal text, fully consumed. */
static int int_from_text(const ProtobufCFieldDescriptor *f, const char *s, scalar_t *out,
                         const char *path, char *err, size_t cap)
{
    char *end;
    errno = 0;
    if (is_unsigned_type(f->type)) {
        if (*s == '-' || *s == '+' || *s == ' ' || !*s)
            return bad(err, cap, path, "expected a non-negative integer, got \"%s\"", s);
        uint64_t u = strtoull(s, &end, 10);
        if (*end || errno)
            return bad(err, cap, path, "expected a non-negative integer, got \"%s\"", s);
        return int_range(f, 0, u, 1, out, path, err, cap);
    }
    int64_t v = strtoll(s, &end, 10);
    if (!*s || *s == ' ' || *end || errno)
        return bad(err, cap, path, "expected an integer, got \"%s\"", s);
    return int_range(f, v, 0, 0, out, path, err, cap);
}

/* A scalar (not message) field value from text. */
static int scalar_from_text(const ProtobufCFieldDescriptor *f, const char *s, scalar_t *out,
                            const char *path, char *err, size_t cap)
{
    memset(out, 0, sizeof *out);
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING:
        if (!(out->s = strdup(s)))
            return LL_ERR_NOMEM;
        return LL_OK;
    case PROTOBUF_C_TYPE_BOOL:
        if (!strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcmp(s, "1"))
            out->b = 1;
        else if (!strcasecmp(s, "false") || !strcasecmp(s, "no") || !strcmp(s, "0"))
            out->b = 0;
        else
            return bad(err, cap, path, "expected true or false, got \"%s\"", s);
        return LL_OK;
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_DOUBLE: {
        char *end;
        errno = 0;
        double d = strtod(s, &end);
        if (!*s || *end || errno || d != d)
            return bad(err, cap, path, "expected a number, got \"%s\"", s);
        if (f->type == PROTOBUF_C_TYPE_FLOAT)
            out->f = (float)d;
        else
            out->d = d;
        return LL_OK;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        size_t n = strlen(s), got;
        out->bd.data = malloc(n / 4 * 3 + 3);
        if (!out->bd.data)
            return LL_ERR_NOMEM;
        if (ll_base64_decode(s, n, out->bd.data, n / 4 * 3 + 3, &got)) {
            free(out->bd.data);
            out->bd.data = NULL;
            return bad(err, cap, path, "expected base64");
        }
        out->bd.len = got;
        return LL_OK;
    }
    case PROTOBUF_C_TYPE_ENUM: {
        const ProtobufCEnumDescriptor *d = f->descriptor;
        int v;
        char choices[512];
        if (lc_pbdesc_enum_value(d, s, &v) == LL_OK) {
            out->i32 = v;
            return LL_OK;
        }
        if ((*s >= '0' && *s <= '9') || *s == '-')
            return int_from_text(f, s, out, path, err, cap);
        enum_choices(d, choices, sizeof choices);
        return bad(err, cap, path, "unknown %s \"%s\" (one of %s)", d->short_name, s, choices);
    }
    case PROTOBUF_C_TYPE_MESSAGE:
        return bad(err, cap, path, "is a message: set its fields (%s.FIELD)", f->name);
    default:
        return int_from_text(f, s, out, path, err, cap);
    }
}

static int scalar_from_json(const ProtobufCFieldDescriptor *f, const ll_json_t *v, scalar_t *out,
                            const char *path, char *err, size_t cap)
{
    enum ll_json_type t = ll_json_type(v);
    memset(out, 0, sizeof *out);
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_BYTES:
        if (t != LL_JSON_STRING)
            return bad(err, cap, path, "expected a %s",
                       f->type == PROTOBUF_C_TYPE_STRING ? "string" : "base64 string");
        return scalar_from_text(f, ll_json_string(v, NULL), out, path, err, cap);
    case PROTOBUF_C_TYPE_BOOL: {
        int b;
        if (ll_json_get_bool(v, &b))
            return bad(err, cap, path, "expected true or false");
        out->b = b;
        return LL_OK;
    }
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_DOUBLE: {
        double d;
        if (t != LL_JSON_NUMBER || ll_json_get_double(v, &d))
            return bad(err, cap, path, "expected a number");
        if (f->type == PROTOBUF_C_TYPE_FLOAT)
            out->f = (float)d;
        else
            out->d = d;
        return LL_OK;
    }
    case PROTOBUF_C_TYPE_ENUM:
        if (t == LL_JSON_STRING)
            return scalar_from_text(f, ll_json_string(v, NULL), out, path, err, cap);
        break; /* an integer: the raw value */
    case PROTOBUF_C_TYPE_MESSAGE:
        return bad(err, cap, path, "expected an object");
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        if (t == LL_JSON_STRING)
            return int_from_text(f, ll_json_string(v, NULL), out, path, err, cap);
        break;
    default:
        break;
    }
    /* Integer types (and enums given as numbers). */
    int64_t i;
    uint64_t u;
    if (t != LL_JSON_NUMBER)
        return bad(err, cap, path, "expected an integer");
    if (ll_json_get_int64(v, &i) == LL_OK)
        return int_range(f, i, 0, 0, out, path, err, cap);
    if (ll_json_get_uint64(v, &u) == LL_OK)
        return int_range(f, 0, u, 1, out, path, err, cap);
    return bad(err, cap, path, "expected an integer in range");
}

/* ---- storage ---- */

static void scalar_free(const ProtobufCFieldDescriptor *f, scalar_t *v)
{
    if (f->type == PROTOBUF_C_TYPE_STRING)
        free(v->s);
    else if (f->type == PROTOBUF_C_TYPE_BYTES)
        free(v->bd.data);
    else if (f->type == PROTOBUF_C_TYPE_MESSAGE && v->m)
        protobuf_c_message_free_unpacked(v->m, NULL);
}

/* Frees what a singular field holds (string, bytes, message). */
static void field_release(const ProtobufCFieldDescriptor *f, void *slot)
{
    if (f->type == PROTOBUF_C_TYPE_STRING) {
        char *s = *(char **)slot;
        if (s && s != (const char *)f->default_value)
            free(s);
    } else if (f->type == PROTOBUF_C_TYPE_BYTES) {
        ProtobufCBinaryData *bd = slot;
        const ProtobufCBinaryData *def = f->default_value;
        if (bd->data && (!def || def->data != bd->data))
            free(bd->data);
    } else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
        ProtobufCMessage *m = *(ProtobufCMessage **)slot;
        if (m && m != f->default_value)
            protobuf_c_message_free_unpacked(m, NULL);
    }
}

/* Claims the oneof case for f, refusing a second member. */
static int claim_oneof(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f, const char *path,
                       char *err, size_t cap)
{
    uint32_t *cs = LC_PBDESC_AT(msg, f->quantifier_offset);
    if (!(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
        return LL_OK;
    if (*cs && *cs != f->id) {
        const ProtobufCFieldDescriptor *o =
            protobuf_c_message_descriptor_get_field(msg->descriptor, (unsigned)*cs);
        return bad(err, cap, path, "only one of a oneof may be set (%s is already)",
                   o ? o->name : "another member");
    }
    if (*cs != f->id) {
        /* Members share storage: start from a clean slot. */
        memset(LC_PBDESC_AT(msg, f->offset), 0, lc_pbdesc_elem_size(f->type));
        if (f->type == PROTOBUF_C_TYPE_STRING)
            *(const char **)LC_PBDESC_AT(msg, f->offset) = f->default_value;
    }
    *cs = f->id;
    return LL_OK;
}

/* Stores v (ownership moves) into field f of msg: replaces a singular
 * value, appends to a repeated one. */
static int store(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f, scalar_t *v,
                 const char *path, char *err, size_t cap)
{
    size_t es = lc_pbdesc_elem_size(f->type);
    int rc;
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
        size_t *n = LC_PBDESC_AT(msg, f->quantifier_offset);
        void **arr = LC_PBDESC_AT(msg, f->offset);
        void *na = realloc(*arr, (*n + 1) * es);
        if (!na) {
            scalar_free(f, v);
            return LL_ERR_NOMEM;
        }
        *arr = na;
        memcpy((char *)na + *n * es, v, es);
        (*n)++;
        return LL_OK;
    }
    if ((rc = claim_oneof(msg, f, path, err, cap))) {
        scalar_free(f, v);
        return rc;
    }
    void *slot = LC_PBDESC_AT(msg, f->offset);
    field_release(f, slot);
    memcpy(slot, v, es);
    if (f->label == PROTOBUF_C_LABEL_OPTIONAL && !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
        f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE)
        *(protobuf_c_boolean *)LC_PBDESC_AT(msg, f->quantifier_offset) = 1;
    return LL_OK;
}

static ProtobufCMessage *new_message(const ProtobufCMessageDescriptor *d)
{
    ProtobufCMessage *m = malloc(d->sizeof_message);
    if (m)
        protobuf_c_message_init(d, m);
    return m;
}

/* The singular sub-message at f, created when absent. */
static int submessage(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f,
                      ProtobufCMessage **out, const char *path, char *err, size_t cap)
{
    int rc;
    if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
        *(uint32_t *)LC_PBDESC_AT(msg, f->quantifier_offset) != f->id) {
        if ((rc = claim_oneof(msg, f, path, err, cap)))
            return rc;
    }
    ProtobufCMessage **slot = LC_PBDESC_AT(msg, f->offset);
    if (!*slot && !(*slot = new_message(f->descriptor)))
        return LL_ERR_NOMEM;
    *out = *slot;
    return LL_OK;
}

/* ---- JSON -> message ---- */

static int value_from_json(const ProtobufCFieldDescriptor *f, const ll_json_t *v, scalar_t *out,
                           const char *path, char *err, size_t cap)
{
    if (f->type != PROTOBUF_C_TYPE_MESSAGE)
        return scalar_from_json(f, v, out, path, err, cap);
    return lc_pbjson_parse(f->descriptor, v, path, &out->m, err, cap);
}

int lc_pbjson_merge(ProtobufCMessage *msg, const ll_json_t *obj, const char *path, char *err,
                    size_t cap)
{
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    char sub[512];
    int rc;

    if (ll_json_type(obj) != LL_JSON_OBJECT)
        return bad(err, cap, path, "expected an object");
    for (size_t i = 0; i < ll_json_object_len(obj); i++) {
        const char *key = ll_json_object_key(obj, i);
        const ll_json_t *v = ll_json_object_value(obj, i);
        const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(d, key);
        snprintf(sub, sizeof sub, "%s%s%s", path, path[0] ? "." : "", key);
        if (!f)
            return bad(err, cap, sub, "unknown field");
        if (ll_json_type(v) == LL_JSON_NULL)
            continue;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            if (ll_json_type(v) != LL_JSON_ARRAY)
                return bad(err, cap, sub, "expected an array");
            for (size_t j = 0; j < ll_json_array_len(v); j++) {
                char el[540];
                scalar_t s;
                snprintf(el, sizeof el, "%s[%zu]", sub, j);
                if ((rc = value_from_json(f, ll_json_array_get(v, j), &s, el, err, cap)) ||
                    (rc = store(msg, f, &s, el, err, cap)))
                    return rc;
            }
        } else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
            ProtobufCMessage *m;
            if ((rc = submessage(msg, f, &m, sub, err, cap)) ||
                (rc = lc_pbjson_merge(m, v, sub, err, cap)))
                return rc;
        } else {
            scalar_t s;
            if ((rc = scalar_from_json(f, v, &s, sub, err, cap)) ||
                (rc = store(msg, f, &s, sub, err, cap)))
                return rc;
        }
    }
    return LL_OK;
}

int lc_pbjson_parse(const ProtobufCMessageDescriptor *desc, const ll_json_t *obj,
                    const char *path, ProtobufCMessage **out, char *err, size_t cap)
{
    ProtobufCMessage *m = new_message(desc);
    int rc;
    *out = NULL;
    if (!m)
        return LL_ERR_NOMEM;
    if ((rc = lc_pbjson_merge(m, obj, path, err, cap))) {
        protobuf_c_message_free_unpacked(m, NULL);
        return rc;
    }
    *out = m;
    return LL_OK;
}

/* ---- flag text -> field ---- */

int lc_pbjson_set(ProtobufCMessage *msg, const char *dotted, const char *text,
                  const char *path, char *err, size_t cap)
{
    char name[128], sub[512];
    const char *dot = strchr(dotted, '.');
    size_t nl = dot ? (size_t)(dot - dotted) : strlen(dotted);
    int rc;

    if (nl == 0 || nl >= sizeof name)
        return bad(err, cap, path, "malformed field path \"%s\"", dotted);
    memcpy(name, dotted, nl);
    name[nl] = 0;
    snprintf(sub, sizeof sub, "%s%s%s", path, path[0] ? "." : "", name);
    const ProtobufCFieldDescriptor *f = lc_pbdesc_field(msg->descriptor, name);
    if (!f)
        return bad(err, cap, sub, "unknown field");
    if (!dot) {
        scalar_t s;
        if ((rc = scalar_from_text(f, text, &s, sub, err, cap)))
            return rc;
        return store(msg, f, &s, sub, err, cap);
    }
    if (f->type != PROTOBUF_C_TYPE_MESSAGE)
        return bad(err, cap, sub, "is not a message, so \"%s\" has no fields", name);
    ProtobufCMessage *m;
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
        size_t n = *(size_t *)LC_PBDESC_AT(msg, f->quantifier_offset);
        ProtobufCMessage **arr = *(ProtobufCMessage ***)LC_PBDESC_AT(msg, f->offset);
        const ProtobufCFieldDescriptor *leaf = NULL;
        const char *rest = dot + 1, *d2 = strchr(rest, '.');
        char ln[128];
        size_t ll = d2 ? (size_t)(d2 - rest) : strlen(rest);
        if (ll < sizeof ln) {
            memcpy(ln, rest, ll);
            ln[ll] = 0;
            leaf = lc_pbdesc_field(f->descriptor, ln);
        }
        /* A new element when none exists or the last already has this
         * (scalar, non-repeated) field: see lc_pbjson.h. */
        if (n == 0 || (leaf && !d2 && leaf->label != PROTOBUF_C_LABEL_REPEATED &&
                       lc_pbdesc_is_set(arr[n - 1], leaf))) {
            scalar_t s;
            if (!(s.m = new_message(f->descriptor)))
                return LL_ERR_NOMEM;
            if ((rc = store(msg, f, &s, sub, err, cap)))
                return rc;
            n++;
            arr = *(ProtobufCMessage ***)LC_PBDESC_AT(msg, f->offset);
        }
        m = arr[n - 1];
        snprintf(sub, sizeof sub, "%s%s%s[%zu]", path, path[0] ? "." : "", name, n - 1);
    } else if ((rc = submessage(msg, f, &m, sub, err, cap))) {
        return rc;
    }
    return lc_pbjson_set(m, dot + 1, text, sub, err, cap);
}
