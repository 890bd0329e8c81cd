/*
 * ll_jw: a streaming JSON (RFC 8259) writer. loopctl prints its --json
 * output and the HTTP gateway its answers with it.
 *
 * ll_jw_t builds JSON text into a growing buffer. It tracks nesting and
 * commas itself and has a sticky error: after an allocation failure or
 * misuse (a key outside an object, a value where a key is due, closing the
 * wrong container, a second top-level value, too deep) every further call
 * is a no-op and ll_jw_finish() returns NULL. Callers therefore write a
 * whole document without checking each call and check once at the end.
 * The output is always valid JSON (invalid UTF-8 is replaced by U+FFFD).
 */
#ifndef LL_JW_H
#define LL_JW_H

#include <stddef.h>
#include <stdint.h>

/* Maximum nesting of arrays/objects; deeper is LL_ERR_TOO_LARGE. The same
 * as the reader's LL_JSON_MAX_DEPTH, so whatever is written reads back. */
#define LL_JW_MAX_DEPTH 64

/* Writer state. Lives wherever the caller likes (usually the stack); the
 * fields are private to ll_jw.c. */
typedef struct ll_jw {
    char *buf;
    size_t len, cap;
    int err;        /* sticky: LL_OK or the first error */
    int pretty;
    int depth;      /* open containers */
    int after_key;  /* a key was written; its value is due */
    int done;       /* the top-level value is complete */
    unsigned char is_object[LL_JW_MAX_DEPTH];
    unsigned char nonempty[LL_JW_MAX_DEPTH];
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
 * LL_ERR_TOO_LARGE (nesting deeper than LL_JW_MAX_DEPTH). */
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
