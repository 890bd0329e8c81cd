/*
 * ll_benchgen: shared ledger generation and timing of the closed-loop
 * benchmarks (ll_benchgen.h).
 */
#include "ll_benchgen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ll_benchlib.h"
#include "ll_entry.h"
#include "ll_err.h"

static void die(const char *what)
{
    fprintf(stderr, "bench: %s\n", what);
    exit(1);
}

void ll_bench_gen_open(ll_bench_gen_t *g, const char *dir, const char *admin_key_file,
                       const char *origin)
{
    uint8_t pub[LL_PUBKEY_LEN];
    ll_append_result_t r;
    char path[4096];

    memset(g, 0, sizeof *g);
    pthread_mutex_init(&g->lock, NULL);
    pthread_cond_init(&g->done, NULL);
    if (ll_key_generate(&g->note_key) || ll_key_generate(&g->actor_key) ||
        ll_key_load(admin_key_file, &g->admin))
        die("keys");
    snprintf(path, sizeof path, "%s/note.key", dir);
    if (ll_key_save(g->note_key, path))
        die("cannot write note.key (is the directory new?)");
    snprintf(path, sizeof path, "%s/actor.key", dir);
    if (ll_key_save(g->actor_key, path))
        die("cannot write actor.key");
    if (ll_store_open(dir, NULL, &g->st))
        die("cannot open the data directory");
    ll_ledger_config_t c = {.note_key = g->note_key, .actor_key = g->actor_key, .origin = origin};
    if (ll_ledger_open(g->st, &c, &g->lg))
        die("cannot open the ledger");
    if (ll_store_committed_size(g->st) != 0)
        die("the data directory already holds a ledger");
    ll_key_public(g->admin, pub);
    if (ll_ledger_genesis(g->lg, "admin", pub, &r))
        die("genesis failed");
}

void ll_bench_gen_close(ll_bench_gen_t *g)
{
    ll_ledger_close(g->lg);
    ll_store_close(g->st);
    ll_key_free(g->note_key);
    ll_key_free(g->actor_key);
    ll_key_free(g->admin);
    pthread_mutex_destroy(&g->lock);
    pthread_cond_destroy(&g->done);
}

void ll_bench_wave_start(ll_bench_gen_t *g, ll_bench_slot_t *slots, int n)
{
    g->pending = n;
    for (int i = 0; i < n; i++)
        slots[i].g = g;
}

static void on_done(void *ctx, const ll_append_result_t *r)
{
    ll_bench_slot_t *s = ctx;
    ll_bench_gen_t *g = s->g;
    pthread_mutex_lock(&g->lock);
    if (r->err) {
        if (!g->errors++)
            snprintf(g->first_error, sizeof g->first_error, "%s", r->msg);
    } else {
        s->seq = r->seq;
    }
    if (--g->pending == 0)
        pthread_cond_signal(&g->done);
    pthread_mutex_unlock(&g->lock);
}

void ll_bench_submit(ll_bench_gen_t *g, ll_bench_slot_t *s, const char *initiative, int kind,
                     void *msg, const Loopledger__V1__Link *links, size_t nlinks)
{
    Loopledger__V1__Link l[4], *lp[4];
    Loopledger__V1__EntryBody b = LOOPLEDGER__V1__ENTRY_BODY__INIT;
    uint8_t *env;
    size_t len;
    uint64_t nonce = ++g->nonce;
    if (nlinks > 4)
        die("at most 4 links");
    for (size_t i = 0; i < nlinks; i++) {
        l[i] = links[i];
        lp[i] = &l[i];
    }
    b.author = "admin";
    b.initiative = (char *)initiative;
    b.nonce.data = (uint8_t *)&nonce;
    b.nonce.len = sizeof nonce;
    b.n_links = nlinks;
    b.links = lp;
    b.kind_case = (Loopledger__V1__EntryBody__KindCase)kind;
    b.note = msg; /* the oneof members share one pointer slot */
    if (ll_entry_seal(&b, g->admin, &env, &len))
        die("signing failed");
    ll_ledger_submit(g->lg, env, len, on_done, s);
    free(env);
}

void ll_bench_wave_wait(ll_bench_gen_t *g)
{
    pthread_mutex_lock(&g->lock);
    while (g->pending)
        pthread_cond_wait(&g->done, &g->lock);
    pthread_mutex_unlock(&g->lock);
    if (g->errors) {
        fprintf(stderr, "bench: entry refused: %s\n", g->first_error);
        exit(1);
    }
}

Loopledger__V1__Link ll_bench_link(int relation, uint64_t target)
{
    Loopledger__V1__Link l = LOOPLEDGER__V1__LINK__INIT;
    l.relation = (Loopledger__V1__Relation)relation;
    l.target_seq = target;
    return l;
}

void *ll_bench_call(ll_client_t *c, const char *method, const ProtobufCMessage *req,
                    const ProtobufCMessageDescriptor *rd, int timeout_ms, double *ms)
{
    size_t n = protobuf_c_message_get_packed_size(req);
    uint8_t *buf = malloc(n ? n : 1);
    ll_reply_t r;
    if (!buf)
        die("out of memory");
    protobuf_c_message_pack(req, buf);
    double t0 = ll_bench_now();
    if (ll_client_unary(c, method, buf, n, timeout_ms, &r) || r.code != GRPC_STATUS_OK) {
        fprintf(stderr, "bench: %s: %s\n", method, r.message);
        exit(1);
    }
    *ms = (ll_bench_now() - t0) * 1e3;
    free(buf);
    void *m = protobuf_c_message_unpack(rd, NULL, r.resp_len, r.resp);
    ll_reply_free(&r);
    if (!m)
        die("malformed response");
    return m;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void ll_bench_report(const char *what, double *v, int n, const char *extra)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    printf("%-36s median %8.3f ms  p99 %8.3f ms  (%d calls%s%s)\n", what, v[n / 2],
           v[n * 99 / 100], n, extra[0] ? "; " : "", extra);
}
