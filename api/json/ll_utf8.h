/*
 * ll_utf8: the one UTF-8 well-formedness check of the JSON reader and
 * writer (ll_json, ll_jw), so that what the writer emits is exactly what
 * the reader accepts.
 *
 * Well-formed means the Unicode Standard, table 3-7: no overlong forms, no
 * surrogates (U+D800..U+DFFF), nothing above U+10FFFF, no stray
 * continuation bytes, no truncated sequences. NUL (0x00) is a well-formed
 * one-byte sequence here; callers that refuse it do so themselves.
 */
#ifndef LL_UTF8_H
#define LL_UTF8_H

#include <stddef.h>

/* Length (1..4) of the well-formed UTF-8 sequence that starts at p, or 0
 * when the bytes at p do not start one. Requires p < end; reads no byte at
 * or beyond end. Pure; allocates nothing. */
size_t ll_utf8_len(const unsigned char *p, const unsigned char *end);

#endif
