/*
 * ll_svc: the one request -> answer path. The runtime's call functions are
 * replaced by recorders (this test links ll_svc.c alone, not ll_server.c),
 * so each test sees exactly how a call was ended: status, message, body.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../support/ll_testutil.h"
#include "grpc/health/v1/health.pb-c.h"
#include "ll_err.h"
#include "ll_store.h"
#include "ll_svc.h"
#include "loopledger/v1/ledger.pb-c.h"

/* ---- recorder standing in for ll_server's call API ---- */

struct ll_call {
    int ended; /* how many times the call was ended (must be 1) */
    grpc_status_code code;
    char msg[512];
    uint8_t body[256];
    size_t body_len;
};

void ll_call_reply_slice(ll_call_t *c, grpc_slice s)
{
    c->ended++;
    c->code = GRPC_STATUS_OK;
    c->body_len = GRPC_SLICE_LENGTH(s);
    if (c->body_len <= sizeof c->body)
        memcpy(c->body, GRPC_SLICE_START_PTR(s), c->body_len);
    grpc_slice_unref(s);
}

void ll_call_fail(ll_call_t *c, grpc_status_code code, const char *fmt, ...)
{
    va_list ap;
    c->ended++;
    c->code = code;
    va_start(ap, fmt);
    vsnprintf(c->msg, sizeof c->msg, fmt, ap);
    va_end(ap);
}

void ll_call_finish(ll_call_t *c, grpc_status_code code, const char *msg)
{
    c->ended++;
    c->code = code;
    snprintf(c->msg, sizeof c->msg, "%s", msg ? msg : "");
}

/* ---- queries under test ---- */

typedef struct probe {
    int calls;
    int saw_txn;
    uint64_t size;
    int ret;
    const char *msg;
} probe_t;

static int q_probe(void *ctx, ll_txn_t *txn, ll_arena_t *a, const ProtobufCMessage *req,
                   ProtobufCMessage **resp, char *msg, size_t cap)
{
    probe_t *p = ctx;
    const Grpc__Health__V1__HealthCheckRequest *r = (const void *)req;
    p->calls++;
    p->saw_txn = txn != NULL;
    p->size = txn ? ll_store_size(txn) : 0;
    if (p->ret) {
        if (p->msg)
            snprintf(msg, cap, "%s", p->msg);
        return p->ret;
    }
    Grpc__Health__V1__HealthCheckResponse *out = ll_arena_alloc(a, sizeof *out);
    if (!out)
        return LL_ERR_NOMEM;
    grpc__health__v1__health_check_response__init(out);
    /* Echo something of the request so the test sees it was decoded. */
    out->status = strcmp(r->service, "x") ? 1 : 2;
    *resp = &out->base;
    return LL_OK;
}

static const ProtobufCMessageDescriptor *REQ = &grpc__health__v1__health_check_request__descriptor;

static size_t pack_request(const char *service, uint8_t *buf)
{
    Grpc__Health__V1__HealthCheckRequest r = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    r.service = (char *)service;
    return grpc__health__v1__health_check_request__pack(&r, buf);
}

static void test_serve_rejects_a_request_that_does_not_decode(void **state)
{
    (void)state;
    ll_call_t c = {0};
    probe_t p = {0};
    const uint8_t junk[] = {0x0a, 0x7f, 'x'}; /* field 1, length 127, 1 byte */
    ll_svc_serve(&c, NULL, &p, junk, sizeof junk, REQ, q_probe);
    assert_int_equal(c.ended, 1);
    assert_int_equal(c.code, GRPC_STATUS_INVALID_ARGUMENT);
    assert_string_equal(c.msg, "malformed grpc.health.v1.HealthCheckRequest");
    assert_int_equal(p.calls, 0);
}

static void test_serve_replies_with_the_packed_answer(void **state)
{
    (void)state;
    ll_call_t c = {0};
    probe_t p = {0};
    uint8_t buf[64];
    size_t n = pack_request("x", buf);
    ll_svc_serve(&c, NULL, &p, buf, n, REQ, q_probe);
    assert_int_equal(c.ended, 1);
    assert_int_equal(c.code, GRPC_STATUS_OK);
    assert_int_equal(p.calls, 1);
    assert_false(p.saw_txn); /* no store: no snapshot */
    Grpc__Health__V1__HealthCheckResponse *r =
        grpc__health__v1__health_check_response__unpack(NULL, c.body_len, c.body);
    assert_non_null(r);
    assert_int_equal(r->status, 2);
    grpc__health__v1__health_check_response__free_unpacked(r, NULL);
}

static void test_serve_maps_the_query_error_through_ll_status(void **state)
{
    (void)state;
    static const struct {
        int err;
        grpc_status_code code;
    } cases[] = {
        {LL_ERR_INVALID, GRPC_STATUS_INVALID_ARGUMENT},
        {LL_ERR_NOT_FOUND, GRPC_STATUS_NOT_FOUND},
        {LL_ERR_RANGE, GRPC_STATUS_OUT_OF_RANGE},
        {LL_ERR_CORRUPT, GRPC_STATUS_DATA_LOSS},
        {LL_ERR_FULL, GRPC_STATUS_RESOURCE_EXHAUSTED},
        {LL_ERR_STORE, GRPC_STATUS_INTERNAL},
    };
    uint8_t buf[64];
    size_t n = pack_request("", buf);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ll_call_t c = {0};
        probe_t p = {.ret = cases[i].err, .msg = "entry 7 does not exist"};
        ll_svc_serve(&c, NULL, &p, buf, n, REQ, q_probe);
        assert_int_equal(c.ended, 1);
        assert_int_equal(c.code, cases[i].code);
        assert_string_equal(c.msg, "entry 7 does not exist");
    }
}

static void test_serve_names_the_error_when_the_query_gives_no_message(void **state)
{
    (void)state;
    ll_call_t c = {0};
    probe_t p = {.ret = LL_ERR_PERMISSION};
    uint8_t buf[64];
    size_t n = pack_request("", buf);
    ll_svc_serve(&c, NULL, &p, buf, n, REQ, q_probe);
    assert_int_equal(c.code, GRPC_STATUS_PERMISSION_DENIED);
    assert_string_equal(c.msg, ll_strerror(LL_ERR_PERMISSION));
}

static void test_serve_runs_the_query_in_a_read_snapshot(void **state)
{
    (void)state;
    char dir[64];
    ll_store_t *st;
    ll_txn_t *w;
    uint8_t h[LL_HASH_LEN] = {0}, buf[64];
    ll_test_tmpdir(dir);
    assert_int_equal(ll_store_open(dir, NULL, &st), LL_OK);
    assert_int_equal(ll_store_begin_write(st, &w), LL_OK);
    assert_int_equal(ll_store_append(w, (const uint8_t *)"leaf", 4, 1, h), LL_OK);
    assert_int_equal(ll_store_commit(w), LL_OK);

    ll_call_t c = {0};
    probe_t p = {0};
    size_t n = pack_request("", buf);
    ll_svc_serve(&c, st, &p, buf, n, REQ, q_probe);
    assert_int_equal(c.code, GRPC_STATUS_OK);
    assert_true(p.saw_txn);
    assert_int_equal(p.size, 1);
    ll_store_close(st);
    ll_test_rmdir(dir);
}

static void test_fail_and_finish_take_an_ll_err(void **state)
{
    (void)state;
    ll_call_t c = {0};
    ll_svc_fail(&c, LL_ERR_FULL, "disk full on %s", "/var");
    assert_int_equal(c.code, GRPC_STATUS_RESOURCE_EXHAUSTED);
    assert_string_equal(c.msg, "disk full on /var");
    ll_call_t d = {0};
    ll_svc_finish(&d, LL_ERR_CANCELLED, "stream broken");
    assert_int_equal(d.code, GRPC_STATUS_CANCELLED);
    ll_call_t e = {0};
    ll_svc_finish(&e, LL_OK, NULL);
    assert_int_equal(e.code, GRPC_STATUS_OK);
    assert_int_equal(c.ended + d.ended + e.ended, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_serve_rejects_a_request_that_does_not_decode),
        cmocka_unit_test(test_serve_replies_with_the_packed_answer),
        cmocka_unit_test(test_serve_maps_the_query_error_through_ll_status),
        cmocka_unit_test(test_serve_names_the_error_when_the_query_gives_no_message),
        cmocka_unit_test(test_serve_runs_the_query_in_a_read_snapshot),
        cmocka_unit_test(test_fail_and_finish_take_an_ll_err),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
