/*
 * ll_pbcheck: is a byte string the one canonical protobuf encoding of a
 * message of a given type?
 *
 * Why: the ledger stores and signs protobuf bytes as received, and other
 * programs (verifiers in other languages, auditors, the Python client) read
 * them with their own parsers. Protobuf lets one message have many
 * encodings, and lets several parsers read one encoding differently: a
 * non-repeated field given twice (last one wins, or messages merge), two
 * members of a oneof (which wins?), unknown fields (kept by some, dropped by
 * others, never seen by whoever signed), a string holding a NUL (protobuf-c
 * hands strings out as C strings, so its reader sees a shorter string than
 * a Go or Python reader does), invalid UTF-8 (refused by some parsers,
 * replaced by others), an int32 varint carrying 64 significant bits
 * (truncated by some, refused by others). Accepting only the canonical
 * encoding closes all of these at once: for such bytes every conforming
 * parser reads the same values, and re-encoding those values with
 * protobuf-c gives the same bytes back.
 *
 * Canonical, as checked here, walking the wire bytes with the message's
 * ProtobufCMessageDescriptor (not protobuf-c's unpacked, NUL-truncating
 * view):
 *   1. every field number is one the descriptor knows (no unknown fields),
 *      with the wire type protobuf-c writes for its type; no groups;
 *   2. fields appear in ascending field-number order; a non-repeated field
 *      at most once; the elements of a repeated field together; at most
 *      one member of each oneof;
 *   3. varints (tags, lengths, values) in their shortest form, at most 64
 *      bits; values in range for the type: int32 and enum either < 2^31 or
 *      the 10-byte sign extension of a negative int32 (as protobuf writes
 *      it), uint32 and sint32 < 2^32, bool 0 or 1;
 *   4. proto3 fields without presence (not in a oneof, not `optional`,
 *      not a message) are absent when they hold their default: 0, false,
 *      "", empty bytes, and 0.0 or -0.0 for float and double (protobuf-c
 *      drops -0.0 when it writes);
 *   5. repeated scalar fields packed when the descriptor says packed (the
 *      proto3 default), one non-empty run, and unpacked otherwise;
 *   6. strings are valid UTF-8 (RFC 3629: no overlong forms, no surrogates,
 *      nothing above U+10FFFF) without NUL bytes;
 *   7. nested messages are checked the same way, at most LL_PBCHECK_DEPTH
 *      levels deep.
 * Every encoder that writes fields in number order and omits proto3
 * defaults (protobuf-c, the official C++, Java, Python and Go libraries,
 * protobuf.js) produces canonical bytes, so honest clients are unaffected.
 *
 * Invariant (checked by tests/fuzz/fuzz_entry.c): when ll_pbcheck accepts
 * data, protobuf-c unpacks it without unknown fields and packing the
 * result gives data back byte for byte.
 */
#ifndef LL_PBCHECK_H
#define LL_PBCHECK_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#define LL_PBCHECK_DEPTH 32

/* Checks that data[len] is the canonical encoding (above) of a message of
 * type desc. LL_OK, or LL_ERR_INVALID with the reason in msg[cap] (always
 * NUL-terminated when cap > 0), naming the field by its path, e.g.
 * "Envelope.signatures[0].keyid: string holds a NUL byte at offset 64".
 * Reads only data; allocates nothing. */
int ll_pbcheck(const ProtobufCMessageDescriptor *desc, const uint8_t *data,
               size_t len, char *msg, size_t cap)
    __attribute__((warn_unused_result));

/* 1 if s[len] is valid UTF-8 (RFC 3629) without NUL bytes, else 0; *bad
 * (may be NULL) receives the offset of the first offending byte. */
int ll_pbcheck_utf8(const uint8_t *s, size_t len, size_t *bad);

/* 1 if m, and every message nested in it, carries no unknown fields. */
int ll_pbcheck_no_unknown(const ProtobufCMessage *m);

/* Packs m with protobuf-c and compares with data[len]: 1 if equal, 0 if
 * not, LL_ERR_NOMEM if no buffer could be had. The second reading that
 * ll_pbcheck's invariant promises to agree with. */
int ll_pbcheck_reencodes(const ProtobufCMessage *m, const uint8_t *data, size_t len);

#endif
