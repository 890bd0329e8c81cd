/*
 * ll_status: the one place where ll_err codes become gRPC status codes.
 */
#ifndef LL_STATUS_H
#define LL_STATUS_H

#include <grpc/status.h>

grpc_status_code ll_status_from_err(int err);

#endif
