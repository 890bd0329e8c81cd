/*
 * lc_pbjson: protobuf-c messages <-> JSON (ll_json) and flag text, driven
 * only by protobuf-c descriptors, so every message of the contract (all
 * entry kinds, LoopService answers) converts without per-type code.
 *
 * JSON -> message (lc_pbjson_parse, lc_pbjson_merge). An object's keys are
 * the .proto field names, exactly. Values:
 *   - string: a JSON string;
 *   - bool: true / false;
 *   - int32/uint32: an integer JSON number in range; int64/uint64: an
 *     integer number or a decimal string (proto3 JSON writes 64-bit
 *     integers as strings);
 *   - float/double: any number;
 *   - bytes: a base64 string (RFC 4648, padded);
 *   - enum: a value name, case-insensitive, with or without the enum's
 *     common prefix ("pilot", "PHASE_PILOT" for Phase), or an integer,
 *     which is taken as the raw wire value without a range check so that
 *     the server's own validation can be exercised;
 *   - message: an object; repeated: an array of the element form;
 *   - null: the field keeps its default.
 * Unknown keys, wrong types and out-of-range integers are refused with the
 * full path: "experiment.control.nmae: unknown field". A oneof takes at
 * most one member.
 *
 * Flag text -> field (lc_pbjson_set): a dotted path of field names ('-'
 * accepted for '_') and a text value parsed like the JSON form (numbers as
 * text, bools as true/false/yes/no/1/0). Repeated scalars append one
 * element per call. A path through a repeated message field sets the field
 * on the last element, or starts a new element when there is none or the
 * last one already has that field set, so that
 *   --variants.name a --variants.allocation_percent 50 --variants.name b
 * builds two variants.
 *
 * Message -> JSON (lc_pbjson_write; lc_pbjson_write_proto3 for the canonical
 * mapping the HTTP gateway serves): every field of the message in .proto
 * order, defaults included (a stable shape for scripts), except unset
 * sub-messages and unset oneof members; enums as lowercase short names
 * ("pilot"), unknown enum values as numbers; 64-bit integers as JSON
 * numbers (exact); bytes as base64.
 *
 * Ownership: messages built here are allocated with malloc (protobuf-c's
 * system allocator), so protobuf_c_message_free_unpacked(msg, NULL) frees
 * them, as it frees messages from protobuf_c_message_unpack(.., NULL, ..).
 * lc_pbjson_merge and lc_pbjson_set require msg to be built that way too.
 * Errors: LL_ERR_INVALID (message in err[cap]), LL_ERR_NOMEM. After an
 * error msg is still valid and freeable but may be partly filled.
 */
#ifndef LC_PBJSON_H
#define LC_PBJSON_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdio.h>

#include "ll_json.h"
#include "ll_jw.h"

/* A new message of type desc from the JSON object obj; *out is owned by
 * the caller (protobuf_c_message_free_unpacked(*out, NULL)). path names
 * obj in error messages ("" for none). */
int lc_pbjson_parse(const ProtobufCMessageDescriptor *desc, const ll_json_t *obj,
                    const char *path, ProtobufCMessage **out, char *err, size_t cap);

/* Sets the fields that obj names on msg (repeated fields are appended to). */
int lc_pbjson_merge(ProtobufCMessage *msg, const ll_json_t *obj, const char *path,
                    char *err, size_t cap);

/* Sets the field at dotted (e.g. "expected_effect.metric") from text. */
int lc_pbjson_set(ProtobufCMessage *msg, const char *dotted, const char *text,
                  const char *path, char *err, size_t cap);

/* Writes msg as a JSON object value (after a key, in an array or at the
 * top level of jw). */
void lc_pbjson_write(ll_jw_t *jw, const ProtobufCMessage *msg);

/* Writes msg in protobuf's canonical proto3 JSON mapping, as grpc-gateway
 * answers: keys are lowerCamelCase json names ("treeSize"), enums their
 * declared value names ("PHASE_PILOT"), 64-bit integers decimal strings,
 * bytes standard base64 (padded), NaN/Infinity as strings. Like
 * grpc-gateway's default marshaler (EmitUnpopulated), scalar and repeated
 * fields are written even when they hold their default; unset
 * sub-messages and unset oneof members are left out. Unknown enum values
 * are written as numbers. */
void lc_pbjson_write_proto3(ll_jw_t *jw, const ProtobufCMessage *msg);

/* The proto3 JSON name of field name ("tree_size" -> "treeSize") into
 * out[cap] (truncated). */
void lc_pbjson_json_name(const char *name, char *out, size_t cap);

/* Human text: one "name: value" line per non-default field, nested
 * messages indented under their name, repeated elements as name[i]. */
void lc_pbjson_print_text(FILE *f, const ProtobufCMessage *msg, int indent);

/* The field named name in desc, accepting '-' for '_', or its proto3 JSON
 * name ("pageToken"); NULL if none. */
const ProtobufCFieldDescriptor *lc_pbjson_field(const ProtobufCMessageDescriptor *desc,
                                                const char *name);

/* Enum value by name (rules above, integers excluded). LL_OK or
 * LL_ERR_NOT_FOUND. */
int lc_pbjson_enum_value(const ProtobufCEnumDescriptor *d, const char *name, int *out);

/* Lowercase short name of value ("pilot") into buf[cap], or its decimal
 * form when the enum has no such value. Returns buf. */
const char *lc_pbjson_enum_name(const ProtobufCEnumDescriptor *d, int value, char *buf,
                                size_t cap);

#endif
