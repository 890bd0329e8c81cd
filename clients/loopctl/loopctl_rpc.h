/*
 * loopctl_rpc: the one gRPC channel of a loopctl process and the unary
 * calls every command makes through it, plus the arguments that need the
 * server to be understood (--as-of TIME).
 *
 * Layering: rpc uses loopctl_tls (the local checks before dialling) and
 * loopctl_util (options, exits); neither of those uses rpc.
 *
 * Every call exits on failure: 1 for a local error, 3 for a gRPC error
 * status (printed as "CODE: message").
 */
#ifndef LOOPCTL_RPC_H
#define LOOPCTL_RPC_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "ll_client.h"

/* The shared channel, dialled on first use (mTLS when lc_opts names any
 * TLS file, after lc_tls_check; else plaintext); closed by main with
 * lc_client_close. */
ll_client_t *lc_client(void);
void lc_client_close(void);
/* Unary call; exits on failure (3 for a gRPC error status). On return r
 * holds an OK reply; the caller frees it with ll_reply_free. */
void lc_call(const char *method, const uint8_t *req, size_t len, ll_reply_t *r);
/* Unary call with protobuf-c messages; the caller frees the answer with
 * protobuf_c_message_free_unpacked(.., NULL). */
void *lc_rpc(const char *method, const ProtobufCMessage *req,
             const ProtobufCMessageDescriptor *resp_desc);
/* An --as-of argument: a tree size (digits), or an RFC 3339 time, which
 * means the size ending with the last entry at or before that time (found
 * by binary search over GetEntry; exits when there is none). */
uint64_t lc_parse_as_of(const char *s, const char *what);

#endif
