/*
 * lc_pbjson_write: protobuf message -> JSON and human text
 * (lc_pbjson_write.h), by walking its descriptor as the reader (lc_pbjson)
 * does, so one writer serves every message of the contract.
 *
 * Why two JSON flavours share one walk (canon = 0/1): loopctl's scripts
 * want .proto names, lowercase short enum names and exact 64-bit numbers;
 * the HTTP gateway must answer exactly as grpc-gateway would. They differ
 * only in keys and scalar spelling, never in which fields are written.
 */
#include "lc_pbjson_write.h"

#include <inttypes.h>
#include <stdlib.h>

#include "lc_pbdesc.h"
#include "ll_crypto.h"

/* ---- message -> JSON ---- */

static void write_b64(ll_jw_t *jw, const ProtobufCBinaryData *bd)
{
    char *t = malloc(ll_base64_len(bd->len) + 1);
    if (!t) {
        ll_jw_null(jw); /* the writer's sticky error cannot be set from here */
        return;
    }
    ll_base64_encode(bd->data, bd->len, t);
    ll_jw_string(jw, t);
    free(t);
}

static void write_msg(ll_jw_t *jw, const ProtobufCMessage *msg, int canon);

/* proto3 JSON writes 64-bit integers as decimal strings (JavaScript numbers
 * lose precision above 2^53) and non-finite floats as "NaN"/"Infinity".
 * A 64-bit integer is s when is_signed, else u. */
static void write_64(ll_jw_t *jw, int is_signed, int64_t s, uint64_t u, int canon)
{
    char b[24];
    if (!canon) {
        if (is_signed)
            ll_jw_int64(jw, s);
        else
            ll_jw_uint64(jw, u);
        return;
    }
    if (is_signed)
        snprintf(b, sizeof b, "%" PRId64, s);
    else
        snprintf(b, sizeof b, "%" PRIu64, u);
    ll_jw_string(jw, b);
}

static void write_double(ll_jw_t *jw, double v, int canon)
{
    if (canon && v != v)
        ll_jw_string(jw, "NaN");
    else if (canon && (v > 1.7976931348623157e308 || v < -1.7976931348623157e308))
        ll_jw_string(jw, v > 0 ? "Infinity" : "-Infinity");
    else
        ll_jw_double(jw, v);
}

static void write_value(ll_jw_t *jw, const ProtobufCFieldDescriptor *f, const void *p,
                        int canon)
{
    char nm[64];
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32: ll_jw_int64(jw, *(const int32_t *)p); break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32: ll_jw_uint64(jw, *(const uint32_t *)p); break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64: write_64(jw, 1, *(const int64_t *)p, 0, canon); break;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: write_64(jw, 0, 0, *(const uint64_t *)p, canon); break;
    case PROTOBUF_C_TYPE_FLOAT: write_double(jw, *(const float *)p, canon); break;
    case PROTOBUF_C_TYPE_DOUBLE: write_double(jw, *(const double *)p, canon); break;
    case PROTOBUF_C_TYPE_BOOL: ll_jw_bool(jw, *(const protobuf_c_boolean *)p); break;
    case PROTOBUF_C_TYPE_STRING: ll_jw_string(jw, *(char *const *)p); break;
    case PROTOBUF_C_TYPE_BYTES: write_b64(jw, p); break;
    case PROTOBUF_C_TYPE_ENUM: {
        int v = *(const int *)p;
        const ProtobufCEnumDescriptor *d = f->descriptor;
        const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(d, v);
        if (ev && canon)
            ll_jw_string(jw, ev->name); /* the .proto value name, as declared */
        else if (ev)
            ll_jw_string(jw, lc_pbdesc_enum_name(d, v, nm, sizeof nm));
        else
            ll_jw_int64(jw, v);
        break;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *m = *(ProtobufCMessage *const *)p;
        if (m)
            write_msg(jw, m, canon);
        else
            ll_jw_null(jw);
        break;
    }
    }
}

static void write_key(ll_jw_t *jw, const ProtobufCFieldDescriptor *f, int canon)
{
    char k[128];
    if (!canon) {
        ll_jw_key(jw, f->name);
        return;
    }
    lc_pbdesc_json_name(f->name, k, sizeof k);
    ll_jw_key(jw, k);
}

static void write_msg(ll_jw_t *jw, const ProtobufCMessage *msg, int canon)
{
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    ll_jw_begin_object(jw);
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const void *slot = LC_PBDESC_CAT(msg, f->offset);
        if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
            *(const uint32_t *)LC_PBDESC_CAT(msg, f->quantifier_offset) != f->id)
            continue;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)LC_PBDESC_CAT(msg, f->quantifier_offset);
            size_t es = lc_pbdesc_elem_size(f->type);
            const char *arr = *(const char *const *)slot;
            write_key(jw, f, canon);
            ll_jw_begin_array(jw);
            for (size_t j = 0; j < n; j++)
                write_value(jw, f, arr + j * es, canon);
            ll_jw_end_array(jw);
            continue;
        }
        if (f->type == PROTOBUF_C_TYPE_MESSAGE && !*(ProtobufCMessage *const *)slot)
            continue;
        write_key(jw, f, canon);
        write_value(jw, f, slot, canon);
    }
    ll_jw_end_object(jw);
}

void lc_pbjson_write(ll_jw_t *jw, const ProtobufCMessage *msg)
{
    write_msg(jw, msg, 0);
}

void lc_pbjson_write_proto3(ll_jw_t *jw, const ProtobufCMessage *msg)
{
    write_msg(jw, msg, 1);
}

/* ---- message -> text ---- */

static void print_scalar(FILE *out, const ProtobufCFieldDescriptor *f, const void *p)
{
    char nm[64];
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32: fprintf(out, "%" PRId32, *(const int32_t *)p); break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32: fprintf(out, "%" PRIu32, *(const uint32_t *)p); break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64: fprintf(out, "%" PRId64, *(const int64_t *)p); break;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: fprintf(out, "%" PRIu64, *(const uint64_t *)p); break;
    case PROTOBUF_C_TYPE_FLOAT: fprintf(out, "%g", *(const float *)p); break;
    case PROTOBUF_C_TYPE_DOUBLE: fprintf(out, "%g", *(const double *)p); break;
    case PROTOBUF_C_TYPE_BOOL: fputs(*(const protobuf_c_boolean *)p ? "true" : "false", out); break;
    case PROTOBUF_C_TYPE_STRING: fputs(*(char *const *)p, out); break;
    case PROTOBUF_C_TYPE_BYTES:
        fprintf(out, "(%zu bytes)", ((const ProtobufCBinaryData *)p)->len);
        break;
    case PROTOBUF_C_TYPE_ENUM:
        fputs(lc_pbdesc_enum_name(f->descriptor, *(const int *)p, nm, sizeof nm), out);
        break;
    case PROTOBUF_C_TYPE_MESSAGE: break;
    }
}

void lc_pbjson_write_text(FILE *out, const ProtobufCMessage *msg, int indent)
{
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const void *slot = LC_PBDESC_CAT(msg, f->offset);
        if (!lc_pbdesc_is_set(msg, f))
            continue;
        if (f->label != PROTOBUF_C_LABEL_REPEATED) {
            if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
                fprintf(out, "%*s%s:\n", indent, "", f->name);
                lc_pbjson_write_text(out, *(ProtobufCMessage *const *)slot, indent + 2);
            } else {
                fprintf(out, "%*s%s: ", indent, "", f->name);
                print_scalar(out, f, slot);
                fputc('\n', out);
            }
            continue;
        }
        size_t n = *(const size_t *)LC_PBDESC_CAT(msg, f->quantifier_offset);
        size_t es = lc_pbdesc_elem_size(f->type);
        const char *arr = *(const char *const *)slot;
        if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
            for (size_t j = 0; j < n; j++) {
                fprintf(out, "%*s%s[%zu]:\n", indent, "", f->name, j);
                lc_pbjson_write_text(out, *(ProtobufCMessage *const *)(arr + j * es), indent + 2);
            }
        } else {
            fprintf(out, "%*s%s: ", indent, "", f->name);
            for (size_t j = 0; j < n; j++) {
                if (j)
                    fputs(", ", out);
                print_scalar(out, f, arr + j * es);
            }
            fputc('\n', out);
        }
    }
}
