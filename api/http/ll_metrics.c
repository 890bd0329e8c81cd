/*
 * ll_metrics: Prometheus exposition and health endpoints (ll_metrics.h).
 */
#include "ll_metrics.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ll_err.h"
#include "ll_index.h"
#include "ll_kinds.h"
#include "ll_memo.h"
#include "ll_portfolio.h"

struct ll_metrics {
    ll_server_t *rpc;
    ll_ledger_t *lg;
    ll_store_t *st;
    ll_ledger_service_t *lsvc;
    pthread_mutex_t lock; /* guards the kind counts */
    uint64_t counted;     /* entries [0, counted) are in kinds[] */
    uint64_t kinds[LL_KIND_MAX];
};

static const char *const code_names[LL_STATUS_CODES] = {
    "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
    "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
    "UNAUTHENTICATED"};

static const char *const open_names[] = {
    NULL, "FINDING_NOT_ACTED_ON", "HYPOTHESIS_NOT_TESTED", "EXPERIMENT_NOT_CONCLUDED",
    "ALERT_NOT_DIAGNOSED"};

/* A growing text buffer with a sticky failure. */
typedef struct buf {
    char *p;
    size_t n, cap;
    int failed;
} buf_t;

static void put(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(buf_t *b, const char *fmt, ...)
{
    va_list ap;
    if (b->failed)
        return;
    for (;;) {
        va_start(ap, fmt);
        int k = vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
        va_end(ap);
        if (k < 0) {
            b->failed = 1;
            return;
        }
        if ((size_t)k < b->cap - b->n) {
            b->n += (size_t)k;
            return;
        }
        size_t nc = b->cap * 2 + (size_t)k;
        char *np = realloc(b->p, nc);
        if (!np) {
            b->failed = 1;
            return;
        }
        b->p = np;
        b->cap = nc;
    }
}

static void head(buf_t *b, const char *name, const char *type, const char *help)
{
    put(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Label values here are method paths, kind and code names: no character
 * needs escaping, but the format's escapes are applied anyway. */
static void label_value(buf_t *b, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            put(b, "\\%c", *v);
        else if (*v == '\n')
            put(b, "\\n");
        else
            put(b, "%c", *v);
    }
}

/* A histogram whose values are in integer units; scale converts a unit to
 * the exposed one (1e-9 for ns -> seconds, 1 for counts). */
static void histogram(buf_t *b, const char *name, const char *labels, const ll_hist_snap_t *h,
                      double scale)
{
    uint64_t cum = 0;
    const char *sep = labels[0] ? "," : "";
    for (unsigned i = 0; i < h->n; i++) {
        cum += h->count[i];
        put(b, "%s_bucket{%s%sle=\"%.9g\"} %" PRIu64 "\n", name, labels, sep,
            (double)h->bound[i] * scale, cum);
    }
    cum += h->count[h->n];
    put(b, "%s_bucket{%s%sle=\"+Inf\"} %" PRIu64 "\n", name, labels, sep, cum);
    if (labels[0]) {
        put(b, "%s_sum{%s} %.9g\n", name, labels, (double)h->sum * scale);
        put(b, "%s_count{%s} %" PRIu64 "\n", name, labels, cum);
    } else {
        put(b, "%s_sum %.9g\n", name, (double)h->sum * scale);
        put(b, "%s_count %" PRIu64 "\n", name, cum);
    }
}

static int count_kinds(ll_metrics_t *m, ll_txn_t *txn, uint64_t size)
{
    int err = LL_OK;
    pthread_mutex_lock(&m->lock);
    for (uint64_t s = m->counted; s < size; s++) {
        ll_entry_meta_t meta;
        if ((err = ll_index_meta(txn, s, &meta)) && err != LL_ERR_NOT_FOUND)
            break;
        /* The genesis and governance kinds have index records too; an
         * entry without one is counted under kind 0 ("unknown"). */
        m->kinds[err ? 0 : (meta.kind < LL_KIND_MAX ? meta.kind : 0)]++;
        m->counted = s + 1;
        err = LL_OK;
    }
    pthread_mutex_unlock(&m->lock);
    return err;
}

static void serve_metrics(void *ctx, const ll_http_req_t *req, ll_http_resp_t *out)
{
    ll_metrics_t *m = ctx;
    buf_t b = {.cap = 16384};
    ll_txn_t *txn = NULL;
    ll_portfolio_totals_t tot;
    ll_hist_snap_t hs, hs2;
    int err;
    (void)req;
    if (!(b.p = malloc(b.cap))) {
        ll_http_error(out, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
        return;
    }
    if ((err = ll_store_begin_read(m->st, &txn))) {
        ll_http_error(out, GRPC_STATUS_UNAVAILABLE, "cannot read ledger: %s", ll_strerror(err));
        free(b.p);
        return;
    }
    uint64_t size = ll_store_size(txn);

    unsigned nm = ll_server_method_count(m->rpc);
    head(&b, "loopledger_rpc_requests_total", "counter",
         "RPCs ended, by method, gRPC status code and transport (http = JSON gateway).");
    for (unsigned i = 0; i < nm; i++) {
        uint64_t ended[2][LL_STATUS_CODES];
        const char *path = ll_server_method_stats(m->rpc, i, ended, &hs);
        for (int t = 0; t < 2; t++)
            for (int c = 0; c < LL_STATUS_CODES; c++) {
                if (!ended[t][c] && (c != 0 || t == 1))
                    continue; /* gRPC OK is always shown; the rest once seen */
                put(&b, "loopledger_rpc_requests_total{method=\"");
                label_value(&b, path);
                put(&b, "\",code=\"%s\",transport=\"%s\"} %" PRIu64 "\n", code_names[c],
                    t ? "http" : "grpc", ended[t][c]);
            }
    }
    head(&b, "loopledger_rpc_duration_seconds", "histogram",
         "RPC latency from arrival to the end of the call, by method.");
    for (unsigned i = 0; i < nm; i++) {
        uint64_t ended[2][LL_STATUS_CODES];
        char labels[200];
        const char *path = ll_server_method_stats(m->rpc, i, ended, &hs);
        snprintf(labels, sizeof labels, "method=\"%s\"", path);
        histogram(&b, "loopledger_rpc_duration_seconds", labels, &hs, 1e-9);
    }
    ll_ledger_metrics(m->lg, &hs, &hs2);
    head(&b, "loopledger_append_batch_entries", "histogram",
         "Entries written per durable commit (group commit batch size).");
    histogram(&b, "loopledger_append_batch_entries", "", &hs, 1);
    head(&b, "loopledger_commit_duration_seconds", "histogram",
         "Duration of each group commit of appended entries: the write-ahead log's write and "
         "fdatasync, then LMDB's commit.");
    histogram(&b, "loopledger_commit_duration_seconds", "", &hs2, 1e-9);
    {
        uint64_t wal_bytes = 0;
        ll_store_sync_metrics(ll_ledger_store(m->lg), &hs2, &wal_bytes);
        head(&b, "loopledger_lmdb_sync_duration_seconds", "histogram",
             "Duration of each background sync of LMDB (what the write-ahead log holds until "
             "then).");
        histogram(&b, "loopledger_lmdb_sync_duration_seconds", "", &hs2, 1e-9);
        head(&b, "loopledger_wal_unsynced_bytes", "gauge",
             "Write-ahead log bytes written since LMDB's last sync (what a restart would "
             "replay).");
        put(&b, "loopledger_wal_unsynced_bytes %" PRIu64 "\n", wal_bytes);
    }

    head(&b, "loopledger_tree_size", "gauge", "Committed entries (the log's tree size).");
    put(&b, "loopledger_tree_size %" PRIu64 "\n", size);
    if ((err = count_kinds(m, txn, size)))
        goto fail;
    head(&b, "loopledger_entries", "gauge", "Committed entries by kind.");
    pthread_mutex_lock(&m->lock);
    for (uint32_t k = 0; k < LL_KIND_MAX; k++)
        if (m->kinds[k])
            put(&b, "loopledger_entries{kind=\"%s\"} %" PRIu64 "\n", ll_kind_name(k), m->kinds[k]);
    pthread_mutex_unlock(&m->lock);

    if ((err = ll_portfolio_totals(txn, &tot)))
        goto fail;
    head(&b, "loopledger_initiatives", "gauge", "Initiatives in the ledger.");
    put(&b, "loopledger_initiatives %" PRIu64 "\n", tot.initiatives);
    head(&b, "loopledger_pending_approvals", "gauge",
         "Entries awaiting human-in-the-loop approval.");
    put(&b, "loopledger_pending_approvals %" PRIu64 "\n", tot.pending_approvals);
    head(&b, "loopledger_open_loops", "gauge", "Open loops by kind (ListOpenLoops).");
    for (int k = 1; k <= 4; k++)
        put(&b, "loopledger_open_loops{kind=\"%s\"} %" PRIu64 "\n", open_names[k], tot.open[k]);
    head(&b, "loopledger_undiagnosed_alerts", "gauge", "Alerts without a diagnosis.");
    put(&b, "loopledger_undiagnosed_alerts %" PRIu64 "\n", tot.open[LL_OPEN_ALERT_UNDIAGNOSED]);

    uint64_t hits, misses;
    ll_memo_counts(&hits, &misses);
    head(&b, "loopledger_memo_lookups_total", "counter",
         "Derived answers (ranking, loop health) looked up by tree head (ll_memo.h).");
    put(&b, "loopledger_memo_lookups_total{result=\"hit\"} %" PRIu64 "\n", hits);
    put(&b, "loopledger_memo_lookups_total{result=\"miss\"} %" PRIu64 "\n", misses);

    head(&b, "loopledger_lmdb_map_used_bytes", "gauge", "Bytes of the LMDB map in use.");
    put(&b, "loopledger_lmdb_map_used_bytes %zu\n", ll_store_map_used(m->st));
    head(&b, "loopledger_lmdb_map_size_bytes", "gauge", "Size of the LMDB map.");
    put(&b, "loopledger_lmdb_map_size_bytes %zu\n", ll_store_map_size(m->st));
    head(&b, "loopledger_watch_streams", "gauge", "Live Watch streams.");
    put(&b, "loopledger_watch_streams %u\n", m->lsvc ? ll_ledger_service_watches(m->lsvc) : 0);
    head(&b, "loopledger_ready", "gauge",
         "1 when the ledger accepts writes, 0 while the start-up check refuses them.");
    put(&b, "loopledger_ready %d\n", ll_ledger_damage(m->lg) ? 0 : 1);
    ll_store_abort(txn);
    if (b.failed) {
        free(b.p);
        ll_http_error(out, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
        return;
    }
    out->status = 200;
    out->type = "text/plain; version=0.0.4; charset=utf-8";
    out->body = b.p;
    out->len = b.n;
    return;
fail:
    ll_store_abort(txn);
    free(b.p);
    ll_http_error(out, GRPC_STATUS_INTERNAL, "metrics: %s", ll_strerror(err));
}

static void serve_health(void *ctx, const ll_http_req_t *req, ll_http_resp_t *out)
{
    static char ok[] = "ok\n";
    (void)ctx, (void)req;
    out->status = 200;
    out->type = "text/plain; charset=utf-8";
    out->body = ok;
    out->len = sizeof ok - 1;
    out->static_body = 1;
}

static void serve_ready(void *ctx, const ll_http_req_t *req, ll_http_resp_t *out)
{
    ll_metrics_t *m = ctx;
    static char ready[] = "ready\n";
    const char *why = ll_ledger_damage(m->lg);
    (void)req;
    out->type = "text/plain; charset=utf-8";
    if (!why) {
        out->status = 200;
        out->body = ready;
        out->len = sizeof ready - 1;
        out->static_body = 1;
        return;
    }
    size_t cap = strlen(why) + 64;
    if (!(out->body = malloc(cap))) {
        ll_http_error(out, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
        return;
    }
    out->len = (size_t)snprintf(out->body, cap, "not ready: writes refused: %s\n", why);
    out->status = 503;
}

int ll_metrics_register(ll_http_t *h, ll_server_t *rpc, ll_ledger_t *lg,
                        ll_ledger_service_t *lsvc, ll_metrics_t **out)
{
    ll_metrics_t *m = calloc(1, sizeof *m);
    int err;
    if (!m)
        return LL_ERR_NOMEM;
    m->rpc = rpc;
    m->lg = lg;
    m->st = ll_ledger_store(lg);
    m->lsvc = lsvc;
    pthread_mutex_init(&m->lock, NULL);
    if ((err = ll_http_add_route(h, "/metrics", LL_HTTP_READ, "/loopledger.http/Metrics",
                                 serve_metrics, m)) ||
        (err = ll_http_add_route(h, "/healthz", LL_HTTP_PUBLIC, NULL, serve_health, m)) ||
        (err = ll_http_add_route(h, "/readyz", LL_HTTP_PUBLIC, NULL, serve_ready, m))) {
        ll_metrics_free(m);
        return err;
    }
    *out = m;
    return LL_OK;
}

void ll_metrics_free(ll_metrics_t *m)
{
    if (!m)
        return;
    pthread_mutex_destroy(&m->lock);
    free(m);
}
