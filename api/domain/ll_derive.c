/*
 * ll_derive: rebuild the derived tables from the leaves and compare
 * (ll_derive.h).
 */
#include "ll_derive.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ll_audit.h"
#include "ll_bytes.h"
#include "ll_entry.h"
#include "ll_err.h"
#include "ll_format.h"
#include "ll_loop.h"

/* Leaves replayed per scratch commit: big enough that fsyncs do not
 * dominate, small enough to keep LMDB's dirty list modest. */
#define REPLAY_BATCH 2048

static const char *const names[LL_TBL__COUNT] = {
    [LL_TBL_META] = "meta",
    [LL_TBL_DEDUP] = "dedup",
    [LL_TBL_ACTORS] = "actors",
    [LL_TBL_KEYS] = "keys",
    [LL_TBL_INDEX] = "index",
};

/* Meta records that are not derived from the leaves. */
static int meta_not_derived(const uint8_t *key, size_t klen)
{
    /* The audit checkpoint and the format stamp (ll_format.h) say nothing
     * the leaves say. */
    return (klen == strlen(LL_AUDIT_CP_KEY) && !memcmp(key, LL_AUDIT_CP_KEY, klen)) ||
           (klen == strlen(LL_FORMAT_KEY) && !memcmp(key, LL_FORMAT_KEY, klen));
}

/* Meta records the ledger writes at all. */
static int meta_known(const uint8_t *key, size_t klen)
{
    /* LL_FORMAT_KEY: the on-disk format stamp (ll_format.h), written when a
     * directory is created or upgraded. */
    static const char *const known[] = {"size", "last_time", "origin", LL_AUDIT_CP_KEY,
                                        LL_FORMAT_KEY};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (klen == strlen(known[i]) && !memcmp(key, known[i], klen))
            return 1;
    return 0;
}

const char *ll_derive_table_name(enum ll_table t)
{
    return (unsigned)t < LL_TBL__COUNT ? names[t] : "?";
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- the scratch environment ---- */

typedef struct scratch {
    char dir[256];
    ll_store_t *st;
} scratch_t;

static void scratch_close(scratch_t *s)
{
    ll_store_close(s->st);
    s->st = NULL;
    if (!s->dir[0])
        return;
    DIR *d = opendir(s->dir);
    if (d) {
        struct dirent *de;
        char p[512];
        while ((de = readdir(d))) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                continue;
            snprintf(p, sizeof p, "%s/%s", s->dir, de->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(s->dir);
    s->dir[0] = 0;
}

static int scratch_open(scratch_t *s)
{
    const char *tmp = getenv("TMPDIR");
    memset(s, 0, sizeof *s);
    snprintf(s->dir, sizeof s->dir, "%s/ll-derive-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(s->dir)) {
        s->dir[0] = 0;
        return LL_ERR_IO;
    }
    int err = ll_store_open(s->dir, NULL, &s->st);
    /* Rebuilt, compared and deleted within the run, never trusted: no
     * syncs, and no Merkle tree (the audit checks the stored one). */
    if (!err)
        err = ll_store_make_scratch(s->st);
    if (err)
        scratch_close(s);
    return err;
}

/* ---- describing a difference ---- */

/* Text when every byte is printable, else hex; at most 48 bytes shown. */
static void render(char *out, size_t cap, const uint8_t *p, size_t n)
{
    int text = n > 0;
    for (size_t i = 0; i < n; i++)
        if (p[i] < 0x20 || p[i] > 0x7e || p[i] == '"')
            text = 0;
    size_t shown = n > 48 ? 48 : n, o = 0;
    if (text) {
        o = (size_t)snprintf(out, cap, "\"%.*s\"", (int)shown, (const char *)p);
    } else {
        for (size_t i = 0; i < shown && o + 3 < cap; i++)
            o += (size_t)snprintf(out + o, cap - o, "%02x", p[i]);
    }
    if (shown < n && o < cap)
        snprintf(out + o, cap - o, "... (%zu bytes)", n);
    if (!n)
        snprintf(out, cap, "(empty)");
}

/* The first difference of one kind, kept until the table is done. */
typedef struct diff {
    int have;
    char text[600]; /* room for three rendered values and the words */
} diff_t;

static void describe(diff_t *d, enum ll_table tbl, const uint8_t *key, size_t klen,
                     const uint8_t *want, size_t wlen, const uint8_t *got, size_t glen)
{
    char k[160], w[160], g[160];
    if (d->have)
        return;
    d->have = 1;
    render(k, sizeof k, key, klen);
    if (want)
        render(w, sizeof w, want, wlen);
    else
        snprintf(w, sizeof w, "no record");
    if (got)
        render(g, sizeof g, got, glen);
    else
        snprintf(g, sizeof g, "no record");
    snprintf(d->text, sizeof d->text, "table %s, key %s: rebuilt from the leaves %s, stored %s",
             names[tbl], k, w, g);
}

/* LMDB's default key order: bytes, then the shorter key first. */
static int key_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    return c ? c : an < bn ? -1 : an > bn;
}

/* Whether a record of tbl takes part in the comparison. */
static int compared(enum ll_table tbl, const uint8_t *key, size_t klen, int old_format)
{
    if (tbl == LL_TBL_META && meta_not_derived(key, klen))
        return 0;
    /* A directory of an older format holds index records whose encoding or
     * meaning changed since (ll_format.h) until a server upgrades it by
     * rebuilding them; a byte comparison with the rebuilt ones means
     * nothing. */
    return !(old_format && tbl == LL_TBL_INDEX);
}

/* Next compared record of c: LL_OK, LL_ERR_NOT_FOUND at the end. */
static int next_rec(ll_cursor_t *c, enum ll_table tbl, int old_format, const uint8_t **k,
                    size_t *kl, const uint8_t **v, size_t *vl)
{
    int err;
    while ((err = ll_store_cursor_next(c, k, kl, v, vl)) == LL_OK &&
           !compared(tbl, *k, *kl, old_format))
        ;
    return err;
}

/* Compares table tbl of stored and rebuilt, both ways, in one merge walk
 * of the two in key order. Counts the stored records and the differences
 * (missing, extra, different), and when what[0] is still empty words the
 * first: of the stored records that differ or are extra, else of the
 * rebuilt ones missing (the order the report has always used). */
static int compare_table(ll_txn_t *stored, ll_txn_t *rebuilt, enum ll_table tbl,
                         uint64_t *records, uint64_t *diffs, char *what, size_t cap,
                         int old_format)
{
    ll_cursor_t *cs = NULL, *cr = NULL;
    const uint8_t *sk = NULL, *sv = NULL, *rk = NULL, *rv = NULL;
    size_t skl = 0, svl = 0, rkl = 0, rvl = 0;
    diff_t from_stored = {0, ""}, from_rebuilt = {0, ""};
    int err, es, er;
    if ((err = ll_store_cursor_open(stored, tbl, &cs)) ||
        (err = ll_store_cursor_open(rebuilt, tbl, &cr)))
        goto out;
    es = next_rec(cs, tbl, old_format, &sk, &skl, &sv, &svl);
    er = next_rec(cr, tbl, old_format, &rk, &rkl, &rv, &rvl);
    for (;;) {
        if ((es && es != LL_ERR_NOT_FOUND) || (er && er != LL_ERR_NOT_FOUND)) {
            err = es && es != LL_ERR_NOT_FOUND ? es : er;
            goto out;
        }
        if (es && er)
            break;
        int c = es ? 1 : er ? -1 : key_cmp(sk, skl, rk, rkl);
        if (c < 0) { /* stored only */
            (*records)++;
            (*diffs)++;
            describe(&from_stored, tbl, sk, skl, NULL, 0, sv, svl);
        } else if (c > 0) { /* rebuilt only */
            (*diffs)++;
            describe(&from_rebuilt, tbl, rk, rkl, rv, rvl, NULL, 0);
        } else {
            (*records)++;
            if (svl != rvl || memcmp(sv, rv, svl)) {
                (*diffs)++;
                describe(&from_stored, tbl, sk, skl, rv, rvl, sv, svl);
            }
        }
        if (c <= 0)
            es = next_rec(cs, tbl, old_format, &sk, &skl, &sv, &svl);
        if (c >= 0)
            er = next_rec(cr, tbl, old_format, &rk, &rkl, &rv, &rvl);
    }
    if (!what[0] && (from_stored.have || from_rebuilt.have))
        snprintf(what, cap, "%s", from_stored.have ? from_stored.text : from_rebuilt.text);
    err = LL_OK;
out:
    ll_store_cursor_close(cs);
    ll_store_cursor_close(cr);
    return err;
}

/* ---- replay ---- */

/* Replays leaf seq of stored into w. LL_ERR_CORRUPT with why on damage. */
static int replay_one(ll_derive_replay_fn replay, ll_txn_t *stored, ll_txn_t *w, uint64_t seq,
                      int trust_only, char *why, size_t cap)
{
    const uint8_t *leaf, *env;
    size_t len, env_len;
    uint64_t s;
    int64_t t;
    char msg[320];
    int err = ll_store_leaf(stored, seq, &leaf, &len);
    if (err) {
        snprintf(why, cap, "entry #%llu: leaf missing (%s)", (unsigned long long)seq,
                 ll_strerror(err));
        return err == LL_ERR_NOT_FOUND ? LL_ERR_CORRUPT : err;
    }
    if (ll_leaf_parse(leaf, len, &s, &t, &env, &env_len) || s != seq) {
        snprintf(why, cap, "entry #%llu: the leaf is not a LogEntry for this sequence number",
                 (unsigned long long)seq);
        return LL_ERR_CORRUPT;
    }
    msg[0] = 0;
    err = replay(w, env, env_len, seq, t, trust_only, msg, sizeof msg);
    if (err == LL_ERR_CORRUPT)
        snprintf(why, cap, "entry #%llu: %s", (unsigned long long)seq, msg);
    else if (err)
        snprintf(why, cap, "entry #%llu: replay failed: %s (%s)", (unsigned long long)seq,
                 ll_strerror(err), msg);
    return err;
}

/* Replays every leaf of stored, in order, into the scratch store sc.
 * LL_ERR_CORRUPT with *bad_seq and why when an entry does not replay (the
 * tables after it mean nothing); *replayed counts the leaves done. */
static int replay_all(ll_derive_replay_fn replay, ll_txn_t *stored, scratch_t *sc,
                      uint64_t *replayed, uint64_t *bad_seq, char *why, size_t cap)
{
    ll_txn_t *w = NULL;
    uint64_t size = ll_store_size(stored);
    int err = ll_store_begin_write(sc->st, &w);
    for (uint64_t seq = 0; seq < size && !err; seq++) {
        if ((err = replay_one(replay, stored, w, seq, 0, why, cap))) {
            if (err == LL_ERR_CORRUPT)
                *bad_seq = seq;
            break;
        }
        ++*replayed;
        if ((seq + 1) % REPLAY_BATCH == 0) {
            err = ll_store_commit(w);
            w = NULL;
            if (!err)
                err = ll_store_begin_write(sc->st, &w);
        }
    }
    if (!err) {
        err = ll_store_commit(w);
        w = NULL;
    }
    ll_store_abort(w);
    return err;
}

/* ---- the full check, fed entry by entry ---- */

struct ll_derive_run {
    scratch_t sc;
    ll_txn_t *w;              /* the scratch's write transaction */
    ll_derive_apply_fn apply;
    uint64_t replayed;
    uint64_t bad_seq;         /* the entry that did not replay */
    int err;                  /* first failure; LL_ERR_CORRUPT: damage found */
    char what[512];
    double seconds;           /* spent in feed and end */
};

int ll_derive_begin(ll_derive_apply_fn apply, ll_derive_run_t **out)
{
    double t0 = now_s();
    ll_derive_run_t *r = calloc(1, sizeof *r);
    int err;
    *out = NULL;
    if (!r)
        return LL_ERR_NOMEM;
    r->apply = apply;
    r->bad_seq = LL_DERIVE_NO_SEQ;
    if ((err = scratch_open(&r->sc)) || (err = ll_store_begin_write(r->sc.st, &r->w))) {
        ll_derive_abandon(r);
        return err;
    }
    r->seconds = now_s() - t0;
    *out = r;
    return LL_OK;
}

int ll_derive_feed(ll_derive_run_t *r, uint64_t seq, int64_t t, const ll_entry_t *e)
{
    char msg[320];
    if (r->err)
        return r->err;
    double t0 = now_s();
    msg[0] = 0;
    int err = r->apply(r->w, e, seq, t, 0, msg, sizeof msg);
    if (err == LL_ERR_CORRUPT) {
        r->bad_seq = seq;
        snprintf(r->what, sizeof r->what, "entry #%llu: %s", (unsigned long long)seq, msg);
    } else if (err) {
        snprintf(r->what, sizeof r->what, "entry #%llu: replay failed: %s (%s)",
                 (unsigned long long)seq, ll_strerror(err), msg);
    } else if (++r->replayed % REPLAY_BATCH == 0) {
        err = ll_store_commit(r->w);
        r->w = NULL;
        if (!err)
            err = ll_store_begin_write(r->sc.st, &r->w);
    }
    r->err = err;
    r->seconds += now_s() - t0;
    return err;
}

/* Stops the replay at entry seq, which does not replay: what says why. */
static void feed_failed(ll_derive_run_t *r, uint64_t seq, int err, const char *what)
{
    r->err = err;
    if (err == LL_ERR_CORRUPT)
        r->bad_seq = seq;
    snprintf(r->what, sizeof r->what, "%s", what);
}

void ll_derive_abandon(ll_derive_run_t *r)
{
    if (!r)
        return;
    ll_store_abort(r->w);
    if (r->sc.st || r->sc.dir[0])
        scratch_close(&r->sc);
    free(r);
}

int ll_derive_end(ll_derive_run_t *r, ll_txn_t *stored, ll_derive_report_t *rep)
{
    ll_txn_t *rebuilt = NULL;
    double t0 = now_s();
    int err = r->err;

    memset(rep, 0, sizeof *rep);
    rep->bad_seq = r->bad_seq;
    rep->replayed = r->replayed;
    uint64_t size = ll_store_size(stored);
    if (err == LL_ERR_CORRUPT) {
        /* Tables after a refused entry mean nothing; the entry is the
         * finding. */
        rep->damaged = 1;
        snprintf(rep->what, sizeof rep->what, "%s", r->what);
        err = LL_OK;
        goto out;
    }
    if (err)
        goto out;
    if (r->replayed != size) {
        /* The feeder stopped short without saying why: not a finding. */
        err = LL_ERR_INVALID;
        goto out;
    }
    err = ll_store_commit(r->w);
    r->w = NULL;
    if (err || (err = ll_store_begin_read(r->sc.st, &rebuilt)))
        goto out;
    /* The format stamp is not derived from the leaves, but it is not free
     * either: a directory holds none (format 1, written before versioning)
     * or exactly this build's version, which the server stamps when it
     * creates or upgrades one. Anything else is damage. */
    {
        const uint8_t *fv;
        size_t fl;
        err = ll_store_get(stored, LL_TBL_META, LL_FORMAT_KEY, strlen(LL_FORMAT_KEY), &fv, &fl);
        if (err == LL_ERR_NOT_FOUND) {
            rep->old_format = size ? 1 : 0;
        } else if (err) {
            goto out;
        } else if (fl == 4 && ll_get_be32(fv) >= 2 && ll_get_be32(fv) < LL_FORMAT_VERSION) {
            rep->old_format = ll_get_be32(fv); /* upgraded at the next start */
        } else if (fl != 4) {
            rep->damaged = 1;
            rep->diffs[LL_TBL_META]++;
            snprintf(rep->what, sizeof rep->what,
                     "table meta, key \"%s\": %zu bytes stored, a version is 4", LL_FORMAT_KEY,
                     fl);
        } else if (ll_get_be32(fv) != LL_FORMAT_VERSION) {
            rep->damaged = 1;
            rep->diffs[LL_TBL_META]++;
            snprintf(rep->what, sizeof rep->what,
                     "table meta, key \"%s\": stored version %u, this build writes version %u",
                     LL_FORMAT_KEY, ll_get_be32(fv), LL_FORMAT_VERSION);
        }
        err = LL_OK;
    }
    for (int t = 0; t < LL_TBL__COUNT; t++) {
        if ((err = compare_table(stored, rebuilt, (enum ll_table)t, &rep->records[t],
                                 &rep->diffs[t], rep->what, sizeof rep->what,
                                 rep->old_format != 0)))
            goto out;
        if (rep->diffs[t])
            rep->damaged = 1;
    }
out:
    ll_store_abort(rebuilt);
    rep->seconds = r->seconds + (now_s() - t0);
    ll_derive_abandon(r);
    return err;
}

int ll_derive_check(ll_store_t *st, ll_derive_apply_fn apply, ll_derive_report_t *rep)
{
    ll_derive_run_t *r = NULL;
    ll_txn_t *stored = NULL;
    char why[512];
    int err;

    memset(rep, 0, sizeof *rep);
    rep->bad_seq = LL_DERIVE_NO_SEQ;
    if ((err = ll_derive_begin(apply, &r)) || (err = ll_store_begin_read(st, &stored)))
        goto out;
    uint64_t size = ll_store_size(stored);
    for (uint64_t seq = 0; seq < size && !r->err; seq++) {
        const uint8_t *leaf, *env;
        size_t len, env_len;
        uint64_t s;
        int64_t t;
        ll_entry_t e;
        char msg[320];
        if ((err = ll_store_leaf(stored, seq, &leaf, &len))) {
            snprintf(why, sizeof why, "entry #%llu: leaf missing (%s)", (unsigned long long)seq,
                     ll_strerror(err));
            feed_failed(r, seq, err == LL_ERR_NOT_FOUND ? LL_ERR_CORRUPT : err, why);
        } else if (ll_leaf_parse(leaf, len, &s, &t, &env, &env_len) || s != seq) {
            snprintf(why, sizeof why,
                     "entry #%llu: the leaf is not a LogEntry for this sequence number",
                     (unsigned long long)seq);
            feed_failed(r, seq, LL_ERR_CORRUPT, why);
        } else if (ll_entry_decode(env, env_len, &e, msg, sizeof msg)) {
            snprintf(why, sizeof why, "entry #%llu: %s", (unsigned long long)seq, msg);
            feed_failed(r, seq, LL_ERR_CORRUPT, why);
        } else {
            ll_derive_feed(r, seq, t, &e);
            ll_entry_free(&e);
        }
    }
    err = ll_derive_end(r, stored, rep);
    r = NULL;
out:
    ll_derive_abandon(r);
    ll_store_abort(stored);
    return err;
}

/* ---- rebuilding in place (format upgrades) ---- */

typedef struct copy {
    ll_txn_t *w;
    enum ll_table tbl;
} copy_t;

static int copy_cb(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    copy_t *c = ctx;
    if (c->tbl == LL_TBL_META && meta_not_derived(key, klen))
        return 0;
    return ll_store_put(c->w, c->tbl, key, klen, val, vlen);
}

int ll_derive_rebuild(ll_txn_t *w, ll_derive_replay_fn replay, char *msg, size_t cap)
{
    scratch_t sc = {{0}, NULL};
    ll_txn_t *rebuilt = NULL;
    uint64_t replayed = 0, bad = LL_DERIVE_NO_SEQ;
    char why[512] = "";
    int err;

    if ((err = scratch_open(&sc))) {
        snprintf(msg, cap, "rebuilding the derived tables: no scratch directory: %s",
                 ll_strerror(err));
        goto out;
    }
    if ((err = replay_all(replay, w, &sc, &replayed, &bad, why, sizeof why))) {
        snprintf(msg, cap, "rebuilding the derived tables: %s (see loopledgerd verify)", why);
        goto out;
    }
    if ((err = ll_store_begin_read(sc.st, &rebuilt)))
        goto out;
    /* Every derived record is replaced: the stored ones are dropped, not
     * merged, so none of the old format survives. Meta keeps what is not
     * derived (the checkpoint, the format stamp). */
    for (int t = 0; t < LL_TBL__COUNT && !err; t++) {
        copy_t c = {w, (enum ll_table)t};
        if (t != LL_TBL_META && (err = ll_store_clear(w, (enum ll_table)t)))
            break;
        err = ll_store_scan(rebuilt, (enum ll_table)t, "", 0, NULL, 0, 0, copy_cb, &c);
    }
    if (err)
        snprintf(msg, cap, "rebuilding the derived tables: %s (%s)", ll_strerror(err),
                 ll_store_last_error());
out:
    ll_store_abort(rebuilt);
    if (sc.st || sc.dir[0])
        scratch_close(&sc);
    return err;
}

/* ---- the start-up check ---- */

typedef struct seqs {
    uint64_t *v;
    size_t n, cap;
    int err;
} seqs_t;

static int seq_cb(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    seqs_t *s = ctx;
    (void)val;
    (void)vlen;
    if (klen != 10)
        return 0; /* not a kind record: the full check reports it */
    if (s->n == s->cap) {
        size_t nc = s->cap ? 2 * s->cap : 64;
        uint64_t *nv = realloc(s->v, nc * sizeof *nv);
        if (!nv)
            return LL_ERR_NOMEM;
        s->v = nv;
        s->cap = nc;
    }
    s->v[s->n++] = ll_get_be64(key + 2);
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

typedef struct metakeys {
    char *what;
    size_t cap;
    int bad;
} metakeys_t;

static int meta_cb(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    metakeys_t *m = ctx;
    (void)val;
    (void)vlen;
    if (meta_known(key, klen))
        return 0;
    char k[160];
    render(k, sizeof k, key, klen);
    snprintf(m->what, m->cap, "table meta holds a record the ledger never writes, key %s "
                              "(a damaged record?)", k);
    m->bad = 1;
    return 1;
}

int ll_derive_startup_check(ll_store_t *st, ll_derive_replay_fn replay, char *msg, size_t cap)
{
    /* The kinds whose entries write actor and key records. */
    static const uint8_t kinds[] = {
        LOOPLEDGER__V1__ENTRY_BODY__KIND_GENESIS,    LOOPLEDGER__V1__ENTRY_BODY__KIND_ACTOR,
        LOOPLEDGER__V1__ENTRY_BODY__KIND_KEY_ROTATION, LOOPLEDGER__V1__ENTRY_BODY__KIND_REVOCATION,
        LOOPLEDGER__V1__ENTRY_BODY__KIND_ROLE_GRANT,
    };
    scratch_t sc = {{0}, NULL};
    ll_txn_t *stored = NULL, *w = NULL, *rebuilt = NULL;
    seqs_t s = {NULL, 0, 0, 0};
    metakeys_t mk = {msg, cap, 0};
    uint64_t records = 0, diffs = 0;
    int err;

    msg[0] = 0;
    if ((err = ll_store_begin_read(st, &stored)))
        goto out;
    if ((err = ll_store_scan(stored, LL_TBL_META, "", 0, NULL, 0, 0, meta_cb, &mk)))
        goto out;
    if (mk.bad) {
        err = LL_ERR_CORRUPT;
        goto out;
    }
    uint64_t size = ll_store_size(stored);
    if (size == 0)
        goto out; /* nothing written yet */
    /* meta "size" and "last_time" against the last leaf: O(1). */
    {
        const uint8_t *leaf, *env;
        size_t len, env_len;
        uint64_t ls;
        int64_t lt;
        if (ll_store_leaf(stored, size - 1, &leaf, &len) ||
            ll_leaf_parse(leaf, len, &ls, &lt, &env, &env_len) || ls != size - 1) {
            snprintf(msg, cap, "meta \"size\" says %llu entries but entry #%llu is missing or "
                               "malformed", (unsigned long long)size,
                     (unsigned long long)(size - 1));
            err = LL_ERR_CORRUPT;
            goto out;
        }
        if (lt != ll_store_last_time(stored)) {
            snprintf(msg, cap, "meta \"last_time\" is %lld but the last entry's server time is %lld",
                     (long long)ll_store_last_time(stored), (long long)lt);
            err = LL_ERR_CORRUPT;
            goto out;
        }
    }
    for (size_t i = 0; i < sizeof kinds; i++) {
        uint8_t prefix[2] = {LL_IX_KIND, kinds[i]};
        if ((err = ll_store_scan(stored, LL_TBL_INDEX, prefix, 2, NULL, 0, 0, seq_cb, &s)))
            goto out;
    }
    qsort(s.v, s.n, sizeof *s.v, cmp_u64);
    if (!s.n || s.v[0] != 0) {
        snprintf(msg, cap, "the kind index does not list the genesis entry #0");
        err = LL_ERR_CORRUPT;
        goto out;
    }
    if ((err = scratch_open(&sc)) || (err = ll_store_begin_write(sc.st, &w)))
        goto out;
    for (size_t i = 0; i < s.n; i++) {
        if (i && s.v[i] == s.v[i - 1])
            continue;
        if (s.v[i] >= ll_store_size(stored)) {
            snprintf(msg, cap, "the kind index lists entry #%llu beyond the tree",
                     (unsigned long long)s.v[i]);
            err = LL_ERR_CORRUPT;
            goto out;
        }
        if ((err = replay_one(replay, stored, w, s.v[i], 1, msg, cap)))
            goto out;
    }
    err = ll_store_commit(w);
    w = NULL;
    if (err || (err = ll_store_begin_read(sc.st, &rebuilt)))
        goto out;
    if ((err = compare_table(stored, rebuilt, LL_TBL_ACTORS, &records, &diffs, msg, cap, 0)) ||
        (err = compare_table(stored, rebuilt, LL_TBL_KEYS, &records, &diffs, msg, cap, 0)))
        goto out;
    /* The origin, which names the log in every checkpoint, is the genesis's. */
    {
        const uint8_t *a, *b;
        size_t an, bn;
        int ea = ll_store_get(stored, LL_TBL_META, "origin", 6, &a, &an);
        int eb = ll_store_get(rebuilt, LL_TBL_META, "origin", 6, &b, &bn);
        if (!diffs && (ea || eb || an != bn || memcmp(a, b, an))) {
            snprintf(msg, cap, "meta \"origin\" differs from the origin of the genesis entry");
            diffs++;
        }
    }
    if (diffs)
        err = LL_ERR_CORRUPT;
out:
    ll_store_abort(w);
    ll_store_abort(rebuilt);
    ll_store_abort(stored);
    if (sc.st || sc.dir[0])
        scratch_close(&sc);
    free(s.v);
    return err;
}
