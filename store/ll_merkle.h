/*
 * ll_merkle: RFC 9162 section 2.1 Merkle tree hashing, proofs and proof
 * verification, independent of where nodes live.
 *
 * Hashes: leaf = SHA-256(0x00 || leaf bytes), node = SHA-256(0x01 || l || r),
 * empty tree = SHA-256("").
 *
 * Storage model: only complete, aligned subtrees are ever stored. Node
 * (level, index) is the hash of leaves [index << level, (index+1) << level);
 * level 0 holds leaf hashes. A tree of size n has all nodes with
 * (index+1) << level <= n. Readers supply an ll_merkle_node_fn returning
 * such a node; every other hash (incomplete right edges) is recomputed from
 * at most O(log n) stored nodes, so roots and proofs cost O(log n) lookups
 * (O(log^2 n) worst case for consistency proofs) and never replay the log.
 *
 * The writer keeps an ll_merkle_frontier_t: the "peaks" (roots of the
 * complete subtrees that make up the tree, one per set bit of size). Appending
 * a leaf emits the newly completed nodes for storage.
 */
#ifndef LL_MERKLE_H
#define LL_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#include "ll_crypto.h"

#define LL_MERKLE_MAX_DEPTH 64
/* Upper bound on proof length (inclusion <= 64, consistency <= 2*64). */
#define LL_MERKLE_MAX_PROOF 130

/* Returns LL_OK and the stored hash of complete node (level, index), or an
 * ll_err code (propagated unchanged to the caller of the proof function). */
typedef int (*ll_merkle_node_fn)(void *ctx, unsigned level, uint64_t index,
                                 uint8_t out[LL_HASH_LEN]);

void ll_merkle_leaf_hash(const void *leaf, size_t len, uint8_t out[LL_HASH_LEN]);
void ll_merkle_node_hash(const uint8_t left[LL_HASH_LEN],
                         const uint8_t right[LL_HASH_LEN],
                         uint8_t out[LL_HASH_LEN]);

/* MTH(D[start:end]) from stored nodes. start < end required, and [start,end)
 * must be a range that RFC 9162's recursive split produces (any range
 * starting at 0 qualifies). For start == end == 0 returns the empty root. */
int ll_merkle_subtree_hash(ll_merkle_node_fn get, void *ctx, uint64_t start,
                           uint64_t end, uint8_t out[LL_HASH_LEN]);

/* Root of the tree of the first size leaves (empty root for size 0). */
int ll_merkle_root(ll_merkle_node_fn get, void *ctx, uint64_t size,
                   uint8_t out[LL_HASH_LEN]);

/* PATH(index, D[0:size]) per RFC 9162 2.1.3.1, leaf-to-root order.
 * LL_ERR_RANGE unless index < size. *count is set to the number of hashes
 * written to proof (capacity LL_MERKLE_MAX_PROOF). */
int ll_merkle_inclusion_proof(ll_merkle_node_fn get, void *ctx, uint64_t index,
                              uint64_t size,
                              uint8_t proof[][LL_HASH_LEN], size_t *count);

/* The right edge of the tree of size leaves: the hashes of its incomplete
 * subtrees, which no stored node holds and every proof against that size
 * needs one of (and the root is the last). have bit j set: h[j] is
 * MTH(D[size & ~(2^j - 1) : size]), for each j where that range is not
 * empty. Loading one costs what ll_merkle_root costs (popcount(size) node
 * reads and hashes); proofs given it hash nothing for incomplete subtrees.
 * Immutable once loaded, so one edge serves any number of proofs. */
typedef struct ll_merkle_edge {
    uint64_t size;
    uint64_t have; /* bit j: h[j] valid (j < 64); the root is h[64] */
    uint8_t h[LL_MERKLE_MAX_DEPTH + 1][LL_HASH_LEN];
} ll_merkle_edge_t;

/* Loads the edge of size leaves (size > 0) into *edge. LL_ERR_RANGE for 0. */
int ll_merkle_edge_load(ll_merkle_node_fn get, void *ctx, uint64_t size,
                        ll_merkle_edge_t *edge);

/* The root held by a loaded edge. */
void ll_merkle_edge_root(const ll_merkle_edge_t *edge, uint8_t out[LL_HASH_LEN]);

/* As ll_merkle_inclusion_proof against the edge's tree size (edge->size),
 * taking incomplete subtrees from the edge: same results. */
int ll_merkle_inclusion_proof_edge(ll_merkle_node_fn get, void *ctx,
                                   const ll_merkle_edge_t *edge, uint64_t index,
                                   uint8_t proof[][LL_HASH_LEN], size_t *count);

/* As ll_merkle_consistency_proof to new_size = edge->size, taking
 * incomplete subtrees of the new tree from the edge: same results. */
int ll_merkle_consistency_proof_edge(ll_merkle_node_fn get, void *ctx,
                                     const ll_merkle_edge_t *edge, uint64_t old_size,
                                     uint8_t proof[][LL_HASH_LEN], size_t *count);

/* PROOF(old_size, D[0:new_size]) per RFC 9162 2.1.4.1. LL_ERR_RANGE unless
 * 0 < old_size <= new_size (old_size == new_size yields an empty proof). */
int ll_merkle_consistency_proof(ll_merkle_node_fn get, void *ctx,
                                uint64_t old_size, uint64_t new_size,
                                uint8_t proof[][LL_HASH_LEN], size_t *count);

/* RFC 9162 2.1.3.2. LL_OK or LL_ERR_BAD_PROOF (also for index >= size). */
LL_MUST_CHECK int ll_merkle_verify_inclusion(const uint8_t leaf_hash[LL_HASH_LEN],
                               uint64_t index, uint64_t size,
                               const uint8_t proof[][LL_HASH_LEN], size_t count,
                               const uint8_t root[LL_HASH_LEN]);

/* RFC 9162 2.1.4.2. LL_OK or LL_ERR_BAD_PROOF. old_size == new_size needs
 * an empty proof and equal roots; old_size == 0 is accepted with an empty
 * proof and the empty-tree root (the empty tree is a prefix of every tree). */
LL_MUST_CHECK int ll_merkle_verify_consistency(uint64_t old_size, uint64_t new_size,
                                 const uint8_t old_root[LL_HASH_LEN],
                                 const uint8_t new_root[LL_HASH_LEN],
                                 const uint8_t proof[][LL_HASH_LEN],
                                 size_t count);

/* The right edge of a tree: peaks[level] is valid iff bit `level` of size
 * is set. Plain data; copy freely. */
typedef struct ll_merkle_frontier {
    uint64_t size;
    uint8_t peaks[LL_MERKLE_MAX_DEPTH][LL_HASH_LEN];
} ll_merkle_frontier_t;

/* Called for every node completed by an append (leaf first, then upwards). */
typedef int (*ll_merkle_emit_fn)(void *ctx, unsigned level, uint64_t index,
                                 const uint8_t hash[LL_HASH_LEN]);

/* Sets f to the empty tree. */
void ll_merkle_frontier_init(ll_merkle_frontier_t *f);

/* Loads the frontier of a tree of size leaves from stored nodes. */
int ll_merkle_frontier_load(ll_merkle_frontier_t *f, ll_merkle_node_fn get,
                            void *ctx, uint64_t size);

/* Appends one leaf hash; emit (may be NULL) receives each completed node.
 * An emit error stops the append and is returned; f is then unchanged. */
int ll_merkle_frontier_append(ll_merkle_frontier_t *f,
                              const uint8_t leaf_hash[LL_HASH_LEN],
                              ll_merkle_emit_fn emit, void *ctx);

/* Root hash of the frontier's tree. */
void ll_merkle_frontier_root(const ll_merkle_frontier_t *f,
                             uint8_t out[LL_HASH_LEN]);

#endif
