/*
 * ll_fuzz: what the libFuzzer harnesses in tests/fuzz share.
 *
 * Each harness defines LLVMFuzzerTestOneInput and checks contracts, not
 * just "does not crash": decoders either accept input whose parts satisfy
 * the documented invariants or refuse it with an explanation; verifiers
 * accept what the matching producer made and refuse any mutation of it.
 * A failed check calls abort(), which libFuzzer reports as a crash.
 *
 * The same harnesses are also linked, with ordinary gcc and the project's
 * sanitizer options, to ll_fuzz_replay.c, which runs the committed seed
 * corpora and every regressions/ input once: that is how a crash found by
 * ops/fuzz becomes a regression test on every build.
 */
#ifndef LL_FUZZ_H
#define LL_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "ll_crypto.h"

/* The harnesses' signing key: RFC 8032 seed of 32 bytes 0x07, so that the
 * seed corpora (tests/fuzz/corpus, made by ll-fuzz-seeds) carry signatures
 * that verify. Never freed (one per process). */
static inline const ll_key_t *ll_fuzz_key(void)
{
    static ll_key_t *key;
    if (!key) {
        uint8_t seed[32];
        for (int i = 0; i < 32; i++)
            seed[i] = 7;
        if (ll_key_from_seed(seed, &key))
            abort();
    }
    return key;
}

#define LL_FUZZ_ORIGIN "fuzz.test/log"

#define LL_FUZZ_CHECK(cond)                                                    \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                           \
        }                                                                      \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
