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
        cmocka_unit_test(test_add_method_refuses_beyond_the_table),
        cmocka_unit_test(test_shutdown_cancels_streams_after_the_grace),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
