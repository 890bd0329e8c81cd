/*
 * Remembered answers (ll_memo) equal the live computation: Prioritize,
 * GetLoopHealth and ListInitiatives answered from memory are byte for byte
 * the answers computed with the memo off, at every size of a growing
 * ledger, live and as of earlier sizes (asked again after appends, when
 * they come from memory), with a fixed "now" and with the clock. Also the
 * memo's own contract: keys name the content (two ledgers of one size never
 * share an answer), its bound holds, off means live.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../support/ll_testledger.h"
#include "ll_loophealth.h"
#include "ll_memo.h"
#include "ll_portfolio.h"
#include "ll_roadmap.h"

#define KIND(x) LOOPLEDGER__V1__ENTRY_BODY__KIND_##x
#define REL(x) LOOPLEDGER__V1__RELATION__##x
#define SRC(x) LOOPLEDGER__V1__FINDING_SOURCE__FINDING_SOURCE_##x

/* The shared ledger fixture, and the last finding per initiative slot
 * (for DERIVED_FROM chains). */
typedef struct fx {
    ll_tl_t tl;
    uint64_t last_finding[8];
} fx_t;

static fx_t *open_fx(void)
{
    fx_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    ll_tl_start(&f->tl, "test.example/memo", NULL);
    return f;
}

static void close_fx(fx_t *f)
{
    ll_tl_stop(&f->tl);
    free(f);
}

static int setup(void **state)
{
    ll_memo_enable(1);
    *state = open_fx();
    return 0;
}

static int teardown(void **state)
{
    close_fx(*state);
    ll_memo_enable(1);
    return 0;
}

static uint64_t add(fx_t *f, const char *ini, int kind, void *msg, const lk_t *links,
                    size_t nlinks)
{
    ll_append_result_t r = ll_tl_add(&f->tl, f->tl.admin, "admin", ini, kind, msg, links, nlinks);
    ll_tl_appended(r);
    return r.seq;
}

static Loopledger__V1__Arm control = {PROTOBUF_C_MESSAGE_INIT(&loopledger__v1__arm__descriptor),
                                      "control", "current", 50};
static Loopledger__V1__Arm variant = {PROTOBUF_C_MESSAGE_INIT(&loopledger__v1__arm__descriptor),
                                      "new", "new ranking", 50};

static uint64_t finding(fx_t *f, const char *ini, int source, const lk_t *links, size_t n)
{
    Loopledger__V1__Finding x = LOOPLEDGER__V1__FINDING__INIT;
    x.summary = "conversion gap";
    x.source = (Loopledger__V1__FindingSource)source;
    x.evidence = source == SRC(USER_SURVEY) ? LOOPLEDGER__V1__EVIDENCE__EVIDENCE_QUALITATIVE
                                            : LOOPLEDGER__V1__EVIDENCE__EVIDENCE_QUANTITATIVE;
    x.diagnosis = LOOPLEDGER__V1__DIAGNOSIS__DIAGNOSIS_CONTENT_GAP;
    return add(f, ini, KIND(FINDING), &x, links, n);
}

/* One turn of initiative ini's loop; round r varies which loops close, so
 * acted-on shares, drift alerts, corrections, reviews and rankings all
 * change from size to size. */
static void turn(fx_t *f, const char *ini, unsigned r)
{
    uint64_t *last_finding = f->last_finding;
    unsigned slot = (unsigned)(ini[3] - '0') % 8;
    Loopledger__V1__Deployment d = LOOPLEDGER__V1__DEPLOYMENT__INIT;
    d.version = "v";
    d.rollout_percent = 10; /* widening needs a cited experiment */
    add(f, ini, KIND(DEPLOYMENT), &d, NULL, 0);
    uint64_t fi = finding(f, ini, r % 3 ? SRC(DASHBOARD) : SRC(USER_SURVEY), NULL, 0);
    if (r % 4 == 1 && last_finding[slot]) /* a finding resting on the last */
        fi = finding(f, ini, SRC(DASHBOARD), LINKS({REL(DERIVED_FROM), last_finding[slot]}));
    last_finding[slot] = fi;
    Loopledger__V1__Alert al = LOOPLEDGER__V1__ALERT__INIT;
    al.metric = "ctr";
    al.detector = LOOPLEDGER__V1__DETECTOR__DETECTOR_DRIFT;
    uint64_t alert = add(f, ini, KIND(ALERT), &al, NULL, 0);
    Loopledger__V1__Hypothesis h = LOOPLEDGER__V1__HYPOTHESIS__INIT;
    h.statement = "better ranking converts";
    uint64_t hy = add(f, ini, KIND(HYPOTHESIS), &h, LINKS({REL(DERIVED_FROM), fi}));
    static Loopledger__V1__Arm *variants[] = {&variant};
    Loopledger__V1__Experiment x = LOOPLEDGER__V1__EXPERIMENT__INIT;
    x.title = "A/B";
    x.primary_metric = "conversion_rate";
    x.control = &control;
    x.n_variants = 1;
    x.variants = variants;
    uint64_t ex = add(f, ini, KIND(EXPERIMENT), &x, LINKS({REL(TESTS), hy}));
    Loopledger__V1__Observation ob[2], *op[2] = {&ob[0], &ob[1]};
    Loopledger__V1__Measurement m = LOOPLEDGER__V1__MEASUREMENT__INIT;
    for (int i = 0; i < 2; i++) {
        loopledger__v1__observation__init(&ob[i]);
        ob[i].metric = "conversion_rate";
        ob[i].arm = i ? "new" : "control";
        ob[i].unit = "ratio";
        ob[i].value = i ? 0.05 + 0.002 * (r % 5) : 0.05;
        ob[i].sample_size = 2000 + 500 * r;
    }
    m.n_observations = 2;
    m.observations = op;
    add(f, ini, KIND(MEASUREMENT), &m, LINKS({REL(MEASURES), ex}));
    uint64_t concl = finding(f, ini, SRC(AB_TEST), LINKS({REL(CONCLUDES), ex}, {REL(SUPPORTS), hy}));
    if (r % 2) {
        Loopledger__V1__Adjustment adj = LOOPLEDGER__V1__ADJUSTMENT__INIT;
        adj.category = LOOPLEDGER__V1__REFINEMENT__REFINEMENT_ALGORITHM;
        adj.change = "retrain";
        add(f, ini, KIND(ADJUSTMENT), &adj, LINKS({REL(ADDRESSES), fi}));
    }
    if (r % 3 == 2) {
        Loopledger__V1__Finding fd = LOOPLEDGER__V1__FINDING__INIT;
        fd.summary = "seasonal";
        fd.evidence = LOOPLEDGER__V1__EVIDENCE__EVIDENCE_QUANTITATIVE;
        fd.source = SRC(MONITORING);
        fd.diagnosis = LOOPLEDGER__V1__DIAGNOSIS__DIAGNOSIS_PREFERENCE_SHIFT;
        add(f, ini, KIND(FINDING), &fd, LINKS({REL(DIAGNOSES), alert}));
    }
    Loopledger__V1__RoadmapProject p = LOOPLEDGER__V1__ROADMAP_PROJECT__INIT;
    p.title = "next";
    p.application = LOOPLEDGER__V1__APPLICATION__APPLICATION_CONTENT;
    p.status = LOOPLEDGER__V1__PROJECT_STATUS__PROJECT_STATUS_PROPOSED;
    p.reach = 100 + r;
    p.impact = 1 + r % 3;
    p.effort = 1 + r % 2;
    add(f, ini, KIND(ROADMAP_PROJECT), &p, LINKS({REL(SPAWNED_BY), r % 2 ? concl : fi}));
    if (r % 4 == 3) { /* history corrected, never rewritten */
        Loopledger__V1__Correction c = LOOPLEDGER__V1__CORRECTION__INIT;
        c.reason = "wrong segment";
        add(f, ini, KIND(CORRECTION), &c, LINKS({REL(SUPERSEDES), concl}));
    }
    Loopledger__V1__Review rv = LOOPLEDGER__V1__REVIEW__INIT;
    rv.cadence = r % 2 ? LOOPLEDGER__V1__CADENCE__CADENCE_WEEKLY : LOOPLEDGER__V1__CADENCE__CADENCE_DAILY;
    rv.notes = "review";
    add(f, ini, KIND(REVIEW), &rv, NULL, 0);
}

static void charter(fx_t *f, const char *ini)
{
    static Loopledger__V1__Cadence cad[] = {LOOPLEDGER__V1__CADENCE__CADENCE_DAILY,
                                            LOOPLEDGER__V1__CADENCE__CADENCE_WEEKLY,
                                            LOOPLEDGER__V1__CADENCE__CADENCE_POST_CAMPAIGN};
    Loopledger__V1__Initiative x = LOOPLEDGER__V1__INITIATIVE__INIT;
    x.title = (char *)ini;
    x.application = LOOPLEDGER__V1__APPLICATION__APPLICATION_RECOMMENDATION;
    x.phase = LOOPLEDGER__V1__PHASE__PHASE_PILOT;
    x.review_cadences = cad;
    x.n_review_cadences = 3;
    add(f, ini, KIND(CHARTER), &x, NULL, 0);
}

/* ---- the three queries, packed ---- */

typedef enum { Q_PRIORITIZE, Q_PRIORITIZE_INI, Q_PRIORITIZE_PAGE2, Q_HEALTH, Q_PORTFOLIO } query_t;
#define NQ 5

/* The packed answer of query q as of size as_of (0 = live) with "now"
 * now (0 = the clock, for the queries that have one); *len its length. */
static uint8_t *ask(fx_t *f, query_t q, uint64_t as_of, int64_t now, size_t *len)
{
    ll_txn_t *t;
    ll_arena_t a = LL_ARENA_INIT;
    ProtobufCMessage *out = NULL;
    char msg[300] = "";
    int err = LL_OK;
    const int64_t clock = 1700000000000000000LL;
    assert_int_equal(ll_store_begin_read(f->tl.st, &t), LL_OK);
    switch (q) {
    case Q_PRIORITIZE:
    case Q_PRIORITIZE_INI:
    case Q_PRIORITIZE_PAGE2: {
        Loopledger__V1__PrioritizeRequest r = LOOPLEDGER__V1__PRIORITIZE_REQUEST__INIT;
        Loopledger__V1__PrioritizeResponse *p;
        r.as_of_size = as_of;
        if (q == Q_PRIORITIZE_INI)
            r.initiative = "ini1";
        if (q == Q_PRIORITIZE_PAGE2) { /* the second page, or the only one */
            r.page_size = 2;
            err = ll_roadmap_prioritize(t, &a, &r, &p, msg, sizeof msg);
            if (!err && p->next_page_token[0]) {
                r.page_token = p->next_page_token;
                err = ll_roadmap_prioritize(t, &a, &r, &p, msg, sizeof msg);
            }
        } else {
            err = ll_roadmap_prioritize(t, &a, &r, &p, msg, sizeof msg);
        }
        out = err ? NULL : &p->base;
        break;
    }
    case Q_HEALTH: {
        Loopledger__V1__GetLoopHealthRequest r = LOOPLEDGER__V1__GET_LOOP_HEALTH_REQUEST__INIT;
        Loopledger__V1__GetLoopHealthResponse *h;
        r.as_of_size = as_of;
        r.now_unix_nanos = now;
        err = ll_loophealth_query(t, &a, &r, clock, &h, msg, sizeof msg);
        out = err ? NULL : &h->base;
        break;
    }
    case Q_PORTFOLIO: {
        Loopledger__V1__ListInitiativesRequest r = LOOPLEDGER__V1__LIST_INITIATIVES_REQUEST__INIT;
        Loopledger__V1__ListInitiativesResponse *l;
        r.now_unix_nanos = now;
        r.kpi_window = 5;
        err = ll_portfolio_list(t, &a, &r, clock, &l, msg, sizeof msg);
        out = err ? NULL : &l->base;
        break;
    }
    }
    if (err)
        fail_msg("query %d as of %llu: %s (%s)", q, (unsigned long long)as_of, ll_strerror(err), msg);
    assert_non_null(out);
    *len = protobuf_c_message_get_packed_size(out);
    uint8_t *b = malloc(*len ? *len : 1);
    assert_non_null(b);
    protobuf_c_message_pack(out, b);
    ll_arena_free(&a);
    ll_store_abort(t);
    return b;
}

/* Query q with the memo off (live) and on, twice (a stored answer the
 * second time at the latest): the three are equal byte for byte. Returns
 * how many of the two remembered answers were lookups that hit. */
static uint64_t same_as_live(fx_t *f, query_t q, uint64_t as_of, int64_t now)
{
    size_t l0, l1, l2;
    uint64_t h0, h1, m;
    ll_memo_enable(0);
    uint8_t *live = ask(f, q, as_of, now, &l0);
    ll_memo_enable(1);
    ll_memo_counts(&h0, &m);
    uint8_t *first = ask(f, q, as_of, now, &l1);
    uint8_t *second = ask(f, q, as_of, now, &l2);
    ll_memo_counts(&h1, &m);
    if (l0 != l1 || memcmp(live, first, l0) || l0 != l2 || memcmp(live, second, l0))
        fail_msg("query %d as of %llu (now %lld): remembered answer differs from the live one "
                 "(%zu, %zu, %zu bytes)",
                 q, (unsigned long long)as_of, (long long)now, l0, l1, l2);
    assert_true(h1 > h0); /* the second at least came from memory */
    free(live);
    free(first);
    free(second);
    return h1 - h0;
}

static void test_remembered_answers_equal_live_at_every_size(void **state)
{
    fx_t *f = *state;
    uint64_t sizes[64];
    size_t ns = 0;
    const int64_t now = 1800000000000000000LL; /* a fixed "now", years later */

    charter(f, "ini1");
    charter(f, "ini2");
    for (unsigned r = 0; r < 8; r++) {
        turn(f, "ini1", r);
        if (r % 2)
            turn(f, "ini2", r);
        if (r == 3)
            charter(f, "ini3"); /* starts later: absent as of earlier sizes */
        if (r >= 3)
            turn(f, "ini3", r);
        uint64_t size = ll_store_committed_size(f->tl.st);
        assert_true(ns < 64);
        sizes[ns++] = size;
        /* Live, with the clock and with a fixed now. */
        for (int q = 0; q < NQ; q++) {
            same_as_live(f, (query_t)q, 0, 0);
            same_as_live(f, (query_t)q, 0, now);
        }
        /* As of every earlier size (and a few sizes between), after the
         * ledger grew: those were remembered and must still be right. */
        for (size_t i = 0; i < ns; i++)
            for (uint64_t n = sizes[i] > 3 ? sizes[i] - 3 : 1; n <= sizes[i]; n++)
                for (int q = 0; q < NQ; q++)
                    if (q != Q_PORTFOLIO) /* ListInitiatives has no as-of */
                        same_as_live(f, (query_t)q, n, q == Q_HEALTH ? now : 0);
    }
    /* Sizes remembered in the first round are found again now: asking as
     * of the first size hits for both lookups. */
    ll_memo_enable(1);
    assert_int_equal(same_as_live(f, Q_PRIORITIZE, sizes[0], 0), 2);
    assert_int_equal(same_as_live(f, Q_HEALTH, sizes[0], now), 2 * 2); /* 2 initiatives */
}

static void test_two_ledgers_of_one_size_never_share_an_answer(void **state)
{
    fx_t *f = *state, *g = open_fx();
    size_t lf, lg;
    charter(f, "ini1");
    charter(g, "ini1");
    turn(f, "ini1", 1);
    turn(g, "ini1", 2); /* other figures, same number of entries */
    assert_int_equal(ll_store_committed_size(f->tl.st), ll_store_committed_size(g->tl.st));
    uint8_t *a = ask(f, Q_PRIORITIZE, 0, 0, &lf);
    uint8_t *b = ask(g, Q_PRIORITIZE, 0, 0, &lg);
    assert_true(lf != lg || memcmp(a, b, lf));
    same_as_live(f, Q_PRIORITIZE, 0, 0);
    same_as_live(g, Q_PRIORITIZE, 0, 0);
    same_as_live(f, Q_HEALTH, 0, 0);
    same_as_live(g, Q_HEALTH, 0, 0);
    free(a);
    free(b);
    close_fx(g);
}

static void test_memo_contract(void **state)
{
    fx_t *f = *state;
    ll_txn_t *t;
    ll_memo_key_t k, k2;
    uint8_t *v;
    size_t vlen;
    char big[LL_MEMO_KEY_MAX + 1];
    charter(f, "ini1");
    assert_int_equal(ll_store_begin_read(f->tl.st, &t), LL_OK);
    uint64_t n = ll_store_size(t);
    assert_int_equal(ll_memo_key(t, n + 1, "x", "q", 1, &k), LL_ERR_RANGE);
    assert_int_equal(ll_memo_key(t, n, "a-name-too-long!", "q", 1, &k), LL_ERR_INVALID);
    memset(big, 'q', sizeof big);
    assert_int_equal(ll_memo_key(t, n, "x", big, sizeof big, &k), LL_ERR_INVALID);
    assert_int_equal(ll_memo_key(t, n, "x", "q", 1, &k), LL_OK);
    assert_int_equal(ll_memo_key(t, n - 1, "x", "q", 1, &k2), LL_OK);
    assert_int_equal(ll_memo_get(&k, &v, &vlen), LL_ERR_NOT_FOUND);
    ll_memo_put(&k, "answer", 6);
    assert_int_equal(ll_memo_get(&k2, &v, &vlen), LL_ERR_NOT_FOUND); /* another size */
    assert_int_equal(ll_memo_get(&k, &v, &vlen), LL_OK);
    assert_int_equal(vlen, 6);
    assert_memory_equal(v, "answer", 6);
    free(v);
    /* Off: misses and stores nothing, but keeps what it has. */
    ll_memo_enable(0);
    assert_int_equal(ll_memo_get(&k, &v, &vlen), LL_ERR_NOT_FOUND);
    ll_memo_put(&k2, "other", 5);
    ll_memo_enable(1);
    assert_int_equal(ll_memo_get(&k2, &v, &vlen), LL_ERR_NOT_FOUND);
    assert_int_equal(ll_memo_get(&k, &v, &vlen), LL_OK);
    free(v);
    /* Bounded: after more than LL_MEMO_MAX_ENTRIES other answers the
     * oldest is gone, the newest is there. */
    for (unsigned i = 0; i <= LL_MEMO_MAX_ENTRIES; i++) {
        char q[16];
        snprintf(q, sizeof q, "%u", i);
        assert_int_equal(ll_memo_key(t, n, "fill", q, strlen(q), &k2), LL_OK);
        ll_memo_put(&k2, q, strlen(q));
    }
    assert_int_equal(ll_memo_get(&k, &v, &vlen), LL_ERR_NOT_FOUND);
    assert_int_equal(ll_memo_get(&k2, &v, &vlen), LL_OK);
    free(v);
    ll_store_abort(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_remembered_answers_equal_live_at_every_size, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_two_ledgers_of_one_size_never_share_an_answer, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_memo_contract, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
