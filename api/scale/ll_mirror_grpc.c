/*
 * ll_mirror_grpc: reading a primary over gRPC. See ll_mirror_grpc.h.
 */
#include "ll_mirror_grpc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ll_client.h"
#include "ll_err.h"
#include "loopledger/v1/ledger.pb-c.h"

#define SVC "/loopledger.v1.LedgerService/"

typedef struct grpc_src {
    ll_client_t *c;
    char target[300];
    void (*log_fn)(const char *msg);
    char last[1024]; /* last failure logged ("" after a success) */
} grpc_src_t;

int ll_mirror_is_grpc(const char *from)
{
    return from && !strncmp(from, "grpc://", 7);
}

/* Logs a failure once per streak of identical ones. */
static void failed(grpc_src_t *g, const char *what, const ll_reply_t *r)
{
    char msg[sizeof g->last];
    snprintf(msg, sizeof msg, "mirror: %s %s: status %d: %s", what, g->target, (int)r->code,
             r->message);
    if (strcmp(msg, g->last)) {
        snprintf(g->last, sizeof g->last, "%s", msg);
        if (g->log_fn)
            g->log_fn(msg);
    }
}

static int grpc_checkpoint(void *ctx, char *note, size_t cap, size_t *len)
{
    grpc_src_t *g = ctx;
    Loopledger__V1__GetCheckpointRequest req = LOOPLEDGER__V1__GET_CHECKPOINT_REQUEST__INIT;
    uint8_t buf[32];
    ll_reply_t r;
    size_t n = loopledger__v1__get_checkpoint_request__pack(&req, buf);
    if (ll_client_unary(g->c, SVC "GetCheckpoint", buf, n, 10000, &r))
        return LL_ERR_UNAVAILABLE;
    if (r.code != GRPC_STATUS_OK) {
        failed(g, "GetCheckpoint from", &r);
        ll_reply_free(&r);
        return LL_ERR_UNAVAILABLE;
    }
    Loopledger__V1__GetCheckpointResponse *resp =
        loopledger__v1__get_checkpoint_response__unpack(NULL, r.resp_len, r.resp);
    ll_reply_free(&r);
    if (!resp)
        return LL_ERR_UNAVAILABLE;
    /* Copied as served; the mirror verifies it (a truncated note fails). */
    size_t l = resp->checkpoint ? strlen(resp->checkpoint) : 0;
    if (l > cap - 1)
        l = cap - 1;
    memcpy(note, resp->checkpoint ? resp->checkpoint : "", l);
    note[l] = 0;
    *len = l;
    loopledger__v1__get_checkpoint_response__free_unpacked(resp, NULL);
    g->last[0] = 0;
    return LL_OK;
}

typedef struct range {
    uint64_t next, to;
    ll_mirror_leaf_fn fn;
    void *fctx;
    int err; /* fn's refusal, or LL_ERR_INVALID */
} range_t;

static int on_watch(void *ctx, const uint8_t *msg, size_t len)
{
    range_t *rg = ctx;
    Loopledger__V1__WatchResponse *w = loopledger__v1__watch_response__unpack(NULL, len, msg);
    if (!w || w->seq != rg->next) {
        rg->err = LL_ERR_INVALID;
    } else {
        rg->err = rg->fn(rg->fctx, w->seq, w->leaf.data, w->leaf.len);
        if (!rg->err)
            rg->next++;
    }
    if (w)
        loopledger__v1__watch_response__free_unpacked(w, NULL);
    return rg->err || rg->next == rg->to; /* non-zero: cancel the stream */
}

static int grpc_leaves(void *ctx, uint64_t from, uint64_t to, ll_mirror_leaf_fn fn, void *fctx)
{
    grpc_src_t *g = ctx;
    Loopledger__V1__WatchRequest req = LOOPLEDGER__V1__WATCH_REQUEST__INIT;
    uint8_t buf[32];
    range_t rg = {.next = from, .to = to, .fn = fn, .fctx = fctx};
    ll_reply_t r;
    if (from >= to)
        return LL_OK;
    req.from_seq = from;
    size_t n = loopledger__v1__watch_request__pack(&req, buf);
    uint64_t ms = 120000 + (to - from);
    int err = ll_client_stream(g->c, SVC "Watch", buf, n, ms > INT32_MAX ? INT32_MAX : (int)ms,
                               on_watch, &rg, &r);
    ll_reply_free(&r);
    if (rg.err)
        return rg.err;
    if (rg.next == to)
        return LL_OK;
    if (!err)
        failed(g, "Watch on", &r);
    return err == LL_ERR_INVALID ? LL_ERR_INVALID : LL_ERR_UNAVAILABLE;
}

static void grpc_free(void *ctx)
{
    grpc_src_t *g = ctx;
    if (!g)
        return;
    ll_client_close(g->c);
    free(g);
}

/* A host part the kernel routes to this machine only. */
static int loopback_host(const char *hp)
{
    static const char *const ok[] = {"127.", "[::1]:", "localhost:"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (!strncmp(hp, ok[i], strlen(ok[i])))
            return 1;
    return 0;
}

int ll_mirror_grpc_source(const char *from, const char *ca, const char *cert, const char *key,
                          void (*log_fn)(const char *msg), ll_mirror_source_t *out, char *msg,
                          size_t cap)
{
    grpc_src_t *g;
    int tls = ca || cert || key;
    struct stat sb;
    if (!ll_mirror_is_grpc(from) || !from[7] || !strchr(from + 7, ':')) {
        snprintf(msg, cap, "mirror: --from %s: a gRPC primary is grpc://HOST:PORT", from);
        return LL_ERR_INVALID;
    }
    if (tls && (!ca || !cert || !key)) {
        snprintf(msg, cap, "mirror: mTLS to the primary needs all of --from-tls-ca (the CA of "
                           "the primary's certificate), --from-tls-cert and --from-tls-key (the "
                           "mirror's client certificate, CN = an actor of the primary)");
        return LL_ERR_INVALID;
    }
    if (!tls && !loopback_host(from + 7)) {
        snprintf(msg, cap, "mirror: %s is not a loopback address: give --from-tls-ca, "
                           "--from-tls-cert and --from-tls-key to reach it over mTLS", from);
        return LL_ERR_INVALID;
    }
    if (tls) {
        const char *f[3] = {ca, cert, key};
        for (int i = 0; i < 3; i++)
            if (stat(f[i], &sb)) {
                snprintf(msg, cap, "mirror: %s: %s", f[i], strerror(errno));
                return LL_ERR_INVALID;
            }
        if (sb.st_mode & 077) {
            snprintf(msg, cap, "mirror: %s is readable by group or others (mode %03o): chmod "
                               "600 it", key, (unsigned)(sb.st_mode & 0777));
            return LL_ERR_INVALID;
        }
    }
    if (!(g = calloc(1, sizeof *g)))
        return LL_ERR_NOMEM;
    snprintf(g->target, sizeof g->target, "%s", from + 7);
    g->log_fn = log_fn;
    int err = tls ? ll_client_open_tls(g->target, ca, cert, key, &g->c)
                  : ll_client_open(g->target, &g->c);
    if (err) {
        snprintf(msg, cap, "mirror: cannot set up a channel to %s (%s): are %s, %s, %s PEM "
                           "files?", from, ll_strerror(err), ca ? ca : "-", cert ? cert : "-",
                 key ? key : "-");
        free(g);
        return LL_ERR_INVALID;
    }
    *out = (ll_mirror_source_t){.checkpoint = grpc_checkpoint, .leaves = grpc_leaves,
                                .free = grpc_free, .ctx = g};
    return LL_OK;
}
