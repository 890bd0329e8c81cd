/*
 * fuzz_merkle: RFC 9162 proof verification against hostile proofs and
 * sizes, and against mutations of genuine proofs.
 *
 * Input: n (u16), index (u16), old size (u16), a mutation (position u16,
 * xor mask u8), then raw bytes used as a hostile proof with arbitrary
 * 64-bit sizes. For a tree of n <= 300 leaves (kept in memory) the genuine
 * inclusion and consistency proofs must verify, and the same proofs with
 * one byte changed must not. The hostile proof must merely be refused or
 * accepted without crashing, whatever the sizes.
 */
#include <string.h>

#include "ll_err.h"
#include "ll_fuzz.h"
#include "ll_merkle.h"

#define MAXN 512u
#define LEVELS 10

static uint8_t tree[LEVELS][MAXN][LL_HASH_LEN];
static uint64_t tree_n;

static void build(void)
{
    if (tree[0][0][0] || tree[0][0][1])
        return;
    for (uint64_t i = 0; i < MAXN; i++) {
        uint8_t leaf[8];
        for (int b = 0; b < 8; b++)
            leaf[b] = (uint8_t)(i >> (8 * b));
        ll_merkle_leaf_hash(leaf, sizeof leaf, tree[0][i]);
    }
    for (unsigned l = 1; l < LEVELS; l++)
        for (uint64_t i = 0; i < (MAXN >> l); i++)
            ll_merkle_node_hash(tree[l - 1][2 * i], tree[l - 1][2 * i + 1], tree[l][i]);
}

static int get(void *ctx, unsigned level, uint64_t index, uint8_t out[LL_HASH_LEN])
{
    (void)ctx;
    if (level >= LEVELS || ((index + 1) << level) > tree_n)
        return LL_ERR_NOT_FOUND;
    memcpy(out, tree[level][index], LL_HASH_LEN);
    return LL_OK;
}

static uint64_t u16(const uint8_t *d)
{
    return (uint64_t)d[0] << 8 | d[1];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t proof[LL_MERKLE_MAX_PROOF][LL_HASH_LEN];
    uint8_t root[LL_HASH_LEN], old_root[LL_HASH_LEN];
    size_t count;
    if (size < 9)
        return 0;
    build();
    uint64_t n = 1 + u16(data) % 300, idx = u16(data + 2) % n, old = 1 + u16(data + 4) % n;
    uint64_t pos = u16(data + 6);
    uint8_t mask = data[8];
    tree_n = n;
    LL_FUZZ_CHECK(ll_merkle_root(get, NULL, n, root) == LL_OK);
    LL_FUZZ_CHECK(ll_merkle_root(get, NULL, old, old_root) == LL_OK);

    LL_FUZZ_CHECK(ll_merkle_inclusion_proof(get, NULL, idx, n, proof, &count) == LL_OK);
    LL_FUZZ_CHECK(ll_merkle_verify_inclusion(tree[0][idx], idx, n, (const uint8_t(*)[LL_HASH_LEN])proof,
                                             count, root) == LL_OK);
    if (count && mask) {
        proof[(pos / LL_HASH_LEN) % count][pos % LL_HASH_LEN] ^= mask;
        LL_FUZZ_CHECK(ll_merkle_verify_inclusion(tree[0][idx], idx, n,
                                                 (const uint8_t(*)[LL_HASH_LEN])proof, count,
                                                 root) == LL_ERR_BAD_PROOF);
    }

    LL_FUZZ_CHECK(ll_merkle_consistency_proof(get, NULL, old, n, proof, &count) == LL_OK);
    LL_FUZZ_CHECK(ll_merkle_verify_consistency(old, n, old_root, root,
                                               (const uint8_t(*)[LL_HASH_LEN])proof, count) == LL_OK);
    if (count && mask) {
        proof[(pos / LL_HASH_LEN) % count][pos % LL_HASH_LEN] ^= mask;
        LL_FUZZ_CHECK(ll_merkle_verify_consistency(old, n, old_root, root,
                                                   (const uint8_t(*)[LL_HASH_LEN])proof,
                                                   count) == LL_ERR_BAD_PROOF);
    }
    if (mask) {
        old_root[pos % LL_HASH_LEN] ^= mask;
        LL_FUZZ_CHECK(ll_merkle_consistency_proof(get, NULL, old, n, proof, &count) == LL_OK);
        LL_FUZZ_CHECK(ll_merkle_verify_consistency(old, n, old_root, root,
                                                   (const uint8_t(*)[LL_HASH_LEN])proof,
                                                   count) == LL_ERR_BAD_PROOF);
    }

    /* Hostile: sizes over the whole 64-bit range, proof from the input. */
    const uint8_t *rest = data + 9;
    size_t rlen = size - 9;
    if (rlen >= 24) {
        uint64_t a = 0, b = 0, c = 0;
        for (int i = 0; i < 8; i++) {
            a = a << 8 | rest[i];
            b = b << 8 | rest[8 + i];
            c = c << 8 | rest[16 + i];
        }
        rest += 24;
        rlen -= 24;
        size_t k = rlen / LL_HASH_LEN;
        if (k > LL_MERKLE_MAX_PROOF)
            k = LL_MERKLE_MAX_PROOF;
        memcpy(proof, rest, k * LL_HASH_LEN);
        /* Whatever the input, a verifier answers yes or no, nothing else. */
        int vi = ll_merkle_verify_inclusion(root, a, b, (const uint8_t(*)[LL_HASH_LEN])proof, k,
                                            root);
        int vc = ll_merkle_verify_consistency(a, c, root, old_root,
                                              (const uint8_t(*)[LL_HASH_LEN])proof, k);
        LL_FUZZ_CHECK((vi == LL_OK || vi == LL_ERR_BAD_PROOF) &&
                      (vc == LL_OK || vc == LL_ERR_BAD_PROOF));
    }
    return 0;
}
