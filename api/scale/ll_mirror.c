/*
 * ll_mirror: following a primary's tlog-tiles. See ll_mirror.h.
 */
#include "ll_mirror.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "ll_err.h"
#include "ll_merkle.h"
#include "ll_note.h"
#include "ll_tiles.h"

#define APPLY_CHUNK 4096 /* leaves in flight to the writer at once */

struct ll_mirror {
    ll_ledger_t *lg;
    char base[PATH_MAX + 16]; /* URL prefix ending in '/' */
    char state[PATH_MAX];     /* DATA/mirror */
    char name[LL_NOTE_MAX_NAME + 1];
    uint8_t pub[LL_PUBKEY_LEN];
    int interval_ms;
    void (*log_fn)(const char *msg);
    CURL *curl; /* round thread only */
    pthread_t thread;
    int started;
    pthread_mutex_t mu; /* guards the fields below */
    pthread_cond_t cv;
    int stop, diverged;
    char note[LL_NOTE_MAX]; /* latest verified checkpoint note ("" = none) */
    size_t note_len;
    ll_checkpoint_t cp;
    uint64_t seen; /* largest signed checkpoint size seen */
};

static void mlog(ll_mirror_t *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void mlog(ll_mirror_t *m, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (m->log_fn)
        m->log_fn(msg);
}

static int write_state(const char *dir, const char *file, const char *data, size_t len)
{
    char p[PATH_MAX + 32], t[PATH_MAX + 40];
    int fd, ok;
    snprintf(p, sizeof p, "%s/%s", dir, file);
    snprintf(t, sizeof t, "%s.tmp", p);
    if ((fd = open(t, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
        return LL_ERR_IO;
    ok = write(fd, data, len) == (ssize_t)len && !fsync(fd);
    ok = !close(fd) && ok && !rename(t, p);
    return ok ? LL_OK : LL_ERR_IO;
}

/* Reads DIR/file into buf[cap] (NUL-terminated); length or -1. */
static long read_state(const char *dir, const char *file, char *buf, size_t cap)
{
    char p[PATH_MAX + 32];
    snprintf(p, sizeof p, "%s/%s", dir, file);
    FILE *f = fopen(p, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = 0;
    return (long)n;
}

/* Verifies a note against the pinned key and parses its checkpoint. */
static int open_note(ll_mirror_t *m, const char *note, size_t len, ll_checkpoint_t *cp)
{
    size_t blen;
    int err = ll_note_verify(note, len, m->name, m->pub, &blen);
    if (err)
        return err;
    if (ll_checkpoint_parse(note, blen, cp) || strcmp(cp->origin, m->name))
        return LL_ERR_INVALID;
    return LL_OK;
}

typedef struct buf {
    uint8_t *d;
    size_t len, cap;
} buf_t;

static size_t on_data(char *p, size_t sz, size_t nm, void *ctx)
{
    buf_t *b = ctx;
    size_t n = sz * nm;
    if (b->len + n > (16u << 20))
        return 0; /* no resource of a tile log is this large */
    if (b->len + n + 1 > b->cap) {
        size_t nc = (b->len + n + 1) * 2;
        uint8_t *nd = realloc(b->d, nc);
        if (!nd)
            return 0;
        b->d = nd;
        b->cap = nc;
    }
    memcpy(b->d + b->len, p, n);
    b->len += n;
    b->d[b->len] = 0;
    return n;
}

/* GET base+rel into b. LL_OK, LL_ERR_NOT_FOUND (404 / no such file), or
 * LL_ERR_UNAVAILABLE. */
static int fetch(ll_mirror_t *m, const char *rel, buf_t *b)
{
    char url[sizeof m->base + LL_TILES_PATH_MAX];
    long code = 0;
    b->len = 0;
    snprintf(url, sizeof url, "%s%s", m->base, rel);
    curl_easy_reset(m->curl);
    curl_easy_setopt(m->curl, CURLOPT_URL, url);
    curl_easy_setopt(m->curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(m->curl, CURLOPT_WRITEDATA, b);
    curl_easy_setopt(m->curl, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(m->curl, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
    curl_easy_setopt(m->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(m->curl, CURLOPT_ACCEPT_ENCODING, ""); /* gzip'd bundles */
    CURLcode rc = curl_easy_perform(m->curl);
    if (rc == CURLE_FILE_COULDNT_READ_FILE)
        return LL_ERR_NOT_FOUND;
    if (rc != CURLE_OK)
        return LL_ERR_UNAVAILABLE;
    curl_easy_getinfo(m->curl, CURLINFO_RESPONSE_CODE, &code);
    if (code == 404)
        return LL_ERR_NOT_FOUND;
    if (code != 200 && code != 0) /* 0: file:// */
        return LL_ERR_UNAVAILABLE;
    return LL_OK;
}

/* Fetches the bundle holding entries [n*256, n*256+width) of a tree that
 * has them; falls back to the full bundle when the partial is gone.
 * Splits it into leaves (pointers into b). */
static int fetch_bundle(ll_mirror_t *m, uint64_t n, unsigned width, buf_t *b,
                        const uint8_t **leaf, size_t *len)
{
    char rel[LL_TILES_PATH_MAX];
    ll_tile_t t = {.level = LL_TILES_ENTRIES, .index = n, .width = width};
    int err;
    ll_tiles_path(&t, rel, sizeof rel);
    err = fetch(m, rel, b);
    if (err == LL_ERR_NOT_FOUND && width < LL_TILES_WIDTH) {
        t.width = LL_TILES_WIDTH;
        ll_tiles_path(&t, rel, sizeof rel);
        err = fetch(m, rel, b);
    }
    if (err)
        return err;
    size_t off = 0;
    for (unsigned i = 0; i < width; i++) {
        if (off + 2 > b->len)
            return LL_ERR_INVALID;
        size_t l = (size_t)b->d[off] << 8 | b->d[off + 1];
        if (off + 2 + l > b->len)
            return LL_ERR_INVALID;
        leaf[i] = b->d + off + 2;
        len[i] = l;
        off += 2 + l;
    }
    return LL_OK;
}

/* Writes DATA/mirror/evidence, logs, stops following. */
static void diverge(ll_mirror_t *m, const char *new_note, size_t new_len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void diverge(ll_mirror_t *m, const char *new_note, size_t new_len, const char *fmt, ...)
{
    char why[1024], *doc;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    size_t cap = sizeof why + 2 * LL_NOTE_MAX + 256;
    if ((doc = malloc(cap))) {
        int n = snprintf(doc, cap,
                         "why: %s\n\n-- checkpoint verified and held by this mirror:\n%s\n"
                         "-- checkpoint the primary served:\n%.*s",
                         why, m->note[0] ? m->note : "(none yet)\n", (int)new_len,
                         new_note ? new_note : "");
        write_state(m->state, "evidence", doc, n > 0 ? (size_t)n : 0);
        free(doc);
    }
    mlog(m, "mirror: STOPPED FOLLOWING %s: %s; evidence in %s/evidence; still serving %" PRIu64
            " verified entries",
         m->base, why, m->state, m->cp.size);
    pthread_mutex_lock(&m->mu);
    m->diverged = 1;
    pthread_mutex_unlock(&m->mu);
}

typedef struct apply_wait {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t pending;
    int err;
    char msg[LL_MSG_MAX];
    uint64_t seq;
} apply_wait_t;

static void on_applied(void *ctx, const ll_append_result_t *r)
{
    apply_wait_t *w = ctx;
    pthread_mutex_lock(&w->mu);
    if (r->err && !w->err) {
        w->err = r->err;
        snprintf(w->msg, sizeof w->msg, "%s", r->msg);
        w->seq = r->seq;
    }
    if (--w->pending == 0)
        pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

/* 1 once ll_mirror_close asked the thread to stop: a long catch-up ends
 * at the next bundle (nothing half-applied: what was applied is a prefix
 * of a verified tree, and the next round resumes from it). */
static int stopping(ll_mirror_t *m)
{
    pthread_mutex_lock(&m->mu);
    int s = m->stop;
    pthread_mutex_unlock(&m->mu);
    return s;
}

enum ll_mirror_state ll_mirror_round(ll_mirror_t *m)
{
    buf_t b = {0};
    ll_checkpoint_t cp;
    ll_txn_t *txn = NULL;
    uint8_t (*hashes)[LL_HASH_LEN] = NULL, root[LL_HASH_LEN];
    const uint8_t *leaf[LL_TILES_WIDTH];
    size_t llen[LL_TILES_WIDTH];
    enum ll_mirror_state st = LL_MIRROR_UNREACHABLE;
    char note[LL_NOTE_MAX];
    int err;

    if (ll_mirror_diverged(m))
        return LL_MIRROR_DIVERGED;
    if ((err = fetch(m, "checkpoint", &b)))
        goto out;
    size_t nlen = b.len < sizeof note - 1 ? b.len : sizeof note - 1;
    memcpy(note, b.d, nlen);
    note[nlen] = 0;
    if ((err = open_note(m, note, nlen, &cp))) {
        diverge(m, note, nlen, "the primary's checkpoint does not verify with the pinned key %s "
                               "(%s): signed by an unknown key, or not a checkpoint",
                m->name, ll_strerror(err));
        st = LL_MIRROR_DIVERGED;
        goto out;
    }
    if (cp.size > m->seen) {
        write_state(m->state, "seen", note, nlen);
        pthread_mutex_lock(&m->mu);
        m->seen = cp.size;
        pthread_mutex_unlock(&m->mu);
    }
    if ((err = ll_store_begin_read(ll_ledger_store(m->lg), &txn)))
        goto out;
    uint64_t have = ll_store_size(txn);
    if (cp.size < have) {
        diverge(m, note, nlen, "rewind: the primary serves size %" PRIu64 " after this mirror "
                               "verified %" PRIu64, cp.size, have);
        st = LL_MIRROR_DIVERGED;
        goto out;
    }
    /* Pass 1: the leaf hashes of the new entries, and the root of our tree
     * extended by them, which must be the checkpoint's. */
    ll_merkle_frontier_t f;
    if ((err = ll_merkle_frontier_load(&f, ll_store_node_fn, txn, have)))
        goto out;
    ll_store_abort(txn);
    txn = NULL;
    uint64_t count = cp.size - have;
    if (count && !(hashes = malloc((size_t)count * LL_HASH_LEN)))
        goto out;
    for (uint64_t s = have; s < cp.size;) {
        uint64_t n = s / LL_TILES_WIDTH, end = (n + 1) * LL_TILES_WIDTH;
        unsigned width = end <= cp.size ? LL_TILES_WIDTH : (unsigned)(cp.size - n * LL_TILES_WIDTH);
        if (stopping(m))
            goto out;
        if ((err = fetch_bundle(m, n, width, &b, leaf, llen))) {
            if (err == LL_ERR_INVALID) {
                diverge(m, note, nlen, "entry bundle %" PRIu64 " is malformed", n);
                st = LL_MIRROR_DIVERGED;
            }
            goto out;
        }
        for (; s < n * LL_TILES_WIDTH + width; s++) {
            uint8_t *h = hashes[s - have];
            ll_merkle_leaf_hash(leaf[s % LL_TILES_WIDTH], llen[s % LL_TILES_WIDTH], h);
            ll_merkle_frontier_append(&f, h, NULL, NULL);
        }
    }
    ll_merkle_frontier_root(&f, root);
    if (memcmp(root, cp.root, LL_HASH_LEN)) {
        char hx[2 * LL_HASH_LEN + 1];
        ll_hex_encode(root, LL_HASH_LEN, hx);
        diverge(m, note, nlen,
                "fork: the %" PRIu64 " entries this mirror verified followed by the primary's "
                "entries %" PRIu64 "..%" PRIu64 " have root %s, not the signed checkpoint's: the "
                "checkpoint is not consistent with the one held",
                have, have, cp.size, hx);
        st = LL_MIRROR_DIVERGED;
        goto out;
    }
    /* Pass 2: apply through the write path, re-checking every leaf. */
    apply_wait_t w = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    for (uint64_t s = have; s < cp.size && !w.err;) {
        uint64_t n = s / LL_TILES_WIDTH, end = (n + 1) * LL_TILES_WIDTH;
        unsigned width = end <= cp.size ? LL_TILES_WIDTH : (unsigned)(cp.size - n * LL_TILES_WIDTH);
        if (stopping(m)) {
            err = LL_ERR_UNAVAILABLE;
            goto wait;
        }
        if ((err = fetch_bundle(m, n, width, &b, leaf, llen)))
            goto wait;
        for (; s < n * LL_TILES_WIDTH + width; s++) {
            uint8_t h[LL_HASH_LEN];
            const uint8_t *l = leaf[s % LL_TILES_WIDTH];
            size_t ll = llen[s % LL_TILES_WIDTH];
            ll_merkle_leaf_hash(l, ll, h);
            if (memcmp(h, hashes[s - have], LL_HASH_LEN)) {
                err = LL_ERR_BAD_PROOF;
                goto wait;
            }
            pthread_mutex_lock(&w.mu);
            w.pending++;
            pthread_mutex_unlock(&w.mu);
            ll_ledger_replicate(m->lg, l, ll, on_applied, &w);
        }
        pthread_mutex_lock(&w.mu);
        while (w.pending > APPLY_CHUNK)
            pthread_cond_wait(&w.cv, &w.mu);
        pthread_mutex_unlock(&w.mu);
    }
wait:
    pthread_mutex_lock(&w.mu);
    while (w.pending)
        pthread_cond_wait(&w.cv, &w.mu);
    pthread_mutex_unlock(&w.mu);
    if (w.err) {
        diverge(m, note, nlen, "the primary's entry #%" PRIu64 " is refused by the write path: "
                               "%s (%s)", w.seq, w.msg, ll_strerror(w.err));
        st = LL_MIRROR_DIVERGED;
        goto out;
    }
    if (err == LL_ERR_BAD_PROOF) {
        diverge(m, note, nlen, "the primary's entry bundles changed while being read");
        st = LL_MIRROR_DIVERGED;
        goto out;
    }
    if (err)
        goto out;
    if (count || !m->note[0]) {
        write_state(m->state, "checkpoint", note, nlen);
        pthread_mutex_lock(&m->mu);
        memcpy(m->note, note, nlen + 1);
        m->note_len = nlen;
        m->cp = cp;
        pthread_mutex_unlock(&m->mu);
    }
    st = LL_MIRROR_CAUGHT_UP;
out:
    ll_store_abort(txn);
    free(hashes);
    free(b.d);
    return st;
}

static void *follower(void *arg)
{
    ll_mirror_t *m = arg;
    int was_down = 0;
    for (;;) {
        enum ll_mirror_state st = ll_mirror_round(m);
        if (st == LL_MIRROR_DIVERGED)
            break;
        if (st == LL_MIRROR_UNREACHABLE && !was_down)
            mlog(m, "mirror: %s unreachable; retrying", m->base);
        was_down = st == LL_MIRROR_UNREACHABLE;
        struct timespec dl;
        clock_gettime(CLOCK_REALTIME, &dl);
        dl.tv_nsec += (long)m->interval_ms * 1000000L;
        dl.tv_sec += dl.tv_nsec / 1000000000L;
        dl.tv_nsec %= 1000000000L;
        pthread_mutex_lock(&m->mu);
        if (!m->stop)
            pthread_cond_timedwait(&m->cv, &m->mu, &dl);
        int stop = m->stop;
        pthread_mutex_unlock(&m->mu);
        if (stop)
            break;
    }
    return NULL;
}

int ll_mirror_open(ll_ledger_t *lg, const ll_mirror_config_t *cfg, ll_mirror_t **out)
{
    ll_mirror_t *m = calloc(1, sizeof *m);
    char abs[PATH_MAX];
    int err = LL_ERR_INVALID;
    if (!m)
        return LL_ERR_NOMEM;
    m->lg = lg;
    m->log_fn = cfg->log_fn;
    m->interval_ms = cfg->interval_ms > 0 ? cfg->interval_ms : 200;
    pthread_mutex_init(&m->mu, NULL);
    pthread_cond_init(&m->cv, NULL);
    if (!cfg->vkey || ll_note_parse_verifier_key(cfg->vkey, m->name, sizeof m->name, m->pub)) {
        mlog(m, "mirror: --vkey must be the primary's verifier key (loopledgerd verifier-key)");
        goto fail;
    }
    if (strcmp(m->name, ll_ledger_origin(lg))) {
        mlog(m, "mirror: %s holds ledger \"%s\", not \"%s\"", cfg->data, ll_ledger_origin(lg),
             m->name);
        goto fail;
    }
    if (!cfg->from || !*cfg->from) {
        mlog(m, "mirror: --from needs the primary's tiles URL or directory");
        goto fail;
    }
    if (strstr(cfg->from, "://"))
        snprintf(m->base, sizeof m->base, "%s", cfg->from);
    else if (realpath(cfg->from, abs))
        snprintf(m->base, sizeof m->base, "file://%s", abs);
    else {
        mlog(m, "mirror: --from %s: %s", cfg->from, strerror(errno));
        goto fail;
    }
    if (m->base[strlen(m->base) - 1] != '/')
        strcat(m->base, "/");
    snprintf(m->state, sizeof m->state, "%s/mirror", cfg->data);
    if (mkdir(m->state, 0700) && errno != EEXIST) {
        err = LL_ERR_IO;
        goto fail;
    }
    write_state(m->state, "source", m->base, strlen(m->base));
    char tmp[LL_NOTE_MAX];
    long n;
    if ((n = read_state(m->state, "checkpoint", m->note, sizeof m->note)) > 0) {
        /* Trust our own verified note only if our tree still matches it. */
        ll_txn_t *txn;
        uint8_t r[LL_HASH_LEN];
        m->note_len = (size_t)n;
        if (open_note(m, m->note, m->note_len, &m->cp) || ll_store_begin_read(ll_ledger_store(lg), &txn)) {
            mlog(m, "mirror: %s/checkpoint does not verify", m->state);
            goto fail;
        }
        err = m->cp.size > ll_store_size(txn) || ll_store_root(txn, m->cp.size, r) ||
              memcmp(r, m->cp.root, LL_HASH_LEN);
        ll_store_abort(txn);
        if (err) {
            mlog(m, "mirror: the tree in %s disagrees with its verified checkpoint", cfg->data);
            err = LL_ERR_CORRUPT;
            goto fail;
        }
    } else {
        m->note[0] = 0;
    }
    ll_checkpoint_t seen;
    if ((n = read_state(m->state, "seen", tmp, sizeof tmp)) > 0 &&
        !open_note(m, tmp, (size_t)n, &seen))
        m->seen = seen.size;
    if (read_state(m->state, "evidence", tmp, sizeof tmp) >= 0) {
        mlog(m, "mirror: %s/evidence exists: this mirror stopped following after a divergence; "
                "serving what it verified (remove the file to follow again)", m->state);
        m->diverged = 1;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (!(m->curl = curl_easy_init())) {
        err = LL_ERR_NOMEM;
        goto fail;
    }
    *out = m;
    return LL_OK;
fail:
    pthread_mutex_destroy(&m->mu);
    pthread_cond_destroy(&m->cv);
    free(m);
    return err ? err : LL_ERR_INVALID;
}

int ll_mirror_start(ll_mirror_t *m)
{
    if (pthread_create(&m->thread, NULL, follower, m))
        return LL_ERR_NOMEM;
    m->started = 1;
    return LL_OK;
}

void ll_mirror_close(ll_mirror_t *m)
{
    if (!m)
        return;
    if (m->started) {
        pthread_mutex_lock(&m->mu);
        m->stop = 1;
        pthread_cond_broadcast(&m->cv);
        pthread_mutex_unlock(&m->mu);
        pthread_join(m->thread, NULL);
    }
    curl_easy_cleanup(m->curl);
    pthread_mutex_destroy(&m->mu);
    pthread_cond_destroy(&m->cv);
    free(m);
}

int ll_mirror_diverged(ll_mirror_t *m)
{
    pthread_mutex_lock(&m->mu);
    int d = m->diverged;
    pthread_mutex_unlock(&m->mu);
    return d;
}

int ll_mirror_checkpoint(void *ctx, uint64_t size, char *note, size_t cap, size_t *note_len,
                         uint64_t *out_size, uint8_t root[32])
{
    ll_mirror_t *m = ctx;
    int err = LL_OK;
    pthread_mutex_lock(&m->mu);
    if (!m->note[0])
        err = LL_ERR_UNAVAILABLE;
    else if (size && size != m->cp.size)
        err = LL_ERR_RANGE;
    else if (m->note_len >= cap)
        err = LL_ERR_BUFFER;
    else {
        memcpy(note, m->note, m->note_len + 1);
        *note_len = m->note_len;
        *out_size = m->cp.size;
        memcpy(root, m->cp.root, LL_HASH_LEN);
    }
    pthread_mutex_unlock(&m->mu);
    return err;
}

int ll_mirror_is_mirror_dir(const char *data)
{
    char p[PATH_MAX + 32];
    snprintf(p, sizeof p, "%s/mirror/source", data);
    return access(p, F_OK) == 0;
}

int ll_mirror_promote(const char *data, uint64_t size, int force, void (*log_fn)(const char *msg))
{
    char dir[PATH_MAX + 16], to[PATH_MAX + 64], note[LL_NOTE_MAX], msg[2 * PATH_MAX + 512];
    ll_checkpoint_t seen = {0};
    snprintf(dir, sizeof dir, "%s/mirror", data);
    if (!ll_mirror_is_mirror_dir(data)) {
        snprintf(msg, sizeof msg, "promote: %s is not a mirror's data directory", data);
        log_fn(msg);
        return LL_ERR_PRECONDITION;
    }
    long n = read_state(dir, "seen", note, sizeof note);
    const char *sep = n > 0 ? strstr(note, "\n\n") : NULL;
    if (sep)
        ll_checkpoint_parse(note, (size_t)(sep - note) + 1, &seen);
    if (seen.size > size && !force) {
        snprintf(msg, sizeof msg,
                 "promote: REFUSED: this mirror holds %" PRIu64 " entries but has seen the "
                 "primary sign a checkpoint of %" PRIu64 "; promoting it would lose entries "
                 "%" PRIu64 "..%" PRIu64 " that clients may hold proofs for. Catch up first "
                 "(loopledgerd mirror --once) or give --force to accept the loss",
                 size, seen.size, size, seen.size - 1);
        log_fn(msg);
        return LL_ERR_PRECONDITION;
    }
    snprintf(to, sizeof to, "%s/mirror.promoted-%ld", data, (long)time(NULL));
    if (rename(dir, to)) {
        snprintf(msg, sizeof msg, "promote: cannot retire %s: %s", dir, strerror(errno));
        log_fn(msg);
        return LL_ERR_IO;
    }
    snprintf(msg, sizeof msg, "promoted %s at %" PRIu64 " entries (last signed checkpoint seen: "
             "%" PRIu64 "); mirror state kept in %s", data, size, seen.size, to);
    log_fn(msg);
    return LL_OK;
}
