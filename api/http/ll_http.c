/*
 * ll_http: the HTTP listener on libmicrohttpd (ll_http.h).
 *
 * One access handler serves every request: method and body checks, the
 * caller's identity (client certificate or trusted proxy header), route
 * lookup by longest prefix, authorization for READ routes, then the
 * route's handler builds an ll_http_resp_t that becomes the MHD response
 * with the common security headers. Handlers run on the pool's threads
 * and answer synchronously (every route is a bounded read).
 */
#include "ll_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ll_err.h"
#include "ll_status.h"

#define LL_HTTP_MAX_ROUTES 32
#define LL_HTTP_MAX_FILE (16 << 20) /* largest static file served */

typedef struct route {
    char *prefix;
    enum ll_http_access access;
    char *rpc_path;
    ll_http_handler_fn fn;
    void *ctx;
    char *dir; /* static directory routes */
} route_t;

struct ll_http {
    struct MHD_Daemon *d;
    struct sockaddr_storage addr;
    socklen_t addr_len;
    int tls;
    char *cert_pem, *key_pem, *ca_pem;
    struct sockaddr_storage proxy;
    int have_proxy;
    char identity_header[64];
    unsigned threads, max_conn, per_ip, timeout_s;
    size_t mem_limit;
    ll_authorize_fn authorize;
    void *authorize_ctx;
    route_t routes[LL_HTTP_MAX_ROUTES];
    unsigned nroutes;
};

static int fail_msg(char *msg, size_t cap, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail_msg(char *msg, size_t cap, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, cap, fmt, ap);
    va_end(ap);
    return err;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *b = NULL;
    long n;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || n > (1 << 20) || fseek(f, 0, SEEK_SET))
        goto out;
    if (!(b = malloc((size_t)n + 1)))
        goto out;
    if (fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
        goto out;
    }
    b[n] = 0;
out:
    fclose(f);
    return b;
}

/* "HOST:PORT" / "[V6]:PORT" with a numeric host (or "localhost"). */
static int parse_addr(const char *listen, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[128];
    const char *colon, *h = listen;
    size_t hl;
    if (listen[0] == '[') {
        const char *e = strchr(listen, ']');
        if (!e || e[1] != ':')
            return LL_ERR_INVALID;
        h = listen + 1;
        hl = (size_t)(e - h);
        colon = e + 1;
    } else {
        if (!(colon = strrchr(listen, ':')))
            return LL_ERR_INVALID;
        hl = (size_t)(colon - listen);
    }
    if (hl == 0 || hl >= sizeof host)
        return LL_ERR_INVALID;
    memcpy(host, h, hl);
    host[hl] = 0;
    if (!strcmp(host, "localhost"))
        strcpy(host, "127.0.0.1");
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (!colon[1] || *end || port < 0 || port > 65535)
        return LL_ERR_INVALID;
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        *len = sizeof *a4;
    } else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        *len = sizeof *a6;
    } else {
        return LL_ERR_INVALID;
    }
    return LL_OK;
}

static int is_loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
    if (ss->ss_family == AF_INET6)
        return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)ss)->sin6_addr);
    return 0;
}

/* Same host address (ports ignored); v4-mapped v6 equals its v4. */
static int same_host(const struct sockaddr *a, const struct sockaddr_storage *b)
{
    struct in_addr a4;
    const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)a;
    if (a->sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr)) {
        memcpy(&a4, a6->sin6_addr.s6_addr + 12, 4);
    } else if (a->sa_family == AF_INET) {
        a4 = ((const struct sockaddr_in *)a)->sin_addr;
    } else {
        return b->ss_family == AF_INET6 &&
               !memcmp(&a6->sin6_addr, &((const struct sockaddr_in6 *)b)->sin6_addr,
                       sizeof a6->sin6_addr);
    }
    return b->ss_family == AF_INET &&
           a4.s_addr == ((const struct sockaddr_in *)b)->sin_addr.s_addr;
}

int ll_http_create(const ll_http_config_t *cfg, ll_http_t **out, char *msg, size_t cap)
{
    ll_http_t *h = calloc(1, sizeof *h);
    int err = LL_ERR_INVALID;
    if (!h)
        return LL_ERR_NOMEM;
    if (parse_addr(cfg->listen, &h->addr, &h->addr_len)) {
        err = fail_msg(msg, cap, LL_ERR_INVALID,
                       "--http %s: expected HOST:PORT with a numeric address", cfg->listen);
        goto fail;
    }
    h->tls = cfg->tls_cert || cfg->tls_key || cfg->tls_ca;
    if (h->tls && !(cfg->tls_cert && cfg->tls_key && cfg->tls_ca)) {
        err = fail_msg(msg, cap, LL_ERR_INVALID, "TLS needs a certificate, a key and a CA");
        goto fail;
    }
    if (!h->tls && !is_loopback(&h->addr)) {
        err = fail_msg(msg, cap, LL_ERR_INVALID,
                       "refusing to serve plaintext HTTP on non-loopback address %s "
                       "(give --tls-*)", cfg->listen);
        goto fail;
    }
    if (h->tls) {
        if (!(h->cert_pem = read_file(cfg->tls_cert)) || !(h->key_pem = read_file(cfg->tls_key)) ||
            !(h->ca_pem = read_file(cfg->tls_ca))) {
            err = fail_msg(msg, cap, LL_ERR_IO, "cannot read TLS files %s, %s, %s: %s",
                           cfg->tls_cert, cfg->tls_key, cfg->tls_ca, strerror(errno));
            goto fail;
        }
    }
    if (cfg->trusted_proxy) {
        char tmp[160];
        socklen_t l;
        snprintf(tmp, sizeof tmp, "%s%s%s:0", strchr(cfg->trusted_proxy, ':') ? "[" : "",
                 cfg->trusted_proxy, strchr(cfg->trusted_proxy, ':') ? "]" : "");
        if (parse_addr(tmp, &h->proxy, &l)) {
            err = fail_msg(msg, cap, LL_ERR_INVALID,
                           "--http-trusted-proxy %s: expected a numeric IP address",
                           cfg->trusted_proxy);
            goto fail;
        }
        h->have_proxy = 1;
    }
    snprintf(h->identity_header, sizeof h->identity_header, "%s",
             cfg->identity_header ? cfg->identity_header : "X-Loopledger-Actor");
    h->threads = cfg->threads ? cfg->threads : 4;
    h->max_conn = cfg->max_connections ? cfg->max_connections : 256;
    h->per_ip = cfg->per_ip_connections ? cfg->per_ip_connections : 64;
    h->timeout_s = cfg->timeout_s ? cfg->timeout_s : 30;
    h->mem_limit = cfg->memory_limit ? cfg->memory_limit : 32 * 1024;
    h->authorize = cfg->authorize;
    h->authorize_ctx = cfg->authorize_ctx;
    *out = h;
    return LL_OK;
fail:
    ll_http_free(h);
    return err;
}

int ll_http_add_route(ll_http_t *h, const char *prefix, enum ll_http_access access,
                      const char *rpc_path, ll_http_handler_fn fn, void *ctx)
{
    if (h->nroutes == LL_HTTP_MAX_ROUTES)
        return LL_ERR_RANGE;
    route_t *r = &h->routes[h->nroutes];
    r->prefix = strdup(prefix);
    r->rpc_path = rpc_path ? strdup(rpc_path) : NULL;
    if (!r->prefix || (rpc_path && !r->rpc_path)) {
        free(r->prefix);
        free(r->rpc_path);
        return LL_ERR_NOMEM;
    }
    r->access = access;
    r->fn = fn;
    r->ctx = ctx;
    h->nroutes++;
    return LL_OK;
}

static void serve_dir(void *ctx, const ll_http_req_t *req, ll_http_resp_t *resp)
{
    route_t *r = ctx;
    const char *rel = req->path + strlen(r->prefix);
    char path[4096];
    struct stat sb;
    int fd = -1;
    /* The tile paths are plain names; anything that could walk out of the
     * directory or reach a hidden file is refused. */
    if (strstr(rel, "..") || strstr(rel, "/.") || rel[0] == '.' || strstr(rel, "//")) {
        ll_http_error(resp, GRPC_STATUS_NOT_FOUND, "no such file");
        return;
    }
    if (!*rel) /* an exact-path route ("/checkpoint") serves one file */
        snprintf(path, sizeof path, "%s", r->dir);
    else
        snprintf(path, sizeof path, "%s/%s", r->dir, rel);
    if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0 || fstat(fd, &sb) ||
        !S_ISREG(sb.st_mode) || sb.st_size > LL_HTTP_MAX_FILE) {
        ll_http_error(resp, GRPC_STATUS_NOT_FOUND, "no such file");
        goto out;
    }
    resp->body = malloc((size_t)sb.st_size + 1);
    if (!resp->body || read(fd, resp->body, (size_t)sb.st_size) != sb.st_size) {
        free(resp->body);
        resp->body = NULL;
        ll_http_error(resp, GRPC_STATUS_INTERNAL, "cannot read file");
        goto out;
    }
    resp->len = (size_t)sb.st_size;
    resp->status = 200;
    resp->type = strstr(req->path, "/checkpoint") ? "text/plain; charset=utf-8"
                                                  : "application/octet-stream";
    resp->cache = "no-cache";
out:
    if (fd >= 0)
        close(fd);
}

int ll_http_add_static_dir(ll_http_t *h, const char *prefix, const char *dir)
{
    int err = ll_http_add_route(h, prefix, LL_HTTP_PUBLIC, NULL, serve_dir, NULL);
    if (err)
        return err;
    route_t *r = &h->routes[h->nroutes - 1];
    r->ctx = r;
    if (!(r->dir = strdup(dir)))
        return LL_ERR_NOMEM;
    return LL_OK;
}

int ll_http_tls(const ll_http_t *h)
{
    return h->tls;
}

/* ---- identity ---- */

/* Common name of a client certificate that verifies against the CA, into
 * out[cap]; 0 if there is one. */
static int cert_identity(struct MHD_Connection *conn, char *out, size_t cap)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    gnutls_session_t s;
    const gnutls_datum_t *peers;
    unsigned n = 0, status = 0;
    gnutls_x509_crt_t crt;
    int rc = -1;
    if (!ci || !(s = (gnutls_session_t)ci->tls_session))
        return -1;
    /* Verification against the trust list MHD loaded (tls_ca): chain,
     * signatures, validity period. No certificate at all fails here too. */
    if (gnutls_certificate_verify_peers2(s, &status) != GNUTLS_E_SUCCESS || status != 0)
        return -1;
    if (!(peers = gnutls_certificate_get_peers(s, &n)) || n == 0)
        return -1;
    if (gnutls_x509_crt_init(&crt) != GNUTLS_E_SUCCESS)
        return -1;
    size_t sz = cap;
    if (gnutls_x509_crt_import(crt, &peers[0], GNUTLS_X509_FMT_DER) == GNUTLS_E_SUCCESS &&
        gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, out, &sz) ==
            GNUTLS_E_SUCCESS &&
        sz > 0 && sz < cap && strlen(out) == sz)
        rc = 0;
    gnutls_x509_crt_deinit(crt);
    return rc;
}

static int valid_actor_text(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 128)
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || *s == 0x7f)
            return 0;
    return 1;
}

/* The caller's identity into out[cap]: the proxy's header when the peer
 * is the trusted proxy, else a verified client certificate. */
static const char *identity_of(ll_http_t *h, struct MHD_Connection *conn, char *out, size_t cap)
{
    if (h->have_proxy) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        if (ci && ci->client_addr && same_host(ci->client_addr, &h->proxy)) {
            const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, h->identity_header);
            if (v && valid_actor_text(v)) {
                snprintf(out, cap, "%s", v);
                return out;
            }
        }
    }
    if (h->tls && cert_identity(conn, out, cap) == 0)
        return out;
    return NULL;
}

/* ---- responses ---- */

int ll_http_status_from_grpc(grpc_status_code c)
{
    switch (c) {
    case GRPC_STATUS_OK: return 200;
    case GRPC_STATUS_CANCELLED: return 499;
    case GRPC_STATUS_UNKNOWN: return 500;
    case GRPC_STATUS_INVALID_ARGUMENT: return 400;
    case GRPC_STATUS_DEADLINE_EXCEEDED: return 504;
    case GRPC_STATUS_NOT_FOUND: return 404;
    case GRPC_STATUS_ALREADY_EXISTS: return 409;
    case GRPC_STATUS_PERMISSION_DENIED: return 403;
    case GRPC_STATUS_RESOURCE_EXHAUSTED: return 429;
    case GRPC_STATUS_FAILED_PRECONDITION: return 400;
    case GRPC_STATUS_ABORTED: return 409;
    case GRPC_STATUS_OUT_OF_RANGE: return 400;
    case GRPC_STATUS_UNIMPLEMENTED: return 501;
    case GRPC_STATUS_INTERNAL: return 500;
    case GRPC_STATUS_UNAVAILABLE: return 503;
    case GRPC_STATUS_DATA_LOSS: return 500;
    case GRPC_STATUS_UNAUTHENTICATED: return 401;
    default: return 500;
    }
}

/* JSON string escaping for the error message (ASCII control characters
 * escaped; other bytes pass, messages are ours and UTF-8). */
static size_t json_escape(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    for (; *s && n + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            out[n++] = '\\';
            out[n++] = (char)c;
        } else if (c < 0x20) {
            n += (size_t)snprintf(out + n, cap - n, "\\u%04x", c);
        } else {
            out[n++] = (char)c;
        }
    }
    out[n] = 0;
    return n;
}

void ll_http_error(ll_http_resp_t *resp, grpc_status_code c, const char *fmt, ...)
{
    char m[600], e[1400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    json_escape(m, e, sizeof e);
    free(resp->static_body ? NULL : resp->body);
    resp->static_body = 0;
    resp->body = NULL;
    size_t cap = strlen(e) + 64;
    if ((resp->body = malloc(cap)))
        resp->len = (size_t)snprintf(resp->body, cap,
                                     "{\"code\":%d,\"message\":\"%s\",\"details\":[]}\n", (int)c, e);
    else
        resp->len = 0;
    resp->status = ll_http_status_from_grpc(c);
    resp->type = "application/json";
    resp->cache = NULL;
}

grpc_status_code ll_http_authorize(ll_http_t *h, const char *rpc_path, const char *identity,
                                   char *msg, size_t cap)
{
    int err;
    if (cap)
        msg[0] = 0;
    if (!h->authorize)
        return GRPC_STATUS_OK;
    if (!(err = h->authorize(h->authorize_ctx, rpc_path, identity, msg, cap)))
        return GRPC_STATUS_OK;
    if (!msg[0])
        snprintf(msg, cap, "%s", ll_strerror(err));
    return ll_status_from_err(err);
}

const char *ll_http_query(const ll_http_req_t *req, const char *key)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, key);
}

typedef struct each_ctx {
    int (*fn)(void *ctx, const char *key, const char *value);
    void *ctx;
    int rc;
} each_ctx_t;

static enum MHD_Result each_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *value)
{
    each_ctx_t *e = cls;
    (void)kind;
    e->rc = e->fn(e->ctx, key, value);
    return e->rc ? MHD_NO : MHD_YES;
}

int ll_http_query_each(const ll_http_req_t *req,
                       int (*fn)(void *ctx, const char *key, const char *value), void *ctx)
{
    each_ctx_t e = {fn, ctx, 0};
    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, each_arg, &e);
    return e.rc;
}

static enum MHD_Result send_resp(struct MHD_Connection *conn, ll_http_resp_t *r)
{
    struct MHD_Response *mr;
    enum MHD_Result rc;
    if (r->static_body)
        mr = MHD_create_response_from_buffer(r->len, r->body, MHD_RESPMEM_PERSISTENT);
    else
        mr = MHD_create_response_from_buffer(r->len, r->body, MHD_RESPMEM_MUST_FREE);
    if (!mr) {
        if (!r->static_body)
            free(r->body);
        return MHD_NO;
    }
    MHD_add_response_header(mr, "Content-Type", r->type ? r->type : "application/json");
    MHD_add_response_header(mr, "Cache-Control", r->cache ? r->cache : "no-store");
    MHD_add_response_header(mr, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(mr, "Referrer-Policy", "no-referrer");
    /* The console loads nothing from elsewhere; the policy says so. */
    MHD_add_response_header(mr, "Content-Security-Policy",
                            "default-src 'self'; img-src 'self' data:; object-src 'none'; "
                            "base-uri 'none'; frame-ancestors 'none'");
    if (r->extra_header)
        MHD_add_response_header(mr, r->extra_header, r->extra_value);
    rc = MHD_queue_response(conn, (unsigned)r->status, mr);
    MHD_destroy_response(mr);
    return rc;
}

static route_t *find_route(ll_http_t *h, const char *path)
{
    route_t *best = NULL;
    size_t bl = 0;
    for (unsigned i = 0; i < h->nroutes; i++) {
        size_t l = strlen(h->routes[i].prefix);
        /* A prefix without a trailing '/' names one path exactly, and so
         * does "/" itself (it is not a catch-all). */
        int match = h->routes[i].prefix[l - 1] == '/' && l > 1
                        ? !strncmp(path, h->routes[i].prefix, l)
                        : !strcmp(path, h->routes[i].prefix);
        if (match && l > bl) {
            best = &h->routes[i];
            bl = l;
        }
    }
    return best;
}

static int request_marker;

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    ll_http_t *h = cls;
    ll_http_resp_t resp = {0};
    char ident[160], msg[300];
    (void)version;
    (void)upload_data;
    if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
        ll_http_error(&resp, GRPC_STATUS_UNIMPLEMENTED,
                      "%s is not served: the HTTP face is read-only (GET, HEAD)", method);
        resp.status = 405;
        resp.extra_header = "Allow";
        resp.extra_value = "GET, HEAD";
        return send_resp(conn, &resp);
    }
    if (!*con_cls) {
        /* First call for this request: headers only. A body on a GET is
         * refused before it is read. */
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        const char *te = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Transfer-Encoding");
        if ((cl && strcmp(cl, "0")) || te) {
            ll_http_error(&resp, GRPC_STATUS_INVALID_ARGUMENT, "requests carry no body");
            resp.status = 413;
            return send_resp(conn, &resp);
        }
        *con_cls = &request_marker;
        return MHD_YES;
    }
    if (*upload_data_size) {
        *upload_data_size = 0; /* unreachable after the check above; never buffer */
        return MHD_YES;
    }
    const char *id = identity_of(h, conn, ident, sizeof ident);
    route_t *r = find_route(h, url);
    if (!r) {
        ll_http_error(&resp, GRPC_STATUS_NOT_FOUND, "no such path %.200s (see /console/ and /v1/)",
                      url);
        return send_resp(conn, &resp);
    }
    if (r->access == LL_HTTP_READ) {
        grpc_status_code c = ll_http_authorize(h, r->rpc_path, id, msg, sizeof msg);
        if (c != GRPC_STATUS_OK) {
            ll_http_error(&resp, c, "%s", msg);
            return send_resp(conn, &resp);
        }
    }
    ll_http_req_t req = {.method = method, .path = url, .identity = id, .conn = conn, .http = h};
    resp.status = 200;
    r->fn(r->ctx, &req, &resp);
    return send_resp(conn, &resp);
}

static void on_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    /* libmicrohttpd's own diagnostics (TLS handshake failures, limits);
     * they never contain request data beyond addresses. */
    fprintf(stderr, "loopledgerd: http: ");
    vfprintf(stderr, fmt, ap);
}

int ll_http_start(ll_http_t *h, int *port)
{
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;
    if (h->addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if (h->tls)
        flags |= MHD_USE_TLS;
    struct MHD_OptionItem tls_opts[] = {
        {MHD_OPTION_HTTPS_MEM_CERT, 0, h->cert_pem},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, h->key_pem},
        /* Setting a trust list makes GnuTLS request (not require) a client
         * certificate; cert_identity verifies it against this CA. */
        {MHD_OPTION_HTTPS_MEM_TRUST, 0, h->ca_pem},
        {MHD_OPTION_END, 0, NULL}};
    h->d = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, h, MHD_OPTION_EXTERNAL_LOGGER, on_log, NULL,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&h->addr,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)h->threads, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)h->max_conn, MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)h->per_ip,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)h->timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)h->mem_limit, MHD_OPTION_ARRAY,
        h->tls ? tls_opts : &tls_opts[3], MHD_OPTION_END);
    if (!h->d)
        return LL_ERR_IO;
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    *port = di ? di->port : 0;
    return LL_OK;
}

void ll_http_free(ll_http_t *h)
{
    if (!h)
        return;
    if (h->d)
        MHD_stop_daemon(h->d);
    for (unsigned i = 0; i < h->nroutes; i++) {
        free(h->routes[i].prefix);
        free(h->routes[i].rpc_path);
        free(h->routes[i].dir);
    }
    if (h->key_pem) {
        /* The private key: wipe before freeing. */
        volatile char *p = h->key_pem;
        while (*p)
            *p++ = 0;
    }
    free(h->cert_pem);
    free(h->key_pem);
    free(h->ca_pem);
    free(h);
}
