/*
 * ll_call internals: the call record and the method it runs, shared by
 * ll_call.c (a call's operations and lifetime) and ll_server.c (which
 * accepts calls, admits them and hands them to handlers). Not for
 * services: they see ll_call_t only through ll_call.h.
 *
 * Every completion-queue event carries a pointer to an ll_tag whose fn
 * knows what finished. A call is reference counted: one reference for the
 * handler's obligation to end it, one per operation batch in flight. The
 * last reference (ll_call_unref) frees the gRPC call and everything the
 * request owned.
 */
#ifndef LL_CALL_INT_H
#define LL_CALL_INT_H

#include <grpc/grpc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <time.h>

#include "ll_call.h"
#include "ll_hist.h"
#include "ll_peers.h"
#include "ll_recvbudget.h"

struct ll_server;
struct ll_cq;

typedef struct ll_tag {
    void (*fn)(struct ll_tag *tag, int ok);
} ll_tag_t;

typedef struct ll_method {
    char *path;
    int streaming; /* server streaming, or bidi */
    int bidi;      /* messages are read one by one (ll_call_read_next) */
    ll_handler_fn fn;
    void *svc;
    void *handle;
    int background; /* served on the background queue */
    int bulk;       /* big requests: its own receive budget */
    /* Metrics: calls ended per status code and transport, latency. */
    _Atomic uint64_t ended[2][LL_STATUS_CODES];
    ll_hist_t latency;
} ll_method_t;

struct ll_call {
    struct ll_server *srv; /* opaque here: the server that owns the call */
    /* In-process call (ll_server_invoke): no grpc_call; ending it hands
     * the answer to local_done and frees the call. */
    int local;
    ll_local_done_fn local_done;
    void *local_arg;
    struct timespec started;
    ll_method_t *method;
    struct ll_cq *q; /* the server's queue the call was requested on */
    grpc_call *call;
    gpr_timespec deadline;
    grpc_metadata_array md;
    grpc_call_details details; /* unregistered (generic) calls only */
    grpc_byte_buffer *payload;
    grpc_slice req;
    int have_req;
    char *peer;
    char *identity;   /* verified client certificate CN (malloc'd) */
    int identity_done;
    atomic_int refs;
    atomic_int ended;
    /* What the call gives back when freed: the server's count of calls in
     * flight it was included in, and the per-connection table it holds a
     * place in under peer (NULL when not counted). */
    atomic_uint *calls_count;
    ll_peers_t *streams;
    ll_recvbudget_slot_t rslot; /* unary: its place in the receive budget */

    ll_tag_t tag_new, tag_done, tag_send, tag_close, tag_recv, tag_first;
    grpc_byte_buffer *recv_buf; /* bidi: the message being read */
    int cancelled;
    int sent_initial;
    grpc_byte_buffer *out;
    grpc_byte_buffer *send_buf;
    grpc_slice status_details;
    int have_details;
    ll_sent_fn sent_fn;
    void *sent_arg;
    pthread_mutex_t lock;
    void (*on_cancel)(ll_call_t *, void *);
    void *cancel_arg;
    int closed;
    void *data;
    void (*data_free)(void *);
};

#define CONTAINER(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

/* A zeroed call for method m of srv with one reference (the handler's),
 * its lock and the tags of the operations ll_call.c completes; the caller
 * fills in the rest (a gRPC request, or an in-process call). NULL when out
 * of memory. Freed by the last ll_call_unref. */
ll_call_t *ll_call_new(struct ll_server *srv, ll_method_t *m);

/* Drops one reference; the last frees the call, gives back its places
 * (calls_count, streams) and runs the data_free of ll_call_set_data.
 * Any thread. */
void ll_call_unref(ll_call_t *c);

#endif
