/*
 * ll_server: gRPC core server runtime (ll_server.h).
 *
 * Completion queues and their threads, accepting calls (the caps on calls
 * in flight, per server and per connection, and the receive budget for
 * unary requests), method registration, shutdown and in-process calls.
 * A call's own operations and lifetime are ll_call.c's (ll_call_int.h).
 */
#include "ll_server.h"

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>
#include <dlfcn.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ll_accept.h"
#include "ll_call_int.h"
#include "ll_clock.h"
#include "ll_err.h"
#include "ll_hist.h"
#include "ll_peers.h"
#include "ll_status.h"

#define LL_MAX_METHODS 32

typedef struct ll_cq {
    ll_server_t *srv;
    grpc_completion_queue *cq;
    pthread_t thread;
    unsigned idx;
} ll_cq_t;

struct ll_server {
    grpc_server *server;
    grpc_server_credentials *creds;
    ll_authorize_fn authorize;
    void *authorize_ctx;
    ll_identity_fn identity;
    void *identity_ctx;
    unsigned max_calls;
    atomic_uint calls; /* in flight: counted from on_new_call to the free */
    /* Calls in flight per connection (keyed by the peer's "ipv4:a.b.c.d:port"),
     * capped at max_streams. gRPC core 1.51 checks HTTP/2
     * MAX_CONCURRENT_STREAMS against the client's *acknowledged* settings
     * only; a client that never acknowledges them may open any number of
     * streams, each a call in gRPC's memory. Every method is registered
     * without an initial payload, so each stream reaches on_new_call when
     * its headers arrive and is counted (and refused) here. */
    unsigned max_streams;
    ll_peers_t *streams;
    unsigned max_conns, max_conns_per_addr; /* ll_accept.h */
    /* Unary request messages being received (ll_recvbudget.h): at most
     * receive budget / max message at once per lane, lane 1 for the bulk
     * methods (ll_server_set_bulk: Append, whose messages may be big). */
    ll_recvbudget_t *budget;
    char *listen;
    unsigned nthreads;
    /* cqs[nthreads] is the background queue (ll_server_set_background):
     * its own thread at a lower priority. */
    ll_cq_t *cqs;
    ll_method_t methods[LL_MAX_METHODS];
    ll_method_t generic; /* catches unregistered methods */
    unsigned nmethods;
    atomic_int shutting_down;
    ll_tag_t shutdown_tag;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int shutdown_done;
};


static void on_new_call(ll_tag_t *tag, int ok);
static void on_first(ll_tag_t *tag, int ok);
static void read_first(ll_call_t *c);

static void request_call(ll_server_t *srv, ll_method_t *m, ll_cq_t *q)
{
    if (atomic_load(&srv->shutting_down))
        return;
    ll_call_t *c = ll_call_new(srv, m);
    if (!c)
        return; /* this queue serves one fewer slot; others keep going */
    c->q = q;
    grpc_metadata_array_init(&c->md);
    c->tag_new.fn = on_new_call;
    c->tag_first.fn = on_first;
    grpc_call_error e;
    if (m->handle) {
        /* No initial payload: the call is handed over on its headers
         * (see max_streams) and on_first reads a unary request. */
        e = grpc_server_request_registered_call(srv->server, m->handle, &c->call,
                                                &c->deadline, &c->md, NULL,
                                                q->cq, q->cq, &c->tag_new);
    } else {
        grpc_call_details_init(&c->details);
        e = grpc_server_request_call(srv->server, &c->call, &c->details, &c->md,
                                     q->cq, q->cq, &c->tag_new);
    }
    if (e != GRPC_CALL_OK)
        ll_call_unref(c);
}

/* Runs the server's authorizer; on refusal ends the call and returns 0. */
static int authorized(ll_call_t *c)
{
    if (c->srv->authorize) {
        char msg[200] = "";
        int err = c->srv->authorize(c->srv->authorize_ctx, c->method->path,
                                    ll_call_identity(c), msg, sizeof msg);
        if (err) {
            ll_call_fail(c, ll_status_from_err(err), "%s", msg[0] ? msg : ll_strerror(err));
            return 0;
        }
    }
    return 1;
}

/* The one path from a received unary request to its handler, for gRPC
 * calls and in-process ones (ll_server_invoke): the authorizer, then the
 * method. */
static void authorize_and_run(ll_call_t *c)
{
    if (!authorized(c))
        return;
    c->method->fn(c, GRPC_SLICE_START_PTR(c->req), GRPC_SLICE_LENGTH(c->req),
                  c->method->svc);
}

static void on_new_call(ll_tag_t *tag, int ok)
{
    ll_call_t *c = CONTAINER(tag, ll_call_t, tag_new);
    if (!ok) {
        ll_call_unref(c); /* server shutting down: the slot is never filled */
        return;
    }
    request_call(c->srv, c->method, c->q);
    clock_gettime(CLOCK_MONOTONIC, &c->started);
    if (!c->method->handle) {
        /* Without an answer, gRPC core would hold an unknown method's call
         * until its deadline. */
        char *m = grpc_slice_to_c_string(c->details.method);
        ll_call_fail(c, GRPC_STATUS_UNIMPLEMENTED, "unknown method %s", m);
        gpr_free(m);
        return;
    }
    if (c->method->streaming) {
        /* Learn early when a streaming client goes away. */
        grpc_op op = {0};
        op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
        op.data.recv_close_on_server.cancelled = &c->cancelled;
        atomic_fetch_add(&c->refs, 1);
        if (grpc_call_start_batch(c->call, &op, 1, &c->tag_close, NULL) != GRPC_CALL_OK)
            ll_call_unref(c);
    }
    c->calls_count = &c->srv->calls;
    unsigned n = atomic_fetch_add(&c->srv->calls, 1) + 1;
    if (n > c->srv->max_calls) {
        /* Refused before the request is looked at or any handler state
         * exists; the client may retry. */
        ll_call_fail(c, ll_status_from_err(LL_ERR_TOO_LARGE),
                     "server busy: %u calls in flight (limit %u); retry with backoff", n - 1,
                     c->srv->max_calls);
        return;
    }
    const char *peer = ll_call_peer(c);
    unsigned on_conn = 0, refused = 0;
    int got = peer ? ll_peers_acquire(c->srv->streams, peer, strlen(peer),
                                      c->srv->max_streams, &on_conn, &refused)
                   : -1;
    if (got != 1) {
        if (got == 0 && refused > LL_SERVER_STREAM_STRIKES * c->srv->max_streams) {
            /* Far past a limit the client was told: it ignores the
             * SETTINGS (or never acknowledged them), and gRPC keeps
             * creating its streams faster than they can be refused one by
             * one. Closing the connection frees them all. */
            ll_accept_drop_peer(peer);
        }
        if (got == 0)
            ll_call_fail(c, ll_status_from_err(LL_ERR_TOO_LARGE),
                         "too many calls on this connection: %u in flight (limit %u); "
                         "wait for answers or open another connection", on_conn,
                         c->srv->max_streams);
        else
            ll_call_fail(c, ll_status_from_err(LL_ERR_NOMEM), "out of memory");
        return;
    }
    c->streams = c->srv->streams;
    if (c->method->bidi) {
        if (!authorized(c))
            return;
        ll_call_read_next(c);
        return;
    }
    read_first(c);
}

/* ---- the receive budget (see budget) ---- */

static void start_read(ll_call_t *c)
{
    grpc_op op = {0};
    op.op = GRPC_OP_RECV_MESSAGE;
    op.data.recv_message.recv_message = &c->payload;
    atomic_fetch_add(&c->refs, 1);
    if (grpc_call_start_batch(c->call, &op, 1, &c->tag_first, NULL) != GRPC_CALL_OK)
        on_first(&c->tag_first, 0); /* gives the budget back, ends the call */
}

/* Runs under the budget's lock on a stale read handed back by
 * ll_recvbudget_enter: keeps its call alive until read_first cancels it. */
static void hold_call(ll_recvbudget_slot_t *s)
{
    atomic_fetch_add(&CONTAINER(s, ll_call_t, rslot)->refs, 1);
}

/* Reads c's request message now, or queues c until the budget allows. */
static void read_first(ll_call_t *c)
{
    ll_recvbudget_slot_t *s = NULL;
    int now = ll_recvbudget_enter(c->srv->budget, (unsigned)c->method->bulk, &c->rslot, &s);
    if (now < 0) {
        ll_call_fail(c, GRPC_STATUS_UNAVAILABLE, "server is shutting down");
        return;
    }
    if (now)
        start_read(c);
    if (s) {
        ll_call_t *stale = CONTAINER(s, ll_call_t, rslot);
        /* Its read completes (not ok) and hands its budget on. */
        grpc_call_cancel_with_status(stale->call, GRPC_STATUS_RESOURCE_EXHAUSTED,
                                     "request message not received within the server's "
                                     "time while others wait; send it promptly",
                                     NULL);
        ll_call_unref(stale);
    }
}

/* c's read finished: its budget goes to the oldest waiting call. */
static void read_done(ll_call_t *c)
{
    ll_recvbudget_slot_t *next =
        ll_recvbudget_leave(c->srv->budget, (unsigned)c->method->bulk, &c->rslot);
    if (next)
        start_read(CONTAINER(next, ll_call_t, rslot));
}

/* Shutdown: waiting calls never started an operation gRPC could cancel. */
static void read_close(ll_server_t *srv)
{
    ll_recvbudget_slot_t *list = ll_recvbudget_close(srv->budget);
    while (list) {
        ll_recvbudget_slot_t *next = list->next;
        ll_call_fail(CONTAINER(list, ll_call_t, rslot), GRPC_STATUS_UNAVAILABLE,
                     "server is shutting down");
        list = next;
    }
}

static void on_first(ll_tag_t *tag, int ok)
{
    ll_call_t *c = CONTAINER(tag, ll_call_t, tag_first);
    read_done(c);
    if (!ok || !c->payload) {
        ll_call_fail(c, GRPC_STATUS_INVALID_ARGUMENT, "request message missing");
        goto out;
    }
    grpc_byte_buffer *bb = c->payload;
    if (bb->type == GRPC_BB_RAW && bb->data.raw.compression == GRPC_COMPRESS_NONE &&
        bb->data.raw.slice_buffer.count == 1) {
        /* The common case (a small request arrives in one slice): borrow it
         * instead of copying it. */
        c->req = grpc_slice_ref(bb->data.raw.slice_buffer.slices[0]);
    } else {
        grpc_byte_buffer_reader r;
        if (!grpc_byte_buffer_reader_init(&r, bb)) {
            ll_call_fail(c, GRPC_STATUS_INVALID_ARGUMENT,
                         "request message unreadable (compression?)");
            goto out;
        }
        c->req = grpc_byte_buffer_reader_readall(&r);
        grpc_byte_buffer_reader_destroy(&r);
        /* A big request arrives in many slices: keep only the flat copy,
         * not both, while the call waits (e.g. in the append queue). */
        grpc_byte_buffer_destroy(c->payload);
        c->payload = NULL;
    }
    c->have_req = 1;
    authorize_and_run(c);
out:
    ll_call_unref(c);
}

unsigned ll_server_calls(ll_server_t *srv)
{
    return atomic_load(&srv->calls);
}

/* ---- server ---- */

static void *cq_main(void *arg)
{
    ll_cq_t *q = arg;
    if (q->idx == q->srv->nthreads)
        /* Background work gets what the other threads leave. Best effort:
         * nothing depends on it for correctness. */
        setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10);
    for (;;) {
        grpc_event ev = grpc_completion_queue_next(q->cq,
                                                   gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            break;
        if (ev.type == GRPC_OP_COMPLETE) {
            ll_tag_t *t = ev.tag;
            t->fn(t, ev.success);
        }
    }
    return NULL;
}

static void on_shutdown(ll_tag_t *tag, int ok)
{
    (void)ok;
    ll_server_t *srv = CONTAINER(tag, ll_server_t, shutdown_tag);
    pthread_mutex_lock(&srv->lock);
    srv->shutdown_done = 1;
    pthread_cond_broadcast(&srv->cond);
    pthread_mutex_unlock(&srv->lock);
}

/* Debian builds the Abseil under gRPC without NDEBUG, so every absl::Mutex
 * lock and destruction goes through deadlock detection: a process-wide
 * lock and a graph lookup, several times per call. That is a debugging
 * aid a release build compiles out; switch it off (kIgnore) when the
 * library offers the switch. Its C++ name is looked up, not linked, so a
 * build without it simply keeps the default. */
static void absl_deadlock_detection_off(void)
{
    static const char *const names[] = {
        "_ZN4absl7debian329SetMutexDeadlockDetectionModeENS0_15OnDeadlockCycleE",
        "_ZN4absl12lts_2022062329SetMutexDeadlockDetectionModeENS0_15OnDeadlockCycleE",
        "_ZN4absl29SetMutexDeadlockDetectionModeENS_15OnDeadlockCycleE",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        void *sym = dlsym(RTLD_DEFAULT, names[i]);
        if (sym) {
            void (*set_mode)(int);
            memcpy(&set_mode, &sym, sizeof set_mode);
            set_mode(0); /* absl::OnDeadlockCycle::kIgnore */
            return;
        }
    }
}

int ll_server_create(const ll_server_config_t *cfg, ll_server_t **out)
{
    static pthread_once_t absl_once = PTHREAD_ONCE_INIT;
    pthread_once(&absl_once, absl_deadlock_detection_off);
    ll_server_t *srv = calloc(1, sizeof *srv);
    if (!srv)
        return LL_ERR_NOMEM;
    srv->nthreads = cfg->threads ? cfg->threads : 4;
    srv->listen = strdup(cfg->listen);
    srv->creds = cfg->creds;
    srv->authorize = cfg->authorize;
    srv->authorize_ctx = cfg->authorize_ctx;
    srv->identity = cfg->identity;
    srv->identity_ctx = cfg->identity_ctx;
    srv->max_calls = cfg->max_calls ? cfg->max_calls : LL_SERVER_DEFAULT_CALLS;
    srv->max_streams = cfg->max_streams ? cfg->max_streams : LL_SERVER_DEFAULT_STREAMS;
    srv->max_conns = cfg->max_connections;
    srv->max_conns_per_addr = cfg->max_connections_per_address;
    pthread_mutex_init(&srv->lock, NULL);
    pthread_cond_init(&srv->cond, NULL);
    srv->shutdown_tag.fn = on_shutdown;
    size_t budget = cfg->receive_budget ? cfg->receive_budget : LL_SERVER_DEFAULT_RECEIVE;
    size_t msg = cfg->max_message ? (size_t)cfg->max_message : (1u << 20);
    unsigned max_reads = budget / msg < 4 ? 4 : (unsigned)(budget / msg);

    grpc_resource_quota *quota = grpc_resource_quota_create("loopledgerd");
    grpc_resource_quota_resize(quota, cfg->memory_quota ? cfg->memory_quota
                                                        : LL_SERVER_DEFAULT_MEMORY);
    grpc_arg args[9];
    size_t na = 0;
    args[na].type = GRPC_ARG_INTEGER;
    args[na].key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
    args[na++].value.integer = cfg->max_message ? cfg->max_message : (1 << 20);
    args[na].type = GRPC_ARG_INTEGER;
    args[na].key = GRPC_ARG_MAX_SEND_MESSAGE_LENGTH;
    args[na++].value.integer = 64 << 20;
    args[na].type = GRPC_ARG_INTEGER;
    args[na].key = GRPC_ARG_MAX_CONCURRENT_STREAMS;
    args[na++].value.integer = (int)srv->max_streams;
    args[na].type = GRPC_ARG_INTEGER;
    args[na].key = GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS;
    args[na++].value.integer = cfg->handshake_timeout_ms ? cfg->handshake_timeout_ms
                                                         : LL_SERVER_DEFAULT_HANDSHAKE_MS;
    args[na].type = GRPC_ARG_INTEGER;
    args[na].key = GRPC_ARG_MAX_CONNECTION_IDLE_MS;
    args[na++].value.integer = cfg->max_idle_ms ? cfg->max_idle_ms : LL_SERVER_DEFAULT_IDLE_MS;
    /* No bandwidth-delay probing: it raises every stream's initial window
     * (up to megabytes), and a call waiting for the receive budget should
     * buffer no more than the default window. */
    args[na].type = GRPC_ARG_INTEGER;
    args[na].key = GRPC_ARG_HTTP2_BDP_PROBE;
    args[na++].value.integer = 0;
    args[na].type = GRPC_ARG_INTEGER;
    args[na].key = GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES;
    args[na++].value.integer = 65535;
    args[na].type = GRPC_ARG_POINTER;
    args[na].key = GRPC_ARG_RESOURCE_QUOTA;
    args[na].value.pointer.p = quota;
    args[na++].value.pointer.vtable = grpc_resource_quota_arg_vtable();
    grpc_channel_args cargs = {na, args};
    srv->server = grpc_server_create(&cargs, NULL);
    grpc_resource_quota_unref(quota); /* the server holds its own reference */
    srv->cqs = calloc(srv->nthreads + 1, sizeof *srv->cqs);
    if (!srv->server || !srv->cqs || !srv->listen || ll_peers_create(&srv->streams) ||
        ll_recvbudget_create(max_reads, LL_SERVER_STALE_READ_MS, hold_call, &srv->budget)) {
        ll_server_destroy(srv);
        return LL_ERR_NOMEM;
    }
    for (unsigned i = 0; i <= srv->nthreads; i++) {
        srv->cqs[i].srv = srv;
        srv->cqs[i].idx = i;
        srv->cqs[i].cq = grpc_completion_queue_create_for_next(NULL);
        grpc_server_register_completion_queue(srv->server, srv->cqs[i].cq, NULL);
    }
    *out = srv;
    return LL_OK;
}

int ll_server_add_method(ll_server_t *srv, const char *path, int streaming,
                         ll_handler_fn fn, void *svc)
{
    if (srv->nmethods == LL_MAX_METHODS)
        return LL_ERR_RANGE;
    ll_method_t *m = &srv->methods[srv->nmethods];
    m->path = strdup(path);
    m->streaming = streaming;
    m->fn = fn;
    m->svc = svc;
    m->handle = grpc_server_register_method(srv->server, m->path, NULL,
                                            GRPC_SRM_PAYLOAD_NONE, 0);
    ll_hist_init(&m->latency, ll_hist_latency_ns, 16);
    if (!m->path || !m->handle)
        return LL_ERR_INVALID;
    srv->nmethods++;
    return LL_OK;
}

/* The identity check runs in gRPC's server auth filter, on the call's
 * headers, before the call is matched to a request or its message read. */
static void identity_process(void *state, grpc_auth_context *ctx, const grpc_metadata *md,
                             size_t num_md, grpc_process_auth_metadata_done_cb cb,
                             void *user_data)
{
    (void)md;
    (void)num_md;
    ll_server_t *srv = state;
    char cn[129], msg[200] = "";
    int err = LL_ERR_UNAUTHENTICATED;
    cn[0] = 0;
    if (grpc_auth_context_peer_is_authenticated(ctx)) {
        grpc_auth_property_iterator it =
            grpc_auth_context_find_properties_by_name(ctx, GRPC_X509_CN_PROPERTY_NAME);
        const grpc_auth_property *p = grpc_auth_property_iterator_next(&it);
        if (p && p->value_length > 0 && p->value_length < sizeof cn) {
            memcpy(cn, p->value, p->value_length);
            cn[p->value_length] = 0;
        }
    }
    if (cn[0])
        err = srv->identity(srv->identity_ctx, cn, msg, sizeof msg);
    else
        snprintf(msg, sizeof msg, "a verified client certificate naming a registered actor is "
                                  "required");
    if (err)
        cb(user_data, NULL, 0, NULL, 0, ll_status_from_err(err), msg[0] ? msg : ll_strerror(err));
    else
        cb(user_data, NULL, 0, NULL, 0, GRPC_STATUS_OK, NULL);
}

int ll_server_set_bulk(ll_server_t *srv, const char *path)
{
    for (unsigned m = 0; m < srv->nmethods; m++) {
        if (!strcmp(srv->methods[m].path, path)) {
            srv->methods[m].bulk = 1;
            return LL_OK;
        }
    }
    return LL_ERR_NOT_FOUND;
}

int ll_server_set_background(ll_server_t *srv, const char *path)
{
    for (unsigned m = 0; m < srv->nmethods; m++) {
        if (!strcmp(srv->methods[m].path, path)) {
            srv->methods[m].background = 1;
            return LL_OK;
        }
    }
    return LL_ERR_NOT_FOUND;
}

int ll_server_add_bidi_method(ll_server_t *srv, const char *path, ll_handler_fn fn,
                              void *svc)
{
    if (srv->nmethods == LL_MAX_METHODS)
        return LL_ERR_RANGE;
    ll_method_t *m = &srv->methods[srv->nmethods];
    m->path = strdup(path);
    m->streaming = 1;
    m->bidi = 1;
    m->fn = fn;
    m->svc = svc;
    m->handle = grpc_server_register_method(srv->server, m->path, NULL,
                                            GRPC_SRM_PAYLOAD_NONE, 0);
    ll_hist_init(&m->latency, ll_hist_latency_ns, 16);
    if (!m->path || !m->handle)
        return LL_ERR_INVALID;
    srv->nmethods++;
    return LL_OK;
}

int ll_server_start(ll_server_t *srv, int *port)
{
    if (srv->creds && srv->identity) {
        grpc_auth_metadata_processor proc = {identity_process, NULL, srv};
        grpc_server_credentials_set_auth_metadata_processor(srv->creds, proc);
    }
    grpc_server_credentials *creds = srv->creds ? srv->creds
                                                : grpc_insecure_server_credentials_create();
    srv->creds = NULL;
    int p = grpc_server_add_http2_port(srv->server, srv->listen, creds);
    grpc_server_credentials_release(creds);
    if (p == 0)
        return LL_ERR_IO;
    int err = ll_accept_limit(p, srv->max_conns, srv->max_conns_per_addr);
    if (err)
        return err;
    grpc_server_start(srv->server);
    for (unsigned i = 0; i < srv->nthreads; i++)
        request_call(srv, &srv->generic, &srv->cqs[i]);
    for (unsigned i = 0; i <= srv->nthreads; i++)
        for (unsigned m = 0; m < srv->nmethods; m++)
            /* Several outstanding requests per method and queue keep bursts
             * of concurrent calls from waiting on re-requests. */
            for (int k = 0; k < 8; k++)
                if (srv->methods[m].background == (i == srv->nthreads))
                    request_call(srv, &srv->methods[m], &srv->cqs[i]);
    for (unsigned i = 0; i <= srv->nthreads; i++)
        pthread_create(&srv->cqs[i].thread, NULL, cq_main, &srv->cqs[i]);
    *port = p;
    return LL_OK;
}

void ll_server_shutdown(ll_server_t *srv, int grace_ms)
{
    atomic_store(&srv->shutting_down, 1);
    read_close(srv);
    grpc_server_shutdown_and_notify(srv->server, srv->cqs[0].cq, &srv->shutdown_tag);
    struct timespec until = ll_clock_deadline((uint64_t)grace_ms * 1000000u);
    pthread_mutex_lock(&srv->lock);
    while (!srv->shutdown_done) {
        if (pthread_cond_timedwait(&srv->cond, &srv->lock, &until)) {
            pthread_mutex_unlock(&srv->lock);
            grpc_server_cancel_all_calls(srv->server);
            pthread_mutex_lock(&srv->lock);
            while (!srv->shutdown_done)
                pthread_cond_wait(&srv->cond, &srv->lock);
        }
    }
    pthread_mutex_unlock(&srv->lock);
    /* A call can outlive the shutdown notification (a Watch stream whose
     * send completes afterwards), and its handler may still start a batch
     * (the final status); gRPC aborts when that batch meets a queue already
     * shut down. So cancel what is left and keep the queues running until
     * every call is freed. Bounded: a call that is never released (a bug)
     * costs a warning, not a hung shutdown. */
    grpc_server_cancel_all_calls(srv->server);
    for (int waited_ms = 0; atomic_load(&srv->calls) > 0; waited_ms++) {
        if (waited_ms == grace_ms + 5000) {
            fprintf(stderr, "loopledgerd: %u calls still open at shutdown\n",
                    atomic_load(&srv->calls));
            break;
        }
        nanosleep(&(struct timespec){0, 1000000L}, NULL);
    }
    for (unsigned i = 0; i <= srv->nthreads; i++)
        grpc_completion_queue_shutdown(srv->cqs[i].cq);
    for (unsigned i = 0; i <= srv->nthreads; i++)
        pthread_join(srv->cqs[i].thread, NULL);
    ll_accept_unlimit();
}

void ll_server_destroy(ll_server_t *srv)
{
    if (!srv)
        return;
    if (srv->server)
        grpc_server_destroy(srv->server);
    for (unsigned i = 0; srv->cqs && i <= srv->nthreads; i++)
        if (srv->cqs[i].cq)
            grpc_completion_queue_destroy(srv->cqs[i].cq);
    for (unsigned m = 0; m < srv->nmethods; m++)
        free(srv->methods[m].path);
    if (srv->creds)
        grpc_server_credentials_release(srv->creds);
    free(srv->cqs);
    free(srv->listen);
    ll_peers_free(srv->streams);
    pthread_mutex_destroy(&srv->lock);
    ll_recvbudget_free(srv->budget);
    pthread_cond_destroy(&srv->cond);
    free(srv);
}

/* ---- in-process calls and metrics ---- */

int ll_server_invoke(ll_server_t *srv, const char *path, const uint8_t *req, size_t len,
                     const char *identity, ll_local_done_fn done, void *arg)
{
    ll_method_t *m = NULL;
    for (unsigned i = 0; i < srv->nmethods; i++)
        if (!strcmp(srv->methods[i].path, path))
            m = &srv->methods[i];
    if (!m)
        return LL_ERR_NOT_FOUND;
    if (m->streaming)
        return LL_ERR_INVALID;
    ll_call_t *c = ll_call_new(srv, m);
    if (!c)
        return LL_ERR_NOMEM;
    c->local = 1;
    c->local_done = done;
    c->local_arg = arg;
    c->identity_done = 1;
    clock_gettime(CLOCK_MONOTONIC, &c->started);
    if (identity && !(c->identity = strdup(identity))) {
        ll_call_unref(c);
        return LL_ERR_NOMEM;
    }
    c->req = grpc_slice_from_copied_buffer((const char *)req, len);
    c->have_req = 1;
    authorize_and_run(c);
    return LL_OK;
}

unsigned ll_server_method_count(ll_server_t *srv)
{
    return srv->nmethods;
}

const char *ll_server_method_stats(ll_server_t *srv, unsigned i, uint64_t ended[2][LL_STATUS_CODES],
                                   ll_hist_snap_t *latency_ns)
{
    ll_method_t *m = &srv->methods[i];
    for (int t = 0; t < 2; t++)
        for (int k = 0; k < LL_STATUS_CODES; k++)
            ended[t][k] = atomic_load_explicit(&m->ended[t][k], memory_order_relaxed);
    ll_hist_snapshot(&m->latency, latency_ns);
    return m->path;
}
