/*
 * ll_json: a strict JSON (RFC 8259) reader into a small DOM. loopctl reads
 * entry files with it; JSON is written with ll_jw (ll_jw.h).
 *
 * Reader. ll_json_parse() accepts exactly RFC 8259 JSON and nothing more:
 * no comments, no trailing commas, no leading zeros, no NaN/Infinity, no
 * byte order mark, no raw control characters or invalid UTF-8 in strings,
 * no lone surrogates, nothing but whitespace after the value. On top of the
 * RFC it rejects, as ambiguous or hostile input:
 *   - duplicate keys in one object (compared after unescaping),
 *   - the escape \u0000, so every decoded string is a C string,
 *   - nesting deeper than LL_JSON_MAX_DEPTH arrays/objects.
 * Numbers keep their source text, so 64-bit integers convert exactly.
 * Objects keep their key order. The whole tree belongs to the root: free it
 * with ll_json_free(); pointers returned by accessors live as long as it.
 * A parsed tree is immutable and may be read from several threads.
 */
#ifndef LL_JSON_H
#define LL_JSON_H

#include <stddef.h>
#include <stdint.h>

/* Maximum nesting of arrays/objects the reader accepts. */
#define LL_JSON_MAX_DEPTH 64

typedef struct ll_json ll_json_t; /* a value node */

enum ll_json_type {
    LL_JSON_NULL,
    LL_JSON_BOOL,
    LL_JSON_NUMBER,
    LL_JSON_STRING,
    LL_JSON_ARRAY,
    LL_JSON_OBJECT
};

/* Parses text[0..len) (need not be NUL-terminated) as one JSON value.
 * On LL_OK *doc is a tree owned by the caller (ll_json_free). On failure
 * *doc is NULL and, when err != NULL and errcap > 0, err receives a
 * NUL-terminated "line L col C: message" (1-based; columns count
 * characters), truncated to errcap. Returns LL_OK, LL_ERR_INVALID (not
 * strict JSON), LL_ERR_TOO_LARGE (nested deeper than LL_JSON_MAX_DEPTH)
 * or LL_ERR_NOMEM (then err is "out of memory"). */
int ll_json_parse(const char *text, size_t len, ll_json_t **doc, char *err,
                  size_t errcap);

/* Frees doc and everything below it. NULL is ignored. Only roots (values
 * returned by ll_json_parse) may be freed. */
void ll_json_free(ll_json_t *doc);

/* The type of v; LL_JSON_NULL when v is NULL. */
enum ll_json_type ll_json_type(const ll_json_t *v);

/* Member value of obj named key (exact byte comparison), or NULL when the
 * key is absent or obj is not an object. O(log n). */
const ll_json_t *ll_json_object_get(const ll_json_t *obj, const char *key);

/* Number of members of obj; 0 when obj is not an object. */
size_t ll_json_object_len(const ll_json_t *obj);

/* The i-th key / value of obj in source order, or NULL when obj is not an
 * object or i >= ll_json_object_len(obj). */
const char *ll_json_object_key(const ll_json_t *obj, size_t i);
const ll_json_t *ll_json_object_value(const ll_json_t *obj, size_t i);

/* Number of elements of arr; 0 when arr is not an array. */
size_t ll_json_array_len(const ll_json_t *arr);

/* The i-th element of arr, or NULL when arr is not an array or i is out of
 * range. */
const ll_json_t *ll_json_array_get(const ll_json_t *arr, size_t i);

/* The decoded UTF-8 text of a string value, NUL-terminated and without
 * embedded NULs (\u0000 is rejected at parse time); *len (if len != NULL)
 * gets its length in bytes. NULL when v is not a string. */
const char *ll_json_string(const ll_json_t *v, size_t *len);

/* Converts a number that is written as an integer (no fraction, no
 * exponent: "1.0" and "1e3" do not qualify) exactly. LL_ERR_INVALID when v
 * is not such a number, LL_ERR_RANGE when it does not fit. "-0" is 0 for
 * both; any other negative number is LL_ERR_RANGE for the uint64 form.
 * *out is written only on LL_OK. */
int ll_json_get_int64(const ll_json_t *v, int64_t *out);
int ll_json_get_uint64(const ll_json_t *v, uint64_t *out);

/* *out = 0 or 1. LL_ERR_INVALID when v is not a boolean. */
int ll_json_get_bool(const ll_json_t *v, int *out);

/* Any number, as the nearest double (strtod; assumes the "C" numeric
 * locale). LL_ERR_INVALID when v is not a number, LL_ERR_RANGE when its
 * magnitude overflows a double (underflow rounds towards zero). */
int ll_json_get_double(const ll_json_t *v, double *out);

#endif
