/*
 * ll_witness: a C2SP tlog-witness (https://c2sp.org/tlog-witness) that
 * cosigns checkpoints with C2SP tlog-cosignature Ed25519 cosignature/v1.
 *
 * For each log it trusts (by the log's signed-note verifier key, whose name
 * is the checkpoint origin) the witness keeps the latest checkpoint it
 * cosigned, durably, in DIR/logs/<hex SHA-256 of the origin> (the note with
 * the log's signature and the witness's cosignature). add-checkpoint checks
 * a submission in the spec's order and answers with the spec's statuses:
 *   400  malformed body, more than 63 proof lines, old size > size
 *   404  origin of no trusted log
 *   403  no valid signature by the log's trusted key
 *   409  old size is not the size of the latest cosigned checkpoint; the
 *        body is that size and "\n", Content-Type text/x.tlog.size
 *   422  size 0 with a root other than the empty tree's, a non-empty proof
 *        from 0, a consistency proof that does not verify, or the same size
 *        with another root
 *   200  the cosignature line(s)
 * Checking the old size and persisting the new checkpoint happen under one
 * lock, and the new state is on disk (fsync'ed file, renamed, directory
 * fsync'ed) before the answer, as the spec requires. A refused submission
 * whose signature verified is logged with the checkpoint it carried: it
 * may be evidence of a fork.
 *
 * GET /<origin hash>/checkpoint serves the stored cosigned checkpoint
 * (the spec's monitoring API; 404 for a log never cosigned).
 *
 * The HTTP server is libmicrohttpd with its own threads. No TLS: put the
 * witness behind a TLS-terminating proxy when it is not on loopback (the
 * protocol authenticates checkpoints by signature, not by transport).
 */
#ifndef LL_WITNESS_H
#define LL_WITNESS_H

#include <stddef.h>

#include "ll_crypto.h"

typedef struct ll_witness ll_witness_t;

typedef struct ll_witness_config {
    const char *dir;        /* state directory (created if needed) */
    const char *name;       /* cosigner name (a schema-less URL) */
    const ll_key_t *key;    /* borrowed; outlives the witness */
    const char *const *logs; /* trusted logs' verifier keys */
    size_t nlogs;
    void (*log_fn)(const char *msg); /* may be NULL */
} ll_witness_config_t;

/* Validates cfg (LL_ERR_INVALID naming the bad log key through log_fn) and
 * creates the state directory. Caller owns *out (ll_witness_close). */
int ll_witness_open(const ll_witness_config_t *cfg, ll_witness_t **out);

/* Stops serving if started, frees w. NULL allowed. */
void ll_witness_close(ll_witness_t *w);

/* The add-checkpoint logic without HTTP: returns the HTTP status and writes
 * the response body into resp[cap] (*resp_len bytes) and its Content-Type
 * into *ctype (static string). */
int ll_witness_add_checkpoint(ll_witness_t *w, const char *req, size_t len, char *resp,
                              size_t cap, size_t *resp_len, const char **ctype);

/* Starts the HTTP server on listen ("HOST:PORT", port 0 = any free one;
 * HOST must be an IPv4 address). *port receives the bound port. */
int ll_witness_serve(ll_witness_t *w, const char *listen, int *port);

/* Verifier key of the witness ("<name>+<keyid>+<base64(0x04||pub)>"). */
int ll_witness_verifier_key(ll_witness_t *w, char *out, size_t cap);

#endif
