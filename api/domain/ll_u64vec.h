/*
 * ll_u64vec: a growable array of uint64_t (sequence numbers, mostly), for
 * the queries that collect an unknown number of them in one pass.
 *
 * Why one header: ll_initiative (open loops per category) and ll_roadmap
 * (the evidence pool) each had a private copy of the same push-and-double
 * code. Header-only (static inline) because pushes sit in index scans.
 *
 * Ownership: a zeroed ll_u64vec_t is empty and owns nothing; after pushes
 * v is malloc'd and the owner releases it with free(v). On LL_ERR_NOMEM
 * the vector is unchanged (still valid, still owned).
 */
#ifndef LL_U64VEC_H
#define LL_U64VEC_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "ll_err.h"

typedef struct ll_u64vec {
    uint64_t *v;
    size_t n, cap;
} ll_u64vec_t;

/* Appends x: LL_OK, or LL_ERR_NOMEM. Capacity doubles from 16, so n
 * pushes cost O(n) copies in all. */
static inline int ll_u64vec_push(ll_u64vec_t *s, uint64_t x)
{
    if (s->n == s->cap) {
        size_t ncap = s->cap ? 2 * s->cap : 16;
        uint64_t *p = realloc(s->v, ncap * sizeof *p);
        if (!p)
            return LL_ERR_NOMEM;
        s->v = p;
        s->cap = ncap;
    }
    s->v[s->n++] = x;
    return LL_OK;
}

#endif
