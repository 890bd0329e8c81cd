/*
 * One reading of every signed byte (issue 18, items 1 and 2): envelopes
 * built byte by byte, each correctly signed, each carrying one encoding
 * trick that made protobuf-c (or the server's C-string comparisons) read
 * something other than what another protobuf reader reads. Every one is
 * refused with INVALID and nothing is written; a canonical envelope built
 * by the same builder is accepted (so the builder is not what fails). The
 * audit refuses such an envelope when it is found in a log anyway.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../support/ll_testledger.h"
#include "ll_audit.h"
#include "ll_dsse.h"
#include "ll_entry.h"
#include "ll_err.h"
#include "ll_ledger.h"
#include "ll_pbcheck.h"

/* ---- a protobuf writer that does what it is told ---- */

typedef struct pb {
    uint8_t b[16384];
    size_t n;
} pb_t;

static void pb_raw(pb_t *p, const void *d, size_t n)
{
    assert_true(p->n + n <= sizeof p->b);
    memcpy(p->b + p->n, d, n);
    p->n += n;
}

static void pb_varint(pb_t *p, uint64_t v)
{
    while (v >= 0x80) {
        uint8_t c = (uint8_t)(v | 0x80);
        pb_raw(p, &c, 1);
        v >>= 7;
    }
    uint8_t c = (uint8_t)v;
    pb_raw(p, &c, 1);
}

static void pb_tag(pb_t *p, unsigned id, unsigned wt) { pb_varint(p, (uint64_t)id << 3 | wt); }

static void pb_len(pb_t *p, unsigned id, const void *d, size_t n)
{
    pb_tag(p, id, 2);
    pb_varint(p, n);
    pb_raw(p, d, n);
}

static void pb_str(pb_t *p, unsigned id, const char *s) { pb_len(p, id, s, strlen(s)); }

static void pb_uint(pb_t *p, unsigned id, uint64_t v)
{
    pb_tag(p, id, 0);
    pb_varint(p, v);
}

/* ---- entries ---- */

/* What each attack changes in an otherwise canonical admin note. */
typedef struct spec {
    const char *author; /* body field 1; with author_len, may hold NULs */
    size_t author_len;
    const char *initiative;
    size_t initiative_len;
    const char *text;   /* Note.text */
    size_t text_len;
    /* raw bytes appended to the body after the note (unknown fields,
     * duplicates, second oneof member) */
    const uint8_t *body_tail;
    size_t body_tail_len;
    const uint8_t *note_tail; /* inside the Note message */
    size_t note_tail_len;
    /* envelope: payloadType as sent and as signed */
    const char *type_sent;
    size_t type_sent_len;
    const uint8_t *env_tail; /* raw bytes after the signatures */
    size_t env_tail_len;
    const char *keyid_suffix; /* bytes after the 64 hex digits */
    size_t keyid_suffix_len;
    int time_padded; /* client time as a padded varint */
} spec_t;

static size_t body_bytes(const spec_t *s, uint8_t *out, size_t cap)
{
    static uint64_t nonce;
    pb_t p = {.n = 0}, note = {.n = 0};
    const char *author = s->author ? s->author : "admin";
    pb_len(&p, 1, author, s->author ? s->author_len : strlen(author));
    /* Notes name no initiative unless the case says so (only an existing
     * initiative may be named, and these ledgers charter none). */
    if (s->initiative)
        pb_len(&p, 2, s->initiative, s->initiative_len);
    if (s->time_padded) {
        pb_tag(&p, 3, 0);
        pb_raw(&p, "\x85\x80\x00", 3); /* 5, padded to 3 bytes */
    } else {
        pb_uint(&p, 3, 1800000000000000000ull);
    }
    nonce++;
    pb_len(&p, 4, &nonce, sizeof nonce);
    const char *text = s->text ? s->text : "hello";
    pb_len(&note, 1, text, s->text ? s->text_len : strlen(text));
    if (s->note_tail)
        pb_raw(&note, s->note_tail, s->note_tail_len);
    pb_len(&p, 10, note.b, note.n);
    if (s->body_tail)
        pb_raw(&p, s->body_tail, s->body_tail_len);
    assert_true(p.n <= cap);
    memcpy(out, p.b, p.n);
    return p.n;
}

static uint8_t *envelope(const ll_key_t *key, const spec_t *s, size_t *len)
{
    uint8_t body[8192], sig[LL_SIG_LEN], pub[LL_PUBKEY_LEN];
    char keyid[LL_KEYID_HEX_LEN + 1];
    size_t blen = body_bytes(s, body, sizeof body);
    /* Signed over the real type: the attack in item 1 sends a longer one
     * that a C-string reader truncates back to this. */
    assert_int_equal(ll_dsse_sign(key, LL_DSSE_PAYLOAD_TYPE, strlen(LL_DSSE_PAYLOAD_TYPE), body,
                                  blen, sig),
                     LL_OK);
    ll_key_public(key, pub);
    ll_keyid(pub, keyid);
    pb_t sg = {.n = 0}, e = {.n = 0};
    pb_len(&sg, 1, sig, sizeof sig);
    pb_t kid = {.n = 0};
    pb_raw(&kid, keyid, LL_KEYID_HEX_LEN);
    if (s->keyid_suffix)
        pb_raw(&kid, s->keyid_suffix, s->keyid_suffix_len);
    pb_len(&sg, 2, kid.b, kid.n);
    pb_len(&e, 1, body, blen);
    if (s->type_sent)
        pb_len(&e, 2, s->type_sent, s->type_sent_len);
    else
        pb_str(&e, 2, LL_DSSE_PAYLOAD_TYPE);
    pb_len(&e, 3, sg.b, sg.n);
    if (s->env_tail)
        pb_raw(&e, s->env_tail, s->env_tail_len);
    uint8_t *out = malloc(e.n);
    memcpy(out, e.b, e.n);
    *len = e.n;
    return out;
}

/* ---- fixture ---- */

typedef ll_tl_t fx_t;

static int setup(void **state)
{
    *state = ll_tl_new("test.example/sigbytes", NULL);
    return 0;
}

static int teardown(void **state) { return ll_tl_teardown(state); }

/* Appends the envelope of s; returns the result. */
static ll_append_result_t try_append(fx_t *f, const spec_t *s)
{
    size_t len;
    uint8_t *env = envelope(f->admin, s, &len);
    return ll_tl_append(f, env, len);
}

/* The attack must be refused as INVALID, with `why` in the message, and
 * write nothing. */
static void refused(fx_t *f, const spec_t *s, const char *why)
{
    uint64_t before = ll_store_committed_size(f->st);
    ll_append_result_t r = try_append(f, s);
    if (r.err != LL_ERR_INVALID)
        fail_msg("expected INVALID (%s), got %s: %s", why, ll_strerror(r.err), r.msg);
    if (!strstr(r.msg, why))
        fail_msg("message lacks \"%s\": %s", why, r.msg);
    assert_int_equal(ll_store_committed_size(f->st), before);
}

#define LIT(s) s, sizeof(s) - 1

static void test_canonical_handmade_envelope_is_accepted(void **state)
{
    fx_t *f = *state;
    spec_t s = {0};
    ll_append_result_t r = try_append(f, &s);
    if (r.err)
        fail_msg("%s", r.msg);
    assert_int_equal(r.seq, 1);
    /* UTF-8 beyond ASCII is fine. */
    s.text = "caf\xc3\xa9 \xf0\x9f\x93\x88";
    s.text_len = strlen(s.text);
    r = try_append(f, &s);
    if (r.err)
        fail_msg("%s", r.msg);
}

static void test_payload_type_with_nul_suffix_is_refused(void **state)
{
    /* Signed over the real type; sent as real type + "\0evil". */
    spec_t s = {.type_sent = LIT(LL_DSSE_PAYLOAD_TYPE "\0evil")};
    refused(*state, &s, "NUL byte");
}

static void test_keyid_with_nul_suffix_is_refused(void **state)
{
    spec_t s = {.keyid_suffix = LIT("\0zz")};
    refused(*state, &s, "keyid: string holds a NUL byte at offset 64");
}

static void test_author_with_nul_is_refused(void **state)
{
    spec_t s = {.author = LIT("admin\0evil")};
    refused(*state, &s, "EntryBody.author: string holds a NUL byte at offset 5");
}

static void test_initiative_with_nul_is_refused(void **state)
{
    spec_t s = {.initiative = LIT("reco\0engine")};
    refused(*state, &s, "EntryBody.initiative: string holds a NUL");
}

static void test_invalid_utf8_is_refused(void **state)
{
    fx_t *f = *state;
    spec_t s = {.text = LIT("bad \xff byte")};
    refused(f, &s, "EntryBody.note.text: string is not valid UTF-8");
    spec_t overlong = {.text = LIT("\xc0\xaf")};
    refused(f, &overlong, "not valid UTF-8");
    spec_t surrogate = {.text = LIT("\xed\xa0\x80")};
    refused(f, &surrogate, "not valid UTF-8");
    spec_t cut = {.text = LIT("\xe2\x82")};
    refused(f, &cut, "not valid UTF-8");
    spec_t big = {.text = LIT("\xf4\x90\x80\x80")};
    refused(f, &big, "not valid UTF-8");
    spec_t author = {.author = LIT("adm\xe9n")};
    refused(f, &author, "EntryBody.author: string is not valid UTF-8");
}

static void test_unknown_envelope_field_is_refused(void **state)
{
    static uint8_t junk[5003];
    junk[0] = 0x7a; /* field 15, length-delimited */
    junk[1] = 0x80 | (5000 & 0x7f);
    junk[2] = 5000 >> 7;
    memset(junk + 3, 'J', 5000);
    spec_t s = {.env_tail = junk, .env_tail_len = sizeof junk};
    refused(*state, &s, "Envelope: unknown field 15");
}

static void test_unknown_body_fields_are_refused(void **state)
{
    fx_t *f = *state;
    static const uint8_t body99[] = {0x98, 0x06, 0x01}; /* field 99 varint 1 */
    spec_t s = {.body_tail = body99, .body_tail_len = sizeof body99};
    refused(f, &s, "EntryBody: unknown field 99");
    static const uint8_t note5[] = {0x28, 0x01}; /* Note field 5 */
    spec_t n = {.note_tail = note5, .note_tail_len = sizeof note5};
    refused(f, &n, "EntryBody.note: unknown field 5");
}

static void test_two_oneof_members_are_refused(void **state)
{
    /* A second kind after the note: an empty ActorRegistration (field 11). */
    static const uint8_t actor[] = {0x5a, 0x00};
    spec_t s = {.body_tail = actor, .body_tail_len = sizeof actor};
    refused(*state, &s, "second member of a oneof (\"note\" is already set)");
}

static void test_field_given_twice_is_refused(void **state)
{
    fx_t *f = *state;
    /* A second note (merged by protobuf-c, last-wins elsewhere). */
    static const uint8_t note2[] = {0x52, 0x03, 0x0a, 0x01, 'x'};
    spec_t s = {.body_tail = note2, .body_tail_len = sizeof note2};
    refused(f, &s, "non-repeated field given twice");
    /* A second text inside the note. */
    static const uint8_t text2[] = {0x0a, 0x01, 'y'};
    spec_t t = {.note_tail = text2, .note_tail_len = sizeof text2};
    refused(f, &t, "EntryBody.note.text: non-repeated field given twice");
}

static void test_non_canonical_encodings_are_refused(void **state)
{
    fx_t *f = *state;
    /* The author field (1) again at the end: out of order and twice. */
    static const uint8_t late[] = {0x0a, 0x05, 'a', 'd', 'm', 'i', 'n'};
    spec_t s = {.body_tail = late, .body_tail_len = sizeof late};
    refused(f, &s, "ascending field-number order");
    /* Wrong wire type for a known field: Note.text (string) as a varint. */
    static const uint8_t wt[] = {0x08, 0x01};
    spec_t w = {.text = LIT("x"), .note_tail = wt, .note_tail_len = sizeof wt};
    refused(f, &w, "non-repeated field given twice");
    spec_t w2 = {.note_tail = (const uint8_t *)"\x10\x01", .note_tail_len = 2};
    refused(f, &w2, "unknown field 2");
    /* A padded varint. */
    spec_t p = {.time_padded = 1};
    refused(f, &p, "EntryBody.client_time_unix_nanos: value is not in its shortest form");
    /* An explicit default: an empty initiative written out. */
    spec_t d = {.initiative = "", .initiative_len = 0};
    refused(f, &d, "EntryBody.initiative: holds its default value");
}

/* Wire-level cases of the walker that the envelope builder cannot reach. */
static void test_pbcheck_rules(void **state)
{
    (void)state;
    char msg[256];
    const ProtobufCMessageDescriptor *reg = &loopledger__v1__actor_registration__descriptor;
    const ProtobufCMessageDescriptor *link = &loopledger__v1__link__descriptor;
    /* roles packed (canonical) vs unpacked (valid protobuf, not canonical). */
    static const uint8_t packed[] = {0x0a, 0x01, 'a', 0x1a, 0x02, 0x01, 0x02};
    static const uint8_t unpacked[] = {0x0a, 0x01, 'a', 0x18, 0x01, 0x18, 0x02};
    static const uint8_t empty_packed[] = {0x0a, 0x01, 'a', 0x1a, 0x00};
    static const uint8_t two_runs[] = {0x0a, 0x01, 'a', 0x1a, 0x01, 0x01, 0x1a, 0x01, 0x02};
    assert_int_equal(ll_pbcheck(reg, packed, sizeof packed, msg, sizeof msg), LL_OK);
    assert_int_equal(ll_pbcheck(reg, unpacked, sizeof unpacked, msg, sizeof msg), LL_ERR_INVALID);
    assert_non_null(strstr(msg, "ActorRegistration.roles: wire type 0 where this packed field"));
    assert_int_equal(ll_pbcheck(reg, empty_packed, sizeof empty_packed, msg, sizeof msg),
                     LL_ERR_INVALID);
    assert_int_equal(ll_pbcheck(reg, two_runs, sizeof two_runs, msg, sizeof msg), LL_ERR_INVALID);
    assert_non_null(strstr(msg, "more than one run"));
    /* Enum (int32) carrying 64 significant bits; negative int32 as 10 bytes is fine. */
    static const uint8_t big_enum[] = {0x08, 0x81, 0x80, 0x80, 0x80, 0x10};
    static const uint8_t neg_enum[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff,
                                       0xff, 0xff, 0xff, 0xff, 0x01};
    assert_int_equal(ll_pbcheck(link, big_enum, sizeof big_enum, msg, sizeof msg), LL_ERR_INVALID);
    assert_non_null(strstr(msg, "does not fit a 32-bit signed field"));
    assert_int_equal(ll_pbcheck(link, neg_enum, sizeof neg_enum, msg, sizeof msg), LL_OK);
    /* 11-byte varint, truncation, groups, field 0. */
    static const uint8_t long_v[] = {0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                     0xff, 0xff, 0xff, 0xff, 0x01};
    static const uint8_t cut[] = {0x10, 0xff};
    static const uint8_t group[] = {0x0b, 0x0c};
    static const uint8_t zero[] = {0x00, 0x01};
    assert_int_equal(ll_pbcheck(link, long_v, sizeof long_v, msg, sizeof msg), LL_ERR_INVALID);
    assert_int_equal(ll_pbcheck(link, cut, sizeof cut, msg, sizeof msg), LL_ERR_INVALID);
    assert_int_equal(ll_pbcheck(link, group, sizeof group, msg, sizeof msg), LL_ERR_INVALID);
    assert_int_equal(ll_pbcheck(link, zero, sizeof zero, msg, sizeof msg), LL_ERR_INVALID);
    /* uint64 zero written out: a default. */
    static const uint8_t dflt[] = {0x08, 0x01, 0x10, 0x00};
    assert_int_equal(ll_pbcheck(link, dflt, sizeof dflt, msg, sizeof msg), LL_ERR_INVALID);
    assert_non_null(strstr(msg, "Link.target_seq: holds its default value"));
    /* A known field with the wrong wire type: relation (enum) as bytes. */
    static const uint8_t wt[] = {0x0a, 0x01, 0x01};
    assert_int_equal(ll_pbcheck(link, wt, sizeof wt, msg, sizeof msg), LL_ERR_INVALID);
    assert_non_null(strstr(msg, "Link.relation: wire type 2 where this field has wire type 0"));
    /* The path names the element of a repeated field: signatures[1]. */
    static const uint8_t second[] = {0x1a, 0x03, 0x12, 0x01, 'k', 0x1a, 0x02, 0x12, 0x00};
    assert_int_equal(ll_pbcheck(&loopledger__v1__envelope__descriptor, second, sizeof second,
                                msg, sizeof msg), LL_ERR_INVALID);
    assert_non_null(strstr(msg, "Envelope.signatures[1].keyid: holds its default value"));
    /* Length past the end. */
    static const uint8_t past[] = {0x0a, 0x05, 'a'};
    assert_int_equal(ll_pbcheck(reg, past, sizeof past, msg, sizeof msg), LL_ERR_INVALID);
    assert_non_null(strstr(msg, "runs past the end"));
    /* Whatever ll_pbcheck accepts, protobuf-c reads back to the same bytes. */
    const uint8_t *ok[] = {packed, neg_enum};
    size_t okn[] = {sizeof packed, sizeof neg_enum};
    const ProtobufCMessageDescriptor *okd[] = {reg, link};
    for (int i = 0; i < 2; i++) {
        ProtobufCMessage *m = protobuf_c_message_unpack(okd[i], NULL, okn[i], ok[i]);
        assert_non_null(m);
        assert_true(ll_pbcheck_no_unknown(m));
        assert_int_equal(ll_pbcheck_reencodes(m, ok[i], okn[i]), 1);
        protobuf_c_message_free_unpacked(m, NULL);
    }
}

/* An envelope the server would now refuse, planted in the log through the
 * store (as an older server, or someone with the data file, could have):
 * the audit names it. */
static void test_audit_refuses_planted_nul_envelope(void **state)
{
    fx_t *f = *state;
    spec_t s = {.author = LIT("admin\0evil")};
    size_t len;
    uint8_t *env = envelope(f->admin, &s, &len);
    ll_ledger_close(f->lg);
    f->lg = NULL;
    ll_txn_t *txn;
    uint8_t hash[LL_HASH_LEN], *leaf = malloc(ll_leaf_max_len(len));
    size_t n = ll_leaf_build(1, 1900000000000000000ll, env, len, leaf);
    uint8_t k[9] = {'s', 0, 0, 0, 0, 0, 0, 0, 1}, v[8] = {0};
    assert_int_equal(ll_store_begin_write(f->st, &txn), LL_OK);
    assert_int_equal(ll_store_append(txn, leaf, n, 1900000000000000000ll, hash), LL_OK);
    assert_int_equal(ll_store_put(txn, LL_TBL_INDEX, k, sizeof k, v, sizeof v), LL_OK);
    assert_int_equal(ll_store_commit(txn), LL_OK);
    free(leaf);
    free(env);
    uint8_t note_pub[LL_PUBKEY_LEN];
    ll_key_public(f->note_key, note_pub);
    ll_audit_report_t rep;
    assert_int_equal(ll_audit_run(f->st, note_pub, 1, &rep), LL_OK);
    assert_true(rep.damaged);
    assert_int_equal(rep.first_bad_seq, 1);
    if (!strstr(rep.what, "NUL"))
        fail_msg("audit report does not name the NUL: %s", rep.what);
}

/* AppendRequest read without unpacking: the envelope as received and
 * validate_only, holding the two fields to their wire types. */
static void test_append_request_read_on_the_wire(void **state)
{
    (void)state;
    const uint8_t *env;
    size_t len;
    int vo = -1;
    static const uint8_t ok1[] = {0x0a, 0x01, 'x', 0x10, 0x01};
    static const uint8_t last[] = {0x10, 0x01, 0x0a, 0x01, 'x', 0x10, 0x00, 0x18, 0x05};
    static const uint8_t vo_bytes[] = {0x0a, 0x01, 'x', 0x12, 0x00};
    static const uint8_t env_varint[] = {0x08, 0x01, 0x0a, 0x01, 'x'};
    static const uint8_t twice[] = {0x0a, 0x01, 'x', 0x0a, 0x01, 'y'};
    static const uint8_t none[] = {0x10, 0x01};
    assert_int_equal(ll_entry_read_append_request(ok1, sizeof ok1, &env, &len, &vo), LL_OK);
    assert_ptr_equal(env, ok1 + 2);
    assert_int_equal(len, 1);
    assert_int_equal(vo, 1);
    /* The last value counts, as in protobuf; unknown fields pass. */
    assert_int_equal(ll_entry_read_append_request(last, sizeof last, &env, &len, &vo), LL_OK);
    assert_int_equal(vo, 0);
    assert_int_equal(ll_entry_read_append_request(vo_bytes, sizeof vo_bytes, &env, &len, &vo),
                     LL_ERR_INVALID);
    assert_int_equal(ll_entry_read_append_request(env_varint, sizeof env_varint, &env, &len, &vo),
                     LL_ERR_INVALID);
    assert_int_equal(ll_entry_read_append_request(twice, sizeof twice, &env, &len, &vo),
                     LL_ERR_INVALID);
    assert_int_equal(ll_entry_read_append_request(none, sizeof none, &env, &len, &vo),
                     LL_ERR_INVALID);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_canonical_handmade_envelope_is_accepted),
        T(test_payload_type_with_nul_suffix_is_refused),
        T(test_keyid_with_nul_suffix_is_refused),
        T(test_author_with_nul_is_refused),
        T(test_initiative_with_nul_is_refused),
        T(test_invalid_utf8_is_refused),
        T(test_unknown_envelope_field_is_refused),
        T(test_unknown_body_fields_are_refused),
        T(test_two_oneof_members_are_refused),
        T(test_field_given_twice_is_refused),
        T(test_non_canonical_encodings_are_refused),
        cmocka_unit_test(test_pbcheck_rules),
        cmocka_unit_test(test_append_request_read_on_the_wire),
        T(test_audit_refuses_planted_nul_envelope),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
