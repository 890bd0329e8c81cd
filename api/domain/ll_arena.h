/*
 * ll_arena: a per-request bump allocator. A query builds a response tree of
 * many small protobuf-c objects; allocating them from one arena makes the
 * whole answer one free, and an allocation failure one check at the end.
 */
#ifndef LL_ARENA_H
#define LL_ARENA_H

#include <stddef.h>

typedef struct ll_arena_chunk ll_arena_chunk_t;

typedef struct ll_arena {
    ll_arena_chunk_t *head;
    int failed; /* sticky: some allocation returned NULL */
} ll_arena_t;

#define LL_ARENA_INIT {NULL, 0}

/* Zeroed, 16-byte aligned memory valid until ll_arena_free; NULL (and
 * failed set) when out of memory. */
void *ll_arena_alloc(ll_arena_t *a, size_t n);
/* Copy of s (NUL-terminated) in the arena. */
char *ll_arena_strdup(ll_arena_t *a, const char *s);
/* Frees every allocation. */
void ll_arena_free(ll_arena_t *a);

#endif
