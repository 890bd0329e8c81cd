/*
 * ll_witness_cmd: `loopledgerd witness` and `loopledgerd witness-key`.
 *
 *   loopledgerd witness --data DIR --key FILE --name NAME --listen HOST:PORT
 *                       --log VKEY [--log VKEY]... [--port-file FILE]
 *   loopledgerd witness-key --key FILE --name NAME
 *
 * The key file is an Ed25519 PKCS#8 PEM (made, mode 0600, when missing);
 * witness-key prints the cosigner verifier key that logs and clients pin.
 */
#include "ll_scale_cmd.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ll_cosig.h"
#include "ll_err.h"
#include "ll_witness.h"

#define MAX_LOGS 64

static void wlog(const char *msg)
{
    char ts[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    fprintf(stderr, "%s loopledgerd witness: %s\n", ts, msg);
}

static int load_key(const char *path, ll_key_t **out)
{
    int err = ll_key_load(path, out);
    if (err == LL_ERR_IO && access(path, F_OK)) {
        if ((err = ll_key_generate(out)))
            return err;
        if ((err = ll_key_save(*out, path))) {
            ll_key_free(*out);
            *out = NULL;
        }
    }
    return err;
}

int ll_witness_cmd(int argc, char **argv)
{
    const char *data = NULL, *key = NULL, *name = NULL, *listen = "127.0.0.1:7700",
               *port_file = NULL, *logs[MAX_LOGS];
    size_t nlogs = 0;
    int keyonly = !strcmp(argv[0], "witness-key"), rc = 1, err, port = 0;
    ll_key_t *k = NULL;
    ll_witness_t *w = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            fprintf(stderr, "loopledgerd %s: %s needs a value\n", argv[0], a);
            return 2;
        }
        i++;
        if (!strcmp(a, "--data")) data = v;
        else if (!strcmp(a, "--key")) key = v;
        else if (!strcmp(a, "--name")) name = v;
        else if (!strcmp(a, "--listen")) listen = v;
        else if (!strcmp(a, "--port-file")) port_file = v;
        else if (!strcmp(a, "--log") && nlogs < MAX_LOGS) logs[nlogs++] = v;
        else {
            fprintf(stderr, "loopledgerd %s: unknown or repeated option %s\n", argv[0], a);
            return 2;
        }
    }
    if (!key || !name || (!keyonly && (!data || !nlogs))) {
        fprintf(stderr, "usage: loopledgerd witness --data DIR --key FILE --name NAME "
                        "--log LOG-VKEY [--log ...] [--listen HOST:PORT] [--port-file FILE]\n"
                        "       loopledgerd witness-key --key FILE --name NAME\n");
        return 2;
    }
    if ((err = load_key(key, &k))) {
        fprintf(stderr, "loopledgerd %s: key %s: %s\n", argv[0], key, ll_strerror(err));
        return 1;
    }
    ll_witness_config_t cfg = {.dir = data ? data : "", .name = name, .key = k,
                               .logs = logs, .nlogs = nlogs, .log_fn = wlog};
    char vkey[512];
    if (keyonly) {
        uint8_t pub[LL_PUBKEY_LEN];
        ll_key_public(k, pub);
        if (ll_cosig_verifier_key(name, pub, vkey, sizeof vkey)) {
            fprintf(stderr, "loopledgerd witness-key: bad --name %s\n", name);
            goto out;
        }
        printf("%s\n", vkey);
        rc = 0;
        goto out;
    }
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    if ((err = ll_witness_open(&cfg, &w)))
        goto out;
    if ((err = ll_witness_serve(w, listen, &port))) {
        wlog("cannot listen (give --listen IPV4:PORT)");
        goto out;
    }
    ll_witness_verifier_key(w, vkey, sizeof vkey);
    char msg[1024];
    snprintf(msg, sizeof msg, "serving on port %d for %zu log(s); verifier key %s", port, nlogs,
             vkey);
    wlog(msg);
    if (port_file) {
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s.tmp", port_file);
        FILE *f = fopen(tmp, "w");
        if (!f || fprintf(f, "%d\n", port) < 0 || fclose(f) || rename(tmp, port_file)) {
            wlog("cannot write the port file");
            goto out;
        }
    }
    int sig;
    sigwait(&sigs, &sig);
    wlog("stopping");
    rc = 0;
out:
    ll_witness_close(w);
    ll_key_free(k);
    return rc;
}
