/*
 * ll_json: the reader accepts RFC 8259 JSON into a DOM that keeps key order
 * and exact 64-bit integers, and rejects everything else with a
 * "line L col C" message; the writer produces exact compact and pretty
 * text, escapes what it must, refuses misuse, and round-trips through the
 * reader.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ll_err.h"
#include "ll_json.h"
#include "ll_jw.h"

/* Whatever the writer may nest, the reader must accept. */
_Static_assert(LL_JW_MAX_DEPTH <= LL_JSON_MAX_DEPTH, "ll_jw nests deeper than ll_json reads");

/* ---- helpers ---- */

static ll_json_t *parse_ok(const char *text)
{
    ll_json_t *doc = NULL;
    char err[160] = "";
    int rc = ll_json_parse(text, strlen(text), &doc, err, sizeof err);
    if (rc != LL_OK)
        fail_msg("parse of %s failed (%d): %s", text, rc, err);
    assert_non_null(doc);
    return doc;
}

/* Parses text[0..len), expecting error rc with exactly message msg. */
static void expect_reject_n(const char *text, size_t len, int rc, const char *msg)
{
    ll_json_t *doc = (ll_json_t *)&doc; /* must be reset to NULL */
    char err[160] = "unset";
    int got = ll_json_parse(text, len, &doc, err, sizeof err);
    if (got != rc || strcmp(err, msg) != 0)
        fail_msg("input %.60s: got %d \"%s\", want %d \"%s\"", text, got, err, rc, msg);
    assert_null(doc);
}

static void expect_reject(const char *text, const char *msg)
{
    expect_reject_n(text, strlen(text), LL_ERR_INVALID, msg);
}

/* Finishes jw and compares with want. */
static void expect_written(ll_jw_t *jw, const char *want)
{
    size_t len = 99;
    char *s = ll_jw_finish(jw, &len);
    assert_non_null(s);
    assert_string_equal(s, want);
    assert_int_equal(len, strlen(want));
    free(s);
}

static void expect_writer_failed(ll_jw_t *jw, int err)
{
    size_t len = 99;
    assert_int_equal(ll_jw_error(jw), err);
    assert_null(ll_jw_finish(jw, &len));
    assert_int_equal(len, 0);
}

/* Writes a parsed value back out (numbers as int64 or double). */
static void write_value(ll_jw_t *jw, const ll_json_t *v)
{
    int64_t i;
    double d;
    int b;
    size_t n;
    const char *s;
    switch (ll_json_type(v)) {
    case LL_JSON_NULL:
        ll_jw_null(jw);
        break;
    case LL_JSON_BOOL:
        assert_int_equal(ll_json_get_bool(v, &b), LL_OK);
        ll_jw_bool(jw, b);
        break;
    case LL_JSON_NUMBER:
        if (ll_json_get_int64(v, &i) == LL_OK) {
            ll_jw_int64(jw, i);
        } else {
            assert_int_equal(ll_json_get_double(v, &d), LL_OK);
            ll_jw_double(jw, d);
        }
        break;
    case LL_JSON_STRING:
        s = ll_json_string(v, &n);
        ll_jw_string_n(jw, s, n);
        break;
    case LL_JSON_ARRAY:
        ll_jw_begin_array(jw);
        for (size_t k = 0; k < ll_json_array_len(v); k++)
            write_value(jw, ll_json_array_get(v, k));
        ll_jw_end_array(jw);
        break;
    case LL_JSON_OBJECT:
        ll_jw_begin_object(jw);
        for (size_t k = 0; k < ll_json_object_len(v); k++) {
            ll_jw_key(jw, ll_json_object_key(v, k));
            write_value(jw, ll_json_object_value(v, k));
        }
        ll_jw_end_object(jw);
        break;
    }
}

static char *rewrite(const char *text, int pretty)
{
    ll_json_t *doc = parse_ok(text);
    ll_jw_t jw;
    ll_jw_init(&jw, pretty);
    write_value(&jw, doc);
    ll_json_free(doc);
    char *out = ll_jw_finish(&jw, NULL);
    assert_non_null(out);
    return out;
}

static void check_string(const ll_json_t *v, const char *want, size_t wantlen)
{
    size_t n = 0;
    const char *s = ll_json_string(v, &n);
    assert_non_null(s);
    assert_int_equal(n, wantlen);
    assert_memory_equal(s, want, wantlen);
    assert_int_equal(s[n], '\0');
}

/* ---- parsing ---- */

static void parse_object_keeps_members_in_source_order(void **state)
{
    (void)state;
    ll_json_t *doc = parse_ok("{\"zeta\":1,\"alpha\":\"two\",\"mid\":true,\"nil\":null}");
    assert_int_equal(ll_json_type(doc), LL_JSON_OBJECT);
    assert_int_equal(ll_json_object_len(doc), 4);
    const char *keys[] = {"zeta", "alpha", "mid", "nil"};
    for (size_t i = 0; i < 4; i++) {
        assert_string_equal(ll_json_object_key(doc, i), keys[i]);
        assert_ptr_equal(ll_json_object_value(doc, i), ll_json_object_get(doc, keys[i]));
    }
    int64_t v;
    assert_int_equal(ll_json_get_int64(ll_json_object_get(doc, "zeta"), &v), LL_OK);
    assert_int_equal(v, 1);
    check_string(ll_json_object_get(doc, "alpha"), "two", 3);
    int b = 0;
    assert_int_equal(ll_json_get_bool(ll_json_object_get(doc, "mid"), &b), LL_OK);
    assert_int_equal(b, 1);
    assert_int_equal(ll_json_type(ll_json_object_get(doc, "nil")), LL_JSON_NULL);
    assert_null(ll_json_object_key(doc, 4));
    assert_null(ll_json_object_value(doc, 4));
    ll_json_free(doc);
}

static void parse_array_holds_mixed_values_in_order(void **state)
{
    (void)state;
    ll_json_t *doc = parse_ok("[1, -2.5, \"s\", false, null, [], {}]");
    enum ll_json_type want[] = {LL_JSON_NUMBER, LL_JSON_NUMBER, LL_JSON_STRING, LL_JSON_BOOL,
                                LL_JSON_NULL, LL_JSON_ARRAY, LL_JSON_OBJECT};
    assert_int_equal(ll_json_array_len(doc), 7);
    for (size_t i = 0; i < 7; i++)
        assert_int_equal(ll_json_type(ll_json_array_get(doc, i)), want[i]);
    double d;
    assert_int_equal(ll_json_get_double(ll_json_array_get(doc, 1), &d), LL_OK);
    assert_true(d == -2.5);
    int b = 1;
    assert_int_equal(ll_json_get_bool(ll_json_array_get(doc, 3), &b), LL_OK);
    assert_int_equal(b, 0);
    assert_int_equal(ll_json_array_len(ll_json_array_get(doc, 5)), 0);
    assert_int_equal(ll_json_object_len(ll_json_array_get(doc, 6)), 0);
    assert_null(ll_json_array_get(doc, 7));
    ll_json_free(doc);
}

static void parse_nested_containers_are_reachable(void **state)
{
    (void)state;
    ll_json_t *doc = parse_ok("{\"actor\":{\"id\":\"a1\",\"roles\":[\"author\",\"admin\"]},"
                              "\"links\":[{\"relation\":\"follows\",\"target\":7}]}");
    const ll_json_t *roles = ll_json_object_get(ll_json_object_get(doc, "actor"), "roles");
    assert_int_equal(ll_json_array_len(roles), 2);
    check_string(ll_json_array_get(roles, 1), "admin", 5);
    const ll_json_t *link = ll_json_array_get(ll_json_object_get(doc, "links"), 0);
    uint64_t t;
    assert_int_equal(ll_json_get_uint64(ll_json_object_get(link, "target"), &t), LL_OK);
    assert_int_equal(t, 7);
    ll_json_free(doc);
}

static void parse_accepts_any_value_at_top_level_with_whitespace(void **state)
{
    (void)state;
    const char *ok[] = {" \t\r\n42\n ", "\"x\"", "true", "false", "null", "-0", "[ ]",
                        "{ }", "0.5e-3", "1E+2"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        ll_json_free(parse_ok(ok[i]));
}

static void parse_decodes_every_simple_escape(void **state)
{
    (void)state;
    ll_json_t *doc = parse_ok("\"q\\\" b\\\\ s\\/ \\b\\f\\n\\r\\t \\u0041\\u00e9\\u20AC\"");
    check_string(doc, "q\" b\\ s/ \b\f\n\r\t A\xC3\xA9\xE2\x82\xAC", 21);
    ll_json_free(doc);
}

static void parse_decodes_surrogate_pair_to_four_byte_utf8(void **state)
{
    (void)state;
    ll_json_t *doc = parse_ok("[\"\\uD83D\\uDE00\", \"\\udbff\\udfff\"]");
    check_string(ll_json_array_get(doc, 0), "\xF0\x9F\x98\x80", 4); /* U+1F600 */
    check_string(ll_json_array_get(doc, 1), "\xF4\x8F\xBF\xBF", 4); /* U+10FFFF */
    ll_json_free(doc);
}

static void parse_passes_valid_utf8_through(void **state)
{
    (void)state;
    ll_json_t *doc = parse_ok("\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xEF\xBF\xBF\"");
    check_string(doc, "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xEF\xBF\xBF", 18);
    ll_json_free(doc);
}

static void parse_reads_only_len_bytes(void **state)
{
    (void)state;
    const char buf[] = {'[', '1', ']', 'x', 'y'}; /* no NUL, garbage after */
    ll_json_t *doc = NULL;
    assert_int_equal(ll_json_parse(buf, 3, &doc, NULL, 0), LL_OK);
    assert_int_equal(ll_json_array_len(doc), 1);
    ll_json_free(doc);
    expect_reject_n("[1]", 2, LL_ERR_INVALID,
                    "line 1 col 3: unexpected end of input, expected ',' or ']'");
}

static void lookups_on_missing_keys_and_wrong_types_return_null(void **state)
{
    (void)state;
    ll_json_t *doc = parse_ok("{\"a\":[1],\"b\":\"s\"}");
    const ll_json_t *a = ll_json_object_get(doc, "a"), *b = ll_json_object_get(doc, "b");
    assert_null(ll_json_object_get(doc, "c"));
    assert_null(ll_json_object_get(doc, "A"));
    assert_null(ll_json_object_get(a, "a"));
    assert_null(ll_json_object_get(NULL, "a"));
    assert_int_equal(ll_json_object_len(a), 0);
    assert_null(ll_json_object_key(a, 0));
    assert_int_equal(ll_json_array_len(doc), 0);
    assert_null(ll_json_array_get(b, 0));
    assert_null(ll_json_string(a, NULL));
    assert_int_equal(ll_json_type(NULL), LL_JSON_NULL);
    int64_t i;
    uint64_t u;
    double d;
    int f;
    assert_int_equal(ll_json_get_int64(b, &i), LL_ERR_INVALID);
    assert_int_equal(ll_json_get_uint64(NULL, &u), LL_ERR_INVALID);
    assert_int_equal(ll_json_get_double(b, &d), LL_ERR_INVALID);
    assert_int_equal(ll_json_get_bool(a, &f), LL_ERR_INVALID);
    ll_json_free(doc);
    ll_json_free(NULL);
}

static void large_object_finds_every_key_and_rejects_late_duplicate(void **state)
{
    (void)state;
    enum { N = 5000 };
    size_t cap = N * 24 + 64, n = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    n += (size_t)snprintf(text + n, cap - n, "{");
    for (int i = N - 1; i >= 0; i--)
        n += (size_t)snprintf(text + n, cap - n, "\"k%d\":%d%s", i, i, i ? "," : "}");
    ll_json_t *doc = parse_ok(text);
    assert_int_equal(ll_json_object_len(doc), N);
    assert_string_equal(ll_json_object_key(doc, 0), "k4999");
    for (int i = 0; i < N; i += 97) {
        char key[16];
        int64_t v = -1;
        snprintf(key, sizeof key, "k%d", i);
        assert_int_equal(ll_json_get_int64(ll_json_object_get(doc, key), &v), LL_OK);
        assert_int_equal(v, i);
    }
    ll_json_free(doc);
    /* Replace the last member ("k0":0) by a repeat of the first key. */
    char *last = strrchr(text, ',');
    snprintf(last, cap - (size_t)(last - text), ",\"k4999\":0}");
    ll_json_t *bad = NULL;
    char err[128];
    assert_int_equal(ll_json_parse(text, strlen(text), &bad, err, sizeof err), LL_ERR_INVALID);
    assert_null(bad);
    assert_non_null(strstr(err, ": duplicate key \"k4999\""));
    free(text);
}

/* ---- numbers ---- */

static int64_t int64_of(const char *text, int want_rc)
{
    ll_json_t *doc = parse_ok(text);
    int64_t v = 12345;
    assert_int_equal(ll_json_get_int64(doc, &v), want_rc);
    ll_json_free(doc);
    return v;
}

static uint64_t uint64_of(const char *text, int want_rc)
{
    ll_json_t *doc = parse_ok(text);
    uint64_t v = 12345;
    assert_int_equal(ll_json_get_uint64(doc, &v), want_rc);
    ll_json_free(doc);
    return v;
}

static void int64_is_exact_at_both_limits(void **state)
{
    (void)state;
    assert_true(int64_of("9223372036854775807", LL_OK) == INT64_MAX);
    assert_true(int64_of("-9223372036854775808", LL_OK) == INT64_MIN);
    assert_true(int64_of("9007199254740993", LL_OK) == 9007199254740993LL); /* 2^53+1 */
    assert_true(int64_of("-1", LL_OK) == -1);
    assert_true(int64_of("-0", LL_OK) == 0);
    assert_true(int64_of("0", LL_OK) == 0);
}

static void int64_overflow_is_range_error(void **state)
{
    (void)state;
    assert_true(int64_of("9223372036854775808", LL_ERR_RANGE) == 12345);
    assert_true(int64_of("-9223372036854775809", LL_ERR_RANGE) == 12345);
    assert_true(int64_of("18446744073709551616", LL_ERR_RANGE) == 12345);
    assert_true(int64_of("-123456789012345678901234567890", LL_ERR_RANGE) == 12345);
}

static void int64_rejects_fraction_and_exponent_even_when_integral(void **state)
{
    (void)state;
    assert_true(int64_of("1.0", LL_ERR_INVALID) == 12345);
    assert_true(int64_of("1e3", LL_ERR_INVALID) == 12345);
    assert_true(int64_of("1E3", LL_ERR_INVALID) == 12345);
    assert_true(int64_of("-5.5", LL_ERR_INVALID) == 12345);
    assert_true(uint64_of("2.0", LL_ERR_INVALID) == 12345);
}

static void uint64_is_exact_to_max_and_rejects_negatives(void **state)
{
    (void)state;
    assert_true(uint64_of("18446744073709551615", LL_OK) == UINT64_MAX);
    assert_true(uint64_of("0", LL_OK) == 0);
    assert_true(uint64_of("-0", LL_OK) == 0);
    assert_true(uint64_of("18446744073709551616", LL_ERR_RANGE) == 12345);
    assert_true(uint64_of("-1", LL_ERR_RANGE) == 12345);
}

static void get_double_converts_any_number_and_flags_overflow(void **state)
{
    (void)state;
    ll_json_t *doc = parse_ok("[1.5, -2e-3, 7, 1e400, 1e-400]");
    double d = 0;
    assert_int_equal(ll_json_get_double(ll_json_array_get(doc, 0), &d), LL_OK);
    assert_true(d == 1.5);
    assert_int_equal(ll_json_get_double(ll_json_array_get(doc, 1), &d), LL_OK);
    assert_true(d == -2e-3);
    assert_int_equal(ll_json_get_double(ll_json_array_get(doc, 2), &d), LL_OK);
    assert_true(d == 7.0);
    assert_int_equal(ll_json_get_double(ll_json_array_get(doc, 3), &d), LL_ERR_RANGE);
    assert_int_equal(ll_json_get_double(ll_json_array_get(doc, 4), &d), LL_OK);
    assert_true(d == 0.0);
    ll_json_free(doc);
}

/* ---- rejections ---- */

static void rejects_trailing_commas(void **state)
{
    (void)state;
    expect_reject("[1,2,]", "line 1 col 6: trailing comma is not allowed");
    expect_reject("{\"a\":1,}", "line 1 col 8: trailing comma is not allowed");
    expect_reject("[,]", "line 1 col 2: unexpected ',', expected a value");
    expect_reject("{,}", "line 1 col 2: unexpected ',', expected a string key");
}

static void rejects_comments(void **state)
{
    (void)state;
    expect_reject("// c\n1", "line 1 col 1: unexpected '/', expected a value");
    expect_reject("[1 /* c */]", "line 1 col 4: unexpected '/', expected ',' or ']'");
    expect_reject("{\"a\":1 # c\n}", "line 1 col 8: unexpected '#', expected ',' or '}'");
}

static void rejects_malformed_numbers(void **state)
{
    (void)state;
    expect_reject("01", "line 1 col 1: leading zeros are not allowed");
    expect_reject("[-007]", "line 1 col 3: leading zeros are not allowed");
    expect_reject("NaN", "line 1 col 1: unexpected 'N', expected a value");
    expect_reject("[Infinity]", "line 1 col 2: unexpected 'I', expected a value");
    expect_reject("-Infinity", "line 1 col 2: unexpected 'I', expected a digit");
    expect_reject("+1", "line 1 col 1: unexpected '+', expected a value");
    expect_reject(".5", "line 1 col 1: unexpected '.', expected a value");
    expect_reject("1.", "line 1 col 3: unexpected end of input, expected a digit after '.'");
    expect_reject("1.e5", "line 1 col 3: unexpected 'e', expected a digit after '.'");
    expect_reject("1e", "line 1 col 3: unexpected end of input, expected a digit in the exponent");
    expect_reject("1e+", "line 1 col 4: unexpected end of input, expected a digit in the exponent");
    expect_reject("-", "line 1 col 2: unexpected end of input, expected a digit");
    expect_reject("0x10", "line 1 col 2: unexpected 'x', expected end of input after the value");
}

static void rejects_bad_literals(void **state)
{
    (void)state;
    expect_reject("tru", "line 1 col 1: unexpected 't', expected a value");
    expect_reject("True", "line 1 col 1: unexpected 'T', expected a value");
    expect_reject("[nul]", "line 1 col 2: unexpected 'n', expected a value");
    expect_reject("truex", "line 1 col 5: unexpected 'x', expected end of input after the value");
    expect_reject("'s'", "line 1 col 1: unexpected ''', expected a value");
}

static void rejects_control_characters_in_strings(void **state)
{
    (void)state;
    expect_reject("\"a\nb\"", "line 1 col 3: control character 0x0A in string (must be escaped)");
    expect_reject("\"\t\"", "line 1 col 2: control character 0x09 in string (must be escaped)");
    expect_reject_n("\"a\0\"", 4, LL_ERR_INVALID,
                    "line 1 col 3: control character 0x00 in string (must be escaped)");
    expect_reject("\"\x1f\"", "line 1 col 2: control character 0x1F in string (must be escaped)");
}

static void rejects_bad_escapes(void **state)
{
    (void)state;
    expect_reject("\"\\x41\"", "line 1 col 2: invalid escape '\\x'");
    expect_reject("\"\\'\"", "line 1 col 2: invalid escape '\\''");
    expect_reject("\"\\u12\"", "line 1 col 2: invalid \\u escape (need 4 hex digits)");
    expect_reject("\"\\u12G4\"", "line 1 col 2: invalid \\u escape (need 4 hex digits)");
    expect_reject("\"ab\\", "line 1 col 1: unterminated string");
    expect_reject("[\"abc", "line 1 col 2: unterminated string");
    expect_reject("\"\\u0000\"", "line 1 col 2: \\u0000 is not allowed in strings");
}

static void rejects_lone_surrogates(void **state)
{
    (void)state;
    expect_reject("\"\\uD800\"",
                  "line 1 col 2: lone high surrogate \\uD800 (must be followed by a low surrogate)");
    expect_reject("\"x\\uDBFFy\"",
                  "line 1 col 3: lone high surrogate \\uDBFF (must be followed by a low surrogate)");
    expect_reject("\"\\uD83D\\u0041\"",
                  "line 1 col 2: lone high surrogate \\uD83D (must be followed by a low surrogate)");
    expect_reject("\"\\uD83D\\uD83D\"",
                  "line 1 col 2: lone high surrogate \\uD83D (must be followed by a low surrogate)");
    expect_reject("\"\\uDC00\"", "line 1 col 2: lone low surrogate \\uDC00");
    expect_reject("\"\\uDE00\\uD83D\"", "line 1 col 2: lone low surrogate \\uDE00");
}

static void rejects_invalid_utf8(void **state)
{
    (void)state;
    const char *bad[] = {
        "\"\x80\"",             /* stray continuation byte */
        "\"\xC0\xAF\"",         /* overlong '/' */
        "\"\xC1\xBF\"",         /* overlong */
        "\"\xE0\x80\xAF\"",     /* overlong 3-byte */
        "\"\xF0\x80\x80\xAF\"", /* overlong 4-byte */
        "\"\xED\xA0\x80\"",     /* UTF-8-encoded surrogate U+D800 */
        "\"\xF4\x90\x80\x80\"", /* U+110000 */
        "\"\xF5\x80\x80\x80\"", /* invalid lead byte */
        "\"\xFF\"",             /* invalid byte */
        "\"\xC3\"",             /* truncated before the quote */
        "\"\xE2\x82\"",         /* truncated 3-byte */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_reject(bad[i], "line 1 col 2: invalid UTF-8 in string");
    expect_reject("\xC3\xA9", "line 1 col 1: unexpected byte 0xC3, expected a value");
    expect_reject_n("\"\xE2\x82", 3, LL_ERR_INVALID, "line 1 col 2: invalid UTF-8 in string");
}

static void rejects_byte_order_mark(void **state)
{
    (void)state;
    expect_reject("\xEF\xBB\xBF{}", "line 1 col 1: byte order mark is not allowed");
}

static void rejects_duplicate_keys_even_when_spelled_differently(void **state)
{
    (void)state;
    expect_reject("{\"a\":1,\"b\":2,\"a\":3}", "line 1 col 14: duplicate key \"a\"");
    expect_reject("{\"a\":1,\"\\u0061\":2}", "line 1 col 8: duplicate key \"a\"");
    expect_reject("{\"x\":{\"k\":1,\"k\":1}}", "line 1 col 13: duplicate key \"k\"");
    /* Three copies: the first repeat is reported. */
    expect_reject("{\"d\":1,\n\"d\":2,\n\"d\":3}", "line 2 col 1: duplicate key \"d\"");
    /* Equal values in different objects are fine. */
    ll_json_free(parse_ok("[{\"a\":1},{\"a\":1}]"));
}

static void nesting_is_limited_to_64_levels(void **state)
{
    (void)state;
    char text[2 * 70 + 1];
    for (int depth = 64; depth <= 65; depth++) {
        memset(text, '[', (size_t)depth);
        memset(text + depth, ']', (size_t)depth);
        text[2 * depth] = '\0';
        if (depth == 64) {
            ll_json_free(parse_ok(text));
        } else {
            expect_reject_n(text, strlen(text), LL_ERR_TOO_LARGE,
                            "line 1 col 65: nesting deeper than 64 levels");
        }
    }
    char obj[6 * 70 + 1] = "";
    for (int i = 0; i < 65; i++)
        strcat(obj, "{\"a\":");
    expect_reject_n(obj, strlen(obj), LL_ERR_TOO_LARGE,
                    "line 1 col 321: nesting deeper than 64 levels");
}

static void rejects_trailing_garbage_after_the_value(void **state)
{
    (void)state;
    expect_reject("{} {}", "line 1 col 4: unexpected '{', expected end of input after the value");
    expect_reject("1 2", "line 1 col 3: unexpected '2', expected end of input after the value");
    expect_reject("[1]]", "line 1 col 4: unexpected ']', expected end of input after the value");
    expect_reject_n("null\0", 5, LL_ERR_INVALID,
                    "line 1 col 5: unexpected byte 0x00, expected end of input after the value");
    ll_json_free(parse_ok("{}  \n\t\r\n"));
}

static void rejects_empty_and_truncated_input(void **state)
{
    (void)state;
    expect_reject("", "line 1 col 1: unexpected end of input, expected a value");
    expect_reject(" \n ", "line 2 col 2: unexpected end of input, expected a value");
    expect_reject("[", "line 1 col 2: unexpected end of input, expected a value");
    expect_reject("{\"a\"", "line 1 col 5: unexpected end of input, expected ':' after key");
    expect_reject("{\"a\":", "line 1 col 6: unexpected end of input, expected a value");
    expect_reject("{\"a\" 1}", "line 1 col 6: unexpected '1', expected ':' after key");
    expect_reject("{1:2}", "line 1 col 2: unexpected '1', expected a string key");
    expect_reject("[1 2]", "line 1 col 4: unexpected '2', expected ',' or ']'");
    ll_json_t *doc = (ll_json_t *)&doc;
    char err[64];
    assert_int_equal(ll_json_parse(NULL, 0, &doc, err, sizeof err), LL_ERR_INVALID);
    assert_null(doc);
    assert_int_equal(ll_json_parse("1", 1, NULL, err, sizeof err), LL_ERR_INVALID);
}

static void error_position_counts_lines_and_characters(void **state)
{
    (void)state;
    /* Columns count characters, not bytes: "é€" is 2 columns, 5 bytes. */
    expect_reject("{\n  \"n\": \"\xC3\xA9\xE2\x82\xAC\",\n  \"m\": tru\n}",
                  "line 3 col 8: unexpected 't', expected a value");
    expect_reject("[\r\n1,\r\n\"\xF0\x9F\x98\x80\x01\"]",
                  "line 3 col 3: control character 0x01 in string (must be escaped)");
}

static void error_message_is_truncated_to_the_buffer(void **state)
{
    (void)state;
    ll_json_t *doc;
    char err[12];
    memset(err, 'z', sizeof err);
    assert_int_equal(ll_json_parse("[1,]", 4, &doc, err, sizeof err), LL_ERR_INVALID);
    assert_string_equal(err, "line 1 col ");
    char tiny[1] = {'z'};
    assert_int_equal(ll_json_parse("[1,]", 4, &doc, tiny, sizeof tiny), LL_ERR_INVALID);
    assert_int_equal(tiny[0], '\0');
    assert_int_equal(ll_json_parse("[1,]", 4, &doc, NULL, 100), LL_ERR_INVALID);
    assert_null(doc);
}

/* ---- writer ---- */

static void write_sample(ll_jw_t *jw)
{
    ll_jw_begin_object(jw);
    ll_jw_key(jw, "seq");
    ll_jw_uint64(jw, 42);
    ll_jw_key(jw, "kind");
    ll_jw_string(jw, "note");
    ll_jw_key(jw, "links");
    ll_jw_begin_array(jw);
    ll_jw_begin_object(jw);
    ll_jw_key(jw, "target");
    ll_jw_int64(jw, -7);
    ll_jw_end_object(jw);
    ll_jw_bool(jw, 1);
    ll_jw_null(jw);
    ll_jw_end_array(jw);
    ll_jw_key(jw, "empty");
    ll_jw_begin_object(jw);
    ll_jw_end_object(jw);
    ll_jw_key(jw, "none");
    ll_jw_begin_array(jw);
    ll_jw_end_array(jw);
    ll_jw_key(jw, "ok");
    ll_jw_bool(jw, 0);
    ll_jw_end_object(jw);
}

static void writer_compact_output_is_exact(void **state)
{
    (void)state;
    ll_jw_t jw;
    ll_jw_init(&jw, 0);
    write_sample(&jw);
    expect_written(&jw, "{\"seq\":42,\"kind\":\"note\",\"links\":[{\"target\":-7},true,null],"
                        "\"empty\":{},\"none\":[],\"ok\":false}");
}

static void writer_pretty_output_is_exact(void **state)
{
    (void)state;
    ll_jw_t jw;
    ll_jw_init(&jw, 1);
    write_sample(&jw);
    expect_written(&jw, "{\n"
                        "  \"seq\": 42,\n"
                        "  \"kind\": \"note\",\n"
                        "  \"links\": [\n"
                        "    {\n"
                        "      \"target\": -7\n"
                        "    },\n"
                        "    true,\n"
                        "    null\n"
                        "  ],\n"
                        "  \"empty\": {},\n"
                        "  \"none\": [],\n"
                        "  \"ok\": false\n"
                        "}");
}

static void writer_pretty_indents_deep_nesting(void **state)
{
    (void)state;
    ll_jw_t jw;
    ll_jw_init(&jw, 1);
    for (int i = 0; i < 20; i++)
        ll_jw_begin_array(&jw);
    ll_jw_int64(&jw, 1);
    for (int i = 0; i < 20; i++)
        ll_jw_end_array(&jw);
    char *s = ll_jw_finish(&jw, NULL);
    assert_non_null(s);
    char want[64];
    memset(want, ' ', 40);
    strcpy(want + 40, "1\n");
    assert_non_null(strstr(s, want)); /* 40 spaces at depth 20 */
    free(s);
}

static void writer_top_level_scalars(void **state)
{
    (void)state;
    ll_jw_t jw;
    ll_jw_init(&jw, 1);
    ll_jw_string(&jw, "hi");
    expect_written(&jw, "\"hi\"");
    ll_jw_init(&jw, 0);
    ll_jw_int64(&jw, INT64_MIN);
    expect_written(&jw, "-9223372036854775808");
}

static void writer_escapes_quotes_backslashes_and_controls(void **state)
{
    (void)state;
    ll_jw_t jw;
    ll_jw_init(&jw, 0);
    ll_jw_begin_object(&jw);
    ll_jw_key(&jw, "k\"\n");
    ll_jw_string(&jw, "a\"b\\c/d\b\f\n\r\t\x01\x1f\x7f");
    ll_jw_end_object(&jw);
    expect_written(&jw, "{\"k\\\"\\n\":\"a\\\"b\\\\c/d\\b\\f\\n\\r\\t\\u0001\\u001F\x7f\"}");
    ll_jw_init(&jw, 0);
    ll_jw_string_n(&jw, "a\0b", 3);
    expect_written(&jw, "\"a\\u0000b\"");
}

static void writer_passes_utf8_and_replaces_invalid_bytes(void **state)
{
    (void)state;
    ll_jw_t jw;
    ll_jw_init(&jw, 0);
    ll_jw_begin_array(&jw);
    ll_jw_string(&jw, "caf\xC3\xA9 \xF0\x9F\x98\x80");
    ll_jw_string(&jw, "a\xFF" "b\xC3");
    ll_jw_string(&jw, "\xED\xA0\x80"); /* encoded surrogate: 3 bad bytes */
    ll_jw_end_array(&jw);
    expect_written(&jw, "[\"caf\xC3\xA9 \xF0\x9F\x98\x80\",\"a\xEF\xBF\xBD" "b\xEF\xBF\xBD\","
                        "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"]");
}

static void writer_formats_numbers_exactly(void **state)
{
    (void)state;
    ll_jw_t jw;
    ll_jw_init(&jw, 0);
    ll_jw_begin_array(&jw);
    ll_jw_int64(&jw, INT64_MAX);
    ll_jw_int64(&jw, INT64_MIN);
    ll_jw_uint64(&jw, UINT64_MAX);
    ll_jw_double(&jw, 0.1);
    ll_jw_double(&jw, 1.0 / 3.0);
    ll_jw_double(&jw, -2.5);
    ll_jw_double(&jw, 1e300);
    ll_jw_double(&jw, 3.0);
    ll_jw_double(&jw, NAN);
    ll_jw_double(&jw, INFINITY);
    ll_jw_double(&jw, -INFINITY);
    ll_jw_end_array(&jw);
    expect_written(&jw, "[9223372036854775807,-9223372036854775808,18446744073709551615,"
                        "0.1,0.3333333333333333,-2.5,1e+300,3,null,null,null]");
}

static void writer_writes_null_for_null_string(void **state)
{
    (void)state;
    ll_jw_t jw;
    ll_jw_init(&jw, 0);
    ll_jw_begin_array(&jw);
    ll_jw_string(&jw, NULL);
    ll_jw_string_n(&jw, NULL, 5);
    ll_jw_end_array(&jw);
    expect_written(&jw, "[null,null]");
}

static void writer_refuses_misuse(void **state)
{
    (void)state;
    ll_jw_t jw;

    ll_jw_init(&jw, 0); /* key outside any object */
    ll_jw_key(&jw, "a");
    expect_writer_failed(&jw, LL_ERR_INVALID);

    ll_jw_init(&jw, 0); /* key inside an array */
    ll_jw_begin_array(&jw);
    ll_jw_key(&jw, "a");
    ll_jw_end_array(&jw);
    expect_writer_failed(&jw, LL_ERR_INVALID);

    ll_jw_init(&jw, 0); /* value without key */
    ll_jw_begin_object(&jw);
    ll_jw_int64(&jw, 1);
    ll_jw_end_object(&jw);
    expect_writer_failed(&jw, LL_ERR_INVALID);

    ll_jw_init(&jw, 0); /* two keys in a row */
    ll_jw_begin_object(&jw);
    ll_jw_key(&jw, "a");
    ll_jw_key(&jw, "b");
    expect_writer_failed(&jw, LL_ERR_INVALID);

    ll_jw_init(&jw, 0); /* key without value at close */
    ll_jw_begin_object(&jw);
    ll_jw_key(&jw, "a");
    ll_jw_end_object(&jw);
    expect_writer_failed(&jw, LL_ERR_INVALID);

    ll_jw_init(&jw, 0); /* wrong closer */
    ll_jw_begin_array(&jw);
    ll_jw_end_object(&jw);
    expect_writer_failed(&jw, LL_ERR_INVALID);

    ll_jw_init(&jw, 0); /* close with nothing open */
    ll_jw_end_array(&jw);
    expect_writer_failed(&jw, LL_ERR_INVALID);

    ll_jw_init(&jw, 0); /* unbalanced: still open at finish */
    ll_jw_begin_object(&jw);
    ll_jw_key(&jw, "a");
    ll_jw_begin_array(&jw);
    expect_writer_failed(&jw, LL_OK);

    ll_jw_init(&jw, 0); /* two top-level values */
    ll_jw_int64(&jw, 1);
    ll_jw_int64(&jw, 2);
    expect_writer_failed(&jw, LL_ERR_INVALID);

    ll_jw_init(&jw, 0); /* nothing written */
    expect_writer_failed(&jw, LL_OK);

    ll_jw_init(&jw, 0); /* NULL key */
    ll_jw_begin_object(&jw);
    ll_jw_key(&jw, NULL);
    expect_writer_failed(&jw, LL_ERR_INVALID);
}

static void writer_error_is_sticky(void **state)
{
    (void)state;
    ll_jw_t jw;
    ll_jw_init(&jw, 0);
    ll_jw_begin_object(&jw);
    ll_jw_string(&jw, "no key"); /* misuse */
    ll_jw_key(&jw, "a");         /* would be fine, but ignored now */
    ll_jw_string(&jw, "x");
    ll_jw_end_object(&jw);
    assert_int_equal(ll_jw_error(&jw), LL_ERR_INVALID);
    assert_int_equal(jw.len, 1); /* just the "{" before the misuse */
    expect_writer_failed(&jw, LL_ERR_INVALID);
    /* After finish the writer is closed and holds nothing. */
    ll_jw_int64(&jw, 1);
    assert_null(jw.buf);
    ll_jw_abort(&jw);
    ll_jw_abort(&jw);
}

static void writer_limits_nesting_to_64_levels(void **state)
{
    (void)state;
    ll_jw_t jw;
    ll_jw_init(&jw, 0);
    for (int i = 0; i < 64; i++)
        ll_jw_begin_array(&jw);
    assert_int_equal(ll_jw_error(&jw), LL_OK);
    ll_jw_begin_array(&jw);
    assert_int_equal(ll_jw_error(&jw), LL_ERR_TOO_LARGE);
    for (int i = 0; i < 65; i++)
        ll_jw_end_array(&jw);
    expect_writer_failed(&jw, LL_ERR_TOO_LARGE);
}

static void writer_abort_releases_a_large_document(void **state)
{
    (void)state;
    ll_jw_t jw;
    ll_jw_init(&jw, 1);
    ll_jw_begin_array(&jw);
    for (int i = 0; i < 10000; i++)
        ll_jw_string(&jw, "some longer string to grow the buffer several times");
    assert_int_equal(ll_jw_error(&jw), LL_OK);
    ll_jw_abort(&jw); /* ASan reports a leak if this does not free */
    assert_null(jw.buf);
}

/* ---- round trip ---- */

static void round_trip_reproduces_canonical_text(void **state)
{
    (void)state;
    const char *canon[] = {
        "{\"author\":\"ann\",\"client_time_unix_nanos\":-9223372036854775808,"
        "\"links\":[{\"relation\":\"follows\",\"target\":18446744073709551615}],"
        "\"note\":\"line\\nquote\\\" tab\\t \\u0001 caf\xC3\xA9 \xF0\x9F\x98\x80\","
        "\"z\":[true,false,null,0.5,-1.25,[],{}]}",
        "[[[[[\"deep\"]]]]]",
        "\"just a string\"",
        "-17",
    };
    for (size_t i = 0; i < sizeof canon / sizeof canon[0]; i++) {
        char *out = rewrite(canon[i], 0);
        if (i == 0) {
            /* 18446744073709551615 does not fit int64: comes back as double. */
            assert_non_null(strstr(out, "\"target\":1.8446744073709552e+19"));
        } else {
            assert_string_equal(out, canon[i]);
        }
        free(out);
    }
    /* Pretty output parses back to the same compact text. */
    const char *src = "{\"a\":[1,{\"b\":\"\\u00e9\\uD83D\\uDE00\"}],\"c\":{}}";
    char *pretty = rewrite(src, 1);
    char *compact = rewrite(pretty, 0);
    assert_string_equal(compact, "{\"a\":[1,{\"b\":\"\xC3\xA9\xF0\x9F\x98\x80\"}],\"c\":{}}");
    char *again = rewrite(compact, 0);
    assert_string_equal(again, compact);
    free(pretty);
    free(compact);
    free(again);
}

static void round_trip_preserves_every_control_character(void **state)
{
    (void)state;
    char raw[32];
    for (int i = 1; i < 32; i++)
        raw[i - 1] = (char)i;
    raw[31] = '\0';
    ll_jw_t jw;
    ll_jw_init(&jw, 0);
    ll_jw_string(&jw, raw);
    char *text = ll_jw_finish(&jw, NULL);
    assert_non_null(text);
    ll_json_t *doc = parse_ok(text);
    check_string(doc, raw, 31);
    ll_json_free(doc);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_object_keeps_members_in_source_order),
        cmocka_unit_test(parse_array_holds_mixed_values_in_order),
        cmocka_unit_test(parse_nested_containers_are_reachable),
        cmocka_unit_test(parse_accepts_any_value_at_top_level_with_whitespace),
        cmocka_unit_test(parse_decodes_every_simple_escape),
        cmocka_unit_test(parse_decodes_surrogate_pair_to_four_byte_utf8),
        cmocka_unit_test(parse_passes_valid_utf8_through),
        cmocka_unit_test(parse_reads_only_len_bytes),
        cmocka_unit_test(lookups_on_missing_keys_and_wrong_types_return_null),
        cmocka_unit_test(large_object_finds_every_key_and_rejects_late_duplicate),
        cmocka_unit_test(int64_is_exact_at_both_limits),
        cmocka_unit_test(int64_overflow_is_range_error),
        cmocka_unit_test(int64_rejects_fraction_and_exponent_even_when_integral),
        cmocka_unit_test(uint64_is_exact_to_max_and_rejects_negatives),
        cmocka_unit_test(get_double_converts_any_number_and_flags_overflow),
        cmocka_unit_test(rejects_trailing_commas),
        cmocka_unit_test(rejects_comments),
        cmocka_unit_test(rejects_malformed_numbers),
        cmocka_unit_test(rejects_bad_literals),
        cmocka_unit_test(rejects_control_characters_in_strings),
        cmocka_unit_test(rejects_bad_escapes),
        cmocka_unit_test(rejects_lone_surrogates),
        cmocka_unit_test(rejects_invalid_utf8),
        cmocka_unit_test(rejects_byte_order_mark),
        cmocka_unit_test(rejects_duplicate_keys_even_when_spelled_differently),
        cmocka_unit_test(nesting_is_limited_to_64_levels),
        cmocka_unit_test(rejects_trailing_garbage_after_the_value),
        cmocka_unit_test(rejects_empty_and_truncated_input),
        cmocka_unit_test(error_position_counts_lines_and_characters),
        cmocka_unit_test(error_message_is_truncated_to_the_buffer),
        cmocka_unit_test(writer_compact_output_is_exact),
        cmocka_unit_test(writer_pretty_output_is_exact),
        cmocka_unit_test(writer_pretty_indents_deep_nesting),
        cmocka_unit_test(writer_top_level_scalars),
        cmocka_unit_test(writer_escapes_quotes_backslashes_and_controls),
        cmocka_unit_test(writer_passes_utf8_and_replaces_invalid_bytes),
        cmocka_unit_test(writer_formats_numbers_exactly),
        cmocka_unit_test(writer_writes_null_for_null_string),
        cmocka_unit_test(writer_refuses_misuse),
        cmocka_unit_test(writer_error_is_sticky),
        cmocka_unit_test(writer_limits_nesting_to_64_levels),
        cmocka_unit_test(writer_abort_releases_a_large_document),
        cmocka_unit_test(round_trip_reproduces_canonical_text),
        cmocka_unit_test(round_trip_preserves_every_control_character),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
