/*
 * ll_roadmap_memo: Prioritize answered from memory when the same request
 * was ranked at the same tree head (ll_memo.h).
 *
 * Why the whole answer can be remembered: ranking reads only entries
 * below the size it answers at, and its "now" (the decay's as-of time) is
 * the server time of the last of those entries, never the clock; so the
 * packed response is a pure function of (request, size, content). A
 * ranking evaluates every project's evidence (experiment readouts over
 * thousands of measurements), the costliest read the console makes, and
 * the console asks the same question at the same size again and again.
 *
 * Kept apart from ll_roadmap.c so the ranking rules and the remembering
 * change independently.
 */
#include <protobuf-c/protobuf-c.h>
#include <stdlib.h>

#include "ll_err.h"
#include "ll_memo.h"
#include "ll_roadmap.h"

static void *arena_pb_alloc(void *data, size_t n)
{
    return ll_arena_alloc(data, n);
}

static void arena_pb_free(void *data, void *p)
{
    (void)data, (void)p; /* freed with the arena */
}

int ll_roadmap_prioritize(ll_txn_t *txn, ll_arena_t *a,
                          const Loopledger__V1__PrioritizeRequest *r,
                          Loopledger__V1__PrioritizeResponse **out, char *msg, size_t cap)
{
    uint8_t q[LL_MEMO_KEY_MAX];
    uint64_t size = ll_store_size(txn);
    ll_memo_key_t *k = NULL;
    uint8_t *v = NULL;
    size_t vlen;
    int err;

    /* A request too large to be a key (only an invalid one can be) is
     * simply answered live. A page token pins its own size, so such
     * requests are keyed by the transaction's size: correct, if less often
     * shared. */
    size_t qlen = loopledger__v1__prioritize_request__get_packed_size(r);
    if (qlen > sizeof q || !(k = malloc(sizeof *k)))
        goto live;
    loopledger__v1__prioritize_request__pack(r, q);
    uint64_t n = r->as_of_size && r->as_of_size <= size && !r->page_token[0] ? r->as_of_size : size;
    if (ll_memo_key(txn, n, "prioritize", q, qlen, k)) {
        free(k);
        k = NULL;
        goto live;
    }
    if (ll_memo_get(k, &v, &vlen) == LL_OK) {
        ProtobufCAllocator pa = {arena_pb_alloc, arena_pb_free, a};
        Loopledger__V1__PrioritizeResponse *resp =
            loopledger__v1__prioritize_response__unpack(&pa, vlen, v);
        free(v);
        if (resp && !a->failed) {
            free(k);
            *out = resp;
            return LL_OK;
        }
        /* Out of memory: the live path reports it precisely. */
    }
live:
    err = ll_roadmap_prioritize_live(txn, a, r, out, msg, cap);
    if (!err && k) {
        size_t plen = loopledger__v1__prioritize_response__get_packed_size(*out);
        if ((v = malloc(plen ? plen : 1))) {
            loopledger__v1__prioritize_response__pack(*out, v);
            ll_memo_put(k, v, plen);
            free(v);
        }
    }
    free(k);
    return err;
}
