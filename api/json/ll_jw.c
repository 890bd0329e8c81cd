/*
 * ll_jw: streaming JSON writer; see ll_jw.h for the contract.
 *
 * Design choices:
 *   - One growing buffer, doubled on demand, always with room for the
 *     final NUL, so ll_jw_finish hands the buffer over without copying.
 *   - The sticky error turns every later call into a no-op: a caller
 *     writes a whole document and checks once, and a half-written
 *     document can never be mistaken for a whole one.
 *   - Nesting is a fixed array of LL_JW_MAX_DEPTH flags (object or array,
 *     empty or not), so commas and indentation need no allocation.
 *   - Strings are validated with ll_utf8_len, the routine the reader
 *     uses, and bad bytes are replaced, so the output is always
 *     well-formed UTF-8 that ll_json_parse accepts (bar \u0000).
 */
#include "ll_jw.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ll_err.h"
#include "ll_utf8.h"

void ll_jw_init(ll_jw_t *jw, int pretty)
{
    memset(jw, 0, sizeof *jw);
    jw->pretty = pretty != 0;
}

int ll_jw_error(const ll_jw_t *jw)
{
    return jw->err;
}

static void jw_put(ll_jw_t *jw, const char *s, size_t n)
{
    if (jw->err)
        return;
    if (jw->cap - jw->len <= n) { /* keep room for the final NUL */
        size_t nc = jw->cap ? jw->cap : 256;
        while (nc - jw->len <= n && nc <= SIZE_MAX / 2)
            nc *= 2;
        char *nb = nc - jw->len > n ? realloc(jw->buf, nc) : NULL;
        if (!nb) {
            jw->err = LL_ERR_NOMEM;
            return;
        }
        jw->buf = nb;
        jw->cap = nc;
    }
    memcpy(jw->buf + jw->len, s, n);
    jw->len += n;
}

static void jw_puts(ll_jw_t *jw, const char *s)
{
    jw_put(jw, s, strlen(s));
}

static void jw_newline(ll_jw_t *jw, int depth)
{
    static const char spaces[] = "                                ";
    jw_put(jw, "\n", 1);
    for (size_t left = (size_t)depth * 2; left > 0;) {
        size_t k = left < sizeof spaces - 1 ? left : sizeof spaces - 1;
        jw_put(jw, spaces, k);
        left -= k;
    }
}

/* Comma and indentation before a new member or element. */
static void jw_separate(ll_jw_t *jw)
{
    int top = jw->depth - 1;
    if (jw->nonempty[top])
        jw_put(jw, ",", 1);
    jw->nonempty[top] = 1;
    if (jw->pretty)
        jw_newline(jw, jw->depth);
}

static int jw_misuse(ll_jw_t *jw)
{
    if (!jw->err)
        jw->err = LL_ERR_INVALID;
    return 0;
}

/* Checks that a value may come now and writes what precedes it. Returns 0
 * when the value must not be written. */
static int jw_value_start(ll_jw_t *jw)
{
    if (jw->err)
        return 0;
    if (jw->depth == 0)
        return jw->done ? jw_misuse(jw) : 1;
    if (jw->is_object[jw->depth - 1]) {
        if (!jw->after_key)
            return jw_misuse(jw);
        jw->after_key = 0;
        return 1;
    }
    jw_separate(jw);
    return 1;
}

static void jw_value_end(ll_jw_t *jw)
{
    if (jw->depth == 0)
        jw->done = 1;
}

static void jw_begin(ll_jw_t *jw, int is_object)
{
    if (!jw_value_start(jw))
        return;
    if (jw->depth >= LL_JW_MAX_DEPTH) {
        jw->err = LL_ERR_TOO_LARGE;
        return;
    }
    jw_put(jw, is_object ? "{" : "[", 1);
    jw->is_object[jw->depth] = (unsigned char)is_object;
    jw->nonempty[jw->depth] = 0;
    jw->depth++;
}

static void jw_end(ll_jw_t *jw, int is_object)
{
    if (jw->err)
        return;
    if (jw->depth == 0 || jw->is_object[jw->depth - 1] != is_object || jw->after_key) {
        jw_misuse(jw);
        return;
    }
    jw->depth--;
    if (jw->pretty && jw->nonempty[jw->depth])
        jw_newline(jw, jw->depth);
    jw_put(jw, is_object ? "}" : "]", 1);
    jw_value_end(jw);
}

void ll_jw_begin_object(ll_jw_t *jw) { jw_begin(jw, 1); }
void ll_jw_end_object(ll_jw_t *jw) { jw_end(jw, 1); }
void ll_jw_begin_array(ll_jw_t *jw) { jw_begin(jw, 0); }
void ll_jw_end_array(ll_jw_t *jw) { jw_end(jw, 0); }

/* Writes s[0..n) as a quoted, escaped JSON string. */
static void jw_quoted(ll_jw_t *jw, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n, *run = p;
    jw_put(jw, "\"", 1);
    while (p < end) {
        unsigned char c = *p;
        char esc[8];
        const char *rep = NULL;
        size_t k = 1;
        if (c == '"')
            rep = "\\\"";
        else if (c == '\\')
            rep = "\\\\";
        else if (c < 0x20) {
            if (c >= '\b' && c <= '\r' && c != '\v') /* \b \t \n \f \r */
                snprintf(esc, sizeof esc, "\\%c", "btn?fr"[c - '\b']);
            else
                snprintf(esc, sizeof esc, "\\u%04X", c);
            rep = esc;
        } else if (c >= 0x80 && (k = ll_utf8_len(p, end)) == 0) {
            rep = "\xEF\xBF\xBD"; /* U+FFFD for one bad byte */
            k = 1;
        }
        if (rep) {
            jw_put(jw, (const char *)run, (size_t)(p - run));
            jw_puts(jw, rep);
            run = p + k;
        }
        p += k;
    }
    jw_put(jw, (const char *)run, (size_t)(p - run));
    jw_put(jw, "\"", 1);
}

void ll_jw_key(ll_jw_t *jw, const char *key)
{
    if (jw->err)
        return;
    if (!key || jw->depth == 0 || !jw->is_object[jw->depth - 1] || jw->after_key) {
        jw_misuse(jw);
        return;
    }
    jw_separate(jw);
    jw_quoted(jw, key, strlen(key));
    jw_puts(jw, jw->pretty ? ": " : ":");
    jw->after_key = 1;
}

void ll_jw_string_n(ll_jw_t *jw, const char *s, size_t n)
{
    if (!s) {
        ll_jw_null(jw);
        return;
    }
    if (!jw_value_start(jw))
        return;
    jw_quoted(jw, s, n);
    jw_value_end(jw);
}

void ll_jw_string(ll_jw_t *jw, const char *s)
{
    ll_jw_string_n(jw, s, s ? strlen(s) : 0);
}

/* Writes a scalar's already-formatted text. */
static void jw_raw_value(ll_jw_t *jw, const char *text)
{
    if (!jw_value_start(jw))
        return;
    jw_puts(jw, text);
    jw_value_end(jw);
}

void ll_jw_int64(ll_jw_t *jw, int64_t v)
{
    char b[24];
    snprintf(b, sizeof b, "%" PRId64, v);
    jw_raw_value(jw, b);
}

void ll_jw_uint64(ll_jw_t *jw, uint64_t v)
{
    char b[24];
    snprintf(b, sizeof b, "%" PRIu64, v);
    jw_raw_value(jw, b);
}

void ll_jw_double(ll_jw_t *jw, double v)
{
    if (!isfinite(v)) {
        jw_raw_value(jw, "null");
        return;
    }
    char b[32];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(b, sizeof b, "%.*g", prec, v);
        if (strtod(b, NULL) == v)
            break;
    }
    jw_raw_value(jw, b);
}

void ll_jw_bool(ll_jw_t *jw, int v)
{
    jw_raw_value(jw, v ? "true" : "false");
}

void ll_jw_null(ll_jw_t *jw)
{
    jw_raw_value(jw, "null");
}

void ll_jw_abort(ll_jw_t *jw)
{
    free(jw->buf);
    ll_jw_init(jw, jw->pretty);
    jw->err = LL_ERR_INVALID; /* closed: further writes are no-ops */
}

char *ll_jw_finish(ll_jw_t *jw, size_t *len)
{
    char *out = NULL;
    if (len)
        *len = 0;
    if (!jw->err && jw->done && jw->depth == 0) {
        out = jw->buf;
        out[jw->len] = '\0'; /* jw_put always leaves room */
        if (len)
            *len = jw->len;
        jw->buf = NULL;
    }
    ll_jw_abort(jw);
    return out;
}
