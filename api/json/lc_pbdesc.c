/*
 * lc_pbdesc: names and storage of protobuf-c fields (lc_pbdesc.h), the
 * ground that JSON decoding (lc_pbjson) and encoding (lc_pbjson_write)
 * both stand on.
 *
 * Why one place: the reader must accept every name the writer prints
 * ("pilot" for PHASE_PILOT, "treeSize" for tree_size) and both must agree
 * on where a field's value lives; two copies of these rules would drift.
 */
#include "lc_pbdesc.h"

#include <stdio.h>
#include <string.h>

#include "ll_err.h"

size_t lc_pbdesc_elem_size(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: return 8;
    case PROTOBUF_C_TYPE_DOUBLE: return sizeof(double);
    case PROTOBUF_C_TYPE_FLOAT: return sizeof(float);
    case PROTOBUF_C_TYPE_BOOL: return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_STRING: return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES: return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE: return sizeof(ProtobufCMessage *);
    default: return 4; /* int32 family, uint32, fixed32, enum */
    }
}

int lc_pbdesc_is_set(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
    const void *slot = LC_PBDESC_CAT(msg, f->offset);
    if (f->label == PROTOBUF_C_LABEL_REPEATED)
        return *(const size_t *)LC_PBDESC_CAT(msg, f->quantifier_offset) > 0;
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
        return *(const uint32_t *)LC_PBDESC_CAT(msg, f->quantifier_offset) == f->id;
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING: return *(char *const *)slot && **(char *const *)slot;
    case PROTOBUF_C_TYPE_BYTES: return ((const ProtobufCBinaryData *)slot)->len > 0;
    case PROTOBUF_C_TYPE_MESSAGE: return *(ProtobufCMessage *const *)slot != NULL;
    case PROTOBUF_C_TYPE_FLOAT: return *(const float *)slot != 0;
    case PROTOBUF_C_TYPE_DOUBLE: return *(const double *)slot != 0;
    case PROTOBUF_C_TYPE_BOOL: return *(const protobuf_c_boolean *)slot != 0;
    default: {
        uint64_t z = 0;
        return memcmp(slot, &z, lc_pbdesc_elem_size(f->type)) != 0;
    }
    }
}

/* Case-insensitive, '-' equal to '_'. */
static int name_eq(const char *a, const char *b)
{
    for (;; a++, b++) {
        int x = *a == '-' ? '_' : *a, y = *b == '-' ? '_' : *b;
        if (x >= 'A' && x <= 'Z')
            x |= 0x20;
        if (y >= 'A' && y <= 'Z')
            y |= 0x20;
        if (x != y)
            return 0;
        if (!x)
            return 1;
    }
}

/* Length of the enum's common value-name prefix, up to and including its
 * last '_' ("PHASE_" for Phase; 0 for Relation). */
static size_t enum_prefix(const ProtobufCEnumDescriptor *d)
{
    if (d->n_values < 2)
        return 0;
    const char *first = d->values[0].name;
    size_t n = strlen(first);
    for (unsigned i = 1; i < d->n_values; i++) {
        size_t k = 0;
        while (k < n && first[k] == d->values[i].name[k])
            k++;
        n = k;
    }
    while (n > 0 && first[n - 1] != '_')
        n--;
    return n;
}

int lc_pbdesc_enum_value(const ProtobufCEnumDescriptor *d, const char *name, int *out)
{
    size_t p = enum_prefix(d);
    for (unsigned i = 0; i < d->n_values; i++) {
        const char *v = d->values[i].name;
        if (name_eq(name, v) || (strlen(v) > p && name_eq(name, v + p))) {
            *out = d->values[i].value;
            return LL_OK;
        }
    }
    return LL_ERR_NOT_FOUND;
}

const char *lc_pbdesc_enum_name(const ProtobufCEnumDescriptor *d, int value, char *buf,
                                size_t cap)
{
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(d, value);
    if (!v) {
        snprintf(buf, cap, "%d", value);
        return buf;
    }
    size_t i = 0;
    for (const char *s = v->name + enum_prefix(d); *s && i + 1 < cap; s++)
        buf[i++] = (char)(*s >= 'A' && *s <= 'Z' ? *s | 0x20 : *s);
    buf[i] = 0;
    return buf;
}

const ProtobufCFieldDescriptor *lc_pbdesc_field(const ProtobufCMessageDescriptor *desc,
                                                const char *name)
{
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const char *a = desc->fields[i].name, *b = name;
        while (*a && (*a == *b || (*a == '_' && *b == '-')))
            a++, b++;
        if (!*a && !*b)
            return &desc->fields[i];
    }
    /* The proto3 JSON name ("pageToken") names the field too, as in JSON
     * parsers and grpc-gateway query parameters. */
    for (unsigned i = 0; i < desc->n_fields; i++) {
        char j[128];
        lc_pbdesc_json_name(desc->fields[i].name, j, sizeof j);
        if (!strcmp(j, name))
            return &desc->fields[i];
    }
    return NULL;
}

void lc_pbdesc_json_name(const char *name, char *out, size_t cap)
{
    size_t n = 0;
    int up = 0;
    for (; *name && n + 1 < cap; name++) {
        if (*name == '_') {
            up = 1;
            continue;
        }
        out[n++] = (char)(up && *name >= 'a' && *name <= 'z' ? *name - 32 : *name);
        up = 0;
    }
    out[n] = 0;
}
