/* ll_err: names of the error codes (see ll_err.h). */
#include "ll_err.h"

const char *ll_strerror(int err)
{
    switch (err) {
    case LL_OK: return "ok";
    case LL_ERR_NOMEM: return "out of memory";
    case LL_ERR_INVALID: return "invalid input";
    case LL_ERR_NOT_FOUND: return "not found";
    case LL_ERR_RANGE: return "out of range";
    case LL_ERR_CRYPTO: return "crypto library failure";
    case LL_ERR_BAD_SIGNATURE: return "signature does not verify";
    case LL_ERR_BAD_PROOF: return "proof does not verify";
    case LL_ERR_IO: return "i/o error";
    case LL_ERR_STORE: return "storage error";
    case LL_ERR_FULL: return "storage full";
    case LL_ERR_EXISTS: return "already exists";
    case LL_ERR_PERMISSION: return "permission denied";
    case LL_ERR_UNAUTHENTICATED: return "unauthenticated";
    case LL_ERR_PRECONDITION: return "failed precondition";
    case LL_ERR_CORRUPT: return "data corrupt";
    case LL_ERR_TOO_LARGE: return "too large";
    case LL_ERR_UNAVAILABLE: return "unavailable";
    case LL_ERR_BUFFER: return "buffer too small";
    case LL_ERR_CANCELLED: return "cancelled";
    }
    return "unknown error";
}
