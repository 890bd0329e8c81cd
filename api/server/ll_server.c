/*
 * ll_server: gRPC core server runtime (ll_server.h).
 *
 * Every completion-queue event carries a pointer to an ll_tag whose fn
 * knows what finished. A call is reference counted: one reference for the
 * handler's obligation to end it, one per operation batch in flight. The
 * last reference frees the gRPC call and everything the request owned.
 */
#include "ll_server.h"

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>
#include <pthread.h>
#include <stdarg.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ll_accept.h"
#include "ll_err.h"
#include "ll_hist.h"
#include "ll_peers.h"
#include "ll_status.h"

#define LL_MAX_METHODS 32

typedef struct ll_tag {
    void (*fn)(struct ll_tag *tag, int ok);
} ll_tag_t;

typedef struct ll_method {
    char *path;
    int streaming; /* server streaming, or bidi */
    int bidi;      /* messages are read one by one (ll_call_read_next) */
    ll_handler_fn fn;
    void *svc;
    void *handle;
    int background; /* served on the background queue */
    int bulk;       /* big requests: its own receive budget */
    /* Metrics: calls ended per status code and transport, latency. */
    _Atomic uint64_t ended[2][LL_STATUS_CODES];
    ll_hist_t latency;
} ll_method_t;

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
    /* Unary request messages being received: at most max_reads at once
     * (receive budget / max message), so gRPC buffers at most that many
     * whole messages; other calls wait in rwait, their streams held to the
     * HTTP/2 initial window by flow control (BDP probing off). reading is
     * oldest first: a read older than LL_SERVER_STALE_READ_MS is cancelled
     * when a call has to wait, so slow senders cannot hold the budget. */
    pthread_mutex_t rlock;
    unsigned max_reads;
    int rclosed;
    /* Two such budgets: [1] for bulk methods (ll_server_set_bulk: Append,
     * whose messages may be big), [0] for the rest, so a small call never
     * waits behind big uploads. */
    struct ll_gate {
        unsigned reads;
        ll_call_t *rwait, **rwait_tail;
        ll_call_t *reading, **reading_tail;
    } gates[2];
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

struct ll_call {
    ll_server_t *srv;
    /* In-process call (ll_server_invoke): no grpc_call; ending it hands
     * the answer to local_done and frees the call. */
    int local;
    ll_local_done_fn local_done;
    void *local_arg;
    struct timespec started;
    ll_method_t *method;
    ll_cq_t *q;
    grpc_call *call;
    gpr_timespec deadline;
    grpc_metadata_array md;
    grpc_call_details details; /* unregistered (generic) calls only */
    grpc_byte_buffer *payload;
    grpc_slice req;
    int have_req;
    char *peer;
    char *identity;   /* verified client certificate CN (malloc'd) */
    int identity_done;
    atomic_int refs;
    atomic_int ended;
    int counted; /* included in srv->calls */
    int stream_counted; /* included in srv->streams under peer */
    ll_call_t *rnext, **rprev; /* rwait or reading list (srv->rlock) */
    int rstate;                /* 0 none, 1 waiting, 2 reading */
    int rcancelled;            /* a stale read, cancelled once */
    struct timespec rstart;

    ll_tag_t tag_new, tag_done, tag_send, tag_close, tag_recv, tag_first;
    grpc_byte_buffer *recv_buf; /* bidi: the message being read */
    int cancelled;
    int sent_initial;
    grpc_byte_buffer *out;
    grpc_byte_buffer *send_buf;
    grpc_slice status_details;
    int have_details;
    ll_sent_fn sent_fn;
    void *sent_arg;
    pthread_mutex_t lock;
    void (*on_cancel)(ll_call_t *, void *);
    void *cancel_arg;
    int closed;
    void *data;
    void (*data_free)(void *);
};

#define CONTAINER(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

static void call_unref(ll_call_t *c)
{
    if (atomic_fetch_sub(&c->refs, 1) != 1)
        return;
    if (c->local) {
        free(c->identity);
        if (c->have_req)
            grpc_slice_unref(c->req);
        if (c->data_free)
            c->data_free(c->data);
        pthread_mutex_destroy(&c->lock);
        free(c);
        return;
    }
    if (c->call)
        grpc_call_unref(c->call);
    grpc_metadata_array_destroy(&c->md);
    if (!c->method->handle)
        grpc_call_details_destroy(&c->details);
    if (c->payload)
        grpc_byte_buffer_destroy(c->payload);
    if (c->have_req)
        grpc_slice_unref(c->req);
    if (c->out)
        grpc_byte_buffer_destroy(c->out);
    if (c->send_buf)
        grpc_byte_buffer_destroy(c->send_buf);
    if (c->recv_buf)
        grpc_byte_buffer_destroy(c->recv_buf);
    if (c->have_details)
        grpc_slice_unref(c->status_details);
    if (c->stream_counted)
        ll_peers_release(c->srv->streams, c->peer, strlen(c->peer));
    if (c->peer)
        gpr_free(c->peer);
    free(c->identity);
    if (c->data_free)
        c->data_free(c->data);
    if (c->counted)
        atomic_fetch_sub(&c->srv->calls, 1);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

static void on_new_call(ll_tag_t *tag, int ok);
static void on_done(ll_tag_t *tag, int ok);
static void on_send(ll_tag_t *tag, int ok);
static void on_close(ll_tag_t *tag, int ok);
static void on_recv(ll_tag_t *tag, int ok);
static void on_first(ll_tag_t *tag, int ok);
static void read_first(ll_call_t *c);

static void request_call(ll_server_t *srv, ll_method_t *m, ll_cq_t *q)
{
    if (atomic_load(&srv->shutting_down))
        return;
    ll_call_t *c = calloc(1, sizeof *c);
    if (!c)
        return; /* this queue serves one fewer slot; others keep going */
    c->srv = srv;
    c->method = m;
    c->q = q;
    atomic_init(&c->refs, 1);
    pthread_mutex_init(&c->lock, NULL);
    grpc_metadata_array_init(&c->md);
    c->tag_new.fn = on_new_call;
    c->tag_done.fn = on_done;
    c->tag_send.fn = on_send;
    c->tag_close.fn = on_close;
    c->tag_recv.fn = on_recv;
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
        call_unref(c);
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
        call_unref(c); /* server shutting down: the slot is never filled */
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
            call_unref(c);
    }
    c->counted = 1;
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
    c->stream_counted = 1;
    if (c->method->bidi) {
        if (!authorized(c))
            return;
        ll_call_read_next(c);
        return;
    }
    read_first(c);
}

/* ---- the receive budget (see rlock) ---- */

static void rlist_add(ll_call_t ***tail, ll_call_t *c)
{
    c->rnext = NULL;
    c->rprev = *tail;
    **tail = c;
    *tail = &c->rnext;
}

static void rlist_del(ll_call_t ***tail, ll_call_t *c)
{
    *c->rprev = c->rnext;
    if (c->rnext)
        c->rnext->rprev = c->rprev;
    else
        *tail = c->rprev;
}

static long ms_since(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - t->tv_sec) * 1000L + (now.tv_nsec - t->tv_nsec) / 1000000L;
}

static void start_read(ll_call_t *c)
{
    grpc_op op = {0};
    op.op = GRPC_OP_RECV_MESSAGE;
    op.data.recv_message.recv_message = &c->payload;
    atomic_fetch_add(&c->refs, 1);
    if (grpc_call_start_batch(c->call, &op, 1, &c->tag_first, NULL) != GRPC_CALL_OK)
        on_first(&c->tag_first, 0); /* gives the budget back, ends the call */
}

/* Reads c's request message now, or queues c until the budget allows. */
static void read_first(ll_call_t *c)
{
    ll_server_t *srv = c->srv;
    struct ll_gate *g = &srv->gates[c->method->bulk];
    ll_call_t *stale = NULL;
    int now = 0;
    pthread_mutex_lock(&srv->rlock);
    if (srv->rclosed) {
        pthread_mutex_unlock(&srv->rlock);
        ll_call_fail(c, GRPC_STATUS_UNAVAILABLE, "server is shutting down");
        return;
    }
    if (g->reads < srv->max_reads) {
        g->reads++;
        c->rstate = 2;
        clock_gettime(CLOCK_MONOTONIC, &c->rstart);
        rlist_add(&g->reading_tail, c);
        now = 1;
    } else {
        c->rstate = 1;
        rlist_add(&g->rwait_tail, c);
        ll_call_t *old = g->reading;
        if (old && ms_since(&old->rstart) > LL_SERVER_STALE_READ_MS && !old->rcancelled) {
            old->rcancelled = 1;
            atomic_fetch_add(&old->refs, 1);
            stale = old;
        }
    }
    pthread_mutex_unlock(&srv->rlock);
    if (now)
        start_read(c);
    if (stale) {
        /* Its read completes (not ok) and hands its budget on. */
        grpc_call_cancel_with_status(stale->call, GRPC_STATUS_RESOURCE_EXHAUSTED,
                                     "request message not received within the server's "
                                     "time while others wait; send it promptly",
                                     NULL);
        call_unref(stale);
    }
}

/* c's read finished: its budget goes to the oldest waiting call. */
static void read_done(ll_call_t *c)
{
    ll_server_t *srv = c->srv;
    struct ll_gate *g = &srv->gates[c->method->bulk];
    ll_call_t *next = NULL;
    pthread_mutex_lock(&srv->rlock);
    if (c->rstate == 2) {
        rlist_del(&g->reading_tail, c);
        c->rstate = 0;
        if (g->rwait && !srv->rclosed) {
            next = g->rwait;
            rlist_del(&g->rwait_tail, next);
            next->rstate = 2;
            clock_gettime(CLOCK_MONOTONIC, &next->rstart);
            rlist_add(&g->reading_tail, next);
        } else {
            g->reads--;
        }
    }
    pthread_mutex_unlock(&srv->rlock);
    if (next)
        start_read(next);
}

/* Shutdown: waiting calls never started an operation gRPC could cancel. */
static void read_close(ll_server_t *srv)
{
    pthread_mutex_lock(&srv->rlock);
    srv->rclosed = 1;
    ll_call_t *lists[2];
    for (int k = 0; k < 2; k++) {
        struct ll_gate *g = &srv->gates[k];
        lists[k] = g->rwait;
        g->rwait = NULL;
        g->rwait_tail = &g->rwait;
        for (ll_call_t *c = lists[k]; c; c = c->rnext)
            c->rstate = 0;
    }
    pthread_mutex_unlock(&srv->rlock);
    for (int k = 0; k < 2; k++) {
        ll_call_t *list = lists[k];
        while (list) {
            ll_call_t *next = list->rnext;
            ll_call_fail(list, GRPC_STATUS_UNAVAILABLE, "server is shutting down");
            list = next;
        }
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
    call_unref(c);
}

void ll_call_read_next(ll_call_t *c)
{
    grpc_op op;
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_RECV_MESSAGE;
    op.data.recv_message.recv_message = &c->recv_buf;
    atomic_fetch_add(&c->refs, 1);
    if (grpc_call_start_batch(c->call, &op, 1, &c->tag_recv, NULL) != GRPC_CALL_OK) {
        /* Treated like the end of the client's stream: the handler ends
         * the call. */
        c->method->fn(c, NULL, 0, c->method->svc);
        call_unref(c);
    }
}

static void on_recv(ll_tag_t *tag, int ok)
{
    ll_call_t *c = CONTAINER(tag, ll_call_t, tag_recv);
    grpc_byte_buffer *bb = c->recv_buf;
    grpc_byte_buffer_reader r;

    c->recv_buf = NULL;
    if (c->have_req) {
        /* The previous message's bytes: the handler was done with them
         * when it asked for the next one. */
        grpc_slice_unref(c->req);
        c->have_req = 0;
    }
    if (ok && bb && grpc_byte_buffer_reader_init(&r, bb)) {
        c->req = grpc_byte_buffer_reader_readall(&r);
        grpc_byte_buffer_reader_destroy(&r);
        c->have_req = 1;
    }
    if (bb)
        grpc_byte_buffer_destroy(bb);
    if (c->have_req)
        c->method->fn(c, GRPC_SLICE_START_PTR(c->req), GRPC_SLICE_LENGTH(c->req),
                      c->method->svc);
    else
        c->method->fn(c, NULL, 0, c->method->svc); /* half-close, or the call broke */
    call_unref(c);
}

static void on_done(ll_tag_t *tag, int ok)
{
    (void)ok;
    call_unref(CONTAINER(tag, ll_call_t, tag_done));
}

static void on_send(ll_tag_t *tag, int ok)
{
    ll_call_t *c = CONTAINER(tag, ll_call_t, tag_send);
    pthread_mutex_lock(&c->lock);
    ll_sent_fn fn = c->sent_fn;
    void *arg = c->sent_arg;
    c->sent_fn = NULL;
    if (c->send_buf) {
        grpc_byte_buffer_destroy(c->send_buf);
        c->send_buf = NULL;
    }
    pthread_mutex_unlock(&c->lock);
    if (fn)
        fn(c, ok, arg);
    call_unref(c);
}

static void on_close(ll_tag_t *tag, int ok)
{
    (void)ok;
    ll_call_t *c = CONTAINER(tag, ll_call_t, tag_close);
    pthread_mutex_lock(&c->lock);
    c->closed = 1;
    void (*fn)(ll_call_t *, void *) = atomic_load(&c->ended) ? NULL : c->on_cancel;
    void *arg = c->cancel_arg;
    c->on_cancel = NULL;
    pthread_mutex_unlock(&c->lock);
    if (fn)
        fn(c, arg);
    call_unref(c);
}

static void count_end(ll_call_t *c, grpc_status_code code)
{
    struct timespec now;
    ll_method_t *m = c->method;
    if (!m->handle && !c->local)
        return; /* unknown methods are not a series of their own */
    clock_gettime(CLOCK_MONOTONIC, &now);
    if ((unsigned)code < LL_STATUS_CODES)
        atomic_fetch_add_explicit(&m->ended[c->local][code], 1, memory_order_relaxed);
    ll_hist_add(&m->latency, (uint64_t)((now.tv_sec - c->started.tv_sec) * 1000000000LL +
                                        (now.tv_nsec - c->started.tv_nsec)));
}

/* body: the reply message when with_body; end_call takes its reference. */
static void end_call(ll_call_t *c, grpc_status_code code, const char *msg,
                     grpc_slice body, int with_body)
{
    if (atomic_exchange(&c->ended, 1)) {
        if (with_body)
            grpc_slice_unref(body);
        return; /* ended already: a bug upstream, but never double-finish */
    }
    count_end(c, code);
    if (c->local) {
        c->local_done(c->local_arg, code, msg ? msg : "",
                      with_body ? GRPC_SLICE_START_PTR(body) : NULL,
                      with_body ? GRPC_SLICE_LENGTH(body) : 0);
        if (with_body)
            grpc_slice_unref(body);
        call_unref(c);
        return;
    }
    grpc_op ops[4];
    size_t n = 0;
    memset(ops, 0, sizeof ops);
    pthread_mutex_lock(&c->lock);
    if (!c->sent_initial) {
        ops[n].op = GRPC_OP_SEND_INITIAL_METADATA;
        n++;
        c->sent_initial = 1;
    }
    if (with_body) {
        c->out = grpc_raw_byte_buffer_create(&body, 1);
        grpc_slice_unref(body);
        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n].data.send_message.send_message = c->out;
        n++;
    }
    c->status_details = grpc_slice_from_copied_string(msg ? msg : "");
    c->have_details = 1;
    ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[n].data.send_status_from_server.status = code;
    ops[n].data.send_status_from_server.status_details = &c->status_details;
    n++;
    if (!c->method->streaming) {
        ops[n].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
        ops[n].data.recv_close_on_server.cancelled = &c->cancelled;
        n++;
    }
    pthread_mutex_unlock(&c->lock);
    /* The handler's reference moves to the batch; on_done drops it. */
    if (grpc_call_start_batch(c->call, ops, n, &c->tag_done, NULL) != GRPC_CALL_OK)
        call_unref(c);
}

void ll_call_reply(ll_call_t *call, const uint8_t *msg, size_t len)
{
    end_call(call, GRPC_STATUS_OK, NULL,
             grpc_slice_from_copied_buffer((const char *)msg, len), 1);
}

void ll_call_reply_slice(ll_call_t *call, grpc_slice msg)
{
    end_call(call, GRPC_STATUS_OK, NULL, msg, 1);
}

void ll_call_fail(ll_call_t *call, grpc_status_code code, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    end_call(call, code, buf, grpc_empty_slice(), 0);
}

void ll_call_finish(ll_call_t *call, grpc_status_code code, const char *msg)
{
    end_call(call, code, msg, grpc_empty_slice(), 0);
}

void ll_call_send(ll_call_t *c, const uint8_t *msg, size_t len, ll_sent_fn done,
                  void *arg)
{
    ll_call_send_slice(c, grpc_slice_from_copied_buffer((const char *)msg, len), done, arg);
}

void ll_call_send_slice(ll_call_t *c, grpc_slice s, ll_sent_fn done, void *arg)
{
    if (c->local) { /* refused by ll_server_invoke; never reached */
        grpc_slice_unref(s);
        if (done)
            done(c, 0, arg);
        return;
    }
    grpc_op ops[2];
    size_t n = 0;
    memset(ops, 0, sizeof ops);
    pthread_mutex_lock(&c->lock);
    if (!c->sent_initial) {
        ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
        c->sent_initial = 1;
    }
    c->send_buf = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s);
    ops[n].op = GRPC_OP_SEND_MESSAGE;
    ops[n].data.send_message.send_message = c->send_buf;
    n++;
    c->sent_fn = done;
    c->sent_arg = arg;
    pthread_mutex_unlock(&c->lock);
    atomic_fetch_add(&c->refs, 1);
    if (grpc_call_start_batch(c->call, ops, n, &c->tag_send, NULL) != GRPC_CALL_OK) {
        c->sent_fn = NULL;
        call_unref(c);
        if (done)
            done(c, 0, arg);
    }
}

void ll_call_on_cancel(ll_call_t *c, void (*on_cancel)(ll_call_t *, void *),
                       void *arg)
{
    pthread_mutex_lock(&c->lock);
    int closed = c->closed;
    if (!closed) {
        c->on_cancel = on_cancel;
        c->cancel_arg = arg;
    }
    pthread_mutex_unlock(&c->lock);
    if (closed && !atomic_load(&c->ended))
        on_cancel(c, arg);
}

void ll_call_set_data(ll_call_t *c, void *data, void (*free_fn)(void *))
{
    c->data = data;
    c->data_free = free_fn;
}

const char *ll_call_identity(ll_call_t *c)
{
    /* Only handlers and the authorizer of this call ask, never at once. */
    if (!c->identity_done && !c->local) {
        grpc_auth_context *ctx = grpc_call_auth_context(c->call);
        c->identity_done = 1;
        if (ctx) {
            /* Only a verified peer has an identity at all. */
            if (grpc_auth_context_peer_is_authenticated(ctx)) {
                grpc_auth_property_iterator it = grpc_auth_context_find_properties_by_name(
                    ctx, GRPC_X509_CN_PROPERTY_NAME);
                const grpc_auth_property *p = grpc_auth_property_iterator_next(&it);
                if (p && p->value_length > 0 && p->value_length <= 128) {
                    c->identity = malloc(p->value_length + 1);
                    if (c->identity) {
                        memcpy(c->identity, p->value, p->value_length);
                        c->identity[p->value_length] = 0;
                    }
                }
            }
            grpc_auth_context_release(ctx);
        }
    }
    return c->identity;
}

unsigned ll_server_calls(ll_server_t *srv)
{
    return atomic_load(&srv->calls);
}

const char *ll_call_peer(ll_call_t *c)
{
    if (c->local)
        return "local";
    if (!c->peer)
        c->peer = grpc_call_get_peer(c->call);
    return c->peer;
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

int ll_server_create(const ll_server_config_t *cfg, ll_server_t **out)
{
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
    pthread_mutex_init(&srv->rlock, NULL);
    for (int k = 0; k < 2; k++) {
        srv->gates[k].rwait_tail = &srv->gates[k].rwait;
        srv->gates[k].reading_tail = &srv->gates[k].reading;
    }
    {
        size_t budget = cfg->receive_budget ? cfg->receive_budget : LL_SERVER_DEFAULT_RECEIVE;
        size_t msg = cfg->max_message ? (size_t)cfg->max_message : (1u << 20);
        srv->max_reads = budget / msg < 4 ? 4 : (unsigned)(budget / msg);
    }

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
    if (!srv->server || !srv->cqs || !srv->listen || ll_peers_create(&srv->streams)) {
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
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += grace_ms / 1000;
    until.tv_nsec += (long)(grace_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
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
    pthread_mutex_destroy(&srv->rlock);
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
    ll_call_t *c = calloc(1, sizeof *c);
    if (!c)
        return LL_ERR_NOMEM;
    c->srv = srv;
    c->method = m;
    c->local = 1;
    c->local_done = done;
    c->local_arg = arg;
    c->identity_done = 1;
    clock_gettime(CLOCK_MONOTONIC, &c->started);
    atomic_init(&c->refs, 1);
    pthread_mutex_init(&c->lock, NULL);
    if (identity && !(c->identity = strdup(identity))) {
        call_unref(c);
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
