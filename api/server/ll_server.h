/*
 * ll_server: a small gRPC core (C API) server runtime. Services plug in
 * handlers; the runtime owns completion queues, threads and call lifetimes.
 *
 * Threads: `threads` completion queues, each drained by its own thread.
 * Every registered method keeps one call request outstanding on every
 * queue, so calls spread over the threads. Handlers run on those threads
 * and must not block for long; a handler that needs to wait (Append waits
 * for the group commit) answers later, from any thread.
 *
 * Handlers receive an ll_call_t and answer through ll_call.h (the call
 * contract is there).
 */
#ifndef LL_SERVER_H
#define LL_SERVER_H

#include <grpc/grpc.h>
#include <grpc/slice.h>
#include <grpc/status.h>
#include <stddef.h>
#include <stdint.h>

#include "ll_call.h"
#include "ll_hist.h"

typedef struct ll_server ll_server_t;

/* Decides whether identity (the verified client certificate's common name,
 * or NULL on a plaintext listener) may call method path. Returns LL_OK, or
 * an ll_err (its status per ll_status.h) with a message in msg[cap]. Runs
 * on a queue thread before the handler; must not block for long. */
typedef int (*ll_authorize_fn)(void *ctx, const char *path, const char *identity, char *msg,
                               size_t cap);

/* Decides whether a verified client certificate's common name (never
 * NULL here) may use the server at all: LL_OK, or an ll_err with a message
 * in msg[cap]. Runs (TLS listeners only) when a call's headers arrive,
 * before its message is read or any handler state exists, so a stranger's
 * calls cost nothing beyond the headers. Any thread; must not block long. */
typedef int (*ll_identity_fn)(void *ctx, const char *identity, char *msg, size_t cap);

/* Resource limits (0 means the LL_SERVER_DEFAULT_* value). */
#define LL_SERVER_DEFAULT_STREAMS 100        /* HTTP/2 streams per connection */
#define LL_SERVER_DEFAULT_CALLS 16384        /* calls in flight, whole server */
#define LL_SERVER_DEFAULT_HANDSHAKE_MS 5000  /* TCP accept -> HTTP/2 settings */
#define LL_SERVER_DEFAULT_IDLE_MS 600000     /* connection without calls */
#define LL_SERVER_DEFAULT_MEMORY (1024u << 20) /* gRPC core buffers (quota) */
/* A connection refused this many times its stream limit, with that many
 * calls in flight, is closed (ll_server.c, max_streams). */
#define LL_SERVER_STREAM_STRIKES 4
#define LL_SERVER_DEFAULT_RECEIVE (32u << 20) /* request messages being received */
/* A request message still arriving after this long may be cancelled when
 * other calls wait for the receive budget (ll_recvbudget.h). */
#define LL_SERVER_STALE_READ_MS 10000

typedef struct ll_server_config {
    const char *listen;       /* "127.0.0.1:7600"; port 0 picks a free one */
    grpc_server_credentials *creds; /* taken; NULL means insecure */
    unsigned threads;         /* completion-queue threads; 0 means 4 */
    int max_message;          /* max receive message bytes; 0 means 1 MiB */
    ll_authorize_fn authorize; /* optional: checked before every handler */
    void *authorize_ctx;
    ll_identity_fn identity;  /* optional (TLS): checked on a call's headers */
    void *identity_ctx;
    /* Per connection: HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS, and the
     * calls in flight the server accepts on one connection (whether or not
     * the client acknowledged the setting; beyond it RESOURCE_EXHAUSTED,
     * and the connection is closed when it keeps opening streams). */
    unsigned max_streams;
    /* Whole server: calls handed to handlers and not yet freed. Beyond it
     * a new call is answered RESOURCE_EXHAUSTED at once. */
    unsigned max_calls;
    /* A connection that has not completed TLS and HTTP/2 set-up within
     * this many ms is closed (gRPC's default is 120 s). */
    int handshake_timeout_ms;
    /* A connection with no call for this long is closed (GOAWAY). */
    int max_idle_ms;
    /* Memory gRPC core may use for its buffers (resource quota). */
    size_t memory_quota;
    /* Connections at once, in all and from one source address (0: the
     * LL_ACCEPT_DEFAULT_* values); beyond them a new connection is closed
     * as soon as it is accepted (ll_accept.h). */
    unsigned max_connections;
    unsigned max_connections_per_address;
    /* Bytes of unary request messages being received at once (0: the
     * default): this over max_message calls read their message at a time,
     * the others wait (their streams held to the 64 KiB HTTP/2 window).
     * Bulk methods (ll_server_set_bulk) have a second budget of this size. */
    size_t receive_budget;
} ll_server_config_t;

/* Creates (does not start) a server. Caller owns *out (ll_server_destroy). */
int ll_server_create(const ll_server_config_t *cfg, ll_server_t **out);

/* Registers a method by full path ("/pkg.Service/Method"). streaming is 1
 * for server-streaming methods. Before ll_server_start only. */
int ll_server_add_method(ll_server_t *srv, const char *path, int streaming,
                         ll_handler_fn fn, void *svc);

/* Registers a bidirectional-streaming method: fn runs once per client
 * message, in order, and once more with req == NULL, len == 0 when the
 * client half-closes the stream (or the call breaks). The runtime reads the
 * first message by itself; after that the handler asks for each next one
 * with ll_call_read_next(), typically once its answer was sent, so a
 * handler never sees two messages at once. It answers with ll_call_send()
 * and ends the call with ll_call_finish(), exactly once. Before
 * ll_server_start only. */
int ll_server_add_bidi_method(ll_server_t *srv, const char *path, ll_handler_fn fn,
                              void *svc);

/* Marks the registered unary method path as taking big requests: its
 * messages are received through their own budget (receive_budget), so
 * the other methods' small requests never wait behind them. Before
 * ll_server_start only. LL_OK, or LL_ERR_NOT_FOUND. */
int ll_server_set_bulk(ll_server_t *srv, const char *path);

/* Serves the registered method path on the background queue: one more
 * completion queue whose thread runs at a lower priority (nice +10), so
 * that method's completions (e.g. the sends of thousands of Watch streams)
 * never queue ahead of the other methods' work. Before ll_server_start
 * only. LL_OK, or LL_ERR_NOT_FOUND when path is not registered. */
int ll_server_set_background(ll_server_t *srv, const char *path);

/* Binds and starts serving; *port receives the bound port. */
int ll_server_start(ll_server_t *srv, int *port);

/* Stops accepting calls, lets in-flight calls finish for up to grace_ms,
 * then cancels the rest, and joins the threads. */
void ll_server_shutdown(ll_server_t *srv, int grace_ms);

void ll_server_destroy(ll_server_t *srv);

/* Calls currently in flight (handed to a handler and not yet freed). */
unsigned ll_server_calls(ll_server_t *srv);

/* ---- in-process calls (the HTTP gateway) ---- */

/* Runs the registered unary method path on req[len] (copied) as the
 * identity (a registered actor's name, or NULL as on a plaintext
 * listener), through the same authorizer and handler a gRPC call takes,
 * so both transports share one path per method (authorization, handler,
 * error mapping, metrics). done runs exactly once, on this thread for the
 * read methods (they answer before returning) or later from another
 * thread for a handler that answers later. The server must be started
 * and not yet shut down. Returns LL_OK (done will run), LL_ERR_NOT_FOUND
 * (no such method), LL_ERR_INVALID (a streaming method) or LL_ERR_NOMEM;
 * on an error done does not run. */
int ll_server_invoke(ll_server_t *srv, const char *path, const uint8_t *req, size_t len,
                     const char *identity, ll_local_done_fn done, void *arg);

/* ---- metrics ---- */

/* Number of registered methods (ll_server_method_stats indexes). */
unsigned ll_server_method_count(ll_server_t *srv);

/* Method i's path; ended[0][code] counts gRPC calls and ended[1][code]
 * in-process (HTTP) calls ended with that status; latency_ns is the time
 * from the call's arrival to its end. Any thread. */
const char *ll_server_method_stats(ll_server_t *srv, unsigned i,
                                   uint64_t ended[2][LL_STATUS_CODES],
                                   ll_hist_snap_t *latency_ns);

#endif
