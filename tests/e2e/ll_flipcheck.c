/*
 * ll-flipcheck: byte flips in every table of a copy of a real data file,
 * and whether the ledger's checks see them (issue 18, item 3).
 *
 *   ll-flipcheck random DIR FLIPS_PER_TABLE SEED
 *       DIR is a compacted copy of a ledger (loopledgerd backup: data.mdb
 *       and note.key). For each table (leaves, nodes, meta, dedup, actors,
 *       keys, index) flips FLIPS_PER_TABLE random bytes, one at a time,
 *       each in a fresh copy of data.mdb, each at a random byte of a random
 *       record's key or value (LMDB's own page headers and free space are
 *       not ledger data and are not targeted), XORed with a random nonzero
 *       mask. A flip is detected when LMDB refuses the file, when the audit
 *       (ll_audit_run) or the derived-table check (ll_ledger_check_derived)
 *       reports damage; "start-up" counts the flips the server's start-up
 *       check alone refuses writes for. Prints detected/flipped per table;
 *       exits 1 if any flip went undetected (each is printed).
 *   ll-flipcheck poke DIR role ACTOR VALUE     sets the roles byte (the low
 *       byte of the roles word) of ACTOR's record in the actors table
 *   ll-flipcheck poke DIR dedup SEQ            flips the first key byte of
 *       the dedup record of entry SEQ
 *   ll-flipcheck poke DIR meta NAME key|value  flips a byte of the meta
 *       record NAME's key or value
 *       poke edits DIR/data.mdb in place (the server must not be running).
 *   ll-flipcheck plant DIR ENVELOPE_FILE      appends ENVELOPE_FILE's bytes
 *       as the next leaf without the server's checks (prints its seq)
 *
 * Every record's bytes are found through LMDB (cursor values point into
 * the read-only map), so offsets are exact, never guessed.
 */
#include <fcntl.h>
#include <limits.h>
#include <inttypes.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ll_audit.h"
#include "ll_crypto.h"
#include "ll_derive.h"
#include "ll_entry.h"
#include "ll_err.h"
#include "ll_ledger.h"
#include "ll_store.h"

static const char *const tables[] = {"leaves", "nodes", "meta", "dedup", "actors", "keys",
                                     "index"};
#define NTABLES (sizeof tables / sizeof tables[0])

typedef struct span {
    size_t off, len;
    size_t rec; /* record number, for the report */
} span_t;

typedef struct recs {
    span_t *v; /* per record: key span then value span */
    size_t n, cap;
} recs_t;

static void die(const char *what)
{
    fprintf(stderr, "ll-flipcheck: %s\n", what);
    exit(2);
}

static void push(recs_t *r, size_t off, size_t len)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 256;
        r->v = realloc(r->v, r->cap * sizeof *r->v);
        if (!r->v)
            die("out of memory");
    }
    r->v[r->n++] = (span_t){off, len, r->n / 2};
}

/* Where LMDB mapped dir/data.mdb in this process (mdb_env_info's
 * me_mapaddr is only set for MDB_FIXEDMAP): from /proc/self/maps. */
static const char *map_base(const char *dir)
{
    char want[4096], line[8192];
    if (!realpath(dir, want))
        die("realpath");
    strncat(want, "/data.mdb", sizeof want - strlen(want) - 1);
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        die("cannot read /proc/self/maps");
    const char *base = NULL;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, off;
        char *path = strchr(line, '/');
        if (!path)
            continue;
        path[strcspn(path, "\n")] = 0;
        if (strcmp(path, want) || sscanf(line, "%lx-%*x %*s %lx", &lo, &off) != 2 || off)
            continue;
        base = (const char *)lo;
        break;
    }
    fclose(f);
    if (!base)
        die("cannot find the map of data.mdb");
    return base;
}

/* Key and value spans (file offsets) of every record of each table. */
static void find_records(const char *dir, recs_t recs[NTABLES])
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_envinfo info;
    if (mdb_env_create(&env) || mdb_env_set_maxdbs(env, 16) ||
        mdb_env_set_mapsize(env, (size_t)1 << 34) || mdb_env_open(env, dir, MDB_RDONLY, 0600) ||
        mdb_env_info(env, &info) || mdb_txn_begin(env, NULL, MDB_RDONLY, &txn))
        die("cannot open the LMDB environment");
    const char *base = map_base(dir);
    for (size_t t = 0; t < NTABLES; t++) {
        MDB_dbi dbi;
        MDB_cursor *c;
        MDB_val k, v;
        if (mdb_dbi_open(txn, tables[t], 0, &dbi) || mdb_cursor_open(txn, dbi, &c))
            die("cannot open a table");
        for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
             rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
            push(&recs[t], (size_t)((const char *)k.mv_data - base), k.mv_size);
            push(&recs[t], (size_t)((const char *)v.mv_data - base), v.mv_size);
        }
        mdb_cursor_close(c);
    }
    mdb_txn_abort(txn);
    mdb_env_close(env);
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        die("cannot read data.mdb");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)n);
    if (!b || fread(b, 1, (size_t)n, f) != (size_t)n)
        die("cannot read data.mdb");
    fclose(f);
    *len = (size_t)n;
    return b;
}

static void write_file(const char *path, const uint8_t *b, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b, 1, len, f) != len || fclose(f))
        die("cannot write the damaged copy");
}

static void flip_at(const char *path, size_t off, uint8_t mask)
{
    int fd = open(path, O_RDWR);
    uint8_t b;
    if (fd < 0 || pread(fd, &b, 1, (off_t)off) != 1)
        die("cannot read the byte to flip");
    b ^= mask;
    if (pwrite(fd, &b, 1, (off_t)off) != 1 || close(fd))
        die("cannot flip the byte");
}

static uint64_t rng_state;
static uint64_t rnd(void)
{
    /* splitmix64: reproducible from the seed, no libc state. */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

typedef struct verdict {
    int detected, startup;
    int audit_only, startup_cp; /* what the checks saw before the derived-table checks */
    char why[600];
} verdict_t;

/* Runs the checks on the store in dir. */
static verdict_t check(const char *dir, const uint8_t note_pub[LL_PUBKEY_LEN], const char *origin)
{
    verdict_t v = {0, 0, 0, 0, ""};
    ll_store_t *st;
    ll_txn_t *txn;
    uint64_t cp;
    char msg[LL_MSG_MAX];
    int err = ll_store_open(dir, NULL, &st);
    if (err) {
        v.detected = v.startup = v.audit_only = v.startup_cp = 1;
        snprintf(v.why, sizeof v.why, "LMDB refuses the file (%s)", ll_store_last_error());
        return v;
    }
    /* What ll_ledger_open checks before it accepts writes. */
    if (ll_store_begin_read(st, &txn) == LL_OK) {
        err = ll_audit_checkpoint(txn, origin, note_pub, &cp, msg, sizeof msg);
        ll_store_abort(txn);
        v.startup_cp = err != LL_OK;
        if (err || ll_derive_startup_check(st, ll_ledger_replay, msg, sizeof msg))
            v.startup = 1;
    }
    ll_audit_report_t rep;
    if ((err = ll_audit_run(st, note_pub, 1, &rep)) || rep.damaged) {
        v.detected = v.audit_only = 1;
        snprintf(v.why, sizeof v.why, "audit: %s", err ? ll_strerror(err) : rep.what);
    } else {
        ll_derive_report_t d;
        if ((err = ll_ledger_check_derived(st, &d)) || d.damaged) {
            v.detected = 1;
            snprintf(v.why, sizeof v.why, "derived: %s", err ? ll_strerror(err) : d.what);
        }
    }
    ll_store_close(st);
    return v;
}

static int cmd_random(const char *dir, unsigned per_table, uint64_t seed)
{
    char path[4096], work[64], wpath[4200];
    recs_t recs[NTABLES];
    memset(recs, 0, sizeof recs);
    rng_state = seed;
    ll_key_t *nk;
    snprintf(path, sizeof path, "%s/note.key", dir);
    if (ll_key_load(path, &nk))
        die("cannot load note.key");
    uint8_t pub[LL_PUBKEY_LEN];
    ll_key_public(nk, pub);
    ll_key_free(nk);

    /* The origin, for the start-up checkpoint check. */
    char origin[256] = "";
    {
        ll_store_t *st;
        ll_txn_t *txn;
        const uint8_t *v;
        size_t n;
        if (ll_store_open(dir, NULL, &st) || ll_store_begin_read(st, &txn) ||
            ll_store_get(txn, LL_TBL_META, "origin", 6, &v, &n) || n >= sizeof origin)
            die("the clean copy has no origin");
        memcpy(origin, v, n);
        origin[n] = 0;
        ll_store_abort(txn);
        verdict_t clean;
        ll_store_close(st);
        clean = check(dir, pub, origin);
        if (clean.detected || clean.startup) {
            fprintf(stderr, "ll-flipcheck: the clean copy does not verify: %s\n", clean.why);
            return 2;
        }
    }
    find_records(dir, recs);
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    size_t len;
    uint8_t *clean = read_file(path, &len);
    snprintf(work, sizeof work, "/tmp/ll-flip-XXXXXX");
    if (!mkdtemp(work))
        die("mkdtemp");
    snprintf(wpath, sizeof wpath, "%s/data.mdb", work);

    unsigned total = 0, total_det = 0, total_det0 = 0, missed = 0;
    printf("%-8s %8s %8s | %-20s %-20s | %-20s %-20s\n", "", "", "", "verify detects", "",
           "start-up refuses writes", "");
    printf("%-8s %8s %8s | %-20s %-20s | %-20s %-20s\n", "table", "records", "flipped",
           "before (audit only)", "now (+derived)", "before (checkpoint)", "now (+trust tables)");
    for (size_t t = 0; t < NTABLES; t++) {
        unsigned det = 0, startup = 0, n = 0, det0 = 0, startup0 = 0;
        size_t nrec = recs[t].n / 2;
        for (unsigned i = 0; i < per_table && nrec; i++, n++) {
            size_t r = (size_t)(rnd() % nrec);
            span_t k = recs[t].v[2 * r], v = recs[t].v[2 * r + 1];
            size_t at = (size_t)(rnd() % (k.len + v.len));
            size_t off = at < k.len ? k.off + at : v.off + (at - k.len);
            uint8_t mask = (uint8_t)(1 + rnd() % 255);
            write_file(wpath, clean, len);
            snprintf(path, sizeof path, "%s/lock.mdb", work);
            unlink(path);
            flip_at(wpath, off, mask);
            verdict_t vd = check(work, pub, origin);
            det += vd.detected;
            startup += vd.startup;
            det0 += vd.audit_only;
            startup0 += vd.startup_cp;
            if (!vd.detected) {
                missed++;
                printf("  MISSED: %s record %zu, %s byte %zu (file offset %zu) ^ 0x%02x\n",
                       tables[t], r, at < k.len ? "key" : "value",
                       at < k.len ? at : at - k.len, off, mask);
            }
        }
        printf("%-8s %8zu %8u | %9u/%-10u %9u/%-10u | %9u/%-10u %9u/%-10u\n", tables[t], nrec,
               n, det0, n, det, n, startup0, n, startup, n);
        total += n;
        total_det += det;
        total_det0 += det0;
    }
    printf("total: verify detects %u/%u flips (before the derived-table check: %u/%u)\n",
           total_det, total, total_det0, total);
    snprintf(path, sizeof path, "%s/lock.mdb", work);
    unlink(path);
    unlink(wpath);
    rmdir(work);
    free(clean);
    for (size_t t = 0; t < NTABLES; t++)
        free(recs[t].v);
    return missed ? 1 : 0;
}

/* Finds, in table name, the first record matching (key, value) filters. */
static void poke(const char *dir, const char *table, const void *key, size_t klen,
                 const void *val, size_t vlen, int in_value, size_t byte, int set, uint8_t x)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_envinfo info;
    MDB_dbi dbi;
    MDB_cursor *c;
    MDB_val k, v;
    size_t off = 0;
    int found = 0;
    char path[4096];
    if (mdb_env_create(&env) || mdb_env_set_maxdbs(env, 16) ||
        mdb_env_set_mapsize(env, (size_t)1 << 34) || mdb_env_open(env, dir, MDB_RDONLY, 0600) ||
        mdb_env_info(env, &info) || mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) ||
        mdb_dbi_open(txn, table, 0, &dbi) || mdb_cursor_open(txn, dbi, &c))
        die("cannot open the LMDB environment");
    for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0 && !found;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (key && (k.mv_size != klen || memcmp(k.mv_data, key, klen)))
            continue;
        if (val && (v.mv_size != vlen || memcmp(v.mv_data, val, vlen)))
            continue;
        MDB_val *m = in_value ? &v : &k;
        if (byte >= m->mv_size)
            die("byte outside the record");
        off = (size_t)((const char *)m->mv_data - map_base(dir)) + byte;
        found = 1;
    }
    mdb_cursor_close(c);
    mdb_txn_abort(txn);
    mdb_env_close(env);
    if (!found)
        die("no such record");
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    if (set) {
        int fd = open(path, O_RDWR);
        if (fd < 0 || pwrite(fd, &x, 1, (off_t)off) != 1 || close(fd))
            die("cannot write");
    } else {
        flip_at(path, off, x);
    }
    printf("poked %s at file offset %zu\n", table, off);
}

/* Appends env (a file of envelope bytes) as the next leaf, as an older
 * server (or someone with the data file) could have: the leaf, its Merkle
 * nodes and the signer record ('s' index) that GetEntry serves, signer key
 * registered at #0 (the admin's). Nothing else is derived. */
static int cmd_plant(const char *dir, const char *envfile)
{
    size_t len;
    uint8_t *env = read_file(envfile, &len), hash[LL_HASH_LEN];
    ll_store_t *st;
    ll_txn_t *txn;
    if (ll_store_open(dir, NULL, &st) || ll_store_begin_write(st, &txn))
        die("cannot open the store");
    uint64_t seq = ll_store_size(txn);
    int64_t t = ll_store_last_time(txn) + 1;
    uint8_t *leaf = malloc(ll_leaf_max_len(len));
    uint8_t k[9] = {'s'}, v[8] = {0};
    size_t n = ll_leaf_build(seq, t, env, len, leaf);
    for (int i = 8; i >= 1; i--)
        k[i] = (uint8_t)(seq >> (8 * (8 - i)));
    if (ll_store_append(txn, leaf, n, t, hash) ||
        ll_store_put(txn, LL_TBL_INDEX, k, sizeof k, v, sizeof v) || ll_store_commit(txn))
        die("cannot plant the leaf");
    ll_store_close(st);
    printf("%llu\n", (unsigned long long)seq);
    free(leaf);
    free(env);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "plant"))
        return cmd_plant(argv[2], argv[3]);
    if (argc == 5 && !strcmp(argv[1], "random"))
        return cmd_random(argv[2], (unsigned)strtoul(argv[3], NULL, 10),
                          strtoull(argv[4], NULL, 10));
    if (argc >= 5 && !strcmp(argv[1], "poke")) {
        const char *dir = argv[2], *what = argv[3];
        if (!strcmp(what, "role") && argc == 6) {
            poke(dir, "actors", argv[4], strlen(argv[4]), NULL, 0, 1, 3, 1,
                 (uint8_t)strtoul(argv[5], NULL, 0));
            return 0;
        }
        if (!strcmp(what, "dedup") && argc == 5) {
            uint8_t seq[8];
            uint64_t s = strtoull(argv[4], NULL, 10);
            for (int i = 7; i >= 0; i--, s >>= 8)
                seq[i] = (uint8_t)s;
            poke(dir, "dedup", NULL, 0, seq, 8, 0, 0, 0, 0x01);
            return 0;
        }
        if (!strcmp(what, "meta") && argc == 6) {
            int in_value = !strcmp(argv[5], "value");
            poke(dir, "meta", argv[4], strlen(argv[4]), NULL, 0, in_value, in_value ? 20 : 9, 0,
                 0x01);
            return 0;
        }
    }
    fprintf(stderr, "usage: ll-flipcheck random DIR FLIPS_PER_TABLE SEED\n"
                    "       ll-flipcheck plant DIR ENVELOPE_FILE\n"
                    "       ll-flipcheck poke DIR role ACTOR VALUE | dedup SEQ | "
                    "meta NAME key|value\n");
    return 2;
}
