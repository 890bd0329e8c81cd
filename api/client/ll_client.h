/*
 * ll_client: a minimal synchronous gRPC client on the gRPC core C API, for
 * loopctl and the end-to-end tests. Messages are opaque serialized bytes;
 * callers pack and unpack them with protobuf-c.
 */
#ifndef LL_CLIENT_H
#define LL_CLIENT_H

#include <grpc/status.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ll_client ll_client_t;

/* Connects (lazily) to target "host:port" over plaintext (loopback).
 * Calls grpc_init(); ll_client_close() calls grpc_shutdown(). */
int ll_client_open(const char *target, ll_client_t **out);
void ll_client_close(ll_client_t *c);

/* Connects over mTLS: ca_file verifies the server, cert_file/key_file (PEM)
 * identify the caller (the certificate's common name is its actor id).
 * LL_ERR_IO if a file cannot be read. */
int ll_client_open_tls(const char *target, const char *ca_file, const char *cert_file,
                       const char *key_file, ll_client_t **out);

/* Result of a call. resp is malloc'd (caller frees), NULL when none. */
typedef struct ll_reply {
    grpc_status_code code;
    char message[512];
    uint8_t *resp;
    size_t resp_len;
} ll_reply_t;

/* Unary call of method ("/pkg.Svc/Method") with a deadline in ms.
 * Returns LL_OK when the call completed (check r->code), an ll_err code
 * when it could not be made. */
int ll_client_unary(ll_client_t *c, const char *method, const uint8_t *req,
                    size_t len, int timeout_ms, ll_reply_t *r);

void ll_reply_free(ll_reply_t *r);

/* Server-streaming call: on_msg is called for every message; returning
 * non-zero cancels the call. timeout_ms 0 means no deadline. */
typedef int (*ll_stream_fn)(void *ctx, const uint8_t *msg, size_t len);
int ll_client_stream(ll_client_t *c, const char *method, const uint8_t *req,
                     size_t len, int timeout_ms, ll_stream_fn on_msg, void *ctx,
                     ll_reply_t *r);

#endif
