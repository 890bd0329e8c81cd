/*
 * ll_pbcheck: canonical protobuf encoding check (ll_pbcheck.h).
 *
 * A wire walker driven by protobuf-c's descriptors. It never unpacks: the
 * point is to look at the bytes the signer signed, including the ones
 * protobuf-c's C-string view hides (a NUL inside a string), and to hold
 * them to the single encoding protobuf-c itself would write. The rules are
 * numbered in the header; comments here refer to them.
 */
#include "ll_pbcheck.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ll_err.h"

#define MAX_ONEOFS 16

typedef struct pbc {
    char *msg;
    size_t cap;
    char path[256];
    size_t plen;
} pbc_t;

static int fail(pbc_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(pbc_t *c, const char *fmt, ...)
{
    if (c->cap) {
        int n = snprintf(c->msg, c->cap, "%s: ", c->path);
        if (n >= 0 && (size_t)n < c->cap) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(c->msg + n, c->cap - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return LL_ERR_INVALID;
}

/* Appends n bytes of s to the path, cut at its end. */
static void path_add(pbc_t *c, const char *s, size_t n)
{
    size_t room = sizeof c->path - 1 - c->plen;
    if (n > room)
        n = room;
    memcpy(c->path + c->plen, s, n);
    c->plen += n;
    c->path[c->plen] = 0;
}

#define NO_INDEX ((size_t)-1)

/* Appends sep and name (when name) and "[index]" (unless NO_INDEX) to the
 * path; returns the length to restore. Runs for every field walked, so it
 * copies bytes rather than formatting: the path is only read on failure. */
static size_t push(pbc_t *c, const char *sep, const char *name, size_t index)
{
    size_t old = c->plen;
    if (name) {
        path_add(c, sep, strlen(sep));
        path_add(c, name, strlen(name));
    }
    if (index != NO_INDEX) {
        char d[24];
        size_t n = sizeof d;
        do
            d[--n] = (char)('0' + index % 10);
        while ((index /= 10) && n > 1);
        d[--n] = '[';
        path_add(c, d + n, sizeof d - n);
        path_add(c, "]", 1);
    }
    return old;
}

static void pop(pbc_t *c, size_t old)
{
    c->plen = old;
    c->path[old] = 0;
}

enum { VI_OK = 0, VI_TRUNC, VI_LONG, VI_PADDED };

/* Rule 3: shortest form, at most 64 bits. */
static int varint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
    const uint8_t *s = *p;
    uint64_t v = 0;
    for (unsigned i = 0; i < 10; i++) {
        if (s + i >= end)
            return VI_TRUNC;
        uint8_t b = s[i];
        if (i == 9 && b > 1)
            return VI_LONG; /* bits beyond 64 */
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            if (i > 0 && b == 0)
                return VI_PADDED; /* a redundant trailing 0x80 0x00 group */
            *p = s + i + 1;
            *out = v;
            return VI_OK;
        }
    }
    return VI_LONG;
}

static int varint_fail(pbc_t *c, int r, const char *what)
{
    switch (r) {
    case VI_TRUNC:
        return fail(c, "%s is cut short (truncated message)", what);
    case VI_LONG:
        return fail(c, "%s is longer than 64 bits", what);
    default:
        return fail(c, "%s is not in its shortest form (padded varint); "
                       "encode it as protobuf does", what);
    }
}

int ll_pbcheck_utf8(const uint8_t *s, size_t len, size_t *bad)
{
    size_t i = 0;
    while (i < len) {
        uint8_t b = s[i];
        size_t n;
        uint32_t cp, min;
        if (b == 0)
            goto bad;
        if (b < 0x80) {
            i++;
            continue;
        }
        if ((b & 0xe0) == 0xc0) {
            n = 2;
            cp = b & 0x1f;
            min = 0x80;
        } else if ((b & 0xf0) == 0xe0) {
            n = 3;
            cp = b & 0x0f;
            min = 0x800;
        } else if ((b & 0xf8) == 0xf0) {
            n = 4;
            cp = b & 0x07;
            min = 0x10000;
        } else {
            goto bad;
        }
        if (len - i < n)
            goto bad;
        for (size_t k = 1; k < n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                goto bad;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            goto bad;
        i += n;
    }
    return 1;
bad:
    if (bad)
        *bad = i;
    return 0;
}

/* Wire type protobuf-c writes for one (unpacked) value of type t. */
static unsigned wire_type_of(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return PROTOBUF_C_WIRE_TYPE_64BIT;
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_FLOAT:
        return PROTOBUF_C_WIRE_TYPE_32BIT;
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_BYTES:
    case PROTOBUF_C_TYPE_MESSAGE:
        return PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED;
    default:
        return PROTOBUF_C_WIRE_TYPE_VARINT;
    }
}

/* Rule 3: the varint value v is one protobuf writes for type t. */
static int varint_in_range(pbc_t *c, ProtobufCType t, uint64_t v)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_ENUM:
        if (v <= 0x7fffffffu || v >= 0xffffffff80000000u)
            return LL_OK;
        return fail(c, "value %llu does not fit a 32-bit signed field (readers would "
                       "truncate it differently)", (unsigned long long)v);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_SINT32:
        if (v <= 0xffffffffu)
            return LL_OK;
        return fail(c, "value %llu does not fit a 32-bit field", (unsigned long long)v);
    case PROTOBUF_C_TYPE_BOOL:
        if (v <= 1)
            return LL_OK;
        return fail(c, "bool encoded as %llu: only 0 and 1 are canonical",
                    (unsigned long long)v);
    default:
        return LL_OK;
    }
}

/* Rule 4: a field without presence holds its default. */
static int implicit_presence(const ProtobufCFieldDescriptor *f)
{
    return f->label == PROTOBUF_C_LABEL_NONE && !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
           f->type != PROTOBUF_C_TYPE_MESSAGE;
}

static int default_fail(pbc_t *c)
{
    return fail(c, "holds its default value and must be omitted (proto3 writes no defaults)");
}

static int walk(pbc_t *c, const ProtobufCMessageDescriptor *desc, const uint8_t *data,
                size_t len, unsigned depth);

/* Rule 5: a packed run of scalars. */
static int check_packed(pbc_t *c, const ProtobufCFieldDescriptor *f, const uint8_t *p,
                        size_t n)
{
    const uint8_t *end = p + n;
    if (n == 0)
        return fail(c, "empty packed field must be omitted");
    switch (wire_type_of(f->type)) {
    case PROTOBUF_C_WIRE_TYPE_64BIT:
        return n % 8 ? fail(c, "packed run of %zu bytes is not a whole number of 8-byte values", n)
                     : LL_OK;
    case PROTOBUF_C_WIRE_TYPE_32BIT:
        return n % 4 ? fail(c, "packed run of %zu bytes is not a whole number of 4-byte values", n)
                     : LL_OK;
    default:
        break;
    }
    for (size_t i = 0; p < end; i++) {
        uint64_t v;
        size_t old = push(c, NULL, NULL, i);
        int r = varint(&p, end, &v), err;
        if (r)
            return varint_fail(c, r, "packed value");
        if ((err = varint_in_range(c, f->type, v)))
            return err;
        pop(c, old);
    }
    return LL_OK;
}

/* One occurrence of field f (wire type wt) starting at *pp. */
static int check_value(pbc_t *c, const ProtobufCFieldDescriptor *f, unsigned wt,
                       const uint8_t **pp, const uint8_t *end, unsigned depth)
{
    const uint8_t *p = *pp;
    uint64_t v;
    int r, err;
    int packed = f->label == PROTOBUF_C_LABEL_REPEATED && (f->flags & PROTOBUF_C_FIELD_FLAG_PACKED);
    unsigned want = packed ? PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED : wire_type_of(f->type);

    if (wt != want)
        return fail(c, "wire type %u where this %sfield has wire type %u", wt,
                    packed ? "packed " : "", want);
    switch (wt) {
    case PROTOBUF_C_WIRE_TYPE_VARINT:
        if ((r = varint(&p, end, &v)))
            return varint_fail(c, r, "value");
        if ((err = varint_in_range(c, f->type, v)))
            return err;
        if (v == 0 && implicit_presence(f))
            return default_fail(c);
        break;
    case PROTOBUF_C_WIRE_TYPE_64BIT: {
        if (end - p < 8)
            return fail(c, "8-byte value cut short");
        uint64_t bits = 0;
        for (int i = 7; i >= 0; i--)
            bits = bits << 8 | p[i];
        p += 8;
        if (implicit_presence(f) &&
            (bits == 0 || (f->type == PROTOBUF_C_TYPE_DOUBLE && bits == 0x8000000000000000u)))
            return default_fail(c);
        break;
    }
    case PROTOBUF_C_WIRE_TYPE_32BIT: {
        if (end - p < 4)
            return fail(c, "4-byte value cut short");
        uint32_t bits = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                        (uint32_t)p[3] << 24;
        p += 4;
        if (implicit_presence(f) &&
            (bits == 0 || (f->type == PROTOBUF_C_TYPE_FLOAT && bits == 0x80000000u)))
            return default_fail(c);
        break;
    }
    default: { /* length-delimited */
        if ((r = varint(&p, end, &v)))
            return varint_fail(c, r, "length");
        if (v > (uint64_t)(end - p))
            return fail(c, "length %llu runs past the end of the message (%zu bytes left)",
                        (unsigned long long)v, (size_t)(end - p));
        size_t n = (size_t)v;
        if (packed) {
            if ((err = check_packed(c, f, p, n)))
                return err;
        } else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
            if (depth + 1 >= LL_PBCHECK_DEPTH)
                return fail(c, "messages nested more than %d deep", LL_PBCHECK_DEPTH);
            if ((err = walk(c, f->descriptor, p, n, depth + 1)))
                return err;
        } else {
            size_t bad;
            if (n == 0 && implicit_presence(f))
                return default_fail(c);
            if (f->type == PROTOBUF_C_TYPE_STRING && !ll_pbcheck_utf8(p, n, &bad)) {
                if (!p[bad])
                    return fail(c, "string holds a NUL byte at offset %zu; strings must be "
                                   "NUL-free UTF-8", bad);
                return fail(c, "string is not valid UTF-8 (byte 0x%02x at offset %zu)", p[bad],
                            bad);
            }
        }
        p += n;
        break;
    }
    }
    *pp = p;
    return LL_OK;
}

static int walk(pbc_t *c, const ProtobufCMessageDescriptor *desc, const uint8_t *data,
                size_t len, unsigned depth)
{
    const uint8_t *p = data, *end = data + len;
    uint64_t last_id = 0;
    size_t elem = 0;
    unsigned oneofs[MAX_ONEOFS];
    uint64_t oneof_ids[MAX_ONEOFS];
    size_t n_oneofs = 0;

    while (p < end) {
        uint64_t key;
        int r = varint(&p, end, &key), err;
        if (r)
            return varint_fail(c, r, "field tag");
        uint64_t id = key >> 3;
        unsigned wt = (unsigned)(key & 7);
        if (id == 0 || id > 536870911u)
            return fail(c, "field number %llu is not a valid field number", (unsigned long long)id);
        if (wt == 3 || wt == 4 || wt > 5)
            return fail(c, "field %llu uses wire type %u (groups and reserved wire types are "
                           "refused)", (unsigned long long)id, wt);
        const ProtobufCFieldDescriptor *f =
            protobuf_c_message_descriptor_get_field(desc, (unsigned)id);
        if (!f)
            return fail(c, "unknown field %llu (wire type %u): %s has no such field, and bytes "
                           "outside the schema are refused", (unsigned long long)id, wt,
                        desc->name);
        size_t old;
        int repeated = f->label == PROTOBUF_C_LABEL_REPEATED;
        int packed = repeated && (f->flags & PROTOBUF_C_FIELD_FLAG_PACKED);
        /* Rule 2. */
        if (id == last_id) {
            if (!repeated || packed) {
                old = push(c, ".", f->name, NO_INDEX);
                return fail(c, packed ? "packed field given in more than one run"
                                      : "non-repeated field given twice (readers disagree on "
                                        "which value counts)");
            }
            elem++;
        } else {
            if (id < last_id) {
                old = push(c, ".", f->name, NO_INDEX);
                return fail(c, "field %llu comes after field %llu: fields must be written in "
                               "ascending field-number order", (unsigned long long)id,
                            (unsigned long long)last_id);
            }
            elem = 0;
        }
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            for (size_t i = 0; i < n_oneofs; i++) {
                if (oneofs[i] == f->quantifier_offset) {
                    const ProtobufCFieldDescriptor *o =
                        protobuf_c_message_descriptor_get_field(desc, (unsigned)oneof_ids[i]);
                    old = push(c, ".", f->name, NO_INDEX);
                    return fail(c, "second member of a oneof (\"%s\" is already set): a oneof "
                                   "holds exactly one member", o ? o->name : "?");
                }
            }
            if (n_oneofs == MAX_ONEOFS)
                return fail(c, "too many oneofs");
            oneofs[n_oneofs] = f->quantifier_offset;
            oneof_ids[n_oneofs++] = id;
        }
        old = repeated && !packed ? push(c, ".", f->name, elem) : push(c, ".", f->name, NO_INDEX);
        if ((err = check_value(c, f, wt, &p, end, depth)))
            return err;
        pop(c, old);
        last_id = id;
    }
    return LL_OK;
}

int ll_pbcheck(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
               char *msg, size_t cap)
{
    pbc_t c = {.msg = msg, .cap = cap};
    const char *dot = strrchr(desc->name, '.');
    if (cap)
        msg[0] = 0;
    push(&c, "", dot ? dot + 1 : desc->name, NO_INDEX);
    return walk(&c, desc, data, len, 0);
}

int ll_pbcheck_no_unknown(const ProtobufCMessage *m)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    if (m->n_unknown_fields)
        return 0;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const char *base = (const char *)m;
        if (f->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF &&
            *(const uint32_t *)(base + f->quantifier_offset) != f->id)
            continue; /* the union holds another member */
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(base + f->quantifier_offset);
            ProtobufCMessage *const *a = *(ProtobufCMessage *const *const *)(base + f->offset);
            for (size_t k = 0; k < n; k++)
                if (!ll_pbcheck_no_unknown(a[k]))
                    return 0;
        } else {
            const ProtobufCMessage *s = *(const ProtobufCMessage *const *)(base + f->offset);
            if (s && !ll_pbcheck_no_unknown(s))
                return 0;
        }
    }
    return 1;
}

int ll_pbcheck_reencodes(const ProtobufCMessage *m, const uint8_t *data, size_t len)
{
    uint8_t stack[4096], *buf = stack;
    size_t n = protobuf_c_message_get_packed_size(m);
    int same;
    if (n != len)
        return 0;
    if (n > sizeof stack && !(buf = malloc(n)))
        return LL_ERR_NOMEM;
    same = protobuf_c_message_pack(m, buf) == n && memcmp(buf, data, n) == 0;
    if (buf != stack)
        free(buf);
    return same;
}
