/*
 * ll_scratch: a resettable bump allocator that protobuf-c can unpack into.
 *
 * Why: ranking reads tens of thousands of entries per call, and unpacking
 * each EntryBody with malloc costs a malloc per sub-message and string and
 * a free_unpacked walk afterwards, more than the unpacking itself. Bodies
 * that live only while one item is evaluated are unpacked into a scratch
 * region instead and dropped all at once with ll_scratch_reset: no frees.
 *
 * Ownership: memory from the scratch stays valid until the next reset or
 * ll_scratch_free; never pass a scratch-unpacked message to
 * free_unpacked with another allocator. Not thread-safe (one per call).
 */
#ifndef LL_SCRATCH_H
#define LL_SCRATCH_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

typedef struct ll_scratch_chunk ll_scratch_chunk_t;

typedef struct ll_scratch {
    ProtobufCAllocator pb;     /* pass &s->pb to protobuf-c (unpack) */
    ll_scratch_chunk_t *head;  /* chunk being filled; older ones follow */
    ll_scratch_chunk_t *spare; /* chunks kept for reuse after a reset */
} ll_scratch_t;

/* Initializes an empty scratch (allocates nothing yet). */
void ll_scratch_init(ll_scratch_t *s);
/* 16-byte aligned memory, or NULL when out of memory. */
void *ll_scratch_alloc(ll_scratch_t *s, size_t n);
/* Drops every allocation; chunks are kept for reuse. */
void ll_scratch_reset(ll_scratch_t *s);
/* Releases everything. */
void ll_scratch_free(ll_scratch_t *s);

#endif
