/*
 * ll_mirror_tiles: reading a primary's tlog-tiles. See ll_mirror_tiles.h.
 */
#include "ll_mirror_tiles.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "ll_err.h"
#include "ll_tiles.h"

typedef struct buf {
    uint8_t *d;
    size_t len, cap;
} buf_t;

typedef struct tiles_src {
    char base[PATH_MAX + 16]; /* URL prefix ending in '/' */
    CURL *curl;
    buf_t b;
} tiles_src_t;

static size_t on_data(char *p, size_t sz, size_t nm, void *ctx)
{
    buf_t *b = ctx;
    size_t n = sz * nm;
    if (b->len + n > (16u << 20))
        return 0; /* no resource of a tile log is this large */
    if (b->len + n + 1 > b->cap) {
        size_t nc = (b->len + n + 1) * 2;
        uint8_t *nd = realloc(b->d, nc);
        if (!nd)
            return 0;
        b->d = nd;
        b->cap = nc;
    }
    memcpy(b->d + b->len, p, n);
    b->len += n;
    b->d[b->len] = 0;
    return n;
}

/* GET base+rel into t->b. LL_OK, LL_ERR_NOT_FOUND (404 / no such file), or
 * LL_ERR_UNAVAILABLE. */
static int fetch(tiles_src_t *t, const char *rel)
{
    char url[sizeof t->base + LL_TILES_PATH_MAX];
    long code = 0;
    t->b.len = 0;
    snprintf(url, sizeof url, "%s%s", t->base, rel);
    curl_easy_reset(t->curl);
    curl_easy_setopt(t->curl, CURLOPT_URL, url);
    curl_easy_setopt(t->curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(t->curl, CURLOPT_WRITEDATA, &t->b);
    curl_easy_setopt(t->curl, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(t->curl, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
    curl_easy_setopt(t->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(t->curl, CURLOPT_ACCEPT_ENCODING, ""); /* gzip'd bundles */
    CURLcode rc = curl_easy_perform(t->curl);
    if (rc == CURLE_FILE_COULDNT_READ_FILE)
        return LL_ERR_NOT_FOUND;
    if (rc != CURLE_OK)
        return LL_ERR_UNAVAILABLE;
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &code);
    if (code == 404)
        return LL_ERR_NOT_FOUND;
    if (code != 200 && code != 0) /* 0: file:// */
        return LL_ERR_UNAVAILABLE;
    return LL_OK;
}

static int tiles_checkpoint(void *ctx, char *note, size_t cap, size_t *len)
{
    tiles_src_t *t = ctx;
    int err = fetch(t, "checkpoint");
    if (err)
        return LL_ERR_UNAVAILABLE;
    size_t n = t->b.len < cap - 1 ? t->b.len : cap - 1;
    memcpy(note, t->b.d, n);
    note[n] = 0;
    *len = n;
    return LL_OK;
}

/* The bundle holding entries [n*256, n*256+width) of a tree that has them;
 * the full bundle when the partial is gone. */
static int fetch_bundle(tiles_src_t *t, uint64_t n, unsigned width)
{
    char rel[LL_TILES_PATH_MAX];
    ll_tile_t tl = {.level = LL_TILES_ENTRIES, .index = n, .width = width};
    int err;
    ll_tiles_path(&tl, rel, sizeof rel);
    err = fetch(t, rel);
    if (err == LL_ERR_NOT_FOUND && width < LL_TILES_WIDTH) {
        tl.width = LL_TILES_WIDTH;
        ll_tiles_path(&tl, rel, sizeof rel);
        err = fetch(t, rel);
    }
    return err == LL_ERR_NOT_FOUND ? LL_ERR_UNAVAILABLE : err;
}

static int tiles_leaves(void *ctx, uint64_t from, uint64_t to, ll_mirror_leaf_fn fn, void *fctx)
{
    tiles_src_t *t = ctx;
    int err;
    for (uint64_t s = from; s < to;) {
        uint64_t n = s / LL_TILES_WIDTH, end = (n + 1) * LL_TILES_WIDTH;
        unsigned width = end <= to ? LL_TILES_WIDTH : (unsigned)(to - n * LL_TILES_WIDTH);
        if ((err = fetch_bundle(t, n, width)))
            return err;
        /* Bundles frame each leaf with a 2-byte big-endian length. */
        size_t off = 0;
        for (unsigned i = 0; i < width; i++) {
            if (off + 2 > t->b.len)
                return LL_ERR_INVALID;
            size_t l = (size_t)t->b.d[off] << 8 | t->b.d[off + 1];
            if (off + 2 + l > t->b.len)
                return LL_ERR_INVALID;
            uint64_t seq = n * LL_TILES_WIDTH + i;
            if (seq >= s && (err = fn(fctx, seq, t->b.d + off + 2, l)))
                return err;
            off += 2 + l;
        }
        s = n * LL_TILES_WIDTH + width;
    }
    return LL_OK;
}

static void tiles_free(void *ctx)
{
    tiles_src_t *t = ctx;
    if (!t)
        return;
    curl_easy_cleanup(t->curl);
    free(t->b.d);
    free(t);
}

int ll_mirror_tiles_source(const char *from, ll_mirror_source_t *out, char *base, size_t cap,
                           char *msg, size_t mcap)
{
    char abs[PATH_MAX];
    tiles_src_t *t = calloc(1, sizeof *t);
    if (!t)
        return LL_ERR_NOMEM;
    if (strstr(from, "://")) {
        snprintf(t->base, sizeof t->base, "%s", from);
    } else if (realpath(from, abs)) {
        snprintf(t->base, sizeof t->base, "file://%s", abs);
    } else {
        snprintf(msg, mcap, "mirror: --from %s: %s", from, strerror(errno));
        free(t);
        return LL_ERR_INVALID;
    }
    if (t->base[strlen(t->base) - 1] != '/')
        strcat(t->base, "/");
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (!(t->curl = curl_easy_init())) {
        free(t);
        return LL_ERR_NOMEM;
    }
    snprintf(base, cap, "%s", t->base);
    *out = (ll_mirror_source_t){.checkpoint = tiles_checkpoint, .leaves = tiles_leaves,
                                .free = tiles_free, .ctx = t};
    return LL_OK;
}
