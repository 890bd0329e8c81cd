/*
 * ll_benchgen: what the closed-loop benchmarks share (ll-loopbench,
 * ll-roadmapbench): a fresh ledger written in-process through the real
 * write path in waves, and timed LoopService/RoadmapService calls.
 *
 * A wave submits one entry per initiative at once (ll_ledger_submit:
 * decode, signature check, link table, rules, indexes) and waits for all of
 * them, so each wave is one group commit and later waves can link to the
 * sequence numbers earlier waves got.
 */
#ifndef LL_BENCHGEN_H
#define LL_BENCHGEN_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "ll_client.h"
#include "ll_crypto.h"
#include "ll_ledger.h"
#include "ll_store.h"
#include "loopledger/v1/entry.pb-c.h"

typedef struct ll_bench_gen ll_bench_gen_t;

/* One entry of a wave; seq is set when it is acknowledged. */
typedef struct ll_bench_slot {
    ll_bench_gen_t *g;
    uint64_t seq;
} ll_bench_slot_t;

struct ll_bench_gen {
    ll_store_t *st;
    ll_ledger_t *lg;
    ll_key_t *note_key, *actor_key, *admin;
    uint64_t nonce;
    pthread_mutex_t lock;
    pthread_cond_t done;
    int pending, errors;
    char first_error[300];
};

/* Creates a ledger in the empty directory dir: the server's keys written
 * where loopledgerd looks for them (0600), the genesis registering the
 * admin whose private key is in admin_key_file. Exits on failure. */
void ll_bench_gen_open(ll_bench_gen_t *g, const char *dir, const char *admin_key_file,
                       const char *origin);
void ll_bench_gen_close(ll_bench_gen_t *g);

/* Starts a wave of n entries (the slots' seqs are filled as they land). */
void ll_bench_wave_start(ll_bench_gen_t *g, ll_bench_slot_t *slots, int n);

/* Signs (as "admin") and submits one entry of kind with body msg (a pointer
 * to the kind's message) and up to 4 links, into slot s. */
void ll_bench_submit(ll_bench_gen_t *g, ll_bench_slot_t *s, const char *initiative, int kind,
                     void *msg, const Loopledger__V1__Link *links, size_t nlinks);

/* Waits for the wave; exits naming the first refusal if any was refused. */
void ll_bench_wave_wait(ll_bench_gen_t *g);

Loopledger__V1__Link ll_bench_link(int relation, uint64_t target);

/* A timed unary call: packs req, unpacks the answer as rd (caller frees
 * with protobuf_c_message_free_unpacked), *ms its latency. Exits on error. */
void *ll_bench_call(ll_client_t *c, const char *method, const ProtobufCMessage *req,
                    const ProtobufCMessageDescriptor *rd, int timeout_ms, double *ms);

/* Sorts v[0..n) and prints its median and p99 with a label and a note. */
void ll_bench_report(const char *what, double *v, int n, const char *extra);

#endif
