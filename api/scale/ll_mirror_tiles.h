/*
 * ll_mirror_tiles: the mirror's tlog-tiles transport (ll_mirror.h). Reads
 * DIR/checkpoint and the entry bundles DIR/tile/entries/<N>[.p/<W>] of a
 * C2SP tlog-tiles log through libcurl: http(s):// (any static server or
 * CDN in front of `loopledgerd serve --tiles`), file://, or a directory.
 * A partial bundle that has gone (the publisher deletes partials once the
 * full bundle exists) is read from the full one.
 */
#ifndef LL_MIRROR_TILES_H
#define LL_MIRROR_TILES_H

#include <stddef.h>

#include "ll_mirror.h"

/* Makes a source reading the tiles under `from` (a URL prefix or a
 * directory). The canonical prefix, ending in '/', goes into base[cap] (for
 * messages). LL_ERR_INVALID with why in msg[mcap] (a directory that does
 * not exist), LL_ERR_NOMEM. */
int ll_mirror_tiles_source(const char *from, ll_mirror_source_t *out, char *base, size_t cap,
                           char *msg, size_t mcap);

#endif
