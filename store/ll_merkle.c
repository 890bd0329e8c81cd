/*
 * ll_merkle: RFC 9162 section 2.1 Merkle trees over a store of complete,
 * aligned subtrees (ll_merkle.h).
 *
 * Why only complete aligned subtrees are stored: they never change once
 * written, so the store is append-only and a node fetched for one tree size
 * is valid for every larger size. Every hash the RFC recursion needs for an
 * incomplete right edge decomposes, by the binary digits of its length,
 * into at most 64 such nodes; recomputing those is cheap, whereas storing
 * them would mean rewriting the right edge on every append.
 *
 * Why the proof builders walk the RFC recursion top-down and then reverse:
 * RFC 9162 defines PATH and SUBPROOF recursively with the deepest hash
 * first. Walking down iteratively and emitting in reverse gives the same
 * order with bounded stack use and without recursion on attacker-chosen
 * sizes.
 *
 * Why the verifiers follow RFC 9162 2.1.3.2 and 2.1.4.2 step by step rather
 * than recomputing the tree shape: the RFC algorithms are what other
 * implementations (and auditors) check against, including the subtle
 * requirements that the proof is consumed exactly and sn ends at 0.
 */
#include "ll_merkle.h"

#include <stdlib.h>
#include <string.h>

#include "ll_err.h"

/* Upper bound on leaves hashed from the stack; larger leaves are copied to
 * the heap because ll_sha256 is one-shot and the prefix must be contiguous. */
#define LEAF_STACK_MAX 512

/* A half-open leaf range [start, end). */
typedef struct range {
    uint64_t start, end;
} range_t;

static unsigned floor_log2(uint64_t x)
{
    return 63u - (unsigned)__builtin_clzll(x);
}

/* RFC 9162 split point: the largest power of two strictly below n (n >= 2). */
static uint64_t split_point(uint64_t n)
{
    return UINT64_C(1) << floor_log2(n - 1);
}

void ll_merkle_leaf_hash(const void *leaf, size_t len, uint8_t out[LL_HASH_LEN])
{
    uint8_t small[1 + LEAF_STACK_MAX];
    uint8_t *buf = small;

    if (len > LEAF_STACK_MAX) {
        /* The signature cannot report failure, and a wrong leaf hash would
         * silently corrupt the log; like ll_sha256, treat OOM as fatal. */
        if (len == SIZE_MAX || !(buf = malloc(len + 1)))
            abort();
    }
    buf[0] = 0x00;
    if (len)
        memcpy(buf + 1, leaf, len);
    ll_sha256(buf, len + 1, out);
    if (buf != small)
        free(buf);
}

void ll_merkle_node_hash(const uint8_t left[LL_HASH_LEN],
                         const uint8_t right[LL_HASH_LEN],
                         uint8_t out[LL_HASH_LEN])
{
    uint8_t buf[1 + 2 * LL_HASH_LEN];

    buf[0] = 0x01;
    memcpy(buf + 1, left, LL_HASH_LEN);
    memcpy(buf + 1 + LL_HASH_LEN, right, LL_HASH_LEN);
    ll_sha256(buf, sizeof buf, out);
}

static void empty_root(uint8_t out[LL_HASH_LEN])
{
    ll_sha256("", 0, out);
}

/*
 * A range is one the RFC recursion produces iff its start is aligned to the
 * smallest power of two >= its length: the recursion only ever cuts at
 * multiples of the split point k, and the right part it leaves is <= k.
 * Rejecting other ranges matters because the decomposition below would
 * otherwise ask the store for unaligned nodes that do not exist.
 */
static int rfc_range(uint64_t start, uint64_t end)
{
    uint64_t len = end - start;
    unsigned top;

    if (start == 0)
        return 1;
    top = floor_log2(len);
    if (len & (len - 1)) {
        if (top == 63)
            return 0; /* would need alignment to 2^64 */
        top++;
    }
    return (start & ((UINT64_C(1) << top) - 1)) == 0;
}

int ll_merkle_subtree_hash(ll_merkle_node_fn get, void *ctx, uint64_t start,
                           uint64_t end, uint8_t out[LL_HASH_LEN])
{
    uint8_t acc[LL_HASH_LEN], node[LL_HASH_LEN];
    uint64_t len;
    int have = 0, err;

    if (start == 0 && end == 0) {
        empty_root(out);
        return LL_OK;
    }
    if (start >= end || !rfc_range(start, end))
        return LL_ERR_RANGE;

    /*
     * The RFC splits off the largest power of two on the left until the rest
     * is a power of two, so the subtrees are the set bits of len from high
     * to low, laid out left to right. Folding from the lowest (rightmost)
     * one upward yields H(n_high, H(..., n_low)) without holding them all.
     */
    len = end - start;
    for (unsigned level = 0; level < LL_MERKLE_MAX_DEPTH; level++) {
        uint64_t bit = UINT64_C(1) << level, left;

        if (!(len & bit))
            continue;
        /* Leaves to the left of this subtree: the higher bits of len. */
        left = len & ~((bit << 1) - 1);
        if ((err = get(ctx, level, (start + left) >> level, node)))
            return err;
        if (have) {
            ll_merkle_node_hash(node, acc, acc);
        } else {
            memcpy(acc, node, LL_HASH_LEN);
            have = 1;
        }
    }
    memcpy(out, acc, LL_HASH_LEN);
    return LL_OK;
}

int ll_merkle_root(ll_merkle_node_fn get, void *ctx, uint64_t size,
                   uint8_t out[LL_HASH_LEN])
{
    return ll_merkle_subtree_hash(get, ctx, 0, size, out);
}

int ll_merkle_edge_load(ll_merkle_node_fn get, void *ctx, uint64_t size,
                        ll_merkle_edge_t *edge)
{
    uint8_t node[LL_HASH_LEN], acc[LL_HASH_LEN];
    int any = 0, err;

    if (size == 0)
        return LL_ERR_RANGE;
    edge->size = size;
    edge->have = 0;
    /* ll_merkle_subtree_hash's fold over [0, size): once the set bits up
     * to level are folded in, the accumulator is the hash of the edge range
     * [size & ~(2^(level+1) - 1), size). */
    for (unsigned level = 0; level < LL_MERKLE_MAX_DEPTH; level++) {
        uint64_t bit = UINT64_C(1) << level;
        if (size & bit) {
            uint64_t left = size & ~((bit << 1) - 1);
            if ((err = get(ctx, level, left >> level, node)))
                return err;
            if (any)
                ll_merkle_node_hash(node, acc, acc);
            else
                memcpy(acc, node, LL_HASH_LEN);
            any = 1;
        }
        if (any) {
            memcpy(edge->h[level + 1], acc, LL_HASH_LEN);
            if (level + 1 < LL_MERKLE_MAX_DEPTH)
                edge->have |= UINT64_C(1) << (level + 1);
        }
    }
    return LL_OK;
}

void ll_merkle_edge_root(const ll_merkle_edge_t *edge, uint8_t out[LL_HASH_LEN])
{
    memcpy(out, edge->h[LL_MERKLE_MAX_DEPTH], LL_HASH_LEN);
}

/* MTH(D[start:end]), from the edge when the range is one of its own. */
static int range_hash(ll_merkle_node_fn get, void *ctx, const ll_merkle_edge_t *edge,
                      uint64_t start, uint64_t end, uint8_t out[LL_HASH_LEN])
{
    if (edge && end == edge->size && start < end) {
        uint64_t len = end - start;
        unsigned j = floor_log2(len) + 1; /* len's bits are all below j */
        uint64_t mask = j >= 64 ? ~UINT64_C(0) : (UINT64_C(1) << j) - 1;
        if ((j >= 64 || (edge->have >> j & 1)) && start == (end & ~mask)) {
            memcpy(out, edge->h[j], LL_HASH_LEN);
            return LL_OK;
        }
    }
    return ll_merkle_subtree_hash(get, ctx, start, end, out);
}

/* Writes the hashes of ranges in reverse order after `used` proof slots. */
static int emit_reversed(ll_merkle_node_fn get, void *ctx, const ll_merkle_edge_t *edge,
                         const range_t *r, size_t n, uint8_t proof[][LL_HASH_LEN],
                         size_t used)
{
    int err;

    for (size_t i = 0; i < n; i++) {
        const range_t *s = &r[n - 1 - i];
        if ((err = range_hash(get, ctx, edge, s->start, s->end, proof[used + i])))
            return err;
    }
    return LL_OK;
}

static int inclusion(ll_merkle_node_fn get, void *ctx, const ll_merkle_edge_t *edge,
                     uint64_t index, uint64_t size, uint8_t proof[][LL_HASH_LEN],
                     size_t *count)
{
    range_t sib[LL_MERKLE_MAX_DEPTH];
    uint64_t s = 0, e = size;
    size_t n = 0;
    int err;

    *count = 0;
    if (index >= size)
        return LL_ERR_RANGE;
    /*
     * Once the path enters a complete subtree every later sibling is a
     * single stored node, and only one incomplete right sibling can occur
     * before that, so the total lookups stay O(log n).
     */
    while (e - s > 1) {
        uint64_t k = split_point(e - s);
        if (index < s + k) {
            sib[n++] = (range_t){s + k, e};
            e = s + k;
        } else {
            sib[n++] = (range_t){s, s + k};
            s += k;
        }
    }
    if ((err = emit_reversed(get, ctx, edge, sib, n, proof, 0)))
        return err;
    *count = n;
    return LL_OK;
}

int ll_merkle_inclusion_proof(ll_merkle_node_fn get, void *ctx, uint64_t index,
                              uint64_t size,
                              uint8_t proof[][LL_HASH_LEN], size_t *count)
{
    return inclusion(get, ctx, NULL, index, size, proof, count);
}

int ll_merkle_inclusion_proof_edge(ll_merkle_node_fn get, void *ctx,
                                   const ll_merkle_edge_t *edge, uint64_t index,
                                   uint8_t proof[][LL_HASH_LEN], size_t *count)
{
    return inclusion(get, ctx, edge, index, edge->size, proof, count);
}

static int consistency(ll_merkle_node_fn get, void *ctx, const ll_merkle_edge_t *edge,
                       uint64_t old_size, uint64_t new_size,
                       uint8_t proof[][LL_HASH_LEN], size_t *count)
{
    range_t sib[LL_MERKLE_MAX_DEPTH];
    uint64_t s = 0, e = new_size;
    size_t n = 0, used = 0;
    int whole_old = 1, err;

    *count = 0;
    if (old_size == 0 || old_size > new_size)
        return LL_ERR_RANGE;
    /* SUBPROOF(m, D[s:e], b) with m = old_size - s; b stays true only while
     * the old tree is a prefix of the current range's left edge. */
    for (;;) {
        uint64_t len = e - s, m = old_size - s, k;

        if (m == len) {
            if (!whole_old) {
                if ((err = range_hash(get, ctx, edge, s, e, proof[0])))
                    return err;
                used = 1;
            }
            break;
        }
        k = split_point(len);
        if (m <= k) {
            sib[n++] = (range_t){s + k, e};
            e = s + k;
        } else {
            sib[n++] = (range_t){s, s + k};
            s += k;
            whole_old = 0;
        }
    }
    if ((err = emit_reversed(get, ctx, edge, sib, n, proof, used)))
        return err;
    *count = used + n;
    return LL_OK;
}

int ll_merkle_consistency_proof(ll_merkle_node_fn get, void *ctx,
                                uint64_t old_size, uint64_t new_size,
                                uint8_t proof[][LL_HASH_LEN], size_t *count)
{
    return consistency(get, ctx, NULL, old_size, new_size, proof, count);
}

int ll_merkle_consistency_proof_edge(ll_merkle_node_fn get, void *ctx,
                                     const ll_merkle_edge_t *edge, uint64_t old_size,
                                     uint8_t proof[][LL_HASH_LEN], size_t *count)
{
    return consistency(get, ctx, edge, old_size, edge->size, proof, count);
}

int ll_merkle_verify_inclusion(const uint8_t leaf_hash[LL_HASH_LEN],
                               uint64_t index, uint64_t size,
                               const uint8_t proof[][LL_HASH_LEN], size_t count,
                               const uint8_t root[LL_HASH_LEN])
{
    uint8_t r[LL_HASH_LEN];
    uint64_t fn, sn;

    if (count > LL_MERKLE_MAX_PROOF || index >= size)
        return LL_ERR_BAD_PROOF;
    fn = index;
    sn = size - 1;
    memcpy(r, leaf_hash, LL_HASH_LEN);
    for (size_t i = 0; i < count; i++) {
        if (sn == 0)
            return LL_ERR_BAD_PROOF;
        if ((fn & 1) || fn == sn) {
            ll_merkle_node_hash(proof[i], r, r);
            /* Skip the levels where this node is a lone right-edge child
             * that the RFC promotes without hashing. */
            while (!(fn & 1) && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            ll_merkle_node_hash(r, proof[i], r);
        }
        fn >>= 1;
        sn >>= 1;
    }
    if (sn != 0 || memcmp(r, root, LL_HASH_LEN) != 0)
        return LL_ERR_BAD_PROOF;
    return LL_OK;
}

int ll_merkle_verify_consistency(uint64_t old_size, uint64_t new_size,
                                 const uint8_t old_root[LL_HASH_LEN],
                                 const uint8_t new_root[LL_HASH_LEN],
                                 const uint8_t proof[][LL_HASH_LEN],
                                 size_t count)
{
    uint8_t fr[LL_HASH_LEN], sr[LL_HASH_LEN];
    const uint8_t *c;
    uint64_t fn, sn;
    size_t i;
    int prepend;

    if (count > LL_MERKLE_MAX_PROOF || old_size > new_size)
        return LL_ERR_BAD_PROOF;
    if (old_size == 0) {
        /* Only the real empty tree is a prefix of every tree. */
        uint8_t empty[LL_HASH_LEN];
        ll_sha256("", 0, empty);
        return count == 0 && memcmp(old_root, empty, LL_HASH_LEN) == 0
                   ? LL_OK : LL_ERR_BAD_PROOF;
    }
    if (old_size == new_size) {
        if (count != 0 || memcmp(old_root, new_root, LL_HASH_LEN) != 0)
            return LL_ERR_BAD_PROOF;
        return LL_OK;
    }
    if (count == 0)
        return LL_ERR_BAD_PROOF;

    /* A power-of-two old tree is itself a node of the new tree, so the prover
     * omits it; the RFC has the verifier prepend old_root instead. Model the
     * prepended array by index rather than copying it. */
    prepend = (old_size & (old_size - 1)) == 0;
    fn = old_size - 1;
    sn = new_size - 1;
    while (fn & 1) {
        fn >>= 1;
        sn >>= 1;
    }
    c = prepend ? old_root : proof[0];
    memcpy(fr, c, LL_HASH_LEN);
    memcpy(sr, c, LL_HASH_LEN);
    for (i = prepend ? 0 : 1; i < count; i++) {
        c = proof[i];
        if (sn == 0)
            return LL_ERR_BAD_PROOF;
        if ((fn & 1) || fn == sn) {
            ll_merkle_node_hash(c, fr, fr);
            ll_merkle_node_hash(c, sr, sr);
            while (!(fn & 1) && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            ll_merkle_node_hash(sr, c, sr);
        }
        fn >>= 1;
        sn >>= 1;
    }
    if (sn != 0 || memcmp(fr, old_root, LL_HASH_LEN) != 0 ||
        memcmp(sr, new_root, LL_HASH_LEN) != 0)
        return LL_ERR_BAD_PROOF;
    return LL_OK;
}

void ll_merkle_frontier_init(ll_merkle_frontier_t *f)
{
    memset(f, 0, sizeof *f);
}

int ll_merkle_frontier_load(ll_merkle_frontier_t *f, ll_merkle_node_fn get,
                            void *ctx, uint64_t size)
{
    ll_merkle_frontier_t t;
    uint64_t start = 0;
    int err;

    /* Built in a copy so a failed lookup leaves the caller's frontier as it
     * was rather than half-loaded. */
    ll_merkle_frontier_init(&t);
    for (unsigned level = LL_MERKLE_MAX_DEPTH; level-- > 0;) {
        uint64_t bit = UINT64_C(1) << level;
        if (!(size & bit))
            continue;
        if ((err = get(ctx, level, start >> level, t.peaks[level])))
            return err;
        start += bit;
    }
    t.size = size;
    *f = t;
    return LL_OK;
}

int ll_merkle_frontier_append(ll_merkle_frontier_t *f,
                              const uint8_t leaf_hash[LL_HASH_LEN],
                              ll_merkle_emit_fn emit, void *ctx)
{
    uint8_t h[LL_HASH_LEN];
    uint64_t index = f->size;
    unsigned level = 0;
    int err;

    /* size cannot count a 2^64th leaf (nor could 64 peaks hold it). */
    if (f->size == UINT64_MAX)
        return LL_ERR_RANGE;
    memcpy(h, leaf_hash, LL_HASH_LEN);
    if (emit && (err = emit(ctx, 0, index, h)))
        return err;
    /*
     * Binary-counter carry: each set low bit of size is a peak that the new
     * node completes into its parent. f is only written after every emit has
     * succeeded, so an emit error leaves it untouched; the peaks below the
     * final level are not cleared because size alone marks them invalid.
     */
    while (f->size & (UINT64_C(1) << level)) {
        ll_merkle_node_hash(f->peaks[level], h, h);
        level++;
        index >>= 1;
        if (emit && (err = emit(ctx, level, index, h)))
            return err;
    }
    memcpy(f->peaks[level], h, LL_HASH_LEN);
    f->size++;
    return LL_OK;
}

void ll_merkle_frontier_root(const ll_merkle_frontier_t *f,
                             uint8_t out[LL_HASH_LEN])
{
    uint8_t acc[LL_HASH_LEN];
    int have = 0;

    if (f->size == 0) {
        empty_root(out);
        return;
    }
    for (unsigned level = 0; level < LL_MERKLE_MAX_DEPTH; level++) {
        if (!(f->size & (UINT64_C(1) << level)))
            continue;
        if (have) {
            ll_merkle_node_hash(f->peaks[level], acc, acc);
        } else {
            memcpy(acc, f->peaks[level], LL_HASH_LEN);
            have = 1;
        }
    }
    memcpy(out, acc, LL_HASH_LEN);
}
