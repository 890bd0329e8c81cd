/*
 * ll_err: the one error vocabulary of loopledger.
 *
 * Every function in store/, api/ and clients/ that can fail returns an int:
 * LL_OK (0) on success or one of the negative ll_err codes below, and writes
 * its results through out-parameters. ll_strerror() names a code; the API
 * layer maps codes to gRPC status codes in exactly one place
 * (api/ll_status.c). Codes are chosen so that the mapping is unambiguous.
 */
#ifndef LL_ERR_H
#define LL_ERR_H

#include <stdio.h>

/* Room for a human-readable error message: every function that explains a
 * refusal takes char *msg, size_t cap and writes at most this much. */
#define LL_MSG_MAX 256

/* In a function with parameters (or locals) `char *msg, size_t cap`:
 * writes the formatted message to msg and returns code. The one macro for
 * "refuse with a reason"; functions that must clean up first set msg with
 * snprintf and goto their fail label instead. */
#define LL_FAIL(code, ...)                   \
    do {                                     \
        snprintf(msg, cap, __VA_ARGS__);     \
        return (code);                       \
    } while (0)

/* On functions whose result is a verdict (a signature, a proof, a note
 * verifies or not): ignoring it compiles to an error under -Werror, as
 * libsodium does for its verify functions. */
#define LL_MUST_CHECK __attribute__((warn_unused_result))

enum ll_err {
    LL_OK = 0,
    LL_ERR_NOMEM = -1,          /* allocation failed */
    LL_ERR_INVALID = -2,        /* malformed input (syntax, encoding, sizes) */
    LL_ERR_NOT_FOUND = -3,      /* requested item does not exist */
    LL_ERR_RANGE = -4,          /* argument outside the valid range */
    LL_ERR_CRYPTO = -5,         /* the crypto library failed (not bad input) */
    LL_ERR_BAD_SIGNATURE = -6,  /* a signature does not verify */
    LL_ERR_BAD_PROOF = -7,      /* a Merkle proof does not verify */
    LL_ERR_IO = -8,             /* file system error; errno tells more */
    LL_ERR_STORE = -9,          /* LMDB error other than full */
    LL_ERR_FULL = -10,          /* LMDB map or disk full */
    LL_ERR_EXISTS = -11,        /* already exists */
    LL_ERR_PERMISSION = -12,    /* authenticated but not allowed */
    LL_ERR_UNAUTHENTICATED = -13, /* author or key unknown */
    LL_ERR_PRECONDITION = -14,  /* state does not allow it (e.g. link target missing) */
    LL_ERR_CORRUPT = -15,       /* stored data fails its own checks */
    LL_ERR_TOO_LARGE = -16,     /* input exceeds a configured limit */
    LL_ERR_UNAVAILABLE = -17,   /* shutting down or temporarily unable */
    LL_ERR_BUFFER = -18,        /* caller's buffer too small */
    LL_ERR_CANCELLED = -19      /* the caller went away (broken or cancelled stream) */
};

/* Returns a static, human-readable name for an ll_err code. Never NULL. */
const char *ll_strerror(int err);

#endif
