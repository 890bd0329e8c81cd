/*
 * ll_wsubmit: submitting checkpoints to tlog-witnesses. See ll_wsubmit.h.
 */
#include "ll_wsubmit.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "ll_cosig.h"
#include "ll_err.h"
#include "ll_merkle.h"
#include "ll_note.h"

#define LINES_MAX 4096

typedef struct witness {
    char url[1024];           /* .../add-checkpoint */
    ll_cosigner_t key;
    uint64_t size;            /* what we believe the witness last cosigned */
    int known;                /* size learnt (from a 200 or a 409) */
    int down;                 /* last attempt failed at the transport */
    char line[LL_COSIG_LINE_MAX]; /* its cosignature of `size` */
} witness_t;

struct ll_wsubmit {
    ll_ledger_t *lg;
    witness_t *w;
    size_t n;
    void (*log_fn)(const char *msg);
    ll_wsubmit_round_fn on_round;
    void *round_ctx;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t target;
    int stop;
    /* The latest cosigned checkpoint and its lines (under mu). */
    uint64_t cs_size;
    char cs_lines[LINES_MAX];
    CURL *curl; /* submitter thread only; keeps connections alive */
};

static void slog(ll_wsubmit_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void slog(ll_wsubmit_t *s, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (s->log_fn)
        s->log_fn(msg);
}

typedef struct resp {
    char buf[2048];
    size_t len;
} resp_t;

static size_t on_data(char *p, size_t sz, size_t nm, void *ctx)
{
    resp_t *r = ctx;
    size_t n = sz * nm, room = sizeof r->buf - 1 - r->len;
    memcpy(r->buf + r->len, p, n < room ? n : room);
    r->len += n < room ? n : room;
    r->buf[r->len] = 0;
    return n;
}

/* One POST; returns the HTTP status (0 on a transport failure). */
static long post(ll_wsubmit_t *s, witness_t *w, const char *body, size_t len, resp_t *r)
{
    long code = 0;
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: text/plain; charset=utf-8");
    r->len = 0;
    r->buf[0] = 0;
    curl_easy_reset(s->curl);
    curl_easy_setopt(s->curl, CURLOPT_URL, w->url);
    curl_easy_setopt(s->curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(s->curl, CURLOPT_POSTFIELDSIZE, (long)len);
    curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(s->curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(s->curl, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(s->curl, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(s->curl, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
    curl_easy_setopt(s->curl, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform(s->curl);
    if (rc == CURLE_OK)
        curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &code);
    else if (!w->down)
        slog(s, "witness %s: %s (retrying every 2 s)", w->url, curl_easy_strerror(rc));
    curl_slist_free_all(h);
    return code;
}

/* Submits the checkpoint note (size, under txn) to w; updates w. */
static void submit_one(ll_wsubmit_t *s, witness_t *w, ll_txn_t *txn, const char *note,
                       size_t nlen, uint64_t size)
{
    static char body[LL_NOTE_MAX + 64 * 48 + 64];
    for (int attempt = 0; attempt < 3; attempt++) {
        uint8_t proof[LL_MERKLE_MAX_PROOF][LL_HASH_LEN];
        size_t np = 0, len;
        uint64_t old = w->known ? w->size : 0;
        if (old > size) {
            slog(s, "witness %s has cosigned size %" PRIu64 ", beyond this log's %" PRIu64
                    ": it saw another history of this log",
                 w->url, old, size);
            return;
        }
        if (old && old < size &&
            ll_merkle_consistency_proof(ll_store_node_fn, txn, old, size, proof, &np))
            return;
        len = (size_t)snprintf(body, sizeof body, "old %" PRIu64 "\n", old);
        for (size_t i = 0; i < np; i++) {
            len += ll_base64_encode(proof[i], LL_HASH_LEN, body + len);
            body[len++] = '\n';
        }
        body[len++] = '\n';
        memcpy(body + len, note, nlen);
        len += nlen;
        resp_t r;
        long code = post(s, w, body, len, &r);
        w->down = code == 0;
        if (code == 409) {
            uint64_t ws;
            char *end;
            errno = 0;
            ws = strtoull(r.buf, &end, 10);
            if (errno || end == r.buf || *end != '\n') {
                slog(s, "witness %s: 409 without a size", w->url);
                return;
            }
            w->size = ws;
            w->known = 1;
            continue;
        }
        if (code != 200) {
            if (code)
                slog(s, "witness %s refused checkpoint %" PRIu64 " (old %" PRIu64 "): HTTP %ld %s",
                     w->url, size, old, code, r.buf);
            return;
        }
        /* Keep only a line that verifies as this witness's cosignature of
         * exactly this note; ignore anything else in the answer. */
        char cn[LL_NOTE_MAX + 2 * LL_COSIG_LINE_MAX];
        const char *p = r.buf;
        while (*p) {
            const char *eol = strchr(p, '\n');
            size_t ll = eol ? (size_t)(eol - p) + 1 : strlen(p);
            if (ll < LL_COSIG_LINE_MAX && nlen + ll < sizeof cn) {
                memcpy(cn, note, nlen);
                memcpy(cn + nlen, p, ll);
                if (!ll_cosig_verify(cn, nlen + ll, &w->key, NULL)) {
                    memcpy(w->line, p, ll);
                    w->line[ll] = 0;
                    w->size = size;
                    w->known = 1;
                    return;
                }
            }
            p += ll;
        }
        slog(s, "witness %s answered 200 without a valid cosignature", w->url);
        return;
    }
}

static void submit_round(ll_wsubmit_t *s)
{
    ll_txn_t *txn = NULL;
    char note[LL_NOTE_MAX];
    size_t nlen;
    uint64_t size;
    uint8_t root[LL_HASH_LEN];
    if (ll_store_begin_read(ll_ledger_store(s->lg), &txn))
        return;
    if (ll_ledger_checkpoint(s->lg, txn, 0, note, sizeof note, &nlen, &size, root) || !size)
        goto out;
    for (size_t i = 0; i < s->n; i++)
        if (!s->w[i].known || s->w[i].size != size)
            submit_one(s, &s->w[i], txn, note, nlen, size);
    char lines[LINES_MAX];
    size_t ll = 0;
    for (size_t i = 0; i < s->n; i++) {
        size_t l = strlen(s->w[i].line);
        if (s->w[i].known && s->w[i].size == size && l && ll + l < sizeof lines) {
            memcpy(lines + ll, s->w[i].line, l);
            ll += l;
        }
    }
    lines[ll] = 0;
    if (ll) {
        pthread_mutex_lock(&s->mu);
        s->cs_size = size;
        memcpy(s->cs_lines, lines, ll + 1);
        pthread_mutex_unlock(&s->mu);
    }
    if (s->on_round) {
        /* The note ends with its own signature line; cosignatures follow
         * as further signature lines of the same signed note. */
        static char full[LL_NOTE_MAX + LINES_MAX];
        memcpy(full, note, nlen);
        memcpy(full + nlen, lines, ll);
        s->on_round(s->round_ctx, size, full, nlen + ll);
    }
out:
    ll_store_abort(txn);
}

static int lagging(ll_wsubmit_t *s, uint64_t size)
{
    for (size_t i = 0; i < s->n; i++)
        if (!s->w[i].known || s->w[i].size != size)
            return 1;
    return 0;
}

static void *submitter(void *arg)
{
    ll_wsubmit_t *s = arg;
    uint64_t done = 0;
    pthread_mutex_lock(&s->mu);
    while (!s->stop) {
        if (s->target == done) {
            struct timespec dl;
            clock_gettime(CLOCK_REALTIME, &dl);
            dl.tv_sec += 2;
            pthread_cond_timedwait(&s->cv, &s->mu, &dl);
            if (s->stop)
                break;
            /* Woken by the timer: retry only witnesses that lag. */
            if (s->target == done && !lagging(s, done))
                continue;
        }
        done = s->target;
        pthread_mutex_unlock(&s->mu);
        submit_round(s);
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static void on_commit(void *ctx, uint64_t size)
{
    ll_wsubmit_t *s = ctx;
    pthread_mutex_lock(&s->mu);
    if (size > s->target) {
        s->target = size;
        pthread_cond_signal(&s->cv);
    }
    pthread_mutex_unlock(&s->mu);
}

int ll_wsubmit_start(ll_ledger_t *lg, const char *const *specs, size_t n,
                     void (*log_fn)(const char *msg), ll_wsubmit_round_fn on_round,
                     void *round_ctx, ll_wsubmit_t **out)
{
    ll_wsubmit_t *s = calloc(1, sizeof *s);
    int err = LL_ERR_INVALID;
    if (!s || !(s->w = calloc(n ? n : 1, sizeof *s->w))) {
        free(s);
        return LL_ERR_NOMEM;
    }
    s->lg = lg;
    s->log_fn = log_fn;
    s->on_round = on_round;
    s->round_ctx = round_ctx;
    s->n = n;
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(specs[i], '=');
        size_t ul = eq ? (size_t)(eq - specs[i]) : 0;
        while (ul && specs[i][ul - 1] == '/')
            ul--;
        if (!eq || !ul || ul + 20 > sizeof s->w[i].url ||
            ll_cosig_parse_verifier_key(eq + 1, &s->w[i].key)) {
            slog(s, "--witness %s: expected URL=VKEY with the witness's cosignature verifier key",
                 specs[i]);
            goto fail;
        }
        snprintf(s->w[i].url, sizeof s->w[i].url, "%.*s/add-checkpoint", (int)ul, specs[i]);
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (!(s->curl = curl_easy_init())) {
        err = LL_ERR_NOMEM;
        goto fail;
    }
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->target = ll_store_committed_size(ll_ledger_store(lg));
    if ((err = ll_ledger_add_commit_hook(lg, on_commit, s)))
        goto fail_sync;
    if (pthread_create(&s->thread, NULL, submitter, s)) {
        ll_ledger_remove_commit_hook(lg, on_commit, s);
        err = LL_ERR_NOMEM;
        goto fail_sync;
    }
    *out = s;
    return LL_OK;
fail_sync:
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
fail:
    if (s->curl)
        curl_easy_cleanup(s->curl);
    free(s->w);
    free(s);
    return err;
}

void ll_wsubmit_stop(ll_wsubmit_t *s)
{
    if (!s)
        return;
    ll_ledger_remove_commit_hook(s->lg, on_commit, s);
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    curl_easy_cleanup(s->curl);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s->w);
    free(s);
}

int ll_wsubmit_lines(ll_wsubmit_t *s, uint64_t size, char *out, size_t cap)
{
    int n = 0;
    pthread_mutex_lock(&s->mu);
    if (size && size == s->cs_size) {
        size_t have = strlen(out), l = strlen(s->cs_lines);
        if (have + l + 1 > cap) {
            pthread_mutex_unlock(&s->mu);
            return LL_ERR_BUFFER;
        }
        memcpy(out + have, s->cs_lines, l + 1);
        for (size_t i = 0; i < l; i++)
            n += s->cs_lines[i] == '\n';
    }
    pthread_mutex_unlock(&s->mu);
    return n;
}

uint64_t ll_wsubmit_cosigned_size(ll_wsubmit_t *s)
{
    pthread_mutex_lock(&s->mu);
    uint64_t v = s->cs_size;
    pthread_mutex_unlock(&s->mu);
    return v;
}
