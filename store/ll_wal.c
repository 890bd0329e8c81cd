/*
 * ll_wal: segments of group-commit frames (ll_wal.h).
 */
#include "ll_wal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ll_bytes.h"
#include "ll_crypto.h"
#include "ll_err.h"
#include "ll_fsio.h"

#define SEG_HDR 64
#define FRAME_HDR 32
#define FRAME_MAGIC 0x46574c4cu /* "LLWF" little-endian */
#define SEG_MAGIC "LLWALSEG"
#define SEG_VERSION 1u
#define ALIGN8(x) (((x) + 7) & ~(size_t)7)
/* Direct I/O writes whole blocks at block offsets. */
#define BLK 4096u
#define ALIGNBLK(x) (((x) + BLK - 1) & ~(size_t)(BLK - 1))

typedef struct seg {
    uint64_t no;
    uint64_t max_seq; /* highest seq in it; UINT64_MAX: none yet */
    int has;          /* holds at least one frame */
} seg_t;

struct ll_wal {
    char *dir;
    size_t seg_size;
    pthread_mutex_t lock; /* segs, nsegs, spare_*, pending */
    seg_t *segs;          /* oldest first; the last is being written */
    size_t nsegs, segcap;
    int fd;               /* the segment being written; -1 before the first frame */
    size_t off, cur_size; /* write offset and size of that segment */
    uint64_t next_no;     /* number of the next segment to create */
    /* A ready, zero-filled file DIR/spare, or -1. It gets its number (and
     * header) only when the writer takes it, so numbers follow the order
     * in which segments are written. */
    int spare_fd;
    size_t spare_size;
    int broken;           /* a write or sync failed: refuse from now on */
    uint64_t pending;     /* bytes since the last truncate */
    /* Records read at open. */
    ll_wal_rec_t *recs;
    size_t nrecs;
    uint8_t **bufs; /* the segment contents they point into */
    size_t nbufs;
    uint8_t *frame; /* reusable frame buffer (writer), block-aligned */
    size_t framecap;
    /* Direct I/O (O_DIRECT | O_DSYNC): one write per frame, durable when
     * it returns, no page cache and no separate fdatasync. Whole blocks
     * only, so the bytes of the current block before the write offset are
     * kept here and written again, unchanged, with the next frame (a torn
     * write cannot lose them: every copy of them is the same). 0 when the
     * file system refuses O_DIRECT (tmpfs): pwrite and fdatasync. */
    int direct;
    uint8_t tail[BLK];
};

static void seg_path(const ll_wal_t *w, uint64_t no, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%016" PRIx64 ".seg", w->dir, no);
}

static void seg_header(uint64_t no, uint8_t hdr[SEG_HDR])
{
    memset(hdr, 0, SEG_HDR);
    memcpy(hdr, SEG_MAGIC, 8);
    ll_put_le32(hdr + 8, SEG_VERSION);
    ll_put_le64(hdr + 16, no);
}

static void spare_path(const ll_wal_t *w, char *out, size_t cap)
{
    snprintf(out, cap, "%s/spare", w->dir);
}

/* Creates segment no (0: the spare, DIR/spare, all zeros) of size bytes:
 * header, zeros, synced, directory synced; returns its fd (opened
 * read-write) or -1. Written under a temporary name and renamed, so a
 * crash never leaves a short segment. */
static int seg_create(ll_wal_t *w, uint64_t no, size_t size)
{
    char path[4096], tmp[4200];
    if (no)
        seg_path(w, no, path, sizeof path);
    else
        spare_path(w, path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    static const uint8_t zeros[1 << 16];
    uint8_t hdr[SEG_HDR] = {0};
    if (no)
        seg_header(no, hdr);
    if (pwrite(fd, hdr, SEG_HDR, 0) != SEG_HDR)
        goto fail;
    for (size_t off = SEG_HDR; off < size;) {
        size_t n = size - off < sizeof zeros ? size - off : sizeof zeros;
        if (ll_fsio_pwrite_all(fd, zeros, n, (off_t)off))
            goto fail;
        off += n;
    }
    if (fdatasync(fd) || rename(tmp, path) || ll_fsio_sync_dir(w->dir))
        goto fail;
    return fd;
fail:
    close(fd);
    unlink(tmp);
    return -1;
}

/* Whether buf[off..] starts a valid frame of segment no; *total gets its
 * length. */
static int frame_valid(const uint8_t *buf, size_t size, size_t off, uint64_t no, size_t *total)
{
    if (size - off < FRAME_HDR + LL_HASH_LEN || ll_get_le32(buf + off) != FRAME_MAGIC)
        return 0;
    size_t len = ll_get_le32(buf + off + 4);
    if (len < FRAME_HDR + LL_HASH_LEN || len > size - off || ll_get_le64(buf + off + 8) != no)
        return 0;
    uint8_t h[LL_HASH_LEN];
    ll_sha256(buf + off, len - LL_HASH_LEN, h);
    if (memcmp(h, buf + off + len - LL_HASH_LEN, LL_HASH_LEN))
        return 0;
    *total = len;
    return 1;
}

static int add_rec(ll_wal_t *w, uint64_t seq, const uint8_t *leaf, size_t len, size_t *cap)
{
    if (w->nrecs == *cap) {
        size_t nc = *cap ? *cap * 2 : 256;
        ll_wal_rec_t *r = realloc(w->recs, nc * sizeof *r);
        if (!r)
            return LL_ERR_NOMEM;
        w->recs = r;
        *cap = nc;
    }
    w->recs[w->nrecs++] = (ll_wal_rec_t){seq, leaf, len};
    return LL_OK;
}

/* Reads segment s: its frames' leaves into w->recs (keeping the buffer).
 * *have / *next: whether a leaf was seen and the seq the next must have. */
static int seg_read(ll_wal_t *w, seg_t *s, int *have, uint64_t *next, size_t *reccap, char *msg,
                    size_t cap)
{
    char path[4096];
    struct stat sb;
    seg_path(w, s->no, path, sizeof path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &sb) || sb.st_size < SEG_HDR) {
        if (fd >= 0)
            close(fd);
        LL_FAIL(fd < 0 ? LL_ERR_IO : LL_ERR_CORRUPT, "write-ahead log segment %s: %s", path,
                fd < 0 ? strerror(errno) : "shorter than its header");
    }
    size_t size = (size_t)sb.st_size;
    uint8_t *buf = malloc(size);
    uint8_t **nb = realloc(w->bufs, (w->nbufs + 1) * sizeof *nb);
    if (!buf || !nb) {
        free(buf);
        if (nb)
            w->bufs = nb;
        close(fd);
        return LL_ERR_NOMEM;
    }
    w->bufs = nb;
    w->bufs[w->nbufs++] = buf;
    if (ll_fsio_pread_all(fd, buf, size, 0)) {
        close(fd);
        LL_FAIL(LL_ERR_IO, "reading %s: %s", path, strerror(errno));
    }
    close(fd);
    if (memcmp(buf, SEG_MAGIC, 8) || ll_get_le32(buf + 8) != SEG_VERSION || ll_get_le64(buf + 16) != s->no)
        LL_FAIL(LL_ERR_CORRUPT, "%s is not segment %" PRIu64 " of a loopledger write-ahead log",
                path, s->no);
    size_t off = SEG_HDR, total;
    while (frame_valid(buf, size, off, s->no, &total)) {
        uint64_t first = ll_get_le64(buf + off + 16);
        uint32_t count = ll_get_le32(buf + off + 24);
        if (count == 0) {
            /* A retraction: the commit of the frames from first on failed,
             * and nothing of them was acknowledged. */
            if (*have && first > *next)
                LL_FAIL(LL_ERR_CORRUPT, "write-ahead log %s at offset %zu: retraction of "
                        "entry #%" PRIu64 " past the log's end", path, off, first);
            if (*have) {
                w->nrecs = first > w->recs[0].seq ? (size_t)(first - w->recs[0].seq) : 0;
                *next = first;
                *have = w->nrecs > 0;
                if (!*have)
                    *next = 0;
            }
            s->has = 1;
            off += ALIGN8(total);
            continue;
        }
        size_t p = off + FRAME_HDR, end = off + total - LL_HASH_LEN;
        /* A frame may repeat leaves an earlier one holds (the replay at
         * start-up logs what it replays): they must be the same bytes. */
        if (*have && first > *next)
            LL_FAIL(LL_ERR_CORRUPT,
                    "write-ahead log %s at offset %zu: frame starts at entry #%" PRIu64
                    " where #%" PRIu64 " was expected (entries are missing)",
                    path, off, first, *next);
        for (uint32_t i = 0; i < count; i++) {
            if (end - p < 4 || ll_get_le32(buf + p) > end - p - 4)
                LL_FAIL(LL_ERR_CORRUPT, "write-ahead log %s at offset %zu: malformed frame",
                        path, off);
            size_t len = ll_get_le32(buf + p);
            uint64_t seq = first + i;
            if (*have && seq < *next) {
                const ll_wal_rec_t *r =
                    seq >= w->recs[0].seq ? &w->recs[seq - w->recs[0].seq] : NULL;
                if (r && (r->len != len || memcmp(r->leaf, buf + p + 4, len)))
                    LL_FAIL(LL_ERR_CORRUPT,
                            "write-ahead log %s at offset %zu: two different entries #%" PRIu64,
                            path, off, seq);
            } else {
                int err = add_rec(w, seq, buf + p + 4, len, reccap);
                if (err)
                    return err;
            }
            p += 4 + len;
        }
        if (p != end)
            LL_FAIL(LL_ERR_CORRUPT, "write-ahead log %s at offset %zu: malformed frame", path,
                    off);
        if (count) {
            if (!*have || first + count > *next)
                *next = first + count;
            *have = 1;
            s->max_seq = first + count - 1;
        }
        s->has = 1;
        off += ALIGN8(total);
    }
    /* The end of this segment's log. Frames are written one at a time,
     * each only after the previous one was synced: a valid frame past the
     * end means the log was damaged, not torn. */
    for (size_t o = ALIGN8(off + 1); o + FRAME_HDR + LL_HASH_LEN <= size; o += 8)
        if (frame_valid(buf, size, o, s->no, &total))
            LL_FAIL(LL_ERR_CORRUPT,
                    "write-ahead log %s is damaged at offset %zu: an acknowledged frame follows "
                    "at offset %zu; restore the ledger from a backup or a mirror",
                    path, off, o);
    return LL_OK;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int ll_wal_open(const char *dir, size_t seg_size, ll_wal_t **out, char *msg, size_t cap)
{
    ll_wal_t *w = calloc(1, sizeof *w);
    uint64_t *nos = NULL;
    size_t n = 0, ncap = 0, reccap = 0;
    DIR *d = NULL;
    int err;
    if (!w)
        return LL_ERR_NOMEM;
    pthread_mutex_init(&w->lock, NULL);
    w->fd = -1;
    w->spare_fd = -1;
    w->direct = 1;
    w->seg_size = seg_size ? ALIGN8(seg_size) : LL_WAL_SEGMENT_DEFAULT;
    if (w->seg_size < 4096)
        w->seg_size = 4096;
    if (!(w->dir = strdup(dir))) {
        err = LL_ERR_NOMEM;
        goto fail;
    }
    if (mkdir(dir, 0700) && errno != EEXIST) {
        snprintf(msg, cap, "cannot create %s: %s", dir, strerror(errno));
        err = LL_ERR_IO;
        goto fail;
    }
    if (!(d = opendir(dir))) {
        snprintf(msg, cap, "cannot read %s: %s", dir, strerror(errno));
        err = LL_ERR_IO;
        goto fail;
    }
    for (struct dirent *e; (e = readdir(d));) {
        char *end;
        size_t l = strlen(e->d_name);
        if (l == 20 && !strcmp(e->d_name + 16, ".seg")) {
            uint64_t no = strtoull(e->d_name, &end, 16);
            if (end != e->d_name + 16)
                continue;
            if (n == ncap) {
                ncap = ncap ? ncap * 2 : 8;
                uint64_t *t = realloc(nos, ncap * sizeof *t);
                if (!t) {
                    err = LL_ERR_NOMEM;
                    goto fail;
                }
                nos = t;
            }
            nos[n++] = no;
        } else if (l > 4 && !strcmp(e->d_name + l - 4, ".tmp")) {
            /* A segment whose creation did not finish. */
            char p[4096];
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            unlink(p);
        }
    }
    closedir(d);
    d = NULL;
    if (n)
        qsort(nos, n, sizeof *nos, cmp_u64);
    if (n && !(w->segs = calloc(n, sizeof *w->segs))) {
        err = LL_ERR_NOMEM;
        goto fail;
    }
    w->segcap = n;
    int have = 0;
    uint64_t next = 0;
    for (size_t i = 0; i < n; i++) {
        seg_t *s = &w->segs[w->nsegs++];
        *s = (seg_t){.no = nos[i], .max_seq = UINT64_MAX};
        if ((err = seg_read(w, s, &have, &next, &reccap, msg, cap)))
            goto fail;
    }
    w->next_no = n ? nos[n - 1] + 1 : 1;
    /* A spare made ready before the last stop serves again (it was renamed
     * into place only once zero-filled and synced). */
    {
        char p[4096];
        struct stat sb;
        spare_path(w, p, sizeof p);
        int fd = open(p, O_RDWR | O_CLOEXEC);
        if (fd >= 0 && !fstat(fd, &sb) && (size_t)sb.st_size == w->seg_size) {
            w->spare_fd = fd;
            w->spare_size = w->seg_size;
        } else if (fd >= 0) {
            close(fd);
            unlink(p);
        }
    }
    free(nos);
    *out = w;
    return LL_OK;
fail:
    if (d)
        closedir(d);
    free(nos);
    ll_wal_close(w);
    return err;
}

size_t ll_wal_records(ll_wal_t *w, const ll_wal_rec_t **recs)
{
    *recs = w->recs;
    return w->nrecs;
}

void ll_wal_release_records(ll_wal_t *w)
{
    for (size_t i = 0; i < w->nbufs; i++)
        free(w->bufs[i]);
    free(w->bufs);
    free(w->recs);
    w->bufs = NULL;
    w->recs = NULL;
    w->nbufs = w->nrecs = 0;
}

/* A segment could not be made: nothing was written to the log, so it
 * stays usable. LL_ERR_FULL when the disk (or a limit) is full. */
static int create_err(void)
{
    return errno == ENOSPC || errno == EDQUOT || errno == EFBIG ? LL_ERR_FULL : LL_ERR_IO;
}

/* The current segment's writing descriptor: direct when the file system
 * takes it (w->direct says; the first refusal switches it off). */
static int open_writer(ll_wal_t *w, uint64_t no, int fd)
{
    if (!w->direct)
        return fd;
    char p[4096];
    seg_path(w, no, p, sizeof p);
    int dfd = open(p, O_WRONLY | O_DIRECT | O_DSYNC | O_CLOEXEC);
    if (dfd < 0) {
        w->direct = 0; /* EINVAL: no O_DIRECT here */
        return fd;
    }
    close(fd);
    return dfd;
}

/* Makes a segment of at least need bytes current (under w->lock). */
static int switch_segment(ll_wal_t *w, size_t need)
{
    int fd = -1;
    uint64_t no;
    size_t size;
    if (w->spare_fd >= 0 && w->spare_size >= need) {
        /* The spare becomes the next segment: header first (synced), then
         * its name. A crash between leaves a spare or an empty segment. */
        char sp[4096], p[4096];
        uint8_t hdr[SEG_HDR];
        fd = w->spare_fd;
        size = w->spare_size;
        w->spare_fd = -1;
        no = w->next_no++;
        seg_header(no, hdr);
        spare_path(w, sp, sizeof sp);
        seg_path(w, no, p, sizeof p);
        if (pwrite(fd, hdr, SEG_HDR, 0) != SEG_HDR || fdatasync(fd) || rename(sp, p) ||
            ll_fsio_sync_dir(w->dir)) {
            int e = errno;
            close(fd);
            errno = e;
            return create_err();
        }
    } else {
        if (w->spare_fd >= 0) {
            /* Too small for this frame. */
            char p[4096];
            close(w->spare_fd);
            w->spare_fd = -1;
            spare_path(w, p, sizeof p);
            unlink(p);
        }
        no = w->next_no++;
        size = need > w->seg_size ? ALIGNBLK(need) : w->seg_size;
        if ((fd = seg_create(w, no, size)) < 0)
            return create_err();
    }
    if (w->nsegs == w->segcap) {
        size_t nc = w->segcap ? w->segcap * 2 : 8;
        seg_t *s = realloc(w->segs, nc * sizeof *s);
        if (!s) {
            close(fd);
            return LL_ERR_NOMEM;
        }
        w->segs = s;
        w->segcap = nc;
    }
    w->segs[w->nsegs++] = (seg_t){.no = no, .max_seq = UINT64_MAX};
    if (w->fd >= 0)
        close(w->fd);
    w->fd = open_writer(w, no, fd);
    w->off = SEG_HDR;
    w->cur_size = size;
    seg_header(no, w->tail);
    return LL_OK;
}

int ll_wal_write(ll_wal_t *w, uint64_t first, size_t n, const uint8_t *const *leaves,
                 const size_t *lens)
{
    size_t total = FRAME_HDR + LL_HASH_LEN;
    int err = LL_OK;
    if (w->broken)
        return LL_ERR_IO;
    for (size_t i = 0; i < n; i++) {
        if (lens[i] > UINT32_MAX - 4)
            return LL_ERR_TOO_LARGE;
        total += 4 + lens[i];
    }
    if (total > UINT32_MAX)
        return LL_ERR_TOO_LARGE;
    size_t padded = ALIGN8(total);
    /* Room for the block's bytes before the frame, and whole blocks. */
    size_t cap = ALIGNBLK(BLK + padded);
    if (cap > w->framecap) {
        uint8_t *f = aligned_alloc(BLK, cap);
        if (!f)
            return LL_ERR_NOMEM;
        free(w->frame);
        w->frame = f;
        w->framecap = cap;
    }
    pthread_mutex_lock(&w->lock);
    if (w->fd < 0 || w->cur_size - w->off < padded) {
        /* The old segment's frames were each synced when written. */
        if ((err = switch_segment(w, SEG_HDR + padded))) {
            pthread_mutex_unlock(&w->lock);
            return err;
        }
    }
    seg_t *s = &w->segs[w->nsegs - 1];
    uint64_t no = s->no;
    size_t off = w->off;
    pthread_mutex_unlock(&w->lock);

    size_t head = w->direct ? off % BLK : 0, base = off - head;
    if (head)
        memcpy(w->frame, w->tail, head);
    uint8_t *f = w->frame + head;
    ll_put_le32(f, FRAME_MAGIC);
    ll_put_le32(f + 4, (uint32_t)total);
    ll_put_le64(f + 8, no);
    ll_put_le64(f + 16, first);
    ll_put_le32(f + 24, (uint32_t)n);
    ll_put_le32(f + 28, 0);
    size_t p = FRAME_HDR;
    for (size_t i = 0; i < n; i++) {
        ll_put_le32(f + p, (uint32_t)lens[i]);
        memcpy(f + p + 4, leaves[i], lens[i]);
        p += 4 + lens[i];
    }
    ll_sha256(f, p, f + p);
    /* The segment is zeros past the log's end: padding rewrites zeros. */
    size_t len = w->direct ? ALIGNBLK(head + padded) : padded;
    memset(f + total, 0, len - head - total);
    if (ll_fsio_pwrite_all(w->fd, w->frame, len, (off_t)base)) {
        w->broken = 1;
        return LL_ERR_IO;
    }
    if (!w->direct && fdatasync(w->fd)) {
        w->broken = 1;
        return LL_ERR_IO;
    }
    if (w->direct) {
        size_t end = off + padded, keep = end % BLK;
        memcpy(w->tail, w->frame + (end - keep - base), keep);
    }
    pthread_mutex_lock(&w->lock);
    s = &w->segs[w->nsegs - 1];
    if (n)
        s->max_seq = first + n - 1;
    s->has = 1;
    w->off = off + padded;
    w->pending += padded;
    pthread_mutex_unlock(&w->lock);
    return LL_OK;
}

int ll_wal_retract(ll_wal_t *w, uint64_t first)
{
    return ll_wal_write(w, first, 0, NULL, NULL);
}

void ll_wal_truncate(ll_wal_t *w, uint64_t durable)
{
    char p[4096];
    size_t keep = 0;
    int stop = 0;
    pthread_mutex_lock(&w->lock);
    for (size_t i = 0; i < w->nsegs; i++) {
        seg_t *s = &w->segs[i];
        int current = i == w->nsegs - 1 && w->fd >= 0;
        int obsolete = !s->has || (s->max_seq != UINT64_MAX && s->max_seq < durable);
        if (!current && obsolete && !stop) {
            /* Oldest first, each removal synced before the next: a crash
             * leaves a prefix removed, never a hole in the log's middle. */
            seg_path(w, s->no, p, sizeof p);
            if (unlink(p) == 0) {
                (void)ll_fsio_sync_dir(w->dir);
                continue;
            }
            stop = 1;
        }
        if (!obsolete)
            stop = 1; /* keep every later segment too */
        w->segs[keep++] = *s;
    }
    w->nsegs = keep;
    w->pending = 0;
    pthread_mutex_unlock(&w->lock);
}

int ll_wal_prepare(ll_wal_t *w)
{
    pthread_mutex_lock(&w->lock);
    if (w->spare_fd >= 0 || w->broken) {
        int ok = w->spare_fd >= 0;
        pthread_mutex_unlock(&w->lock);
        return ok ? LL_OK : LL_ERR_IO;
    }
    size_t size = w->seg_size;
    pthread_mutex_unlock(&w->lock);
    /* Written outside the lock: the writer keeps writing meanwhile (and
     * numbers a segment of its own if it needs one first). */
    int fd = seg_create(w, 0, size);
    if (fd < 0)
        return LL_ERR_IO;
    pthread_mutex_lock(&w->lock);
    w->spare_fd = fd;
    w->spare_size = size;
    pthread_mutex_unlock(&w->lock);
    return LL_OK;
}

int ll_wal_broken(const ll_wal_t *w)
{
    return w->broken;
}

void ll_wal_finish(ll_wal_t *w)
{
    pthread_mutex_lock(&w->lock);
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
    pthread_mutex_unlock(&w->lock);
}

uint64_t ll_wal_bytes_pending(ll_wal_t *w)
{
    pthread_mutex_lock(&w->lock);
    uint64_t n = w->pending;
    pthread_mutex_unlock(&w->lock);
    return n;
}

void ll_wal_close(ll_wal_t *w)
{
    if (!w)
        return;
    ll_wal_release_records(w);
    if (w->fd >= 0)
        close(w->fd);
    if (w->spare_fd >= 0)
        close(w->spare_fd);
    pthread_mutex_destroy(&w->lock);
    free(w->segs);
    free(w->frame);
    free(w->dir);
    free(w);
}

int ll_wal_copy_segments(const char *dir, const char *dst)
{
    DIR *d = opendir(dir);
    int err = LL_OK;
    if (!d)
        return errno == ENOENT ? LL_OK : LL_ERR_IO;
    if (mkdir(dst, 0700) && errno != EEXIST) {
        closedir(d);
        return LL_ERR_IO;
    }
    for (struct dirent *e; !err && (e = readdir(d));) {
        size_t l = strlen(e->d_name);
        if (l != 20 || strcmp(e->d_name + 16, ".seg"))
            continue;
        char a[4096], b[4096];
        snprintf(a, sizeof a, "%s/%s", dir, e->d_name);
        snprintf(b, sizeof b, "%s/%s", dst, e->d_name);
        err = ll_fsio_copy_file(a, b);
        if (err == LL_ERR_NOT_FOUND)
            err = LL_OK; /* removed meanwhile: LMDB holds its leaves */
    }
    closedir(d);
    return err ? err : ll_fsio_sync_dir(dst);
}
