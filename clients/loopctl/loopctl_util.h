/*
 * loopctl_util: the bottom of loopctl. The global options, the error exit,
 * and what needs no server: argument parsing (numbers, RFC 3339 times),
 * formatting for people (times, numbers, column fits, status and level
 * words), JSON printing, whole-file reads.
 *
 * Nothing here dials or calls the server (that is loopctl_rpc) or reads
 * TLS files (loopctl_tls): every other loopctl module may use this one,
 * and this one uses none of them.
 *
 * A CLI: a helper that cannot go on exits with a message (lc_die, status 1).
 */
#ifndef LOOPCTL_UTIL_H
#define LOOPCTL_UTIL_H

#include <grpc/status.h>
#include <stddef.h>
#include <stdint.h>

#include "ll_jw.h"

typedef struct lc_opts {
    const char *server;
    int json;
    int timeout_ms;
    /* mTLS (all three, or none for plaintext loopback) */
    const char *ca, *cert, *key;
    /* Append: also write the AppendRequest bytes here (for resubmit). */
    const char *save_request;
    /* Append: validate only (AIP-163); nothing is written. */
    int dry_run;
} lc_opts_t;

/* Set by main from the flags and environment before any command runs. */
extern lc_opts_t lc_opts;

/* Prints "loopctl: " and the message to stderr and exits with status 1. */
void lc_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* Canonical name of a gRPC status code ("NOT_FOUND"); "?" when unknown. */
const char *lc_status_name(grpc_status_code c);
uint64_t lc_parse_u64(const char *s, const char *what);
/* RFC 3339 ("2026-11-28T07:00:00Z", fraction and offset allowed) or unix
 * nanoseconds. */
int64_t lc_parse_time(const char *s, const char *what);
/* ISO 8601 UTC with milliseconds ("2026-11-28T07:00:00.000Z"). */
void lc_format_time(int64_t ns, char out[40]);
/* Finishes jw and prints it with a newline. */
void lc_print_json(ll_jw_t *jw);
/* Lowercase approval status for people: "pending", "rejected", or "" when
 * effective (or unknown: nothing to flag). */
const char *lc_status_word(int status);
/* A number for people: whole numbers from 1,000 on with thousands
 * separators (never 3.5e+06), two decimals from 1, three significant
 * digits below. Returns out. */
char *lc_fmt_num(double v, char *out, size_t cap);
/* s cut to width characters ("..." -> "initiati..") so that table
 * columns stay aligned. Returns out. */
char *lc_fit(const char *s, int width, char *out, size_t cap);
/* Whole file, NUL-terminated, malloc'd; NULL with errno on failure. */
char *lc_read_file(const char *path, size_t *len);

#endif
