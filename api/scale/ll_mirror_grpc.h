/*
 * ll_mirror_grpc: the mirror's gRPC transport (ll_mirror.h). Reads the
 * primary's latest signed checkpoint with LedgerService.GetCheckpoint and
 * its leaves with LedgerService.Watch from the mirror's size, cancelling
 * the stream at the checkpoint's size (Watch streams stored entries from
 * from_seq on, so a round reads a fixed range however fast the primary
 * appends). The mirror verifies all of it as it verifies tiles.
 *
 * SOURCE is "grpc://HOST:PORT". Over mTLS (the primary's listener beyond
 * loopback) the mirror presents a client certificate, like loopctl's
 * --tls-ca/--tls-cert/--tls-key: the primary must know its common name as
 * an actor (an auditor is enough: Watch and GetCheckpoint are reads).
 * Without the three files the call is plaintext, allowed only to a
 * loopback HOST.
 *
 * Deadlines: GetCheckpoint 10 s; a Watch range 120 s plus 1 ms per entry
 * (the stream is read to the end of a range the primary signed, so a
 * primary that stops short or stalls makes the round fail and retry, never
 * hang). The first failure of a streak is logged with the primary's status
 * and message (an unknown client certificate says so).
 */
#ifndef LL_MIRROR_GRPC_H
#define LL_MIRROR_GRPC_H

#include <stddef.h>

#include "ll_mirror.h"

/* 1 if from names a gRPC primary (grpc://...). */
int ll_mirror_is_grpc(const char *from);

/* Makes a source dialling from ("grpc://HOST:PORT"). ca, cert, key: all
 * three PEM files, or all NULL (plaintext, loopback only). Checks the files
 * are readable and the key is not group/world readable before dialling.
 * LL_ERR_INVALID with why in msg[cap]; LL_ERR_NOMEM. log_fn may be NULL. */
int ll_mirror_grpc_source(const char *from, const char *ca, const char *cert, const char *key,
                          void (*log_fn)(const char *msg), ll_mirror_source_t *out, char *msg,
                          size_t cap);

#endif
