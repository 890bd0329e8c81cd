/*
 * loopctl_util: what every loopctl command shares and needs no server for:
 * the options, the error exit, argument parsing, formatting for people.
 * (The channel and the calls are loopctl_rpc's.)
 *
 * Why exit instead of returning errors: a CLI command has nothing to clean
 * up that the process exit does not, and one exit path per failure keeps
 * the status codes scripts rely on (1 usage/local, 3 gRPC) in one place.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ll_err.h"
#include "loopctl_util.h"
#include "loopledger/v1/entry.pb-c.h"

lc_opts_t lc_opts;

void lc_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "loopctl: ");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

const char *lc_status_name(grpc_status_code c)
{
    static const char *const names[] = {
        "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
        "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
        "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"};
    return (unsigned)c < sizeof names / sizeof names[0] ? names[c] : "?";
}

/* ISO 8601 UTC with milliseconds, for every time loopctl prints. */
void lc_format_time(int64_t ns, char out[40])
{
    time_t s = (time_t)(ns / 1000000000);
    struct tm tm;
    gmtime_r(&s, &tm);
    size_t n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 40 - n, ".%03dZ", (int)((ns / 1000000) % 1000));
}

uint64_t lc_parse_u64(const char *s, const char *what)
{
    char *end;
    errno = 0;
    if (!s || *s < '0' || *s > '9')
        lc_die("%s must be a non-negative integer", what);
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || errno)
        lc_die("%s must be a non-negative integer", what);
    return v;
}

int64_t lc_parse_time(const char *s, const char *what)
{
    struct tm tm;
    const char *p;
    int64_t frac = 0, scale = 1000000000, off = 0;

    if (!strchr(s, '-') && !strchr(s, ':'))
        return (int64_t)lc_parse_u64(s, what); /* unix nanoseconds */
    memset(&tm, 0, sizeof tm);
    if (!(p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) &&
        !(p = strptime(s, "%Y-%m-%d %H:%M:%S", &tm)))
        lc_die("%s: expected RFC 3339 (2026-11-28T07:00:00Z) or unix nanoseconds, got %s", what, s);
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++)
            if (scale > 1) {
                scale /= 10;
                frac += (*p - '0') * scale;
            }
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
        int h = atoi(p + 1), m = atoi(p + 4);
        off = (int64_t)(h * 3600 + m * 60) * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        lc_die("%s: the time needs a zone (Z or +HH:MM): %s", what, s);
    }
    if (*p)
        lc_die("%s: trailing characters in %s", what, s);
    int64_t secs = (int64_t)timegm(&tm) - off;
    return secs * 1000000000 + frac;
}

void lc_print_json(ll_jw_t *jw)
{
    size_t n;
    char *s = ll_jw_finish(jw, &n);
    if (!s)
        lc_die("out of memory");
    fwrite(s, 1, n, stdout);
    fputc('\n', stdout);
    free(s);
}

char *lc_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (cap - n - 1 == 0) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf) {
        buf[n] = 0;
        *len = n;
    }
    return buf;
}

const char *lc_status_word(int status)
{
    return status == LOOPLEDGER__V1__APPROVAL_STATUS__APPROVAL_STATUS_PENDING    ? "pending"
           : status == LOOPLEDGER__V1__APPROVAL_STATUS__APPROVAL_STATUS_REJECTED ? "rejected"
                                                                                  : "";
}

char *lc_fmt_num(double v, char *out, size_t cap)
{
    double a = v < 0 ? -v : v;
    if (v != v) {
        snprintf(out, cap, "-");
    } else if (a >= 1000 && a < 1e18) {
        /* Whole numbers with thousands separators: 3,500,000 not 3.5e+06. */
        char digits[32], *o = out;
        long long n = llround(v);
        int len = snprintf(digits, sizeof digits, "%lld", n < 0 ? -n : n);
        size_t used = 0;
        if (n < 0 && used + 1 < cap)
            o[used++] = '-';
        for (int i = 0; i < len && used + 2 < cap; i++) {
            if (i && (len - i) % 3 == 0)
                o[used++] = ',';
            o[used++] = digits[i];
        }
        o[used] = 0;
    } else if (a >= 100 || a == (double)(long long)a) {
        snprintf(out, cap, "%.0f", v);
    } else if (a >= 1) {
        snprintf(out, cap, "%.2f", v); /* 2.50 -> 2.5 */
        char *e = out + strlen(out);
        while (e > out && e[-1] == '0')
            *--e = 0;
        if (e > out && e[-1] == '.')
            e[-1] = 0;
    } else {
        snprintf(out, cap, "%.3g", v);
    }
    return out;
}

char *lc_fit(const char *s, int width, char *out, size_t cap)
{
    size_t n = strlen(s);
    if (width < 3 || n <= (size_t)width || (size_t)width >= cap) {
        snprintf(out, cap, "%s", s);
        return out;
    }
    memcpy(out, s, (size_t)width - 2);
    memcpy(out + width - 2, "..", 3);
    return out;
}
