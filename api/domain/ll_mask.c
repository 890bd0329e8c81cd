/*
 * ll_mask: update_mask semantics (ll_mask.h).
 *
 * The merge works on the wire encoding, not on protobuf-c structs: the
 * merged kind message is the earlier record's fields minus the masked ones
 * followed by the patch's masked fields, and protobuf parsing of that
 * concatenation is exactly "masked fields from the patch, the rest from
 * the record" because no field number appears in both halves. Copying
 * fields between generated structs would need per-type ownership rules;
 * the bytes need none.
 */
#include "ll_mask.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ll_bytes.h"
#include "ll_err.h"
#include "ll_kinds.h"

#define K(x) LOOPLEDGER__V1__ENTRY_BODY__KIND_##x
/* EntryBody.update_mask's field number (entry.proto). */
#define BODY_UPDATE_MASK 6
/* Field numbers a mask can name: the record messages stay far below. */
#define MASK_MAX_FIELD 64

int ll_mask_is_record(uint32_t kind)
{
    return kind == K(CHARTER) || kind == K(ROADMAP_PROJECT) || kind == K(POLICY);
}

int ll_mask_is_patch(const Loopledger__V1__EntryBody *b)
{
    return b->update_mask != NULL;
}

/* The kind's message descriptor and the body's part of that kind. */
static const ProtobufCFieldDescriptor *kind_field(uint32_t kind)
{
    return protobuf_c_message_descriptor_get_field(&loopledger__v1__entry_body__descriptor, kind);
}

static const ProtobufCMessage *kind_part(const Loopledger__V1__EntryBody *b)
{
    const ProtobufCFieldDescriptor *f = kind_field(b->kind_case);
    return f ? *(const ProtobufCMessage *const *)((const char *)b + f->offset) : NULL;
}

void ll_mask_paths(uint32_t kind, char *out, size_t cap)
{
    size_t n = 0;
    if (!cap)
        return;
    out[0] = 0;
    if (!ll_mask_is_record(kind))
        return;
    const ProtobufCMessageDescriptor *d = kind_field(kind)->descriptor;
    for (unsigned i = 0; i < d->n_fields && n < cap; i++) {
        int w = snprintf(out + n, cap - n, "%s%s", i ? ", " : "", d->fields[i].name);
        if (w < 0)
            break;
        n += (size_t)w;
    }
}

/* The field a path names in kind's message, or NULL. */
static const ProtobufCFieldDescriptor *path_field(uint32_t kind, const char *path)
{
    return protobuf_c_message_descriptor_get_field_by_name(kind_field(kind)->descriptor, path);
}

static int is_full(const Loopledger__V1__UpdateMask *m)
{
    return m->n_paths == 1 && !strcmp(m->paths[0], "*");
}

int ll_mask_check(const Loopledger__V1__EntryBody *b, char *msg, size_t cap)
{
    const Loopledger__V1__UpdateMask *m = b->update_mask;
    char valid[400];
    if (!m)
        return LL_OK;
    if (!ll_mask_is_record(b->kind_case))
        LL_FAIL(LL_ERR_INVALID,
             "update_mask: a %s entry is not a long-lived record; only initiative, "
             "roadmap_project and policy entries are updated by patch",
             ll_kind_name(b->kind_case));
    ll_mask_paths(b->kind_case, valid, sizeof valid);
    if (m->n_paths == 0)
        LL_FAIL(LL_ERR_INVALID,
             "update_mask has no paths: name the fields to change (valid: %s; \"*\" replaces "
             "the whole record), or send no update_mask for a full replacement",
             valid);
    size_t follows = 0;
    for (size_t i = 0; i < b->n_links; i++)
        follows += b->links[i]->relation == LOOPLEDGER__V1__RELATION__FOLLOWS;
    if (follows != 1)
        LL_FAIL(LL_ERR_INVALID,
             "update_mask: a patch FOLLOWS exactly the %s it updates (its latest entry); "
             "this entry has %zu follows links",
             ll_kind_name(b->kind_case), follows);
    if (m->n_paths > 1 || strcmp(m->paths[0], "*")) {
        for (size_t i = 0; i < m->n_paths; i++) {
            const char *p = m->paths[i];
            if (!strcmp(p, "*"))
                LL_FAIL(LL_ERR_INVALID,
                     "update_mask: \"*\" (full replacement) must be the only path");
            const ProtobufCFieldDescriptor *f = path_field(b->kind_case, p);
            if (!f)
                LL_FAIL(LL_ERR_INVALID,
                     "update_mask: \"%.80s\" is not a field of %s (valid paths: %s)", p,
                     ll_kind_name(b->kind_case), valid);
            if (f->id >= MASK_MAX_FIELD)
                LL_FAIL(LL_ERR_INVALID, "update_mask: \"%.80s\" cannot be patched", p);
            for (size_t j = 0; j < i; j++)
                if (!strcmp(m->paths[j], p))
                    LL_FAIL(LL_ERR_INVALID, "update_mask: \"%.80s\" is named twice", p);
        }
    }
    return LL_OK;
}

/* ---- wire-level merge ---- */

typedef struct buf {
    uint8_t *p;
    size_t n, cap;
} buf_t;

static int buf_add(buf_t *b, const void *src, size_t n)
{
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n)
            cap *= 2;
        uint8_t *np = realloc(b->p, cap);
        if (!np)
            return LL_ERR_NOMEM;
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
    return LL_OK;
}

/* Appends to out the fields of message bytes in[len] for which
 * keep[number] equals want (numbers beyond the table count as 0). */
static int filter(const uint8_t *in, size_t len, const uint8_t keep[MASK_MAX_FIELD], int want,
                  buf_t *out)
{
    const uint8_t *p = in, *end = in + len;
    while (p < end) {
        const uint8_t *start = p;
        uint64_t tag, v;
        if (ll_get_varint(&p, end, &tag))
            return LL_ERR_CORRUPT;
        switch (tag & 7) {
        case 0:
            if (ll_get_varint(&p, end, &v))
                return LL_ERR_CORRUPT;
            break;
        case 1:
            if ((size_t)(end - p) < 8)
                return LL_ERR_CORRUPT;
            p += 8;
            break;
        case 2:
            if (ll_get_varint(&p, end, &v) || v > (uint64_t)(end - p))
                return LL_ERR_CORRUPT;
            p += v;
            break;
        case 5:
            if ((size_t)(end - p) < 4)
                return LL_ERR_CORRUPT;
            p += 4;
            break;
        default:
            return LL_ERR_CORRUPT; /* groups: not in this contract */
        }
        uint64_t num = tag >> 3;
        int k = num < MASK_MAX_FIELD ? keep[num] : 0;
        int err;
        if (k == want && (err = buf_add(out, start, (size_t)(p - start))))
            return err;
    }
    return LL_OK;
}

/* A message's serialization, malloc'd into *out. */
static int pack(const ProtobufCMessage *m, uint8_t **out, size_t *len)
{
    *len = m ? protobuf_c_message_get_packed_size(m) : 0;
    *out = malloc(*len ? *len : 1);
    if (!*out)
        return LL_ERR_NOMEM;
    if (m && protobuf_c_message_pack(m, *out) != *len) {
        free(*out);
        return LL_ERR_CORRUPT;
    }
    return LL_OK;
}

int ll_mask_apply(const Loopledger__V1__EntryBody *base, const Loopledger__V1__EntryBody *patch,
                  Loopledger__V1__EntryBody **out)
{
    uint8_t masked[MASK_MAX_FIELD] = {0}, drop[MASK_MAX_FIELD] = {0};
    uint8_t *bb = NULL, *pb = NULL, *whole = NULL, hdr[2 * LL_VARINT_MAX];
    size_t bl, pl, wl;
    buf_t part = {0}, body = {0};
    uint32_t kind = patch->kind_case;
    const Loopledger__V1__UpdateMask *m = patch->update_mask;
    int err;

    *out = NULL;
    if (base->kind_case != kind || !ll_mask_is_record(kind) || !m)
        return LL_ERR_INVALID;
    if (is_full(m)) {
        memset(masked, 1, sizeof masked);
    } else {
        for (size_t i = 0; i < m->n_paths; i++) {
            const ProtobufCFieldDescriptor *f = path_field(kind, m->paths[i]);
            if (!f || f->id >= MASK_MAX_FIELD)
                return LL_ERR_INVALID;
            masked[f->id] = 1;
        }
    }
    if ((err = pack(kind_part(base), &bb, &bl)) || (err = pack(kind_part(patch), &pb, &pl)) ||
        (err = filter(bb, bl, masked, 0, &part)) || (err = filter(pb, pl, masked, 1, &part)))
        goto out;
    /* The patch's own fields, less its mask and its kind part, then the
     * merged part under the kind's number. */
    if ((err = pack(&patch->base, &whole, &wl)))
        goto out;
    drop[BODY_UPDATE_MASK] = 1;
    if (kind < MASK_MAX_FIELD)
        drop[kind] = 1;
    if ((err = filter(whole, wl, drop, 0, &body)))
        goto out;
    size_t h = ll_put_varint(hdr, (uint64_t)kind << 3 | 2);
    h += ll_put_varint(hdr + h, part.n);
    if ((err = buf_add(&body, hdr, h)) || (err = buf_add(&body, part.p, part.n)))
        goto out;
    *out = loopledger__v1__entry_body__unpack(NULL, body.n, body.p);
    err = *out ? LL_OK : LL_ERR_CORRUPT;
out:
    free(bb);
    free(pb);
    free(whole);
    free(part.p);
    free(body.p);
    return err;
}
