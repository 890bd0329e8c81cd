/*
 * ll_daemon_cmds: loopledgerd verify, backup and promote (ll_daemon_cmds.h).
 * They share one shape (open the data directory's store, do one job, print
 * a result, exit) and nothing of the serve path: no gRPC, no listener, no
 * ledger writer. Apart from it so that the server's start-up reads as one
 * piece in loopledgerd.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ll_audit.h"
#include "ll_crypto.h"
#include "ll_daemon_cmds.h"
#include "ll_daemon_util.h"
#include "ll_derive.h"
#include "ll_err.h"
#include "ll_format.h"
#include "ll_fsio.h"
#include "ll_ledger.h"
#include "ll_mirror.h"
#include "ll_store.h"

/* 1 when dir/data.mdb exists; 0, logged, when not. */
static int has_ledger(const char *dir)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/data.mdb", dir);
    if (access(p, F_OK)) {
        ll_daemon_logf("%s holds no ledger", dir);
        return 0;
    }
    return 1;
}

/* The derived-table check of verify, fed by the audit's own reading
 * of the leaves (ll_audit_visitor_t), so it costs no second decode and runs
 * while the audit's workers verify signatures. */
typedef struct verify_derive {
    ll_derive_run_t *run;
    int stopped;            /* the replay refused an entry or failed */
    int ended;              /* rep and err are set */
    int err;
    ll_derive_report_t rep;
} verify_derive_t;

static int verify_derive_entry(void *ctx, uint64_t seq, int64_t t, const ll_entry_t *e)
{
    verify_derive_t *vd = ctx;
    if (ll_derive_feed(vd->run, seq, t, e) != LL_OK)
        vd->stopped = 1;
    return vd->stopped;
}

static void verify_derive_done(void *ctx, ll_txn_t *txn, int visited_all)
{
    verify_derive_t *vd = ctx;
    if (!visited_all && !vd->stopped)
        return; /* the audit found damage: its finding is the report */
    vd->err = ll_derive_end(vd->run, txn, &vd->rep);
    vd->run = NULL;
    vd->ended = 1;
}

/* verify's verdict on damage, from the audit or the derived-table check:
 * the first damaged entry when the finding has one, else lead and what.
 * Returns verify's exit code for damage (1). */
static int verify_damaged(int at_seq, uint64_t seq, const char *lead, const char *what)
{
    if (at_seq)
        printf("DAMAGED: first damaged entry #%" PRIu64 ": %s\n", seq, what);
    else
        printf("DAMAGED: %s%s\n", lead, what);
    return 1;
}

int ll_daemon_cmd_verify(const ll_daemon_opts_t *o)
{
    char path[4096];
    ll_key_t *note_key = NULL;
    ll_store_t *st = NULL;
    ll_audit_report_t rep;
    uint8_t pub[LL_PUBKEY_LEN];
    int rc = 2, err;
    if (!has_ledger(o->data))
        return 2;
    snprintf(path, sizeof path, "%s/note.key", o->data);
    if ((err = ll_daemon_key_file_private(path)) || (err = ll_key_load(path, &note_key))) {
        ll_daemon_logf("reading the checkpoint key %s: %s", path, ll_strerror(err));
        goto out;
    }
    ll_key_public(note_key, pub);
    if ((err = ll_store_open(o->data, NULL, &st))) {
        ll_daemon_logf("opening store %s: %s (%s)", o->data, ll_strerror(err),
                       ll_store_last_error());
        goto out;
    }
    char fmsg[LL_MSG_MAX];
    if ((err = ll_format_check(st, fmsg, sizeof fmsg))) {
        ll_daemon_logf("%s: %s", o->data, fmsg);
        goto out;
    }
    /* The scratch of the derived-table check opens first, so that its
     * replay can ride along the audit; if it cannot, the audit still
     * runs and its report stands. */
    verify_derive_t vd = {0};
    int derr = ll_derive_begin(ll_ledger_replay_entry, &vd.run);
    ll_audit_visitor_t visit = {verify_derive_entry, verify_derive_done, &vd};
    err = ll_audit_run_visit(st, pub, o->threads, derr ? NULL : &visit, &rep);
    ll_derive_abandon(vd.run);
    if (err) {
        ll_daemon_logf("audit could not run: %s (%s)", ll_strerror(err), ll_store_last_error());
        goto out;
    }
    printf("entries %" PRIu64 " (%" PRIu64 " bytes), signatures verified %" PRIu64
           ", tree nodes checked %" PRIu64 ", signed checkpoint size %" PRIu64 ", %.2f s\n",
           rep.size, rep.leaf_bytes, rep.signatures, rep.nodes, rep.cp_size, rep.seconds);
    if (!rep.damaged) {
        /* The leaves are sound: now what was derived from them. */
        ll_derive_report_t d = vd.rep;
        if ((err = derr ? derr : vd.ended ? vd.err : LL_ERR_INVALID)) {
            ll_daemon_logf("derived-table check could not run: %s (%s)", ll_strerror(err),
                           ll_store_last_error());
            goto out;
        }
        printf("derived tables: %" PRIu64 " entries replayed, records compared:", d.replayed);
        for (int t = 0; t < LL_TBL__COUNT; t++)
            printf(" %s %" PRIu64 "%s", ll_derive_table_name((enum ll_table)t), d.records[t],
                   d.diffs[t] ? " (DIFFERS)" : "");
        printf(", %.2f s\n", d.seconds);
        if (d.old_format)
            printf("note: data format %u (current %u): the index records predate this "
                   "format and were not compared; `loopledgerd serve` rebuilds them from the "
                   "leaves in place\n", d.old_format, LL_FORMAT_VERSION);
        if (!d.damaged) {
            printf("OK: every entry, signature and tree node verifies, and every derived table "
                   "matches the entries\n");
            rc = 0;
        } else
            rc = verify_damaged(d.bad_seq != LL_DERIVE_NO_SEQ, d.bad_seq,
                                "a derived table differs from the entries: ", d.what);
    } else
        rc = verify_damaged(rep.first_bad_seq != LL_AUDIT_NO_SEQ, rep.first_bad_seq, "",
                            rep.what);
out:
    ll_store_close(st);
    ll_key_free(note_key);
    return rc;
}

/* loopledgerd backup: a consistent, compacted copy while the server runs
 * (LMDB's copy reads one snapshot), plus the keys that make it a ledger. */
int ll_daemon_cmd_backup(const ll_daemon_opts_t *o)
{
    ll_store_t *st = NULL;
    struct timespec t0, t1;
    struct stat sb;
    char a[4096], b[4096];
    int rc = 1, err;
    if (!o->to) {
        ll_daemon_logf("backup needs --to NEWDIR");
        return 2;
    }
    if (!has_ledger(o->data))
        return 1;
    if (mkdir(o->to, 0700)) {
        ll_daemon_logf("cannot create %s: %s (it must not exist yet)", o->to, strerror(errno));
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if ((err = ll_store_open(o->data, NULL, &st))) {
        ll_daemon_logf("opening store %s: %s (%s)", o->data, ll_strerror(err),
                       ll_store_last_error());
        goto out;
    }
    uint64_t size = ll_store_committed_size(st);
    if ((err = ll_store_backup(st, o->to))) {
        ll_daemon_logf("backup to %s: %s (%s)", o->to, ll_strerror(err), ll_store_last_error());
        goto out;
    }
    for (int i = 0; i < 2; i++) {
        const char *k = i ? "actor.key" : "note.key";
        snprintf(a, sizeof a, "%s/%s", o->data, k);
        snprintf(b, sizeof b, "%s/%s", o->to, k);
        if (ll_fsio_copy_file(a, b)) {
            ll_daemon_logf("copying %s: %s", a, strerror(errno));
            goto out;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    snprintf(b, sizeof b, "%s/data.mdb", o->to);
    stat(b, &sb);
    printf("backup of %s: at least %" PRIu64 " entries, data.mdb %lld bytes, %.2f s -> %s\n",
           o->data, size, (long long)sb.st_size,
           (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9, o->to);
    rc = 0;
out:
    ll_store_close(st);
    return rc;
}

/* loopledgerd promote: a mirror's directory becomes a primary's. With the
 * primary's keys (kept off-site), clients' pinned verifier key and their
 * remembered checkpoints keep working; without, the directory keeps the
 * mirror's own keys and clients must pin the new verifier key. */
int ll_daemon_cmd_promote(const ll_daemon_opts_t *o)
{
    ll_store_t *st = NULL;
    char p[4096];
    int err;
    if (!has_ledger(o->data))
        return 1;
    if ((err = ll_store_open(o->data, NULL, &st))) {
        ll_daemon_logf("opening store %s: %s (%s)", o->data, ll_strerror(err),
                       ll_store_last_error());
        return 1;
    }
    uint64_t size = ll_store_committed_size(st);
    ll_store_close(st);
    if ((err = ll_mirror_promote(o->data, size, o->force, ll_daemon_log_line)))
        return 1;
    for (int i = 0; i < 2; i++) {
        const char *src = i ? o->actor_key : o->note_key;
        if (!src)
            continue;
        ll_key_t *k = NULL;
        if ((err = ll_key_load(src, &k))) {
            ll_daemon_logf("promote: %s is not a readable key: %s", src, ll_strerror(err));
            return 1;
        }
        ll_key_free(k);
        snprintf(p, sizeof p, "%s/%s", o->data, i ? "actor.key" : "note.key");
        unlink(p);
        if (ll_fsio_copy_file(src, p)) {
            ll_daemon_logf("promote: installing %s as %s: %s", src, p, strerror(errno));
            return 1;
        }
    }
    printf("promoted %s: serve it with `loopledgerd serve --data %s`\n", o->data, o->data);
    return 0;
}
