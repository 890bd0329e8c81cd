/*
 * ll_tiles: the spec's path encoding and examples, strict parsing, the
 * resources each growth step adds, and hash tiles equal to the Merkle tree
 * hashes of their ranges (computed here from the leaves, not from stored
 * nodes).
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
#include "ll_tiles.h"

static void check_path(int level, uint64_t index, unsigned width, const char *want)
{
    char buf[LL_TILES_PATH_MAX];
    ll_tile_t t = {.level = level, .index = index, .width = width}, back;
    assert_int_equal(ll_tiles_path(&t, buf, sizeof buf), LL_OK);
    assert_string_equal(buf, want);
    assert_int_equal(ll_tiles_path_parse(buf, &back), LL_OK);
    assert_int_equal(back.level, level);
    assert_true(back.index == index);
    assert_int_equal(back.width, width);
}

static void test_path_encoding_matches_spec_examples(void **state)
{
    (void)state;
    check_path(0, 1234067, 256, "tile/0/x001/x234/067");
    check_path(0, 0, 256, "tile/0/000");
    check_path(1, 999, 17, "tile/1/999.p/17");
    check_path(2, 1000, 1, "tile/2/x001/000.p/1");
    check_path(LL_TILES_ENTRIES, 273, 112, "tile/entries/273.p/112");
    check_path(63, UINT64_MAX, 255, "tile/63/x018/x446/x744/x073/x709/x551/615.p/255");
    char buf[LL_TILES_PATH_MAX];
    ll_tile_t bad = {.level = 64, .index = 0, .width = 1};
    assert_int_equal(ll_tiles_path(&bad, buf, sizeof buf), LL_ERR_RANGE);
    bad = (ll_tile_t){.level = 0, .index = 0, .width = 0};
    assert_int_equal(ll_tiles_path(&bad, buf, sizeof buf), LL_ERR_RANGE);
    bad = (ll_tile_t){.level = 0, .index = 1234067, .width = 3};
    assert_int_equal(ll_tiles_path(&bad, buf, 12), LL_ERR_BUFFER);
}

static void test_path_parse_refuses_non_canonical_paths(void **state)
{
    (void)state;
    static const char *bad[] = {
        "tile/00/000", "tile/01/000", "tile/64/000", "tile/0/00", "tile/0/0000",
        "tile/0/001/234", "tile/0/x001", "tile/0/x001/", "tile/0/000.p/0",
        "tile/0/000.p/256", "tile/0/000.p/07", "tile/0/000.p/", "tile/0/000.q/1",
        "tile/0/../000", "tile/0/000/", "tile/8/0/000", "tile/entries/x1/000",
        "tiles/0/000", "checkpoint", "tile/0/x001/x002/x003/x004/x005/x006/x007/008",
        "tile/0/x999/x999/x999/x999/x999/x999/999", "tile/0/000.p/1/", "",
    };
    ll_tile_t t;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (ll_tiles_path_parse(bad[i], &t) == LL_OK)
            fail_msg("accepted %s", bad[i]);
}

typedef struct collect {
    int n;
    ll_tile_t t[64];
} collect_t;

static int collect_fn(void *ctx, const ll_tile_t *t)
{
    collect_t *c = ctx;
    assert_true(c->n < 64);
    c->t[c->n++] = *t;
    return LL_OK;
}

static int count_full(const collect_t *c, int level)
{
    int n = 0;
    for (int i = 0; i < c->n; i++)
        n += c->t[i].level == level && c->t[i].width == LL_TILES_WIDTH;
    return n;
}

static unsigned partial_width(const collect_t *c, int level)
{
    for (int i = 0; i < c->n; i++)
        if (c->t[i].level == level && c->t[i].width < LL_TILES_WIDTH)
            return c->t[i].width;
    return 0;
}

static void test_changed_matches_spec_example_sizes(void **state)
{
    (void)state;
    /* Size 70,000 from scratch: 273 full level-0 tiles (too many to collect
     * here, so counted in two steps), partial 112; one full level-1 tile,
     * partial 17; partial level-2 of width 1. */
    collect_t c = {0};
    assert_int_equal(ll_tiles_changed(69800, 70000, collect_fn, &c), LL_OK);
    assert_int_equal(partial_width(&c, 0), 112);
    assert_int_equal(partial_width(&c, LL_TILES_ENTRIES), 112);
    assert_int_equal(partial_width(&c, 1), 17);
    assert_int_equal(partial_width(&c, 2), 0); /* unchanged since 69,800 */
    assert_int_equal(count_full(&c, 0), 1);    /* tile 272 completes at 69,888 */
    assert_int_equal(count_full(&c, LL_TILES_ENTRIES), 1);
    assert_true(c.t[0].level == 0 && c.t[0].index == 272 && c.t[0].width == 256);
    assert_true(c.t[1].level == LL_TILES_ENTRIES && c.t[1].index == 272);

    memset(&c, 0, sizeof c);
    assert_int_equal(ll_tiles_changed(65535, 65536, collect_fn, &c), LL_OK);
    /* 65,536 = 256^2: level-0 tile 255 and level-1 tile 0 complete; level 2
     * gets its first partial hash; no partial at levels 0 and 1. */
    assert_int_equal(count_full(&c, 0), 1);
    assert_int_equal(count_full(&c, 1), 1);
    assert_int_equal(partial_width(&c, 0), 0);
    assert_int_equal(partial_width(&c, 1), 0);
    assert_int_equal(partial_width(&c, 2), 1);

    /* Size 256: a full level-0 tile and a level-1 partial of width 1. */
    memset(&c, 0, sizeof c);
    assert_int_equal(ll_tiles_changed(0, 256, collect_fn, &c), LL_OK);
    assert_int_equal(c.n, 3);
    assert_int_equal(count_full(&c, 0), 1);
    assert_int_equal(partial_width(&c, 1), 1);

    memset(&c, 0, sizeof c);
    assert_int_equal(ll_tiles_changed(5, 5, collect_fn, &c), LL_OK);
    assert_int_equal(c.n, 0);
    assert_int_equal(ll_tiles_changed(0, 0, collect_fn, &c), LL_OK);
    assert_int_equal(c.n, 0);
}

/* Every growth step from 0 to N, done in random increments, writes each
 * full tile exactly once and ends with the partials of N. */
static void test_changed_steps_cover_every_tile_once(void **state)
{
    (void)state;
    enum { N = 70000 };
    static unsigned char seen0[N / 256 + 1], seen1[N / 65536 + 1];
    uint64_t size = 0;
    srand(7);
    while (size < N) {
        uint64_t next = size + 1 + (uint64_t)(rand() % 700);
        if (next > N)
            next = N;
        collect_t c = {0};
        assert_int_equal(ll_tiles_changed(size, next, collect_fn, &c), LL_OK);
        for (int i = 0; i < c.n; i++) {
            const ll_tile_t *t = &c.t[i];
            if (t->width != LL_TILES_WIDTH) {
                /* A partial is the one of `next`. */
                assert_int_equal(t->width, (next >> (8 * (t->level < 0 ? 0 : t->level))) & 0xff);
                continue;
            }
            if (t->level == 0)
                assert_int_equal(seen0[t->index]++, 0);
            if (t->level == 1)
                assert_int_equal(seen1[t->index]++, 0);
        }
        size = next;
    }
    for (int i = 0; i < N / 256; i++)
        assert_int_equal(seen0[i], 1);
    assert_int_equal(seen1[0], 1);
}

/* An in-memory tree: leaf hashes, and nodes computed by brute force. */
#define LEAVES 70000
static uint8_t (*leafh)[LL_HASH_LEN];

static void mth(uint64_t start, uint64_t end, uint8_t out[LL_HASH_LEN])
{
    if (end - start == 1) {
        memcpy(out, leafh[start], LL_HASH_LEN);
        return;
    }
    uint64_t k = 1;
    while (k << 1 < end - start)
        k <<= 1;
    uint8_t l[LL_HASH_LEN], r[LL_HASH_LEN];
    mth(start, start + k, l);
    mth(start + k, end, r);
    ll_merkle_node_hash(l, r, out);
}

static int node_fn(void *ctx, unsigned level, uint64_t index, uint8_t out[LL_HASH_LEN])
{
    uint64_t size = *(uint64_t *)ctx;
    if (level >= 64 || ((index + 1) << level) > size)
        return LL_ERR_NOT_FOUND;
    mth(index << level, (index + 1) << level, out);
    return LL_OK;
}

static void test_hash_tiles_are_subtree_hashes(void **state)
{
    (void)state;
    uint64_t size = LEAVES;
    leafh = malloc((size_t)LEAVES * LL_HASH_LEN);
    for (uint32_t i = 0; i < LEAVES; i++) {
        uint8_t b[4] = {(uint8_t)(i >> 24), (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i};
        ll_merkle_leaf_hash(b, 4, leafh[i]);
    }
    uint8_t tile[LL_TILES_WIDTH * LL_HASH_LEN], want[LL_HASH_LEN];
    /* Level 0, tile 3: leaf hashes 768..1023. */
    ll_tile_t t = {.level = 0, .index = 3, .width = 256};
    assert_int_equal(ll_tiles_hash_tile(node_fn, &size, &t, tile), LL_OK);
    assert_memory_equal(tile + 5 * LL_HASH_LEN, leafh[768 + 5], LL_HASH_LEN);
    /* Level 1, the partial tile of 70,000 (width 17): hash i = MTH of
     * leaves [256 i, 256 i + 256) offset by tile 1's start 65,536. */
    t = (ll_tile_t){.level = 1, .index = 1, .width = 17};
    assert_int_equal(ll_tiles_hash_tile(node_fn, &size, &t, tile), LL_OK);
    for (unsigned i = 0; i < 17; i++) {
        mth(65536 + 256 * i, 65536 + 256 * (i + 1), want);
        assert_memory_equal(tile + i * LL_HASH_LEN, want, LL_HASH_LEN);
    }
    /* A hash beyond the tree is an error, not zeros. */
    t.width = 18;
    assert_int_equal(ll_tiles_hash_tile(node_fn, &size, &t, tile), LL_ERR_NOT_FOUND);
    free(leafh);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path_encoding_matches_spec_examples),
        cmocka_unit_test(test_path_parse_refuses_non_canonical_paths),
        cmocka_unit_test(test_changed_matches_spec_example_sizes),
        cmocka_unit_test(test_changed_steps_cover_every_tile_once),
        cmocka_unit_test(test_hash_tiles_are_subtree_hashes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
