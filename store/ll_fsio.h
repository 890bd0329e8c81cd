/*
 * ll_fsio: the durable-file chores several modules share: whole reads and
 * writes at an offset, a directory sync after a rename or unlink, and a
 * synced copy of a file. One copy each, so that every caller gets the
 * short-write loop and the sync right.
 *
 * Every function returns LL_OK or an ll_err code with errno kept from the
 * failing call, so callers can name the reason.
 */
#ifndef LL_FSIO_H
#define LL_FSIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Reads exactly n bytes at off (LL_ERR_IO on error or end of file). */
int ll_fsio_pread_all(int fd, void *buf, size_t n, off_t off);
/* Writes exactly n bytes at off (LL_ERR_IO). */
int ll_fsio_pwrite_all(int fd, const void *buf, size_t n, off_t off);
/* fsync of directory dir: makes a rename or unlink in it durable. */
int ll_fsio_sync_dir(const char *dir);
/* Copies file from into a new file to (mode 0600; it must not exist) and
 * syncs it. LL_ERR_NOT_FOUND when from does not exist, LL_ERR_NOMEM,
 * LL_ERR_IO otherwise (a partial copy is removed). */
int ll_fsio_copy_file(const char *from, const char *to);

#endif
