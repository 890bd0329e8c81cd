/*
 * ll_tiles: tlog-tiles paths, the resources a tree size adds, tile
 * contents. See ll_tiles.h.
 */
#include "ll_tiles.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "ll_err.h"

int ll_tiles_path(const ll_tile_t *t, char *out, size_t cap)
{
    char groups[8][5];
    int ng = 0, n;
    size_t len;
    uint64_t idx = t->index;

    if (t->level < LL_TILES_ENTRIES || t->level > 63 || t->width < 1 ||
        t->width > LL_TILES_WIDTH)
        return LL_ERR_RANGE;
    /* Groups from the least significant; printed most significant first. */
    do {
        snprintf(groups[ng], sizeof groups[ng], "%03u", (unsigned)(idx % 1000));
        idx /= 1000;
        ng++;
    } while (idx);
    if (t->level == LL_TILES_ENTRIES)
        n = snprintf(out, cap, "tile/entries/");
    else
        n = snprintf(out, cap, "tile/%d/", t->level);
    if (n < 0 || (size_t)n >= cap)
        return LL_ERR_BUFFER;
    len = (size_t)n;
    for (int g = ng - 1; g >= 0; g--) {
        n = snprintf(out + len, cap - len, "%s%s%s", g ? "x" : "", groups[g], g ? "/" : "");
        if (n < 0 || (size_t)n >= cap - len)
            return LL_ERR_BUFFER;
        len += (size_t)n;
    }
    if (t->width < LL_TILES_WIDTH) {
        n = snprintf(out + len, cap - len, ".p/%u", t->width);
        if (n < 0 || (size_t)n >= cap - len)
            return LL_ERR_BUFFER;
    }
    return LL_OK;
}

/* Reads a decimal without leading zeros (a lone "0" allowed when zero_ok)
 * up to a non-digit; NULL if malformed or above max. */
static const char *parse_dec(const char *p, uint64_t max, int zero_ok, uint64_t *out)
{
    uint64_t v = 0;
    const char *s = p;
    while (*p >= '0' && *p <= '9') {
        if (v > (max - (uint64_t)(*p - '0')) / 10)
            return NULL;
        v = v * 10 + (uint64_t)(*p - '0');
        p++;
    }
    if (p == s || (*s == '0' && p - s > 1) || (v == 0 && !zero_ok))
        return NULL;
    *out = v;
    return p;
}

static int is3(const char *p)
{
    return p[0] >= '0' && p[0] <= '9' && p[1] >= '0' && p[1] <= '9' && p[2] >= '0' &&
           p[2] <= '9';
}

int ll_tiles_path_parse(const char *path, ll_tile_t *out)
{
    const char *p;
    uint64_t v, idx = 0;
    int groups = 0;

    if (strncmp(path, "tile/", 5))
        return LL_ERR_INVALID;
    p = path + 5;
    if (!strncmp(p, "entries/", 8)) {
        out->level = LL_TILES_ENTRIES;
        p += 8;
    } else {
        if (!(p = parse_dec(p, 63, 1, &v)) || *p != '/')
            return LL_ERR_INVALID;
        out->level = (int)v;
        p++;
    }
    /* x-prefixed groups, then the last unprefixed one. */
    for (;;) {
        int x = *p == 'x';
        if (x)
            p++;
        if (!is3(p))
            return LL_ERR_INVALID;
        /* 7 groups reach 10^21 > 2^64: cap the count and check overflow. */
        if (++groups > 7)
            return LL_ERR_INVALID;
        uint64_t g = (uint64_t)((p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0'));
        if (idx > (UINT64_MAX - g) / 1000)
            return LL_ERR_INVALID;
        idx = idx * 1000 + g;
        p += 3;
        if (x) {
            if (*p != '/')
                return LL_ERR_INVALID;
            p++;
            continue;
        }
        break;
    }
    out->index = idx;
    out->width = LL_TILES_WIDTH;
    if (!*p)
        return LL_OK;
    if (strncmp(p, ".p/", 3) || !(p = parse_dec(p + 3, LL_TILES_WIDTH - 1, 0, &v)) || *p)
        return LL_ERR_INVALID;
    out->width = (unsigned)v;
    return LL_OK;
}

int ll_tiles_changed(uint64_t old_size, uint64_t new_size, ll_tiles_visit_fn fn,
                     void *ctx)
{
    int err;
    assert(old_size <= new_size);
    for (unsigned l = 0; l < 8; l++) {
        uint64_t o_hashes = old_size >> (8 * l), n_hashes = new_size >> (8 * l);
        if (!n_hashes)
            break;
        uint64_t first = o_hashes >> 8, end = n_hashes >> 8;
        unsigned o_w = (unsigned)(o_hashes & 0xff), n_w = (unsigned)(n_hashes & 0xff);
        for (uint64_t n = first; n <= end; n++) {
            ll_tile_t t = {.level = (int)l, .index = n, .width = LL_TILES_WIDTH};
            if (n == end) {
                /* The partial tile at new_size, unless empty or unchanged. */
                if (!n_w || (n == first && n_w == o_w))
                    break;
                t.width = n_w;
            }
            if ((err = fn(ctx, &t)))
                return err;
            if (l == 0) {
                t.level = LL_TILES_ENTRIES;
                if ((err = fn(ctx, &t)))
                    return err;
            }
        }
    }
    return LL_OK;
}

int ll_tiles_hash_tile(ll_merkle_node_fn get, void *ctx, const ll_tile_t *t, uint8_t *out)
{
    int err;
    assert(t->level >= 0 && t->level < 8 && t->width >= 1 && t->width <= LL_TILES_WIDTH);
    for (unsigned i = 0; i < t->width; i++)
        if ((err = get(ctx, (unsigned)(LL_TILES_HEIGHT * t->level),
                       t->index * LL_TILES_WIDTH + i, out + (size_t)i * LL_HASH_LEN)))
            return err;
    return LL_OK;
}
