/*
 * ll_utf8: UTF-8 sequence check (ll_utf8.h).
 *
 * Why the second byte alone carries the special ranges: in table 3-7 only
 * the byte after E0, ED, F0 and F4 has a narrower range than 80..BF, and
 * narrowing it is what excludes overlongs, surrogates and code points
 * above U+10FFFF; every later byte is a plain continuation byte.
 */
#include "ll_utf8.h"

size_t ll_utf8_len(const unsigned char *p, const unsigned char *end)
{
    unsigned char c = p[0];
    if (c < 0x80)
        return 1;
    size_t n = c < 0xC2 ? 0 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : c < 0xF5 ? 4 : 0;
    if (n == 0 || (size_t)(end - p) < n)
        return 0;
    /* The second byte's range excludes overlongs, surrogates, > U+10FFFF. */
    unsigned char lo = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80;
    unsigned char hi = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : 0xBF;
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    return n;
}
