/*
 * ll_witness: add-checkpoint answers with the C2SP tlog-witness statuses,
 * in the spec's order, and keeps its state across a reopen; a cosignature
 * it returns verifies for its key over exactly the submitted checkpoint.
 * Trees are built from leaves in memory with ll_merkle.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ll_cosig.h"
#include "ll_crypto.h"
#include "ll_err.h"
#include "ll_merkle.h"
#include "ll_note.h"
#include "ll_witness.h"

#define ORIGIN "example.test/log"
#define MAXL 64

static uint8_t leaves[MAXL][LL_HASH_LEN];
static uint8_t forked[MAXL][LL_HASH_LEN];
static ll_key_t *logkey, *wkey;
static char logvkey[512], dir[64];

typedef struct tree {
    uint8_t (*h)[LL_HASH_LEN];
} tree_t;

static void mth(uint8_t (*h)[LL_HASH_LEN], uint64_t a, uint64_t b, uint8_t out[LL_HASH_LEN])
{
    if (b - a == 1) {
        memcpy(out, h[a], LL_HASH_LEN);
        return;
    }
    uint64_t k = 1;
    while (k << 1 < b - a)
        k <<= 1;
    uint8_t l[LL_HASH_LEN], r[LL_HASH_LEN];
    mth(h, a, a + k, l);
    mth(h, a + k, b, r);
    ll_merkle_node_hash(l, r, out);
}

static int node_fn(void *ctx, unsigned level, uint64_t index, uint8_t out[LL_HASH_LEN])
{
    tree_t *t = ctx;
    mth(t->h, index << level, (index + 1) << level, out);
    return LL_OK;
}

/* Signed checkpoint note of the first size leaves of h. */
static void note_of(uint8_t (*h)[LL_HASH_LEN], uint64_t size, char *out)
{
    ll_checkpoint_t cp = {.size = size};
    char body[512];
    size_t bl, nl;
    snprintf(cp.origin, sizeof cp.origin, ORIGIN);
    if (size)
        mth(h, 0, size, cp.root);
    else
        ll_sha256("", 0, cp.root);
    assert_int_equal(ll_checkpoint_format(&cp, body, sizeof body, &bl), LL_OK);
    assert_int_equal(ll_note_sign(body, bl, ORIGIN, logkey, out, LL_NOTE_MAX, &nl), LL_OK);
}

/* Request body: old size, proof old->size over h, blank line, note. */
static size_t request(uint8_t (*h)[LL_HASH_LEN], uint64_t old, uint64_t size, const char *note,
                      char *out)
{
    uint8_t proof[LL_MERKLE_MAX_PROOF][LL_HASH_LEN];
    size_t np = 0, n;
    tree_t t = {h};
    n = (size_t)sprintf(out, "old %" PRIu64 "\n", old);
    if (old && old < size)
        assert_int_equal(ll_merkle_consistency_proof(node_fn, &t, old, size, proof, &np), LL_OK);
    for (size_t i = 0; i < np; i++) {
        n += ll_base64_encode(proof[i], LL_HASH_LEN, out + n);
        out[n++] = '\n';
    }
    out[n++] = '\n';
    strcpy(out + n, note);
    return n + strlen(note);
}

static ll_witness_t *open_witness(void)
{
    const char *logs[] = {logvkey};
    ll_witness_config_t cfg = {.dir = dir, .name = "witness.test/w", .key = wkey, .logs = logs,
                               .nlogs = 1};
    ll_witness_t *w;
    assert_int_equal(ll_witness_open(&cfg, &w), LL_OK);
    return w;
}

static int submit(ll_witness_t *w, uint8_t (*h)[LL_HASH_LEN], uint64_t old, uint64_t size,
                  char *resp)
{
    static char note[LL_NOTE_MAX], req[LL_NOTE_MAX * 2];
    size_t rl;
    const char *ct;
    note_of(h, size, note);
    size_t n = request(h, old, size, note, req);
    int st = ll_witness_add_checkpoint(w, req, n, resp, 1024, &rl, &ct);
    resp[rl] = 0;
    if (st == 409)
        assert_string_equal(ct, "text/x.tlog.size");
    return st;
}

static void test_add_checkpoint_statuses_follow_the_spec(void **state)
{
    (void)state;
    char resp[1024], note[LL_NOTE_MAX], req[LL_NOTE_MAX * 2];
    size_t rl;
    const char *ct;
    ll_witness_t *w = open_witness();

    /* First contact: old 0 and no proof; a proof from 0 is 422. */
    note_of(leaves, 5, note);
    size_t n = request(leaves, 0, 5, note, req);
    assert_int_equal(submit(w, leaves, 0, 5, resp), 200);
    /* The cosignature verifies over exactly that checkpoint. */
    ll_cosigner_t c = {.name = "witness.test/w"};
    ll_key_public(wkey, c.pub);
    char cn[LL_NOTE_MAX + 1024];
    snprintf(cn, sizeof cn, "%s%s", note, resp);
    uint64_t ts;
    assert_int_equal(ll_cosig_verify(cn, strlen(cn), &c, &ts), LL_OK);
    assert_true(ts > 1600000000);

    /* Stale old size: 409 with the witness's size. */
    assert_int_equal(submit(w, leaves, 0, 9, resp), 409);
    assert_string_equal(resp, "5\n");
    assert_int_equal(submit(w, leaves, 3, 9, resp), 409);
    /* Consistent growth. */
    assert_int_equal(submit(w, leaves, 5, 9, resp), 200);
    assert_int_equal(submit(w, leaves, 9, 9, resp), 200);
    /* A fork of the same origin: 422, state unchanged. */
    assert_int_equal(submit(w, forked, 9, 12, resp), 422);
    assert_int_equal(submit(w, forked, 9, 9, resp), 422);
    assert_int_equal(submit(w, leaves, 0, 12, resp), 409);
    assert_string_equal(resp, "9\n");
    /* old > size: 400 (after the signature check). */
    assert_int_equal(submit(w, leaves, 13, 12, resp), 400);

    /* Malformed bodies: 400. */
    static const char *bad[] = {"", "old\n\n", "old 01\n\n", "old 5\nnot base64!\n\n",
                                "old 5\n", "old -1\n\n"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(ll_witness_add_checkpoint(w, bad[i], strlen(bad[i]), resp, 1024, &rl, &ct),
                         400);
    /* 64 proof lines: 400. */
    char *big = malloc(64 * 48 + LL_NOTE_MAX + 16), *p = big;
    p += sprintf(p, "old 9\n");
    for (int i = 0; i < 64; i++)
        p += sprintf(p, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n");
    p += sprintf(p, "\n%s", note);
    assert_int_equal(ll_witness_add_checkpoint(w, big, strlen(big), resp, 1024, &rl, &ct), 400);
    free(big);

    /* Unknown origin: 404; bad or missing signature: 403. */
    note_of(leaves, 12, note);
    n = request(leaves, 9, 12, note, req);
    char *o = strstr(req, ORIGIN);
    memcpy(o, "elsewhere.t/logx", strlen(ORIGIN)); /* same length, other origin */
    assert_int_equal(ll_witness_add_checkpoint(w, req, n, resp, 1024, &rl, &ct), 404);
    n = request(leaves, 9, 12, note, req);
    char *sig = strstr(req, "\xe2\x80\x94 ") + strlen("\xe2\x80\x94 " ORIGIN " ") + 10;
    *sig = *sig == 'A' ? 'B' : 'A';
    assert_int_equal(ll_witness_add_checkpoint(w, req, n, resp, 1024, &rl, &ct), 403);

    ll_witness_close(w);
    /* State survives a reopen. */
    w = open_witness();
    assert_int_equal(submit(w, leaves, 0, 12, resp), 409);
    assert_string_equal(resp, "9\n");
    assert_int_equal(submit(w, leaves, 9, 12, resp), 200);
    ll_witness_close(w);
}

static int setup(void **state)
{
    (void)state;
    for (int i = 0; i < MAXL; i++) {
        uint8_t b[2] = {(uint8_t)i, 0}, f[2] = {(uint8_t)i, 1};
        ll_merkle_leaf_hash(b, 2, leaves[i]);
        ll_merkle_leaf_hash(i < 7 ? b : f, 2, forked[i]);
    }
    uint8_t pub[LL_PUBKEY_LEN];
    assert_int_equal(ll_key_generate(&logkey), LL_OK);
    assert_int_equal(ll_key_generate(&wkey), LL_OK);
    ll_key_public(logkey, pub);
    assert_int_equal(ll_note_verifier_key(ORIGIN, pub, logvkey, sizeof logvkey), LL_OK);
    snprintf(dir, sizeof dir, "/tmp/ll-test-witness-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    ll_key_free(logkey);
    ll_key_free(wkey);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_checkpoint_statuses_follow_the_spec),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
