/*
 * loopledgerd: the loopledger server.
 *
 *   loopledgerd [serve] [--data DIR] [--listen HOST:PORT] [--admin-pub FILE]
 *               [--admin-id ID] [--origin NAME] [--threads N]
 *               [--max-message BYTES] [--port-file FILE]
 *               [--map-size BYTES] [--map-max BYTES] [--sync-interval MS]
 *   loopledgerd verifier-key [--data DIR]
 *   loopledgerd verify [--data DIR] [--threads N]
 *   loopledgerd backup [--data DIR] --to DIR
 *   loopledgerd mirror --from SOURCE --vkey VKEY [--once] [serve options]
 *   loopledgerd promote --data DIR [--force] [--note-key F --actor-key F]
 *   loopledgerd witness|witness-key ...
 *
 * A data directory holds the LMDB environment and the server's two Ed25519
 * keys (mode 0600): note.key signs checkpoints, actor.key signs the
 * server's own entries (the genesis). Keys are made on first start; a new
 * ledger also needs the first admin's public key (--admin-pub).
 *
 * Durability: an append is answered once its leaf is synced in the
 * write-ahead log DIR/wal/ (one sequential write per group commit); LMDB
 * is synced in the background, and a restart after an unclean stop rolls
 * data.mdb back to its last synced state and replays the log's leaves
 * after it, each verified like a mirror's (ll_store.h, ll_durable.h).
 *
 * SIGTERM/SIGINT: stop accepting calls, end Watch streams, let in-flight
 * calls finish (appends are answered once durable), then exit 0.
 *
 * verify audits a data directory offline (ll_audit.h): every leaf,
 * signature and tree node, and the last signed checkpoint; then rebuilds
 * every derived table from the entries and compares (ll_derive.h); it
 * names the first damaged sequence number or table record and exits 1 if
 * anything is wrong. backup copies a (possibly live) ledger with
 * compaction, plus its keys, into a new directory that `serve --data`
 * accepts as is. Both work beside a running server: LMDB coordinates
 * processes through its lock file.
 *
 * Where the program lives: this file is main() (parse, then dispatch) and
 * the commands that open the ledger itself, serve, mirror and verifier-key
 * (cmd_serve: server keys, TLS, store, ledger, gRPC and HTTP start-up,
 * drain on signal). The options, their parser and the usage text are in
 * ll_daemon_opts.c; the offline commands verify, backup and promote in
 * ll_daemon_cmds.c; the log line and the key-file rule that both sides
 * use in ll_daemon_util.c; witness and witness-key in ll_witness_cmd.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <openssl/crypto.h>

#include "ll_format.h"
#include "ll_crypto.h"
#include "ll_drift.h"
#include "ll_console.h"
#include "ll_daemon_cmds.h"
#include "ll_daemon_opts.h"
#include "ll_daemon_util.h"
#include "ll_err.h"
#include "ll_gateway.h"
#include "ll_http.h"
#include "ll_ledger.h"
#include "ll_metrics.h"
#include "ll_mirror.h"
#include "ll_mirror_grpc.h"
#include "ll_mirror_tiles.h"
#include "ll_publish.h"
#include "ll_scale_cmd.h"
#include "ll_wsubmit.h"
#include "ll_tiles.h"
#include "ll_server.h"
#include "ll_accept.h"
#include "ll_listen.h"
#include "ll_methods.h"
#include "ll_services.h"
#include "ll_store.h"

static int cosig_lines(void *ctx, uint64_t size, char *note, size_t cap)
{
    return ll_wsubmit_lines(ctx, size, note, cap);
}

static uint64_t cosig_latest(void *ctx)
{
    return ll_wsubmit_cosigned_size(ctx);
}

static void publish_witnessed(void *ctx, uint64_t size, const char *note, size_t len)
{
    ll_publish_checkpoint(ctx, size, note, len);
}

/* Reads a whole PEM file; NULL (logged) on failure. Caller frees. */
static char *read_pem(const char *path, int secret)
{
    struct stat sb;
    FILE *f = fopen(path, "r");
    char *buf = NULL;
    if (!f || fstat(fileno(f), &sb)) {
        ll_daemon_logf("cannot read %s: %s", path, strerror(errno));
        goto out;
    }
    if (secret && (sb.st_mode & 077)) {
        ll_daemon_logf("%s is readable by group or others (mode %03o): chmod 600 it", path,
                       (unsigned)(sb.st_mode & 0777));
        goto out;
    }
    if (sb.st_size <= 0 || sb.st_size > (1 << 20) || !(buf = calloc(1, (size_t)sb.st_size + 1)) ||
        fread(buf, 1, (size_t)sb.st_size, f) != (size_t)sb.st_size) {
        ll_daemon_logf("cannot read %s", path);
        free(buf);
        buf = NULL;
    }
out:
    if (f)
        fclose(f);
    return buf;
}

/* mTLS: the server's certificate and key, and the CA that signs client
 * certificates; clients must present one and it must verify. */
static int make_tls_creds(const ll_daemon_opts_t *o, grpc_server_credentials **out)
{
    char *cert = NULL, *key = NULL, *ca = NULL;
    int rc = -1;
    if (!o->tls_cert || !o->tls_key || !o->tls_ca) {
        ll_daemon_logf("mTLS needs all of --tls-cert, --tls-key and --tls-ca");
        return -1;
    }
    if (!(cert = read_pem(o->tls_cert, 0)) || !(key = read_pem(o->tls_key, 1)) ||
        !(ca = read_pem(o->tls_ca, 0)))
        goto out;
    grpc_ssl_pem_key_cert_pair pair = {key, cert};
    *out = grpc_ssl_server_credentials_create_ex(
        ca, &pair, 1, GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY, NULL);
    if (*out)
        rc = 0;
    else
        ll_daemon_logf("cannot build TLS credentials from %s, %s, %s", o->tls_cert, o->tls_key,
                       o->tls_ca);
out:
    if (key) {
        OPENSSL_cleanse(key, strlen(key));
        free(key);
    }
    free(cert);
    free(ca);
    return rc;
}

/* Loads dir/name, creating it (0600) on first start. */
static int load_or_make_key(const char *dir, const char *name, ll_key_t **out)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int err = ll_daemon_key_file_private(path);
    if (err)
        return err;
    err = ll_key_load(path, out);
    if (err != LL_ERR_IO || access(path, F_OK) == 0)
        return err;
    if ((err = ll_key_generate(out)))
        return err;
    if ((err = ll_key_save(*out, path))) {
        ll_key_free(*out);
        *out = NULL;
        return err;
    }
    ll_daemon_logf("created server key %s", path);
    return LL_OK;
}

static int mkdirs(const char *dir)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", dir);
    for (char *p = buf + 1; *p; p++) {
        if (*p == '/') {
            *p = 0;
            if (mkdir(buf, 0700) && errno != EEXIST)
                return -1;
            *p = '/';
        }
    }
    if (mkdir(buf, 0700) && errno != EEXIST)
        return -1;
    return 0;
}

static int write_port_file(const char *path, int port)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    fprintf(f, "%d\n", port);
    if (fclose(f))
        return -1;
    return rename(tmp, path);
}

/* With --tiles, the published tlog-tiles are public on the HTTP face too:
 * /checkpoint and /tile/... from the publisher's directory. */
static int add_tiles(ll_http_t *http, const char *dir)
{
    char p[4096];
    int err;
    if (!dir)
        return LL_OK;
    snprintf(p, sizeof p, "%s/checkpoint", dir);
    if ((err = ll_http_add_static_dir(http, "/checkpoint", p)))
        return err;
    snprintf(p, sizeof p, "%s/tile", dir);
    return ll_http_add_static_dir(http, "/tile/", p);
}

/* The HTTP face (ll_http.h): same TLS files and authorizer as gRPC. */
static int start_http(const ll_daemon_opts_t *o, ll_server_t *srv, ll_ledger_t *lg,
                      ll_ledger_service_t *lsvc, ll_rpc_authz_t *authz, ll_http_t **http,
                      ll_metrics_t **metrics, ll_console_t **console)
{
    char msg[300] = "";
    int port = 0, err;
    ll_http_config_t hc = {.listen = o->http, .tls_cert = o->tls_cert, .tls_key = o->tls_key,
                           .tls_ca = o->tls_ca, .trusted_proxy = o->http_proxy,
                           .identity_header = o->http_header, .authorize = ll_rpc_authorize,
                           .authorize_ctx = authz, .timeout_s = o->http_idle_s};
    if ((err = ll_http_create(&hc, http, msg, sizeof msg))) {
        ll_daemon_logf("http: %s", msg[0] ? msg : ll_strerror(err));
        return -1;
    }
    if ((err = ll_gateway_register(*http, srv)) ||
        (err = ll_metrics_register(*http, srv, lg, lsvc, metrics)) ||
        (err = ll_console_register(*http, srv, lg, o->http_assets, console)) ||
        (err = add_tiles(*http, o->tiles)) || (err = ll_http_start(*http, &port))) {
        ll_daemon_logf("cannot serve HTTP on %s: %s", o->http, ll_strerror(err));
        ll_http_free(*http);
        ll_metrics_free(*metrics);
        ll_console_free(*console);
        *http = NULL;
        *metrics = NULL;
        *console = NULL;
        return -1;
    }
    {
        const char *colon = strrchr(o->http, ':');
        ll_daemon_logf("HTTP on port %d: console at %s://%.*s:%d/console/", port,
                       ll_http_tls(*http) ? "https" : "http", (int)(colon - o->http), o->http,
                       port);
    }
    if (o->http_port_file && write_port_file(o->http_port_file, port))
        ll_daemon_logf("cannot write port file %s: %s", o->http_port_file, strerror(errno));
    return 0;
}

/* loopledgerd serve, mirror and verifier-key: the three commands that open
 * the ledger itself (server keys, store, format, ledger), so they share
 * one start-up. verifier-key stops once the ledger is open and prints its
 * key; mirror feeds the ledger from a primary instead of taking appends;
 * serve creates the ledger on first start. Then both serve gRPC (and HTTP
 * with --http) until SIGTERM/SIGINT. Returns the process's exit code.
 * Repoints o->origin and o->listen at storage of its own (valid until it
 * returns) and may set o->max_conns. */
static int cmd_serve(ll_daemon_opts_t *o)
{
    ll_key_t *note_key = NULL, *actor_key = NULL;
    ll_store_t *st = NULL;
    ll_ledger_t *lg = NULL;
    ll_server_t *srv = NULL;
    ll_services_t *svcs = NULL;
    ll_drift_t *drift = NULL;
    ll_http_t *http = NULL;
    ll_metrics_t *metrics = NULL;
    ll_console_t *console = NULL;
    ll_publish_t *pub = NULL;
    ll_wsubmit_t *wsub = NULL;
    ll_mirror_t *mir = NULL;
    static char mirror_origin[LL_NOTE_MAX_NAME + 1];
    int rc = 1, err;

    int mirror = !strcmp(o->cmd, "mirror");
    if (mirror) {
        char name[LL_NOTE_MAX_NAME + 1];
        uint8_t pk[LL_PUBKEY_LEN];
        if (!o->from || !o->vkey || ll_note_parse_verifier_key(o->vkey, name, sizeof name, pk)) {
            ll_daemon_logf("mirror needs --from TILES-URL|DIR|grpc://HOST:PORT and --vkey (the "
                           "primary's verifier key)");
            return 2;
        }
        if (o->tiles || o->nwitness || o->admin_pub) {
            ll_daemon_logf("a mirror neither publishes, submits to witnesses nor creates a ledger");
            return 2;
        }
        snprintf(mirror_origin, sizeof mirror_origin, "%s", name);
        o->origin = mirror_origin;
    } else if (!strcmp(o->cmd, "serve") && ll_mirror_is_mirror_dir(o->data)) {
        ll_daemon_logf("%s is a mirror's data directory: serve it with `loopledgerd mirror`, "
                       "or make it a primary with `loopledgerd promote --data %s`",
                       o->data, o->data);
        return 1;
    }
    if (!strcmp(o->cmd, "verifier-key")) {
        /* Reading the key must never create a ledger (with a random origin)
         * behind the operator's back. */
        char p[4096];
        snprintf(p, sizeof p, "%s/data.mdb", o->data);
        if (access(p, F_OK)) {
            ll_daemon_logf("%s holds no ledger yet; start the server once to create it", o->data);
            return 1;
        }
    }
    if (mkdirs(o->data)) {
        ll_daemon_logf("cannot create %s: %s", o->data, strerror(errno));
        return 1;
    }
    if ((err = load_or_make_key(o->data, "note.key", &note_key)) ||
        (err = load_or_make_key(o->data, "actor.key", &actor_key))) {
        ll_daemon_logf("server keys in %s: %s", o->data, ll_strerror(err));
        goto out;
    }
    /* The server writes through the write-ahead log (ll_store.h,
     * Durability); printing the verifier key must work beside a running
     * server, so it opens the store plainly. */
    ll_store_config_t stc = {.map_size = o->map_size, .map_max = o->map_max,
                             .wal = strcmp(o->cmd, "verifier-key") != 0, .sync_ms = o->sync_ms};
    if ((err = ll_store_open(o->data, &stc, &st))) {
        ll_daemon_logf("opening store %s: %s (%s)", o->data, ll_strerror(err),
                       ll_store_last_error());
        goto out;
    }
    {
        const ll_wal_rec_t *pend;
        size_t npend = ll_store_pending(st, &pend);
        if (ll_store_open_note(st)[0])
            ll_daemon_logf("%s", ll_store_open_note(st));
        if (npend)
            ll_daemon_logf("write-ahead log: %zu acknowledged entries (#%llu..#%llu) past the "
                           "synced state, replayed and verified before serving",
                           npend, (unsigned long long)pend[0].seq,
                           (unsigned long long)pend[npend - 1].seq);
    }
    char origin[64];
    if (!o->origin) {
        uint8_t r[4];
        char hex[9];
        ll_random(r, sizeof r);
        ll_hex_encode(r, sizeof r, hex);
        snprintf(origin, sizeof origin, "loopledger/%s", hex);
        o->origin = origin;
    }
    ll_ledger_config_t lc = {.note_key = note_key, .actor_key = actor_key, .origin = o->origin,
                             .max_queue_entries = o->queue_entries,
                             .max_queue_bytes = o->queue_bytes,
                             .max_leaf = o->tiles ? LL_TILES_MAX_ENTRY : 0};
    /* Signals go to the main thread only: block them before any thread
     * (the ledger's writer starts in ll_ledger_open). */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    char fmsg[LL_MSG_MAX];
    uint32_t from = 0;
    if ((err = ll_format_prepare(st, ll_ledger_rebuild_derived, &from, fmsg, sizeof fmsg))) {
        ll_daemon_logf("%s: %s", o->data, fmsg);
        goto out;
    }
    if (from < LL_FORMAT_VERSION)
        ll_daemon_logf("%s: upgraded the data format from %u to %u", o->data, from,
                       LL_FORMAT_VERSION);
    if ((err = ll_ledger_open(st, &lc, &lg))) {
        ll_daemon_logf("opening ledger: %s", ll_strerror(err));
        goto out;
    }
    if (!strcmp(o->cmd, "verifier-key")) {
        char vkey[512];
        if ((err = ll_ledger_verifier_key(lg, vkey, sizeof vkey))) {
            ll_daemon_logf("verifier key: %s", ll_strerror(err));
            goto out;
        }
        printf("%s\n", vkey);
        rc = 0;
        goto out;
    }
    if (mirror) {
        ll_ledger_set_replica_of(lg, o->from);
        ll_mirror_config_t mc = {.from = o->from, .vkey = o->vkey, .data = o->data,
                                 .interval_ms = o->interval_ms, .log_fn = ll_daemon_log_line};
        char base[4200], why[1024] = "";
        if (ll_mirror_is_grpc(o->from))
            err = ll_mirror_grpc_source(o->from, o->from_ca, o->from_cert, o->from_key,
                                        ll_daemon_log_line, &mc.source, why, sizeof why);
        else if (o->from_ca || o->from_cert || o->from_key) {
            snprintf(why, sizeof why, "--from-tls-* are for a gRPC primary (grpc://HOST:PORT)");
            err = LL_ERR_INVALID;
        } else if (!(err = ll_mirror_tiles_source(o->from, &mc.source, base, sizeof base, why,
                                                  sizeof why)))
            mc.from = base;
        if (err) {
            ll_daemon_logf("%s", why[0] ? why : ll_strerror(err));
            rc = 2;
            goto out;
        }
        if ((err = ll_mirror_open(lg, &mc, &mir)))
            goto out;
        if (o->once) {
            /* For scripts: 0 caught up, 1 diverged (evidence written),
             * 3 source unreachable. */
            enum ll_mirror_state ms = ll_mirror_round(mir);
            rc = ms == LL_MIRROR_CAUGHT_UP ? 0 : ms == LL_MIRROR_DIVERGED ? 1 : 3;
            ll_daemon_logf("mirror --once: %s at %" PRIu64 " entries",
                           rc == 0 ? "caught up" : rc == 1 ? "DIVERGED" : "source unreachable",
                           ll_store_committed_size(st));
            goto out;
        }
    } else if (ll_store_committed_size(st) == 0) {
        uint8_t pub[LL_PUBKEY_LEN];
        ll_append_result_t res;
        if (!o->admin_pub) {
            ll_daemon_logf("%s holds no ledger yet: give --admin-pub FILE (the first admin's "
                           "public key)", o->data);
            goto out;
        }
        if ((err = ll_pubkey_load(o->admin_pub, pub))) {
            ll_daemon_logf("reading admin public key %s: %s", o->admin_pub, ll_strerror(err));
            goto out;
        }
        if ((err = ll_ledger_genesis(lg, o->admin_id, pub, &res))) {
            ll_daemon_logf("writing genesis: %s: %s", ll_strerror(err), res.msg);
            goto out;
        }
        ll_daemon_logf("created ledger %s with admin \"%s\"", ll_ledger_origin(lg), o->admin_id);
    }
    if (ll_ledger_damage(lg))
        ll_daemon_logf("REFUSING WRITES (reads continue): %s; run `loopledgerd verify --data %s`",
                       ll_ledger_damage(lg), o->data);
    grpc_server_credentials *creds = NULL;
    int tls = o->tls_cert || o->tls_key || o->tls_ca;
    if (tls && o->plaintext) {
        ll_daemon_logf("--plaintext and --tls-* exclude each other");
        goto out;
    }
    if (tls && make_tls_creds(o, &creds))
        goto out;
    /* Plaintext only when asked for, and only on loopback: an operator
     * who forgets the TLS options gets an error, not an open port. */
    if (!tls && strcmp(o->cmd, "verifier-key") && !o->plaintext) {
        ll_daemon_logf("no transport security configured: give --tls-cert, --tls-key and --tls-ca "
                       "(mTLS), or --plaintext for a loopback-only test server");
        goto out;
    }
    char bind_addr[300], why[400];
    if (!tls) {
        /* Bind the numeric address that was checked, not the name again. */
        if (ll_listen_loopback(o->listen, bind_addr, sizeof bind_addr, why, sizeof why)) {
            ll_daemon_logf("refusing to serve plaintext gRPC: %s (give --tls-* to serve "
                           "beyond loopback)",
                           why);
            goto out;
        }
        o->listen = bind_addr;
    }
    unsigned long nofile = 0;
    if (ll_listen_raise_nofile(&nofile))
        ll_daemon_logf("cannot raise the open-file limit: %s", strerror(errno));
    /* Connections must fit in the descriptors, with room left for the
     * data files, the HTTP face and clients being refused. */
    if (!o->max_conns && nofile > 512 && nofile - 256 < LL_ACCEPT_DEFAULT_TOTAL)
        o->max_conns = (unsigned)(nofile - 256);

    if (mirror && (err = ll_mirror_start(mir))) {
        ll_daemon_logf("mirror: %s", ll_strerror(err));
        goto out;
    }
    if (o->tiles &&
        (err = ll_publish_start(lg, o->tiles, o->nwitness > 0, ll_daemon_log_line, &pub))) {
        ll_daemon_logf("cannot publish tiles to %s: %s", o->tiles, ll_strerror(err));
        goto out;
    }
    /* With witnesses, the published checkpoint is each round's, with the
     * cosignatures (ll_publish.h, Witnessed checkpoints). */
    if (o->nwitness &&
        (err = ll_wsubmit_start(lg, o->witness, o->nwitness, ll_daemon_log_line,
                                pub ? publish_witnessed : NULL, pub, &wsub))) {
        ll_daemon_logf("cannot start witness submission: %s", ll_strerror(err));
        goto out;
    }
    if (!mirror && (err = ll_drift_open(lg, actor_key, &o->drift, &drift))) {
        ll_daemon_logf("drift detector: %s (check --drift-* options)", ll_strerror(err));
        goto out;
    }
    grpc_init();
    ll_rpc_authz_t authz = {.st = st, .tls = tls};
    ll_cp_source_t cosigs = {.lines = cosig_lines, .latest = cosig_latest, .ctx = wsub};
    ll_cp_source_t mirror_cps = {.checkpoint = ll_mirror_checkpoint, .ctx = mir};
    const ll_cp_source_t *cpsrc = mir ? &mirror_cps : wsub ? &cosigs : NULL;
    ll_server_config_t sc = {.listen = o->listen, .threads = o->threads,
                             .max_message = o->max_message, .creds = creds,
                             .authorize = ll_rpc_authorize, .authorize_ctx = &authz,
                             .identity = ll_rpc_identity, .identity_ctx = &authz,
                             .max_streams = o->max_streams, .max_calls = o->max_calls,
                             .handshake_timeout_ms = o->handshake_ms, .max_idle_ms = o->idle_ms,
                             .memory_quota = o->memory_quota,
                             .max_connections = o->max_conns,
                             .max_connections_per_address = o->max_conns_addr,
                             .receive_budget = o->receive_bytes};
    int port = 0;
    ll_ledger_set_cp_source(lg, cpsrc);
    if ((err = ll_server_create(&sc, &srv)) ||
        (err = ll_services_register(srv, lg, &svcs)) ||
        (err = ll_server_start(srv, &port))) {
        ll_daemon_logf("cannot serve on %s: %s", o->listen, ll_strerror(err));
        ll_server_destroy(srv);
        srv = NULL;
        ll_services_free(svcs);
        goto shutdown_grpc;
    }
    char vkey[512];
    ll_ledger_verifier_key(lg, vkey, sizeof vkey);
    ll_daemon_logf("open-file limit %lu", nofile);
    ll_daemon_logf("serving %s on port %d: %" PRIu64 " entries, verifier key %s",
                   ll_ledger_origin(lg), port, ll_store_committed_size(st), vkey);
    if (o->http && start_http(o, srv, lg, ll_services_ledger(svcs), &authz, &http, &metrics,
                             &console)) {
        ll_services_stop(svcs);
        ll_server_shutdown(srv, 1000);
        ll_server_destroy(srv);
        ll_services_free(svcs);
        goto shutdown_grpc;
    }
    if (o->port_file && write_port_file(o->port_file, port)) {
        ll_daemon_logf("cannot write port file %s: %s", o->port_file, strerror(errno));
    }

    int sig = 0;
    sigwait(&sigs, &sig);
    ll_daemon_logf("received %s: draining", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    /* HTTP first: its handlers call into the RPC server in-process. */
    ll_http_free(http);
    ll_metrics_free(metrics);
    ll_console_free(console);
    ll_services_stop(svcs);
    ll_server_shutdown(srv, 10000);
    ll_server_destroy(srv);
    ll_services_free(svcs);
    ll_daemon_logf("stopped cleanly at %" PRIu64 " entries", ll_store_committed_size(st));
    rc = 0;
shutdown_grpc:
    ll_mirror_close(mir);
    mir = NULL;
    ll_wsubmit_stop(wsub);
    wsub = NULL;
    ll_publish_stop(pub);
    pub = NULL;
    ll_drift_close(drift);
    drift = NULL;
    ll_ledger_close(lg);
    lg = NULL;
    grpc_shutdown();
out:
    ll_mirror_close(mir);
    ll_wsubmit_stop(wsub);
    ll_publish_stop(pub);
    ll_drift_close(drift);
    ll_ledger_close(lg);
    ll_store_close(st);
    ll_key_free(note_key);
    ll_key_free(actor_key);
    return rc;
}

int main(int argc, char **argv)
{
    ll_daemon_opts_t o;

    if (argc > 1 && (!strcmp(argv[1], "witness") || !strcmp(argv[1], "witness-key")))
        return ll_witness_cmd(argc - 1, argv + 1);

    if (ll_daemon_parse_opts(argc, argv, &o)) {
        ll_daemon_usage(stderr);
        return 2;
    }
    umask(077);
    if (!strcmp(o.cmd, "verify"))
        return ll_daemon_cmd_verify(&o);
    if (!strcmp(o.cmd, "backup"))
        return ll_daemon_cmd_backup(&o);
    if (!strcmp(o.cmd, "promote"))
        return ll_daemon_cmd_promote(&o);
    if (!strcmp(o.cmd, "serve") || !strcmp(o.cmd, "mirror") || !strcmp(o.cmd, "verifier-key"))
        return cmd_serve(&o);
    fprintf(stderr, "loopledgerd: unknown command %s\n", o.cmd);
    ll_daemon_usage(stderr);
    return 2;
}
