/*
 * ll_server: the gRPC runtime, served for real on a loopback port and
 * called with ll_client. Handlers here are tiny stand-ins for services:
 * they echo, fail, stream, answer later from another thread, or never
 * answer, so that each part of the call contract is seen from a client.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>

#include "ll_client.h"
#include "ll_err.h"
#include "ll_server.h"

typedef struct fx {
    ll_server_t *srv;
    ll_client_t *cl;
    int port;
    atomic_int handled;   /* handler invocations */
    atomic_int cancelled; /* on_cancel invocations */
    atomic_int authorized;
    atomic_int bidi_msgs; /* bidi handler: messages seen */
    atomic_int bidi_ends; /* bidi handler: end-of-stream calls (req == NULL) */
} fx_t;

static void h_echo(ll_call_t *call, const uint8_t *req, size_t len, void *svc)
{
    fx_t *f = svc;
    atomic_fetch_add(&f->handled, 1);
    ll_call_reply(call, req, len);
}

static void h_fail(ll_call_t *call, const uint8_t *req, size_t len, void *svc)
{
    fx_t *f = svc;
    atomic_fetch_add(&f->handled, 1);
    ll_call_fail(call, GRPC_STATUS_NOT_FOUND, "no %.*s here", (int)len, (const char *)req);
}

typedef struct later {
    ll_call_t *call;
    uint8_t msg[16];
    size_t len;
} later_t;

static void *reply_later(void *arg)
{
    later_t *l = arg;
    usleep(50 * 1000);
    ll_call_reply(l->call, l->msg, l->len);
    free(l);
    return NULL;
}

/* Like Append: the handler returns at once, another thread answers. */
static void h_later(ll_call_t *call, const uint8_t *req, size_t len, void *svc)
{
    fx_t *f = svc;
    atomic_fetch_add(&f->handled, 1);
    later_t *l = calloc(1, sizeof *l);
    pthread_t t;
    l->call = call;
    l->len = len < sizeof l->msg ? len : sizeof l->msg;
    memcpy(l->msg, req, l->len); /* req is only valid until the call ends */
    pthread_create(&t, NULL, reply_later, l);
    pthread_detach(t);
}

typedef struct counter {
    ll_call_t *call;
    int left;
} counter_t;

static void count_sent(ll_call_t *call, int ok, void *arg)
{
    counter_t *c = arg;
    if (!ok) {
        ll_call_finish(call, GRPC_STATUS_CANCELLED, "broken");
        return;
    }
    if (c->left == 0) {
        ll_call_finish(call, GRPC_STATUS_OK, NULL);
        return;
    }
    uint8_t b = (uint8_t)c->left--;
    ll_call_send(call, &b, 1, count_sent, c);
}

/* Streams the request's first byte, counting down to 1. */
static void h_count(ll_call_t *call, const uint8_t *req, size_t len, void *svc)
{
    fx_t *f = svc;
    atomic_fetch_add(&f->handled, 1);
    counter_t *c = calloc(1, sizeof *c);
    ll_call_set_data(call, c, free);
    c->call = call;
    c->left = len ? req[0] : 0;
    count_sent(call, 1, c);
}

static void on_cancel(ll_call_t *call, void *arg)
{
    fx_t *f = arg;
    atomic_fetch_add(&f->cancelled, 1);
    ll_call_finish(call, GRPC_STATUS_CANCELLED, "cancelled");
}

/* A stream that never ends by itself (like a caught-up Watch). */
static void h_hang(ll_call_t *call, const uint8_t *req, size_t len, void *svc)
{
    (void)req;
    (void)len;
    fx_t *f = svc;
    atomic_fetch_add(&f->handled, 1);
    ll_call_on_cancel(call, on_cancel, f);
}

/* Bidi: answers each message m with m[0] + 100, then reads the next one;
 * ends OK when the client half-closes (or the call breaks). */
static void bidi_sent(ll_call_t *call, int ok, void *arg)
{
    (void)arg;
    if (ok)
        ll_call_read_next(call);
    else
        ll_call_finish(call, GRPC_STATUS_CANCELLED, "stream broke");
}

static void h_bidi(ll_call_t *call, const uint8_t *req, size_t len, void *svc)
{
    fx_t *f = svc;
    if (!req) {
        atomic_fetch_add(&f->bidi_ends, 1);
        ll_call_finish(call, GRPC_STATUS_OK, NULL);
        return;
    }
    atomic_fetch_add(&f->bidi_msgs, 1);
    uint8_t out = (uint8_t)((len ? req[0] : 0) + 100);
    ll_call_send(call, &out, 1, bidi_sent, NULL);
}

static int authorize(void *ctx, const char *path, const char *identity, char *msg, size_t cap)
{
    fx_t *f = ctx;
    atomic_fetch_add(&f->authorized, 1);
    assert_null(identity); /* plaintext: no transport identity */
    if (strstr(path, "/Forbidden")) {
        snprintf(msg, cap, "%s is not for you", path);
        return LL_ERR_PERMISSION;
    }
    return LL_OK;
}

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    char target[64];
    grpc_init();
    ll_server_config_t cfg = {.listen = "127.0.0.1:0", .threads = 2, .authorize = authorize,
                              .authorize_ctx = f};
    assert_int_equal(ll_server_create(&cfg, &f->srv), LL_OK);
    assert_int_equal(ll_server_add_method(f->srv, "/t.S/Echo", 0, h_echo, f), LL_OK);
    assert_int_equal(ll_server_add_method(f->srv, "/t.S/Fail", 0, h_fail, f), LL_OK);
    assert_int_equal(ll_server_add_method(f->srv, "/t.S/Later", 0, h_later, f), LL_OK);
    assert_int_equal(ll_server_add_method(f->srv, "/t.S/Count", 1, h_count, f), LL_OK);
    assert_int_equal(ll_server_add_method(f->srv, "/t.S/Hang", 1, h_hang, f), LL_OK);
    assert_int_equal(ll_server_add_method(f->srv, "/t.S/Forbidden", 0, h_echo, f), LL_OK);
    assert_int_equal(ll_server_add_bidi_method(f->srv, "/t.S/Bidi", h_bidi, f), LL_OK);
    assert_int_equal(ll_server_add_bidi_method(f->srv, "/t.S/ForbiddenBidi", h_bidi, f), LL_OK);
    assert_int_equal(ll_server_start(f->srv, &f->port), LL_OK);
    assert_true(f->port > 0);
    snprintf(target, sizeof target, "127.0.0.1:%d", f->port);
    assert_int_equal(ll_client_open(target, &f->cl), LL_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    ll_client_close(f->cl);
    ll_server_shutdown(f->srv, 1000);
    ll_server_destroy(f->srv);
    grpc_shutdown();
    free(f);
    return 0;
}

static void test_unary_reply_carries_the_handlers_bytes(void **state)
{
    fx_t *f = *state;
    ll_reply_t r;
    assert_int_equal(ll_client_unary(f->cl, "/t.S/Echo", (const uint8_t *)"ping", 4, 5000, &r),
                     LL_OK);
    assert_int_equal(r.code, GRPC_STATUS_OK);
    assert_int_equal(r.resp_len, 4);
    assert_memory_equal(r.resp, "ping", 4);
    ll_reply_free(&r);
    assert_int_equal(atomic_load(&f->authorized), 1);
}

static void test_fail_sends_status_and_formatted_message(void **state)
{
    fx_t *f = *state;
    ll_reply_t r;
    assert_int_equal(ll_client_unary(f->cl, "/t.S/Fail", (const uint8_t *)"cake", 4, 5000, &r),
                     LL_OK);
    assert_int_equal(r.code, GRPC_STATUS_NOT_FOUND);
    assert_string_equal(r.message, "no cake here");
    assert_null(r.resp);
    ll_reply_free(&r);
}

static void test_unknown_method_is_unimplemented_at_once(void **state)
{
    fx_t *f = *state;
    ll_reply_t r;
    time_t t0 = time(NULL);
    assert_int_equal(ll_client_unary(f->cl, "/t.S/Nope", (const uint8_t *)"x", 1, 20000, &r),
                     LL_OK);
    assert_int_equal(r.code, GRPC_STATUS_UNIMPLEMENTED);
    assert_string_equal(r.message, "unknown method /t.S/Nope");
    assert_true(time(NULL) - t0 < 15); /* not held until the deadline */
    ll_reply_free(&r);
    assert_int_equal(atomic_load(&f->handled), 0);
}

static void test_authorizer_refusal_is_mapped_and_skips_the_handler(void **state)
{
    fx_t *f = *state;
    ll_reply_t r;
    assert_int_equal(
        ll_client_unary(f->cl, "/t.S/Forbidden", (const uint8_t *)"x", 1, 5000, &r), LL_OK);
    assert_int_equal(r.code, GRPC_STATUS_PERMISSION_DENIED);
    assert_string_equal(r.message, "/t.S/Forbidden is not for you");
    ll_reply_free(&r);
    assert_int_equal(atomic_load(&f->handled), 0);
}

static void test_reply_from_another_thread_after_the_handler_returned(void **state)
{
    fx_t *f = *state;
    ll_reply_t r;
    assert_int_equal(ll_client_unary(f->cl, "/t.S/Later", (const uint8_t *)"late", 4, 5000, &r),
                     LL_OK);
    assert_int_equal(r.code, GRPC_STATUS_OK);
    assert_memory_equal(r.resp, "late", 4);
    ll_reply_free(&r);
}

static void test_empty_request_message_reaches_the_handler(void **state)
{
    fx_t *f = *state;
    ll_reply_t r;
    assert_int_equal(ll_client_unary(f->cl, "/t.S/Echo", NULL, 0, 5000, &r), LL_OK);
    assert_int_equal(r.code, GRPC_STATUS_OK);
    assert_int_equal(r.resp_len, 0);
    ll_reply_free(&r);
}

static int collect(void *ctx, const uint8_t *msg, size_t len)
{
    uint8_t *got = ctx;
    assert_int_equal(len, 1);
    got[++got[0]] = msg[0];
    return 0;
}

static void test_stream_sends_in_order_then_finishes(void **state)
{
    fx_t *f = *state;
    ll_reply_t r;
    uint8_t got[8] = {0}, n = 5;
    assert_int_equal(ll_client_stream(f->cl, "/t.S/Count", &n, 1, 5000, collect, got, &r),
                     LL_OK);
    assert_int_equal(r.code, GRPC_STATUS_OK);
    assert_int_equal(got[0], 5);
    for (int i = 1; i <= 5; i++)
        assert_int_equal(got[i], 6 - i);
    ll_reply_free(&r);
}

static void test_client_going_away_runs_on_cancel_once(void **state)
{
    fx_t *f = *state;
    ll_reply_t r;
    /* The client's deadline ends the stream; the server learns it. */
    assert_int_equal(ll_client_stream(f->cl, "/t.S/Hang", (const uint8_t *)"x", 1, 300, collect,
                                      NULL, &r),
                     LL_OK);
    assert_int_equal(r.code, GRPC_STATUS_DEADLINE_EXCEEDED);
    ll_reply_free(&r);
    for (int i = 0; i < 500 && atomic_load(&f->cancelled) == 0; i++)
        usleep(10 * 1000);
    assert_int_equal(atomic_load(&f->cancelled), 1);
}

static void test_add_method_refuses_beyond_the_table(void **state)
{
    (void)state;
    ll_server_t *srv;
    ll_server_config_t cfg = {.listen = "127.0.0.1:0"};
    char path[32];
    int err = LL_OK, n = 0;
    assert_int_equal(ll_server_create(&cfg, &srv), LL_OK);
    while (err == LL_OK && n < 1000) {
        snprintf(path, sizeof path, "/t.S/M%d", n++);
        err = ll_server_add_method(srv, path, 0, h_echo, NULL);
    }
    assert_int_equal(err, LL_ERR_RANGE);
    assert_true(n > 16);
    ll_server_destroy(srv);
}

typedef struct stream_job {
    ll_client_t *cl;
    ll_reply_t r;
    int err;
} stream_job_t;

static void *run_stream(void *arg)
{
    stream_job_t *j = arg;
    j->err = ll_client_stream(j->cl, "/t.S/Hang", (const uint8_t *)"x", 1, 0, collect, NULL,
                              &j->r);
    return NULL;
}

static void test_shutdown_cancels_streams_after_the_grace(void **state)
{
    (void)state;
    fx_t f = {0};
    ll_client_t *cl;
    char target[64];
    ll_server_config_t cfg = {.listen = "127.0.0.1:0", .threads = 1};
    grpc_init();
    assert_int_equal(ll_server_create(&cfg, &f.srv), LL_OK);
    assert_int_equal(ll_server_add_method(f.srv, "/t.S/Hang", 1, h_hang, &f), LL_OK);
    assert_int_equal(ll_server_start(f.srv, &f.port), LL_OK);
    snprintf(target, sizeof target, "127.0.0.1:%d", f.port);
    assert_int_equal(ll_client_open(target, &cl), LL_OK);

    /* Open a stream from a thread, then shut the server down under it. */
    stream_job_t job = {.cl = cl};
    pthread_t t;
    pthread_create(&t, NULL, run_stream, &job);
    for (int i = 0; i < 1000 && atomic_load(&f.handled) == 0; i++)
        usleep(10 * 1000);
    assert_int_equal(atomic_load(&f.handled), 1);
    time_t t0 = time(NULL);
    ll_server_shutdown(f.srv, 100);
    assert_true(time(NULL) - t0 < 10);
    assert_int_equal(atomic_load(&f.cancelled), 1);
    pthread_join(t, NULL);
    assert_int_equal(job.err, LL_OK);
    assert_int_not_equal(job.r.code, GRPC_STATUS_OK);
    ll_reply_free(&job.r);
    ll_client_close(cl);
    ll_server_destroy(f.srv);
    grpc_shutdown();
}
/* ---- bidirectional streaming, from a raw gRPC core client ---- */

typedef struct bidi_client {
    grpc_channel *ch;
    grpc_completion_queue *cq;
    grpc_call *call;
    grpc_metadata_array init_md, trail_md;
    grpc_status_code status;
    grpc_slice details;
    int sent_md; /* initial metadata goes with the first send or close */
} bidi_client_t;

static void bc_batch(bidi_client_t *b, grpc_op *ops, size_t n, int expect_ok)
{
    grpc_event ev;
    assert_int_equal(grpc_call_start_batch(b->call, ops, n, (void *)ops, NULL), GRPC_CALL_OK);
    ev = grpc_completion_queue_pluck(b->cq, (void *)ops,
                                     gpr_time_add(gpr_now(GPR_CLOCK_REALTIME),
                                                  gpr_time_from_seconds(30, GPR_TIMESPAN)),
                                     NULL);
    assert_int_equal(ev.type, GRPC_OP_COMPLETE);
    if (expect_ok)
        assert_true(ev.success);
}

static void bc_open(bidi_client_t *b, fx_t *f, const char *method)
{
    char target[64];
    grpc_channel_credentials *cr = grpc_insecure_credentials_create();
    snprintf(target, sizeof target, "127.0.0.1:%d", f->port);
    memset(b, 0, sizeof *b);
    b->ch = grpc_channel_create(target, cr, NULL);
    grpc_channel_credentials_release(cr);
    b->cq = grpc_completion_queue_create_for_pluck(NULL);
    b->call = grpc_channel_create_call(b->ch, NULL, GRPC_PROPAGATE_DEFAULTS, b->cq,
                                       grpc_slice_from_static_string(method), NULL,
                                       gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    grpc_metadata_array_init(&b->init_md);
    grpc_metadata_array_init(&b->trail_md);
    b->details = grpc_empty_slice();
}

/* The first batch also sends and receives initial metadata (gRPC core
 * delivers messages and status only once the latter was asked for). */
static size_t bc_md(bidi_client_t *b, grpc_op *ops)
{
    if (b->sent_md)
        return 0;
    b->sent_md = 1;
    memset(ops, 0, 2 * sizeof *ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[1].data.recv_initial_metadata.recv_initial_metadata = &b->init_md;
    return 2;
}

static void bc_send(bidi_client_t *b, uint8_t v)
{
    grpc_slice s = grpc_slice_from_copied_buffer((const char *)&v, 1);
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1);
    grpc_op ops[3];
    size_t n;
    grpc_slice_unref(s);
    memset(ops, 0, sizeof ops);
    n = bc_md(b, ops);
    ops[n].op = GRPC_OP_SEND_MESSAGE;
    ops[n++].data.send_message.send_message = bb;
    bc_batch(b, ops, n, 1);
    grpc_byte_buffer_destroy(bb);
}

/* Next message's first byte, or -1 at the end of the server's stream. */
static int bc_recv(bidi_client_t *b)
{
    grpc_byte_buffer *bb = NULL;
    grpc_byte_buffer_reader r;
    grpc_op op = {0};
    int v = -1;
    op.op = GRPC_OP_RECV_MESSAGE;
    op.data.recv_message.recv_message = &bb;
    bc_batch(b, &op, 1, 0);
    if (bb) {
        assert_true(grpc_byte_buffer_reader_init(&r, bb));
        grpc_slice sl = grpc_byte_buffer_reader_readall(&r);
        assert_int_equal(GRPC_SLICE_LENGTH(sl), 1);
        v = GRPC_SLICE_START_PTR(sl)[0];
        grpc_slice_unref(sl);
        grpc_byte_buffer_reader_destroy(&r);
        grpc_byte_buffer_destroy(bb);
    }
    return v;
}

static void bc_half_close_and_status(bidi_client_t *b)
{
    grpc_op ops[4];
    size_t n;
    memset(ops, 0, sizeof ops);
    n = bc_md(b, ops);
    ops[n++].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[n].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[n].data.recv_status_on_client.trailing_metadata = &b->trail_md;
    ops[n].data.recv_status_on_client.status = &b->status;
    ops[n++].data.recv_status_on_client.status_details = &b->details;
    bc_batch(b, ops, n, 1);
}

static void bc_close(bidi_client_t *b)
{
    grpc_slice_unref(b->details);
    grpc_metadata_array_destroy(&b->init_md);
    grpc_metadata_array_destroy(&b->trail_md);
    grpc_call_unref(b->call);
    grpc_completion_queue_shutdown(b->cq);
    while (grpc_completion_queue_pluck(b->cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL)
               .type != GRPC_QUEUE_SHUTDOWN)
        ;
    grpc_completion_queue_destroy(b->cq);
    grpc_channel_destroy(b->ch);
}

static void wait_for(atomic_int *v, int want)
{
    for (int i = 0; i < 3000 && atomic_load(v) < want; i++)
        usleep(10000);
    assert_int_equal(atomic_load(v), want);
}

static void test_bidi_answers_each_message_in_turn_then_ends_at_half_close(void **state)
{
    fx_t *f = *state;
    bidi_client_t b;
    bc_open(&b, f, "/t.S/Bidi");
    /* Ping-pong: each answer comes before the next question is sent. */
    for (uint8_t i = 1; i <= 40; i++) {
        bc_send(&b, i);
        assert_int_equal(bc_recv(&b), i + 100);
    }
    assert_int_equal(atomic_load(&f->bidi_ends), 0);
    bc_half_close_and_status(&b);
    assert_int_equal(b.status, GRPC_STATUS_OK);
    assert_int_equal(bc_recv(&b), -1);
    assert_int_equal(atomic_load(&f->bidi_msgs), 40);
    assert_int_equal(atomic_load(&f->bidi_ends), 1);
    bc_close(&b);
}

static void test_bidi_with_no_messages_ends_ok(void **state)
{
    fx_t *f = *state;
    bidi_client_t b;
    bc_open(&b, f, "/t.S/Bidi");
    bc_half_close_and_status(&b);
    assert_int_equal(b.status, GRPC_STATUS_OK);
    assert_int_equal(atomic_load(&f->bidi_msgs), 0);
    assert_int_equal(atomic_load(&f->bidi_ends), 1);
    bc_close(&b);
}

static void test_bidi_client_cancel_ends_the_handler_once(void **state)
{
    fx_t *f = *state;
    bidi_client_t b;
    bc_open(&b, f, "/t.S/Bidi");
    bc_send(&b, 7);
    assert_int_equal(bc_recv(&b), 107);
    grpc_call_cancel(b.call, NULL);
    /* The pending read completes empty: the handler ends the call. */
    wait_for(&f->bidi_ends, 1);
    assert_int_equal(atomic_load(&f->bidi_msgs), 1);
    bc_close(&b);
}

static void test_bidi_authorizer_refusal_skips_the_handler(void **state)
{
    fx_t *f = *state;
    bidi_client_t b;
    bc_open(&b, f, "/t.S/ForbiddenBidi");
    bc_half_close_and_status(&b);
    assert_int_equal(b.status, GRPC_STATUS_PERMISSION_DENIED);
    assert_int_equal(atomic_load(&f->bidi_msgs) + atomic_load(&f->bidi_ends), 0);
    bc_close(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_unary_reply_carries_the_handlers_bytes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_fail_sends_status_and_formatted_message, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_unknown_method_is_unimplemented_at_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_authorizer_refusal_is_mapped_and_skips_the_handler,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_reply_from_another_thread_after_the_handler_returned,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_request_message_reaches_the_handler, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stream_sends_in_order_then_finishes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_client_going_away_runs_on_cancel_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_bidi_answers_each_message_in_turn_then_ends_at_half_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bidi_with_no_messages_ends_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bidi_client_cancel_ends_the_handler_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_bidi_authorizer_refusal_skips_the_handler, setup,
                                        teardown),
        cmocka_unit_test(test_add_method_refuses_beyond_the_table),
        cmocka_unit_test(test_shutdown_cancels_streams_after_the_grace),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
