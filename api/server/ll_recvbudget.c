/*
 * ll_recvbudget: the receive budget (ll_recvbudget.h). Each lane keeps two
 * intrusive lists through the callers' slots, oldest first: the waiting
 * calls and the reading ones.
 */
#include "ll_recvbudget.h"

#include <pthread.h>
#include <stdlib.h>

#include "ll_err.h"

typedef struct ll_recvbudget_lane {
    unsigned reads;
    ll_recvbudget_slot_t *wait, **wait_tail;
    ll_recvbudget_slot_t *reading, **reading_tail;
} ll_recvbudget_lane_t;

struct ll_recvbudget {
    pthread_mutex_t lock;
    unsigned max_reads;
    long stale_ms;
    ll_recvbudget_hold_fn hold;
    int closed;
    ll_recvbudget_lane_t lanes[LL_RECVBUDGET_LANES];
};

static void slot_add(ll_recvbudget_slot_t ***tail, ll_recvbudget_slot_t *s)
{
    s->next = NULL;
    s->prev = *tail;
    **tail = s;
    *tail = &s->next;
}

static void slot_del(ll_recvbudget_slot_t ***tail, ll_recvbudget_slot_t *s)
{
    *s->prev = s->next;
    if (s->next)
        s->next->prev = s->prev;
    else
        *tail = s->prev;
}

static long ms_since(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - t->tv_sec) * 1000L + (now.tv_nsec - t->tv_nsec) / 1000000L;
}

int ll_recvbudget_create(unsigned max_reads, long stale_ms, ll_recvbudget_hold_fn hold,
                         ll_recvbudget_t **out)
{
    ll_recvbudget_t *b = calloc(1, sizeof *b);
    if (!b)
        return LL_ERR_NOMEM;
    pthread_mutex_init(&b->lock, NULL);
    b->max_reads = max_reads ? max_reads : 1;
    b->stale_ms = stale_ms;
    b->hold = hold;
    for (int k = 0; k < LL_RECVBUDGET_LANES; k++) {
        b->lanes[k].wait_tail = &b->lanes[k].wait;
        b->lanes[k].reading_tail = &b->lanes[k].reading;
    }
    *out = b;
    return LL_OK;
}

void ll_recvbudget_free(ll_recvbudget_t *b)
{
    if (b)
        pthread_mutex_destroy(&b->lock);
    free(b);
}

int ll_recvbudget_enter(ll_recvbudget_t *b, unsigned lane, ll_recvbudget_slot_t *s,
                        ll_recvbudget_slot_t **stale)
{
    ll_recvbudget_lane_t *l = &b->lanes[lane];
    int now = 0;
    *stale = NULL;
    pthread_mutex_lock(&b->lock);
    if (b->closed) {
        pthread_mutex_unlock(&b->lock);
        return LL_ERR_UNAVAILABLE;
    }
    if (l->reads < b->max_reads) {
        l->reads++;
        s->state = 2;
        clock_gettime(CLOCK_MONOTONIC, &s->start);
        slot_add(&l->reading_tail, s);
        now = 1;
    } else {
        s->state = 1;
        slot_add(&l->wait_tail, s);
        ll_recvbudget_slot_t *old = l->reading;
        if (old && ms_since(&old->start) > b->stale_ms && !old->cancelled) {
            old->cancelled = 1;
            b->hold(old);
            *stale = old;
        }
    }
    pthread_mutex_unlock(&b->lock);
    return now;
}

ll_recvbudget_slot_t *ll_recvbudget_leave(ll_recvbudget_t *b, unsigned lane,
                                          ll_recvbudget_slot_t *s)
{
    ll_recvbudget_lane_t *l = &b->lanes[lane];
    ll_recvbudget_slot_t *next = NULL;
    pthread_mutex_lock(&b->lock);
    if (s->state == 2) {
        slot_del(&l->reading_tail, s);
        s->state = 0;
        if (l->wait && !b->closed) {
            /* The budget passes on without going back to the pool, so a
             * waiting call cannot be overtaken by a newcomer. */
            next = l->wait;
            slot_del(&l->wait_tail, next);
            next->state = 2;
            clock_gettime(CLOCK_MONOTONIC, &next->start);
            slot_add(&l->reading_tail, next);
        } else {
            l->reads--;
        }
    }
    pthread_mutex_unlock(&b->lock);
    return next;
}

ll_recvbudget_slot_t *ll_recvbudget_close(ll_recvbudget_t *b)
{
    ll_recvbudget_slot_t *all = NULL, **tail = &all;
    pthread_mutex_lock(&b->lock);
    b->closed = 1;
    for (int k = 0; k < LL_RECVBUDGET_LANES; k++) {
        ll_recvbudget_lane_t *l = &b->lanes[k];
        for (ll_recvbudget_slot_t *s = l->wait; s; s = s->next)
            s->state = 0;
        if (l->wait) {
            *tail = l->wait;
            l->wait->prev = tail;
            tail = l->wait_tail;
        }
        l->wait = NULL;
        l->wait_tail = &l->wait;
    }
    pthread_mutex_unlock(&b->lock);
    return all;
}
