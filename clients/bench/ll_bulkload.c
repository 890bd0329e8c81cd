/*
 * ll-bulkload: builds a large ledger fast, through the real write path.
 *
 *   ll-bulkload --data DIR --admin-key FILE --count N [--threads T]
 *
 * Creates a new ledger in DIR (server keys note.key and actor.key, as
 * loopledgerd makes them, and the genesis entry registering the admin whose
 * private key is FILE), then appends N signed measurement notes authored by
 * "admin". loopledgerd serves DIR afterwards like any ledger it created.
 *
 * Why in-process rather than over gRPC: the point is a realistic 1M-entry
 * ledger in about a minute, not another append benchmark. Every entry is
 * still signed with a fresh nonce and goes through ll_ledger_submit(): the
 * same decode, key lookup and signature verification on the submitting
 * thread, the same single writer, nested transactions and group commits,
 * the same leaves, Merkle nodes, dedup and index records as a served
 * Append. Only the gRPC hop is skipped. T threads (default: every core)
 * sign and submit; at most LL_BULK_INFLIGHT entries wait for the writer.
 * Entries from 2*LL_BULK_INFLIGHT on link to an older entry (relates_to
 * i/2), which is committed by construction (see submit_main).
 *
 * Output: one key=value line.
 */
#include <inttypes.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ll_benchlib.h"
#include "ll_err.h"
#include "ll_ledger.h"

#define LL_BULK_INFLIGHT 4096

static struct {
    ll_ledger_t *lg;
    ll_key_t *admin;
    uint64_t count;
    _Atomic uint64_t next, done, errors;
    sem_t slots;
    pthread_mutex_t lock;
    pthread_cond_t finished;
    char first_error[LL_MSG_MAX];
} g;

static void die(const char *what, int err)
{
    fprintf(stderr, "ll-bulkload: %s: %s\n", what, ll_strerror(err));
    exit(1);
}

static void on_result(void *ctx, const ll_append_result_t *res)
{
    (void)ctx;
    if (res->err && atomic_fetch_add(&g.errors, 1) == 0)
        snprintf(g.first_error, sizeof g.first_error, "%s", res->msg);
    sem_post(&g.slots);
    if (atomic_fetch_add(&g.done, 1) + 1 == g.count) {
        pthread_mutex_lock(&g.lock);
        pthread_cond_signal(&g.finished);
        pthread_mutex_unlock(&g.lock);
    }
}

static void *submit_main(void *arg)
{
    (void)arg;
    for (;;) {
        /* Take the slot before the index: then when index i is taken, fewer
         * than LL_BULK_INFLIGHT older entries are unfinished, so at least
         * i - LL_BULK_INFLIGHT + 1 are committed (plus genesis) and the link
         * target i/2 exists once i >= 2 * LL_BULK_INFLIGHT. */
        sem_wait(&g.slots);
        uint64_t i = atomic_fetch_add(&g.next, 1);
        if (i >= g.count) {
            sem_post(&g.slots);
            return NULL;
        }
        uint8_t *env;
        size_t len;
        uint64_t link = i >= 2 * LL_BULK_INFLIGHT ? i / 2 : LL_BENCH_NO_LINK;
        int err = ll_bench_entry(g.admin, "admin", i, link, &env, &len);
        if (err)
            die("signing", err);
        ll_ledger_submit(g.lg, env, len, on_result, NULL);
        free(env);
    }
}

static int make_key(const char *dir, const char *name, ll_key_t **out)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int err = ll_key_generate(out);
    return err ? err : ll_key_save(*out, path);
}

int main(int argc, char **argv)
{
    const char *dir = NULL, *admin_key = NULL;
    int threads = ll_bench_cores(), err;
    ll_key_t *note_key = NULL, *actor_key = NULL;
    ll_store_t *st = NULL;

    g.count = 1000000;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--data")) dir = argv[i + 1];
        else if (!strcmp(argv[i], "--admin-key")) admin_key = argv[i + 1];
        else if (!strcmp(argv[i], "--count")) g.count = strtoull(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
        else dir = NULL, i = argc;
    }
    if (!dir || !admin_key || g.count < 1 || threads < 1 || argc % 2 == 0) {
        fputs("usage: ll-bulkload --data DIR --admin-key FILE --count N [--threads T]\n", stderr);
        return 2;
    }
    if (mkdir(dir, 0700))
        die("creating --data (it must not exist)", LL_ERR_IO);
    if ((err = ll_key_load(admin_key, &g.admin)) ||
        (err = make_key(dir, "note.key", &note_key)) ||
        (err = make_key(dir, "actor.key", &actor_key)) ||
        (err = ll_store_open(dir, NULL, &st)))
        die("setting up", err);
    ll_ledger_config_t lc = {.note_key = note_key, .actor_key = actor_key,
                             .origin = "loopledger/bench"};
    uint8_t admin_pub[LL_PUBKEY_LEN];
    ll_append_result_t res;
    ll_key_public(g.admin, admin_pub);
    if ((err = ll_ledger_open(st, &lc, &g.lg)) ||
        (err = ll_ledger_genesis(g.lg, "admin", admin_pub, &res)))
        die("genesis", err);

    sem_init(&g.slots, 0, LL_BULK_INFLIGHT);
    pthread_mutex_init(&g.lock, NULL);
    pthread_cond_init(&g.finished, NULL);
    pthread_t *tids = calloc((size_t)threads, sizeof *tids);
    double t0 = ll_bench_now();
    for (int i = 0; i < threads; i++)
        pthread_create(&tids[i], NULL, submit_main, NULL);
    for (int i = 0; i < threads; i++)
        pthread_join(tids[i], NULL);
    pthread_mutex_lock(&g.lock);
    while (atomic_load(&g.done) < g.count)
        pthread_cond_wait(&g.finished, &g.lock);
    pthread_mutex_unlock(&g.lock);
    double secs = ll_bench_now() - t0;
    ll_ledger_close(g.lg);
    uint64_t size = ll_store_committed_size(st);
    printf("tool=bulkload entries=%" PRIu64 " errors=%" PRIu64 " tree_size=%" PRIu64
           " threads=%d secs=%.1f rate=%.0f\n",
           g.count, (uint64_t)atomic_load(&g.errors), size, threads, secs,
           (double)g.count / secs);
    if (g.errors)
        fprintf(stderr, "ll-bulkload: first error: %s\n", g.first_error);
    ll_store_close(st);
    ll_key_free(note_key);
    ll_key_free(actor_key);
    ll_key_free(g.admin);
    free(tids);
    return g.errors ? 1 : 0;
}
