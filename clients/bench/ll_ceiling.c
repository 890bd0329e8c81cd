/*
 * ll-ceiling: this machine's own ceilings, measured in the benchmark run
 * they are compared with.
 *
 *   ll-ceiling verify [--secs S] [--threads N]
 *       Ed25519 verifications per second of a real entry's DSSE PAE with
 *       ll_ed25519_verify (the server's own call): one core alone, then N
 *       threads (default: every core) at once; and the CPU time per
 *       verification (cpu_us), which a loaded machine disturbs far less.
 *   ll-ceiling lmdb --dir DIR [--batch B] [--secs S] [--wal 1]
 *       durable batched commits through ll_store (one write transaction, a
 *       child transaction per entry holding the leaf, its Merkle nodes, a
 *       dedup key and an index key, one durable commit per batch), on the
 *       disk holding DIR: LMDB's own durable commit (two syncs), or with
 *       --wal 1 the server's (the leaves synced in the write-ahead log,
 *       LMDB committed without a sync and synced in the background).
 *
 * Why a separate tool: a ratio is only meaningful against a ceiling taken
 * on the same machine, the same disk and under the same noise, so ops/bench
 * runs this right before the figures it divides.
 *
 * Output: one line of key=value pairs per measurement.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ll_benchlib.h"
#include "ll_dsse.h"
#include "ll_entry.h"
#include "ll_err.h"
#include "ll_store.h"

static struct {
    double secs;
    int threads;
    uint8_t pub[LL_PUBKEY_LEN];
    uint8_t *pae;
    size_t pae_len;
    const uint8_t *sig;
    atomic_int go;
} g;

static void die(const char *what, int err)
{
    fprintf(stderr, "ll-ceiling: %s: %s\n", what, ll_strerror(err));
    exit(1);
}

typedef struct {
    pthread_t tid;
    uint64_t n;
    double secs;
    double cpu; /* this thread's CPU seconds over the run */
} vworker_t;

static double thread_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *verify_main(void *arg)
{
    vworker_t *w = arg;
    while (!atomic_load(&g.go))
        ;
    double t0 = ll_bench_now(), c0 = thread_cpu(), t;
    do {
        for (int i = 0; i < 64; i++)
            if (ll_ed25519_verify(g.pub, g.pae, g.pae_len, g.sig, LL_SIG_LEN))
                die("verify", LL_ERR_BAD_SIGNATURE);
        w->n += 64;
        t = ll_bench_now();
    } while (t - t0 < g.secs);
    w->secs = t - t0;
    w->cpu = thread_cpu() - c0;
    return NULL;
}

/* Runs n verifying threads for g.secs; returns their summed rate, and
 * the CPU time per verification (microseconds) in *cpu_us. */
static double verify_rate(int n, double *cpu_us)
{
    vworker_t *w = calloc((size_t)n, sizeof *w);
    double rate = 0, cpu = 0, ops = 0;
    atomic_store(&g.go, 0);
    for (int i = 0; i < n; i++)
        pthread_create(&w[i].tid, NULL, verify_main, &w[i]);
    atomic_store(&g.go, 1);
    for (int i = 0; i < n; i++) {
        pthread_join(w[i].tid, NULL);
        rate += (double)w[i].n / w[i].secs;
        cpu += w[i].cpu;
        ops += (double)w[i].n;
    }
    *cpu_us = ops > 0 ? cpu * 1e6 / ops : 0;
    free(w);
    return rate;
}

static void run_verify(void)
{
    ll_key_t *key;
    uint8_t *env;
    size_t env_len;
    ll_entry_t e;
    char msg[256];
    int err;

    if ((err = ll_key_generate(&key)) ||
        (err = ll_bench_entry(key, "admin", 12345, 7, &env, &env_len)))
        die("making an entry", err);
    ll_key_public(key, g.pub);
    if ((err = ll_entry_decode(env, env_len, &e, msg, sizeof msg)))
        die(msg, err);
    const char *type = e.env->payload_type;
    g.pae_len = ll_dsse_pae_len(strlen(type), e.env->payload.len);
    g.pae = malloc(g.pae_len);
    if (!g.pae ||
        (err = ll_dsse_pae(type, strlen(type), e.env->payload.data, e.env->payload.len,
                           g.pae, g.pae_len, &g.pae_len)))
        die("PAE", err ? err : LL_ERR_NOMEM);
    g.sig = e.sig;
    double cpu1, cpun;
    double one = verify_rate(1, &cpu1);
    double all = verify_rate(g.threads, &cpun);
    /* cpu_us: CPU time per verification, the load-independent figure (a
     * busy neighbour lowers the rates, far less the CPU time per call);
     * the mean over both runs. */
    printf("ceiling=ed25519_verify msg_bytes=%zu per_core=%.0f cores=%d per_core_x_cores=%.0f "
           "all_cores_measured=%.0f cpu_us=%.1f cpu_us_1=%.1f cpu_us_n=%.1f secs=%.1f\n",
           g.pae_len, one, g.threads, one * g.threads, all, (cpu1 + cpun) / 2, cpu1, cpun,
           g.secs);
    ll_entry_free(&e);
    free(env);
    free(g.pae);
    ll_key_free(key);
}

static void run_lmdb(const char *dir, int batch, int wal)
{
    ll_store_t *st;
    uint8_t leaf[400], hash[LL_HASH_LEN], dedup[LL_HASH_LEN], idx[9] = {'s'}, v8[8] = {0};
    uint64_t commits = 0, entries = 0;
    int err;

    ll_store_config_t cfg = {.wal = wal};
    if ((err = ll_store_open(dir, &cfg, &st)))
        die("ll_store_open", err);
    /* A leaf the size of a bench entry's (seq, time, ~330-byte envelope). */
    ll_random(leaf, sizeof leaf);
    double t0 = ll_bench_now(), c0 = thread_cpu(), t;
    do {
        ll_txn_t *txn;
        if ((err = ll_store_begin_write(st, &txn)))
            die("begin", err);
        for (int i = 0; i < batch; i++) {
            ll_txn_t *child;
            uint64_t seq = ll_store_size(txn);
            if ((err = ll_store_begin_child(txn, &child)))
                die("begin child", err);
            memcpy(leaf + 8, &seq, sizeof seq); /* distinct leaves */
            ll_sha256(leaf, sizeof leaf, dedup);
            for (int k = 0; k < 8; k++)
                idx[1 + k] = (uint8_t)(seq >> (56 - 8 * k));
            if ((err = ll_store_get(child, LL_TBL_DEDUP, dedup, sizeof dedup,
                                    &(const uint8_t *){0}, &(size_t){0})) != LL_ERR_NOT_FOUND ||
                (err = ll_store_append(child, leaf, 340, (int64_t)seq + 1, hash)) ||
                (err = ll_store_put(child, LL_TBL_DEDUP, dedup, sizeof dedup, idx + 1, 8)) ||
                (err = ll_store_put(child, LL_TBL_INDEX, idx, sizeof idx, v8, 8)) ||
                (err = ll_store_commit(child)))
                die("append", err);
        }
        if ((err = wal ? ll_store_commit_logged(txn) : ll_store_commit(txn)))
            die("commit", err);
        commits++;
        entries += (uint64_t)batch;
        t = ll_bench_now();
    } while (t - t0 < g.secs);
    /* cpu_us_per_entry: user and kernel CPU of the writing thread (the
     * pwrite and fdatasync work included) per entry. */
    printf("ceiling=%s batch=%d commits=%" PRIu64 " secs=%.2f commits_per_s=%.0f "
           "entries_per_s=%.0f cpu_us_per_entry=%.1f\n",
           wal ? "wal_commit" : "lmdb_commit", batch, commits, t - t0, (double)commits / (t - t0), (double)entries / (t - t0),
           (thread_cpu() - c0) * 1e6 / (double)entries);
    ll_store_close(st);
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "", *dir = NULL;
    int batch = 128, wal = 0;

    g.secs = 2;
    g.threads = ll_bench_cores();
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            goto usage;
        i++;
        if (!strcmp(a, "--secs")) g.secs = atof(v);
        else if (!strcmp(a, "--threads")) g.threads = atoi(v);
        else if (!strcmp(a, "--dir")) dir = v;
        else if (!strcmp(a, "--batch")) batch = atoi(v);
        else if (!strcmp(a, "--wal")) wal = atoi(v);
        else goto usage;
    }
    if (g.secs <= 0 || g.threads < 1 || batch < 1)
        goto usage;
    if (!strcmp(mode, "verify")) {
        run_verify();
        return 0;
    }
    if (!strcmp(mode, "lmdb") && dir) {
        run_lmdb(dir, batch, wal);
        return 0;
    }
usage:
    fputs("usage: ll-ceiling verify [--secs S] [--threads N]\n"
          "       ll-ceiling lmdb --dir DIR [--batch B] [--secs S] [--wal 1]\n", stderr);
    return 2;
}
