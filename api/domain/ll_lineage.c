/*
 * ll_lineage: GetLineage, the typed link graph around an entry
 * (ll_lineage.h).
 *
 * The walk follows outgoing links (from the entry bodies) and incoming
 * links (the 'L' index) breadth first, keeps a visited set so a node is
 * expanded once, and stops at the requested depth or at LINEAGE_MAX_EDGES,
 * so one request's work is bounded whatever the graph.
 */
#include "ll_lineage.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ll_bytes.h"
#include "ll_err.h"
#include "ll_loop.h"
#include "ll_query.h"

#define LINEAGE_MAX_EDGES 20000

/* ---- GetLineage ---- */

typedef struct seqset {
    uint64_t *slot; /* open addressing; UINT64_MAX = empty */
    size_t cap;
} seqset_t;

static int seqset_has(const seqset_t *s, uint64_t v)
{
    size_t i = (size_t)(v * 0x9e3779b97f4a7c15ull) & (s->cap - 1);
    while (s->slot[i] != UINT64_MAX) {
        if (s->slot[i] == v)
            return 1;
        i = (i + 1) & (s->cap - 1);
    }
    return 0;
}

/* Adds v (the caller keeps the set under half full: at most max nodes in
 * a table of >= 2 * max slots). Returns 1 if it was new. */
static int seqset_add(seqset_t *s, uint64_t v)
{
    size_t i = (size_t)(v * 0x9e3779b97f4a7c15ull) & (s->cap - 1);
    while (s->slot[i] != UINT64_MAX) {
        if (s->slot[i] == v)
            return 0;
        i = (i + 1) & (s->cap - 1);
    }
    s->slot[i] = v;
    return 1;
}

typedef struct lineage {
    ll_txn_t *txn;
    seqset_t seen;
    uint64_t *nodes; /* discovery order */
    size_t n, max;
    Loopledger__V1__Edge *edges;
    size_t ne, edge_cap;
    int truncated;
    uint64_t *frontier, *next;
    size_t nf, nn;
    int err;
} lineage_t;

static int add_edge(lineage_t *g, uint64_t src, int rel, uint64_t dst)
{
    if (g->ne == LINEAGE_MAX_EDGES) {
        g->truncated = 1; /* bounded memory whatever the link counts */
        return LL_OK;
    }
    if (g->ne == g->edge_cap) {
        size_t cap = g->edge_cap ? 2 * g->edge_cap : 64;
        Loopledger__V1__Edge *e = realloc(g->edges, cap * sizeof *e);
        if (!e)
            return LL_ERR_NOMEM;
        g->edges = e;
        g->edge_cap = cap;
    }
    Loopledger__V1__Edge *e = &g->edges[g->ne++];
    loopledger__v1__edge__init(e);
    e->source = src;
    e->relation = (Loopledger__V1__Relation)rel;
    e->target = dst;
    return LL_OK;
}

/* Visits seq; returns 1 if it is new (and queued for the next hop). */
/* Keeps seq as a node if it is one already or there is room: returns 1
 * when seq is a kept node (so an edge to it may be recorded). Only kept
 * nodes enter the set, so it never holds more than max values. */
static int visit(lineage_t *g, uint64_t seq)
{
    if (seqset_has(&g->seen, seq))
        return 1;
    if (g->n == g->max) {
        g->truncated = 1;
        return 0;
    }
    seqset_add(&g->seen, seq);
    g->nodes[g->n++] = seq;
    g->next[g->nn++] = seq;
    return 1;
}

static int forward_cb(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    lineage_t *g = ctx;
    (void)klen;
    (void)val;
    (void)vlen;
    /* L target8 relation u8 source8 */
    uint64_t tgt = ll_get_be64(key + 1), src = ll_get_be64(key + 10);
    if (!visit(g, src))
        return 1; /* no room: the walk is truncated */
    if ((g->err = add_edge(g, src, key[9], tgt)))
        return g->err;
    return 0;
}

int ll_lineage_get(ll_txn_t *txn, ll_arena_t *a, const Loopledger__V1__GetLineageRequest *r,
                     Loopledger__V1__Lineage **out, char *msg, size_t cap)
{
    lineage_t g = {.txn = txn};
    int err = LL_OK;
    size_t max = r->max_nodes ? r->max_nodes : 500;

    if (r->max_nodes > 5000)
        LL_FAIL(LL_ERR_INVALID, "max_nodes %u exceeds 5000", r->max_nodes);
    if (r->back_hops > 64 || r->forward_hops > 64)
        LL_FAIL(LL_ERR_INVALID, "at most 64 hops each way");
    if (r->seq >= ll_store_size(txn))
        LL_FAIL(LL_ERR_NOT_FOUND, "no entry %" PRIu64 " (the ledger has %" PRIu64 ")", r->seq,
             ll_store_size(txn));
    g.max = max;
    for (g.seen.cap = 16; g.seen.cap < 2 * max; g.seen.cap *= 2)
        ;
    g.seen.slot = malloc(g.seen.cap * sizeof *g.seen.slot);
    g.nodes = malloc(max * sizeof *g.nodes);
    g.frontier = malloc(max * sizeof *g.frontier);
    g.next = malloc(max * sizeof *g.next);
    if (!g.seen.slot || !g.nodes || !g.frontier || !g.next) {
        err = LL_ERR_NOMEM;
        goto out;
    }
    memset(g.seen.slot, 0xff, g.seen.cap * sizeof *g.seen.slot);

    /* Two walks from the root: back along each entry's own links, forward
     * along the incoming-link index. */
    for (int dir = 0; dir < 2 && !err; dir++) {
        unsigned hops = dir == 0 ? r->back_hops : r->forward_hops;
        g.nf = 0;
        g.nn = 0;
        if (dir == 0) {
            visit(&g, r->seq);
        } else {
            g.next[g.nn++] = r->seq;
        }
        for (unsigned h = 0; h < hops && !err; h++) {
            uint64_t *t = g.frontier;
            g.frontier = g.next;
            g.next = t;
            g.nf = g.nn;
            g.nn = 0;
            for (size_t i = 0; i < g.nf && !err; i++) {
                uint64_t s = g.frontier[i];
                if (dir == 0) {
                    Loopledger__V1__EntryBody *b;
                    if ((err = ll_entry_load_body(txn, s, &b)))
                        break;
                    for (size_t j = 0; j < b->n_links && !err; j++)
                        if (visit(&g, b->links[j]->target_seq))
                            err = add_edge(&g, s, b->links[j]->relation,
                                           b->links[j]->target_seq);
                    loopledger__v1__entry_body__free_unpacked(b, NULL);
                } else {
                    uint8_t prefix[9] = {LL_IX_LINK_IN};
                    ll_put_be64(prefix + 1, s);
                    err = ll_store_scan(txn, LL_TBL_INDEX, prefix, 9, NULL, 0, 0, forward_cb, &g);
                    if (!err)
                        err = g.err;
                }
            }
        }
    }
    if (err)
        goto out;

    Loopledger__V1__Lineage *L = ll_arena_alloc(a, sizeof *L);
    if (!L) {
        err = LL_ERR_NOMEM;
        goto out;
    }
    loopledger__v1__lineage__init(L);
    L->root = r->seq;
    L->truncated = g.truncated;
    /* Nodes in sequence order. */
    for (size_t i = 1; i < g.n; i++)
        for (size_t j = i; j > 0 && g.nodes[j - 1] > g.nodes[j]; j--) {
            uint64_t t = g.nodes[j];
            g.nodes[j] = g.nodes[j - 1];
            g.nodes[j - 1] = t;
        }
    L->nodes = ll_arena_alloc(a, (g.n ? g.n : 1) * sizeof *L->nodes);
    L->edges = ll_arena_alloc(a, (g.ne ? g.ne : 1) * sizeof *L->edges);
    if (!L->nodes || !L->edges) {
        err = LL_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < g.n; i++)
        if ((err = ll_query_ref(txn, a, g.nodes[i], &L->nodes[L->n_nodes++])))
            goto out;
    /* Edges are kept only between returned nodes (a truncated walk may
     * have seen a link to a node it could not take). */
    Loopledger__V1__Edge *earr = ll_arena_alloc(a, (g.ne ? g.ne : 1) * sizeof *earr);
    if (!earr) {
        err = LL_ERR_NOMEM;
        goto out;
    }
    /* Edges are recorded only between kept nodes (visit()). */
    for (size_t i = 0; i < g.ne; i++) {
        earr[L->n_edges] = g.edges[i];
        L->edges[L->n_edges] = &earr[L->n_edges];
        L->n_edges++;
    }
    *out = L;
out:
    free(g.seen.slot);
    free(g.nodes);
    free(g.frontier);
    free(g.next);
    free(g.edges);
    if (err)
        LL_FAIL(err, "lineage of %" PRIu64 ": %s", r->seq, ll_strerror(err));
    return LL_OK;
}

