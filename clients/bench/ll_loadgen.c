/*
 * ll-loadgen: a load generator for loopledgerd on the gRPC core client API.
 *
 *   ll-loadgen [--server HOST:PORT] [--threads T] MODE [options]
 *     append  --key FILE --author ID --count N --concurrency C
 *     get | inclusion | consistency | health  --concurrency C --duration SECS
 *   ll-loadgen startup --port-file FILE [--log FILE] -- loopledgerd serve ... --port-file FILE
 *     starts the server (left running: its pid is printed) and measures the
 *     time from exec to the port file appearing and to the first Health/Check
 *     answered OK.
 *
 * Why it is built this way: a benchmark must measure the server, not the
 * client. Envelopes are signed before the clock starts; each thread owns a
 * completion queue and a channel and keeps C/T calls in flight, restarting
 * a call from the completion handler, so no thread ever blocks on one call.
 * Latency is recorded per call and reported as p50/p99.
 *
 * Output is one line of key=value pairs (stable for scripts), e.g.
 *   mode=append concurrency=32 ops=20000 errors=0 secs=1.93 rate=10362 p50_ms=2.9 p99_ms=6.1
 * plus client_cpu_us_per_op, this process's CPU time per call while the
 * clock ran, so that the bench can say where a shared machine's cores went.
 */
#include <grpc/byte_buffer.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/time.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ll_benchlib.h"
#include "ll_client.h"
#include "ll_crypto.h"
#include "ll_entry.h"
#include "ll_err.h"
#include "loopledger/v1/ledger.pb-c.h"

#define SVC "/loopledger.v1.LedgerService/"
#define MAX_THREADS 64
#define MAX_SAMPLES (16u << 20)

enum mode { M_APPEND, M_GET, M_INCLUSION, M_CONSISTENCY, M_HEALTH };

typedef struct slot {
    struct worker *w;
    grpc_call *call;
    grpc_byte_buffer *send, *recv;
    grpc_metadata_array init_md, trail_md;
    grpc_status_code status;
    grpc_slice details;
    double started;
} slot_t;

typedef struct worker {
    pthread_t tid;
    grpc_channel *ch;
    grpc_completion_queue *cq;
    slot_t *slots;
    int nslots;
    uint64_t rng;
    uint64_t ops, errors;
    grpc_status_code first_error;
    char first_error_msg[200];
} worker_t;

static struct {
    const char *server;
    enum mode mode;
    int threads, concurrency;
    double duration;
    uint64_t count;
    const char *key, *author;
    uint64_t size; /* tree size at start, for read modes */
    grpc_byte_buffer **requests; /* pre-built append requests */
    _Atomic uint64_t next_request;
    double deadline;
    float *samples; /* per-call latency, ms */
    _Atomic uint64_t nsamples;
} g;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time (user + system) of this process, seconds. */
static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void die(const char *msg)
{
    fprintf(stderr, "ll-loadgen: %s\n", msg);
    exit(1);
}

static uint64_t rnd(uint64_t *s)
{
    /* xorshift64*: cheap, good enough to spread reads over the tree */
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

static grpc_byte_buffer *buffer_of(const uint8_t *p, size_t n)
{
    grpc_slice s = grpc_slice_from_copied_buffer((const char *)p, n);
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s);
    return bb;
}

/* The next request of this worker, or NULL when the run is over. */
static grpc_byte_buffer *next_request(worker_t *w, const char **method)
{
    uint8_t buf[64];
    size_t n;

    if (g.mode == M_APPEND) {
        uint64_t i = atomic_fetch_add(&g.next_request, 1);
        *method = SVC "Append";
        /* Each pre-built request is sent once; ownership moves to the call. */
        return i < g.count ? g.requests[i] : NULL;
    }
    if (now_s() >= g.deadline)
        return NULL;
    switch (g.mode) {
    case M_GET: {
        Loopledger__V1__GetEntryRequest r = LOOPLEDGER__V1__GET_ENTRY_REQUEST__INIT;
        r.seq = rnd(&w->rng) % g.size;
        n = loopledger__v1__get_entry_request__pack(&r, buf);
        *method = SVC "GetEntry";
        break;
    }
    case M_INCLUSION: {
        Loopledger__V1__GetInclusionProofRequest r =
            LOOPLEDGER__V1__GET_INCLUSION_PROOF_REQUEST__INIT;
        r.seq = rnd(&w->rng) % g.size;
        r.tree_size = g.size;
        n = loopledger__v1__get_inclusion_proof_request__pack(&r, buf);
        *method = SVC "GetInclusionProof";
        break;
    }
    case M_CONSISTENCY: {
        Loopledger__V1__GetConsistencyProofRequest r =
            LOOPLEDGER__V1__GET_CONSISTENCY_PROOF_REQUEST__INIT;
        r.old_size = 1 + rnd(&w->rng) % g.size;
        r.new_size = g.size;
        n = loopledger__v1__get_consistency_proof_request__pack(&r, buf);
        *method = SVC "GetConsistencyProof";
        break;
    }
    default:
        n = 0; /* HealthCheckRequest{service=""} is empty */
        *method = "/grpc.health.v1.Health/Check";
        break;
    }
    return buffer_of(buf, n);
}

static int start(slot_t *s)
{
    worker_t *w = s->w;
    const char *method;
    grpc_op ops[6];
    grpc_byte_buffer *req = next_request(w, &method);

    if (!req)
        return 0;
    memset(ops, 0, sizeof ops);
    s->send = req;
    s->recv = NULL;
    grpc_metadata_array_init(&s->init_md);
    grpc_metadata_array_init(&s->trail_md);
    s->call = grpc_channel_create_call(w->ch, NULL, GRPC_PROPAGATE_DEFAULTS, w->cq,
                                       grpc_slice_from_static_string(method), NULL,
                                       gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = req;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &s->init_md;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &s->recv;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &s->trail_md;
    ops[5].data.recv_status_on_client.status = &s->status;
    ops[5].data.recv_status_on_client.status_details = &s->details;
    s->started = now_s();
    if (grpc_call_start_batch(s->call, ops, 6, s, NULL) != GRPC_CALL_OK)
        die("grpc_call_start_batch failed");
    return 1;
}

static void finish(slot_t *s)
{
    worker_t *w = s->w;
    uint64_t i = atomic_fetch_add(&g.nsamples, 1);

    if (i < MAX_SAMPLES)
        g.samples[i] = (float)((now_s() - s->started) * 1e3);
    w->ops++;
    if (s->status != GRPC_STATUS_OK) {
        if (!w->errors++) {
            size_t n = GRPC_SLICE_LENGTH(s->details);
            w->first_error = s->status;
            snprintf(w->first_error_msg, sizeof w->first_error_msg, "%.*s",
                     (int)(n < 190 ? n : 190), (const char *)GRPC_SLICE_START_PTR(s->details));
        }
    }
    grpc_slice_unref(s->details);
    grpc_metadata_array_destroy(&s->init_md);
    grpc_metadata_array_destroy(&s->trail_md);
    grpc_byte_buffer_destroy(s->send);
    if (s->recv)
        grpc_byte_buffer_destroy(s->recv);
    grpc_call_unref(s->call);
    s->call = NULL;
}

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    int active = 0;

    for (int i = 0; i < w->nslots; i++) {
        w->slots[i].w = w;
        active += start(&w->slots[i]);
    }
    while (active) {
        grpc_event ev = grpc_completion_queue_next(w->cq, gpr_inf_future(GPR_CLOCK_REALTIME),
                                                   NULL);
        if (ev.type != GRPC_OP_COMPLETE)
            die("completion queue failed");
        slot_t *s = ev.tag;
        finish(s);
        if (!start(s))
            active--;
    }
    return NULL;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Signs count entries before the clock starts: the bench's measurement
 * notes (ll_benchlib), each linking to a random existing entry. */
static void prebuild_appends(void)
{
    ll_key_t *key;
    uint64_t rng = 0x2545f4914f6cdd1dull;

    if (!g.key || !g.author)
        die("append needs --key and --author");
    if (ll_key_load(g.key, &key))
        die("cannot load --key");
    g.requests = calloc(g.count, sizeof *g.requests);
    if (!g.requests)
        die("out of memory");
    for (uint64_t i = 0; i < g.count; i++) {
        uint8_t *env, *req;
        size_t env_len, req_len;
        uint64_t link = g.size ? rnd(&rng) % g.size : LL_BENCH_NO_LINK;
        if (ll_bench_entry(key, g.author, i, link, &env, &env_len) ||
            ll_bench_append_request(env, env_len, &req, &req_len))
            die("signing failed");
        g.requests[i] = buffer_of(req, req_len);
        free(req);
        free(env);
    }
    ll_key_free(key);
}

static uint64_t tree_size(void)
{
    ll_client_t *c;
    ll_reply_t r;
    uint64_t size = 0;

    if (ll_client_open(g.server, &c) ||
        ll_client_unary(c, SVC "GetCheckpoint", NULL, 0, 10000, &r) ||
        r.code != GRPC_STATUS_OK)
        die("GetCheckpoint failed: is the server up?");
    Loopledger__V1__GetCheckpointResponse *cp =
        loopledger__v1__get_checkpoint_response__unpack(NULL, r.resp_len, r.resp);
    if (cp)
        size = cp->tree_size;
    loopledger__v1__get_checkpoint_response__free_unpacked(cp, NULL);
    ll_reply_free(&r);
    ll_client_close(c);
    return size;
}

static void usage(void)
{
    fputs("usage: ll-loadgen [--server HOST:PORT] [--threads T] MODE [options]\n"
          "  append --key FILE --author ID --count N --concurrency C\n"
          "  get|inclusion|consistency|health --concurrency C --duration SECS\n"
          "usage: ll-loadgen startup --port-file FILE [--log FILE] -- SERVER-COMMAND...\n",
          stderr);
    exit(2);
}

/* startup mode: fork+exec the server, time port file and first Health. */
static int run_startup(int argc, char **argv)
{
    const char *port_file = NULL, *log = "/dev/null";
    int i;
    for (i = 2; i < argc && strcmp(argv[i], "--"); i++) {
        if (!strcmp(argv[i], "--port-file") && i + 1 < argc)
            port_file = argv[++i];
        else if (!strcmp(argv[i], "--log") && i + 1 < argc)
            log = argv[++i];
    }
    if (!port_file || i + 1 >= argc)
        usage();
    char **cmd = argv + i + 1;
    double t0 = now_s();
    pid_t pid = fork();
    if (pid < 0)
        die("fork failed");
    if (pid == 0) {
        /* The server outlives us: it must not hold our stdout (a shell's
         * $(...) would wait for it). */
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
            _exit(126);
        close(fd);
        execv(cmd[0], cmd);
        _exit(127);
    }
    double t_port = 0, t_health = 0;
    int port = 0;
    struct timespec ms = {0, 1000 * 1000};
    while (!port) {
        FILE *f = fopen(port_file, "r");
        if (f) {
            if (fscanf(f, "%d", &port) != 1)
                port = 0;
            fclose(f);
        }
        if (port)
            break;
        if (waitpid(pid, NULL, WNOHANG) == pid)
            die("the server exited during start-up");
        if (now_s() - t0 > 60)
            die("no port file after 60 s");
        nanosleep(&ms, NULL);
    }
    t_port = now_s();
    char target[64];
    snprintf(target, sizeof target, "127.0.0.1:%d", port);
    ll_client_t *c;
    if (ll_client_open(target, &c))
        die("cannot open a client");
    for (;;) {
        ll_reply_t r;
        if (ll_client_unary(c, "/grpc.health.v1.Health/Check", NULL, 0, 1000, &r) == LL_OK) {
            int ok = r.code == GRPC_STATUS_OK;
            ll_reply_free(&r);
            if (ok)
                break;
        }
        if (now_s() - t0 > 60)
            die("no Health/Check answer after 60 s");
        nanosleep(&ms, NULL);
    }
    t_health = now_s();
    ll_client_close(c);
    printf("mode=startup pid=%d port=%d port_file_ms=%.1f first_health_ms=%.1f\n", (int)pid,
           port, (t_port - t0) * 1e3, (t_health - t0) * 1e3);
    return 0;
}

int main(int argc, char **argv)
{
    static const char *names[] = {"append", "get", "inclusion", "consistency", "health"};
    worker_t w[MAX_THREADS];
    int i, have_mode = 0;

    if (argc > 1 && !strcmp(argv[1], "startup"))
        return run_startup(argc, argv);
    g.server = "127.0.0.1:7600";
    g.threads = 2;
    g.concurrency = 32;
    g.duration = 3;
    g.count = 10000;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--server") && v) g.server = argv[++i];
        else if (!strcmp(a, "--threads") && v) g.threads = atoi(argv[++i]);
        else if (!strcmp(a, "--concurrency") && v) g.concurrency = atoi(argv[++i]);
        else if (!strcmp(a, "--duration") && v) g.duration = atof(argv[++i]);
        else if (!strcmp(a, "--count") && v) g.count = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(a, "--key") && v) g.key = argv[++i];
        else if (!strcmp(a, "--author") && v) g.author = argv[++i];
        else if (!have_mode) {
            int m;
            for (m = 0; m < 5 && strcmp(a, names[m]); m++)
                ;
            if (m == 5)
                usage();
            g.mode = (enum mode)m;
            have_mode = 1;
        } else usage();
    }
    if (!have_mode || g.concurrency < 1 || g.threads < 1 || g.count < 1)
        usage();
    if (g.threads > g.concurrency)
        g.threads = g.concurrency;
    if (g.threads > MAX_THREADS)
        g.threads = MAX_THREADS;

    grpc_init();
    g.samples = malloc(MAX_SAMPLES * sizeof *g.samples);
    if (!g.samples)
        die("out of memory");
    if (g.mode == M_APPEND) {
        g.size = tree_size();
        prebuild_appends();
    } else if (g.mode != M_HEALTH) {
        g.size = tree_size();
        if (g.size < 2)
            die("the ledger needs at least 2 entries for read modes");
    }

    memset(w, 0, sizeof w);
    for (i = 0; i < g.threads; i++) {
        grpc_arg arg = {.type = GRPC_ARG_INTEGER,
                        .key = GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL,
                        .value.integer = 1};
        grpc_channel_args args = {1, &arg}; /* one connection per thread */
        grpc_channel_credentials *creds = grpc_insecure_credentials_create();
        w[i].ch = grpc_channel_create(g.server, creds, &args);
        grpc_channel_credentials_release(creds);
        w[i].cq = grpc_completion_queue_create_for_next(NULL);
        w[i].nslots = g.concurrency / g.threads + (i < g.concurrency % g.threads);
        w[i].slots = calloc((size_t)w[i].nslots, sizeof(slot_t));
        w[i].rng = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1);
        /* Connect before the clock starts. */
        grpc_channel_check_connectivity_state(w[i].ch, 1);
    }
    struct timespec settle = {0, 100 * 1000 * 1000};
    nanosleep(&settle, NULL);

    double c0 = cpu_s(), t0 = now_s();
    g.deadline = t0 + g.duration;
    for (i = 0; i < g.threads; i++)
        pthread_create(&w[i].tid, NULL, worker_main, &w[i]);
    uint64_t ops = 0, errors = 0;
    for (i = 0; i < g.threads; i++) {
        pthread_join(w[i].tid, NULL);
        ops += w[i].ops;
        errors += w[i].errors;
    }
    double secs = now_s() - t0, cpu = cpu_s() - c0;

    uint64_t n = g.nsamples < MAX_SAMPLES ? g.nsamples : MAX_SAMPLES;
    qsort(g.samples, n, sizeof *g.samples, cmp_float);
    printf("mode=%s concurrency=%d threads=%d ops=%" PRIu64 " errors=%" PRIu64
           " secs=%.3f rate=%.0f p50_ms=%.3f p99_ms=%.3f",
           names[g.mode], g.concurrency, g.threads, ops, errors, secs, (double)ops / secs,
           n ? g.samples[n / 2] : 0.0, n ? g.samples[n * 99 / 100] : 0.0);
    if (g.size)
        printf(" tree_size=%" PRIu64, g.size);
    printf(" client_cpu_us_per_op=%.1f", ops ? cpu * 1e6 / (double)ops : 0.0);
    printf("\n");
    for (i = 0; i < g.threads; i++) {
        if (w[i].errors) {
            fprintf(stderr, "ll-loadgen: first error: status %d: %s\n", w[i].first_error,
                    w[i].first_error_msg);
            break;
        }
    }
    for (i = 0; i < g.threads; i++) {
        grpc_completion_queue_shutdown(w[i].cq);
        while (grpc_completion_queue_next(w[i].cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL)
                   .type != GRPC_QUEUE_SHUTDOWN)
            ;
        grpc_completion_queue_destroy(w[i].cq);
        grpc_channel_destroy(w[i].ch);
        free(w[i].slots);
    }
    free(g.requests);
    free(g.samples);
    grpc_shutdown();
    return errors ? 1 : 0;
}
