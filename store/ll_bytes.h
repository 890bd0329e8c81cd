/*
 * ll_bytes: the byte-level encodings every record and wire walker shares:
 * big-endian (records, keys) and little-endian (log files) fixed-width
 * integers and protobuf base-128 varints.
 *
 * Why one header: these helpers existed as private copies in four files
 * (ll_store.c, ll_ledger.c, ll_audit.c, ll_loop.c) and three varint
 * readers; a record written by one copy and read by another is only right
 * while the copies agree. Header-only (static inline) because they sit in
 * the innermost loops of index scans and leaf parsing.
 *
 * Contracts: the put functions write exactly 4, 8 or (varint) 1..10 bytes
 * and never fail; the caller provides the room. ll_get_varint reads at most
 * 10 bytes and never past end.
 */
#ifndef LL_BYTES_H
#define LL_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ll_err.h"

/* Longest varint of a uint64_t. */
#define LL_VARINT_MAX 10

static inline void ll_put_be32(uint8_t *out, uint32_t v)
{
    out[0] = (uint8_t)(v >> 24);
    out[1] = (uint8_t)(v >> 16);
    out[2] = (uint8_t)(v >> 8);
    out[3] = (uint8_t)v;
}

static inline uint32_t ll_get_be32(const uint8_t *in)
{
    return (uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 | (uint32_t)in[2] << 8 | in[3];
}

static inline void ll_put_be64(uint8_t *out, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        out[i] = (uint8_t)v;
}

static inline uint64_t ll_get_be64(const uint8_t *in)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | in[i];
    return v;
}

/* Little-endian: the write-ahead log's and the synced state's file
 * formats (ll_wal.h, ll_syncpt.h). */
static inline void ll_put_le32(uint8_t *out, uint32_t v)
{
    for (int i = 0; i < 4; i++, v >>= 8)
        out[i] = (uint8_t)v;
}

static inline uint32_t ll_get_le32(const uint8_t *in)
{
    return (uint32_t)in[0] | (uint32_t)in[1] << 8 | (uint32_t)in[2] << 16 |
           (uint32_t)in[3] << 24;
}

static inline void ll_put_le64(uint8_t *out, uint64_t v)
{
    for (int i = 0; i < 8; i++, v >>= 8)
        out[i] = (uint8_t)v;
}

static inline uint64_t ll_get_le64(const uint8_t *in)
{
    return (uint64_t)ll_get_le32(in) | (uint64_t)ll_get_le32(in + 4) << 32;
}

/* IEEE 754 binary64 as its bit pattern, big-endian (the byte order of the
 * double is then the same on every machine). */
static inline void ll_put_be_double(uint8_t *out, double d)
{
    uint64_t v;
    memcpy(&v, &d, sizeof v);
    ll_put_be64(out, v);
}

static inline double ll_get_be_double(const uint8_t *in)
{
    uint64_t v = ll_get_be64(in);
    double d;
    memcpy(&d, &v, sizeof d);
    return d;
}

/* Writes v as a varint at p; returns the bytes written (1..10). */
static inline size_t ll_put_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

/* Reads a varint at *p (< end) into *v and advances *p past it. LL_OK, or
 * LL_ERR_INVALID if it is truncated or longer than 10 bytes (then *p and
 * *v are unspecified). */
static inline int ll_get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    uint64_t x = 0;
    for (unsigned shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return LL_OK;
        }
    }
    return LL_ERR_INVALID;
}

#endif
