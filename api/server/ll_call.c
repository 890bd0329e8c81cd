/*
 * ll_call: one call's operations and lifetime (ll_call.h, ll_call_int.h):
 * replies, failures, stream sends and reads, cancellation, and the
 * reference counting that keeps the call alive until its last operation
 * completed. ll_server.c creates the calls and hands them to handlers;
 * nothing here reaches back into the server.
 */
#include "ll_call_int.h"

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void bb_free(grpc_byte_buffer *bb)
{
    if (bb)
        grpc_byte_buffer_destroy(bb);
}

static void on_done(ll_tag_t *tag, int ok);
static void on_send(ll_tag_t *tag, int ok);
static void on_close(ll_tag_t *tag, int ok);
static void on_recv(ll_tag_t *tag, int ok);

void ll_call_unref(ll_call_t *c)
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
    bb_free(c->payload);
    if (c->have_req)
        grpc_slice_unref(c->req);
    bb_free(c->out);
    bb_free(c->send_buf);
    bb_free(c->recv_buf);
    if (c->have_details)
        grpc_slice_unref(c->status_details);
    if (c->streams)
        ll_peers_release(c->streams, c->peer, strlen(c->peer));
    if (c->peer)
        gpr_free(c->peer);
    free(c->identity);
    if (c->data_free)
        c->data_free(c->data);
    if (c->calls_count)
        atomic_fetch_sub(c->calls_count, 1);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

ll_call_t *ll_call_new(struct ll_server *srv, ll_method_t *m)
{
    ll_call_t *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->srv = srv;
    c->method = m;
    atomic_init(&c->refs, 1);
    pthread_mutex_init(&c->lock, NULL);
    c->tag_done.fn = on_done;
    c->tag_send.fn = on_send;
    c->tag_close.fn = on_close;
    c->tag_recv.fn = on_recv;
    return c;
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
        ll_call_unref(c);
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
    ll_call_unref(c);
}

static void on_done(ll_tag_t *tag, int ok)
{
    (void)ok;
    ll_call_unref(CONTAINER(tag, ll_call_t, tag_done));
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
    ll_call_unref(c);
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
    ll_call_unref(c);
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

/* Zeroes ops[cap], takes c->lock and opens the batch with the initial
 * metadata unless it went already; returns the ops used. The caller adds
 * its own and unlocks. */
static size_t batch_begin(ll_call_t *c, grpc_op *ops, size_t cap)
{
    size_t n = 0;
    memset(ops, 0, cap * sizeof *ops);
    pthread_mutex_lock(&c->lock);
    if (!c->sent_initial) {
        ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
        c->sent_initial = 1;
    }
    return n;
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
        ll_call_unref(c);
        return;
    }
    grpc_op ops[4];
    size_t n = batch_begin(c, ops, 4);
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
        ll_call_unref(c);
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
    size_t n = batch_begin(c, ops, 2);
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
        ll_call_unref(c);
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

const char *ll_call_peer(ll_call_t *c)
{
    if (c->local)
        return "local";
    if (!c->peer)
        c->peer = grpc_call_get_peer(c->call);
    return c->peer;
}
