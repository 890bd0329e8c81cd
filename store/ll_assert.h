/*
 * ll_assert: invariants checked in debug and sanitizer builds, compiled
 * out of release builds (as LMDB's mdb_cassert and SQLite's assert()).
 *
 * LL_ASSERT(cond) states a precondition or invariant that holds by
 * construction: a caller's contract from a header ("the parent must not
 * be used until the child ends"), or a bound the code just established.
 * It is not error handling: input from clients or from disk is checked
 * with ll_err codes, never asserted. When LL_ASSERTS is defined (CMake
 * defines it for Debug builds and for -DLL_SANITIZE=ON) a false condition
 * prints where and aborts; otherwise cond is not evaluated, so it must
 * have no side effects.
 */
#ifndef LL_ASSERT_H
#define LL_ASSERT_H

#ifdef LL_ASSERTS
#include <stdio.h>
#include <stdlib.h>

static inline void ll_assert_fail(const char *cond, const char *file, int line,
                                  const char *func)
{
    fprintf(stderr, "%s:%d: %s: assertion failed: %s\n", file, line, func, cond);
    abort();
}

#define LL_ASSERT(cond) \
    ((cond) ? (void)0 : ll_assert_fail(#cond, __FILE__, __LINE__, __func__))
#else
/* sizeof keeps cond type-checked without evaluating it. */
#define LL_ASSERT(cond) ((void)sizeof(!(cond)))
#endif

#endif
