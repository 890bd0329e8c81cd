/*
 * ll_tiles: the C2SP tlog-tiles layout of the log (https://c2sp.org/tlog-tiles):
 * resource paths, which resources a tree size needs, and tile contents.
 * Pure functions over an ll_merkle_node_fn; no I/O (the publisher that
 * writes files is api/ll_publish.c).
 *
 * Tiles have height 8: tile (L, N) holds up to 256 hashes, hash i being
 * MTH of the 256^L leaves starting at (N*256 + i) * 256^L, which is exactly
 * the stored Merkle node (level 8L, index N*256 + i) of ll_store. A full
 * tile is 256 hashes (8,192 bytes); the rightmost tile of a level may be
 * partial, of width floor(size / 256^L) mod 256, and is then published
 * under "<N>.p/<W>". Entry bundles ("tile/entries/<N>[.p/<W>]") hold the
 * leaves of level-0 tile N, each as a big-endian uint16 length and the leaf
 * bytes (the exact bytes GetEntry returns), so a leaf may be at most
 * LL_TILES_MAX_ENTRY bytes.
 *
 * Paths: "tile/<L>/<N>" with N written in 3-digit groups, all but the last
 * prefixed with 'x' (1234067 -> "x001/x234/067"); level is decimal without
 * leading zeros; entries use "entries" in place of the level.
 */
#ifndef LL_TILES_H
#define LL_TILES_H

#include <stddef.h>
#include <stdint.h>

#include "ll_merkle.h"

#define LL_TILES_HEIGHT 8
#define LL_TILES_WIDTH 256
#define LL_TILES_MAX_ENTRY 65535
/* Level of entry bundles in the functions below. */
#define LL_TILES_ENTRIES (-1)
/* Longest path this module writes, with its NUL. */
#define LL_TILES_PATH_MAX 64

/* One resource: level L (LL_TILES_ENTRIES for a bundle), index N and width
 * W (1..256; 256 = full, published without the .p suffix). */
typedef struct ll_tile {
    int level;
    uint64_t index;
    unsigned width;
} ll_tile_t;

/* Writes the path of t relative to the log prefix ("tile/0/x001/234.p/7")
 * into out[cap], NUL-terminated. LL_ERR_RANGE for a level outside
 * -1..63 or a width outside 1..256; LL_ERR_BUFFER if cap is too small. */
int ll_tiles_path(const ll_tile_t *t, char *out, size_t cap);

/* Parses a path relative to the prefix ("tile/...", "checkpoint" is not a
 * tile). Strict: only the spec's canonical encoding is accepted (no leading
 * zeros in L or W, exactly 3 digits per group, 'x' on all groups but the
 * last, width 1..255 after ".p/"), so that a server can map a URL to a file
 * without normalising it and nothing outside the tile tree is reachable.
 * LL_OK or LL_ERR_INVALID. */
int ll_tiles_path_parse(const char *path, ll_tile_t *out);

/* Calls fn for every resource that the tree of new_size leaves has and the
 * tree of old_size leaves (old_size <= new_size) did not: each full tile
 * completed in between and each partial tile at new_size (entry bundles
 * included, right after their level-0 tile). Order: level 0 upwards, and
 * by index within a level. Stops at and returns fn's first error. */
typedef int (*ll_tiles_visit_fn)(void *ctx, const ll_tile_t *t);
int ll_tiles_changed(uint64_t old_size, uint64_t new_size, ll_tiles_visit_fn fn,
                     void *ctx);

/* Writes the t->width hashes of hash tile t (level >= 0) into out
 * (t->width * 32 bytes), read through get. Every node must be complete in
 * the tree get serves; errors from get are returned unchanged. */
int ll_tiles_hash_tile(ll_merkle_node_fn get, void *ctx, const ll_tile_t *t,
                       uint8_t *out);

#endif
