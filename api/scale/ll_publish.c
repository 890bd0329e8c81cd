/*
 * ll_publish: the tlog-tiles publisher thread. See ll_publish.h.
 */
#include "ll_publish.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ll_clock.h"
#include "ll_err.h"
#include "ll_note.h"
#include "ll_tiles.h"

struct ll_publish {
    ll_ledger_t *lg;
    char dir[4096];
    void (*log_fn)(const char *msg);
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;     /* wakes the publisher: target moved or stop */
    pthread_cond_t done;   /* wakes ll_publish_wait: published moved */
    uint64_t target;       /* latest committed size seen by the hook */
    uint64_t tiled;        /* size whose tiles and bundles are all written */
    uint64_t published;    /* size of the last checkpoint written */
    int stop, failed;
    int witnessed;         /* checkpoints come from ll_publish_checkpoint */
    char *pending;         /* its latest note not yet written (NULL: none) */
    size_t pending_len;
    uint64_t pending_size;
    uint8_t *buf;          /* tile or bundle being assembled */
    size_t bufcap;
};

static void plog(ll_publish_t *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void plog(ll_publish_t *p, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (p->log_fn)
        p->log_fn(msg);
}

const char *ll_publish_cache_control(const char *path)
{
    ll_tile_t t;
    if (!strcmp(path, "checkpoint"))
        return "no-cache";
    if (ll_tiles_path_parse(path, &t))
        return NULL;
    return t.width == LL_TILES_WIDTH ? "public, max-age=31536000, immutable"
                                     : "public, max-age=60";
}

/* mkdir -p of the parent directories of path (relative to p->dir). */
static int make_parents(ll_publish_t *p, const char *full)
{
    char buf[4096 + LL_TILES_PATH_MAX];
    size_t base = strlen(p->dir);
    snprintf(buf, sizeof buf, "%s", full);
    for (char *s = buf + base + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = 0;
        if (mkdir(buf, 0755) && errno != EEXIST)
            return LL_ERR_IO;
        *s = '/';
    }
    return LL_OK;
}

/* Writes data to DIR/rel atomically: temp file, fdatasync, rename. */
static int write_atomic(ll_publish_t *p, const char *rel, const void *data, size_t len)
{
    char path[4096 + LL_TILES_PATH_MAX], tmp[sizeof path + 16];
    int fd = -1, err = LL_ERR_IO;
    snprintf(path, sizeof path, "%s/%s", p->dir, rel);
    snprintf(tmp, sizeof tmp, "%s.tmp%d", path, (int)getpid());
    if (make_parents(p, path))
        goto out;
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
        goto out;
    /* The daemon's umask is 077; the tiles are public. */
    if (fchmod(fd, 0644))
        goto out;
    for (size_t off = 0; off < len;) {
        ssize_t n = write(fd, (const uint8_t *)data + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            goto out;
        off += (size_t)n;
    }
    if (fdatasync(fd) || close(fd)) {
        fd = -1;
        goto out;
    }
    fd = -1;
    if (rename(tmp, path))
        goto out;
    err = LL_OK;
out:
    if (err)
        plog(p, "tiles: writing %s: %s", path, strerror(errno));
    if (fd >= 0)
        close(fd);
    if (err)
        unlink(tmp);
    return err;
}

/* Deletes DIR/<path of full tile t>.p/ and the partials in it. */
static void drop_partials(ll_publish_t *p, const char *rel)
{
    char d[4096 + LL_TILES_PATH_MAX + 4], f[sizeof d + 8];
    snprintf(d, sizeof d, "%s/%s.p", p->dir, rel);
    for (unsigned w = 1; w < LL_TILES_WIDTH; w++) {
        snprintf(f, sizeof f, "%s/%u", d, w);
        unlink(f);
    }
    rmdir(d);
}

typedef struct pass {
    ll_publish_t *p;
    ll_txn_t *txn;
} pass_t;

static int grow(ll_publish_t *p, size_t need)
{
    if (need <= p->bufcap)
        return LL_OK;
    uint8_t *nb = realloc(p->buf, need);
    if (!nb)
        return LL_ERR_NOMEM;
    p->buf = nb;
    p->bufcap = need;
    return LL_OK;
}

static int write_resource(void *ctx, const ll_tile_t *t)
{
    pass_t *ps = ctx;
    ll_publish_t *p = ps->p;
    char rel[LL_TILES_PATH_MAX];
    size_t len = 0;
    int err;
    if ((err = ll_tiles_path(t, rel, sizeof rel)))
        return err;
    if (t->level == LL_TILES_ENTRIES) {
        for (unsigned i = 0; i < t->width; i++) {
            uint64_t seq = t->index * LL_TILES_WIDTH + i;
            const uint8_t *leaf;
            size_t ll;
            if ((err = ll_store_leaf(ps->txn, seq, &leaf, &ll)))
                return err;
            if (ll > LL_TILES_MAX_ENTRY) {
                plog(p, "tiles: entry #%" PRIu64 " is %zu bytes, more than a tlog-tiles entry "
                        "bundle can hold (%d); publishing stops before it",
                     seq, ll, LL_TILES_MAX_ENTRY);
                return LL_ERR_TOO_LARGE;
            }
            if ((err = grow(p, len + 2 + ll)))
                return err;
            p->buf[len] = (uint8_t)(ll >> 8);
            p->buf[len + 1] = (uint8_t)ll;
            memcpy(p->buf + len + 2, leaf, ll);
            len += 2 + ll;
        }
    } else {
        len = (size_t)t->width * LL_HASH_LEN;
        if ((err = grow(p, len)) ||
            (err = ll_tiles_hash_tile(ll_store_node_fn, ps->txn, t, p->buf)))
            return err;
    }
    if ((err = write_atomic(p, rel, p->buf, len)))
        return err;
    if (t->width == LL_TILES_WIDTH)
        drop_partials(p, rel);
    return LL_OK;
}

/* Writes the pending witnessed checkpoint when its tiles are there.
 * Publisher thread; called with p->mu held, returns with it held. */
static int publish_pending(ll_publish_t *p)
{
    int err = LL_OK;
    if (!p->pending || p->pending_size > p->tiled)
        return LL_OK;
    char *note = p->pending;
    size_t len = p->pending_len;
    uint64_t size = p->pending_size;
    p->pending = NULL;
    pthread_mutex_unlock(&p->mu);
    err = write_atomic(p, "checkpoint", note, len);
    free(note);
    pthread_mutex_lock(&p->mu);
    if (!err && size > p->published) {
        p->published = size;
        pthread_cond_broadcast(&p->done);
    }
    return err;
}

/* Publishes from p->tiled up to the snapshot's size. */
static int publish_pass(ll_publish_t *p)
{
    ll_txn_t *txn = NULL;
    char note[LL_NOTE_MAX];
    size_t nlen;
    uint64_t size, cps;
    uint8_t root[LL_HASH_LEN];
    int err;
    if ((err = ll_store_begin_read(ll_ledger_store(p->lg), &txn)))
        return err;
    size = ll_store_size(txn);
    pthread_mutex_lock(&p->mu);
    uint64_t from = p->tiled;
    int witnessed = p->witnessed;
    pthread_mutex_unlock(&p->mu);
    if (size <= from)
        goto out;
    pass_t ps = {p, txn};
    if ((err = ll_tiles_changed(from, size, write_resource, &ps)))
        goto out;
    pthread_mutex_lock(&p->mu);
    p->tiled = size;
    pthread_mutex_unlock(&p->mu);
    if (witnessed)
        goto out; /* the checkpoint comes from the witness rounds */
    if ((err = ll_ledger_checkpoint(p->lg, txn, size, note, sizeof note, &nlen, &cps, root))) {
        plog(p, "tiles: signing checkpoint %" PRIu64 ": %s", size, ll_strerror(err));
        goto out;
    }
    if ((err = write_atomic(p, "checkpoint", note, nlen)))
        goto out;
    pthread_mutex_lock(&p->mu);
    p->published = size;
    pthread_cond_broadcast(&p->done);
    pthread_mutex_unlock(&p->mu);
out:
    ll_store_abort(txn);
    return err;
}

static void *publisher(void *arg)
{
    ll_publish_t *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && p->target <= p->tiled &&
               !(p->pending && p->pending_size <= p->tiled))
            pthread_cond_wait(&p->cv, &p->mu);
        if (p->stop)
            break;
        int err = LL_OK;
        if (p->target > p->tiled) {
            pthread_mutex_unlock(&p->mu);
            err = publish_pass(p);
            pthread_mutex_lock(&p->mu);
        }
        if (!err)
            err = publish_pending(p);
        if (err) {
            /* Not retried in a loop: a full disk or an oversized leaf does
             * not heal by itself; the log says what to do. */
            p->failed = 1;
            pthread_cond_broadcast(&p->done);
            plog(p, "tiles: publishing stopped at size %" PRIu64 ": %s", p->published,
                 ll_strerror(err));
            while (!p->stop)
                pthread_cond_wait(&p->cv, &p->mu);
            break;
        }
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static void on_commit(void *ctx, uint64_t new_size)
{
    ll_publish_t *p = ctx;
    pthread_mutex_lock(&p->mu);
    if (new_size > p->target) {
        p->target = new_size;
        pthread_cond_signal(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
}

/* Reads DIR/checkpoint into p->published (see ll_publish.h, Restart). */
static int resume_point(ll_publish_t *p)
{
    char path[4096 + 16], note[LL_NOTE_MAX + 1];
    ll_checkpoint_t cp;
    ll_txn_t *txn = NULL;
    uint8_t root[LL_HASH_LEN];
    int err;
    snprintf(path, sizeof path, "%s/checkpoint", p->dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        p->published = p->tiled = 0;
        return errno == ENOENT ? LL_OK : LL_ERR_IO;
    }
    size_t n = fread(note, 1, LL_NOTE_MAX, f);
    fclose(f);
    note[n] = 0;
    const char *blank = strstr(note, "\n\n");
    if (!blank || ll_checkpoint_parse(note, (size_t)(blank - note + 1), &cp)) {
        plog(p, "tiles: %s is not a checkpoint; move the directory away or give another --tiles",
             path);
        return LL_ERR_PRECONDITION;
    }
    if (strcmp(cp.origin, ll_ledger_origin(p->lg))) {
        plog(p, "tiles: %s is the checkpoint of log \"%s\", not of \"%s\"; give another --tiles",
             path, cp.origin, ll_ledger_origin(p->lg));
        return LL_ERR_PRECONDITION;
    }
    if ((err = ll_store_begin_read(ll_ledger_store(p->lg), &txn)))
        return err;
    if (cp.size > ll_store_size(txn) || ll_store_root(txn, cp.size, root) ||
        memcmp(root, cp.root, LL_HASH_LEN)) {
        plog(p, "tiles: %s (size %" PRIu64 ") does not match this ledger's tree; "
                "the directory holds another history: give another --tiles",
             path, cp.size);
        err = LL_ERR_PRECONDITION;
    } else {
        p->published = p->tiled = cp.size;
    }
    ll_store_abort(txn);
    return err;
}

int ll_publish_start(ll_ledger_t *lg, const char *dir, int witnessed,
                     void (*log_fn)(const char *msg), ll_publish_t **out)
{
    ll_publish_t *p = calloc(1, sizeof *p);
    int err;
    if (!p)
        return LL_ERR_NOMEM;
    p->lg = lg;
    p->log_fn = log_fn;
    p->witnessed = witnessed;
    if (strlen(dir) >= sizeof p->dir - LL_TILES_PATH_MAX) {
        free(p);
        return LL_ERR_INVALID;
    }
    snprintf(p->dir, sizeof p->dir, "%s", dir);
    if (mkdir(dir, 0755) && errno != EEXIST) {
        plog(p, "tiles: cannot create %s: %s", dir, strerror(errno));
        free(p);
        return LL_ERR_IO;
    }
    chmod(dir, 0755);
    if ((err = resume_point(p))) {
        free(p);
        return err;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    pthread_cond_init(&p->done, NULL);
    p->target = ll_store_committed_size(ll_ledger_store(lg));
    if ((err = ll_ledger_add_commit_hook(lg, on_commit, p)))
        goto fail;
    if (pthread_create(&p->thread, NULL, publisher, p)) {
        ll_ledger_remove_commit_hook(lg, on_commit, p);
        err = LL_ERR_NOMEM;
        goto fail;
    }
    *out = p;
    return LL_OK;
fail:
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    pthread_cond_destroy(&p->done);
    free(p);
    return err;
}

void ll_publish_stop(ll_publish_t *p)
{
    if (!p)
        return;
    ll_ledger_remove_commit_hook(p->lg, on_commit, p);
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    pthread_cond_destroy(&p->done);
    free(p->pending);
    free(p->buf);
    free(p);
}

void ll_publish_checkpoint(ll_publish_t *p, uint64_t size, const char *note, size_t len)
{
    char *copy;
    pthread_mutex_lock(&p->mu);
    if (size <= p->published || (p->pending && size < p->pending_size) ||
        !(copy = malloc(len ? len : 1))) {
        pthread_mutex_unlock(&p->mu);
        return;
    }
    memcpy(copy, note, len);
    free(p->pending);
    p->pending = copy;
    p->pending_len = len;
    p->pending_size = size;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

const char *ll_publish_dir(ll_publish_t *p)
{
    return p->dir;
}

uint64_t ll_publish_size(ll_publish_t *p)
{
    pthread_mutex_lock(&p->mu);
    uint64_t s = p->published;
    pthread_mutex_unlock(&p->mu);
    return s;
}

int ll_publish_wait(ll_publish_t *p, uint64_t size, int timeout_ms)
{
    int err = LL_OK;
    struct timespec dl = ll_clock_deadline(timeout_ms > 0 ? (uint64_t)timeout_ms * 1000000u : 0);
    pthread_mutex_lock(&p->mu);
    while (p->published < size && !p->failed && !err)
        if (pthread_cond_timedwait(&p->done, &p->mu, &dl))
            err = LL_ERR_UNAVAILABLE;
    if (p->published < size)
        err = LL_ERR_UNAVAILABLE;
    pthread_mutex_unlock(&p->mu);
    return err;
}
