/*
 * ll_json: a strict JSON (RFC 8259) reader into a small DOM, and a
 * streaming JSON writer. loopctl reads entry files with the reader and
 * prints --json output with the writer.
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
 *
 * Writer. ll_jw_t builds JSON text into a growing buffer. It tracks nesting
 * and commas itself and has a sticky error: after an allocation failure or
 * misuse (a key outside an object, a value where a key is due, closing the
 * wrong container, a second top-level value, too deep) every further call
 * is a no-op and ll_jw_finish() returns NULL. Callers therefore write a
 * whole document without checking each call and check once at the end.
 * The output is always valid JSON (invalid UTF-8 is replaced by U+FFFD).
 */
#ifndef LL_JSON_H
#define LL_JSON_H

#include <stddef.h>
#include <stdint.h>

/* Maximum nesting of arrays/objects, for the reader and the writer. */
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

/* ---- reader ---- */

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

/* ---- writer ---- */

/* Writer state. Lives wherever the caller likes (usually the stack); the
 * fields are private to ll_json.c. */
typedef struct ll_jw {
    char *buf;
    size_t len, cap;
    int err;        /* sticky: LL_OK or the first error */
    int pretty;
    int depth;      /* open containers */
    int after_key;  /* a key was written; its value is due */
    int done;       /* the top-level value is complete */
    unsigned char is_object[LL_JSON_MAX_DEPTH];
    unsigned char nonempty[LL_JSON_MAX_DEPTH];
} ll_jw_t;

/* Prepares jw; allocates nothing. pretty != 0: members and elements one
 * per line, indented by 2 spaces per level, ": " after keys, empty
 * containers as {} and []; no trailing newline. pretty == 0: no
 * whitespace at all. */
void ll_jw_init(ll_jw_t *jw, int pretty);

/* Structure. begin_* writes a value (so inside an object it must follow a
 * key); end_* must close the innermost open container of the same kind
 * and not follow a key whose value is missing. */
void ll_jw_begin_object(ll_jw_t *jw);
void ll_jw_end_object(ll_jw_t *jw);
void ll_jw_begin_array(ll_jw_t *jw);
void ll_jw_end_array(ll_jw_t *jw);

/* A member name; only directly inside an object, where each value must be
 * preceded by exactly one key. key != NULL; escaped like ll_jw_string.
 * The writer does not detect duplicate keys. */
void ll_jw_key(ll_jw_t *jw, const char *key);

/* A string value. Escapes '"', '\\' and control characters (\b \f \n \r \t,
 * others as \u00XX); valid UTF-8 passes through; each byte of invalid UTF-8
 * becomes U+FFFD. s == NULL writes null. ll_jw_string_n takes n bytes,
 * which may include NUL (written as \u0000, valid JSON that ll_json_parse
 * nevertheless rejects). */
void ll_jw_string(ll_jw_t *jw, const char *s);
void ll_jw_string_n(ll_jw_t *jw, const char *s, size_t n);

/* Scalars. Integers are exact. Doubles use the shortest of %.15g..%.17g
 * that reads back to the same value ("C" locale assumed); NaN and
 * infinities, which JSON cannot express, are written as null. */
void ll_jw_int64(ll_jw_t *jw, int64_t v);
void ll_jw_uint64(ll_jw_t *jw, uint64_t v);
void ll_jw_double(ll_jw_t *jw, double v);
void ll_jw_bool(ll_jw_t *jw, int v);
void ll_jw_null(ll_jw_t *jw);

/* The sticky error so far: LL_OK, LL_ERR_NOMEM, LL_ERR_INVALID (misuse) or
 * LL_ERR_TOO_LARGE (nesting deeper than LL_JSON_MAX_DEPTH). */
int ll_jw_error(const ll_jw_t *jw);

/* Ends the document. Returns the malloc'd, NUL-terminated text (caller
 * frees) and its length without the NUL in *len (len may be NULL), or
 * NULL (*len = 0) when an error is set, a container is still open or no
 * value was written. Always releases jw's memory and closes jw: further
 * writes are no-ops (ll_jw_error reports LL_ERR_INVALID) until ll_jw_init. */
char *ll_jw_finish(ll_jw_t *jw, size_t *len);

/* Discards the document, releases jw's memory and closes jw like
 * ll_jw_finish. Safe to call again, and after ll_jw_finish. */
void ll_jw_abort(ll_jw_t *jw);

#endif
