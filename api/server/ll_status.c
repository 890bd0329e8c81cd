/* ll_status: ll_err -> canonical gRPC status (see ll_status.h). */
#include "ll_status.h"

#include "ll_err.h"

grpc_status_code ll_status_from_err(int err)
{
    switch (err) {
    case LL_OK: return GRPC_STATUS_OK;
    case LL_ERR_INVALID: return GRPC_STATUS_INVALID_ARGUMENT;
    case LL_ERR_NOT_FOUND: return GRPC_STATUS_NOT_FOUND;
    case LL_ERR_RANGE: return GRPC_STATUS_OUT_OF_RANGE;
    case LL_ERR_BAD_SIGNATURE:
    case LL_ERR_UNAUTHENTICATED: return GRPC_STATUS_UNAUTHENTICATED;
    case LL_ERR_PERMISSION: return GRPC_STATUS_PERMISSION_DENIED;
    case LL_ERR_PRECONDITION: return GRPC_STATUS_FAILED_PRECONDITION;
    case LL_ERR_EXISTS: return GRPC_STATUS_ALREADY_EXISTS;
    case LL_ERR_FULL:
    case LL_ERR_TOO_LARGE:
    case LL_ERR_NOMEM: return GRPC_STATUS_RESOURCE_EXHAUSTED;
    case LL_ERR_UNAVAILABLE: return GRPC_STATUS_UNAVAILABLE;
    case LL_ERR_CORRUPT: return GRPC_STATUS_DATA_LOSS;
    case LL_ERR_BAD_PROOF: return GRPC_STATUS_FAILED_PRECONDITION;
    case LL_ERR_CANCELLED: return GRPC_STATUS_CANCELLED;
    default: return GRPC_STATUS_INTERNAL;
    }
}
