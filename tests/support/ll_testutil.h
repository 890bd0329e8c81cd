/*
 * Test helpers shared by the unit tests: temporary directories.
 */
#ifndef LL_TESTUTIL_H
#define LL_TESTUTIL_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int ll_test_rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

/* Makes a fresh temporary directory; path must hold 64 bytes. */
static inline void ll_test_tmpdir(char *path)
{
    snprintf(path, 64, "/tmp/ll-test-XXXXXX");
    if (!mkdtemp(path)) {
        perror("mkdtemp");
        abort();
    }
}

/* Removes a directory tree. */
static inline void ll_test_rmdir(const char *path)
{
    nftw(path, ll_test_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
