/*
 * ll_arena: chunked bump allocation (ll_arena.h). Chunks grow to fit large
 * requests; nothing is ever freed individually.
 */
#include "ll_arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK 16384

struct ll_arena_chunk {
    ll_arena_chunk_t *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
};

void *ll_arena_alloc(ll_arena_t *a, size_t n)
{
    ll_arena_chunk_t *c = a->head;
    n = (n + 15) & ~(size_t)15;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > CHUNK ? n : CHUNK;
        c = malloc(sizeof *c + cap);
        if (!c) {
            a->failed = 1;
            return NULL;
        }
        c->used = 0;
        c->cap = cap;
        c->next = a->head;
        a->head = c;
    }
    void *p = c->data + c->used;
    c->used += n;
    memset(p, 0, n);
    return p;
}

char *ll_arena_strdup(ll_arena_t *a, const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = ll_arena_alloc(a, n);
    if (p)
        memcpy(p, s, n);
    return p;
}

void ll_arena_free(ll_arena_t *a)
{
    while (a->head) {
        ll_arena_chunk_t *n = a->head->next;
        free(a->head);
        a->head = n;
    }
    a->failed = 0;
}
