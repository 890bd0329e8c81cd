/*
 * ll_fsio: whole reads and writes, directory syncs, synced copies
 * (ll_fsio.h).
 */
#include "ll_fsio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "ll_err.h"

int ll_fsio_pread_all(int fd, void *buf, size_t n, off_t off)
{
    for (size_t got = 0; got < n;) {
        ssize_t k = pread(fd, (uint8_t *)buf + got, n - got, off + (off_t)got);
        if (k <= 0) {
            if (k == 0)
                errno = EIO; /* the file ended early */
            return LL_ERR_IO;
        }
        got += (size_t)k;
    }
    return LL_OK;
}

int ll_fsio_pwrite_all(int fd, const void *buf, size_t n, off_t off)
{
    for (size_t done = 0; done < n;) {
        ssize_t k = pwrite(fd, (const uint8_t *)buf + done, n - done, off + (off_t)done);
        if (k <= 0) {
            if (k == 0)
                errno = EIO;
            return LL_ERR_IO;
        }
        done += (size_t)k;
    }
    return LL_OK;
}

int ll_fsio_sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return LL_ERR_IO;
    int rc = fsync(fd);
    int e = errno;
    close(fd);
    errno = e;
    return rc ? LL_ERR_IO : LL_OK;
}

int ll_fsio_copy_file(const char *from, const char *to)
{
    enum { BUF = 1 << 16 };
    int in = open(from, O_RDONLY | O_CLOEXEC), out = -1, err = LL_ERR_IO, e;
    if (in < 0)
        return errno == ENOENT ? LL_ERR_NOT_FOUND : LL_ERR_IO;
    /* On the heap, only while copying: a thread-local array would give
     * every thread of the server its own 64 KiB for a rare backup. */
    uint8_t *buf = malloc(BUF);
    if (!buf) {
        close(in);
        return LL_ERR_NOMEM;
    }
    if ((out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
        goto out;
    for (off_t off = 0;; ) {
        ssize_t k = read(in, buf, BUF);
        if (k < 0)
            goto out;
        if (k == 0)
            break;
        if (ll_fsio_pwrite_all(out, buf, (size_t)k, off))
            goto out;
        off += k;
    }
    if (fsync(out) == 0)
        err = LL_OK;
out:
    e = errno;
    if (out >= 0) {
        close(out);
        if (err)
            unlink(to);
    }
    close(in);
    free(buf);
    errno = e;
    return err;
}
