/*
 * ll_status: the one place where ll_err codes become gRPC status codes.
 *
 * Handlers never choose a status code themselves: they end a call with an
 * ll_err and a message, and this table decides what the client sees. The
 * only literal codes elsewhere are for requests that cannot be decoded at
 * all (INVALID_ARGUMENT) or name no method (UNIMPLEMENTED), both decided by
 * the runtime before any handler runs.
 *
 * Mapping (canonical codes, google.rpc.Code):
 *   LL_OK                                   OK
 *   LL_ERR_INVALID                          INVALID_ARGUMENT
 *   LL_ERR_NOT_FOUND                        NOT_FOUND
 *   LL_ERR_RANGE                            OUT_OF_RANGE
 *   LL_ERR_BAD_SIGNATURE, _UNAUTHENTICATED  UNAUTHENTICATED
 *   LL_ERR_PERMISSION                       PERMISSION_DENIED
 *   LL_ERR_PRECONDITION, _BAD_PROOF         FAILED_PRECONDITION
 *   LL_ERR_EXISTS                           ALREADY_EXISTS
 *   LL_ERR_FULL, _TOO_LARGE, _NOMEM         RESOURCE_EXHAUSTED
 *   LL_ERR_UNAVAILABLE                      UNAVAILABLE
 *   LL_ERR_CORRUPT                          DATA_LOSS
 *   LL_ERR_CANCELLED                        CANCELLED
 *   anything else (IO, STORE, CRYPTO, ...)  INTERNAL
 */
#ifndef LL_STATUS_H
#define LL_STATUS_H

#include <grpc/status.h>

grpc_status_code ll_status_from_err(int err);

#endif
