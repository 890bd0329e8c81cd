/*
 * The write-ahead log (ll_wal) and write-ahead mode of the store
 * (ll_durable, ll_syncpt): frames read back; a torn tail ends the log; a
 * valid frame after the end, a gap or two different leaves under one
 * number are damage; a retraction voids what a failed commit logged.
 *
 * Then power loss, which a kill -9 cannot show (the page cache survives a
 * process). A child process appends through the store in write-ahead mode
 * with heavy page churn, forces one sync, copies data.mdb as it is on disk
 * at that sync, appends more and dies without closing. The parent then
 * builds what a disk could hold after a power cut: the synced copy plus a
 * random subset of the pages written after the sync (meta pages
 * included), and the log as synced. Every such image must open, roll back
 * to the synced state, hand back exactly the acknowledged leaves after it,
 * and after their replay hold every leaf with the right root, durably.
 */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "../support/ll_testutil.h"
#include "ll_err.h"
#include "ll_merkle.h"
#include "ll_store.h"
#include "ll_wal.h"

static void leaf_bytes(uint64_t seq, uint8_t *buf, size_t *len)
{
    /* 60..1100 bytes: leaves share pages and some span two. */
    size_t n = 60 + (size_t)((seq * 7919) % 1040);
    int h = snprintf((char *)buf, 64, "leaf-%llu:", (unsigned long long)seq);
    for (size_t i = (size_t)h; i < n; i++)
        buf[i] = (uint8_t)('a' + (seq + i) % 26);
    *len = n;
}

/* ---- the log itself ---- */

static void write_frame(ll_wal_t *w, uint64_t first, size_t n)
{
    static uint8_t bufs[64][1200];
    const uint8_t *lv[64];
    size_t lens[64];
    assert_true(n <= 64);
    for (size_t i = 0; i < n; i++) {
        leaf_bytes(first + i, bufs[i], &lens[i]);
        lv[i] = bufs[i];
    }
    assert_int_equal(ll_wal_write(w, first, n, lv, lens), LL_OK);
}

static void expect_records(ll_wal_t *w, uint64_t first, uint64_t end)
{
    const ll_wal_rec_t *r;
    size_t n = ll_wal_records(w, &r);
    assert_int_equal(n, end - first);
    for (size_t i = 0; i < n; i++) {
        uint8_t b[1200];
        size_t len;
        leaf_bytes(first + i, b, &len);
        assert_int_equal(r[i].seq, first + i);
        assert_int_equal(r[i].len, len);
        assert_memory_equal(r[i].leaf, b, len);
    }
}

/* The path of the segment holding the log's frames (the lowest numbered). */
static void first_segment(const char *dir, char *out, size_t cap)
{
    DIR *d = opendir(dir);
    char best[64] = "";
    assert_non_null(d);
    for (struct dirent *e; (e = readdir(d));)
        if (strlen(e->d_name) == 20 && strstr(e->d_name, ".seg") &&
            (!best[0] || strcmp(e->d_name, best) < 0))
            snprintf(best, sizeof best, "%s", e->d_name);
    closedir(d);
    assert_true(best[0]);
    snprintf(out, cap, "%s/%s", dir, best);
}

static void flip_byte(const char *path, off_t off)
{
    int fd = open(path, O_RDWR);
    uint8_t b;
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, &b, 1, off), 1);
    b ^= 0x40;
    assert_int_equal(pwrite(fd, &b, 1, off), 1);
    close(fd);
}

static void test_frames_read_back(void **state)
{
    (void)state;
    char dir[64], msg[LL_MSG_MAX];
    ll_wal_t *w;
    ll_test_tmpdir(dir);
    /* Small segments: the 10 frames span several, and the 40-leaf frame
     * does not fit one (it gets a segment of its own size). */
    assert_int_equal(ll_wal_open(dir, 8192, &w, msg, sizeof msg), LL_OK);
    expect_records(w, 0, 0);
    uint64_t seq = 100;
    for (int i = 0; i < 10; i++) {
        write_frame(w, seq, 1 + (size_t)i % 5);
        seq += 1 + (uint64_t)i % 5;
    }
    write_frame(w, seq, 40);
    seq += 40;
    ll_wal_close(w);
    assert_int_equal(ll_wal_open(dir, 8192, &w, msg, sizeof msg), LL_OK);
    expect_records(w, 100, seq);
    /* New frames go to a new segment; truncation keeps what LMDB lacks. */
    write_frame(w, seq, 3);
    ll_wal_truncate(w, seq);
    ll_wal_close(w);
    assert_int_equal(ll_wal_open(dir, 8192, &w, msg, sizeof msg), LL_OK);
    const ll_wal_rec_t *r;
    size_t n = ll_wal_records(w, &r);
    assert_true(n >= 3);
    assert_int_equal(r[n - 1].seq, seq + 2);
    ll_wal_close(w);
    ll_test_rmdir(dir);
}

/* A log of three frames: leaves 0-2, 3-4, 5-8. */
static void three_frames(const char *dir)
{
    char msg[LL_MSG_MAX];
    ll_wal_t *w;
    assert_int_equal(ll_wal_open(dir, 0, &w, msg, sizeof msg), LL_OK);
    write_frame(w, 0, 3);
    write_frame(w, 3, 2);
    write_frame(w, 5, 4);
    ll_wal_close(w);
}

static void test_torn_tail_ends_log(void **state)
{
    (void)state;
    char dir[64], msg[LL_MSG_MAX], seg[256];
    ll_wal_t *w;
    ll_test_tmpdir(dir);
    three_frames(dir);
    /* Tear the last frame: a byte near its end never reached the disk. */
    first_segment(dir, seg, sizeof seg);
    {
        int fd = open(seg, O_RDONLY);
        uint8_t b[1 << 14];
        assert_int_equal(pread(fd, b, sizeof b, 0), (ssize_t)sizeof b);
        close(fd);
        size_t off = 64, last = 0;
        for (int i = 0; i < 3; i++) {
            last = off;
            uint32_t len = (uint32_t)b[off + 4] | (uint32_t)b[off + 5] << 8 |
                           (uint32_t)b[off + 6] << 16 | (uint32_t)b[off + 7] << 24;
            off += (len + 7) & ~7u;
        }
        flip_byte(seg, (off_t)(last + 40));
    }
    assert_int_equal(ll_wal_open(dir, 0, &w, msg, sizeof msg), LL_OK);
    expect_records(w, 0, 5);
    /* The log goes on after it: leaves 5.. again, in a new segment. */
    write_frame(w, 5, 2);
    ll_wal_close(w);
    assert_int_equal(ll_wal_open(dir, 0, &w, msg, sizeof msg), LL_OK);
    expect_records(w, 0, 7);
    ll_wal_close(w);
    ll_test_rmdir(dir);
}

static void test_damage_before_valid_frames(void **state)
{
    (void)state;
    char dir[64], msg[LL_MSG_MAX], seg[256];
    ll_wal_t *w = NULL;
    ll_test_tmpdir(dir);
    three_frames(dir);
    first_segment(dir, seg, sizeof seg);
    /* A byte of the first frame's first leaf: frames 2 and 3, acknowledged
     * after it, are intact, so this is damage, not a torn write. */
    flip_byte(seg, 64 + 32 + 4 + 10);
    msg[0] = 0;
    assert_int_equal(ll_wal_open(dir, 0, &w, msg, sizeof msg), LL_ERR_CORRUPT);
    assert_non_null(strstr(msg, "damaged"));
    assert_non_null(strstr(msg, "acknowledged frame follows"));
    ll_test_rmdir(dir);
}

static void test_gap_and_conflict(void **state)
{
    (void)state;
    char dir[64], msg[LL_MSG_MAX];
    ll_wal_t *w = NULL;
    ll_test_tmpdir(dir);
    assert_int_equal(ll_wal_open(dir, 0, &w, msg, sizeof msg), LL_OK);
    write_frame(w, 0, 2);
    write_frame(w, 5, 1); /* 2..4 missing */
    ll_wal_close(w);
    assert_int_equal(ll_wal_open(dir, 0, &w, msg, sizeof msg), LL_ERR_CORRUPT);
    assert_non_null(strstr(msg, "missing"));
    ll_test_rmdir(dir);

    /* Leaf 1 logged twice with different bytes. */
    ll_test_tmpdir(dir);
    assert_int_equal(ll_wal_open(dir, 0, &w, msg, sizeof msg), LL_OK);
    write_frame(w, 0, 2);
    {
        const uint8_t *lv[1] = {(const uint8_t *)"not leaf one"};
        size_t len[1] = {12};
        assert_int_equal(ll_wal_write(w, 1, 1, lv, len), LL_OK);
    }
    ll_wal_close(w);
    assert_int_equal(ll_wal_open(dir, 0, &w, msg, sizeof msg), LL_ERR_CORRUPT);
    assert_non_null(strstr(msg, "two different entries #1"));
    ll_test_rmdir(dir);
}

static void test_retraction(void **state)
{
    (void)state;
    char dir[64], msg[LL_MSG_MAX];
    ll_wal_t *w = NULL;
    ll_test_tmpdir(dir);
    assert_int_equal(ll_wal_open(dir, 0, &w, msg, sizeof msg), LL_OK);
    write_frame(w, 0, 4);
    {
        /* Leaves 4 and 5 logged, then their commit failed. */
        const uint8_t *lv[2] = {(const uint8_t *)"doomed-4", (const uint8_t *)"doomed-5"};
        size_t len[2] = {8, 8};
        assert_int_equal(ll_wal_write(w, 4, 2, lv, len), LL_OK);
        assert_int_equal(ll_wal_retract(w, 4), LL_OK);
    }
    write_frame(w, 4, 3); /* the retry, with other leaves under 4.. */
    ll_wal_close(w);
    assert_int_equal(ll_wal_open(dir, 0, &w, msg, sizeof msg), LL_OK);
    expect_records(w, 0, 7);
    ll_wal_close(w);
    ll_test_rmdir(dir);
}

/* A segment that cannot be made (here a file-size limit, as a full disk
 * would refuse it) fails the write with nothing written, and the log
 * stays usable: only a failed frame write breaks it. */
static void test_no_room_for_a_segment(void **state)
{
    (void)state;
    char dir[64], msg[LL_MSG_MAX];
    ll_wal_t *w;
    struct rlimit old, lim;
    static uint8_t bufs[8][1200];
    const uint8_t *lv[8];
    size_t lens[8];
    ll_test_tmpdir(dir);
    assert_int_equal(ll_wal_open(dir, 4096, &w, msg, sizeof msg), LL_OK);
    write_frame(w, 0, 2);
    for (int i = 0; i < 8; i++) {
        leaf_bytes(2 + (uint64_t)i, bufs[i], &lens[i]);
        lv[i] = bufs[i];
    }
    /* These 8 leaves (~4.7 KB) need a segment of their own, 8 KiB. */
    signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = 6000;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    int err = ll_wal_write(w, 2, 8, lv, lens);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    assert_int_equal(err, LL_ERR_FULL);
    assert_false(ll_wal_broken(w));
    assert_int_equal(ll_wal_write(w, 2, 8, lv, lens), LL_OK);
    ll_wal_close(w);
    assert_int_equal(ll_wal_open(dir, 4096, &w, msg, sizeof msg), LL_OK);
    expect_records(w, 0, 10);
    ll_wal_close(w);
    ll_test_rmdir(dir);
}

/* ---- write-ahead mode of the store, and power loss ---- */

#define CHURN_KEYS 4000

/* Appends leaves [from, to) in logged commits of 1..9 leaves, each also
 * rewriting index records spread over many pages (copy-on-write churn, so
 * that LMDB has freed pages it would love to reuse). */
static void append_logged(ll_store_t *st, uint64_t from, uint64_t to, unsigned *rnd)
{
    uint64_t seq = from;
    while (seq < to) {
        ll_txn_t *w;
        assert_int_equal(ll_store_begin_write(st, &w), LL_OK);
        unsigned k = 1 + rand_r(rnd) % 9;
        for (unsigned i = 0; i < k && seq < to; i++, seq++) {
            uint8_t b[1200], lh[LL_HASH_LEN];
            size_t len;
            leaf_bytes(seq, b, &len);
            assert_int_equal(ll_store_append(w, b, len, (int64_t)seq + 1, lh), LL_OK);
        }
        for (int j = 0; j < 6; j++) {
            char key[16], val[300];
            snprintf(key, sizeof key, "k%05u", rand_r(rnd) % CHURN_KEYS);
            memset(val, 'a' + (int)(seq % 26), sizeof val);
            assert_int_equal(ll_store_put(w, LL_TBL_INDEX, key, strlen(key), val, sizeof val),
                             LL_OK);
        }
        assert_int_equal(ll_store_commit_logged(w), LL_OK);
    }
}

static void expected_root(uint64_t n, uint8_t root[LL_HASH_LEN])
{
    ll_merkle_frontier_t f;
    ll_merkle_frontier_init(&f);
    for (uint64_t i = 0; i < n; i++) {
        uint8_t b[1200], lh[LL_HASH_LEN];
        size_t len;
        leaf_bytes(i, b, &len);
        ll_merkle_leaf_hash(b, len, lh);
        assert_int_equal(ll_merkle_frontier_append(&f, lh, NULL, NULL), LL_OK);
    }
    ll_merkle_frontier_root(&f, root);
}

static void check_tree(ll_store_t *st, uint64_t n)
{
    ll_txn_t *r;
    uint8_t got[LL_HASH_LEN], want[LL_HASH_LEN];
    assert_int_equal(ll_store_begin_read(st, &r), LL_OK);
    assert_int_equal(ll_store_size(r), n);
    for (uint64_t i = 0; i < n; i++) {
        const uint8_t *leaf;
        size_t len, elen;
        uint8_t b[1200];
        leaf_bytes(i, b, &elen);
        assert_int_equal(ll_store_leaf(r, i, &leaf, &len), LL_OK);
        assert_int_equal(len, elen);
        assert_memory_equal(leaf, b, len);
    }
    assert_int_equal(ll_store_root(r, n, got), LL_OK);
    ll_store_abort(r);
    expected_root(n, want);
    assert_memory_equal(got, want, LL_HASH_LEN);
}

static uint8_t *slurp(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY);
    struct stat sb;
    assert_true(fd >= 0);
    assert_int_equal(fstat(fd, &sb), 0);
    uint8_t *b = malloc((size_t)sb.st_size + 1);
    size_t got = 0;
    while (got < (size_t)sb.st_size) {
        ssize_t k = pread(fd, b + got, (size_t)sb.st_size - got, (off_t)got);
        assert_true(k > 0);
        got += (size_t)k;
    }
    close(fd);
    *len = got;
    return b;
}

static void spit(const char *path, const uint8_t *b, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    for (size_t done = 0; done < len;) {
        ssize_t k = pwrite(fd, b + done, len - done, (off_t)done);
        assert_true(k > 0);
        done += (size_t)k;
    }
    close(fd);
}

static void copy_dir_files(const char *from, const char *to)
{
    DIR *d = opendir(from);
    assert_non_null(d);
    mkdir(to, 0700);
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        char a[1024], b[1024];
        size_t n;
        snprintf(a, sizeof a, "%s/%s", from, e->d_name);
        snprintf(b, sizeof b, "%s/%s", to, e->d_name);
        uint8_t *buf = slurp(a, &n);
        spit(b, buf, n);
        free(buf);
    }
    closedir(d);
}

#define SYNCED_AT 300 /* leaves in LMDB's synced state */
#define TOTAL 900     /* leaves acknowledged before the power cut */

/* The child: appends, syncs once, keeps a copy of data.mdb as synced,
 * appends more and dies with the store open. */
static void child(const char *dir, const char *synced_copy)
{
    ll_store_config_t c = {.wal = 1, .sync_ms = 3600 * 1000, .wal_segment = 64 << 10};
    ll_store_t *st;
    unsigned rnd = 7;
    char p[512];
    if (ll_store_open(dir, &c, &st))
        _exit(3);
    append_logged(st, 0, SYNCED_AT, &rnd);
    /* A commit that is not logged is synced before it returns: LMDB's
     * synced state is now exactly SYNCED_AT leaves. */
    ll_txn_t *w;
    if (ll_store_begin_write(st, &w) || ll_store_put(w, LL_TBL_META, "x", 1, "y", 1) ||
        ll_store_commit(w))
        _exit(4);
    snprintf(p, sizeof p, "%s/data.mdb", dir);
    size_t n;
    uint8_t *b = slurp(p, &n);
    spit(synced_copy, b, n);
    free(b);
    append_logged(st, SYNCED_AT, TOTAL, &rnd);
    _exit(0); /* no close: the power goes */
}

static void test_power_loss_images(void **state)
{
    (void)state;
    char dir[64], p[512], copy[512];
    ll_test_tmpdir(dir);
    snprintf(p, sizeof p, "%s/live", dir);
    snprintf(copy, sizeof copy, "%s/synced.mdb", dir);
    mkdir(p, 0700);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        child(p, copy);
    int ws;
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);

    size_t n0, n1;
    uint8_t *d0 = slurp(copy, &n0);
    snprintf(p, sizeof p, "%s/live/data.mdb", dir);
    uint8_t *d1 = slurp(p, &n1);
    const size_t ps = 4096; /* LMDB's page size here: the OS page */
    size_t pages = (n1 > n0 ? n1 : n0) / ps, changed = 0;
    for (size_t i = 0; i < pages; i++)
        if ((i + 1) * ps > n0 || memcmp(d0 + i * ps, d1 + i * ps, ps))
            changed++;
    assert_true(changed > 20); /* the test means something only if pages moved */
    uint8_t *img = malloc(pages * ps);
    unsigned rnd = 12345;
    for (int trial = 0; trial < 24; trial++) {
        /* Trial 0: nothing after the sync reached the disk; trial 1:
         * everything did (the process died, the kernel wrote it all);
         * then random subsets. */
        memset(img, 0, pages * ps);
        memcpy(img, d0, n0);
        for (size_t i = 0; i < pages; i++) {
            int take = trial == 1 || (trial > 1 && rand_r(&rnd) % 2);
            if (take && (i + 1) * ps <= n1)
                memcpy(img + i * ps, d1 + i * ps, ps);
        }
        char td[200], tw[300], tl[300];
        snprintf(td, sizeof td, "%s/t%d", dir, trial);
        snprintf(tw, sizeof tw, "%s/wal", td);
        snprintf(tl, sizeof tl, "%s/live/wal", dir);
        mkdir(td, 0700);
        copy_dir_files(tl, tw);
        snprintf(p, sizeof p, "%s/data.mdb", td);
        spit(p, img, pages * ps);

        ll_store_config_t c = {.wal = 1, .sync_ms = 3600 * 1000, .wal_segment = 64 << 10};
        ll_store_t *st = NULL;
        int err = ll_store_open(td, &c, &st);
        if (err)
            fail_msg("trial %d: open: %s (%s)", trial, ll_strerror(err), ll_store_last_error());
        uint64_t size = ll_store_committed_size(st);
        const ll_wal_rec_t *recs;
        size_t np = ll_store_pending(st, &recs);
        /* Rolled back to the synced state unless the meta pages on disk
         * were the synced ones; either way the log supplies the rest. */
        assert_true(size >= SYNCED_AT && size <= TOTAL);
        assert_int_equal(size + np, TOTAL);
        if (trial == 0 || trial == 1)
            assert_int_equal(size, SYNCED_AT);
        /* Replay, as the ledger would (it verifies; here the bytes are
         * compared by check_tree). */
        ll_txn_t *w;
        assert_int_equal(ll_store_begin_write(st, &w), LL_OK);
        for (size_t i = 0; i < np; i++) {
            uint8_t lh[LL_HASH_LEN];
            assert_int_equal(recs[i].seq, size + i);
            assert_int_equal(
                ll_store_append(w, recs[i].leaf, recs[i].len, (int64_t)recs[i].seq + 1, lh),
                LL_OK);
        }
        ll_store_pending_done(st);
        assert_int_equal(np ? ll_store_commit_logged(w) : (ll_store_abort(w), LL_OK), LL_OK);
        check_tree(st, TOTAL);
        ll_store_close(st);
        /* Closed cleanly: a plain opener sees the same, nothing to roll back. */
        assert_int_equal(ll_store_open(td, NULL, &st), LL_OK);
        check_tree(st, TOTAL);
        assert_string_equal(ll_store_open_note(st), "");
        ll_store_close(st);
    }
    free(img);
    free(d0);
    free(d1);
    ll_test_rmdir(dir);
}

/* After a crash a plain opener (loopledgerd verify, backup) rolls back and
 * hands the record over; the next server replays; a second server on the
 * same directory is refused. */
static void test_plain_opener_and_lock(void **state)
{
    (void)state;
    char dir[64], p[512];
    ll_test_tmpdir(dir);
    snprintf(p, sizeof p, "%s/synced.mdb", dir);
    pid_t pid = fork();
    if (pid == 0)
        child(dir, p);
    int ws;
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
    ll_store_t *st, *st2;
    assert_int_equal(ll_store_open(dir, NULL, &st), LL_OK);
    assert_int_equal(ll_store_committed_size(st), SYNCED_AT);
    assert_non_null(strstr(ll_store_open_note(st), "rolled data.mdb back"));
    ll_store_close(st);
    ll_store_config_t c = {.wal = 1};
    assert_int_equal(ll_store_open(dir, &c, &st), LL_OK);
    const ll_wal_rec_t *recs;
    assert_int_equal(ll_store_pending(st, &recs), TOTAL - SYNCED_AT);
    assert_int_equal(ll_store_open(dir, &c, &st2), LL_ERR_UNAVAILABLE);
    assert_non_null(strstr(ll_store_last_error(), "another loopledgerd serves"));
    ll_store_close(st);
    ll_test_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frames_read_back),
        cmocka_unit_test(test_torn_tail_ends_log),
        cmocka_unit_test(test_damage_before_valid_frames),
        cmocka_unit_test(test_gap_and_conflict),
        cmocka_unit_test(test_retraction),
        cmocka_unit_test(test_no_room_for_a_segment),
        cmocka_unit_test(test_power_loss_images),
        cmocka_unit_test(test_plain_opener_and_lock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
