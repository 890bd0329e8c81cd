/*
 * fuzz_entry: hostile bytes as an AppendRequest and as a DSSE envelope
 * (ll_entry_find_envelope, ll_entry_decode, ll_entry_verify), and the leaf
 * layout built around whatever was accepted (ll_leaf_build).
 *
 * Contracts checked: the envelope found inside a request lies inside it;
 * a refused envelope always says why; an accepted one has a body with an
 * author and a kind, one 64-byte signature, and a leaf built around it
 * parses back as a LogEntry carrying the same bytes.
 */
#include <string.h>

#include "ll_entry.h"
#include "ll_err.h"
#include "ll_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *env;
    size_t env_len;
    ll_entry_t e;
    char msg[256];

    if (ll_entry_find_envelope(data, size, &env, &env_len) == LL_OK)
        LL_FUZZ_CHECK(env >= data && env_len <= size && env + env_len <= data + size);

    msg[0] = 0;
    if (ll_entry_decode(data, size, &e, msg, sizeof msg) != LL_OK) {
        LL_FUZZ_CHECK(msg[0] != 0);
        return 0;
    }
    LL_FUZZ_CHECK(e.env && e.body && e.body->author && e.body->author[0]);
    LL_FUZZ_CHECK(e.sig && e.sig_len == 64);
    LL_FUZZ_CHECK(ll_entry_kind_name(e.body) != NULL);
    uint8_t pub[LL_PUBKEY_LEN];
    ll_key_public(ll_fuzz_key(), pub);
    int v = ll_entry_verify(&e, pub);
    LL_FUZZ_CHECK(v == LL_OK || v == LL_ERR_BAD_SIGNATURE);

    uint8_t *leaf = malloc(ll_leaf_max_len(size));
    LL_FUZZ_CHECK(leaf);
    size_t n = ll_leaf_build(7, 42, data, size, leaf);
    LL_FUZZ_CHECK(n <= ll_leaf_max_len(size));
    Loopledger__V1__LogEntry *le = loopledger__v1__log_entry__unpack(NULL, n, leaf);
    LL_FUZZ_CHECK(le && le->seq == 7 && le->server_time_unix_nanos == 42 && le->envelope);
    loopledger__v1__log_entry__free_unpacked(le, NULL);
    free(leaf);
    ll_entry_free(&e);
    return 0;
}
