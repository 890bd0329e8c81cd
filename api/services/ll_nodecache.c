/*
 * ll_nodecache: cached upper Merkle levels (ll_nodecache.h).
 *
 * Layout: per level a directory of chunk pointers, each chunk
 * CHUNK_SLOTS slots allocated on first use (CAS-installed; the loser frees
 * its copy). A slot is EMPTY, FILLING (one thread won the right to write
 * it) or READY (hash valid, published with release order).
 */
#include "ll_nodecache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "ll_err.h"
#include "ll_merkle.h"

#define CHUNK_BITS 12
#define CHUNK_SLOTS (UINT64_C(1) << CHUNK_BITS)
#define DIR_SLOTS (LL_NODECACHE_MAX_INDEX >> CHUNK_BITS)

enum { SLOT_EMPTY, SLOT_FILLING, SLOT_READY };

typedef struct slot {
    uint8_t hash[LL_HASH_LEN];
    atomic_uchar state;
} slot_t;

struct ll_nodecache {
    unsigned min_level;
    _Atomic(slot_t *) dir[LL_MERKLE_MAX_DEPTH][DIR_SLOTS];
    pthread_mutex_t root_lock;
    ll_merkle_edge_t edge; /* of the largest size asked for; size 0: none */
};

int ll_nodecache_create(unsigned min_level, ll_nodecache_t **out)
{
    ll_nodecache_t *nc = calloc(1, sizeof *nc);
    if (!nc)
        return LL_ERR_NOMEM;
    nc->min_level = min_level;
    pthread_mutex_init(&nc->root_lock, NULL);
    *out = nc;
    return LL_OK;
}

void ll_nodecache_free(ll_nodecache_t *nc)
{
    if (!nc)
        return;
    for (unsigned l = 0; l < LL_MERKLE_MAX_DEPTH; l++)
        for (uint64_t d = 0; d < DIR_SLOTS; d++)
            free(atomic_load(&nc->dir[l][d]));
    pthread_mutex_destroy(&nc->root_lock);
    free(nc);
}

/* The slot of (level, index), allocating its chunk; NULL if not cached. */
static slot_t *slot_of(ll_nodecache_t *nc, unsigned level, uint64_t index)
{
    if (level < nc->min_level || level >= LL_MERKLE_MAX_DEPTH ||
        index >= LL_NODECACHE_MAX_INDEX)
        return NULL;
    _Atomic(slot_t *) *d = &nc->dir[level][index >> CHUNK_BITS];
    slot_t *chunk = atomic_load_explicit(d, memory_order_acquire);
    if (!chunk) {
        slot_t *fresh = calloc(CHUNK_SLOTS, sizeof *fresh), *expected = NULL;
        if (!fresh)
            return NULL;
        if (atomic_compare_exchange_strong_explicit(d, &expected, fresh, memory_order_acq_rel,
                                                    memory_order_acquire)) {
            chunk = fresh;
        } else {
            free(fresh);
            chunk = expected;
        }
    }
    return &chunk[index & (CHUNK_SLOTS - 1)];
}

int ll_nodecache_node_fn(void *ctx, unsigned level, uint64_t index,
                         uint8_t out[LL_HASH_LEN])
{
    ll_nodecache_read_t *r = ctx;
    slot_t *s = slot_of(r->nc, level, index);
    if (s && atomic_load_explicit(&s->state, memory_order_acquire) == SLOT_READY) {
        memcpy(out, s->hash, LL_HASH_LEN);
        return LL_OK;
    }
    int err = ll_store_node(r->txn, level, index, out);
    unsigned char empty = SLOT_EMPTY;
    if (!err && s &&
        atomic_compare_exchange_strong_explicit(&s->state, &empty, SLOT_FILLING,
                                                memory_order_acquire, memory_order_relaxed)) {
        memcpy(s->hash, out, LL_HASH_LEN);
        atomic_store_explicit(&s->state, SLOT_READY, memory_order_release);
    }
    return err;
}

int ll_nodecache_edge(ll_nodecache_read_t *r, uint64_t size, ll_merkle_edge_t *out)
{
    ll_nodecache_t *nc = r->nc;
    if (size == 0 || size > ll_store_size(r->txn))
        return LL_ERR_RANGE;
    pthread_mutex_lock(&nc->root_lock);
    int hit = nc->edge.size == size;
    if (hit)
        *out = nc->edge;
    pthread_mutex_unlock(&nc->root_lock);
    if (hit)
        return LL_OK;
    int err = ll_merkle_edge_load(ll_nodecache_node_fn, r, size, out);
    if (err)
        return err;
    pthread_mutex_lock(&nc->root_lock);
    /* Keep the larger: readers mostly ask for the latest size. */
    if (size > nc->edge.size)
        nc->edge = *out;
    pthread_mutex_unlock(&nc->root_lock);
    return LL_OK;
}

int ll_nodecache_root(ll_nodecache_read_t *r, uint64_t size, uint8_t out[LL_HASH_LEN])
{
    ll_merkle_edge_t edge;
    if (size == 0)
        return ll_merkle_root(ll_nodecache_node_fn, r, 0, out); /* the empty root */
    int err = ll_nodecache_edge(r, size, &edge);
    if (err)
        return err;
    ll_merkle_edge_root(&edge, out);
    return LL_OK;
}
