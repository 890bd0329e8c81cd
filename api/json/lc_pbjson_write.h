/*
 * lc_pbjson_write: protobuf-c message -> JSON (through ll_jw) and human
 * text, driven only by descriptors, the mirror of lc_pbjson's reading.
 *
 * JSON (lc_pbjson_write; lc_pbjson_write_proto3 for the canonical mapping
 * the HTTP gateway serves): every field of the message in .proto order,
 * defaults included (a stable shape for scripts), except unset
 * sub-messages and unset oneof members; enums as lowercase short names
 * ("pilot"), unknown enum values as numbers; 64-bit integers as JSON
 * numbers (exact); bytes as base64.
 *
 * Writing never fails on its own: errors (out of memory, misuse) are the
 * writer's sticky error, seen at ll_jw_finish. Nothing here keeps a
 * pointer to msg.
 */
#ifndef LC_PBJSON_WRITE_H
#define LC_PBJSON_WRITE_H

#include <protobuf-c/protobuf-c.h>
#include <stdio.h>

#include "ll_jw.h"

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

/* Human text to f: one "name: value" line per set field (lc_pbdesc_is_set),
 * nested messages indented under their name, repeated elements as
 * name[i]; indent spaces before each top-level line. */
void lc_pbjson_write_text(FILE *f, const ProtobufCMessage *msg, int indent);

#endif
