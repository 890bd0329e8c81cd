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

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* One GET over a fresh connection; the status code, body into out. */
static int http_get(int port, const char *path, char *out, size_t cap)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    char req[512];
    size_t n = 0;
    ssize_t k;
    int fd = socket(AF_INET, SOCK_STREAM, 0), code = -1;
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a))
        goto out;
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", path);
    if (write(fd, req, strlen(req)) != (ssize_t)strlen(req))
        goto out;
    while (n + 1 < cap && (k = read(fd, out + n, cap - 1 - n)) > 0)
        n += (size_t)k;
    out[n] = 0;
    sscanf(out, "HTTP/1.1 %d", &code);
out:
    if (fd >= 0)
        close(fd);
    return code;
}

static void test_static_dir_serves_files_and_refuses_escapes(void **st)
{
    char dir[] = "/tmp/ll-test-http-XXXXXX", p[300], buf[4096], msg[300];
    ll_http_t *h = NULL;
    int port = 0;
    FILE *f;
    (void)st;
    assert_non_null(mkdtemp(dir));
    snprintf(p, sizeof p, "%s/tiles", dir);
    assert_int_equal(mkdir(p, 0700), 0);
    snprintf(p, sizeof p, "%s/tiles/0", dir);
    assert_non_null(f = fopen(p, "w"));
    fputs("tile-bytes", f);
    fclose(f);
    snprintf(p, sizeof p, "%s/checkpoint", dir);
    assert_non_null(f = fopen(p, "w"));
    fputs("origin\n1\nroot\n", f);
    fclose(f);
    snprintf(p, sizeof p, "%s/secret", dir);
    assert_non_null(f = fopen(p, "w"));
    fclose(f);

    ll_http_config_t c = {.listen = "127.0.0.1:0"};
    assert_int_equal(ll_http_create(&c, &h, msg, sizeof msg), LL_OK);
    snprintf(p, sizeof p, "%s/tiles", dir);
    assert_int_equal(ll_http_add_static_dir(h, "/tile/", p), LL_OK);
    snprintf(p, sizeof p, "%s/checkpoint", dir);
    assert_int_equal(ll_http_add_static_dir(h, "/checkpoint", p), LL_OK);
    assert_int_equal(ll_http_start(h, &port), LL_OK);
    assert_true(port > 0);
    assert_int_equal(http_get(port, "/tile/0", buf, sizeof buf), 200);
    assert_non_null(strstr(buf, "\r\n\r\ntile-bytes"));
    assert_int_equal(http_get(port, "/checkpoint", buf, sizeof buf), 200);
    assert_non_null(strstr(buf, "origin\n1\n"));
    assert_int_equal(http_get(port, "/tile/../secret", buf, sizeof buf), 404);
    assert_int_equal(http_get(port, "/tile/%2e%2e/secret", buf, sizeof buf), 404);
    assert_int_equal(http_get(port, "/tile/", buf, sizeof buf), 404);
    assert_int_equal(http_get(port, "/nothing", buf, sizeof buf), 404);
    assert_non_null(strstr(buf, "\"code\":5"));
    ll_http_free(h);
    snprintf(p, sizeof p, "rm -rf %s", dir);
    assert_int_equal(system(p), 0);
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
        cmocka_unit_test(test_static_dir_serves_files_and_refuses_escapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
