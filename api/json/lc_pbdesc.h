/*
 * lc_pbdesc: where a protobuf-c field's value lives and what its field and
 * enum values are called. The JSON reader (lc_pbjson) and writer
 * (lc_pbjson_write) both walk messages by descriptor with these rules, so
 * whatever one prints the other reads back.
 *
 * Storage facts used by every descriptor walk (protobuf-c 1.x):
 *   - a field lives at (char *)msg + offset; a repeated field there is a
 *     pointer to an array whose length is the size_t at quantifier_offset;
 *   - a oneof member's case (uint32) is at quantifier_offset, and members
 *     share storage, so only the member named by the case may be touched;
 *   - proto2/proto3-optional scalars have a protobuf_c_boolean has_ flag at
 *     quantifier_offset; proto3 implicit fields (LABEL_NONE) have none;
 *   - unset strings point at protobuf_c_empty_string (the descriptor's
 *     default_value), which protobuf_c_message_free_unpacked never frees.
 *
 * Names. A field is named by its .proto name ('-' accepted for '_') or its
 * proto3 JSON name ("pageToken"). An enum value is named, case-insensitively,
 * by its declared name or that name without the enum's common prefix
 * ("pilot", "PHASE_PILOT" for Phase); it is printed as the short name in
 * lowercase ("pilot").
 *
 * Everything here is pure: nothing allocates, nothing keeps a pointer.
 */
#ifndef LC_PBDESC_H
#define LC_PBDESC_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

/* The storage at byte offset off of message msg (a field's value, its
 * has_ flag, oneof case or repeated count), mutable or read-only. */
#define LC_PBDESC_AT(msg, off) ((void *)((char *)(msg) + (off)))
#define LC_PBDESC_CAT(msg, off) ((const void *)((const char *)(msg) + (off)))

/* Size in bytes of one value of type t as protobuf-c stores it: the stride
 * of a repeated field's array, the width of a singular field. */
size_t lc_pbdesc_elem_size(ProtobufCType t);

/* 1 if field f of msg is set: a repeated field with elements, the oneof
 * member its case names, or a singular field that differs from zero / ""
 * / NULL; else 0. */
int lc_pbdesc_is_set(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f);

/* The field named name in desc (rules above); NULL if none. */
const ProtobufCFieldDescriptor *lc_pbdesc_field(const ProtobufCMessageDescriptor *desc,
                                                const char *name);

/* Enum value by name (rules above; integers are not names). LL_OK with
 * *out set, or LL_ERR_NOT_FOUND. */
int lc_pbdesc_enum_value(const ProtobufCEnumDescriptor *d, const char *name, int *out);

/* Lowercase short name of value ("pilot") into buf[cap], or its decimal
 * form when the enum has no such value. Returns buf. */
const char *lc_pbdesc_enum_name(const ProtobufCEnumDescriptor *d, int value, char *buf,
                                size_t cap);

/* The proto3 JSON name of field name ("tree_size" -> "treeSize") into
 * out[cap] (truncated, always NUL-terminated when cap > 0). */
void lc_pbdesc_json_name(const char *name, char *out, size_t cap);

#endif
