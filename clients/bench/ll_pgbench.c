/*
 * ll-pgbench: the same durable, verified, hash-chained append on
 * PostgreSQL, for ops/bench's comparison.
 *
 *   ll-pgbench --conninfo STR --key FILE --count N --concurrency C [--setup]
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
 * Output: one key=value line like ll-loadgen's.
 */
#include <inttypes.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static struct {
    const char *conninfo;
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
        else g.conninfo = NULL, i = argc;
    }
    if (!g.conninfo || (!setup && (!key_file || !g.count || conc < 1))) {
        fputs("usage: ll-pgbench --conninfo STR [--setup] --key FILE --count N --concurrency C\n",
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
    double t0 = ll_bench_now();
    for (int i = 0; i < conc; i++)
        pthread_create(&tids[i], NULL, worker, NULL);
    for (int i = 0; i < conc; i++)
        pthread_join(tids[i], NULL);
    double secs = ll_bench_now() - t0;
    uint64_t ops = g.ops, n = 0;
    for (uint64_t i = 0; i < g.count; i++)
        if (g.lat[i] > 0)
            g.lat[n++] = g.lat[i];
    qsort(g.lat, n, sizeof *g.lat, cmp_float);
    printf("mode=pg_append concurrency=%d ops=%" PRIu64 " errors=%" PRIu64
           " secs=%.3f rate=%.0f p50_ms=%.3f p99_ms=%.3f\n",
           conc, ops, (uint64_t)g.errors, secs, (double)ops / secs,
           n ? g.lat[n / 2] : 0.0, n ? g.lat[n * 99 / 100] : 0.0);
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
