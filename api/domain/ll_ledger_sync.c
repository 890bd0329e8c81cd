/*
 * ll_ledger_sync: the ledger's synchronous entry points (ll_ledger.h):
 * ll_ledger_append, which submits and waits, and ll_ledger_genesis, which
 * writes the server-signed first entry of a new ledger. Both go through
 * the same queue and writer as every append (ll_ledger_int.h).
 */
#include "ll_ledger.h"
#include "ll_ledger_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "ll_entry.h"
#include "ll_clock.h"
#include "ll_err.h"

typedef struct waiter {
    pthread_mutex_t m;
    pthread_cond_t c;
    int done;
    ll_append_result_t *res;
} waiter_t;

static void wake_waiter(void *ctx, const ll_append_result_t *res)
{
    waiter_t *w = ctx;
    pthread_mutex_lock(&w->m);
    *w->res = *res;
    w->done = 1;
    pthread_cond_signal(&w->c);
    pthread_mutex_unlock(&w->m);
}

static void wait_for(waiter_t *w)
{
    pthread_mutex_lock(&w->m);
    while (!w->done)
        pthread_cond_wait(&w->c, &w->m);
    pthread_mutex_unlock(&w->m);
    pthread_mutex_destroy(&w->m);
    pthread_cond_destroy(&w->c);
}

void ll_ledger_append(ll_ledger_t *lg, const uint8_t *env, size_t len,
                      ll_append_result_t *res)
{
    waiter_t w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, res};
    ll_ledger_submit(lg, env, len, wake_waiter, &w);
    wait_for(&w);
}

int ll_ledger_genesis(ll_ledger_t *lg, const char *admin_id,
                      const uint8_t admin_pub[LL_PUBKEY_LEN],
                      ll_append_result_t *res)
{
    uint8_t server_pub[LL_PUBKEY_LEN], nonce[16];
    uint8_t *env = NULL;
    size_t env_len;
    int err;
    if (ll_store_committed_size(lg->st) != 0)
        return LL_ERR_EXISTS;
    ll_key_public(lg->actor_key, server_pub);
    if ((err = ll_random(nonce, sizeof nonce)))
        return err;

    Loopledger__V1__Role server_roles[] = {LOOPLEDGER__V1__ROLE__ROLE_SERVICE};
    Loopledger__V1__Role admin_roles[] = {LOOPLEDGER__V1__ROLE__ROLE_ADMIN};
    Loopledger__V1__ActorRegistration srv = LOOPLEDGER__V1__ACTOR_REGISTRATION__INIT;
    srv.actor_id = LL_SERVER_ACTOR;
    srv.display_name = "loopledger server";
    srv.n_roles = 1;
    srv.roles = server_roles;
    srv.public_key.data = server_pub;
    srv.public_key.len = LL_PUBKEY_LEN;
    Loopledger__V1__ActorRegistration adm = LOOPLEDGER__V1__ACTOR_REGISTRATION__INIT;
    adm.actor_id = (char *)admin_id;
    adm.display_name = (char *)admin_id;
    adm.n_roles = 1;
    adm.roles = admin_roles;
    adm.public_key.data = (uint8_t *)admin_pub;
    adm.public_key.len = LL_PUBKEY_LEN;
    Loopledger__V1__Genesis gen = LOOPLEDGER__V1__GENESIS__INIT;
    gen.origin = lg->origin;
    gen.server = &srv;
    gen.admin = &adm;
    Loopledger__V1__EntryBody body = LOOPLEDGER__V1__ENTRY_BODY__INIT;
    body.author = LL_SERVER_ACTOR;
    body.client_time_unix_nanos = ll_clock_realtime_ns();
    body.nonce.data = nonce;
    body.nonce.len = sizeof nonce;
    body.kind_case = LOOPLEDGER__V1__ENTRY_BODY__KIND_GENESIS;
    body.genesis = &gen;
    if ((err = ll_entry_seal(&body, lg->actor_key, &env, &env_len)))
        return err;

    waiter_t w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, res};
    ll_job_t *job = ll_ledger_job_new(env, env_len, wake_waiter, &w);
    free(env);
    if (!job)
        return LL_ERR_NOMEM;
    job->genesis = 1;
    job->res.err = ll_entry_decode(job->raw, job->raw_len, &job->entry,
                                   job->res.msg, sizeof job->res.msg);
    if (job->res.err == LL_OK && ll_entry_verify(&job->entry, server_pub) != LL_OK) {
        job->res.err = LL_ERR_CRYPTO;
        snprintf(job->res.msg, sizeof job->res.msg, "genesis self-check failed");
    }
    if (job->res.err)
        ll_ledger_job_done(lg, job, wake_waiter, &w);
    else
        ll_ledger_enqueue(lg, job);
    wait_for(&w);
    return res->err;
}
