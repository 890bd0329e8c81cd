/*
 * fuzz_entry: hostile bytes as an AppendRequest and as a DSSE envelope
 * (ll_entry_find_envelope, ll_entry_read_append_request, ll_entry_decode,
 * ll_entry_verify), and the leaf layout built around whatever was accepted
 * (ll_leaf_build).
 *
 * Contracts checked: the envelope found inside a request lies inside it;
 * a refused envelope always says why; an accepted one has a body with an
 * author and a kind, one 64-byte signature, and a leaf built around it
 * parses back as a LogEntry carrying the same bytes.
 *
 * One reading of every byte (ll_pbcheck.h): the input is also read as an
 * Envelope, an EntryBody and each message a body may carry. Whenever the
 * wire walker accepts bytes, the independent reader (protobuf-c's unpack)
 * must read them without unknown fields and its re-encoding must give the
 * same bytes back; so for accepted bytes there is nothing two conforming
 * parsers could disagree on (field order, duplicates, oneofs, defaults,
 * varint forms, packing). Conversely, when protobuf-c reads bytes to the
 * same bytes again without unknown fields, the walker may refuse them only
 * for their strings (UTF-8: protobuf-c does not check it) or for nesting
 * deeper than it allows. An accepted envelope passed both checks, for the
 * envelope and for its payload.
 */
#include <string.h>

#include "ll_entry.h"
#include "ll_err.h"
#include "ll_fuzz.h"
#include "ll_pbcheck.h"
#include "loopledger/v1/domain.pb-c.h"
#include "loopledger/v1/ledger.pb-c.h"

static void one_reading(const ProtobufCMessageDescriptor *d, const uint8_t *data, size_t size)
{
    char msg[256];
    int ok = ll_pbcheck(d, data, size, msg, sizeof msg) == LL_OK;
    ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, size, data);
    int same = m && ll_pbcheck_no_unknown(m) && ll_pbcheck_reencodes(m, data, size) == 1;
    if (ok) {
        LL_FUZZ_CHECK(same);
    } else {
        LL_FUZZ_CHECK(msg[0] != 0);
        if (same)
            LL_FUZZ_CHECK(strstr(msg, "UTF-8") || strstr(msg, "nested more than"));
    }
    if (m)
        protobuf_c_message_free_unpacked(m, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const ProtobufCMessageDescriptor *const descs[] = {
        &loopledger__v1__envelope__descriptor, &loopledger__v1__entry_body__descriptor,
        &loopledger__v1__actor_registration__descriptor, &loopledger__v1__policy__descriptor,
        &loopledger__v1__experiment__descriptor, &loopledger__v1__scaling_plan__descriptor,
        &loopledger__v1__measurement__descriptor, &loopledger__v1__initiative__descriptor,
    };
    for (size_t i = 0; i < sizeof descs / sizeof descs[0]; i++)
        one_reading(descs[i], data, size);

    const uint8_t *env;
    size_t env_len;
    ll_entry_t e;
    char msg[256];

    if (ll_entry_find_envelope(data, size, &env, &env_len) == LL_OK)
        LL_FUZZ_CHECK(env >= data && env_len <= size && env + env_len <= data + size);
    /* The request's own fields read without unpacking agree with
     * protobuf-c's reading whenever both read it. */
    int vo;
    if (ll_entry_read_append_request(data, size, &env, &env_len, &vo) == LL_OK) {
        LL_FUZZ_CHECK(env >= data && env_len <= size && env + env_len <= data + size);
        Loopledger__V1__AppendRequest *ar = loopledger__v1__append_request__unpack(NULL, size,
                                                                                   data);
        if (ar) {
            LL_FUZZ_CHECK(ar->envelope && vo == (ar->validate_only != 0));
            loopledger__v1__append_request__free_unpacked(ar, NULL);
        }
    }

    msg[0] = 0;
    if (ll_entry_decode(data, size, &e, msg, sizeof msg) != LL_OK) {
        LL_FUZZ_CHECK(msg[0] != 0);
        return 0;
    }
    LL_FUZZ_CHECK(e.env && e.body && e.body->author && e.body->author[0]);
    LL_FUZZ_CHECK(ll_pbcheck(&loopledger__v1__envelope__descriptor, data, size, msg,
                             sizeof msg) == LL_OK);
    LL_FUZZ_CHECK(ll_pbcheck(&loopledger__v1__entry_body__descriptor, e.env->payload.data,
                             e.env->payload.len, msg, sizeof msg) == LL_OK);
    LL_FUZZ_CHECK(ll_pbcheck_reencodes(&e.body->base, e.env->payload.data,
                                       e.env->payload.len) == 1);
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
