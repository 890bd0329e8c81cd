/*
 * ll_mirror: following a primary, verifying everything. See ll_mirror.h.
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

#include "ll_err.h"
#include "ll_merkle.h"
#include "ll_note.h"

#define APPLY_CHUNK 4096 /* leaves in flight to the writer at once */
/* A round whose new leaves fit in this many bytes keeps them from pass 1
 * for pass 2 (a following mirror: one read of the source per round); a
 * longer catch-up streams them twice rather than holding them. */
#define KEEP_MAX (8u << 20) /* default of ll_mirror_config_t.keep_max */

struct ll_mirror {
    ll_ledger_t *lg;
    ll_mirror_source_t src;   /* round thread only */
    char base[PATH_MAX + 16]; /* the source, for messages */
    char state[PATH_MAX];     /* DATA/mirror */
    char name[LL_NOTE_MAX_NAME + 1];
    uint8_t pub[LL_PUBKEY_LEN];
    int interval_ms;
    size_t keep_max;
    void (*log_fn)(const char *msg);
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
    --w->pending;
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

/* Pass 1: the leaf hashes of the new entries, extending the frontier. */
typedef struct hash_pass {
    ll_mirror_t *m;
    ll_merkle_frontier_t f;
    uint8_t (*hashes)[LL_HASH_LEN];
    uint64_t have, next;
    uint8_t *kept; /* the leaves, each after a 4-byte length (NULL: not kept) */
    size_t kept_len, kept_cap;
    int spill;     /* they did not fit in keep_max: stream them again */
} hash_pass_t;

/* Appends leaf to p->kept, or gives up keeping (p->spill). */
static void keep_leaf(hash_pass_t *p, const uint8_t *leaf, size_t len)
{
    if (p->spill)
        return;
    size_t max = p->m->keep_max;
    if (p->kept_len + 4 + len > max) {
        free(p->kept);
        p->kept = NULL;
        p->spill = 1;
        return;
    }
    if (p->kept_len + 4 + len > p->kept_cap) {
        size_t nc = (p->kept_len + 4 + len) * 2;
        uint8_t *nk = realloc(p->kept, nc < max ? nc : max);
        if (!nk) {
            free(p->kept);
            p->kept = NULL;
            p->spill = 1;
            return;
        }
        p->kept = nk;
        p->kept_cap = nc < max ? nc : max;
    }
    uint32_t l = (uint32_t)len;
    memcpy(p->kept + p->kept_len, &l, 4);
    memcpy(p->kept + p->kept_len + 4, leaf, len);
    p->kept_len += 4 + len;
}

static int hash_leaf(void *ctx, uint64_t seq, const uint8_t *leaf, size_t len)
{
    hash_pass_t *p = ctx;
    if (seq != p->next)
        return LL_ERR_INVALID;
    if ((seq & 1023) == 0 && stopping(p->m))
        return LL_ERR_UNAVAILABLE;
    uint8_t *h = p->hashes[seq - p->have];
    ll_merkle_leaf_hash(leaf, len, h);
    ll_merkle_frontier_append(&p->f, h, NULL, NULL);
    keep_leaf(p, leaf, len);
    p->next++;
    return LL_OK;
}

/* Pass 2: each leaf again, checked against its pass-1 hash, into the
 * write path; at most APPLY_CHUNK in flight. */
typedef struct apply_pass {
    ll_mirror_t *m;
    apply_wait_t *w;
    uint8_t (*hashes)[LL_HASH_LEN];
    uint64_t have, next;
} apply_pass_t;

static int apply_leaf(void *ctx, uint64_t seq, const uint8_t *leaf, size_t len)
{
    apply_pass_t *p = ctx;
    uint8_t h[LL_HASH_LEN];
    if (seq != p->next)
        return LL_ERR_INVALID;
    ll_merkle_leaf_hash(leaf, len, h);
    if (memcmp(h, p->hashes[seq - p->have], LL_HASH_LEN))
        return LL_ERR_BAD_PROOF;
    if ((seq & 1023) == 0 && stopping(p->m))
        return LL_ERR_UNAVAILABLE;
    pthread_mutex_lock(&p->w->mu);
    while (p->w->pending >= APPLY_CHUNK)
        pthread_cond_wait(&p->w->cv, &p->w->mu);
    int failed = p->w->err;
    if (!failed)
        p->w->pending++;
    pthread_mutex_unlock(&p->w->mu);
    if (failed)
        return failed;
    p->next++;
    ll_ledger_replicate(p->m->lg, leaf, len, on_applied, p->w);
    return LL_OK;
}

enum ll_mirror_state ll_mirror_round(ll_mirror_t *m)
{
    ll_checkpoint_t cp;
    ll_txn_t *txn = NULL;
    uint8_t root[LL_HASH_LEN];
    hash_pass_t hp = {.m = m};
    enum ll_mirror_state st = LL_MIRROR_UNREACHABLE;
    char note[LL_NOTE_MAX];
    size_t nlen = 0;
    int err;

    if (ll_mirror_diverged(m))
        return LL_MIRROR_DIVERGED;
    if ((err = m->src.checkpoint(m->src.ctx, note, sizeof note, &nlen)))
        goto out;
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
    /* Pass 1: the root of our tree extended by the new leaves must be the
     * checkpoint's. */
    if ((err = ll_merkle_frontier_load(&hp.f, ll_store_node_fn, txn, have)))
        goto out;
    ll_store_abort(txn);
    txn = NULL;
    uint64_t count = cp.size - have;
    if (count && !(hp.hashes = malloc((size_t)count * LL_HASH_LEN)))
        goto out;
    hp.have = hp.next = have;
    if ((err = m->src.leaves(m->src.ctx, have, cp.size, hash_leaf, &hp))) {
        if (err == LL_ERR_INVALID) {
            diverge(m, note, nlen, "the primary's entries after #%" PRIu64 " are malformed or "
                                   "out of order", hp.next);
            st = LL_MIRROR_DIVERGED;
        }
        goto out;
    }
    if (hp.next != cp.size)
        goto out;
    ll_merkle_frontier_root(&hp.f, root);
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
    apply_pass_t ap = {.m = m, .w = &w, .hashes = hp.hashes, .have = have, .next = have};
    if (!count)
        err = LL_OK;
    else if (hp.spill)
        err = m->src.leaves(m->src.ctx, have, cp.size, apply_leaf, &ap);
    else {
        /* Kept from pass 1: the same bytes, still re-hashed by apply_leaf. */
        err = LL_OK;
        for (size_t off = 0; off < hp.kept_len && !err;) {
            uint32_t l;
            memcpy(&l, hp.kept + off, 4);
            err = apply_leaf(&ap, ap.next, hp.kept + off + 4, l);
            off += 4 + l;
        }
    }
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
    if (err == LL_ERR_BAD_PROOF || err == LL_ERR_INVALID) {
        diverge(m, note, nlen, "the primary's entries changed while being read (entry #%" PRIu64
                               ")", ap.next);
        st = LL_MIRROR_DIVERGED;
        goto out;
    }
    if (err || ap.next != cp.size)
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
    free(hp.hashes);
    free(hp.kept);
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
    int err = LL_ERR_INVALID;
    if (!m) {
        if (cfg->source.free)
            cfg->source.free(cfg->source.ctx);
        return LL_ERR_NOMEM;
    }
    m->src = cfg->source;
    m->lg = lg;
    m->log_fn = cfg->log_fn;
    m->interval_ms = cfg->interval_ms > 0 ? cfg->interval_ms : 200;
    m->keep_max = cfg->keep_max ? cfg->keep_max : KEEP_MAX;
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
    if (!cfg->from || !*cfg->from || !m->src.checkpoint || !m->src.leaves) {
        mlog(m, "mirror: --from needs the primary's tiles URL or directory, or its gRPC address");
        goto fail;
    }
    snprintf(m->base, sizeof m->base, "%s", cfg->from);
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
    *out = m;
    return LL_OK;
fail:
    if (m->src.free)
        m->src.free(m->src.ctx);
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
    if (m->src.free)
        m->src.free(m->src.ctx);
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
