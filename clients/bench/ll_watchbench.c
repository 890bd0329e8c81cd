/*
 * ll-watchbench: Append latency with N live Watch streams (issue 18 item 9).
 *
 *   ll-watchbench SERVER KEYFILE AUTHOR WATCHERS APPENDS
 *
 * Opens WATCHERS Watch streams from the last entry, over enough channels
 * (one connection each) to stay under the server's streams-per-connection
 * limit, waits until every stream has received that entry (so all of them
 * are caught up and parked), then makes APPENDS sequential appends and
 * prints their median and p90 latency, and how many Watch messages the
 * streams received meanwhile. The streams are drained by one completion
 * queue thread at nice 19: they stand in for remote clients, and on a
 * small machine must not take the CPU from the server being measured.
 */
#include <grpc/byte_buffer.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/time.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ll_benchlib.h"
#include "ll_client.h"
#include "ll_err.h"
#include "loopledger/v1/ledger.pb-c.h"

#define PER_CHANNEL 90 /* below the server's default of 100 streams */

typedef struct stream {
    grpc_call *call;
    grpc_metadata_array md, trailers;
    grpc_byte_buffer *msg;
    grpc_status_code status;
    grpc_slice details;
} stream_t;

typedef struct tag {
    stream_t *s;
    int recv; /* 1: a message arrived, 0: the status */
} tag_t;

static atomic_long received;
static atomic_int ended;

static void recv_next(stream_t *s, tag_t *t)
{
    grpc_op op = {0};
    op.op = GRPC_OP_RECV_MESSAGE;
    op.data.recv_message.recv_message = &s->msg;
    grpc_call_start_batch(s->call, &op, 1, t, NULL);
}

static void *drain(void *arg)
{
    grpc_completion_queue *cq = arg;
    /* The watchers stand in for remote clients: on a small machine they
     * must not take the server's CPU away from the appends being timed. */
    setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19);
    for (;;) {
        grpc_event ev = grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            return NULL;
        tag_t *t = ev.tag;
        if (!t)
            continue;
        if (!t->recv) {
            atomic_fetch_add(&ended, 1);
            continue;
        }
        if (!ev.success || !t->s->msg)
            continue; /* stream over; the status tag counts it */
        grpc_byte_buffer_destroy(t->s->msg);
        t->s->msg = NULL;
        atomic_fetch_add(&received, 1);
        recv_next(t->s, t);
    }
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: ll-watchbench SERVER KEYFILE AUTHOR WATCHERS APPENDS\n");
        return 2;
    }
    const char *server = argv[1], *author = argv[3];
    int nw = atoi(argv[4]), na = atoi(argv[5]);
    ll_key_t *key;
    ll_client_t *cl;
    if (ll_key_load(argv[2], &key) || ll_client_open(server, &cl)) {
        fprintf(stderr, "watchbench: cannot load %s or reach %s\n", argv[2], server);
        return 1;
    }
    /* Start from the last entry, so every stream gets one message at once. */
    Loopledger__V1__GetCheckpointRequest cq_req = LOOPLEDGER__V1__GET_CHECKPOINT_REQUEST__INIT;
    uint8_t b[64];
    size_t bl = loopledger__v1__get_checkpoint_request__pack(&cq_req, b);
    ll_reply_t r;
    if (ll_client_unary(cl, "/loopledger.v1.LedgerService/GetCheckpoint", b, bl, 10000, &r) ||
        r.code != GRPC_STATUS_OK) {
        fprintf(stderr, "watchbench: checkpoint: %s\n", r.message);
        return 1;
    }
    Loopledger__V1__GetCheckpointResponse *cp =
        loopledger__v1__get_checkpoint_response__unpack(NULL, r.resp_len, r.resp);
    uint64_t size = cp ? cp->tree_size : 0;
    loopledger__v1__get_checkpoint_response__free_unpacked(cp, NULL);
    ll_reply_free(&r);
    if (size == 0) {
        fprintf(stderr, "watchbench: empty ledger\n");
        return 1;
    }

    grpc_completion_queue *cq = grpc_completion_queue_create_for_next(NULL);
    pthread_t th;
    pthread_create(&th, NULL, drain, cq);
    int nch = nw / PER_CHANNEL + 1;
    grpc_channel **chs = calloc((size_t)nch, sizeof *chs);
    for (int i = 0; i < nch; i++) {
        /* A private subchannel pool per channel: one connection each. */
        grpc_arg a = {GRPC_ARG_INTEGER, GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, {.integer = 1}};
        grpc_channel_args args = {1, &a};
        grpc_channel_credentials *cr = grpc_insecure_credentials_create();
        chs[i] = grpc_channel_create(server, cr, &args);
        grpc_channel_credentials_release(cr);
    }
    stream_t *ss = calloc((size_t)nw + 1, sizeof *ss);
    tag_t *tags = calloc(2 * (size_t)nw + 2, sizeof *tags);
    Loopledger__V1__WatchRequest wr = LOOPLEDGER__V1__WATCH_REQUEST__INIT;
    wr.from_seq = size - 1;
    uint8_t wbuf[16];
    size_t wl = loopledger__v1__watch_request__pack(&wr, wbuf);
    grpc_slice method = grpc_slice_from_static_string("/loopledger.v1.LedgerService/Watch");
    for (int i = 0; i < nw; i++) {
        stream_t *s = &ss[i];
        s->call = grpc_channel_create_call(chs[i % nch], NULL, GRPC_PROPAGATE_DEFAULTS, cq, method,
                                           NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        grpc_metadata_array_init(&s->md);
        grpc_metadata_array_init(&s->trailers);
        grpc_slice sl = grpc_slice_from_copied_buffer((const char *)wbuf, wl);
        grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&sl, 1);
        grpc_slice_unref(sl);
        grpc_op ops[4];
        memset(ops, 0, sizeof ops);
        ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
        ops[1].op = GRPC_OP_SEND_MESSAGE;
        ops[1].data.send_message.send_message = bb;
        ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
        ops[3].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
        ops[3].data.recv_status_on_client.trailing_metadata = &s->trailers;
        ops[3].data.recv_status_on_client.status = &s->status;
        ops[3].data.recv_status_on_client.status_details = &s->details;
        tags[2 * i] = (tag_t){s, 0};
        tags[2 * i + 1] = (tag_t){s, 1};
        grpc_call_start_batch(s->call, ops, 4, &tags[2 * i], NULL);
        grpc_op op = {0};
        op.op = GRPC_OP_RECV_INITIAL_METADATA;
        op.data.recv_initial_metadata.recv_initial_metadata = &s->md;
        grpc_call_start_batch(s->call, &op, 1, NULL, NULL);
        recv_next(s, &tags[2 * i + 1]);
        grpc_byte_buffer_destroy(bb);
    }
    double t0 = ll_bench_now();
    while (atomic_load(&received) < nw && ll_bench_now() - t0 < 120 && atomic_load(&ended) == 0)
        usleep(10000);
    if (atomic_load(&received) < nw) {
        fprintf(stderr, "watchbench: only %ld of %d streams live (%d ended)\n",
                atomic_load(&received), nw, atomic_load(&ended));
        return 1;
    }
    usleep(300000); /* let every stream park */
    long before = atomic_load(&received);

    double *ms = calloc((size_t)na, sizeof *ms);
    for (int i = 0; i < na; i++) {
        uint8_t *env, *req;
        size_t el, rl;
        if (ll_bench_entry(key, author, (uint64_t)i, LL_BENCH_NO_LINK, &env, &el) ||
            ll_bench_append_request(env, el, &req, &rl))
            return 1;
        double a = ll_bench_now();
        if (ll_client_unary(cl, "/loopledger.v1.LedgerService/Append", req, rl, 30000, &r) ||
            r.code != GRPC_STATUS_OK) {
            fprintf(stderr, "watchbench: append: %s\n", r.message);
            return 1;
        }
        ms[i] = (ll_bench_now() - a) * 1e3;
        ll_reply_free(&r);
        free(env);
        free(req);
    }
    /* Wait (bounded) for the fan-out of the last append to arrive. */
    double t1 = ll_bench_now();
    while (atomic_load(&received) < before + (long)nw * na && ll_bench_now() - t1 < 60)
        usleep(10000);
    qsort(ms, (size_t)na, sizeof *ms, cmp);
    printf("watchers %5d: Append p50 %7.2f ms  p90 %7.2f ms  (%d appends; %ld of %ld watch "
           "messages delivered)\n",
           nw, ms[na / 2], ms[na * 9 / 10], na, atomic_load(&received) - before, (long)nw * na);
    fflush(stdout);
    _exit(0); /* streams stay open; the process exit closes them */
}
