/*
 * ll_peers: counters keyed by a string (ll_peers.h).
 *
 * A fixed array of chained buckets: the number of keys is bounded by the
 * caps it serves (connections), so the chains stay short without
 * resizing, and a lookup never allocates unless a new key appears.
 */
#include "ll_peers.h"

#include <assert.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ll_err.h"

#define LL_PEERS_BUCKETS 4096

typedef struct ll_peer {
    struct ll_peer *next;
    unsigned count, refused;
    size_t len;
    char key[];
} ll_peer_t;

struct ll_peers {
    pthread_mutex_t lock;
    unsigned keys;
    ll_peer_t *bucket[LL_PEERS_BUCKETS];
};

static size_t peers_hash(const char *key, size_t len)
{
    /* FNV-1a: keys are chosen by the network, but a collision only makes a
     * chain longer, never merges two counts. */
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)key[i];
        h *= 1099511628211ull;
    }
    return (size_t)(h % LL_PEERS_BUCKETS);
}

int ll_peers_create(ll_peers_t **out)
{
    ll_peers_t *p = calloc(1, sizeof *p);
    if (!p)
        return LL_ERR_NOMEM;
    pthread_mutex_init(&p->lock, NULL);
    *out = p;
    return LL_OK;
}

void ll_peers_free(ll_peers_t *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < LL_PEERS_BUCKETS; i++) {
        ll_peer_t *e = p->bucket[i];
        while (e) {
            ll_peer_t *next = e->next;
            free(e);
            e = next;
        }
    }
    pthread_mutex_destroy(&p->lock);
    free(p);
}

static ll_peer_t **peers_find(ll_peers_t *p, const char *key, size_t len)
{
    ll_peer_t **e = &p->bucket[peers_hash(key, len)];
    while (*e && !((*e)->len == len && !memcmp((*e)->key, key, len)))
        e = &(*e)->next;
    return e;
}

int ll_peers_acquire(ll_peers_t *p, const char *key, size_t len, unsigned limit,
                     unsigned *count, unsigned *refused)
{
    int rc;
    pthread_mutex_lock(&p->lock);
    ll_peer_t **e = peers_find(p, key, len);
    if (!*e) {
        ll_peer_t *n = malloc(sizeof *n + len);
        if (!n) {
            rc = -1;
            if (count)
                *count = 0;
            if (refused)
                *refused = 0;
            goto out;
        }
        n->next = NULL;
        n->count = 0;
        n->refused = 0;
        n->len = len;
        memcpy(n->key, key, len);
        *e = n;
        p->keys++;
    }
    if (limit && (*e)->count >= limit) {
        (*e)->refused++;
        rc = 0;
    } else {
        (*e)->count++;
        rc = 1;
    }
    if (count)
        *count = (*e)->count;
    if (refused)
        *refused = (*e)->refused;
out:
    pthread_mutex_unlock(&p->lock);
    return rc;
}

void ll_peers_release(ll_peers_t *p, const char *key, size_t len)
{
    pthread_mutex_lock(&p->lock);
    ll_peer_t **e = peers_find(p, key, len);
    assert(*e && (*e)->count > 0);
    if (*e && --(*e)->count == 0) {
        ll_peer_t *dead = *e;
        *e = dead->next;
        free(dead);
        p->keys--;
    }
    pthread_mutex_unlock(&p->lock);
}

unsigned ll_peers_keys(ll_peers_t *p)
{
    pthread_mutex_lock(&p->lock);
    unsigned n = p->keys;
    pthread_mutex_unlock(&p->lock);
    return n;
}
