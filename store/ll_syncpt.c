/*
 * ll_syncpt: LMDB's last synced state (ll_syncpt.h).
 */
#include "ll_syncpt.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ll_bytes.h"
#include "ll_crypto.h"
#include "ll_fsio.h"
#include "ll_err.h"

#define MAGIC "LLSYNCPT"
#define VERSION 1u
#define HDR 32 /* magic, version, psize, size, txnid */
#define MAX_PSIZE 65536u

int ll_syncpt_capture(int fd, uint32_t psize, uint64_t size, uint64_t txnid, ll_syncpt_t *sp)
{
    if (psize == 0 || psize > MAX_PSIZE)
        return LL_ERR_INVALID;
    uint8_t *m = malloc(2 * (size_t)psize);
    if (!m)
        return LL_ERR_NOMEM;
    if (ll_fsio_pread_all(fd, m, 2 * (size_t)psize, 0)) {
        free(m);
        return LL_ERR_IO;
    }
    ll_syncpt_free(sp);
    *sp = (ll_syncpt_t){.psize = psize, .size = size, .txnid = txnid, .meta = m};
    return LL_OK;
}

int ll_syncpt_save(const char *dir, const ll_syncpt_t *sp)
{
    char path[4096], tmp[4200];
    size_t n = HDR + 2 * (size_t)sp->psize + LL_HASH_LEN;
    uint8_t *b = malloc(n);
    int err = LL_ERR_IO, fd = -1;
    if (!b)
        return LL_ERR_NOMEM;
    memcpy(b, MAGIC, 8);
    ll_put_le32(b + 8, VERSION);
    ll_put_le32(b + 12, sp->psize);
    ll_put_le64(b + 16, sp->size);
    ll_put_le64(b + 24, sp->txnid);
    memcpy(b + HDR, sp->meta, 2 * (size_t)sp->psize);
    ll_sha256(b, n - LL_HASH_LEN, b + n - LL_HASH_LEN);
    snprintf(path, sizeof path, "%s/synced", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
        goto out;
    if (ll_fsio_pwrite_all(fd, b, n, 0) || fdatasync(fd))
        goto out;
    close(fd);
    fd = -1;
    if (rename(tmp, path) || ll_fsio_sync_dir(dir))
        goto out;
    err = LL_OK;
out:
    if (fd >= 0)
        close(fd);
    if (err)
        unlink(tmp);
    free(b);
    return err;
}

int ll_syncpt_load(const char *dir, ll_syncpt_t *sp, char *msg, size_t cap)
{
    char path[4096];
    uint8_t hdr[HDR];
    snprintf(path, sizeof path, "%s/synced", dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return LL_ERR_NOT_FOUND;
        LL_FAIL(LL_ERR_IO, "cannot read %s: %s", path, strerror(errno));
    }
    int err = LL_ERR_CORRUPT;
    uint8_t *b = NULL;
    if (ll_fsio_pread_all(fd, hdr, HDR, 0) || memcmp(hdr, MAGIC, 8) || ll_get_le32(hdr + 8) != VERSION ||
        ll_get_le32(hdr + 12) == 0 || ll_get_le32(hdr + 12) > MAX_PSIZE)
        goto out;
    uint32_t psize = ll_get_le32(hdr + 12);
    size_t n = HDR + 2 * (size_t)psize + LL_HASH_LEN;
    uint8_t h[LL_HASH_LEN];
    if (!(b = malloc(n))) {
        err = LL_ERR_NOMEM;
        goto out;
    }
    if (ll_fsio_pread_all(fd, b, n, 0))
        goto out;
    ll_sha256(b, n - LL_HASH_LEN, h);
    if (memcmp(h, b + n - LL_HASH_LEN, LL_HASH_LEN))
        goto out;
    uint8_t *m = malloc(2 * (size_t)psize);
    if (!m) {
        err = LL_ERR_NOMEM;
        goto out;
    }
    memcpy(m, b + HDR, 2 * (size_t)psize);
    *sp = (ll_syncpt_t){.psize = psize, .size = ll_get_le64(b + 16), .txnid = ll_get_le64(b + 24), .meta = m};
    err = LL_OK;
out:
    if (err == LL_ERR_CORRUPT)
        snprintf(msg, cap,
                 "%s does not check out (truncated or altered); it records LMDB's last synced "
                 "state: restore the ledger from a backup or a mirror",
                 path);
    free(b);
    close(fd);
    return err;
}

int ll_syncpt_differs(const char *data_path, const ll_syncpt_t *sp)
{
    size_t n = 2 * (size_t)sp->psize;
    uint8_t *b = malloc(n);
    int fd = open(data_path, O_RDONLY | O_CLOEXEC), rc = LL_ERR_IO;
    if (b && fd >= 0 && ll_fsio_pread_all(fd, b, n, 0) == LL_OK)
        rc = memcmp(b, sp->meta, n) != 0;
    if (fd >= 0)
        close(fd);
    free(b);
    return rc;
}

int ll_syncpt_restore(const char *data_path, const ll_syncpt_t *sp)
{
    int fd = open(data_path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return LL_ERR_IO;
    int err = ll_fsio_pwrite_all(fd, sp->meta, 2 * (size_t)sp->psize, 0);
    if (!err && fdatasync(fd))
        err = LL_ERR_IO;
    close(fd);
    return err;
}

void ll_syncpt_free(ll_syncpt_t *sp)
{
    free(sp->meta);
    sp->meta = NULL;
}

int ll_syncpt_remove(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/synced", dir);
    if (unlink(path) && errno != ENOENT)
        return LL_ERR_IO;
    return ll_fsio_sync_dir(dir);
}

int ll_syncpt_lock_env(const char *lock_path)
{
    int fd = open(lock_path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? -2 : -1;
    /* An open-file-description lock: it conflicts with LMDB's classic
     * record locks, and closing another descriptor of the file in this
     * process does not drop it. */
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
    if (fcntl(fd, F_OFD_SETLK, &fl)) {
        int e = errno;
        close(fd);
        errno = e == EACCES ? EAGAIN : e;
        return -1;
    }
    return fd;
}

void ll_syncpt_unlock(int fd)
{
    if (fd >= 0)
        close(fd);
}
