/*
 * ll_daemon_opts: loopledgerd's options, their parser and its usage text
 * (ll_daemon_opts.h). Kept apart from the daemon so that the list of
 * options, the text that documents them and the code that reads them are
 * one screen apart, and the daemon's files hold only what it does.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ll_daemon_opts.h"

void ll_daemon_usage(FILE *f)
{
    fprintf(f,
            "usage: loopledgerd [serve] [options]\n"
            "       loopledgerd verifier-key [--data DIR]\n"
            "       loopledgerd verify [--data DIR] [--threads N]\n"
            "       loopledgerd backup [--data DIR] --to NEWDIR\n"
            "options:\n"
            "  --data DIR          data directory (default ./var/ledger)\n"
            "  --listen HOST:PORT  listen address (default 127.0.0.1:7600; port 0 = any free)\n"
            "  --admin-pub FILE    first admin's public key (needed to create a ledger)\n"
            "  --admin-id ID       first admin's actor id (default admin)\n"
            "  --origin NAME       checkpoint origin for a new ledger (default loopledger/<random>)\n"
            "  --threads N         completion-queue threads (default 4)\n"
            "  --max-message N     largest accepted request in bytes (default 1048576)\n"
            "  --port-file FILE    write the bound port there once serving\n"
            "  --map-size N[KMG]   initial LMDB map size (default 16G; grows when full)\n"
            "  --map-max N[KMG]    largest map size (default: limited by the disk only)\n"
            "  --sync-interval MS  sync LMDB in the background this often (default 1000);\n"
            "                      appends are durable in the write-ahead log DIR/wal/ before\n"
            "                      they are answered, and a restart replays what came after\n"
            "                      the last sync\n"
            "  --tls-cert FILE     server certificate chain (PEM); with --tls-key and --tls-ca\n"
            "                      serves mTLS: clients need a certificate from that CA whose\n"
            "                      common name is a registered actor\n"
            "  --tls-key FILE      server private key (PEM, must not be group/world readable)\n"
            "  --tls-ca FILE       CA certificate(s) that sign client certificates (PEM)\n"
            "  --plaintext         serve without TLS (loopback addresses only)\n"
            "  --http HOST:PORT    also serve HTTP (off unless given): JSON gateway /v1/...,\n"
            "                      web console /console/, /metrics, /healthz, /readyz; TLS\n"
            "                      with the --tls-* files (client certificate = actor),\n"
            "                      plaintext only on loopback with --plaintext\n"
            "  --http-trusted-proxy ADDR  peer address of a reverse proxy whose identity\n"
            "                      header names the actor (only that peer is believed)\n"
            "  --http-identity-header NAME  that header (default X-Loopledger-Actor)\n"
            "  --http-port-file FILE  write the bound HTTP port there once serving\n"
            "  --http-assets DIR   serve the console from DIR instead of the built-in copy\n"
            "  --http-idle-timeout SECONDS  close HTTP connections idle that long, a request\n"
            "                      still being received included (default 30, 1..3600)\n"
            "limits (each refusal is RESOURCE_EXHAUSTED at once, nothing written):\n"
            "  --max-streams N     concurrent HTTP/2 streams per connection (default 100)\n"
            "  --max-calls N       calls in flight, whole server (default 16384)\n"
            "  --max-connections N gRPC connections at once (default 4096); beyond it a new\n"
            "                      connection is closed as soon as it is accepted\n"
            "  --max-connections-per-address N  the same from one client address (default 256)\n"
            "  --max-queue N       appends between submit and result (default 4096)\n"
            "  --max-queue-bytes N[KMG]  their envelope bytes (default 64M)\n"
            "  --memory-quota N[KMG]     gRPC buffer memory (default 1G)\n"
            "  --max-receive-bytes N[KMG]  request messages being received at once, counted\n"
            "                      at the 1 MiB message limit each (default 32M); other calls\n"
            "                      wait their turn with at most 64 KiB buffered each\n"
            "  --handshake-timeout MS    close connections not set up by then (default 5000)\n"
            "  --idle-timeout MS   close connections without calls for that long (default 600000)\n"
            "  --tiles DIR         publish the log as C2SP tlog-tiles into DIR after each commit\n"
            "                      (entries are then capped at 64 KiB: see README, Scaling out)\n"
            "  --witness URL=VKEY  submit each checkpoint to this C2SP tlog-witness (repeatable);\n"
            "                      GetCheckpoint then carries the cosignatures collected\n"
            "witness: loopledgerd witness --help; witness-key --key FILE --name NAME\n"
            "mirror:  loopledgerd mirror --from TILES-URL|DIR|grpc://HOST:PORT --vkey PRIMARY-VKEY\n"
            "         --data DIR [--once] [--interval-ms N] [serve options]: a verifying\n"
            "         read-only replica, fed by the primary's tiles or its gRPC Watch;\n"
            "         over gRPC beyond loopback: --from-tls-ca CA --from-tls-cert ME.crt\n"
            "         --from-tls-key ME.key (the mirror's client certificate, as loopctl's)\n"
            "promote: loopledgerd promote --data DIR [--force] [--note-key FILE --actor-key FILE]\n"
            "         turns a mirror's directory into a primary's (see README, Scaling out)\n"
            "  --drift-baseline N  drift detector: baseline window in points (default 7)\n"
            "  --drift-recent N    drift detector: points that must all be low (default 3)\n"
            "  --drift-threshold F drift detector: relative decline, 0..1 (default 0.10)\n"
            "verify: audits every entry, signature and tree node, rebuilds every derived table\n"
            "  from the entries and compares; names the first damaged entry or record; --threads is the number of verifying threads (default: all CPUs).\n"
            "backup: online copy with compaction (and the server keys) into NEWDIR.\n");
}

size_t ll_daemon_parse_size(const char *v)
{
    char *end;
    unsigned long long n = strtoull(v, &end, 10);
    int shift = 0;
    switch (*end) {
    case 'k': case 'K': shift = 10; end++; break;
    case 'm': case 'M': shift = 20; end++; break;
    case 'g': case 'G': shift = 30; end++; break;
    default: break;
    }
    if (*end || end == v || n > (SIZE_MAX >> shift))
        return 0;
    return (size_t)(n << shift);
}

/* v as a whole number from lo to hi into *out; -1, with a line on stderr
 * that names the option a, its unit and its range, otherwise. */
static int parse_bounded(const char *a, const char *v, const char *unit, unsigned long lo,
                         unsigned long hi, unsigned *out)
{
    char *end;
    unsigned long n = strtoul(v, &end, 10);
    if (!*v || *end || n < lo || n > hi) {
        fprintf(stderr, "loopledgerd: %s takes %s from %lu to %lu, got \"%s\"\n", a, unit, lo,
                hi, v);
        return -1;
    }
    *out = (unsigned)n;
    return 0;
}

/* The field of o that the size option a (N[KMG], ll_daemon_parse_size)
 * sets; NULL when a is not one. */
static size_t *size_option(ll_daemon_opts_t *o, const char *a)
{
    if (!strcmp(a, "--max-queue-bytes")) return &o->queue_bytes;
    if (!strcmp(a, "--memory-quota")) return &o->memory_quota;
    if (!strcmp(a, "--max-receive-bytes")) return &o->receive_bytes;
    if (!strcmp(a, "--map-size")) return &o->map_size;
    if (!strcmp(a, "--map-max")) return &o->map_max;
    return NULL;
}

int ll_daemon_parse_opts(int argc, char **argv, ll_daemon_opts_t *o)
{
    size_t *size;
    memset(o, 0, sizeof *o);
    o->cmd = "serve";
    o->data = "./var/ledger";
    o->listen = "127.0.0.1:7600";
    o->admin_id = "admin";
    o->drift = (ll_drift_config_t)LL_DRIFT_DEFAULTS;
    int i = 1;
    if (i < argc && argv[i][0] != '-')
        o->cmd = argv[i++];
    for (; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            ll_daemon_usage(stdout);
            exit(0);
        }
        if (!strcmp(a, "--plaintext") || !strcmp(a, "--once") || !strcmp(a, "--force")) {
            *(a[2] == 'p' ? &o->plaintext : a[2] == 'o' ? &o->once : &o->force) = 1;
            continue;
        }
        if (!v) {
            fprintf(stderr, "loopledgerd: %s needs a value\n", a);
            return -1;
        }
        i++;
        if (!strcmp(a, "--data")) o->data = v;
        else if (!strcmp(a, "--listen")) o->listen = v;
        else if (!strcmp(a, "--admin-pub")) o->admin_pub = v;
        else if (!strcmp(a, "--admin-id")) o->admin_id = v;
        else if (!strcmp(a, "--origin")) o->origin = v;
        else if (!strcmp(a, "--port-file")) o->port_file = v;
        else if (!strcmp(a, "--threads")) o->threads = (unsigned)atoi(v);
        else if (!strcmp(a, "--max-message")) o->max_message = atoi(v);
        else if (!strcmp(a, "--to")) o->to = v;
        else if (!strcmp(a, "--tls-cert")) o->tls_cert = v;
        else if (!strcmp(a, "--tls-key")) o->tls_key = v;
        else if (!strcmp(a, "--tls-ca")) o->tls_ca = v;
        else if (!strcmp(a, "--http")) o->http = v;
        else if (!strcmp(a, "--http-trusted-proxy")) o->http_proxy = v;
        else if (!strcmp(a, "--http-identity-header")) o->http_header = v;
        else if (!strcmp(a, "--http-port-file")) o->http_port_file = v;
        else if (!strcmp(a, "--http-assets")) o->http_assets = v;
        else if (!strcmp(a, "--http-idle-timeout")) {
            if (parse_bounded(a, v, "whole seconds", 1, 3600, &o->http_idle_s))
                return -1;
        }
        else if (!strcmp(a, "--sync-interval")) {
            if (parse_bounded(a, v, "milliseconds", 10, 3600000, &o->sync_ms))
                return -1;
        }
        else if (!strcmp(a, "--tiles")) o->tiles = v;
        else if (!strcmp(a, "--from")) o->from = v;
        else if (!strcmp(a, "--vkey")) o->vkey = v;
        else if (!strcmp(a, "--from-tls-ca")) o->from_ca = v;
        else if (!strcmp(a, "--from-tls-cert")) o->from_cert = v;
        else if (!strcmp(a, "--from-tls-key")) o->from_key = v;
        else if (!strcmp(a, "--note-key")) o->note_key = v;
        else if (!strcmp(a, "--actor-key")) o->actor_key = v;
        else if (!strcmp(a, "--interval-ms")) o->interval_ms = atoi(v);
        else if (!strcmp(a, "--witness") && o->nwitness < 16) o->witness[o->nwitness++] = v;
        else if (!strcmp(a, "--drift-baseline")) o->drift.baseline = (unsigned)atoi(v);
        else if (!strcmp(a, "--drift-recent")) o->drift.recent = (unsigned)atoi(v);
        else if (!strcmp(a, "--drift-threshold")) o->drift.threshold = atof(v);
        else if (!strcmp(a, "--max-streams")) o->max_streams = (unsigned)atoi(v);
        else if (!strcmp(a, "--max-calls")) o->max_calls = (unsigned)atoi(v);
        else if (!strcmp(a, "--max-connections")) o->max_conns = (unsigned)atoi(v);
        else if (!strcmp(a, "--max-connections-per-address"))
            o->max_conns_addr = (unsigned)atoi(v);
        else if (!strcmp(a, "--max-queue")) o->queue_entries = (size_t)atol(v);
        else if (!strcmp(a, "--handshake-timeout")) o->handshake_ms = atoi(v);
        else if (!strcmp(a, "--idle-timeout")) o->idle_ms = atoi(v);
        else if ((size = size_option(o, a))) {
            size_t n = ll_daemon_parse_size(v);
            if (!n) {
                fprintf(stderr, "loopledgerd: bad size for %s: %s\n", a, v);
                return -1;
            }
            *size = n;
        } else {
            fprintf(stderr, "loopledgerd: unknown option %s\n", a);
            return -1;
        }
    }
    if (o->map_max && o->map_size > o->map_max) {
        fprintf(stderr, "loopledgerd: --map-size is larger than --map-max\n");
        return -1;
    }
    if (o->max_message < 0 || o->threads > 64) {
        fprintf(stderr, "loopledgerd: bad --max-message or --threads\n");
        return -1;
    }
    return 0;
}
