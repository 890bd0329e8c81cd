/*
 * ll_syncpt: the record of LMDB's last synced state, and the way back to it.
 *
 * In write-ahead mode (ll_store.h, "Durability") LMDB commits without
 * syncing; after an operating-system crash or a power loss its file may
 * hold any mix of the pages written since the last sync, including meta
 * pages that point at pages that never reached the disk. LMDB keeps its
 * two meta pages as the first two pages of data.mdb, and a state is
 * exactly (meta pages, the pages their trees reach). So the store, right
 * after every sync, saves the bytes of both meta pages here; and it keeps
 * a read transaction open on that state, so that LMDB never reuses a page
 * its trees reach (LMDB reuses only pages freed before the oldest reader).
 * Writing the saved meta pages back therefore restores a complete,
 * consistent state, from which the write-ahead log (ll_wal.h) replays the
 * acknowledged leaves that came after it.
 *
 * File wal/synced: "LLSYNCPT", u32 version 1, u32 page size, u64 tree
 * size, u64 LMDB transaction id, meta page 0, meta page 1, SHA-256 of all
 * before it (little-endian). Replaced atomically (written aside, synced,
 * renamed, directory synced).
 */
#ifndef LL_SYNCPT_H
#define LL_SYNCPT_H

#include <stddef.h>
#include <stdint.h>

typedef struct ll_syncpt {
    uint32_t psize;   /* LMDB page size */
    uint64_t size;    /* tree size of the synced state */
    uint64_t txnid;   /* its LMDB transaction id (for messages) */
    uint8_t *meta;    /* 2 x psize bytes, owned */
} ll_syncpt_t;

/* Reads both meta pages of the LMDB data file open as fd (psize bytes
 * each) into sp->meta (allocated here). LL_OK or LL_ERR_IO. */
int ll_syncpt_capture(int fd, uint32_t psize, uint64_t size, uint64_t txnid, ll_syncpt_t *sp);
/* Saves sp as dir/synced durably. LL_OK or LL_ERR_IO. */
int ll_syncpt_save(const char *dir, const ll_syncpt_t *sp);
/* Loads dir/synced. LL_ERR_NOT_FOUND when absent; LL_ERR_CORRUPT (why in
 * msg[cap]) when it does not check out. */
int ll_syncpt_load(const char *dir, ll_syncpt_t *sp, char *msg, size_t cap);
/* Whether data file data_path's meta pages differ from sp's: 1 differ, 0
 * same, LL_ERR_IO. */
int ll_syncpt_differs(const char *data_path, const ll_syncpt_t *sp);
/* Writes sp's meta pages into data_path and syncs it. The caller makes
 * sure no process has the environment open. */
int ll_syncpt_restore(const char *data_path, const ll_syncpt_t *sp);
/* Frees sp->meta. */
void ll_syncpt_free(ll_syncpt_t *sp);
/* Deletes dir/synced (durably). */
int ll_syncpt_remove(const char *dir);

/* Tries to take LMDB's own "first process" lock of lock_path (an
 * exclusive lock on its first byte, which every process that has the
 * environment open holds shared), so that nobody can open it meanwhile:
 * returns an fd to pass to ll_syncpt_unlock, -1 when another process has
 * the environment open (errno EAGAIN) or on error. A missing lock file
 * means nobody has it open: that returns -2 (nothing to unlock). */
int ll_syncpt_lock_env(const char *lock_path);
void ll_syncpt_unlock(int fd);

#endif
