/*
 * ll_witness: tlog-witness add-checkpoint and its HTTP server. See
 * ll_witness.h.
 */
#include "ll_witness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "ll_cosig.h"
#include "ll_err.h"
#include "ll_merkle.h"
#include "ll_note.h"

#define MAX_PROOF 63
#define MAX_BODY (LL_NOTE_MAX + 64 * 48 + 64)

typedef struct wlog {
    char name[LL_NOTE_MAX_NAME + 1]; /* key name = checkpoint origin */
    uint8_t pub[LL_PUBKEY_LEN];
} wlog_t;

struct ll_witness {
    char dir[4000];
    char name[LL_NOTE_MAX_NAME + 1];
    const ll_key_t *key;
    wlog_t *logs;
    size_t nlogs;
    void (*log_fn)(const char *msg);
    pthread_mutex_t mu; /* check-then-persist is atomic per witness */
    struct MHD_Daemon *mhd;
};

static void wlogf(ll_witness_t *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void wlogf(ll_witness_t *w, const char *fmt, ...)
{
    char msg[LL_NOTE_MAX + 512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (w->log_fn)
        w->log_fn(msg);
}

int ll_witness_open(const ll_witness_config_t *cfg, ll_witness_t **out)
{
    ll_witness_t *w = calloc(1, sizeof *w);
    char p[4096];
    if (!w || !(w->logs = calloc(cfg->nlogs ? cfg->nlogs : 1, sizeof *w->logs))) {
        free(w);
        return LL_ERR_NOMEM;
    }
    w->log_fn = cfg->log_fn;
    w->key = cfg->key;
    if (!ll_note_name_valid(cfg->name) || strlen(cfg->dir) >= sizeof w->dir) {
        wlogf(w, "witness: bad name or directory");
        goto invalid;
    }
    snprintf(w->name, sizeof w->name, "%s", cfg->name);
    snprintf(w->dir, sizeof w->dir, "%s", cfg->dir);
    for (size_t i = 0; i < cfg->nlogs; i++) {
        if (ll_note_parse_verifier_key(cfg->logs[i], w->logs[i].name, sizeof w->logs[i].name,
                                       w->logs[i].pub)) {
            wlogf(w, "witness: --log %s is not a log verifier key (name+hash+key)", cfg->logs[i]);
            goto invalid;
        }
    }
    w->nlogs = cfg->nlogs;
    snprintf(p, sizeof p, "%s/logs", w->dir);
    if ((mkdir(w->dir, 0700) && errno != EEXIST) || (mkdir(p, 0700) && errno != EEXIST)) {
        wlogf(w, "witness: cannot create %s: %s", p, strerror(errno));
        free(w->logs);
        free(w);
        return LL_ERR_IO;
    }
    pthread_mutex_init(&w->mu, NULL);
    *out = w;
    return LL_OK;
invalid:
    free(w->logs);
    free(w);
    return LL_ERR_INVALID;
}

void ll_witness_close(ll_witness_t *w)
{
    if (!w)
        return;
    if (w->mhd)
        MHD_stop_daemon(w->mhd);
    pthread_mutex_destroy(&w->mu);
    free(w->logs);
    free(w);
}

int ll_witness_verifier_key(ll_witness_t *w, char *out, size_t cap)
{
    uint8_t pub[LL_PUBKEY_LEN];
    ll_key_public(w->key, pub);
    return ll_cosig_verifier_key(w->name, pub, out, cap);
}

static void state_path(ll_witness_t *w, const char *origin, char *out, size_t cap)
{
    uint8_t h[LL_HASH_LEN];
    char hex[2 * LL_HASH_LEN + 1];
    ll_sha256(origin, strlen(origin), h);
    ll_hex_encode(h, sizeof h, hex);
    snprintf(out, cap, "%s/logs/%s", w->dir, hex);
}

/* Reads the stored checkpoint of origin: LL_OK with *cp and the note,
 * LL_ERR_NOT_FOUND when never cosigned. */
static int load_state(ll_witness_t *w, const char *origin, ll_checkpoint_t *cp, char *note,
                      size_t cap, size_t *len)
{
    char path[4200];
    state_path(w, origin, path, sizeof path);
    FILE *f = fopen(path, "r");
    if (!f)
        return errno == ENOENT ? LL_ERR_NOT_FOUND : LL_ERR_IO;
    size_t n = fread(note, 1, cap - 1, f);
    fclose(f);
    note[n] = 0;
    *len = n;
    const char *sep = strstr(note, "\n\n");
    if (!sep || ll_checkpoint_parse(note, (size_t)(sep - note) + 1, cp))
        return LL_ERR_CORRUPT;
    return LL_OK;
}

static int save_state(ll_witness_t *w, const char *origin, const char *note, size_t len)
{
    char path[4200], tmp[4300];
    int fd, ok;
    state_path(w, origin, path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
        return LL_ERR_IO;
    ok = write(fd, note, len) == (ssize_t)len && !fsync(fd);
    ok = !close(fd) && ok && !rename(tmp, path);
    if (!ok) {
        unlink(tmp);
        return LL_ERR_IO;
    }
    snprintf(tmp, sizeof tmp, "%s/logs", w->dir);
    if ((fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
        fsync(fd);
        close(fd);
    }
    return LL_OK;
}

/* Strict decimal: no sign, no leading zeros (a lone 0 allowed). */
static int parse_u64(const char *s, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    if (!n || n > 20 || (s[0] == '0' && n > 1))
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
            return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return 0;
}

#define REPLY(code, ...)                                                  \
    do {                                                                  \
        int n_ = snprintf(resp, cap, __VA_ARGS__);                        \
        *resp_len = n_ < 0 ? 0 : (size_t)n_ < cap ? (size_t)n_ : cap - 1; \
        status = (code);                                                  \
        goto out;                                                         \
    } while (0)

int ll_witness_add_checkpoint(ll_witness_t *w, const char *req, size_t len, char *resp,
                              size_t cap, size_t *resp_len, const char **ctype)
{
    const char *p = req, *end = req + len, *eol;
    uint8_t proof[MAX_PROOF + 1][LL_HASH_LEN], empty[LL_HASH_LEN];
    size_t nproof = 0, blen;
    uint64_t old;
    ll_checkpoint_t cp, prev;
    const wlog_t *lg = NULL;
    char stored[LL_NOTE_MAX + 1], line[LL_COSIG_LINE_MAX];
    size_t slen;
    int status, locked = 0, err;

    *ctype = "text/plain; charset=utf-8";
    if (!(eol = memchr(p, '\n', len)) || eol - p < 5 || memcmp(p, "old ", 4) ||
        parse_u64(p + 4, (size_t)(eol - p - 4), &old))
        REPLY(400, "the body must start with \"old <size>\\n\"\n");
    p = eol + 1;
    while (p < end && *p != '\n') {
        size_t got;
        if (!(eol = memchr(p, '\n', (size_t)(end - p))))
            REPLY(400, "a consistency proof line does not end in a newline\n");
        if (nproof == MAX_PROOF)
            REPLY(400, "more than %d consistency proof lines\n", MAX_PROOF);
        if (ll_base64_decode(p, (size_t)(eol - p), proof[nproof], LL_HASH_LEN, &got) ||
            got != LL_HASH_LEN)
            REPLY(400, "consistency proof line %zu is not a base64 SHA-256 hash\n", nproof + 1);
        nproof++;
        p = eol + 1;
    }
    if (p >= end)
        REPLY(400, "missing the empty line before the checkpoint\n");
    p++;
    size_t nlen = (size_t)(end - p);
    const char *sep = nlen ? memmem(p, nlen, "\n\n", 2) : NULL;
    if (!sep || nlen > LL_NOTE_MAX || ll_checkpoint_parse(p, (size_t)(sep - p) + 1, &cp))
        REPLY(400, "the checkpoint is not a signed note with a checkpoint body\n");
    for (size_t i = 0; i < w->nlogs && !lg; i++)
        if (!strcmp(w->logs[i].name, cp.origin))
            lg = &w->logs[i];
    if (!lg)
        REPLY(404, "unknown log origin \"%s\"\n", cp.origin);
    err = ll_note_verify(p, nlen, lg->name, lg->pub, &blen);
    if (err == LL_ERR_INVALID)
        REPLY(400, "malformed signed note\n");
    if (err)
        REPLY(403, "no valid signature by the trusted key of \"%s\"\n", cp.origin);
    if (old > cp.size)
        REPLY(400, "old size %" PRIu64 " is larger than the checkpoint size %" PRIu64 "\n", old,
              cp.size);

    pthread_mutex_lock(&w->mu);
    locked = 1;
    err = load_state(w, cp.origin, &prev, stored, sizeof stored, &slen);
    if (err == LL_ERR_NOT_FOUND)
        prev.size = 0;
    else if (err)
        REPLY(500, "witness state of \"%s\" is unreadable\n", cp.origin);
    if (old != prev.size) {
        *ctype = "text/x.tlog.size";
        REPLY(409, "%" PRIu64 "\n", prev.size);
    }
    ll_sha256("", 0, empty);
    if (cp.size == 0 && memcmp(cp.root, empty, LL_HASH_LEN))
        REPLY(422, "a checkpoint of size 0 must have the empty tree's root\n");
    if (old == 0 && nproof)
        REPLY(422, "the proof from size 0 must be empty\n");
    if (old > 0 &&
        ll_merkle_verify_consistency(old, cp.size, prev.root, cp.root,
                                     (const uint8_t(*)[LL_HASH_LEN])proof, nproof)) {
        wlogf(w, "witness: REFUSED an inconsistent checkpoint of \"%s\": %" PRIu64
                 " -> %" PRIu64 " does not verify against the one cosigned; submitted:\n%.*s"
                 "cosigned:\n%s",
              cp.origin, old, cp.size, (int)nlen, p, stored);
        REPLY(422, "consistency proof from %" PRIu64 " to %" PRIu64 " does not verify\n", old,
              cp.size);
    }
    if (ll_cosig_sign(p, blen, w->name, w->key, (uint64_t)time(NULL), line))
        REPLY(500, "cannot cosign\n");
    /* Stored: the checkpoint as the log signed it, plus our cosignature. */
    if (nlen + strlen(line) > LL_NOTE_MAX)
        REPLY(400, "checkpoint note too large\n");
    memcpy(stored, p, nlen);
    memcpy(stored + nlen, line, strlen(line));
    if (save_state(w, cp.origin, stored, nlen + strlen(line)))
        REPLY(500, "cannot persist the witness state\n");
    REPLY(200, "%s", line);
out:
    if (locked)
        pthread_mutex_unlock(&w->mu);
    return status;
}

/* ---- HTTP ---- */

typedef struct req_buf {
    char *data;
    size_t len;
    int too_big;
} req_buf_t;

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *ctype,
                             const char *body, size_t len)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", ctype);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
    ll_witness_t *w = cls;
    (void)version;
    if (!strcmp(method, "POST") && !strcmp(url, "/add-checkpoint")) {
        req_buf_t *b = *con_cls;
        if (!b) {
            if (!(b = calloc(1, sizeof *b)))
                return MHD_NO;
            *con_cls = b;
            return MHD_YES;
        }
        if (*upload_size) {
            if (b->len + *upload_size > MAX_BODY) {
                b->too_big = 1;
            } else {
                char *nd = realloc(b->data, b->len + *upload_size + 1);
                if (!nd)
                    return MHD_NO;
                b->data = nd;
                memcpy(b->data + b->len, upload, *upload_size);
                b->len += *upload_size;
            }
            *upload_size = 0;
            return MHD_YES;
        }
        if (b->too_big) {
            static const char m[] = "request body too large\n";
            return reply(c, 413, "text/plain; charset=utf-8", m, sizeof m - 1);
        }
        char resp[1024];
        size_t rlen = 0;
        const char *ctype;
        int st = ll_witness_add_checkpoint(w, b->data ? b->data : "", b->len, resp, sizeof resp,
                                           &rlen, &ctype);
        return reply(c, (unsigned)st, ctype, resp, rlen);
    }
    if (!strcmp(method, "GET") && strlen(url) == 1 + 64 + 11 && !strcmp(url + 65, "/checkpoint")) {
        /* /<lowercase hex SHA-256 of origin>/checkpoint */
        char note[LL_NOTE_MAX + 1], path[4200];
        for (int i = 1; i <= 64; i++)
            if (!((url[i] >= '0' && url[i] <= '9') || (url[i] >= 'a' && url[i] <= 'f')))
                goto not_found;
        snprintf(path, sizeof path, "%s/logs/%.64s", w->dir, url + 1);
        pthread_mutex_lock(&w->mu);
        FILE *f = fopen(path, "r");
        size_t n = f ? fread(note, 1, LL_NOTE_MAX, f) : 0;
        if (f)
            fclose(f);
        pthread_mutex_unlock(&w->mu);
        if (!n)
            goto not_found;
        return reply(c, 200, "text/plain; charset=utf-8", note, n);
    }
not_found:;
    static const char nf[] = "not found\n";
    return reply(c, 404, "text/plain; charset=utf-8", nf, sizeof nf - 1);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)c, (void)toe;
    req_buf_t *b = *con_cls;
    if (b) {
        free(b->data);
        free(b);
        *con_cls = NULL;
    }
}

int ll_witness_serve(ll_witness_t *w, const char *listen, int *port)
{
    char host[64];
    const char *colon = strrchr(listen, ':');
    struct sockaddr_in sa = {.sin_family = AF_INET};
    if (!colon || (size_t)(colon - listen) >= sizeof host)
        return LL_ERR_INVALID;
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = 0;
    int pn = atoi(colon + 1);
    if (pn < 0 || pn > 65535 || inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        return LL_ERR_INVALID;
    sa.sin_port = htons((uint16_t)pn);
    w->mhd = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                              handle, w, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                              MHD_OPTION_NOTIFY_COMPLETED, completed, w,
                              MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_END);
    if (!w->mhd)
        return LL_ERR_IO;
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(w->mhd, MHD_DAEMON_INFO_BIND_PORT);
    *port = di ? di->port : pn;
    return LL_OK;
}
