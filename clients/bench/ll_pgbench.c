/*
 * ll-pgbench: the same durable, verified, hash-chained append on
 * PostgreSQL, for ops/bench's comparison.
 *
 *   ll-pgbench --conninfo STR --key FILE --count N --concurrency C [--setup]
 *   ll-pgbench --conninfo STR --select --duration SECS --concurrency C
 *
 * What a team would otherwise build: an application server that checks
 * each signed entry and inserts it into an append-only table whose rows
 * chain hashes. Per entry, exactly the work loopledgerd does before it
 * answers: decode and validate the envelope and compute its dedup key
 * (ll_entry_decode), verify the Ed25519 signature (ll_entry_verify; the
 * author's key is known, as a server's key cache would hold it), then one
 * autocommitted statement that takes the chain head row lock, sets
 * head.hash = sha256(head.hash || entry) and inserts the row with that hash
 * and a unique dedup key. synchronous_commit stays on, so an answer means
 * the WAL is flushed (PostgreSQL group-commits concurrent flushes).
 *
 * C threads each own a connection and keep one statement in flight, like C
 * concurrent callers. Entries are signed before the clock starts.
 *
 * --select reads back what the appends wrote: a prepared point SELECT of
 * one entry by sequence number (uniformly random among the rows), the
 * counterpart of GetEntry, for SECS seconds.
 *
 * Output: one key=value line like ll-loadgen's, with client_cpu_us_per_op
 * (this process: the application server's decode and verify, and libpq).
 */
#include <inttypes.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "ll_benchlib.h"
#include "ll_entry.h"
#include "ll_err.h"

static const char *const setup_sql =
    "CREATE TABLE IF NOT EXISTS ledger_head (id int PRIMARY KEY, seq bigint NOT NULL,"
    " hash bytea NOT NULL);"
    "INSERT INTO ledger_head VALUES (1, -1, decode(repeat('00', 32), 'hex'))"
    " ON CONFLICT DO NOTHING;"
    "CREATE TABLE IF NOT EXISTS ledger_entries (seq bigint PRIMARY KEY,"
    " dedup bytea NOT NULL UNIQUE, entry bytea NOT NULL, hash bytea NOT NULL,"
    " created timestamptz NOT NULL DEFAULT now());"
    "REVOKE UPDATE, DELETE, TRUNCATE ON ledger_entries FROM PUBLIC;";

static const char *const append_sql =
    "WITH h AS (UPDATE ledger_head SET seq = seq + 1, hash = sha256(hash || $2)"
    " WHERE id = 1 RETURNING seq, hash)"
    " INSERT INTO ledger_entries (seq, dedup, entry, hash) SELECT seq, $1, $2, hash FROM h"
    " RETURNING seq";

static const char *const select_sql = "SELECT entry FROM ledger_entries WHERE seq = $1";

static struct {
    const char *conninfo;
    int select; /* --select: point reads for secs seconds */
    double secs;
    uint64_t rows; /* --select: seq is drawn from [0, rows) */
    uint64_t lat_cap;
    uint64_t count;
    uint8_t **env;
    size_t *env_len;
    uint8_t pub[LL_PUBKEY_LEN];
    _Atomic uint64_t next, ops, errors;
    float *lat;
    char first_error[256];
    pthread_mutex_t lock;
} g;

static void die(const char *msg)
{
    fprintf(stderr, "ll-pgbench: %s\n", msg);
    exit(1);
}

static void note_error(const char *msg)
{
    pthread_mutex_lock(&g.lock);
    if (!g.first_error[0])
        snprintf(g.first_error, sizeof g.first_error, "%s", msg);
    pthread_mutex_unlock(&g.lock);
    atomic_fetch_add(&g.errors, 1);
}

static void *worker(void *arg)
{
    (void)arg;
    PGconn *c = PQconnectdb(g.conninfo);
    if (PQstatus(c) != CONNECTION_OK)
        die(PQerrorMessage(c));
    PGresult *r = PQprepare(c, "append", append_sql, 2, NULL);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        die(PQresultErrorMessage(r));
    PQclear(r);
    for (;;) {
        uint64_t i = atomic_fetch_add(&g.next, 1);
        if (i >= g.count)
            break;
        double t0 = ll_bench_now();
        ll_entry_t e;
        char msg[256];
        if (ll_entry_decode(g.env[i], g.env_len[i], &e, msg, sizeof msg)) {
            note_error(msg);
            continue;
        }
        if (ll_entry_verify(&e, g.pub)) {
            ll_entry_free(&e);
            note_error("signature does not verify");
            continue;
        }
        const char *vals[2] = {(const char *)e.dedup, (const char *)g.env[i]};
        int lens[2] = {LL_HASH_LEN, (int)g.env_len[i]}, fmts[2] = {1, 1};
        r = PQexecPrepared(c, "append", 2, vals, lens, fmts, 1);
        if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
            note_error(PQresultErrorMessage(r));
        PQclear(r);
        ll_entry_free(&e);
        g.lat[i] = (float)((ll_bench_now() - t0) * 1e3);
        atomic_fetch_add(&g.ops, 1);
    }
    PQfinish(c);
    return NULL;
}

/* --select: random point reads by seq until g.secs have passed. */
static void *select_worker(void *arg)
{
    uint64_t rng = 0x9e3779b97f4a7c15ull ^ (uint64_t)(uintptr_t)arg;
    PGconn *c = PQconnectdb(g.conninfo);
    if (PQstatus(c) != CONNECTION_OK)
        die(PQerrorMessage(c));
    PGresult *r = PQprepare(c, "get", select_sql, 1, NULL);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        die(PQresultErrorMessage(r));
    PQclear(r);
    double start = ll_bench_now();
    for (;;) {
        double t0 = ll_bench_now();
        if (t0 - start >= g.secs)
            break;
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        char seq[24];
        snprintf(seq, sizeof seq, "%" PRIu64, rng % g.rows);
        const char *vals[1] = {seq};
        r = PQexecPrepared(c, "get", 1, vals, NULL, NULL, 1);
        if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
            note_error(PQresultErrorMessage(r));
        PQclear(r);
        uint64_t i = atomic_fetch_add(&g.ops, 1);
        if (i < g.lat_cap)
            g.lat[i] = (float)((ll_bench_now() - t0) * 1e3);
    }
    PQfinish(c);
    return NULL;
}

static uint64_t count_rows(void)
{
    PGconn *c = PQconnectdb(g.conninfo);
    if (PQstatus(c) != CONNECTION_OK)
        die(PQerrorMessage(c));
    PGresult *r = PQexec(c, "SELECT count(*) FROM ledger_entries");
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
        die(PQresultErrorMessage(r));
    uint64_t n = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    PQfinish(c);
    return n;
}

static double process_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    const char *key_file = NULL;
    int conc = 1, setup = 0;
    ll_key_t *key;

    pthread_mutex_init(&g.lock, NULL);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--setup")) setup = 1;
        else if (!strcmp(a, "--conninfo") && v) g.conninfo = argv[++i];
        else if (!strcmp(a, "--key") && v) key_file = argv[++i];
        else if (!strcmp(a, "--count") && v) g.count = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(a, "--concurrency") && v) conc = atoi(argv[++i]);
        else if (!strcmp(a, "--select")) g.select = 1;
        else if (!strcmp(a, "--duration") && v) g.secs = atof(argv[++i]);
        else g.conninfo = NULL, i = argc;
    }
    if (g.conninfo && g.select && g.secs > 0 && conc >= 1) {
        if (!(g.rows = count_rows()))
            die("--select needs rows: run the appends first");
        g.lat_cap = 1u << 22;
        if (!(g.lat = calloc(g.lat_cap, sizeof *g.lat)))
            die("out of memory");
        pthread_t *st = calloc((size_t)conc, sizeof *st);
        double c0 = process_cpu(), t0 = ll_bench_now();
        for (int i = 0; i < conc; i++)
            pthread_create(&st[i], NULL, select_worker, (void *)(uintptr_t)(i + 1));
        for (int i = 0; i < conc; i++)
            pthread_join(st[i], NULL);
        double secs = ll_bench_now() - t0, cpu = process_cpu() - c0;
        uint64_t ops = g.ops, n = ops < g.lat_cap ? ops : g.lat_cap;
        qsort(g.lat, n, sizeof *g.lat, cmp_float);
        printf("mode=pg_select concurrency=%d ops=%" PRIu64 " errors=%" PRIu64
               " secs=%.3f rate=%.0f p50_ms=%.3f p99_ms=%.3f rows=%" PRIu64
               " client_cpu_us_per_op=%.1f\n",
               conc, ops, (uint64_t)g.errors, secs, (double)ops / secs,
               n ? g.lat[n / 2] : 0.0, n ? g.lat[n * 99 / 100] : 0.0, g.rows,
               ops ? cpu * 1e6 / (double)ops : 0.0);
        if (g.errors)
            fprintf(stderr, "ll-pgbench: first error: %s\n", g.first_error);
        free(g.lat);
        free(st);
        return g.errors ? 1 : 0;
    }
    if (!g.conninfo || (!setup && (!key_file || !g.count || conc < 1))) {
        fputs("usage: ll-pgbench --conninfo STR [--setup] --key FILE --count N --concurrency C\n"
              "       ll-pgbench --conninfo STR --select --duration SECS --concurrency C\n",
              stderr);
        return 2;
    }
    if (setup) {
        PGconn *c = PQconnectdb(g.conninfo);
        if (PQstatus(c) != CONNECTION_OK)
            die(PQerrorMessage(c));
        PGresult *r = PQexec(c, setup_sql);
        if (PQresultStatus(r) != PGRES_COMMAND_OK)
            die(PQresultErrorMessage(r));
        PQclear(r);
        PQfinish(c);
        if (!key_file)
            return 0;
    }
    if (ll_key_load(key_file, &key))
        die("cannot load --key");
    ll_key_public(key, g.pub);
    g.env = calloc(g.count, sizeof *g.env);
    g.env_len = calloc(g.count, sizeof *g.env_len);
    g.lat = calloc(g.count, sizeof *g.lat);
    if (!g.env || !g.env_len || !g.lat)
        die("out of memory");
    for (uint64_t i = 0; i < g.count; i++)
        if (ll_bench_entry(key, "admin", i, i ? i - 1 : LL_BENCH_NO_LINK, &g.env[i],
                           &g.env_len[i]))
            die("signing failed");
    ll_key_free(key);

    pthread_t *tids = calloc((size_t)conc, sizeof *tids);
    double c0 = process_cpu(), t0 = ll_bench_now();
    for (int i = 0; i < conc; i++)
        pthread_create(&tids[i], NULL, worker, NULL);
    for (int i = 0; i < conc; i++)
        pthread_join(tids[i], NULL);
    double secs = ll_bench_now() - t0, cpu = process_cpu() - c0;
    uint64_t ops = g.ops, n = 0;
    for (uint64_t i = 0; i < g.count; i++)
        if (g.lat[i] > 0)
            g.lat[n++] = g.lat[i];
    qsort(g.lat, n, sizeof *g.lat, cmp_float);
    printf("mode=pg_append concurrency=%d ops=%" PRIu64 " errors=%" PRIu64
           " secs=%.3f rate=%.0f p50_ms=%.3f p99_ms=%.3f client_cpu_us_per_op=%.1f\n",
           conc, ops, (uint64_t)g.errors, secs, (double)ops / secs,
           n ? g.lat[n / 2] : 0.0, n ? g.lat[n * 99 / 100] : 0.0,
           ops ? cpu * 1e6 / (double)ops : 0.0);
    if (g.errors)
        fprintf(stderr, "ll-pgbench: first error: %s\n", g.first_error);
    for (uint64_t i = 0; i < g.count; i++)
        free(g.env[i]);
    free(g.env);
    free(g.env_len);
    free(g.lat);
    free(tids);
    return g.errors ? 1 : 0;
}
