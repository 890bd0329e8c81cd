/*
 * ll_scratch: resettable bump allocator for protobuf-c (ll_scratch.h).
 */
#include "ll_scratch.h"

#include <stdlib.h>

#define CHUNK (64 * 1024)

struct ll_scratch_chunk {
    ll_scratch_chunk_t *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
};

static void *pb_alloc(void *ctx, size_t n)
{
    return ll_scratch_alloc(ctx, n);
}

static void pb_free(void *ctx, void *p)
{
    (void)ctx;
    (void)p; /* released by ll_scratch_reset */
}

void ll_scratch_init(ll_scratch_t *s)
{
    s->pb.alloc = pb_alloc;
    s->pb.free = pb_free;
    s->pb.allocator_data = s;
    s->head = NULL;
    s->spare = NULL;
}

void *ll_scratch_alloc(ll_scratch_t *s, size_t n)
{
    ll_scratch_chunk_t *c = s->head;
    n = (n + 15) & ~(size_t)15;
    if (!c || c->cap - c->used < n) {
        if (n <= CHUNK && s->spare) {
            c = s->spare;
            s->spare = c->next;
        } else {
            size_t cap = n > CHUNK ? n : CHUNK;
            if (!(c = malloc(sizeof *c + cap)))
                return NULL;
            c->cap = cap;
        }
        c->used = 0;
        c->next = s->head;
        s->head = c;
    }
    void *p = c->data + c->used;
    c->used += n;
    return p;
}

void ll_scratch_reset(ll_scratch_t *s)
{
    while (s->head) {
        ll_scratch_chunk_t *c = s->head;
        s->head = c->next;
        if (c->cap == CHUNK) {
            c->next = s->spare;
            s->spare = c;
        } else {
            free(c); /* an oversized one-off */
        }
    }
}

void ll_scratch_free(ll_scratch_t *s)
{
    ll_scratch_reset(s);
    while (s->spare) {
        ll_scratch_chunk_t *c = s->spare;
        s->spare = c->next;
        free(c);
    }
}
