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
 * anything is wrong. backup
 * copies a (possibly live) ledger with compaction, plus its keys, into a
 * new directory that `serve --data` accepts as is. Both work beside a
 * running server: LMDB coordinates processes through its lock file.
 *
 * The options, their parser and the usage text are in ll_daemon_opts.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <openssl/crypto.h>

#include "ll_audit.h"
#include "ll_format.h"
#include "ll_crypto.h"
#include "ll_fsio.h"
#include "ll_drift.h"
#include "ll_console.h"
#include "ll_daemon_opts.h"
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

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
    char ts[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    fprintf(stderr, "%s loopledgerd: ", ts);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void log_line(const char *msg)
{
    logf_("%s", msg);
}

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
        logf_("cannot read %s: %s", path, strerror(errno));
        goto out;
    }
    if (secret && (sb.st_mode & 077)) {
        logf_("%s is readable by group or others (mode %03o): chmod 600 it", path,
              (unsigned)(sb.st_mode & 0777));
        goto out;
    }
    if (sb.st_size <= 0 || sb.st_size > (1 << 20) || !(buf = calloc(1, (size_t)sb.st_size + 1)) ||
        fread(buf, 1, (size_t)sb.st_size, f) != (size_t)sb.st_size) {
        logf_("cannot read %s", path);
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
        logf_("mTLS needs all of --tls-cert, --tls-key and --tls-ca");
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
        logf_("cannot build TLS credentials from %s, %s, %s", o->tls_cert, o->tls_key, o->tls_ca);
out:
    if (key) {
        OPENSSL_cleanse(key, strlen(key));
        free(key);
    }
    free(cert);
    free(ca);
    return rc;
}

/* A server's secret key file must be readable by its owner only, as the
 * TLS key is: anyone who reads note.key can sign checkpoints in the
 * server's name, and actor.key signs entries as the server actor. Returns
 * LL_ERR_PERMISSION (logged, with the command that fixes it) otherwise;
 * LL_OK when the file is private or does not exist. */
static int key_file_private(const char *path)
{
    struct stat sb;
    if (stat(path, &sb))
        return LL_OK; /* missing: the caller creates it 0600, or fails reading it */
    if (sb.st_mode & 077) {
        logf_("%s is readable by group or others (mode %03o); refusing to use it. "
              "Fix: chmod 600 %s",
              path, (unsigned)(sb.st_mode & 0777), path);
        return LL_ERR_PERMISSION;
    }
    return LL_OK;
}

/* Loads dir/name, creating it (0600) on first start. */
static int load_or_make_key(const char *dir, const char *name, ll_key_t **out)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int err = key_file_private(path);
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
    logf_("created server key %s", path);
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

static int has_ledger(const char *dir)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/data.mdb", dir);
    if (access(p, F_OK)) {
        logf_("%s holds no ledger", dir);
        return 0;
    }
    return 1;
}

/* loopledgerd verify: exit 0 intact, 1 damaged, 2 could not audit. */
/* The derived-table check of cmd_verify, fed by the audit's own reading
 * of the leaves (ll_audit_visitor_t), so it costs no second decode and runs
 * while the audit's workers verify signatures. */
typedef struct verify_derive {
    ll_derive_run_t *run;
    int stopped;            /* the replay refused an entry or failed */
    int ended;              /* rep and err are set */
    int err;
    ll_derive_report_t rep;
} verify_derive_t;

static int verify_derive_entry(void *ctx, uint64_t seq, int64_t t, const ll_entry_t *e)
{
    verify_derive_t *vd = ctx;
    if (ll_derive_feed(vd->run, seq, t, e) != LL_OK)
        vd->stopped = 1;
    return vd->stopped;
}

static void verify_derive_done(void *ctx, ll_txn_t *txn, int visited_all)
{
    verify_derive_t *vd = ctx;
    if (!visited_all && !vd->stopped)
        return; /* the audit found damage: its finding is the report */
    vd->err = ll_derive_end(vd->run, txn, &vd->rep);
    vd->run = NULL;
    vd->ended = 1;
}

static int cmd_verify(const ll_daemon_opts_t *o)
{
    char path[4096];
    ll_key_t *note_key = NULL;
    ll_store_t *st = NULL;
    ll_audit_report_t rep;
    uint8_t pub[LL_PUBKEY_LEN];
    int rc = 2, err;
    if (!has_ledger(o->data))
        return 2;
    snprintf(path, sizeof path, "%s/note.key", o->data);
    if ((err = key_file_private(path)) || (err = ll_key_load(path, &note_key))) {
        logf_("reading the checkpoint key %s: %s", path, ll_strerror(err));
        goto out;
    }
    ll_key_public(note_key, pub);
    if ((err = ll_store_open(o->data, NULL, &st))) {
        logf_("opening store %s: %s (%s)", o->data, ll_strerror(err), ll_store_last_error());
        goto out;
    }
    char fmsg[LL_MSG_MAX];
    if ((err = ll_format_check(st, fmsg, sizeof fmsg))) {
        logf_("%s: %s", o->data, fmsg);
        goto out;
    }
    /* The scratch of the derived-table check opens first, so that its
     * replay can ride along the audit; if it cannot, the audit still
     * runs and its report stands. */
    verify_derive_t vd = {0};
    int derr = ll_derive_begin(ll_ledger_replay_entry, &vd.run);
    ll_audit_visitor_t visit = {verify_derive_entry, verify_derive_done, &vd};
    err = ll_audit_run_visit(st, pub, o->threads, derr ? NULL : &visit, &rep);
    ll_derive_abandon(vd.run);
    if (err) {
        logf_("audit could not run: %s (%s)", ll_strerror(err), ll_store_last_error());
        goto out;
    }
    printf("entries %" PRIu64 " (%" PRIu64 " bytes), signatures verified %" PRIu64
           ", tree nodes checked %" PRIu64 ", signed checkpoint size %" PRIu64 ", %.2f s\n",
           rep.size, rep.leaf_bytes, rep.signatures, rep.nodes, rep.cp_size, rep.seconds);
    if (!rep.damaged) {
        /* The leaves are sound: now what was derived from them. */
        ll_derive_report_t d = vd.rep;
        if ((err = derr ? derr : vd.ended ? vd.err : LL_ERR_INVALID)) {
            logf_("derived-table check could not run: %s (%s)", ll_strerror(err),
                  ll_store_last_error());
            goto out;
        }
        printf("derived tables: %" PRIu64 " entries replayed, records compared:", d.replayed);
        for (int t = 0; t < LL_TBL__COUNT; t++)
            printf(" %s %" PRIu64 "%s", ll_derive_table_name((enum ll_table)t), d.records[t],
                   d.diffs[t] ? " (DIFFERS)" : "");
        printf(", %.2f s\n", d.seconds);
        if (d.old_format)
            printf("note: data format %u (current %u): the index records predate this "
                   "format and were not compared; `loopledgerd serve` rebuilds them from the "
                   "leaves in place\n", d.old_format, LL_FORMAT_VERSION);
        if (!d.damaged) {
            printf("OK: every entry, signature and tree node verifies, and every derived table "
                   "matches the entries\n");
            rc = 0;
        } else if (d.bad_seq != LL_DERIVE_NO_SEQ) {
            printf("DAMAGED: first damaged entry #%" PRIu64 ": %s\n", d.bad_seq, d.what);
            rc = 1;
        } else {
            printf("DAMAGED: a derived table differs from the entries: %s\n", d.what);
            rc = 1;
        }
    } else if (rep.first_bad_seq != LL_AUDIT_NO_SEQ) {
        printf("DAMAGED: first damaged entry #%" PRIu64 ": %s\n", rep.first_bad_seq, rep.what);
        rc = 1;
    } else {
        printf("DAMAGED: %s\n", rep.what);
        rc = 1;
    }
out:
    ll_store_close(st);
    ll_key_free(note_key);
    return rc;
}

/* loopledgerd backup: a consistent, compacted copy while the server runs
 * (LMDB's copy reads one snapshot), plus the keys that make it a ledger. */
static int cmd_backup(const ll_daemon_opts_t *o)
{
    ll_store_t *st = NULL;
    struct timespec t0, t1;
    struct stat sb;
    char a[4096], b[4096];
    int rc = 1, err;
    if (!o->to) {
        logf_("backup needs --to NEWDIR");
        return 2;
    }
    if (!has_ledger(o->data))
        return 1;
    if (mkdir(o->to, 0700)) {
        logf_("cannot create %s: %s (it must not exist yet)", o->to, strerror(errno));
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if ((err = ll_store_open(o->data, NULL, &st))) {
        logf_("opening store %s: %s (%s)", o->data, ll_strerror(err), ll_store_last_error());
        goto out;
    }
    uint64_t size = ll_store_committed_size(st);
    if ((err = ll_store_backup(st, o->to))) {
        logf_("backup to %s: %s (%s)", o->to, ll_strerror(err), ll_store_last_error());
        goto out;
    }
    for (int i = 0; i < 2; i++) {
        const char *k = i ? "actor.key" : "note.key";
        snprintf(a, sizeof a, "%s/%s", o->data, k);
        snprintf(b, sizeof b, "%s/%s", o->to, k);
        if (ll_fsio_copy_file(a, b)) {
            logf_("copying %s: %s", a, strerror(errno));
            goto out;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    snprintf(b, sizeof b, "%s/data.mdb", o->to);
    stat(b, &sb);
    printf("backup of %s: at least %" PRIu64 " entries, data.mdb %lld bytes, %.2f s -> %s\n",
           o->data, size, (long long)sb.st_size,
           (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9, o->to);
    rc = 0;
out:
    ll_store_close(st);
    return rc;
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
        logf_("http: %s", msg[0] ? msg : ll_strerror(err));
        return -1;
    }
    if ((err = ll_gateway_register(*http, srv)) ||
        (err = ll_metrics_register(*http, srv, lg, lsvc, metrics)) ||
        (err = ll_console_register(*http, srv, lg, o->http_assets, console)) ||
        (err = add_tiles(*http, o->tiles)) || (err = ll_http_start(*http, &port))) {
        logf_("cannot serve HTTP on %s: %s", o->http, ll_strerror(err));
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
        logf_("HTTP on port %d: console at %s://%.*s:%d/console/", port,
              ll_http_tls(*http) ? "https" : "http", (int)(colon - o->http), o->http, port);
    }
    if (o->http_port_file && write_port_file(o->http_port_file, port))
        logf_("cannot write port file %s: %s", o->http_port_file, strerror(errno));
    return 0;
}

/* loopledgerd promote: a mirror's directory becomes a primary's. With the
 * primary's keys (kept off-site), clients' pinned verifier key and their
 * remembered checkpoints keep working; without, the directory keeps the
 * mirror's own keys and clients must pin the new verifier key. */
static int cmd_promote(const ll_daemon_opts_t *o)
{
    ll_store_t *st = NULL;
    char p[4096];
    int err;
    if (!has_ledger(o->data))
        return 1;
    if ((err = ll_store_open(o->data, NULL, &st))) {
        logf_("opening store %s: %s (%s)", o->data, ll_strerror(err), ll_store_last_error());
        return 1;
    }
    uint64_t size = ll_store_committed_size(st);
    ll_store_close(st);
    if ((err = ll_mirror_promote(o->data, size, o->force, log_line)))
        return 1;
    for (int i = 0; i < 2; i++) {
        const char *src = i ? o->actor_key : o->note_key;
        if (!src)
            continue;
        ll_key_t *k = NULL;
        if ((err = ll_key_load(src, &k))) {
            logf_("promote: %s is not a readable key: %s", src, ll_strerror(err));
            return 1;
        }
        ll_key_free(k);
        snprintf(p, sizeof p, "%s/%s", o->data, i ? "actor.key" : "note.key");
        unlink(p);
        if (ll_fsio_copy_file(src, p)) {
            logf_("promote: installing %s as %s: %s", src, p, strerror(errno));
            return 1;
        }
    }
    printf("promoted %s: serve it with `loopledgerd serve --data %s`\n", o->data, o->data);
    return 0;
}

int main(int argc, char **argv)
{
    ll_daemon_opts_t o;
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

    if (argc > 1 && (!strcmp(argv[1], "witness") || !strcmp(argv[1], "witness-key")))
        return ll_witness_cmd(argc - 1, argv + 1);

    if (ll_daemon_parse_opts(argc, argv, &o)) {
        ll_daemon_usage(stderr);
        return 2;
    }
    umask(077);
    if (!strcmp(o.cmd, "verify"))
        return cmd_verify(&o);
    if (!strcmp(o.cmd, "backup"))
        return cmd_backup(&o);
    if (!strcmp(o.cmd, "promote"))
        return cmd_promote(&o);
    int mirror = !strcmp(o.cmd, "mirror");
    if (mirror) {
        char name[LL_NOTE_MAX_NAME + 1];
        uint8_t pk[LL_PUBKEY_LEN];
        if (!o.from || !o.vkey || ll_note_parse_verifier_key(o.vkey, name, sizeof name, pk)) {
            logf_("mirror needs --from TILES-URL|DIR|grpc://HOST:PORT and --vkey (the "
                  "primary's verifier key)");
            return 2;
        }
        if (o.tiles || o.nwitness || o.admin_pub) {
            logf_("a mirror neither publishes, submits to witnesses nor creates a ledger");
            return 2;
        }
        snprintf(mirror_origin, sizeof mirror_origin, "%s", name);
        o.origin = mirror_origin;
    } else if (!strcmp(o.cmd, "serve") && ll_mirror_is_mirror_dir(o.data)) {
        logf_("%s is a mirror's data directory: serve it with `loopledgerd mirror`, or make it "
              "a primary with `loopledgerd promote --data %s`", o.data, o.data);
        return 1;
    }
    if (strcmp(o.cmd, "serve") && strcmp(o.cmd, "verifier-key") && !mirror) {
        fprintf(stderr, "loopledgerd: unknown command %s\n", o.cmd);
        ll_daemon_usage(stderr);
        return 2;
    }
    if (!strcmp(o.cmd, "verifier-key")) {
        /* Reading the key must never create a ledger (with a random origin)
         * behind the operator's back. */
        char p[4096];
        snprintf(p, sizeof p, "%s/data.mdb", o.data);
        if (access(p, F_OK)) {
            logf_("%s holds no ledger yet; start the server once to create it", o.data);
            return 1;
        }
    }
    if (mkdirs(o.data)) {
        logf_("cannot create %s: %s", o.data, strerror(errno));
        return 1;
    }
    if ((err = load_or_make_key(o.data, "note.key", &note_key)) ||
        (err = load_or_make_key(o.data, "actor.key", &actor_key))) {
        logf_("server keys in %s: %s", o.data, ll_strerror(err));
        goto out;
    }
    /* The server writes through the write-ahead log (ll_store.h,
     * Durability); printing the verifier key must work beside a running
     * server, so it opens the store plainly. */
    ll_store_config_t stc = {.map_size = o.map_size, .map_max = o.map_max,
                             .wal = strcmp(o.cmd, "verifier-key") != 0, .sync_ms = o.sync_ms};
    if ((err = ll_store_open(o.data, &stc, &st))) {
        logf_("opening store %s: %s (%s)", o.data, ll_strerror(err), ll_store_last_error());
        goto out;
    }
    {
        const ll_wal_rec_t *pend;
        size_t npend = ll_store_pending(st, &pend);
        if (ll_store_open_note(st)[0])
            logf_("%s", ll_store_open_note(st));
        if (npend)
            logf_("write-ahead log: %zu acknowledged entries (#%llu..#%llu) past the synced "
                  "state, replayed and verified before serving",
                  npend, (unsigned long long)pend[0].seq,
                  (unsigned long long)pend[npend - 1].seq);
    }
    char origin[64];
    if (!o.origin) {
        uint8_t r[4];
        char hex[9];
        ll_random(r, sizeof r);
        ll_hex_encode(r, sizeof r, hex);
        snprintf(origin, sizeof origin, "loopledger/%s", hex);
        o.origin = origin;
    }
    ll_ledger_config_t lc = {.note_key = note_key, .actor_key = actor_key, .origin = o.origin,
                             .max_queue_entries = o.queue_entries,
                             .max_queue_bytes = o.queue_bytes,
                             .max_leaf = o.tiles ? LL_TILES_MAX_ENTRY : 0};
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
        logf_("%s: %s", o.data, fmsg);
        goto out;
    }
    if (from < LL_FORMAT_VERSION)
        logf_("%s: upgraded the data format from %u to %u", o.data, from, LL_FORMAT_VERSION);
    if ((err = ll_ledger_open(st, &lc, &lg))) {
        logf_("opening ledger: %s", ll_strerror(err));
        goto out;
    }
    if (!strcmp(o.cmd, "verifier-key")) {
        char vkey[512];
        if ((err = ll_ledger_verifier_key(lg, vkey, sizeof vkey))) {
            logf_("verifier key: %s", ll_strerror(err));
            goto out;
        }
        printf("%s\n", vkey);
        rc = 0;
        goto out;
    }
    if (mirror) {
        ll_ledger_set_replica_of(lg, o.from);
        ll_mirror_config_t mc = {.from = o.from, .vkey = o.vkey, .data = o.data,
                                 .interval_ms = o.interval_ms, .log_fn = log_line};
        char base[4200], why[1024] = "";
        if (ll_mirror_is_grpc(o.from))
            err = ll_mirror_grpc_source(o.from, o.from_ca, o.from_cert, o.from_key, log_line,
                                        &mc.source, why, sizeof why);
        else if (o.from_ca || o.from_cert || o.from_key) {
            snprintf(why, sizeof why, "--from-tls-* are for a gRPC primary (grpc://HOST:PORT)");
            err = LL_ERR_INVALID;
        } else if (!(err = ll_mirror_tiles_source(o.from, &mc.source, base, sizeof base, why,
                                                  sizeof why)))
            mc.from = base;
        if (err) {
            logf_("%s", why[0] ? why : ll_strerror(err));
            rc = 2;
            goto out;
        }
        if ((err = ll_mirror_open(lg, &mc, &mir)))
            goto out;
        if (o.once) {
            /* For scripts: 0 caught up, 1 diverged (evidence written),
             * 3 source unreachable. */
            enum ll_mirror_state ms = ll_mirror_round(mir);
            rc = ms == LL_MIRROR_CAUGHT_UP ? 0 : ms == LL_MIRROR_DIVERGED ? 1 : 3;
            logf_("mirror --once: %s at %" PRIu64 " entries",
                  rc == 0 ? "caught up" : rc == 1 ? "DIVERGED" : "source unreachable",
                  ll_store_committed_size(st));
            goto out;
        }
    } else if (ll_store_committed_size(st) == 0) {
        uint8_t pub[LL_PUBKEY_LEN];
        ll_append_result_t res;
        if (!o.admin_pub) {
            logf_("%s holds no ledger yet: give --admin-pub FILE (the first admin's public key)",
                  o.data);
            goto out;
        }
        if ((err = ll_pubkey_load(o.admin_pub, pub))) {
            logf_("reading admin public key %s: %s", o.admin_pub, ll_strerror(err));
            goto out;
        }
        if ((err = ll_ledger_genesis(lg, o.admin_id, pub, &res))) {
            logf_("writing genesis: %s: %s", ll_strerror(err), res.msg);
            goto out;
        }
        logf_("created ledger %s with admin \"%s\"", ll_ledger_origin(lg), o.admin_id);
    }
    if (ll_ledger_damage(lg))
        logf_("REFUSING WRITES (reads continue): %s; run `loopledgerd verify --data %s`",
              ll_ledger_damage(lg), o.data);
    grpc_server_credentials *creds = NULL;
    int tls = o.tls_cert || o.tls_key || o.tls_ca;
    if (tls && o.plaintext) {
        logf_("--plaintext and --tls-* exclude each other");
        goto out;
    }
    if (tls && make_tls_creds(&o, &creds))
        goto out;
    /* Plaintext only when asked for, and only on loopback: an operator
     * who forgets the TLS options gets an error, not an open port. */
    if (!tls && strcmp(o.cmd, "verifier-key") && !o.plaintext) {
        logf_("no transport security configured: give --tls-cert, --tls-key and --tls-ca "
              "(mTLS), or --plaintext for a loopback-only test server");
        goto out;
    }
    char bind_addr[300], why[400];
    if (!tls) {
        /* Bind the numeric address that was checked, not the name again. */
        if (ll_listen_loopback(o.listen, bind_addr, sizeof bind_addr, why, sizeof why)) {
            logf_("refusing to serve plaintext gRPC: %s (give --tls-* to serve beyond loopback)",
                  why);
            goto out;
        }
        o.listen = bind_addr;
    }
    unsigned long nofile = 0;
    if (ll_listen_raise_nofile(&nofile))
        logf_("cannot raise the open-file limit: %s", strerror(errno));
    /* Connections must fit in the descriptors, with room left for the
     * data files, the HTTP face and clients being refused. */
    if (!o.max_conns && nofile > 512 && nofile - 256 < LL_ACCEPT_DEFAULT_TOTAL)
        o.max_conns = (unsigned)(nofile - 256);

    if (mirror && (err = ll_mirror_start(mir))) {
        logf_("mirror: %s", ll_strerror(err));
        goto out;
    }
    if (o.tiles && (err = ll_publish_start(lg, o.tiles, o.nwitness > 0, log_line, &pub))) {
        logf_("cannot publish tiles to %s: %s", o.tiles, ll_strerror(err));
        goto out;
    }
    /* With witnesses, the published checkpoint is each round's, with the
     * cosignatures (ll_publish.h, Witnessed checkpoints). */
    if (o.nwitness &&
        (err = ll_wsubmit_start(lg, o.witness, o.nwitness, log_line,
                                pub ? publish_witnessed : NULL, pub, &wsub))) {
        logf_("cannot start witness submission: %s", ll_strerror(err));
        goto out;
    }
    if (!mirror && (err = ll_drift_open(lg, actor_key, &o.drift, &drift))) {
        logf_("drift detector: %s (check --drift-* options)", ll_strerror(err));
        goto out;
    }
    grpc_init();
    ll_rpc_authz_t authz = {.st = st, .tls = tls};
    ll_cp_source_t cosigs = {.lines = cosig_lines, .latest = cosig_latest, .ctx = wsub};
    ll_cp_source_t mirror_cps = {.checkpoint = ll_mirror_checkpoint, .ctx = mir};
    const ll_cp_source_t *cpsrc = mir ? &mirror_cps : wsub ? &cosigs : NULL;
    ll_server_config_t sc = {.listen = o.listen, .threads = o.threads,
                             .max_message = o.max_message, .creds = creds,
                             .authorize = ll_rpc_authorize, .authorize_ctx = &authz,
                             .identity = ll_rpc_identity, .identity_ctx = &authz,
                             .max_streams = o.max_streams, .max_calls = o.max_calls,
                             .handshake_timeout_ms = o.handshake_ms, .max_idle_ms = o.idle_ms,
                             .memory_quota = o.memory_quota,
                             .max_connections = o.max_conns,
                             .max_connections_per_address = o.max_conns_addr,
                             .receive_budget = o.receive_bytes};
    int port = 0;
    ll_ledger_set_cp_source(lg, cpsrc);
    if ((err = ll_server_create(&sc, &srv)) ||
        (err = ll_services_register(srv, lg, &svcs)) ||
        (err = ll_server_start(srv, &port))) {
        logf_("cannot serve on %s: %s", o.listen, ll_strerror(err));
        ll_server_destroy(srv);
        srv = NULL;
        ll_services_free(svcs);
        goto shutdown_grpc;
    }
    char vkey[512];
    ll_ledger_verifier_key(lg, vkey, sizeof vkey);
    logf_("open-file limit %lu", nofile);
    logf_("serving %s on port %d: %" PRIu64 " entries, verifier key %s", ll_ledger_origin(lg),
          port, ll_store_committed_size(st), vkey);
    if (o.http && start_http(&o, srv, lg, ll_services_ledger(svcs), &authz, &http, &metrics,
                             &console)) {
        ll_services_stop(svcs);
        ll_server_shutdown(srv, 1000);
        ll_server_destroy(srv);
        ll_services_free(svcs);
        goto shutdown_grpc;
    }
    if (o.port_file && write_port_file(o.port_file, port)) {
        logf_("cannot write port file %s: %s", o.port_file, strerror(errno));
    }

    int sig = 0;
    sigwait(&sigs, &sig);
    logf_("received %s: draining", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    /* HTTP first: its handlers call into the RPC server in-process. */
    ll_http_free(http);
    ll_metrics_free(metrics);
    ll_console_free(console);
    ll_services_stop(svcs);
    ll_server_shutdown(srv, 10000);
    ll_server_destroy(srv);
    ll_services_free(svcs);
    logf_("stopped cleanly at %" PRIu64 " entries", ll_store_committed_size(st));
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
