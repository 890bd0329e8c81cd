/*
 * ll_fuzz_seeds: writes the seed corpora in tests/fuzz/corpus/ from the
 * project's own producers (ll_entry_seal, ll_note_sign, ...) with the
 * harnesses' fixed key, so that the fuzzers start from inputs that pass
 * every check and then mutate inward. Run by hand when formats change:
 *   ll-fuzz-seeds tests/fuzz/corpus
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ll_entry.h"
#include "ll_err.h"
#include "ll_fuzz.h"
#include "ll_note.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    (void)data;
    (void)size;
    return 0;
}

static const char *root;

static void put(const char *harness, const char *name, const void *data, size_t len)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", root, harness);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/%s/%s", root, harness, name);
    FILE *f = fopen(p, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f)) {
        perror(p);
        exit(1);
    }
}

static void entry_seeds(void)
{
    uint8_t nonce[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    uint8_t pub[LL_PUBKEY_LEN];
    ll_key_public(ll_fuzz_key(), pub);
    Loopledger__V1__Link l1 = LOOPLEDGER__V1__LINK__INIT, l2 = LOOPLEDGER__V1__LINK__INIT;
    l1.relation = LOOPLEDGER__V1__RELATION__SUPPORTS;
    l1.target_seq = 2;
    l2.relation = LOOPLEDGER__V1__RELATION__ADDRESSES;
    l2.target_seq = 1;
    Loopledger__V1__Link *links[] = {&l1, &l2};
    Loopledger__V1__Note note = LOOPLEDGER__V1__NOTE__INIT;
    note.text = "pilot: CTR +12%, conversion flat in home & garden";
    Loopledger__V1__EntryBody body = LOOPLEDGER__V1__ENTRY_BODY__INIT;
    body.author = "ana";
    body.initiative = "reco-engine";
    body.client_time_unix_nanos = 1795849450688469048;
    body.nonce.data = nonce;
    body.nonce.len = sizeof nonce;
    body.n_links = 2;
    body.links = links;
    body.kind_case = LOOPLEDGER__V1__ENTRY_BODY__KIND_NOTE;
    body.note = &note;
    uint8_t *env;
    size_t len;
    if (ll_entry_seal(&body, ll_fuzz_key(), &env, &len))
        exit(1);
    put("entry", "note-with-links", env, len);
    /* The same envelope inside an AppendRequest (field 1). */
    uint8_t *req = malloc(len + 8);
    size_t n = 0;
    req[n++] = 0x0a;
    for (size_t v = len; ; v >>= 7) {
        req[n++] = (uint8_t)(v & 0x7f) | (v >= 0x80 ? 0x80 : 0);
        if (v < 0x80)
            break;
    }
    memcpy(req + n, env, len);
    put("entry", "append-request", req, n + len);
    free(req);
    free(env);

    Loopledger__V1__Role roles[] = {LOOPLEDGER__V1__ROLE__ROLE_CONTRIBUTOR};
    Loopledger__V1__ActorRegistration actor = LOOPLEDGER__V1__ACTOR_REGISTRATION__INIT;
    actor.actor_id = "bob";
    actor.display_name = "Bob";
    actor.n_roles = 1;
    actor.roles = roles;
    actor.public_key.data = pub;
    actor.public_key.len = LL_PUBKEY_LEN;
    body.author = "admin";
    body.n_links = 0;
    body.kind_case = LOOPLEDGER__V1__ENTRY_BODY__KIND_ACTOR;
    body.actor = &actor;
    if (ll_entry_seal(&body, ll_fuzz_key(), &env, &len))
        exit(1);
    put("entry", "actor", env, len);
    free(env);
}

static void note_seeds(void)
{
    ll_checkpoint_t cp = {.size = 4242};
    char body[1024], note[LL_NOTE_MAX], vkey[512];
    size_t blen, nlen;
    uint8_t pub[LL_PUBKEY_LEN];
    snprintf(cp.origin, sizeof cp.origin, "%s", LL_FUZZ_ORIGIN);
    for (int i = 0; i < LL_HASH_LEN; i++)
        cp.root[i] = (uint8_t)(i * 7);
    if (ll_checkpoint_format(&cp, body, sizeof body, &blen) ||
        ll_note_sign(body, blen, LL_FUZZ_ORIGIN, ll_fuzz_key(), note, sizeof note, &nlen))
        exit(1);
    put("note", "checkpoint", note, nlen);
    put("note", "checkpoint-body", body, blen);
    memcpy(body + blen, "extension line\n", 15);
    if (ll_note_sign(body, blen + 15, LL_FUZZ_ORIGIN, ll_fuzz_key(), note, sizeof note, &nlen))
        exit(1);
    put("note", "checkpoint-extension", note, nlen);
    ll_key_public(ll_fuzz_key(), pub);
    if (ll_note_verifier_key(LL_FUZZ_ORIGIN, pub, vkey, sizeof vkey))
        exit(1);
    put("note", "verifier-key", vkey, strlen(vkey));
}

static void merkle_seeds(void)
{
    uint8_t s[9 + 24 + 64];
    for (size_t i = 0; i < sizeof s; i++)
        s[i] = (uint8_t)(i * 37 + 11);
    put("merkle", "sizes-and-proof", s, sizeof s);
    uint8_t small[9] = {0, 6, 0, 3, 0, 2, 0, 40, 0x80};
    put("merkle", "seven-leaves", small, sizeof small);
    uint8_t big[9] = {1, 43, 0, 200, 0, 77, 1, 1, 0x01};
    put("merkle", "three-hundred", big, sizeof big);
}

static void json_seeds(void)
{
    static const char *docs[][2] = {
        {"entry", "{\"author\": \"ana\", \"initiative\": \"reco-engine\",\n"
                  " \"links\": [{\"relation\": \"supports\", \"target\": 2}],\n"
                  " \"note\": \"free text \\u00e9\\ud83d\\ude00\"}\n"},
        {"actor", "{\"author\": \"admin\", \"actor\": {\"id\": \"ana\", \"name\": \"Ana\", "
                  "\"roles\": [\"contributor\"], \"public_key_file\": \"keys/ana.key.pub\"}}"},
        {"numbers", "[0, -0, 1.5e-3, -12345678901234567890, 18446744073709551615, 1E+2, true, false, null]"},
        {"nested", "{\"a\":{\"b\":[[[{\"c\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"}]]]}}"},
    };
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++)
        put("json", docs[i][0], docs[i][1], strlen(docs[i][1]));
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: ll-fuzz-seeds CORPUS_DIR\n");
        return 2;
    }
    root = argv[1];
    mkdir(root, 0755);
    entry_seeds();
    note_seeds();
    merkle_seeds();
    json_seeds();
    return 0;
}
