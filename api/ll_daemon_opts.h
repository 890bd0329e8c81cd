/*
 * ll_daemon_opts: loopledgerd's command line, as one struct.
 *
 * Every subcommand of loopledgerd except `witness` and `witness-key` (which
 * parse their own, ll_scale_cmd.h) reads the same options: the parser
 * does not know which command uses which, so a serve option given to
 * `verify` is accepted and ignored. This file holds the model of those
 * options, their parser and the usage text that documents them, apart from
 * the code that acts on them (loopledgerd.c, ll_daemon_cmds.c).
 *
 * Ownership: every string in ll_daemon_opts_t points into argv (or at a
 * string literal for a default); nothing is allocated, nothing is freed,
 * and the struct is valid as long as argv is. A caller may repoint a field
 * at storage of its own (loopledgerd serve does, for --origin and --listen)
 * as long as that storage outlives its use.
 */
#ifndef LL_DAEMON_OPTS_H
#define LL_DAEMON_OPTS_H

#include <stddef.h>
#include <stdio.h>

#include "ll_drift.h"

typedef struct ll_daemon_opts {
    const char *cmd;
    const char *data;
    const char *listen;
    const char *admin_pub;
    const char *admin_id;
    const char *origin;
    const char *port_file;
    const char *to;
    unsigned threads;
    int max_message;
    size_t map_size, map_max;
    ll_drift_config_t drift;
    const char *tls_cert, *tls_key, *tls_ca;
    int plaintext;
    const char *http, *http_proxy, *http_header, *http_port_file, *http_assets;
    unsigned http_idle_s; /* 0: ll_http's default (30 s) */
    unsigned sync_ms;     /* 0: ll_store's default (1000 ms) */
    /* Resource limits (0: the library defaults, see ll_server.h, ll_ledger.h). */
    unsigned max_streams, max_calls, max_conns, max_conns_addr;
    int handshake_ms, idle_ms;
    size_t memory_quota, queue_entries, queue_bytes, receive_bytes;
    const char *tiles;
    const char *witness[16]; /* --witness URL=VKEY */
    size_t nwitness;
    const char *from, *vkey, *note_key, *actor_key; /* mirror, promote */
    const char *from_ca, *from_cert, *from_key;      /* mirror over gRPC (mTLS) */
    int once, force, interval_ms;
} ll_daemon_opts_t;

/* Writes loopledgerd's usage text (every command and option) to f. */
void ll_daemon_usage(FILE *f);

/* "64M" -> bytes: decimal digits with an optional K, M or G suffix (binary
 * units, either case). Returns 0 on a malformed value or one that does not
 * fit a size_t (0 itself is therefore never a valid size). */
size_t ll_daemon_parse_size(const char *v);

/* Fills *o from argv: defaults first (cmd "serve", data ./var/ledger,
 * listen 127.0.0.1:7600, admin-id admin, LL_DRIFT_DEFAULTS, 0 for every
 * limit = the library's default), then argv[1] as the command if it does
 * not start with '-', then the options. The command is not checked here.
 * Returns 0, or -1 after writing one line "loopledgerd: ..." to stderr
 * that names the bad option (the caller then prints the usage and exits
 * 2). -h or --help prints the usage to stdout and exits the process with
 * 0. Strings in *o point into argv (see above). */
int ll_daemon_parse_opts(int argc, char **argv, ll_daemon_opts_t *o);

#endif
