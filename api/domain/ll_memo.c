/*
 * ll_memo: remembered answers by tree head (ll_memo.h has the why).
 *
 * A plain array searched linearly under one mutex: at most
 * LL_MEMO_MAX_ENTRIES slots, compared by a 64-bit hash first, so a lookup
 * costs far less than the smallest query it saves (tens of microseconds
 * against milliseconds), and the code stays obviously correct. The least
 * recently used slot (lowest tick) makes room.
 */
#include "ll_memo.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "ll_bytes.h"
#include "ll_err.h"

typedef struct slot {
    uint8_t *key; /* key bytes, then the value: one allocation */
    size_t klen, vlen;
    uint64_t hash, tick;
} slot_t;

static pthread_mutex_t memo_lock = PTHREAD_MUTEX_INITIALIZER;
static slot_t memo_slots[LL_MEMO_MAX_ENTRIES];
static size_t memo_used, memo_bytes;
static uint64_t memo_tick;
static atomic_int memo_off;
static atomic_uint_fast64_t memo_hits, memo_misses;

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
    uint64_t h = 14695981039346656037ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

int ll_memo_key(ll_txn_t *txn, uint64_t n, const char *what, const void *q, size_t qlen,
                ll_memo_key_t *out)
{
    size_t wl = strlen(what);
    int err;
    if (wl > 15 || qlen > LL_MEMO_KEY_MAX)
        return LL_ERR_INVALID;
    if (n > ll_store_size(txn))
        return LL_ERR_RANGE;
    memset(out->b, 0, 16);
    memcpy(out->b, what, wl);
    ll_put_be64(out->b + 16, n);
    if (n == 0)
        memset(out->b + 24, 0, 32); /* no leaves, one ledger state */
    else if ((err = ll_store_root(txn, n, out->b + 24)))
        return err;
    if (qlen)
        memcpy(out->b + 56, q, qlen);
    out->len = 56 + qlen;
    out->hash = fnv1a(out->b, out->len);
    return LL_OK;
}

/* Under memo_lock: the slot holding k, or NULL. */
static slot_t *find(const ll_memo_key_t *k)
{
    for (size_t i = 0; i < memo_used; i++) {
        slot_t *s = &memo_slots[i];
        if (s->hash == k->hash && s->klen == k->len && !memcmp(s->key, k->b, k->len))
            return s;
    }
    return NULL;
}

/* Under memo_lock: frees slot i and moves the last slot into its place. */
static void drop(size_t i)
{
    memo_bytes -= memo_slots[i].klen + memo_slots[i].vlen;
    free(memo_slots[i].key);
    memo_slots[i] = memo_slots[--memo_used];
    memset(&memo_slots[memo_used], 0, sizeof memo_slots[memo_used]);
}

static void drop_oldest(void)
{
    size_t old = 0;
    for (size_t i = 1; i < memo_used; i++)
        if (memo_slots[i].tick < memo_slots[old].tick)
            old = i;
    drop(old);
}

int ll_memo_get(const ll_memo_key_t *k, uint8_t **val, size_t *vlen)
{
    int err = LL_ERR_NOT_FOUND;
    if (atomic_load(&memo_off))
        return LL_ERR_NOT_FOUND;
    pthread_mutex_lock(&memo_lock);
    slot_t *s = find(k);
    if (s) {
        uint8_t *v = malloc(s->vlen ? s->vlen : 1);
        if (!v) {
            err = LL_ERR_NOMEM;
        } else {
            memcpy(v, s->key + s->klen, s->vlen);
            s->tick = ++memo_tick;
            *val = v;
            *vlen = s->vlen;
            err = LL_OK;
        }
    }
    pthread_mutex_unlock(&memo_lock);
    atomic_fetch_add(err == LL_OK ? &memo_hits : &memo_misses, 1);
    return err;
}

void ll_memo_put(const ll_memo_key_t *k, const void *val, size_t vlen)
{
    size_t need = k->len + vlen;
    if (atomic_load(&memo_off) || need > LL_MEMO_MAX_BYTES / 4)
        return;
    uint8_t *b = malloc(need);
    if (!b)
        return;
    memcpy(b, k->b, k->len);
    memcpy(b + k->len, val, vlen);
    pthread_mutex_lock(&memo_lock);
    slot_t *s = find(k);
    if (s) /* computed twice concurrently: the answers are equal */
        drop((size_t)(s - memo_slots));
    while (memo_used && (memo_used == LL_MEMO_MAX_ENTRIES || memo_bytes + need > LL_MEMO_MAX_BYTES))
        drop_oldest();
    memo_slots[memo_used++] = (slot_t){b, k->len, vlen, k->hash, ++memo_tick};
    memo_bytes += need;
    pthread_mutex_unlock(&memo_lock);
}

void ll_memo_enable(int on)
{
    atomic_store(&memo_off, !on);
}

void ll_memo_counts(uint64_t *hits, uint64_t *misses)
{
    *hits = atomic_load(&memo_hits);
    *misses = atomic_load(&memo_misses);
}
