/*
 * The closed loop's rules, indexes and queries (ll_loop, ll_query) and the
 * drift detector (ll_drift), through the real ledger: each rule has an
 * accepting and a rejecting case, and every refusal leaves the log as it
 * was.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../support/ll_testutil.h"
#include "ll_drift.h"
#include "ll_entry.h"
#include "ll_err.h"
#include "ll_ledger.h"
#include "ll_loop.h"
#include "ll_query.h"
#include "ll_initiative.h"
#include "ll_lineage.h"

#define KIND(x) LOOPLEDGER__V1__ENTRY_BODY__KIND_##x
#define REL(x) LOOPLEDGER__V1__RELATION__##x

typedef struct fx {
    char dir[64];
    ll_store_t *st;
    ll_ledger_t *lg;
    ll_key_t *note_key, *actor_key, *admin;
} fx_t;

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    uint8_t pub[LL_PUBKEY_LEN];
    ll_append_result_t r;
    ll_test_tmpdir(f->dir);
    assert_int_equal(ll_key_generate(&f->note_key), LL_OK);
    assert_int_equal(ll_key_generate(&f->actor_key), LL_OK);
    assert_int_equal(ll_key_generate(&f->admin), LL_OK);
    assert_int_equal(ll_store_open(f->dir, NULL, &f->st), LL_OK);
    ll_ledger_config_t c = {.note_key = f->note_key, .actor_key = f->actor_key,
                            .origin = "test.example/loop"};
    assert_int_equal(ll_ledger_open(f->st, &c, &f->lg), LL_OK);
    ll_key_public(f->admin, pub);
    assert_int_equal(ll_ledger_genesis(f->lg, "admin", pub, &r), LL_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    ll_ledger_close(f->lg);
    ll_store_close(f->st);
    ll_key_free(f->note_key);
    ll_key_free(f->actor_key);
    ll_key_free(f->admin);
    ll_test_rmdir(f->dir);
    free(f);
    return 0;
}

typedef struct lk {
    int rel;
    uint64_t target;
} lk_t;

/* Appends an entry of kind with body msg (a pointer to the kind's message;
 * the oneof members are all pointers sharing one union slot). */
static ll_append_result_t add_signed(fx_t *f, const ll_key_t *key, const char *author,
                                     const char *ini, int kind, void *msg, const lk_t *links,
                                     size_t nlinks)
{
    static uint64_t counter;
    uint64_t nonce = ++counter;
    Loopledger__V1__Link l[8], *lp[8];
    Loopledger__V1__EntryBody b = LOOPLEDGER__V1__ENTRY_BODY__INIT;
    ll_append_result_t r;
    uint8_t *env;
    size_t len;
    assert_true(nlinks <= 8);
    for (size_t i = 0; i < nlinks; i++) {
        loopledger__v1__link__init(&l[i]);
        l[i].relation = (Loopledger__V1__Relation)links[i].rel;
        l[i].target_seq = links[i].target;
        lp[i] = &l[i];
    }
    b.author = (char *)author;
    b.initiative = (char *)ini;
    b.nonce.data = (uint8_t *)&nonce;
    b.nonce.len = sizeof nonce;
    b.n_links = nlinks;
    b.links = lp;
    b.kind_case = (Loopledger__V1__EntryBody__KindCase)kind;
    b.note = msg;
    assert_int_equal(ll_entry_seal(&b, key, &env, &len), LL_OK);
    ll_ledger_append(f->lg, env, len, &r);
    free(env);
    return r;
}

static ll_append_result_t add(fx_t *f, const char *ini, int kind, void *msg, const lk_t *links,
                              size_t nlinks)
{
    return add_signed(f, f->admin, "admin", ini, kind, msg, links, nlinks);
}

/* Appends and returns the sequence number, failing the test on refusal. */
#define OK(expr)                                                                   \
    ({                                                                             \
        ll_append_result_t r_ = (expr);                                            \
        if (r_.err)                                                                \
            fail_msg("refused: %s: %s", ll_strerror(r_.err), r_.msg);              \
        r_.seq;                                                                    \
    })

/* Expects a refusal with code whose message contains needle, and no write. */
static void refused(fx_t *f, ll_append_result_t r, int code, const char *needle)
{
    uint64_t before = ll_store_committed_size(f->st);
    if (r.err != code)
        fail_msg("expected %s, got %s: %s", ll_strerror(code), ll_strerror(r.err), r.msg);
    if (!strstr(r.msg, needle))
        fail_msg("message \"%s\" lacks \"%s\"", r.msg, needle);
    assert_int_equal(ll_store_committed_size(f->st), before);
}

#define LINKS(...) ((const lk_t[]){__VA_ARGS__}), (sizeof((const lk_t[]){__VA_ARGS__}) / sizeof(lk_t))

/* ---- builders with the minimum valid fields ---- */

static Loopledger__V1__Initiative charter_msg(const char *title)
{
    Loopledger__V1__Initiative x = LOOPLEDGER__V1__INITIATIVE__INIT;
    x.title = (char *)title;
    x.application = LOOPLEDGER__V1__APPLICATION__APPLICATION_RECOMMENDATION;
    x.phase = LOOPLEDGER__V1__PHASE__PHASE_PILOT;
    return x;
}

static uint64_t charter(fx_t *f, const char *ini)
{
    Loopledger__V1__Initiative x = charter_msg("Recommendation engine");
    return OK(add(f, ini, KIND(CHARTER), &x, NULL, 0));
}

static uint64_t hypothesis(fx_t *f, const char *ini, const lk_t *links, size_t n)
{
    Loopledger__V1__Hypothesis x = LOOPLEDGER__V1__HYPOTHESIS__INIT;
    x.statement = "product page content is insufficient";
    return OK(add(f, ini, KIND(HYPOTHESIS), &x, links, n));
}

static Loopledger__V1__Arm control = {PROTOBUF_C_MESSAGE_INIT(&loopledger__v1__arm__descriptor),
                                      "control", "current pages", 50};
static Loopledger__V1__Arm variant = {PROTOBUF_C_MESSAGE_INIT(&loopledger__v1__arm__descriptor),
                                      "ai-content", "AI-enhanced pages", 50};

static Loopledger__V1__Experiment experiment_msg(void)
{
    static Loopledger__V1__Arm *variants[] = {&variant};
    Loopledger__V1__Experiment x = LOOPLEDGER__V1__EXPERIMENT__INIT;
    x.title = "content A/B";
    x.primary_metric = "conversion";
    x.control = &control;
    x.n_variants = 1;
    x.variants = variants;
    return x;
}

static Loopledger__V1__Finding finding_msg(int diagnosis)
{
    Loopledger__V1__Finding x = LOOPLEDGER__V1__FINDING__INIT;
    x.summary = "high CTR, low conversion in home & garden";
    x.evidence = LOOPLEDGER__V1__EVIDENCE__EVIDENCE_QUANTITATIVE;
    x.source = LOOPLEDGER__V1__FINDING_SOURCE__FINDING_SOURCE_DASHBOARD;
    x.diagnosis = (Loopledger__V1__Diagnosis)diagnosis;
    return x;
}

static ll_append_result_t finding(fx_t *f, const char *ini, int diagnosis, const lk_t *links,
                                  size_t n)
{
    Loopledger__V1__Finding x = finding_msg(diagnosis);
    return add(f, ini, KIND(FINDING), &x, links, n);
}

static ll_append_result_t adjustment(fx_t *f, const char *ini, const lk_t *links, size_t n)
{
    Loopledger__V1__Adjustment x = LOOPLEDGER__V1__ADJUSTMENT__INIT;
    x.category = LOOPLEDGER__V1__REFINEMENT__REFINEMENT_STRATEGIC_APPROACH;
    x.change = "prioritise AI-assisted content for those pages";
    return add(f, ini, KIND(ADJUSTMENT), &x, links, n);
}

static ll_append_result_t deployment(fx_t *f, const char *ini, double share, const lk_t *links,
                                     size_t n)
{
    Loopledger__V1__Deployment x = LOOPLEDGER__V1__DEPLOYMENT__INIT;
    x.version = "reco-v2";
    x.rollout_percent = share;
    return add(f, ini, KIND(DEPLOYMENT), &x, links, n);
}

static ll_append_result_t alert(fx_t *f, const char *ini, int diagnosis)
{
    Loopledger__V1__Alert x = LOOPLEDGER__V1__ALERT__INIT;
    x.metric = "ctr";
    x.detector = LOOPLEDGER__V1__DETECTOR__DETECTOR_ACUTE_DROP;
    x.diagnosis = (Loopledger__V1__Diagnosis)diagnosis;
    return add(f, ini, KIND(ALERT), &x, NULL, 0);
}

static ll_append_result_t decision(fx_t *f, const char *ini, int level, int outcome,
                                   const lk_t *links, size_t n)
{
    Loopledger__V1__Decision x = LOOPLEDGER__V1__DECISION__INIT;
    x.level = (Loopledger__V1__HitlLevel)level;
    x.outcome = (Loopledger__V1__Outcome)outcome;
    x.rationale = "reviewed";
    return add(f, ini, KIND(DECISION), &x, links, n);
}

#define APPROVED LOOPLEDGER__V1__OUTCOME__OUTCOME_APPROVED
#define REJECTED LOOPLEDGER__V1__OUTCOME__OUTCOME_REJECTED
#define EXCEPTION LOOPLEDGER__V1__HITL_LEVEL__HITL_LEVEL_EXCEPTION_HANDLING
#define REVIEW_APPROVAL LOOPLEDGER__V1__HITL_LEVEL__HITL_LEVEL_REVIEW_AND_APPROVAL
#define CONTENT_GAP LOOPLEDGER__V1__DIAGNOSIS__DIAGNOSIS_CONTENT_GAP

/* ---- rules ---- */

static void test_domain_entries_need_a_chartered_initiative(void **state)
{
    fx_t *f = *state;
    Loopledger__V1__Hypothesis h = LOOPLEDGER__V1__HYPOTHESIS__INIT;
    h.statement = "x";
    refused(f, add(f, "reco", KIND(HYPOTHESIS), &h, NULL, 0), LL_ERR_PRECONDITION, "no charter");
    refused(f, add(f, "", KIND(HYPOTHESIS), &h, NULL, 0), LL_ERR_INVALID, "initiative");
    charter(f, "reco");
    OK(add(f, "reco", KIND(HYPOTHESIS), &h, NULL, 0));
}

static void test_stateless_field_checks_are_invalid_argument(void **state)
{
    fx_t *f = *state;
    charter(f, "reco");
    Loopledger__V1__Experiment e = experiment_msg();
    e.control = NULL;
    refused(f, add(f, "reco", KIND(EXPERIMENT), &e, NULL, 0), LL_ERR_INVALID, "control");
    refused(f, deployment(f, "reco", 150, NULL, 0), LL_ERR_INVALID, "rollout_percent");
    Loopledger__V1__Finding fi = finding_msg(0);
    fi.source = LOOPLEDGER__V1__FINDING_SOURCE__FINDING_SOURCE_USER_SURVEY;
    refused(f, add(f, "reco", KIND(FINDING), &fi, NULL, 0), LL_ERR_INVALID, "qualitative");
    refused(f, decision(f, "reco", REVIEW_APPROVAL, APPROVED, NULL, 0), LL_ERR_INVALID,
            "DECIDE");
    Loopledger__V1__Initiative c = charter_msg("t");
    c.phase = 0;
    refused(f, add(f, "reco", KIND(CHARTER), &c, NULL, 0), LL_ERR_INVALID, "phase");
}

static void test_link_table_allows_and_refuses(void **state)
{
    fx_t *f = *state;
    charter(f, "reco");
    uint64_t fi = OK(finding(f, "reco", 0, NULL, 0));
    /* Hypothesis DERIVED_FROM Finding is in the table... */
    uint64_t h = hypothesis(f, "reco", LINKS({REL(DERIVED_FROM), fi}));
    /* ...an Experiment that TESTS a Finding is not. */
    Loopledger__V1__Experiment e = experiment_msg();
    refused(f, add(f, "reco", KIND(EXPERIMENT), &e, LINKS({REL(TESTS), fi})),
            LL_ERR_PRECONDITION, "may not link tests a finding");
    OK(add(f, "reco", KIND(EXPERIMENT), &e, LINKS({REL(TESTS), h})));
    /* RELATES_TO is generic within an initiative. */
    OK(finding(f, "reco", 0, LINKS({REL(RELATES_TO), h})));
    /* Actor and genesis entries are not domain targets. */
    refused(f, finding(f, "reco", 0, LINKS({REL(RELATES_TO), 0})), LL_ERR_PRECONDITION,
            "genesis");
}

static void test_links_stay_within_an_initiative_except_spawned_projects(void **state)
{
    fx_t *f = *state;
    charter(f, "reco");
    charter(f, "chatbot");
    uint64_t h = hypothesis(f, "reco", NULL, 0);
    refused(f, finding(f, "chatbot", 0, LINKS({REL(SUPPORTS), h})), LL_ERR_PRECONDITION,
            "belongs to initiative \"reco\"");
    uint64_t fi = OK(finding(f, "reco", CONTENT_GAP, NULL, 0));
    /* A roadmap project may start a new initiative from another's finding. */
    Loopledger__V1__RoadmapProject p = LOOPLEDGER__V1__ROADMAP_PROJECT__INIT;
    p.title = "identify underperforming product content across the catalog";
    p.status = LOOPLEDGER__V1__PROJECT_STATUS__PROJECT_STATUS_PROPOSED;
    p.reach = 1000;
    p.impact = 2;
    p.effort = 3;
    OK(add(f, "catalog-content", KIND(ROADMAP_PROJECT), &p, LINKS({REL(SPAWNED_BY), fi})));
    ll_loop_state_t st;
    ll_txn_t *t;
    assert_int_equal(ll_store_begin_read(f->st, &t), LL_OK);
    assert_int_equal(ll_index_state(t, "catalog-content", &st), LL_OK);
    assert_int_equal(st.entries, 1);
    /* The finding it was spawned by counts as acted on. */
    assert_int_equal(ll_index_state(t, "reco", &st), LL_OK);
    assert_int_equal(st.open[LL_OPEN_FINDING_UNACTED], 0);
    ll_store_abort(t);
    /* But the new initiative needs a charter for other kinds. */
    Loopledger__V1__Hypothesis hx = LOOPLEDGER__V1__HYPOTHESIS__INIT;
    hx.statement = "y";
    refused(f, add(f, "catalog-content", KIND(HYPOTHESIS), &hx, NULL, 0), LL_ERR_PRECONDITION,
            "no charter");
}

static void test_adjustment_must_address_a_diagnosis(void **state)
{
    fx_t *f = *state;
    charter(f, "reco");
    uint64_t undiagnosed = OK(finding(f, "reco", 0, NULL, 0));
    refused(f, adjustment(f, "reco", LINKS({REL(ADDRESSES), undiagnosed})), LL_ERR_PRECONDITION,
            "diagnose before prescribing");
    refused(f, adjustment(f, "reco", NULL, 0), LL_ERR_PRECONDITION,
            "diagnose before prescribing");
    uint64_t diagnosed = OK(finding(f, "reco", CONTENT_GAP, NULL, 0));
    OK(adjustment(f, "reco", LINKS({REL(ADDRESSES), diagnosed})));

    /* An alert: refused until a finding diagnoses it. */
    uint64_t a = OK(alert(f, "reco", 0));
    refused(f, adjustment(f, "reco", LINKS({REL(ADDRESSES), a})), LL_ERR_PRECONDITION,
            "diagnose before prescribing");
    refused(f, finding(f, "reco", 0, LINKS({REL(DIAGNOSES), a})), LL_ERR_INVALID,
            "must state its diagnosis");
    OK(finding(f, "reco", LOOPLEDGER__V1__DIAGNOSIS__DIAGNOSIS_DATA_PATTERN_SHIFT,
               LINKS({REL(DIAGNOSES), a})));
    OK(adjustment(f, "reco", LINKS({REL(ADDRESSES), a})));
    /* An alert that knows its cause needs no finding. */
    uint64_t a2 = OK(alert(f, "reco", LOOPLEDGER__V1__DIAGNOSIS__DIAGNOSIS_INFRASTRUCTURE));
    OK(adjustment(f, "reco", LINKS({REL(ADDRESSES), a2})));
}

static void test_widening_rollout_needs_a_controlled_experiment_or_exception(void **state)
{
    fx_t *f = *state;
    charter(f, "reco");
    refused(f, deployment(f, "reco", 25, NULL, 0), LL_ERR_PRECONDITION,
            "tested against a control");
    OK(deployment(f, "reco", 10, NULL, 0)); /* the pilot */
    OK(deployment(f, "reco", 5, NULL, 0));  /* narrowing is always allowed */
    refused(f, deployment(f, "reco", 50, NULL, 0), LL_ERR_PRECONDITION,
            "tested against a control");

    uint64_t h = hypothesis(f, "reco", NULL, 0);
    Loopledger__V1__Experiment e = experiment_msg();
    uint64_t ex = OK(add(f, "reco", KIND(EXPERIMENT), &e, LINKS({REL(TESTS), h})));
    /* A running experiment is not evidence yet. */
    refused(f, deployment(f, "reco", 50, LINKS({REL(CITES), ex})), LL_ERR_PRECONDITION,
            "concluded experiment");
    OK(finding(f, "reco", 0, LINKS({REL(CONCLUDES), ex}, {REL(SUPPORTS), h})));
    OK(deployment(f, "reco", 50, LINKS({REL(CITES), ex})));

    /* Or an approved exception-handling decision by another actor with the
     * approver role; a rejected one, or one by the deployer, is not. */
    ll_key_t *dana;
    uint8_t pub[LL_PUBKEY_LEN];
    Loopledger__V1__Role approver[] = {LOOPLEDGER__V1__ROLE__ROLE_APPROVER};
    Loopledger__V1__ActorRegistration reg = LOOPLEDGER__V1__ACTOR_REGISTRATION__INIT;
    assert_int_equal(ll_key_generate(&dana), LL_OK);
    ll_key_public(dana, pub);
    reg.actor_id = "dana";
    reg.display_name = "Dana";
    reg.n_roles = 1;
    reg.roles = approver;
    reg.public_key.data = pub;
    reg.public_key.len = LL_PUBKEY_LEN;
    OK(add(f, "", KIND(ACTOR), &reg, NULL, 0));
    Loopledger__V1__Decision dx = LOOPLEDGER__V1__DECISION__INIT;
    dx.level = EXCEPTION;
    dx.outcome = REJECTED;
    dx.rationale = "no";
    uint64_t d1 = OK(add_signed(f, dana, "dana", "reco", KIND(DECISION), &dx, LINKS({REL(DECIDES), ex})));
    refused(f, deployment(f, "reco", 100, LINKS({REL(CITES), d1})), LL_ERR_PRECONDITION,
            "exception-handling decision");
    uint64_t own = OK(decision(f, "reco", EXCEPTION, APPROVED, LINKS({REL(DECIDES), ex})));
    refused(f, deployment(f, "reco", 100, LINKS({REL(CITES), own})), LL_ERR_PRECONDITION,
            "exception-handling decision");
    dx.outcome = APPROVED;
    dx.rationale = "market test";
    uint64_t d2 = OK(add_signed(f, dana, "dana", "reco", KIND(DECISION), &dx, LINKS({REL(DECIDES), ex})));
    ll_key_free(dana);
    OK(deployment(f, "reco", 100, LINKS({REL(CITES), d2})));
}

static void test_correction_supersedes_once_and_never_deletes(void **state)
{
    fx_t *f = *state;
    charter(f, "reco");
    uint64_t fi = OK(finding(f, "reco", 0, NULL, 0));
    Loopledger__V1__Correction c = LOOPLEDGER__V1__CORRECTION__INIT;
    refused(f, add(f, "reco", KIND(CORRECTION), &c, LINKS({REL(SUPERSEDES), fi})),
            LL_ERR_INVALID, "reason");
    c.reason = "wrong segment";
    refused(f, add(f, "reco", KIND(CORRECTION), &c, NULL, 0), LL_ERR_INVALID,
            "exactly one");
    uint64_t c1 = OK(add(f, "reco", KIND(CORRECTION), &c, LINKS({REL(SUPERSEDES), fi})));
    refused(f, add(f, "reco", KIND(CORRECTION), &c, LINKS({REL(SUPERSEDES), fi})),
            LL_ERR_PRECONDITION, "already superseded");
    OK(add(f, "reco", KIND(CORRECTION), &c, LINKS({REL(SUPERSEDES), c1})));

    ll_txn_t *t;
    ll_arena_t a = LL_ARENA_INIT;
    Loopledger__V1__EntryRef *ref;
    uint64_t by;
    assert_int_equal(ll_store_begin_read(f->st, &t), LL_OK);
    assert_int_equal(ll_index_superseded_by(t, fi, &by), LL_OK);
    assert_int_equal(by, c1);
    /* Still there, marked. */
    assert_int_equal(ll_query_ref(t, &a, fi, &ref), LL_OK);
    assert_true(ref->superseded);
    assert_int_equal(ref->superseded_by, c1);
    assert_string_equal(ref->summary, "high CTR, low conversion in home & garden");
    ll_arena_free(&a);
    ll_store_abort(t);
}

/* ---- queries ---- */

static Loopledger__V1__InitiativeState *state_of(fx_t *f, ll_txn_t **t, ll_arena_t *a,
                                                 const char *ini, int64_t now)
{
    Loopledger__V1__GetInitiativeRequest r = LOOPLEDGER__V1__GET_INITIATIVE_REQUEST__INIT;
    Loopledger__V1__InitiativeState *s;
    char msg[256];
    r.initiative = (char *)ini;
    assert_int_equal(ll_store_begin_read(f->st, t), LL_OK);
    int err = ll_initiative_get(*t, a, &r, now, &s, msg, sizeof msg);
    if (err)
        fail_msg("%s", msg);
    return s;
}

static void test_initiative_state_follows_the_loop(void **state)
{
    fx_t *f = *state;
    ll_txn_t *t;
    ll_arena_t a = LL_ARENA_INIT;
    charter(f, "reco");
    OK(deployment(f, "reco", 10, NULL, 0));
    uint64_t fi = OK(finding(f, "reco", CONTENT_GAP, NULL, 0));
    uint64_t h = hypothesis(f, "reco", LINKS({REL(DERIVED_FROM), fi}));
    Loopledger__V1__Experiment e = experiment_msg();
    uint64_t ex = OK(add(f, "reco", KIND(EXPERIMENT), &e, LINKS({REL(TESTS), h})));
    uint64_t al = OK(alert(f, "reco", 0));

    Loopledger__V1__InitiativeState *s = state_of(f, &t, &a, "reco", 0);
    assert_string_equal(s->title, "Recommendation engine");
    assert_int_equal(s->phase, LOOPLEDGER__V1__PHASE__PHASE_PILOT);
    assert_int_equal(s->stage, LOOPLEDGER__V1__STAGE__STAGE_MEASURE); /* the alert */
    assert_int_equal(s->cycle, 0);
    assert_int_equal(s->open_hypotheses_count, 1);
    assert_int_equal(s->open_hypotheses[0]->seq, h);
    assert_int_equal(s->running_experiments_count, 1);
    assert_int_equal(s->running_experiments[0]->seq, ex);
    assert_int_equal(s->unacted_findings_count, 0); /* a hypothesis was derived from it */
    assert_int_equal(s->undiagnosed_alerts_count, 1);
    assert_int_equal(s->undiagnosed_alerts[0]->seq, al);
    assert_int_equal(s->max_rollout_percent, 10);
    ll_arena_free(&a);
    ll_store_abort(t);

    /* Conclude, adjust, approve, redeploy: one full turn. */
    uint64_t f2 = OK(finding(f, "reco", CONTENT_GAP, LINKS({REL(CONCLUDES), ex}, {REL(SUPPORTS), h})));
    uint64_t adj = OK(adjustment(f, "reco", LINKS({REL(ADDRESSES), f2})));
    s = state_of(f, &t, &a, "reco", 0);
    assert_int_equal(s->stage, LOOPLEDGER__V1__STAGE__STAGE_ADJUST);
    assert_int_equal(s->adjustments_awaiting_approval_count, 1);
    assert_int_equal(s->running_experiments_count, 0);
    assert_int_equal(s->open_hypotheses_count, 0);
    ll_arena_free(&a);
    ll_store_abort(t);
    OK(decision(f, "reco", REVIEW_APPROVAL, APPROVED, LINKS({REL(DECIDES), adj})));
    OK(deployment(f, "reco", 50, LINKS({REL(CITES), ex}, {REL(IMPLEMENTS), adj})));
    s = state_of(f, &t, &a, "reco", 0);
    assert_int_equal(s->cycle, 1);
    assert_int_equal(s->stage, LOOPLEDGER__V1__STAGE__STAGE_REDEPLOY);
    assert_int_equal(s->adjustments_awaiting_approval_count, 0);
    assert_int_equal(s->max_rollout_percent, 50);
    ll_arena_free(&a);
    ll_store_abort(t);
}

static void test_reviews_overdue_by_cadence(void **state)
{
    fx_t *f = *state;
    ll_txn_t *t;
    ll_arena_t a = LL_ARENA_INIT;
    Loopledger__V1__Cadence cad[] = {LOOPLEDGER__V1__CADENCE__CADENCE_WEEKLY};
    Loopledger__V1__Initiative c = charter_msg("chatbot");
    c.n_review_cadences = 1;
    c.review_cadences = cad;
    OK(add(f, "bot", KIND(CHARTER), &c, NULL, 0));
    const int64_t day = 86400LL * 1000000000LL;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    Loopledger__V1__InitiativeState *s = state_of(f, &t, &a, "bot", now + 6 * day);
    assert_int_equal(s->n_overdue_reviews, 0);
    ll_arena_free(&a);
    ll_store_abort(t);
    s = state_of(f, &t, &a, "bot", now + 8 * day);
    assert_int_equal(s->n_overdue_reviews, 1);
    assert_int_equal(s->overdue_reviews[0]->cadence, LOOPLEDGER__V1__CADENCE__CADENCE_WEEKLY);
    assert_int_equal(s->overdue_reviews[0]->last_review_unix_nanos, 0);
    ll_arena_free(&a);
    ll_store_abort(t);
    Loopledger__V1__Review r = LOOPLEDGER__V1__REVIEW__INIT;
    r.cadence = LOOPLEDGER__V1__CADENCE__CADENCE_WEEKLY;
    r.notes = "weekly dashboard review";
    OK(add(f, "bot", KIND(REVIEW), &r, NULL, 0));
    s = state_of(f, &t, &a, "bot", now + 6 * day);
    assert_int_equal(s->n_overdue_reviews, 0);
    ll_arena_free(&a);
    ll_store_abort(t);
}

static void test_scaling_plan_readiness_lists_what_is_missing(void **state)
{
    fx_t *f = *state;
    ll_txn_t *t;
    ll_arena_t a = LL_ARENA_INIT;
    charter(f, "reco");
    Loopledger__V1__ChangeManagement cm = LOOPLEDGER__V1__CHANGE_MANAGEMENT__INIT;
    cm.communication = "all-hands";
    cm.training = "workshops";
    cm.champions = "merchandisers";
    cm.listening = "office hours";
    cm.phased_rollout = "10/50/100";
    Loopledger__V1__ScalingConsiderations cons = LOOPLEDGER__V1__SCALING_CONSIDERATIONS__INIT;
    cons.data_infrastructure = "feature store capacity doubled";
    cons.technical_resources = "2 ML engineers";
    cons.change_management = &cm;
    cons.system_interdependencies = "search ranking";
    Loopledger__V1__ScalingPlan p = LOOPLEDGER__V1__SCALING_PLAN__INIT;
    p.scenario = LOOPLEDGER__V1__SCALING_SCENARIO__SCALING_SCENARIO_CATEGORY_EXPANSION;
    p.from_scope = "home & garden";
    p.to_scope = "all categories";
    p.considerations = &cons;
    OK(add(f, "reco", KIND(SCALING_PLAN), &p, NULL, 0));
    Loopledger__V1__InitiativeState *s = state_of(f, &t, &a, "reco", 0);
    assert_int_equal(s->n_scaling_plans, 1);
    Loopledger__V1__ScalingReadiness *r = s->scaling_plans[0];
    assert_false(r->ready);
    assert_int_equal(r->required, 7);
    assert_int_equal(r->addressed, 4);
    assert_int_equal(r->n_missing, 3);
    assert_string_equal(r->missing[0], "budget_roi");
    assert_string_equal(r->missing[1], "phases");
    assert_string_equal(r->missing[2], "risk_mitigations");
    ll_arena_free(&a);
    ll_store_abort(t);
}

static void test_lineage_walks_back_and_forward(void **state)
{
    fx_t *f = *state;
    charter(f, "reco");
    uint64_t f1 = OK(finding(f, "reco", CONTENT_GAP, NULL, 0));
    uint64_t h = hypothesis(f, "reco", LINKS({REL(DERIVED_FROM), f1}));
    Loopledger__V1__Experiment e = experiment_msg();
    uint64_t ex = OK(add(f, "reco", KIND(EXPERIMENT), &e, LINKS({REL(TESTS), h})));
    uint64_t f2 = OK(finding(f, "reco", CONTENT_GAP, LINKS({REL(CONCLUDES), ex}, {REL(SUPPORTS), h})));
    Loopledger__V1__RoadmapProject p = LOOPLEDGER__V1__ROADMAP_PROJECT__INIT;
    p.title = "catalog content audit";
    p.status = LOOPLEDGER__V1__PROJECT_STATUS__PROJECT_STATUS_PROPOSED;
    p.effort = 2;
    uint64_t rp = OK(add(f, "catalog", KIND(ROADMAP_PROJECT), &p, LINKS({REL(SPAWNED_BY), f2})));

    ll_txn_t *t;
    ll_arena_t a = LL_ARENA_INIT;
    Loopledger__V1__Lineage *L;
    char msg[256];
    Loopledger__V1__GetLineageRequest r = LOOPLEDGER__V1__GET_LINEAGE_REQUEST__INIT;
    r.seq = rp;
    r.back_hops = 5;
    assert_int_equal(ll_store_begin_read(f->st, &t), LL_OK);
    assert_int_equal(ll_lineage_get(t, &a, &r, &L, msg, sizeof msg), LL_OK);
    /* project -> f2 -> {experiment, hypothesis} -> f1 */
    uint64_t want[] = {f1, h, ex, f2, rp};
    assert_int_equal(L->n_nodes, 5);
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(L->nodes[i]->seq, want[i]);
    assert_false(L->truncated);
    int saw_tests = 0;
    for (size_t i = 0; i < L->n_edges; i++)
        saw_tests |= L->edges[i]->source == ex && L->edges[i]->target == h &&
                     L->edges[i]->relation == REL(TESTS);
    assert_true(saw_tests);
    ll_arena_free(&a);

    /* One hop back only. */
    r.back_hops = 1;
    assert_int_equal(ll_lineage_get(t, &a, &r, &L, msg, sizeof msg), LL_OK);
    assert_int_equal(L->n_nodes, 2);
    ll_arena_free(&a);

    /* Forward from the first finding: everything that rests on it. */
    r.seq = f1;
    r.back_hops = 0;
    r.forward_hops = 5;
    assert_int_equal(ll_lineage_get(t, &a, &r, &L, msg, sizeof msg), LL_OK);
    assert_int_equal(L->n_nodes, 5);
    assert_int_equal(L->nodes[4]->seq, rp);
    ll_arena_free(&a);

    /* max_nodes truncates. */
    r.max_nodes = 3;
    assert_int_equal(ll_lineage_get(t, &a, &r, &L, msg, sizeof msg), LL_OK);
    assert_int_equal(L->n_nodes, 3);
    assert_true(L->truncated);
    ll_arena_free(&a);
    /* Truncation keeps edges between returned nodes only (a note linking
     * eight entries, two nodes allowed: one edge). */
    ll_store_abort(t);
    Loopledger__V1__Note nt = LOOPLEDGER__V1__NOTE__INIT;
    nt.text = "see also";
    lk_t many[8];
    for (int i = 0; i < 8; i++) {
        uint64_t tgt = OK(add(f, "reco", KIND(NOTE), &nt, NULL, 0));
        many[i] = (lk_t){REL(RELATES_TO), tgt};
    }
    uint64_t hub = OK(add(f, "reco", KIND(NOTE), &nt, many, 8));
    assert_int_equal(ll_store_begin_read(f->st, &t), LL_OK);
    r.seq = hub;
    r.back_hops = 1;
    r.forward_hops = 0;
    r.max_nodes = 2;
    assert_int_equal(ll_lineage_get(t, &a, &r, &L, msg, sizeof msg), LL_OK);
    assert_int_equal(L->n_nodes, 2);
    assert_int_equal(L->n_edges, 1);
    assert_true(L->truncated);
    assert_int_equal(L->edges[0]->source, hub);
    assert_int_equal(L->edges[0]->target, L->nodes[0]->seq);
    ll_arena_free(&a);
    r.max_nodes = 0;
    r.seq = 9999;
    assert_int_equal(ll_lineage_get(t, &a, &r, &L, msg, sizeof msg), LL_ERR_NOT_FOUND);
    ll_arena_free(&a);
    ll_store_abort(t);
}

static void test_open_loops_across_initiatives_and_pages(void **state)
{
    fx_t *f = *state;
    charter(f, "a");
    charter(f, "b");
    uint64_t fa = OK(finding(f, "a", 0, NULL, 0));
    uint64_t fb = OK(finding(f, "b", 0, NULL, 0));
    uint64_t hb = hypothesis(f, "b", NULL, 0);
    uint64_t al = OK(alert(f, "a", 0));

    ll_txn_t *t;
    ll_arena_t a = LL_ARENA_INIT;
    Loopledger__V1__ListOpenLoopsResponse *resp;
    char msg[256];
    Loopledger__V1__ListOpenLoopsRequest r = LOOPLEDGER__V1__LIST_OPEN_LOOPS_REQUEST__INIT;
    assert_int_equal(ll_store_begin_read(f->st, &t), LL_OK);
    assert_int_equal(ll_query_open_loops(t, &a, &r, &resp, msg, sizeof msg), LL_OK);
    assert_int_equal(resp->n_loops, 4);
    assert_int_equal(resp->loops[0]->entry->seq, fa); /* findings first, by initiative */
    assert_int_equal(resp->loops[1]->entry->seq, fb);
    assert_int_equal(resp->loops[2]->entry->seq, hb);
    assert_int_equal(resp->loops[3]->entry->seq, al);
    assert_int_equal(resp->loops[3]->kind, LOOPLEDGER__V1__OPEN_LOOP_KIND__OPEN_LOOP_ALERT_NOT_DIAGNOSED);
    ll_arena_free(&a);

    /* Pages of one, resumed by token, see the same four. */
    r.page_size = 1;
    uint64_t seen[4];
    char token[600] = "";
    for (int i = 0; i < 4; i++) {
        r.page_token = token;
        assert_int_equal(ll_query_open_loops(t, &a, &r, &resp, msg, sizeof msg), LL_OK);
        assert_int_equal(resp->n_loops, 1);
        seen[i] = resp->loops[0]->entry->seq;
        snprintf(token, sizeof token, "%s", resp->next_page_token);
        ll_arena_free(&a);
        if (i < 3)
            assert_true(token[0]);
    }
    assert_false(token[0]);
    assert_int_equal(seen[0], fa);
    assert_int_equal(seen[3], al);

    /* Filters. */
    r.page_size = 0;
    r.page_token = "";
    r.initiative = "b";
    assert_int_equal(ll_query_open_loops(t, &a, &r, &resp, msg, sizeof msg), LL_OK);
    assert_int_equal(resp->n_loops, 2);
    ll_arena_free(&a);
    r.initiative = "";
    r.kind = LOOPLEDGER__V1__OPEN_LOOP_KIND__OPEN_LOOP_HYPOTHESIS_NOT_TESTED;
    assert_int_equal(ll_query_open_loops(t, &a, &r, &resp, msg, sizeof msg), LL_OK);
    assert_int_equal(resp->n_loops, 1);
    assert_int_equal(resp->loops[0]->entry->seq, hb);
    ll_arena_free(&a);
    r.page_token = "zz";
    assert_int_equal(ll_query_open_loops(t, &a, &r, &resp, msg, sizeof msg), LL_ERR_INVALID);
    ll_arena_free(&a);
    ll_store_abort(t);

    /* Closing loops removes them. */
    Loopledger__V1__Experiment e = experiment_msg();
    OK(add(f, "b", KIND(EXPERIMENT), &e, LINKS({REL(TESTS), hb})));
    refused(f, adjustment(f, "a", LINKS({REL(ADDRESSES), al})), LL_ERR_PRECONDITION,
            "diagnose before prescribing");
    uint64_t diag = OK(finding(f, "a", CONTENT_GAP, LINKS({REL(DIAGNOSES), al})));
    r.kind = 0;
    r.page_token = "";
    assert_int_equal(ll_store_begin_read(f->st, &t), LL_OK);
    assert_int_equal(ll_query_open_loops(t, &a, &r, &resp, msg, sizeof msg), LL_OK);
    /* findings fa, diag (initiative a), fb; the new, unconcluded experiment */
    assert_int_equal(resp->n_loops, 4);
    assert_int_equal(resp->loops[1]->entry->seq, diag);
    for (size_t i = 0; i < resp->n_loops; i++) {
        assert_int_not_equal(resp->loops[i]->entry->seq, hb);
        assert_int_not_equal(resp->loops[i]->entry->seq, al);
    }
    ll_arena_free(&a);
    ll_store_abort(t);
}

static void test_list_filters_use_indexes(void **state)
{
    fx_t *f = *state;
    charter(f, "a");
    charter(f, "b");
    uint64_t fa = OK(finding(f, "a", 0, NULL, 0));
    OK(finding(f, "b", 0, NULL, 0));
    uint64_t ha = hypothesis(f, "a", NULL, 0);
    ll_txn_t *t;
    uint64_t seqs[16], next;
    size_t n;
    char msg[256];
    Loopledger__V1__ListEntriesRequest r = LOOPLEDGER__V1__LIST_ENTRIES_REQUEST__INIT;
    assert_int_equal(ll_store_begin_read(f->st, &t), LL_OK);
    uint64_t size = ll_store_size(t);
    r.initiative = "a";
    assert_int_equal(ll_query_list(t, &r, 0, size, 16, seqs, &n, &next, msg, sizeof msg), LL_OK);
    assert_int_equal(n, 3); /* charter, finding, hypothesis */
    r.kind = (Loopledger__V1__Kind)KIND(FINDING);
    assert_int_equal(ll_query_list(t, &r, 0, size, 16, seqs, &n, &next, msg, sizeof msg), LL_OK);
    assert_int_equal(n, 1);
    assert_int_equal(seqs[0], fa);
    r.initiative = "";
    assert_int_equal(ll_query_list(t, &r, 0, size, 1, seqs, &n, &next, msg, sizeof msg), LL_OK);
    assert_int_equal(n, 1);
    assert_int_equal(next, fa + 1); /* more findings follow */
    r.kind = 0;
    r.author = "loopledgerd";
    assert_int_equal(ll_query_list(t, &r, 0, size, 16, seqs, &n, &next, msg, sizeof msg), LL_OK);
    assert_int_equal(n, 1);
    assert_int_equal(seqs[0], 0);
    assert_int_equal(next, UINT64_MAX);
    /* Time range: server time increases with seq. */
    ll_entry_meta_t m;
    assert_int_equal(ll_index_meta(t, ha, &m), LL_OK);
    r.author = "";
    r.from_time_unix_nanos = m.time_ns;
    assert_int_equal(ll_query_list(t, &r, 0, size, 16, seqs, &n, &next, msg, sizeof msg), LL_OK);
    assert_int_equal(n, 1);
    assert_int_equal(seqs[0], ha);
    r.from_time_unix_nanos = 0;
    r.to_time_unix_nanos = m.time_ns;
    assert_int_equal(ll_query_list(t, &r, 0, size, 16, seqs, &n, &next, msg, sizeof msg), LL_OK);
    assert_int_equal(n, ha);
    r.to_time_unix_nanos = 0;
    r.kind = (Loopledger__V1__Kind)99;
    assert_int_equal(ll_query_list(t, &r, 0, size, 16, seqs, &n, &next, msg, sizeof msg),
                     LL_ERR_INVALID);
    ll_store_abort(t);
}

/* ---- drift ---- */

static void test_drift_detector_on_synthetic_series(void **state)
{
    (void)state;
    ll_drift_config_t c = LL_DRIFT_DEFAULTS; /* 7 baseline, 3 recent, 10% */
    double b, r;
    double stable[20], dip[20], decline[20], noisy[20];
    for (int i = 0; i < 20; i++) {
        stable[i] = 0.050;
        noisy[i] = 0.050 + (i % 2 ? 0.004 : -0.004); /* +-8%: within threshold */
        dip[i] = 0.050;
        decline[i] = i < 10 ? 0.050 : 0.040; /* -20% from point 10 on */
    }
    dip[12] = dip[13] = 0.030; /* two low points are not sustained */
    for (size_t n = 1; n <= 20; n++) {
        assert_false(ll_drift_eval(stable, n, &c, &b, &r));
        assert_false(ll_drift_eval(noisy, n, &c, &b, &r));
        assert_false(ll_drift_eval(dip, n, &c, &b, &r));
    }
    /* Fires once, on the third low point, and not again while it lasts. */
    int fired = 0;
    for (size_t n = 1; n <= 20; n++) {
        if (ll_drift_eval(decline, n, &c, &b, &r)) {
            fired++;
            assert_int_equal(n, 13);
            assert_float_equal(b, 0.050, 1e-12);
            assert_float_equal(r, 0.040, 1e-12);
        }
    }
    assert_int_equal(fired, 1);
    /* Too short to judge. */
    assert_false(ll_drift_eval(decline + 7, 6, &c, &b, &r));
}

static void test_drift_alert_is_recorded_by_the_server(void **state)
{
    fx_t *f = *state;
    ll_drift_config_t c = {4, 2, 0.10};
    ll_drift_t *d;
    charter(f, "reco");
    assert_int_equal(ll_drift_open(f->lg, f->actor_key, &c, &d), LL_OK);
    double values[] = {0.05, 0.05, 0.05, 0.05, 0.05, 0.04, 0.04, 0.04};
    uint64_t mseq[8];
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        Loopledger__V1__Observation o = LOOPLEDGER__V1__OBSERVATION__INIT;
        Loopledger__V1__Observation *op[1] = {&o};
        o.metric = "ctr";
        o.segment = "home-garden";
        o.value = values[i];
        Loopledger__V1__Measurement m = LOOPLEDGER__V1__MEASUREMENT__INIT;
        m.source = "dashboard";
        m.n_observations = 1;
        m.observations = op;
        ll_append_result_t r = add(f, "reco", KIND(MEASUREMENT), &m, NULL, 0);
        mseq[i] = OK(r);
        /* The 7th point fires: its Alert is in the same commit, right
         * after it, and its answer names it (issue 11 item 8). */
        if (i == 6) {
            assert_int_equal(r.effects.n, 1);
            assert_int_equal(r.effects.e[0].type, LL_EFFECT_ALERT_RAISED);
            assert_int_equal(r.effects.e[0].seq, mseq[6] + 1);
            assert_non_null(strstr(r.effects.e[0].text, "raised by the drift detector: ctr/home-garden"));
            assert_int_equal(ll_store_committed_size(f->st), mseq[6] + 2);
        } else {
            assert_int_equal(r.effects.n, 0);
        }
    }
    /* genesis, charter, 8 measurements, 1 alert. */
    assert_int_equal(ll_drift_alerts(d), 1);
    ll_drift_close(d);
    assert_int_equal(ll_store_committed_size(f->st), 11);

    ll_txn_t *t;
    Loopledger__V1__EntryBody *b;
    ll_entry_meta_t m;
    uint64_t seqs[4], next;
    size_t n;
    char msg[200];
    Loopledger__V1__ListEntriesRequest lr = LOOPLEDGER__V1__LIST_ENTRIES_REQUEST__INIT;
    lr.kind = (Loopledger__V1__Kind)KIND(ALERT);
    assert_int_equal(ll_store_begin_read(f->st, &t), LL_OK);
    assert_int_equal(ll_query_list(t, &lr, 0, 11, 4, seqs, &n, &next, msg, sizeof msg), LL_OK);
    assert_int_equal(n, 1);
    uint64_t last = seqs[0] - 1;
    assert_int_equal(ll_index_meta(t, last + 1, &m), LL_OK);
    assert_string_equal(m.author, LL_SERVER_ACTOR);
    assert_int_equal(m.kind, KIND(ALERT));
    assert_int_equal(ll_entry_load_body(t, last + 1, &b), LL_OK);
    assert_int_equal(b->alert->detector, LOOPLEDGER__V1__DETECTOR__DETECTOR_DRIFT);
    assert_string_equal(b->alert->metric, "ctr");
    assert_string_equal(b->alert->segment, "home-garden");
    assert_float_equal(b->alert->baseline, 0.05, 1e-12);
    assert_float_equal(b->alert->current, 0.04, 1e-12);
    assert_int_equal(b->n_links, 1);
    assert_int_equal(b->links[0]->relation, REL(DERIVED_FROM));
    assert_int_equal(b->links[0]->target_seq, mseq[6]); /* the 7th point */
    loopledger__v1__entry_body__free_unpacked(b, NULL);
    /* It is an open, undiagnosed alert of the initiative. */
    ll_loop_state_t st;
    assert_int_equal(ll_index_state(t, "reco", &st), LL_OK);
    assert_int_equal(st.open[LL_OPEN_ALERT_UNDIAGNOSED], 1);
    ll_store_abort(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_domain_entries_need_a_chartered_initiative, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stateless_field_checks_are_invalid_argument, setup, teardown),
        cmocka_unit_test_setup_teardown(test_link_table_allows_and_refuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_links_stay_within_an_initiative_except_spawned_projects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_adjustment_must_address_a_diagnosis, setup, teardown),
        cmocka_unit_test_setup_teardown(test_widening_rollout_needs_a_controlled_experiment_or_exception, setup, teardown),
        cmocka_unit_test_setup_teardown(test_correction_supersedes_once_and_never_deletes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_initiative_state_follows_the_loop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reviews_overdue_by_cadence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scaling_plan_readiness_lists_what_is_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lineage_walks_back_and_forward, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_loops_across_initiatives_and_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_filters_use_indexes, setup, teardown),
        cmocka_unit_test(test_drift_detector_on_synthetic_series),
        cmocka_unit_test_setup_teardown(test_drift_alert_is_recorded_by_the_server, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
