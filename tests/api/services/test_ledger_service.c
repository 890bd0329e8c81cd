/*
 * LedgerService over a real ledger and server: Watch fan-out happens off
 * the writer thread (issue 18 item 9). ll_call_send is wrapped at link
 * time (-Wl,--wrap) to note which thread starts each Watch send; a commit
 * hook registered before the service's learns the writer thread.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../support/ll_testutil.h"
#include "ll_client.h"
#include "ll_entry.h"
#include "ll_err.h"
#include "ll_ledger.h"
#include "ll_methods.h"
#include "ll_server.h"
#include "loopledger/v1/ledger.pb-c.h"

static pthread_t writer;
static atomic_int writer_known, sends, sends_on_writer;

/* Watch sends its (shared) encoded messages with ll_call_send_slice. */
void __real_ll_call_send_slice(ll_call_t *call, grpc_slice msg, ll_sent_fn done, void *arg);
void __wrap_ll_call_send_slice(ll_call_t *call, grpc_slice msg, ll_sent_fn done, void *arg)
{
    atomic_fetch_add(&sends, 1);
    if (atomic_load(&writer_known) && pthread_equal(pthread_self(), writer))
        atomic_fetch_add(&sends_on_writer, 1);
    __real_ll_call_send_slice(call, msg, done, arg);
}

static void learn_writer(void *ctx, uint64_t size)
{
    (void)ctx;
    (void)size;
    writer = pthread_self();
    atomic_store(&writer_known, 1);
}

typedef struct watcher {
    ll_client_t *cl;
    atomic_int got;
    ll_reply_t r;
} watcher_t;

static int on_msg(void *ctx, const uint8_t *msg, size_t len)
{
    (void)msg;
    (void)len;
    watcher_t *w = ctx;
    return atomic_fetch_add(&w->got, 1) + 1 >= 2; /* entry 0, then the new one */
}

static void *watch_main(void *arg)
{
    watcher_t *w = arg;
    uint8_t req[16];
    Loopledger__V1__WatchRequest r = LOOPLEDGER__V1__WATCH_REQUEST__INIT;
    size_t n = loopledger__v1__watch_request__pack(&r, req);
    ll_client_stream(w->cl, "/loopledger.v1.LedgerService/Watch", req, n, 20000, on_msg, w,
                     &w->r);
    return NULL;
}

static void test_watchers_are_fed_off_the_writer_thread(void **state)
{
    (void)state;
    char dir[64], target[64];
    ll_store_t *st;
    ll_ledger_t *lg;
    ll_key_t *note_key, *actor_key, *admin;
    uint8_t pub[LL_PUBKEY_LEN];
    ll_append_result_t res;
    ll_server_t *srv;
    ll_services_t *svcs;
    int port;
    enum { N = 8 };
    watcher_t w[N];
    pthread_t th[N];

    grpc_init();
    ll_test_tmpdir(dir);
    assert_int_equal(ll_key_generate(&note_key), LL_OK);
    assert_int_equal(ll_key_generate(&actor_key), LL_OK);
    assert_int_equal(ll_key_generate(&admin), LL_OK);
    assert_int_equal(ll_store_open(dir, NULL, &st), LL_OK);
    ll_ledger_config_t c = {.note_key = note_key, .actor_key = actor_key, .origin = "t.example/w"};
    assert_int_equal(ll_ledger_open(st, &c, &lg), LL_OK);
    ll_key_public(admin, pub);
    assert_int_equal(ll_ledger_genesis(lg, "admin", pub, &res), LL_OK);
    /* Before the service's hook, so the writer is known when it runs. */
    assert_int_equal(ll_ledger_add_commit_hook(lg, learn_writer, NULL), LL_OK);

    ll_server_config_t sc = {.listen = "127.0.0.1:0", .threads = 2};
    assert_int_equal(ll_server_create(&sc, &srv), LL_OK);
    assert_int_equal(ll_services_register(srv, lg, &svcs), LL_OK);
    assert_int_equal(ll_server_start(srv, &port), LL_OK);
    snprintf(target, sizeof target, "127.0.0.1:%d", port);

    memset(w, 0, sizeof w);
    for (int i = 0; i < N; i++) {
        assert_int_equal(ll_client_open(target, &w[i].cl), LL_OK);
        pthread_create(&th[i], NULL, watch_main, &w[i]);
    }
    /* Every watcher has had entry 0; give their streams time to park. */
    for (int i = 0; i < N; i++)
        while (atomic_load(&w[i].got) < 1)
            usleep(1000);
    usleep(200 * 1000);
    int before = atomic_load(&sends);

    Loopledger__V1__Note note = LOOPLEDGER__V1__NOTE__INIT;
    note.text = "new";
    uint64_t nonce = 7;
    Loopledger__V1__EntryBody b = LOOPLEDGER__V1__ENTRY_BODY__INIT;
    b.author = "admin";
    b.initiative = ""; /* a note may name no initiative */
    b.nonce.data = (uint8_t *)&nonce;
    b.nonce.len = sizeof nonce;
    b.kind_case = LOOPLEDGER__V1__ENTRY_BODY__KIND_NOTE;
    b.note = &note;
    uint8_t *env;
    size_t env_len;
    assert_int_equal(ll_entry_seal(&b, admin, &env, &env_len), LL_OK);
    ll_ledger_append(lg, env, env_len, &res);
    assert_int_equal(res.err, LL_OK);
    free(env);

    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(atomic_load(&w[i].got), 2); /* every watcher saw it */
        ll_reply_free(&w[i].r);
        ll_client_close(w[i].cl);
    }
    assert_true(atomic_load(&writer_known));
    assert_true(atomic_load(&sends) >= before + N);
    assert_int_equal(atomic_load(&sends_on_writer), 0);

    ll_services_stop(svcs);
    ll_server_shutdown(srv, 1000);
    ll_server_destroy(srv);
    ll_services_free(svcs);
    ll_ledger_remove_commit_hook(lg, learn_writer, NULL);
    ll_ledger_close(lg);
    ll_store_close(st);
    ll_key_free(note_key);
    ll_key_free(actor_key);
    ll_key_free(admin);
    ll_test_rmdir(dir);
    grpc_shutdown();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_watchers_are_fed_off_the_writer_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
