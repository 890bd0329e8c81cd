/*
 * test_http: the HTTP face's pure parts - grpc-gateway's HTTP status for
 * every gRPC code, the error body, the proto3 JSON writer's mapping
 * (names, enums, 64-bit integers, bytes, non-finite doubles), and the
 * configuration checks of ll_http_create.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lc_pbjson.h"
#include "ll_err.h"
#include "ll_http.h"
#include "loopledger/v1/ledger.pb-c.h"
#include "loopledger/v1/loop.pb-c.h"

static void test_status_for_every_grpc_code_matches_grpc_gateway(void **st)
{
    /* runtime.HTTPStatusFromCode in grpc-gateway v2. */
    static const int want[17] = {200, 499, 500, 400, 504, 404, 409, 403, 429,
                                 400, 409, 400, 501, 500, 503, 500, 401};
    (void)st;
    for (int c = 0; c < 17; c++)
        assert_int_equal(ll_http_status_from_grpc((grpc_status_code)c), want[c]);
    assert_int_equal(ll_http_status_from_grpc((grpc_status_code)99), 500);
}

static void test_error_body_is_code_and_escaped_message(void **st)
{
    ll_http_resp_t r = {0};
    (void)st;
    ll_http_error(&r, GRPC_STATUS_NOT_FOUND, "no \"x\"\n%d", 7);
    assert_int_equal(r.status, 404);
    assert_string_equal(r.body, "{\"code\":5,\"message\":\"no \\\"x\\\"\\u000a7\",\"details\":[]}\n");
    free(r.body);
}

static char *to_json(const ProtobufCMessage *m)
{
    ll_jw_t jw;
    ll_jw_init(&jw, 0);
    lc_pbjson_write_proto3(&jw, m);
    return ll_jw_finish(&jw, NULL);
}

static void test_proto3_json_names_enums_int64_bytes(void **st)
{
    Loopledger__V1__EntryRef r = LOOPLEDGER__V1__ENTRY_REF__INIT;
    uint8_t root[2] = {0xfb, 0xff};
    (void)st;
    r.seq = UINT64_MAX;
    r.kind = LOOPLEDGER__V1__KIND__KIND_FINDING;
    r.server_time_unix_nanos = -5;
    r.superseded_by = 3;
    char *j = to_json(&r.base);
    assert_non_null(strstr(j, "\"seq\":\"18446744073709551615\""));
    assert_non_null(strstr(j, "\"kind\":\"KIND_FINDING\""));
    assert_non_null(strstr(j, "\"serverTimeUnixNanos\":\"-5\""));
    assert_non_null(strstr(j, "\"supersededBy\":\"3\""));
    assert_non_null(strstr(j, "\"superseded\":false"));
    free(j);

    Loopledger__V1__GetCheckpointResponse c = LOOPLEDGER__V1__GET_CHECKPOINT_RESPONSE__INIT;
    c.root_hash.data = root;
    c.root_hash.len = 2;
    j = to_json(&c.base);
    assert_string_equal(j, "{\"checkpoint\":\"\",\"treeSize\":\"0\",\"rootHash\":\"+/8=\"}");
    free(j);
}

static void test_proto3_json_non_finite_doubles_are_strings(void **st)
{
    Loopledger__V1__InitiativeState s = LOOPLEDGER__V1__INITIATIVE_STATE__INIT;
    (void)st;
    s.max_rollout_percent = NAN;
    char *j = to_json(&s.base);
    assert_non_null(strstr(j, "\"maxRolloutPercent\":\"NaN\""));
    free(j);
    s.max_rollout_percent = -INFINITY;
    j = to_json(&s.base);
    assert_non_null(strstr(j, "\"maxRolloutPercent\":\"-Infinity\""));
    free(j);
}

static void test_json_names_parse_back(void **st)
{
    Loopledger__V1__ListEntriesRequest r = LOOPLEDGER__V1__LIST_ENTRIES_REQUEST__INIT;
    char err[200];
    (void)st;
    assert_int_equal(lc_pbjson_set(&r.base, "pageToken", "12", "", err, sizeof err), LL_OK);
    assert_string_equal(r.page_token, "12");
    free(r.page_token);
    assert_int_equal(lc_pbjson_set(&r.base, "fromSeq", "18446744073709551615", "", err, sizeof err),
                     LL_OK);
    assert_true(r.from_seq == UINT64_MAX);
    assert_int_equal(lc_pbjson_set(&r.base, "kind", "KIND_FINDING", "", err, sizeof err), LL_OK);
    assert_int_equal(r.kind, 26);
}

static void test_create_refuses_plaintext_off_loopback_and_half_tls(void **st)
{
    ll_http_t *h = NULL;
    char msg[300];
    (void)st;
    ll_http_config_t c = {.listen = "0.0.0.0:0"};
    assert_int_equal(ll_http_create(&c, &h, msg, sizeof msg), LL_ERR_INVALID);
    assert_non_null(strstr(msg, "non-loopback"));
    c.listen = "127.0.0.1:0";
    c.tls_cert = "x.crt";
    assert_int_equal(ll_http_create(&c, &h, msg, sizeof msg), LL_ERR_INVALID);
    c.tls_cert = NULL;
    c.listen = "nohost";
    assert_int_equal(ll_http_create(&c, &h, msg, sizeof msg), LL_ERR_INVALID);
    c.listen = "127.0.0.1:70000";
    assert_int_equal(ll_http_create(&c, &h, msg, sizeof msg), LL_ERR_INVALID);
    c.listen = "[::1]:0";
    c.trusted_proxy = "not-an-ip";
    assert_int_equal(ll_http_create(&c, &h, msg, sizeof msg), LL_ERR_INVALID);
    c.trusted_proxy = "::1";
    assert_int_equal(ll_http_create(&c, &h, msg, sizeof msg), LL_OK);
    ll_http_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_for_every_grpc_code_matches_grpc_gateway),
        cmocka_unit_test(test_error_body_is_code_and_escaped_message),
        cmocka_unit_test(test_proto3_json_names_enums_int64_bytes),
        cmocka_unit_test(test_proto3_json_non_finite_doubles_are_strings),
        cmocka_unit_test(test_json_names_parse_back),
        cmocka_unit_test(test_create_refuses_plaintext_off_loopback_and_half_tls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
