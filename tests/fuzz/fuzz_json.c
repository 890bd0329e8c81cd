/*
 * fuzz_json: hostile bytes into the strict JSON reader (ll_json_parse),
 * and whatever it accepts back out through the writer (ll_jw_*).
 *
 * Contracts checked: a refusal always says where and why; every accepted
 * tree can be walked through the accessors, and the writer's output for it
 * (when the writer reports no error) is itself accepted by the reader with
 * the same shape: the reader and writer agree on what JSON is.
 */
#include <string.h>

#include "ll_err.h"
#include "ll_fuzz.h"
#include "ll_json.h"
#include "ll_jw.h"

static void emit(ll_jw_t *jw, const ll_json_t *v, size_t *nodes)
{
    size_t len;
    int64_t i;
    uint64_t u;
    double d;
    int b;
    (*nodes)++;
    switch (ll_json_type(v)) {
    case LL_JSON_NULL: ll_jw_null(jw); break;
    case LL_JSON_BOOL:
        LL_FUZZ_CHECK(ll_json_get_bool(v, &b) == LL_OK);
        ll_jw_bool(jw, b);
        break;
    case LL_JSON_NUMBER:
        if (ll_json_get_int64(v, &i) == LL_OK)
            ll_jw_int64(jw, i);
        else if (ll_json_get_uint64(v, &u) == LL_OK)
            ll_jw_uint64(jw, u);
        else if (ll_json_get_double(v, &d) == LL_OK)
            ll_jw_double(jw, d);
        else
            ll_jw_null(jw);
        break;
    case LL_JSON_STRING: {
        const char *s = ll_json_string(v, &len);
        LL_FUZZ_CHECK(s && strlen(s) == len); /* \u0000 is refused */
        ll_jw_string_n(jw, s, len);
        break;
    }
    case LL_JSON_ARRAY:
        ll_jw_begin_array(jw);
        for (size_t k = 0; k < ll_json_array_len(v); k++)
            emit(jw, ll_json_array_get(v, k), nodes);
        ll_jw_end_array(jw);
        break;
    case LL_JSON_OBJECT:
        ll_jw_begin_object(jw);
        for (size_t k = 0; k < ll_json_object_len(v); k++) {
            const char *key = ll_json_object_key(v, k);
            LL_FUZZ_CHECK(key && ll_json_object_get(v, key) == ll_json_object_value(v, k));
            ll_jw_key(jw, key);
            emit(jw, ll_json_object_value(v, k), nodes);
        }
        ll_jw_end_object(jw);
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ll_json_t *doc = NULL, *again = NULL;
    char err[128];
    err[0] = 0;
    int rc = ll_json_parse((const char *)data, size, &doc, err, sizeof err);
    if (rc != LL_OK) {
        LL_FUZZ_CHECK(doc == NULL && err[0] != 0);
        return 0;
    }
    ll_jw_t jw;
    size_t nodes = 0, nodes2 = 0, len;
    ll_jw_init(&jw, 0);
    emit(&jw, doc, &nodes);
    char *out = ll_jw_finish(&jw, &len);
    if (out) {
        rc = ll_json_parse(out, len, &again, err, sizeof err);
        LL_FUZZ_CHECK(rc == LL_OK);
        ll_jw_t jw2;
        ll_jw_init(&jw2, 0);
        emit(&jw2, again, &nodes2);
        LL_FUZZ_CHECK(nodes == nodes2);
        ll_jw_abort(&jw2);
        ll_json_free(again);
        free(out);
    }
    ll_json_free(doc);
    return 0;
}
