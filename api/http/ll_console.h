/*
 * ll_console: the read-only web console under /console/ - static assets
 * (plain HTML, CSS and JavaScript written for loopledger, no framework,
 * nothing fetched from elsewhere) embedded in the binary at build time
 * (api/http/embed.cmake), or served from a directory (--http-assets) when
 * developing them - and the few JSON helpers the pages need beyond the
 * gateway:
 *   /console/api/config        origin, verifier key, tree size, caller
 *   /console/api/entry/{seq}   GetEntry with the leaf decoded: envelope
 *                              (payload type, key id, signature) and the
 *                              EntryBody in proto3 JSON, plus the derived
 *                              marks (status, superseded_by, signer key)
 *   /console/api/entries?...   ListEntries (same parameters) decoded alike
 * The helpers run GetEntry/ListEntries through ll_gateway_call, so the
 * caller's authorization is the RPC's. "/" redirects to /console/.
 */
#ifndef LL_CONSOLE_H
#define LL_CONSOLE_H

#include "ll_http.h"
#include "ll_ledger.h"
#include "ll_server.h"

typedef struct ll_console ll_console_t;

/* One embedded file (generated table, ll_console_assets.c). */
typedef struct ll_console_asset {
    const char *path; /* "index.html" */
    const unsigned char *data;
    size_t len;
} ll_console_asset_t;
extern const ll_console_asset_t ll_console_assets[];
extern const size_t ll_console_nassets;

/* Registers "/" and /console/ on h. assets_dir may be NULL (built-in
 * copy). Borrowed arguments must outlive h. Caller owns *out
 * (ll_console_free after ll_http_free). */
int ll_console_register(ll_http_t *h, ll_server_t *rpc, ll_ledger_t *lg,
                        const char *assets_dir, ll_console_t **out);
void ll_console_free(ll_console_t *c);

#endif
