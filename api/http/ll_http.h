/*
 * ll_http: loopledgerd's HTTP face (off unless `serve --http HOST:PORT`):
 * the JSON gateway (/v1/..., ll_gateway.c), Prometheus /metrics
 * (ll_metrics.c), /healthz and /readyz, and the read-only web console
 * (/console/, ll_console.c). Everything it serves is a read: the HTTP face
 * never writes to the ledger.
 *
 * Library: GNU libmicrohttpd (Debian libmicrohttpd-dev). Chosen because it
 * is maintained and packaged in Debian, parses HTTP/1.1 itself (no
 * hand-written parser here), does TLS through GnuTLS including client
 * certificates (MHD_OPTION_HTTPS_MEM_TRUST + the connection's GnuTLS
 * session), and runs a fixed thread pool with its own connection limits
 * and timeouts (civetweb would do too but brings its own TLS glue; h2o is
 * an event-loop framework, more than a read-only face needs).
 *
 * Transport and identity, mirroring the gRPC listener:
 *   - TLS with the gRPC listener's certificate and key when tls_cert is
 *     set; clients may present a certificate issued by tls_ca (browsers
 *     import one as PKCS#12, `ops/certs --p12`): the chain is verified
 *     against that CA with GnuTLS and the subject's common name is the
 *     actor. Without TLS the listener must be a loopback address
 *     (plaintext, like `--plaintext` gRPC) and calls carry no identity.
 *   - trusted_proxy: the peer address (e.g. "127.0.0.1") of a reverse
 *     proxy that authenticates users (SSO) and names the actor in the
 *     identity header (default "X-Loopledger-Actor"). The header is
 *     honoured only from that address; from anyone else it is ignored.
 *   - Authorization is the gRPC one (ll_authorize_fn, ll_authz.h role
 *     matrix): every data path is checked as a READ-class method path
 *     (gateway calls as their own RPC path); health and the console's
 *     static files are public.
 *
 * Limits: a bounded thread pool, a connection limit overall and per peer
 * address, an idle timeout, a per-connection memory limit that bounds the
 * request line and headers (libmicrohttpd answers 414/431 beyond it), and
 * no request bodies (only GET and HEAD are served: 405 otherwise, 413 for
 * a body).
 *
 * Routes are matched by longest registered prefix. Other modules (the
 * gateway, metrics, console, and a static directory for C2SP tiles under
 * /tile/ and /checkpoint) plug in with ll_http_add_route before
 * ll_http_start.
 */
#ifndef LL_HTTP_H
#define LL_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "ll_ledger.h"
#include "ll_server.h"

typedef struct ll_http ll_http_t;

typedef struct ll_http_config {
    const char *listen;         /* "127.0.0.1:7680", "[::1]:0"; port 0 picks one */
    const char *tls_cert;       /* PEM files; all three or none */
    const char *tls_key;
    const char *tls_ca;
    const char *trusted_proxy;  /* peer address text, or NULL */
    const char *identity_header; /* NULL means "X-Loopledger-Actor" */
    unsigned threads;           /* 0 means 4 */
    unsigned max_connections;   /* 0 means 256 */
    unsigned per_ip_connections; /* 0 means 64 */
    unsigned timeout_s;         /* idle connection timeout; 0 means 30 */
    size_t memory_limit;        /* per connection (request line + headers); 0 = 32 KiB */
    ll_authorize_fn authorize;  /* the gRPC authorizer and its context */
    void *authorize_ctx;
} ll_http_config_t;

/* One request as handlers see it. Strings are valid during the call. */
typedef struct ll_http_req {
    const char *method;   /* "GET" or "HEAD" */
    const char *path;     /* URL path, percent-decoded, without the query */
    const char *identity; /* actor, or NULL (plaintext, or none presented) */
    void *conn;           /* libmicrohttpd connection (ll_http_query) */
    ll_http_t *http;
} ll_http_req_t;

/* A handler's answer. body is malloc'd and taken by ll_http unless
 * static_body is set (then it must outlive the daemon). type is a static
 * string. extra_header/value: one optional additional header. */
typedef struct ll_http_resp {
    int status;
    const char *type;
    char *body;
    size_t len;
    int static_body;
    const char *cache; /* Cache-Control value; NULL means "no-store" */
    const char *extra_header, *extra_value;
} ll_http_resp_t;

typedef void (*ll_http_handler_fn)(void *ctx, const ll_http_req_t *req, ll_http_resp_t *resp);

/* Whether a route's requests need the READ class (checked through the
 * authorizer with rpc_path) or are public. */
enum ll_http_access { LL_HTTP_PUBLIC = 0, LL_HTTP_READ = 1 };

/* Creates (does not start) the listener. Validates the configuration:
 * LL_ERR_INVALID (message in msg[cap]) for a malformed address, plaintext
 * on a non-loopback address, or half a TLS configuration; LL_ERR_IO if a
 * PEM file cannot be read. Caller owns *out (ll_http_free). */
int ll_http_create(const ll_http_config_t *cfg, ll_http_t **out, char *msg, size_t cap);

/* Routes requests whose path starts with prefix to fn. access READ checks
 * the caller with the authorizer as rpc_path (e.g.
 * "/loopledger.http/metrics", a READ-class path) before fn runs; fn may
 * authorize further itself. At most 32 routes; before ll_http_start. */
int ll_http_add_route(ll_http_t *h, const char *prefix, enum ll_http_access access,
                      const char *rpc_path, ll_http_handler_fn fn, void *ctx);

/* Serves files under dir for paths under prefix ("/tile/" -> dir/...):
 * regular files only, no "..", no hidden files, no symlink as the last
 * component; public (the C2SP tiles and checkpoint are public by design).
 * A prefix without a trailing '/' is one exact path and dir is then the
 * file it serves (e.g. "/checkpoint" -> DIR/checkpoint). dir is copied.
 * This is the hook for the tlog-tiles publisher. */
int ll_http_add_static_dir(ll_http_t *h, const char *prefix, const char *dir);

/* Starts the thread pool; *port receives the bound port. */
int ll_http_start(ll_http_t *h, int *port);

/* Stops accepting, closes connections, joins the threads, frees h. */
void ll_http_free(ll_http_t *h);

/* 1 when the listener uses TLS. */
int ll_http_tls(const ll_http_t *h);

/* A query parameter's value (percent-decoded), or NULL. */
const char *ll_http_query(const ll_http_req_t *req, const char *key);

/* Calls fn for each query parameter in order (value may be NULL for a key
 * without '='); stops at the first non-zero return and returns it. */
int ll_http_query_each(const ll_http_req_t *req,
                       int (*fn)(void *ctx, const char *key, const char *value), void *ctx);

/* Checks identity against the authorizer for rpc_path; GRPC_STATUS_OK or
 * a status with msg[cap]. */
grpc_status_code ll_http_authorize(ll_http_t *h, const char *rpc_path, const char *identity,
                                   char *msg, size_t cap);

/* Fills resp with a JSON error {"code": c, "message": m, "details": []}
 * and the HTTP status grpc-gateway gives gRPC code c
 * (ll_http_status_from_grpc). */
void ll_http_error(ll_http_resp_t *resp, grpc_status_code c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* HTTP status for a gRPC status code, as grpc-gateway maps it
 * (runtime.HTTPStatusFromCode): OK 200, CANCELLED 499, UNKNOWN 500,
 * INVALID_ARGUMENT 400, DEADLINE_EXCEEDED 504, NOT_FOUND 404,
 * ALREADY_EXISTS 409, PERMISSION_DENIED 403, RESOURCE_EXHAUSTED 429,
 * FAILED_PRECONDITION 400, ABORTED 409, OUT_OF_RANGE 400,
 * UNIMPLEMENTED 501, INTERNAL 500, UNAVAILABLE 503, DATA_LOSS 500,
 * UNAUTHENTICATED 401; anything else 500. */
int ll_http_status_from_grpc(grpc_status_code c);

#endif
