/*
 * lc_pbjson: JSON (ll_json) and flag text -> protobuf-c messages, driven
 * only by protobuf-c descriptors, so every message of the contract (all
 * entry kinds, LoopService answers) converts without per-type code.
 *
 * The conversion API is three modules: this one (decoding), its mirror
 * lc_pbjson_write.h (message -> JSON and text) and the field and enum
 * names both use, lc_pbdesc.h. This header includes the other two, so one
 * include gives the whole API.
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

#include "lc_pbdesc.h"
#include "lc_pbjson_write.h"
#include "ll_json.h"

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

#endif
