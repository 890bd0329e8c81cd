/*
 * ll_call: what a handler does with the call it was given (ll_server.h
 * hands calls to handlers).
 *
 * Call contract: a handler receives an ll_call_t and must end it exactly
 * once, with ll_call_reply() or ll_call_fail() (unary) or ll_call_finish()
 * (streaming). The runtime keeps the call alive until then and until every
 * operation it started has completed. The request bytes passed to a handler
 * stay valid until the call is ended. The caller never frees an ll_call_t:
 * the runtime does, after the end and the last completion.
 *
 * Threads: the functions below may be called from any thread unless said
 * otherwise; the callbacks they take run on a queue thread.
 */
#ifndef LL_CALL_H
#define LL_CALL_H

#include <grpc/grpc.h>
#include <grpc/slice.h>
#include <grpc/status.h>
#include <stddef.h>
#include <stdint.h>

/* gRPC status codes 0 (OK) .. 16 (UNAUTHENTICATED). */
#define LL_STATUS_CODES 17

typedef struct ll_call ll_call_t;

/* Runs a method: req[len] is the request message (see the call contract);
 * svc is the context given at registration. */
typedef void (*ll_handler_fn)(ll_call_t *call, const uint8_t *req, size_t len,
                              void *svc);

/* Receives the end of an in-process call: code, its message ("" on OK)
 * and, on OK, the packed reply body[len] (valid only during the call). */
typedef void (*ll_local_done_fn)(void *arg, grpc_status_code code, const char *msg,
                                 const uint8_t *body, size_t len);

/* ---- responding (any thread) ---- */

/* Unary success: sends msg (copied) with status OK and ends the call. */
void ll_call_reply(ll_call_t *call, const uint8_t *msg, size_t len);

/* Same without the copy: takes the caller's reference to msg, typically a
 * grpc_slice_malloc() slice the reply was packed into. */
void ll_call_reply_slice(ll_call_t *call, grpc_slice msg);

/* Ends the call with a non-OK status and a printf-style message. */
void ll_call_fail(ll_call_t *call, grpc_status_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Streaming: sends one message (copied). At most one send in flight; done
 * is called (on a queue thread) when it completes, ok = 0 if the stream
 * broke. The call stays alive until done has run. */
typedef void (*ll_sent_fn)(ll_call_t *call, int ok, void *arg);
void ll_call_send(ll_call_t *call, const uint8_t *msg, size_t len,
                  ll_sent_fn done, void *arg);

/* The same without the copy: takes the caller's reference to msg, so one
 * encoded message can go to many streams (grpc_slice_ref per send). */
void ll_call_send_slice(ll_call_t *call, grpc_slice msg, ll_sent_fn done, void *arg);

/* Bidi streaming: reads the next client message; the handler runs again
 * (on a queue thread) with it, or with req == NULL at the end of the
 * client's stream. At most one read in flight. */
void ll_call_read_next(ll_call_t *call);

/* Streaming: ends the call with status (message may be NULL). */
void ll_call_finish(ll_call_t *call, grpc_status_code code, const char *msg);

/* Streaming: on_cancel runs once (queue thread) if the client goes away or
 * the server shuts down before the call is finished. */
void ll_call_on_cancel(ll_call_t *call, void (*on_cancel)(ll_call_t *, void *),
                       void *arg);

/* Attaches data to the call; free_fn(data) runs when the call is freed,
 * after every callback that could still see it. */
void ll_call_set_data(ll_call_t *call, void *data, void (*free_fn)(void *));

/* Common name of the client certificate the TLS layer verified, or NULL
 * (plaintext, or no certificate). Owned by the call. */
const char *ll_call_identity(ll_call_t *call);

/* Peer address text (owned by the call). */
const char *ll_call_peer(ll_call_t *call);

#endif
