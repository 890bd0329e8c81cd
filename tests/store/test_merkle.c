/*
 * ll_merkle: roots and proofs built from stored complete subtrees match an
 * independent brute-force RFC 9162 implementation and the published RFC 6962
 * test vectors; verifiers accept exactly the honest proofs; the frontier
 * agrees with what it stores; lookups stay O(log n).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ll_crypto.h"
#include "ll_err.h"
#include "ll_merkle.h"

#define H LL_HASH_LEN
#define NLEAVES 1100 /* leaves in the shared store; > 1025 */
#define EXHAUSTIVE 70

typedef uint8_t hash_t[H];

/* ---------------------------------------------------------------------- */
/* Helpers */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    fail_msg("bad hex digit %c", c);
    return 0;
}

/* Decodes hex into out; returns the byte count. */
static size_t unhex(const char *s, uint8_t *out)
{
    size_t n = strlen(s) / 2;
    for (size_t i = 0; i < n; i++)
        out[i] = (uint8_t)(hexval(s[2 * i]) << 4 | hexval(s[2 * i + 1]));
    return n;
}

static void unhex_hash(const char *s, uint8_t out[H])
{
    assert_int_equal(strlen(s), 2 * H);
    unhex(s, out);
}

/* Returns a heap copy holding exactly count hashes, so ASan flags any read
 * past count by a verifier. */
static hash_t *exact_copy(const hash_t *p, size_t count)
{
    hash_t *c = malloc(count * H);
    if (count)
        memcpy(c, p, count * H);
    return c;
}

/* ---------------------------------------------------------------------- */
/* Brute-force RFC 9162 2.1 reference, straight from the definitions. */

static void ref_leaf_hash(const uint8_t *d, size_t len, uint8_t out[H])
{
    uint8_t *b = malloc(len + 1);
    b[0] = 0x00;
    if (len)
        memcpy(b + 1, d, len);
    ll_sha256(b, len + 1, out);
    free(b);
}

static void ref_node_hash(const uint8_t l[H], const uint8_t r[H], uint8_t out[H])
{
    uint8_t b[1 + 2 * H];
    b[0] = 0x01;
    memcpy(b + 1, l, H);
    memcpy(b + 1 + H, r, H);
    ll_sha256(b, sizeof b, out);
}

static uint64_t ref_k(uint64_t n)
{
    uint64_t k = 1;
    while (k * 2 < n)
        k *= 2;
    return k;
}

/* MTH(D[0:n]) over leaf hashes. */
static void ref_mth(const hash_t *lh, uint64_t n, uint8_t out[H])
{
    uint8_t l[H], r[H];
    if (n == 0) {
        ll_sha256("", 0, out);
        return;
    }
    if (n == 1) {
        memcpy(out, lh[0], H);
        return;
    }
    uint64_t k = ref_k(n);
    ref_mth(lh, k, l);
    ref_mth(lh + k, n - k, r);
    ref_node_hash(l, r, out);
}

/* PATH(m, D[0:n]), appended to out. */
static void ref_path(uint64_t m, const hash_t *lh, uint64_t n, hash_t *out, size_t *cnt)
{
    if (n <= 1)
        return;
    uint64_t k = ref_k(n);
    if (m < k) {
        ref_path(m, lh, k, out, cnt);
        ref_mth(lh + k, n - k, out[(*cnt)++]);
    } else {
        ref_path(m - k, lh + k, n - k, out, cnt);
        ref_mth(lh, k, out[(*cnt)++]);
    }
}

/* SUBPROOF(m, D[0:n], b), appended to out. */
static void ref_subproof(uint64_t m, const hash_t *lh, uint64_t n, int b, hash_t *out,
                         size_t *cnt)
{
    if (m == n) {
        if (!b)
            ref_mth(lh, n, out[(*cnt)++]);
        return;
    }
    uint64_t k = ref_k(n);
    if (m <= k) {
        ref_subproof(m, lh, k, b, out, cnt);
        ref_mth(lh + k, n - k, out[(*cnt)++]);
    } else {
        ref_subproof(m - k, lh + k, n - k, 0, out, cnt);
        ref_mth(lh, k, out[(*cnt)++]);
    }
}

static void ref_proof(uint64_t m, const hash_t *lh, uint64_t n, hash_t *out, size_t *cnt)
{
    *cnt = 0;
    ref_subproof(m, lh, n, 1, out, cnt);
}

/* ---------------------------------------------------------------------- */
/* In-memory node store, filled by the frontier's emit callback. */

typedef struct mem_store {
    hash_t *lv[LL_MERKLE_MAX_DEPTH];
    uint64_t n[LL_MERKLE_MAX_DEPTH], cap[LL_MERKLE_MAX_DEPTH];
    uint64_t limit;          /* reads must stay within the first limit leaves */
    unsigned long gets, outside;
    unsigned long fail_get_at; /* 1-based get call that fails; 0 = never */
    unsigned long emits, fail_emit_at;
    int unordered; /* accept emits into a store missing earlier nodes */
} mem_store_t;

static int mem_get(void *ctx, unsigned level, uint64_t index, uint8_t out[H])
{
    mem_store_t *s = ctx;
    s->gets++;
    if (s->fail_get_at && s->gets == s->fail_get_at)
        return LL_ERR_STORE;
    if (level >= LL_MERKLE_MAX_DEPTH || index >= (s->limit >> level))
        s->outside++;
    if (level >= LL_MERKLE_MAX_DEPTH || index >= s->n[level])
        return LL_ERR_NOT_FOUND;
    memcpy(out, s->lv[level][index], H);
    return LL_OK;
}

static int mem_emit(void *ctx, unsigned level, uint64_t index, const uint8_t hash[H])
{
    mem_store_t *s = ctx;
    s->emits++;
    if (s->fail_emit_at && s->emits == s->fail_emit_at)
        return LL_ERR_FULL;
    assert_true(level < LL_MERKLE_MAX_DEPTH);
    if (s->unordered)
        return LL_OK;
    assert_int_equal(index, s->n[level]); /* nodes complete in order */
    if (s->n[level] == s->cap[level]) {
        s->cap[level] = s->cap[level] ? 2 * s->cap[level] : 16;
        s->lv[level] = realloc(s->lv[level], s->cap[level] * H);
        assert_non_null(s->lv[level]);
    }
    memcpy(s->lv[level][s->n[level]++], hash, H);
    return LL_OK;
}

static void mem_free(mem_store_t *s)
{
    for (unsigned i = 0; i < LL_MERKLE_MAX_DEPTH; i++)
        free(s->lv[i]);
    memset(s, 0, sizeof *s);
}

/* Resets the counters before a measured call reading a tree of size leaves. */
static void mem_arm(mem_store_t *s, uint64_t size)
{
    s->limit = size;
    s->gets = s->outside = 0;
    s->fail_get_at = 0;
}

/* ---------------------------------------------------------------------- */
/* Shared fixture: NLEAVES leaves of varied length (0 up to > 512 bytes, so
 * both leaf-hash buffer paths run), stored via the frontier. */

typedef struct world {
    hash_t lh[NLEAVES];
    mem_store_t st;
    ll_merkle_frontier_t fr[NLEAVES + 1]; /* frontier after i appends */
} world_t;

static world_t *W;

static void leaf_data(uint64_t i, uint8_t *buf, size_t *len)
{
    *len = (size_t)((i * 37) % 700);
    for (size_t j = 0; j < *len; j++)
        buf[j] = (uint8_t)(i * 131 + j * 7);
}

static int group_setup(void **state)
{
    (void)state;
    W = calloc(1, sizeof *W);
    if (!W)
        return -1;
    ll_merkle_frontier_init(&W->fr[0]);
    for (uint64_t i = 0; i < NLEAVES; i++) {
        uint8_t buf[700], lh[H];
        size_t len;
        leaf_data(i, buf, &len);
        ref_leaf_hash(buf, len, W->lh[i]);
        ll_merkle_leaf_hash(buf, len, lh);
        if (memcmp(lh, W->lh[i], H))
            return -1;
        W->fr[i + 1] = W->fr[i];
        if (ll_merkle_frontier_append(&W->fr[i + 1], lh, mem_emit, &W->st) != LL_OK)
            return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    mem_free(&W->st);
    free(W);
    return 0;
}

/* ---------------------------------------------------------------------- */
/* RFC 6962 / certificate-transparency test vectors */

static const char *const rfc_leaves[8] = {
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
};

static const char *const rfc_roots[9] = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

typedef struct rfc_fixture {
    mem_store_t st;
    ll_merkle_frontier_t f;
    hash_t lh[8];
} rfc_fixture_t;

static int rfc_setup(void **state)
{
    rfc_fixture_t *x = calloc(1, sizeof *x);
    if (!x)
        return -1;
    ll_merkle_frontier_init(&x->f);
    for (int i = 0; i < 8; i++) {
        uint8_t buf[16];
        size_t len = unhex(rfc_leaves[i], buf);
        ll_merkle_leaf_hash(buf, len, x->lh[i]);
        if (ll_merkle_frontier_append(&x->f, x->lh[i], mem_emit, &x->st) != LL_OK)
            return -1;
    }
    *state = x;
    return 0;
}

static int rfc_teardown(void **state)
{
    rfc_fixture_t *x = *state;
    mem_free(&x->st);
    free(x);
    return 0;
}

static void test_root_matches_rfc_vectors(void **state)
{
    rfc_fixture_t *x = *state;
    ll_merkle_frontier_t f;
    uint8_t want[H], got[H];

    ll_merkle_frontier_init(&f);
    for (uint64_t n = 0; n <= 8; n++) {
        unhex_hash(rfc_roots[n], want);
        mem_arm(&x->st, n);
        assert_int_equal(ll_merkle_root(mem_get, &x->st, n, got), LL_OK);
        assert_memory_equal(got, want, H);
        assert_int_equal(x->st.outside, 0);
        ll_merkle_frontier_root(&f, got);
        assert_memory_equal(got, want, H);
        ref_mth(x->lh, n, got);
        assert_memory_equal(got, want, H);
        if (n < 8)
            assert_int_equal(ll_merkle_frontier_append(&f, x->lh[n], NULL, NULL), LL_OK);
    }
}

static void test_empty_root_is_sha256_of_nothing(void **state)
{
    (void)state;
    ll_merkle_frontier_t f;
    uint8_t want[H], got[H];
    mem_store_t st = {0};

    unhex_hash(rfc_roots[0], want);
    assert_int_equal(ll_merkle_root(mem_get, &st, 0, got), LL_OK);
    assert_memory_equal(got, want, H);
    assert_int_equal(ll_merkle_subtree_hash(mem_get, &st, 0, 0, got), LL_OK);
    assert_memory_equal(got, want, H);
    assert_int_equal(st.gets, 0);
    ll_merkle_frontier_init(&f);
    ll_merkle_frontier_root(&f, got);
    assert_memory_equal(got, want, H);
}

static void test_leaf_and_node_hashes_use_domain_prefixes(void **state)
{
    (void)state;
    uint8_t a[H], b[H], want[H], buf[1 + 2 * H];
    static uint8_t big[5000];

    ll_merkle_leaf_hash("", 0, a);
    unhex_hash(rfc_roots[1], want); /* the root of one empty leaf */
    assert_memory_equal(a, want, H);
    buf[0] = 0x00;
    ll_sha256(buf, 1, want);
    assert_memory_equal(a, want, H);

    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)i;
    ll_merkle_leaf_hash(big, sizeof big, a);
    ref_leaf_hash(big, sizeof big, want);
    assert_memory_equal(a, want, H);

    memset(a, 0xaa, H);
    memset(b, 0x55, H);
    buf[0] = 0x01;
    memcpy(buf + 1, a, H);
    memcpy(buf + 1 + H, b, H);
    ll_sha256(buf, sizeof buf, want);
    ll_merkle_node_hash(a, b, a); /* output may alias an input */
    assert_memory_equal(a, want, H);
}

static void check_inclusion_vector(rfc_fixture_t *x, uint64_t index, uint64_t size,
                                   const char *const *want, size_t nwant)
{
    hash_t proof[LL_MERKLE_MAX_PROOF], ref[LL_MERKLE_MAX_PROOF];
    uint8_t h[H], root[H];
    size_t count, rc = 0;

    assert_int_equal(ll_merkle_inclusion_proof(mem_get, &x->st, index, size, proof, &count),
                     LL_OK);
    assert_int_equal(count, nwant);
    ref_path(index, x->lh, size, ref, &rc);
    assert_int_equal(rc, nwant);
    for (size_t i = 0; i < nwant; i++) {
        unhex_hash(want[i], h);
        assert_memory_equal(proof[i], h, H);
        assert_memory_equal(ref[i], h, H);
    }
    unhex_hash(rfc_roots[size], root);
    assert_int_equal(ll_merkle_verify_inclusion(x->lh[index], index, size,
                                                (const uint8_t(*)[H])proof, count, root),
                     LL_OK);
}

static void test_inclusion_proofs_match_rfc_vectors(void **state)
{
    rfc_fixture_t *x = *state;
    static const char *const p0_8[] = {
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    };
    static const char *const p5_8[] = {
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    };
    static const char *const p2_3[] = {
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    };
    static const char *const p1_5[] = {
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    };

    check_inclusion_vector(x, 0, 1, NULL, 0);
    check_inclusion_vector(x, 0, 8, p0_8, 3);
    check_inclusion_vector(x, 5, 8, p5_8, 3);
    check_inclusion_vector(x, 2, 3, p2_3, 1);
    check_inclusion_vector(x, 1, 5, p1_5, 3);
}

static void check_consistency_vector(rfc_fixture_t *x, uint64_t m, uint64_t n,
                                     const char *const *want, size_t nwant)
{
    hash_t proof[LL_MERKLE_MAX_PROOF], ref[LL_MERKLE_MAX_PROOF];
    uint8_t h[H], r1[H], r2[H];
    size_t count, rc;

    assert_int_equal(ll_merkle_consistency_proof(mem_get, &x->st, m, n, proof, &count), LL_OK);
    assert_int_equal(count, nwant);
    ref_proof(m, x->lh, n, ref, &rc);
    assert_int_equal(rc, nwant);
    for (size_t i = 0; i < nwant; i++) {
        unhex_hash(want[i], h);
        assert_memory_equal(proof[i], h, H);
        assert_memory_equal(ref[i], h, H);
    }
    unhex_hash(rfc_roots[m], r1);
    unhex_hash(rfc_roots[n], r2);
    assert_int_equal(
        ll_merkle_verify_consistency(m, n, r1, r2, (const uint8_t(*)[H])proof, count), LL_OK);
}

static void test_consistency_proofs_match_rfc_vectors(void **state)
{
    rfc_fixture_t *x = *state;
    static const char *const c1_8[] = {
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    };
    static const char *const c6_8[] = {
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    };
    static const char *const c2_5[] = {
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    };

    check_consistency_vector(x, 1, 1, NULL, 0);
    check_consistency_vector(x, 1, 8, c1_8, 3);
    check_consistency_vector(x, 6, 8, c6_8, 3);
    check_consistency_vector(x, 2, 5, c2_5, 2);
}

/* ---------------------------------------------------------------------- */
/* Exhaustive cross-checks against the reference */

/* Checks root, every inclusion proof and every consistency proof of the
 * tree of size n against the reference, and that each verifies. */
static void check_size_against_reference(uint64_t n, int all)
{
    mem_store_t *st = &W->st;
    hash_t proof[LL_MERKLE_MAX_PROOF], ref[LL_MERKLE_MAX_PROOF];
    uint8_t root[H], want[H], old_root[H];
    size_t count, rc;

    ref_mth(W->lh, n, want);
    mem_arm(st, n);
    assert_int_equal(ll_merkle_root(mem_get, st, n, root), LL_OK);
    assert_memory_equal(root, want, H);
    assert_int_equal(st->outside, 0);
    ll_merkle_frontier_root(&W->fr[n], root);
    assert_memory_equal(root, want, H);
    /* The right edge: its root, and proofs taken with it, are the same. */
    ll_merkle_edge_t edge;
    if (n == 0) {
        assert_int_equal(ll_merkle_edge_load(mem_get, st, 0, &edge), LL_ERR_RANGE);
    } else {
        mem_arm(st, n);
        assert_int_equal(ll_merkle_edge_load(mem_get, st, n, &edge), LL_OK);
        assert_int_equal(st->outside, 0);
        ll_merkle_edge_root(&edge, root);
        assert_memory_equal(root, want, H);
    }

    for (uint64_t i = 0; i < n; i++) {
        /* Spot-checked sizes: the edges, the middle and a few in between. */
        if (!all && !(i < 3 || i + 3 > n || i == n / 2 || i % 97 == 5))
            continue;
        mem_arm(st, n);
        assert_int_equal(ll_merkle_inclusion_proof(mem_get, st, i, n, proof, &count), LL_OK);
        assert_int_equal(st->outside, 0);
        rc = 0;
        ref_path(i, W->lh, n, ref, &rc);
        assert_int_equal(count, rc);
        if (count)
            assert_memory_equal(proof, ref, count * H);
        hash_t *exact = exact_copy(proof, count);
        assert_int_equal(ll_merkle_verify_inclusion(W->lh[i], i, n,
                                                    (const uint8_t(*)[H])exact, count, want),
                         LL_OK);
        free(exact);
        unsigned long plain_gets = st->gets;
        mem_arm(st, n);
        assert_int_equal(ll_merkle_inclusion_proof_edge(mem_get, st, &edge, i, proof, &count),
                         LL_OK);
        assert_int_equal(st->outside, 0);
        assert_true(st->gets <= plain_gets);
        assert_int_equal(count, rc);
        if (count)
            assert_memory_equal(proof, ref, count * H);
    }

    for (uint64_t m = 1; m <= n; m++) {
        int pow2 = (m & (m - 1)) == 0;
        if (!all && !(m < 3 || m + 3 > n || pow2 || m == n / 2 || m % 89 == 7))
            continue;
        mem_arm(st, n);
        assert_int_equal(ll_merkle_consistency_proof(mem_get, st, m, n, proof, &count), LL_OK);
        assert_int_equal(st->outside, 0);
        ref_proof(m, W->lh, n, ref, &rc);
        assert_int_equal(count, rc);
        if (count)
            assert_memory_equal(proof, ref, count * H);
        ref_mth(W->lh, m, old_root);
        hash_t *exact = exact_copy(proof, count);
        assert_int_equal(ll_merkle_verify_consistency(m, n, old_root, want,
                                                      (const uint8_t(*)[H])exact, count),
                         LL_OK);
        free(exact);
        mem_arm(st, n);
        assert_int_equal(ll_merkle_consistency_proof_edge(mem_get, st, &edge, m, proof, &count),
                         LL_OK);
        assert_int_equal(st->outside, 0);
        assert_int_equal(count, rc);
        if (count)
            assert_memory_equal(proof, ref, count * H);
    }
}

static void test_every_size_to_70_matches_reference(void **state)
{
    (void)state;
    for (uint64_t n = 0; n <= EXHAUSTIVE; n++)
        check_size_against_reference(n, 1);
}

static void test_edge_sizes_to_1025_match_reference(void **state)
{
    (void)state;
    for (uint64_t p = 1; p <= 1024; p *= 2) {
        check_size_against_reference(p, 0);
        check_size_against_reference(p + 1, 0);
        check_size_against_reference(p - 1, 0);
    }
    check_size_against_reference(NLEAVES, 0);
}

static void test_subtree_hash_matches_reference_for_rfc_ranges(void **state)
{
    (void)state;
    uint8_t got[H], want[H];

    /* Every range the RFC recursion can produce within 130 leaves. */
    for (uint64_t start = 0; start < 130; start++) {
        for (uint64_t end = start + 1; end <= 130; end++) {
            uint64_t len = end - start, p = 1;
            while (p < len)
                p *= 2;
            int valid = start == 0 || start % p == 0;
            mem_arm(&W->st, end);
            int err = ll_merkle_subtree_hash(mem_get, &W->st, start, end, got);
            if (!valid) {
                assert_int_equal(err, LL_ERR_RANGE);
                continue;
            }
            assert_int_equal(err, LL_OK);
            assert_int_equal(W->st.outside, 0);
            ref_mth(W->lh + start, len, want);
            assert_memory_equal(got, want, H);
        }
    }
}

static void test_subtree_hash_rejects_empty_and_unaligned_ranges(void **state)
{
    (void)state;
    uint8_t out[H];

    mem_arm(&W->st, NLEAVES);
    assert_int_equal(ll_merkle_subtree_hash(mem_get, &W->st, 5, 5, out), LL_ERR_RANGE);
    assert_int_equal(ll_merkle_subtree_hash(mem_get, &W->st, 5, 3, out), LL_ERR_RANGE);
    assert_int_equal(ll_merkle_subtree_hash(mem_get, &W->st, 1, 3, out), LL_ERR_RANGE);
    assert_int_equal(ll_merkle_subtree_hash(mem_get, &W->st, 2, 5, out), LL_ERR_RANGE);
    assert_int_equal(ll_merkle_subtree_hash(mem_get, &W->st, 4, 9, out), LL_ERR_RANGE);
    assert_int_equal(ll_merkle_subtree_hash(mem_get, &W->st, 1, UINT64_MAX, out),
                     LL_ERR_RANGE);
    assert_int_equal(W->st.gets, 0);
}

/* ---------------------------------------------------------------------- */
/* Rejections */

static void test_inclusion_proof_rejects_wrong_root(void **state)
{
    (void)state;
    hash_t proof[LL_MERKLE_MAX_PROOF];
    uint8_t root[H];
    size_t count;

    for (uint64_t n = 1; n <= 40; n++) {
        ref_mth(W->lh, n, root);
        root[n % H] ^= 0x01;
        for (uint64_t i = 0; i < n; i++) {
            assert_int_equal(ll_merkle_inclusion_proof(mem_get, &W->st, i, n, proof, &count),
                             LL_OK);
            assert_int_equal(ll_merkle_verify_inclusion(W->lh[i], i, n,
                                                        (const uint8_t(*)[H])proof, count,
                                                        root),
                             LL_ERR_BAD_PROOF);
        }
    }
}

static void test_inclusion_proof_rejects_wrong_leaf_or_index(void **state)
{
    (void)state;
    hash_t proof[LL_MERKLE_MAX_PROOF];
    uint8_t root[H];
    size_t count;

    for (uint64_t n = 2; n <= 40; n++) {
        ref_mth(W->lh, n, root);
        for (uint64_t i = 0; i < n; i++) {
            const uint8_t(*p)[H] = (const uint8_t(*)[H])proof;
            uint64_t j = (i + 1) % n;
            assert_int_equal(ll_merkle_inclusion_proof(mem_get, &W->st, i, n, proof, &count),
                             LL_OK);
            /* Another leaf at this position, this leaf at another position. */
            assert_int_equal(ll_merkle_verify_inclusion(W->lh[j], i, n, p, count, root),
                             LL_ERR_BAD_PROOF);
            assert_int_equal(ll_merkle_verify_inclusion(W->lh[i], j, n, p, count, root),
                             LL_ERR_BAD_PROOF);
        }
    }
}

static void test_inclusion_proof_rejects_tampered_truncated_or_extended_path(void **state)
{
    (void)state;
    hash_t proof[LL_MERKLE_MAX_PROOF + 1];
    uint8_t root[H];
    size_t count;

    for (uint64_t n = 1; n <= EXHAUSTIVE; n++) {
        ref_mth(W->lh, n, root);
        for (uint64_t i = 0; i < n; i++) {
            const uint8_t(*p)[H] = (const uint8_t(*)[H])proof;
            assert_int_equal(ll_merkle_inclusion_proof(mem_get, &W->st, i, n, proof, &count),
                             LL_OK);
            for (size_t k = 0; k < count; k++) {
                proof[k][k % H] ^= 0x80;
                assert_int_equal(ll_merkle_verify_inclusion(W->lh[i], i, n, p, count, root),
                                 LL_ERR_BAD_PROOF);
                proof[k][k % H] ^= 0x80;
            }
            if (count) {
                hash_t *exact = exact_copy(proof, count - 1);
                assert_int_equal(ll_merkle_verify_inclusion(W->lh[i], i, n,
                                                            (const uint8_t(*)[H])exact,
                                                            count - 1, root),
                                 LL_ERR_BAD_PROOF);
                free(exact);
            }
            memcpy(proof[count], W->lh[i], H);
            assert_int_equal(ll_merkle_verify_inclusion(W->lh[i], i, n, p, count + 1, root),
                             LL_ERR_BAD_PROOF);
            assert_int_equal(ll_merkle_verify_inclusion(W->lh[i], i, n, p, count, root),
                             LL_OK);
        }
    }
}

static void test_inclusion_verify_rejects_index_beyond_size_and_oversized_proof(void **state)
{
    (void)state;
    static hash_t big[LL_MERKLE_MAX_PROOF + 1];
    hash_t proof[LL_MERKLE_MAX_PROOF];
    uint8_t root[H];
    size_t count;

    ref_mth(W->lh, 1, root);
    /* Size 1: the root is the leaf hash itself, with an empty path. */
    assert_int_equal(ll_merkle_verify_inclusion(W->lh[0], 0, 1, NULL, 0, root), LL_OK);
    assert_int_equal(ll_merkle_verify_inclusion(W->lh[0], 1, 1, NULL, 0, root),
                     LL_ERR_BAD_PROOF);
    assert_int_equal(ll_merkle_verify_inclusion(W->lh[0], 0, 0, NULL, 0, root),
                     LL_ERR_BAD_PROOF);
    assert_int_equal(ll_merkle_verify_inclusion(W->lh[0], UINT64_MAX, UINT64_MAX, NULL, 0,
                                                root),
                     LL_ERR_BAD_PROOF);

    ref_mth(W->lh, 8, root);
    assert_int_equal(ll_merkle_inclusion_proof(mem_get, &W->st, 3, 8, proof, &count), LL_OK);
    assert_int_equal(ll_merkle_verify_inclusion(W->lh[3], 8, 8, (const uint8_t(*)[H])proof,
                                                count, root),
                     LL_ERR_BAD_PROOF);
    memcpy(big, proof, count * H);
    assert_int_equal(ll_merkle_verify_inclusion(W->lh[3], 3, 8, (const uint8_t(*)[H])big,
                                                LL_MERKLE_MAX_PROOF + 1, root),
                     LL_ERR_BAD_PROOF);
    /* Garbage at the largest possible size is rejected, not crashed on. */
    assert_int_equal(ll_merkle_verify_inclusion(W->lh[3], UINT64_MAX - 1, UINT64_MAX,
                                                (const uint8_t(*)[H])big, 64, root),
                     LL_ERR_BAD_PROOF);
}

static void test_consistency_proof_rejects_wrong_roots_and_tampering(void **state)
{
    (void)state;
    hash_t proof[LL_MERKLE_MAX_PROOF + 1];
    uint8_t r1[H], r2[H];
    size_t count;

    for (uint64_t n = 2; n <= EXHAUSTIVE; n++) {
        ref_mth(W->lh, n, r2);
        for (uint64_t m = 1; m < n; m++) {
            const uint8_t(*p)[H] = (const uint8_t(*)[H])proof;
            ref_mth(W->lh, m, r1);
            assert_int_equal(ll_merkle_consistency_proof(mem_get, &W->st, m, n, proof, &count),
                             LL_OK);
            assert_true(count > 0);

            r1[0] ^= 1;
            assert_int_equal(ll_merkle_verify_consistency(m, n, r1, r2, p, count),
                             LL_ERR_BAD_PROOF);
            r1[0] ^= 1;
            r2[0] ^= 1;
            assert_int_equal(ll_merkle_verify_consistency(m, n, r1, r2, p, count),
                             LL_ERR_BAD_PROOF);
            r2[0] ^= 1;
            /* Proving against the wrong sizes. */
            if (m + 1 < n)
                assert_int_equal(ll_merkle_verify_consistency(m + 1, n, r1, r2, p, count),
                                 LL_ERR_BAD_PROOF);
            for (size_t k = 0; k < count; k++) {
                proof[k][(k + 7) % H] ^= 0x10;
                assert_int_equal(ll_merkle_verify_consistency(m, n, r1, r2, p, count),
                                 LL_ERR_BAD_PROOF);
                proof[k][(k + 7) % H] ^= 0x10;
            }
            if (count > 0) { /* always, but the compiler cannot know */
                hash_t *exact = exact_copy(proof, count - 1);
                assert_int_equal(ll_merkle_verify_consistency(m, n, r1, r2,
                                                              (const uint8_t(*)[H])exact,
                                                              count - 1),
                                 LL_ERR_BAD_PROOF);
                free(exact);
            }
            memcpy(proof[count], r2, H);
            assert_int_equal(ll_merkle_verify_consistency(m, n, r1, r2, p, count + 1),
                             LL_ERR_BAD_PROOF);
            assert_int_equal(ll_merkle_verify_consistency(m, n, r1, r2, p, count), LL_OK);
        }
    }
}

/*
 * The RFC verification loops without their final checks, so a test can
 * forge the roots a truncated or extended proof would "prove". A verifier
 * that skipped the sn bookkeeping would accept those forgeries.
 */
static uint64_t fold_inclusion(const uint8_t leaf[H], uint64_t fn, uint64_t size,
                               const hash_t *p, size_t count, uint8_t r[H])
{
    uint64_t sn = size - 1;
    memcpy(r, leaf, H);
    for (size_t i = 0; i < count; i++) {
        if ((fn & 1) || fn == sn) {
            ref_node_hash(p[i], r, r);
            while (!(fn & 1) && fn) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            ref_node_hash(r, p[i], r);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return sn;
}

static uint64_t fold_consistency(uint64_t m, uint64_t n, const uint8_t old_root[H],
                                 const hash_t *p, size_t count, uint8_t fr[H], uint8_t sr[H])
{
    uint64_t fn = m - 1, sn = n - 1;
    size_t i = 0;
    const uint8_t *first = (m & (m - 1)) == 0 ? old_root : p[i++];
    while (fn & 1) {
        fn >>= 1;
        sn >>= 1;
    }
    memcpy(fr, first, H);
    memcpy(sr, first, H);
    for (; i < count; i++) {
        if ((fn & 1) || fn == sn) {
            ref_node_hash(p[i], fr, fr);
            ref_node_hash(p[i], sr, sr);
            while (!(fn & 1) && fn) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            ref_node_hash(sr, p[i], sr);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return sn;
}

static void test_inclusion_proof_rejects_partial_or_padded_path_with_forged_root(void **state)
{
    (void)state;
    hash_t proof[LL_MERKLE_MAX_PROOF + 1];
    uint8_t root[H], forged[H];
    size_t count;

    for (uint64_t n = 1; n <= 40; n++) {
        ref_mth(W->lh, n, root);
        for (uint64_t i = 0; i < n; i++) {
            const uint8_t(*p)[H] = (const uint8_t(*)[H])proof;
            assert_int_equal(ll_merkle_inclusion_proof(mem_get, &W->st, i, n, proof, &count),
                             LL_OK);
            assert_int_equal(fold_inclusion(W->lh[i], i, n, proof, count, forged), 0);
            assert_memory_equal(forged, root, H);
            /* A prefix proves only an inner node, never the tree of size n. */
            for (size_t c = 0; c < count; c++) {
                assert_true(fold_inclusion(W->lh[i], i, n, proof, c, forged) != 0);
                assert_int_equal(ll_merkle_verify_inclusion(W->lh[i], i, n, p, c, forged),
                                 LL_ERR_BAD_PROOF);
            }
            /* Extra hashes past the root, with the root forged to match. */
            memcpy(proof[count], W->lh[(i + 3) % n], H);
            fold_inclusion(W->lh[i], i, n, proof, count + 1, forged);
            assert_int_equal(ll_merkle_verify_inclusion(W->lh[i], i, n, p, count + 1, forged),
                             LL_ERR_BAD_PROOF);
        }
    }
}

static void test_consistency_proof_rejects_partial_or_padded_proof_with_forged_roots(
    void **state)
{
    (void)state;
    hash_t proof[LL_MERKLE_MAX_PROOF + 1];
    uint8_t r1[H], r2[H], f1[H], f2[H];
    size_t count;

    for (uint64_t n = 2; n <= 40; n++) {
        ref_mth(W->lh, n, r2);
        for (uint64_t m = 1; m < n; m++) {
            const uint8_t(*p)[H] = (const uint8_t(*)[H])proof;
            int pow2 = (m & (m - 1)) == 0;
            ref_mth(W->lh, m, r1);
            assert_int_equal(ll_merkle_consistency_proof(mem_get, &W->st, m, n, proof, &count),
                             LL_OK);
            assert_int_equal(fold_consistency(m, n, r1, proof, count, f1, f2), 0);
            assert_memory_equal(f1, r1, H);
            assert_memory_equal(f2, r2, H);
            for (size_t c = pow2 ? 0 : 1; c < count; c++) {
                assert_true(fold_consistency(m, n, r1, proof, c, f1, f2) != 0);
                if (pow2) /* the prepended old root is the claimed one */
                    assert_memory_equal(f1, r1, H);
                assert_int_equal(ll_merkle_verify_consistency(m, n, f1, f2, p, c),
                                 LL_ERR_BAD_PROOF);
            }
            if (!pow2) { /* for pow2 the forged old root changes the fold itself */
                memcpy(proof[count], W->lh[m], H);
                fold_consistency(m, n, r1, proof, count + 1, f1, f2);
                assert_int_equal(ll_merkle_verify_consistency(m, n, f1, f2, p, count + 1),
                                 LL_ERR_BAD_PROOF);
            }
        }
    }
}

static void test_consistency_verify_handles_equal_empty_and_reversed_sizes(void **state)
{
    (void)state;
    static hash_t big[LL_MERKLE_MAX_PROOF + 1];
    hash_t proof[LL_MERKLE_MAX_PROOF];
    uint8_t r5[H], r8[H], empty[H];
    size_t count;

    ref_mth(W->lh, 5, r5);
    ref_mth(W->lh, 8, r8);
    ref_mth(W->lh, 0, empty);
    const uint8_t(*p)[H] = (const uint8_t(*)[H])proof;
    assert_int_equal(ll_merkle_consistency_proof(mem_get, &W->st, 5, 8, proof, &count), LL_OK);

    /* Same size: empty proof and identical roots, nothing else. */
    assert_int_equal(ll_merkle_verify_consistency(8, 8, r8, r8, NULL, 0), LL_OK);
    assert_int_equal(ll_merkle_verify_consistency(8, 8, r5, r8, NULL, 0), LL_ERR_BAD_PROOF);
    assert_int_equal(ll_merkle_verify_consistency(8, 8, r8, r8, p, 1), LL_ERR_BAD_PROOF);
    /* The empty tree is a prefix of every tree. */
    assert_int_equal(ll_merkle_verify_consistency(0, 8, empty, r8, NULL, 0), LL_OK);
    assert_int_equal(ll_merkle_verify_consistency(0, 0, empty, empty, NULL, 0), LL_OK);
    assert_int_equal(ll_merkle_verify_consistency(0, 8, empty, r8, p, 1), LL_ERR_BAD_PROOF);
    /* A non-empty "old root" at size 0 is not the empty tree. */
    assert_int_equal(ll_merkle_verify_consistency(0, 8, r8, r8, NULL, 0), LL_ERR_BAD_PROOF);
    /* Growth needs a proof. */
    assert_int_equal(ll_merkle_verify_consistency(5, 8, r5, r8, NULL, 0), LL_ERR_BAD_PROOF);
    /* Shrinking is never consistent. */
    assert_int_equal(ll_merkle_verify_consistency(8, 5, r8, r5, p, count), LL_ERR_BAD_PROOF);
    assert_int_equal(ll_merkle_verify_consistency(8, 5, r8, r5, NULL, 0), LL_ERR_BAD_PROOF);
    /* Oversized proofs are rejected before being read. */
    memcpy(big, proof, count * H);
    assert_int_equal(ll_merkle_verify_consistency(5, 8, r5, r8, (const uint8_t(*)[H])big,
                                                  LL_MERKLE_MAX_PROOF + 1),
                     LL_ERR_BAD_PROOF);
    assert_int_equal(ll_merkle_verify_consistency(5, 8, r5, r8, p, count), LL_OK);
    assert_int_equal(ll_merkle_verify_consistency(1, UINT64_MAX, r5, r8,
                                                  (const uint8_t(*)[H])big,
                                                  LL_MERKLE_MAX_PROOF),
                     LL_ERR_BAD_PROOF);
}

static void test_proof_builders_reject_out_of_range_sizes(void **state)
{
    (void)state;
    hash_t proof[LL_MERKLE_MAX_PROOF];
    size_t count = 99;

    mem_arm(&W->st, 10);
    assert_int_equal(ll_merkle_inclusion_proof(mem_get, &W->st, 10, 10, proof, &count),
                     LL_ERR_RANGE);
    assert_int_equal(ll_merkle_inclusion_proof(mem_get, &W->st, 11, 10, proof, &count),
                     LL_ERR_RANGE);
    assert_int_equal(ll_merkle_inclusion_proof(mem_get, &W->st, 0, 0, proof, &count),
                     LL_ERR_RANGE);
    assert_int_equal(ll_merkle_consistency_proof(mem_get, &W->st, 0, 10, proof, &count),
                     LL_ERR_RANGE);
    assert_int_equal(ll_merkle_consistency_proof(mem_get, &W->st, 0, 0, proof, &count),
                     LL_ERR_RANGE);
    assert_int_equal(ll_merkle_consistency_proof(mem_get, &W->st, 11, 10, proof, &count),
                     LL_ERR_RANGE);
    assert_int_equal(W->st.gets, 0);
    assert_int_equal(ll_merkle_consistency_proof(mem_get, &W->st, 10, 10, proof, &count),
                     LL_OK);
    assert_int_equal(count, 0);
}

/* ---------------------------------------------------------------------- */
/* Store errors */

static void test_store_errors_propagate_unchanged(void **state)
{
    (void)state;
    hash_t proof[LL_MERKLE_MAX_PROOF];
    uint8_t out[H];
    size_t count;
    mem_store_t *st = &W->st;
    const uint64_t n = 1000;

    /* Fail each lookup in turn; the caller sees the store's own error. */
    for (unsigned long k = 1;; k++) {
        mem_arm(st, n);
        st->fail_get_at = k;
        int err = ll_merkle_root(mem_get, st, n, out);
        if (err == LL_OK)
            break;
        assert_int_equal(err, LL_ERR_STORE);
    }
    for (unsigned long k = 1;; k++) {
        mem_arm(st, n);
        st->fail_get_at = k;
        int err = ll_merkle_inclusion_proof(mem_get, st, 777, n, proof, &count);
        if (err == LL_OK)
            break;
        assert_int_equal(err, LL_ERR_STORE);
    }
    for (unsigned long k = 1;; k++) {
        mem_arm(st, n);
        st->fail_get_at = k;
        int err = ll_merkle_consistency_proof(mem_get, st, 333, n, proof, &count);
        if (err == LL_OK)
            break;
        assert_int_equal(err, LL_ERR_STORE);
    }
    /* Missing nodes come back as the store reports them. */
    mem_arm(st, UINT64_MAX);
    assert_int_equal(ll_merkle_root(mem_get, st, NLEAVES + 1, out), LL_ERR_NOT_FOUND);
    mem_arm(st, 0);
}

/* ---------------------------------------------------------------------- */
/* Frontier */

static void assert_same_frontier(const ll_merkle_frontier_t *a, const ll_merkle_frontier_t *b)
{
    assert_int_equal(a->size, b->size);
    for (unsigned l = 0; l < LL_MERKLE_MAX_DEPTH; l++)
        if (a->size & (UINT64_C(1) << l))
            assert_memory_equal(a->peaks[l], b->peaks[l], H);
}

static void test_frontier_load_equals_appended_frontier_at_every_size(void **state)
{
    (void)state;
    ll_merkle_frontier_t f;
    uint8_t a[H], b[H];

    for (uint64_t n = 0; n <= NLEAVES; n++) {
        memset(&f, 0xee, sizeof f);
        mem_arm(&W->st, n);
        assert_int_equal(ll_merkle_frontier_load(&f, mem_get, &W->st, n), LL_OK);
        assert_int_equal(W->st.outside, 0);
        assert_int_equal(W->st.gets, __builtin_popcountll(n));
        assert_same_frontier(&f, &W->fr[n]);
        ll_merkle_frontier_root(&f, a);
        ll_merkle_frontier_root(&W->fr[n], b);
        assert_memory_equal(a, b, H);
    }
}

static void test_frontier_load_failure_leaves_frontier_unchanged(void **state)
{
    (void)state;
    ll_merkle_frontier_t f = W->fr[5], before = W->fr[5];

    mem_arm(&W->st, 1023);
    W->st.fail_get_at = 4;
    assert_int_equal(ll_merkle_frontier_load(&f, mem_get, &W->st, 1023), LL_ERR_STORE);
    assert_memory_equal(&f, &before, sizeof f);
    mem_arm(&W->st, 0);
}

static void test_frontier_append_emits_leaf_then_completed_parents(void **state)
{
    (void)state;
    mem_store_t st = {0};
    ll_merkle_frontier_t f;

    ll_merkle_frontier_init(&f);
    for (uint64_t i = 0; i < 64; i++) {
        unsigned long before = st.emits;
        assert_int_equal(ll_merkle_frontier_append(&f, W->lh[i], mem_emit, &st), LL_OK);
        /* One leaf plus one node per trailing one bit of the old size. */
        assert_int_equal(st.emits - before, 1 + (unsigned long)__builtin_ctzll(~i));
        assert_memory_equal(st.lv[0][i], W->lh[i], H);
    }
    /* Every stored node is the reference hash of the leaves it covers. */
    for (unsigned l = 0; l <= 6; l++) {
        assert_int_equal(st.n[l], 64u >> l);
        for (uint64_t j = 0; j < st.n[l]; j++) {
            uint8_t want[H];
            ref_mth(W->lh + (j << l), UINT64_C(1) << l, want);
            assert_memory_equal(st.lv[l][j], want, H);
        }
    }
    mem_free(&st);
}

static void test_frontier_append_emit_error_leaves_frontier_unchanged(void **state)
{
    (void)state;

    for (uint64_t n = 0; n <= EXHAUSTIVE; n++) {
        unsigned long nemit = 1 + (unsigned long)__builtin_ctzll(~n);
        for (unsigned long k = 1; k <= nemit; k++) {
            mem_store_t st = {0};
            ll_merkle_frontier_t f = W->fr[n], before = W->fr[n];
            st.fail_emit_at = k;
            st.unordered = 1;
            assert_int_equal(ll_merkle_frontier_append(&f, W->lh[n], mem_emit, &st),
                             LL_ERR_FULL);
            assert_memory_equal(&f, &before, sizeof f);
            assert_int_equal(st.emits, k);
            mem_free(&st);
        }
        /* And the retry then succeeds as if nothing had happened. */
        ll_merkle_frontier_t f = W->fr[n];
        assert_int_equal(ll_merkle_frontier_append(&f, W->lh[n], NULL, NULL), LL_OK);
        assert_same_frontier(&f, &W->fr[n + 1]);
    }
}

static void test_frontier_refuses_to_overflow_size(void **state)
{
    (void)state;
    ll_merkle_frontier_t f, before;

    ll_merkle_frontier_init(&f);
    f.size = UINT64_MAX;
    before = f;
    assert_int_equal(ll_merkle_frontier_append(&f, W->lh[0], NULL, NULL), LL_ERR_RANGE);
    assert_memory_equal(&f, &before, sizeof f);
}

/* ---------------------------------------------------------------------- */
/* Cost: lookups per root/proof are O(log n) */

static unsigned log2_ceil(uint64_t n)
{
    unsigned l = 0;
    while (l < 64 && (UINT64_C(1) << l) < n)
        l++;
    return l;
}

static void test_lookups_stay_logarithmic_at_a_million_leaves(void **state)
{
    (void)state;
    const uint64_t N = (UINT64_C(1) << 20) + 0x5555;
    mem_store_t *st = calloc(1, sizeof *st);
    hash_t proof[LL_MERKLE_MAX_PROOF];
    ll_merkle_frontier_t f, g;
    uint8_t root[H], froot[H], lh[H];
    size_t count;

    ll_merkle_frontier_init(&f);
    for (uint64_t i = 0; i < N; i++) {
        ll_sha256(&i, sizeof i, lh);
        assert_int_equal(ll_merkle_frontier_append(&f, lh, mem_emit, st), LL_OK);
    }
    const uint64_t sizes[] = {UINT64_C(1) << 20, (UINT64_C(1) << 20) + 1, N - 1, N};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        uint64_t n = sizes[s];
        unsigned bound = 2 * log2_ceil(n);
        mem_arm(st, n);
        assert_int_equal(ll_merkle_frontier_load(&g, mem_get, st, n), LL_OK);
        ll_merkle_frontier_root(&g, froot);
        mem_arm(st, n);
        assert_int_equal(ll_merkle_root(mem_get, st, n, root), LL_OK);
        assert_int_equal(st->gets, __builtin_popcountll(n));
        assert_memory_equal(root, froot, H);

        const uint64_t idx[] = {0, 1, n / 2, n - 1, n - 2, (UINT64_C(1) << 20) - 1,
                                0x5554 % n, 987654 % n};
        for (size_t i = 0; i < sizeof idx / sizeof idx[0]; i++) {
            mem_arm(st, n);
            assert_int_equal(ll_merkle_inclusion_proof(mem_get, st, idx[i], n, proof, &count),
                             LL_OK);
            assert_true(st->gets <= bound);
            assert_true(st->gets <= 2 * 64);
            assert_int_equal(st->outside, 0);
            assert_int_equal(mem_get(st, 0, idx[i], lh), LL_OK);
            assert_int_equal(ll_merkle_verify_inclusion(lh, idx[i], n,
                                                        (const uint8_t(*)[H])proof, count,
                                                        root),
                             LL_OK);
        }
        const uint64_t old[] = {1, 2, 3, n / 2, n - 1, n, (UINT64_C(1) << 19) + 3, 0x5555};
        for (size_t i = 0; i < sizeof old / sizeof old[0]; i++) {
            uint8_t oroot[H];
            mem_arm(st, n);
            assert_int_equal(ll_merkle_consistency_proof(mem_get, st, old[i], n, proof, &count),
                             LL_OK);
            assert_true(st->gets <= 2 * 64);
            assert_int_equal(st->outside, 0);
            mem_arm(st, old[i]);
            assert_int_equal(ll_merkle_root(mem_get, st, old[i], oroot), LL_OK);
            assert_int_equal(ll_merkle_verify_consistency(old[i], n, oroot, root,
                                                          (const uint8_t(*)[H])proof, count),
                             LL_OK);
        }
    }
    mem_free(st);
    free(st);
}

/* A store that pretends every complete node of a huge tree exists. */
static int fake_get(void *ctx, unsigned level, uint64_t index, uint8_t out[H])
{
    mem_store_t *s = ctx;
    uint64_t key[2] = {level, index};
    s->gets++;
    if (index >= (s->limit >> level))
        s->outside++;
    ll_sha256(key, sizeof key, out);
    return LL_OK;
}

static void test_lookups_stay_logarithmic_at_huge_sizes(void **state)
{
    (void)state;
    const uint64_t sizes[] = {UINT64_MAX, UINT64_MAX - 1, UINT64_C(1) << 63,
                              (UINT64_C(1) << 63) + 1, UINT64_C(0xaaaaaaaaaaaaaaaa),
                              UINT64_C(0x5555555555555555)};
    hash_t proof[LL_MERKLE_MAX_PROOF];
    mem_store_t st = {0};
    uint8_t out[H];
    size_t count;

    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        uint64_t n = sizes[s];
        mem_arm(&st, n);
        assert_int_equal(ll_merkle_root(fake_get, &st, n, out), LL_OK);
        assert_int_equal(st.gets, __builtin_popcountll(n));
        const uint64_t idx[] = {0, n - 1, n / 2, n / 3, UINT64_C(1) << 62};
        for (size_t i = 0; i < sizeof idx / sizeof idx[0]; i++) {
            mem_arm(&st, n);
            assert_int_equal(ll_merkle_inclusion_proof(fake_get, &st, idx[i], n, proof, &count),
                             LL_OK);
            assert_true(count <= 64);
            assert_true(st.gets <= 2 * 64);
            assert_int_equal(st.outside, 0);
        }
        const uint64_t old[] = {1, 2, n - 1, n / 2, n / 3, UINT64_C(1) << 62};
        for (size_t i = 0; i < sizeof old / sizeof old[0]; i++) {
            mem_arm(&st, n);
            assert_int_equal(ll_merkle_consistency_proof(fake_get, &st, old[i], n, proof,
                                                         &count),
                             LL_OK);
            assert_true(count <= LL_MERKLE_MAX_PROOF);
            assert_true(st.gets <= 2 * 64);
            assert_int_equal(st.outside, 0);
        }
    }
}

int main(void)
{
    const struct CMUnitTest rfc[] = {
        cmocka_unit_test_setup_teardown(test_root_matches_rfc_vectors, rfc_setup, rfc_teardown),
        cmocka_unit_test(test_empty_root_is_sha256_of_nothing),
        cmocka_unit_test(test_leaf_and_node_hashes_use_domain_prefixes),
        cmocka_unit_test_setup_teardown(test_inclusion_proofs_match_rfc_vectors, rfc_setup,
                                        rfc_teardown),
        cmocka_unit_test_setup_teardown(test_consistency_proofs_match_rfc_vectors, rfc_setup,
                                        rfc_teardown),
    };
    const struct CMUnitTest tree[] = {
        cmocka_unit_test(test_every_size_to_70_matches_reference),
        cmocka_unit_test(test_edge_sizes_to_1025_match_reference),
        cmocka_unit_test(test_subtree_hash_matches_reference_for_rfc_ranges),
        cmocka_unit_test(test_subtree_hash_rejects_empty_and_unaligned_ranges),
        cmocka_unit_test(test_inclusion_proof_rejects_wrong_root),
        cmocka_unit_test(test_inclusion_proof_rejects_wrong_leaf_or_index),
        cmocka_unit_test(test_inclusion_proof_rejects_tampered_truncated_or_extended_path),
        cmocka_unit_test(test_inclusion_verify_rejects_index_beyond_size_and_oversized_proof),
        cmocka_unit_test(test_consistency_proof_rejects_wrong_roots_and_tampering),
        cmocka_unit_test(test_inclusion_proof_rejects_partial_or_padded_path_with_forged_root),
        cmocka_unit_test(test_consistency_proof_rejects_partial_or_padded_proof_with_forged_roots),
        cmocka_unit_test(test_consistency_verify_handles_equal_empty_and_reversed_sizes),
        cmocka_unit_test(test_proof_builders_reject_out_of_range_sizes),
        cmocka_unit_test(test_store_errors_propagate_unchanged),
        cmocka_unit_test(test_frontier_load_equals_appended_frontier_at_every_size),
        cmocka_unit_test(test_frontier_load_failure_leaves_frontier_unchanged),
        cmocka_unit_test(test_frontier_append_emits_leaf_then_completed_parents),
        cmocka_unit_test(test_frontier_append_emit_error_leaves_frontier_unchanged),
        cmocka_unit_test(test_frontier_refuses_to_overflow_size),
        cmocka_unit_test(test_lookups_stay_logarithmic_at_a_million_leaves),
        cmocka_unit_test(test_lookups_stay_logarithmic_at_huge_sizes),
    };
    int failed = cmocka_run_group_tests_name("merkle_rfc_vectors", rfc, NULL, NULL);
    failed += cmocka_run_group_tests_name("merkle_tree", tree, group_setup, group_teardown);
    return failed ? 1 : 0;
}
