/*
 * ll_json: strict JSON reader (DOM); see ll_json.h for the contract. The
 * writer is ll_jw (ll_jw.h).
 *
 * Design choices:
 *   - Recursive descent. Recursion is bounded by LL_JSON_MAX_DEPTH, so a
 *     hostile "[[[[..." cannot exhaust the stack (and ll_json_free, also
 *     recursive, inherits the bound).
 *   - One malloc per node, plus one per string/number text and per child
 *     vector. Entry files are small; simplicity beats an arena here.
 *   - Numbers are stored as their (validated) source text and converted on
 *     demand, so int64/uint64 values never pass through a double.
 *   - Partial trees: every node, key and text buffer is linked into its
 *     parent as soon as it is allocated, before its contents are parsed.
 *     A failure anywhere therefore leaves a well-formed partial tree, and
 *     the single ll_json_free() in ll_json_parse releases it; no error path
 *     below frees anything itself.
 *   - Strings are decoded in one pass into a buffer sized by a quick scan
 *     for the closing quote; decoding never grows a string (every escape is
 *     at least as long as the UTF-8 it produces).
 *   - Each object carries, besides its members in source order, a second
 *     array of member pointers sorted by key (ties by source position).
 *     Sorting finds duplicate keys in O(n log n) even for huge objects, and
 *     makes ll_json_object_get a binary search.
 *   - Line/column for error messages are computed only when an error is
 *     reported, by rescanning the input up to the error position; the hot
 *     path does no bookkeeping.
 *   - Strings are checked with ll_utf8_len, the routine the writer uses
 *     too, so the writer never emits a string the reader refuses.
 */
#include "ll_json.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ll_err.h"
#include "ll_utf8.h"


struct member {
    char *key;
    ll_json_t *val;
    size_t off; /* source offset of the key, for duplicate reports */
};

struct ll_json {
    enum ll_json_type type;
    union {
        int b;
        struct { char *s; size_t len; } str;   /* STRING and NUMBER */
        struct { ll_json_t **items; size_t n; } arr;
        struct { struct member *m; struct member **sorted; size_t n; } obj;
    } u;
};

typedef struct parser {
    const unsigned char *start, *p, *end;
    char *err;
    size_t errcap;
    int depth;
} parser_t;

/* Records "line L col C: message" for position at and returns rc. */
__attribute__((format(printf, 4, 5)))
static int fail(parser_t *ps, const unsigned char *at, int rc, const char *fmt, ...)
{
    if (!ps->err || ps->errcap == 0)
        return rc;
    size_t line = 1, col = 1;
    for (const unsigned char *q = ps->start; q < at; q++) {
        if (*q == '\n') {
            line++;
            col = 1;
        } else if ((*q & 0xC0) != 0x80) {
            col++;
        }
    }
    int n = snprintf(ps->err, ps->errcap, "line %zu col %zu: ", line, col);
    if (n >= 0 && (size_t)n < ps->errcap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ps->err + n, ps->errcap - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* "unexpected X" for the byte at ps->p (or the end of input). */
static int unexpected(parser_t *ps, const char *what)
{
    if (ps->p >= ps->end)
        return fail(ps, ps->p, LL_ERR_INVALID, "unexpected end of input%s%s",
                    what ? ", " : "", what ? what : "");
    unsigned char c = *ps->p;
    char desc[16];
    if (c > 0x20 && c < 0x7F)
        snprintf(desc, sizeof desc, "'%c'", c);
    else
        snprintf(desc, sizeof desc, "byte 0x%02X", c);
    return fail(ps, ps->p, LL_ERR_INVALID, "unexpected %s%s%s", desc,
                what ? ", " : "", what ? what : "");
}

static void skip_ws(parser_t *ps)
{
    while (ps->p < ps->end &&
           (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static int at(const parser_t *ps, char c)
{
    return ps->p < ps->end && *ps->p == (unsigned char)c;
}

/* Consumes c if it comes next. */
static int accept(parser_t *ps, char c)
{
    return at(ps, c) ? (ps->p++, 1) : 0;
}

static int is_digit(const parser_t *ps)
{
    return ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9';
}

static size_t skip_digits(parser_t *ps)
{
    const unsigned char *s = ps->p;
    while (is_digit(ps))
        ps->p++;
    return (size_t)(ps->p - s);
}

static ll_json_t *new_node(enum ll_json_type t)
{
    ll_json_t *v = calloc(1, sizeof *v);
    if (v)
        v->type = t;
    return v;
}

/* Four hex digits at p (caller checked they exist), or -1. */
static long hex4(const unsigned char *p)
{
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int c = p[i], l = c | 0x20; /* ASCII lower case */
        int d = (c >= '0' && c <= '9') ? c - '0' : (l >= 'a' && l <= 'f') ? l - 'a' + 10 : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* Encodes code point cp (not a surrogate, <= U+10FFFF) at o. */
static size_t put_utf8(char *o, unsigned long cp)
{
    static const unsigned char lead[] = {0, 0x00, 0xC0, 0xE0, 0xF0};
    size_t n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    for (size_t i = n - 1; i > 0; i--, cp >>= 6)
        o[i] = (char)(0x80 | (cp & 0x3F));
    o[0] = (char)(lead[n] | cp);
    return n;
}

/* Decodes one \u escape (or surrogate pair) at p == "\u...". On success
 * stores the code point and the escape's length. */
static int read_u_escape(parser_t *ps, const unsigned char *p, unsigned long *cp,
                         size_t *used)
{
    long hi, lo;
    if (ps->end - p < 6 || (hi = hex4(p + 2)) < 0)
        return fail(ps, p, LL_ERR_INVALID, "invalid \\u escape (need 4 hex digits)");
    if (hi == 0)
        return fail(ps, p, LL_ERR_INVALID, "\\u0000 is not allowed in strings");
    if (hi >= 0xDC00 && hi <= 0xDFFF)
        return fail(ps, p, LL_ERR_INVALID, "lone low surrogate \\u%04lX", hi);
    if (hi < 0xD800 || hi > 0xDBFF) {
        *cp = (unsigned long)hi;
        *used = 6;
        return LL_OK;
    }
    if (ps->end - p < 12 || p[6] != '\\' || p[7] != 'u' || (lo = hex4(p + 8)) < 0 ||
        lo < 0xDC00 || lo > 0xDFFF)
        return fail(ps, p, LL_ERR_INVALID,
                    "lone high surrogate \\u%04lX (must be followed by a low surrogate)", hi);
    *cp = 0x10000 + (((unsigned long)hi - 0xD800) << 10) + ((unsigned long)lo - 0xDC00);
    *used = 12;
    return LL_OK;
}

/* Parses the string at ps->p == '"' into a malloc'd C string, stored in
 * *out before decoding (see "partial trees" above). */
static int parse_string(parser_t *ps, char **out, size_t *outlen)
{
    const unsigned char *open = ps->p, *p = ps->p + 1, *q = p;
    /* Upper bound of the decoded size: bytes up to the closing quote. */
    while (q < ps->end && *q != '"')
        q += (*q == '\\' && q + 1 < ps->end) ? 2 : 1;
    char *buf = *out = malloc((size_t)(q - p) + 1);
    if (!buf)
        return LL_ERR_NOMEM;
    size_t n = 0;
    for (;;) {
        if (p >= ps->end)
            return fail(ps, open, LL_ERR_INVALID, "unterminated string");
        unsigned char c = *p;
        if (c == '"')
            break;
        if (c < 0x20)
            return fail(ps, p, LL_ERR_INVALID,
                        "control character 0x%02X in string (must be escaped)", c);
        if (c == '\\') {
            const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t", *hit;
            if (p + 1 >= ps->end)
                return fail(ps, open, LL_ERR_INVALID, "unterminated string");
            if (p[1] && (hit = strchr(from, p[1]))) {
                buf[n++] = to[hit - from];
                p += 2;
            } else if (p[1] == 'u') {
                unsigned long cp = 0;
                size_t used = 0;
                int rc = read_u_escape(ps, p, &cp, &used);
                if (rc)
                    return rc;
                n += put_utf8(buf + n, cp);
                p += used;
            } else {
                return fail(ps, p, LL_ERR_INVALID, "invalid escape '\\%c'",
                            p[1] > 0x20 && p[1] < 0x7F ? p[1] : '?');
            }
            continue;
        }
        size_t k = ll_utf8_len(p, ps->end);
        if (k == 0)
            return fail(ps, p, LL_ERR_INVALID, "invalid UTF-8 in string");
        memcpy(buf + n, p, k);
        n += k;
        p += k;
    }
    buf[n] = '\0';
    ps->p = p + 1;
    if (outlen)
        *outlen = n;
    return LL_OK;
}

static int parse_number(parser_t *ps, ll_json_t **out)
{
    const unsigned char *s = ps->p;
    accept(ps, '-');
    if (!is_digit(ps))
        return unexpected(ps, "expected a digit");
    if (accept(ps, '0')) {
        if (is_digit(ps))
            return fail(ps, ps->p - 1, LL_ERR_INVALID, "leading zeros are not allowed");
    } else {
        skip_digits(ps);
    }
    if (accept(ps, '.') && !skip_digits(ps))
        return unexpected(ps, "expected a digit after '.'");
    if (accept(ps, 'e') || accept(ps, 'E')) {
        if (!accept(ps, '+'))
            accept(ps, '-');
        if (!skip_digits(ps))
            return unexpected(ps, "expected a digit in the exponent");
    }
    size_t len = (size_t)(ps->p - s);
    if (!(*out = new_node(LL_JSON_NUMBER)) || !((*out)->u.str.s = strndup((const char *)s, len)))
        return LL_ERR_NOMEM;
    (*out)->u.str.len = len;
    return LL_OK;
}

static int parse_value(parser_t *ps, ll_json_t **out);

/* Grows a vector of elements of size sz to hold n + 1 of them. */
static int reserve(void **vec, size_t *cap, size_t n, size_t sz)
{
    if (n < *cap)
        return LL_OK;
    size_t nc = *cap ? *cap * 2 : 4;
    void *nv = nc <= SIZE_MAX / sz ? realloc(*vec, nc * sz) : NULL;
    if (!nv)
        return LL_ERR_NOMEM;
    *vec = nv;
    *cap = nc;
    return LL_OK;
}

/* Consumes the opening bracket, enforcing the depth limit, and allocates
 * the container node into *out. */
static int enter(parser_t *ps, enum ll_json_type t, ll_json_t **out)
{
    if (ps->depth >= LL_JSON_MAX_DEPTH)
        return fail(ps, ps->p, LL_ERR_TOO_LARGE, "nesting deeper than %d levels",
                    LL_JSON_MAX_DEPTH);
    if (!(*out = new_node(t)))
        return LL_ERR_NOMEM;
    ps->depth++;
    ps->p++;
    skip_ws(ps);
    return LL_OK;
}

static int parse_array(parser_t *ps, ll_json_t **out)
{
    int rc = enter(ps, LL_JSON_ARRAY, out);
    if (rc)
        return rc;
    ll_json_t *arr = *out;
    size_t cap = 0;
    if (!accept(ps, ']')) {
        do {
            skip_ws(ps);
            if (at(ps, ']'))
                return fail(ps, ps->p, LL_ERR_INVALID, "trailing comma is not allowed");
            if ((rc = reserve((void **)&arr->u.arr.items, &cap, arr->u.arr.n,
                              sizeof *arr->u.arr.items)))
                return rc;
            ll_json_t **slot = &arr->u.arr.items[arr->u.arr.n++];
            *slot = NULL;
            if ((rc = parse_value(ps, slot)))
                return rc;
            skip_ws(ps);
        } while (accept(ps, ','));
        if (!accept(ps, ']'))
            return unexpected(ps, "expected ',' or ']'");
    }
    ps->depth--;
    return LL_OK;
}

static int cmp_member(const void *a, const void *b)
{
    const struct member *x = *(struct member *const *)a, *y = *(struct member *const *)b;
    int c = strcmp(x->key, y->key);
    if (c)
        return c;
    return (x->off > y->off) - (x->off < y->off);
}

/* Builds obj's sorted index and rejects duplicate keys. */
static int index_members(parser_t *ps, ll_json_t *obj)
{
    size_t n = obj->u.obj.n;
    struct member **s = malloc((n ? n : 1) * sizeof *s);
    if (!s)
        return LL_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        s[i] = &obj->u.obj.m[i];
    qsort(s, n, sizeof *s, cmp_member);
    obj->u.obj.sorted = s;
    /* With ties ordered by position, the first equal neighbour pair of the
     * earliest-repeated key has the earliest repeat; report that one. */
    const struct member *dup = NULL;
    for (size_t i = 1; i < n; i++)
        if (!strcmp(s[i - 1]->key, s[i]->key) && (!dup || s[i]->off < dup->off))
            dup = s[i];
    if (!dup)
        return LL_OK;
    /* The tree is about to be freed: make the key printable in place. */
    for (char *c = dup->key; *c; c++)
        if (*c < 0x20 || *c > 0x7E)
            *c = '?';
    return fail(ps, ps->start + dup->off, LL_ERR_INVALID, "duplicate key \"%.40s\"", dup->key);
}

static int parse_object(parser_t *ps, ll_json_t **out)
{
    int rc = enter(ps, LL_JSON_OBJECT, out);
    if (rc)
        return rc;
    ll_json_t *obj = *out;
    size_t cap = 0;
    if (!accept(ps, '}')) {
        do {
            skip_ws(ps);
            if (at(ps, '}'))
                return fail(ps, ps->p, LL_ERR_INVALID, "trailing comma is not allowed");
            if (!at(ps, '"'))
                return unexpected(ps, "expected a string key");
            if ((rc = reserve((void **)&obj->u.obj.m, &cap, obj->u.obj.n, sizeof *obj->u.obj.m)))
                return rc;
            struct member *m = &obj->u.obj.m[obj->u.obj.n++];
            *m = (struct member){NULL, NULL, (size_t)(ps->p - ps->start)};
            if ((rc = parse_string(ps, &m->key, NULL)))
                return rc;
            skip_ws(ps);
            if (!accept(ps, ':'))
                return unexpected(ps, "expected ':' after key");
            if ((rc = parse_value(ps, &m->val)))
                return rc;
            skip_ws(ps);
        } while (accept(ps, ','));
        if (!accept(ps, '}'))
            return unexpected(ps, "expected ',' or '}'");
    }
    ps->depth--;
    return index_members(ps, obj);
}

static int parse_value(parser_t *ps, ll_json_t **out)
{
    static const struct { const char *word; enum ll_json_type t; int b; } lits[] = {
        {"true", LL_JSON_BOOL, 1}, {"false", LL_JSON_BOOL, 0}, {"null", LL_JSON_NULL, 0}};
    skip_ws(ps);
    if (ps->p >= ps->end)
        return unexpected(ps, "expected a value");
    unsigned char c = *ps->p;
    if (c == '{')
        return parse_object(ps, out);
    if (c == '[')
        return parse_array(ps, out);
    if (c == '"')
        return (*out = new_node(LL_JSON_STRING))
                   ? parse_string(ps, &(*out)->u.str.s, &(*out)->u.str.len)
                   : LL_ERR_NOMEM;
    if (c == '-' || (c >= '0' && c <= '9'))
        return parse_number(ps, out);
    for (size_t i = 0; i < sizeof lits / sizeof lits[0]; i++) {
        size_t n = strlen(lits[i].word);
        if ((size_t)(ps->end - ps->p) >= n && !memcmp(ps->p, lits[i].word, n)) {
            if (!(*out = new_node(lits[i].t)))
                return LL_ERR_NOMEM;
            (*out)->u.b = lits[i].b;
            ps->p += n;
            return LL_OK;
        }
    }
    if (ps->p == ps->start && ps->end - ps->p >= 3 && !memcmp(ps->p, "\xEF\xBB\xBF", 3))
        return fail(ps, ps->p, LL_ERR_INVALID, "byte order mark is not allowed");
    return unexpected(ps, "expected a value");
}

int ll_json_parse(const char *text, size_t len, ll_json_t **doc, char *err, size_t errcap)
{
    if (err && errcap)
        err[0] = '\0';
    if (!doc || (!text && len))
        return LL_ERR_INVALID;
    *doc = NULL;
    if (!text)
        text = "";
    parser_t ps = {(const unsigned char *)text, (const unsigned char *)text,
                   (const unsigned char *)text + len, err, errcap, 0};
    ll_json_t *v = NULL;
    int rc = parse_value(&ps, &v);
    if (rc == LL_OK) {
        skip_ws(&ps);
        if (ps.p < ps.end)
            rc = unexpected(&ps, "expected end of input after the value");
    }
    if (rc) {
        ll_json_free(v); /* the partial tree */
        if (rc == LL_ERR_NOMEM && err && errcap)
            snprintf(err, errcap, "out of memory");
        return rc;
    }
    *doc = v;
    return LL_OK;
}

void ll_json_free(ll_json_t *v)
{
    if (!v)
        return;
    switch (v->type) {
    case LL_JSON_STRING:
    case LL_JSON_NUMBER:
        free(v->u.str.s);
        break;
    case LL_JSON_ARRAY:
        for (size_t i = 0; i < v->u.arr.n; i++)
            ll_json_free(v->u.arr.items[i]);
        free(v->u.arr.items);
        break;
    case LL_JSON_OBJECT:
        for (size_t i = 0; i < v->u.obj.n; i++) {
            free(v->u.obj.m[i].key);
            ll_json_free(v->u.obj.m[i].val);
        }
        free(v->u.obj.m);
        free(v->u.obj.sorted);
        break;
    default:
        break;
    }
    free(v);
}

/* ============================== accessors =============================== */

enum ll_json_type ll_json_type(const ll_json_t *v)
{
    return v ? v->type : LL_JSON_NULL;
}

const ll_json_t *ll_json_object_get(const ll_json_t *obj, const char *key)
{
    if (!obj || obj->type != LL_JSON_OBJECT || !key)
        return NULL;
    size_t lo = 0, hi = obj->u.obj.n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(key, obj->u.obj.sorted[mid]->key);
        if (c == 0)
            return obj->u.obj.sorted[mid]->val;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

size_t ll_json_object_len(const ll_json_t *obj)
{
    return obj && obj->type == LL_JSON_OBJECT ? obj->u.obj.n : 0;
}

const char *ll_json_object_key(const ll_json_t *obj, size_t i)
{
    return i < ll_json_object_len(obj) ? obj->u.obj.m[i].key : NULL;
}

const ll_json_t *ll_json_object_value(const ll_json_t *obj, size_t i)
{
    return i < ll_json_object_len(obj) ? obj->u.obj.m[i].val : NULL;
}

size_t ll_json_array_len(const ll_json_t *arr)
{
    return arr && arr->type == LL_JSON_ARRAY ? arr->u.arr.n : 0;
}

const ll_json_t *ll_json_array_get(const ll_json_t *arr, size_t i)
{
    return i < ll_json_array_len(arr) ? arr->u.arr.items[i] : NULL;
}

const char *ll_json_string(const ll_json_t *v, size_t *len)
{
    if (!v || v->type != LL_JSON_STRING)
        return NULL;
    if (len)
        *len = v->u.str.len;
    return v->u.str.s;
}

/* Sign and magnitude of an integer-syntax number; LL_ERR_RANGE beyond
 * UINT64_MAX. The text was validated by parse_number. */
static int integer_parts(const ll_json_t *v, int *neg, uint64_t *mag)
{
    if (!v || v->type != LL_JSON_NUMBER || strpbrk(v->u.str.s, ".eE"))
        return LL_ERR_INVALID;
    const char *s = v->u.str.s;
    *neg = (*s == '-');
    s += *neg;
    uint64_t m = 0;
    for (; *s; s++) {
        unsigned d = (unsigned)(*s - '0');
        if (m > (UINT64_MAX - d) / 10)
            return LL_ERR_RANGE;
        m = m * 10 + d;
    }
    *mag = m;
    return LL_OK;
}

int ll_json_get_int64(const ll_json_t *v, int64_t *out)
{
    int neg;
    uint64_t mag;
    int rc = integer_parts(v, &neg, &mag);
    if (rc)
        return rc;
    if (mag > (uint64_t)INT64_MAX + (neg ? 1u : 0u))
        return LL_ERR_RANGE;
    /* -(mag - 1) - 1 avoids negating INT64_MAX + 1. */
    *out = neg ? (mag ? -(int64_t)(mag - 1) - 1 : 0) : (int64_t)mag;
    return LL_OK;
}

int ll_json_get_uint64(const ll_json_t *v, uint64_t *out)
{
    int neg;
    uint64_t mag;
    int rc = integer_parts(v, &neg, &mag);
    if (rc)
        return rc;
    if (neg && mag)
        return LL_ERR_RANGE;
    *out = mag;
    return LL_OK;
}

int ll_json_get_bool(const ll_json_t *v, int *out)
{
    if (!v || v->type != LL_JSON_BOOL)
        return LL_ERR_INVALID;
    *out = v->u.b;
    return LL_OK;
}

int ll_json_get_double(const ll_json_t *v, double *out)
{
    if (!v || v->type != LL_JSON_NUMBER)
        return LL_ERR_INVALID;
    double d = strtod(v->u.str.s, NULL);
    if (isinf(d))
        return LL_ERR_RANGE;
    *out = d;
    return LL_OK;
}
