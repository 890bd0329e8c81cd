/*
 * Long-lived records: update_mask semantics (ll_mask) and the effective
 * record the ledger stores and serves (ll_record), through the real
 * ledger: a charter patch keeps its KPIs and cadences, a named field that
 * is absent is cleared, the merged record is checked whole, a record never
 * forks, a roadmap project ranks once with its latest status, and a policy
 * update replaces the policy it follows.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../support/ll_testledger.h"
#include "ll_arena.h"
#include "ll_check.h"
#include "ll_entry.h"
#include "ll_err.h"
#include "ll_index.h"
#include "ll_initiative.h"
#include "ll_kpi.h"
#include "ll_ledger.h"
#include "ll_mask.h"
#include "ll_record.h"
#include "ll_roadmap.h"

#define KIND(x) LOOPLEDGER__V1__ENTRY_BODY__KIND_##x
#define REL(x) LOOPLEDGER__V1__RELATION__##x
#define PHASE(x) LOOPLEDGER__V1__PHASE__PHASE_##x
#define CAD(x) LOOPLEDGER__V1__CADENCE__CADENCE_##x
#define PST(x) LOOPLEDGER__V1__PROJECT_STATUS__PROJECT_STATUS_##x
#define ST(x) LOOPLEDGER__V1__APPROVAL_STATUS__APPROVAL_STATUS_##x

/* ---- ll_mask, pure ---- */

static Loopledger__V1__Kpi kpi_a = LOOPLEDGER__V1__KPI__INIT, kpi_b = LOOPLEDGER__V1__KPI__INIT;
static Loopledger__V1__Kpi *kpis[2] = {&kpi_a, &kpi_b};
static Loopledger__V1__Cadence cads[2] = {CAD(DAILY), CAD(QUARTERLY)};

static void charter(Loopledger__V1__Initiative *c)
{
    loopledger__v1__initiative__init(c);
    kpi_a.metric = "margin";
    kpi_b.metric = "conversion";
    c->title = "Dynamic pricing";
    c->application = LOOPLEDGER__V1__APPLICATION__APPLICATION_PRICING;
    c->phase = PHASE(PILOT);
    c->scope = "electronics";
    c->n_kpis = 2;
    c->kpis = kpis;
    c->n_review_cadences = 2;
    c->review_cadences = cads;
}

static Loopledger__V1__Link follows_link = LOOPLEDGER__V1__LINK__INIT;
static Loopledger__V1__Link *follows_lp[1] = {&follows_link};

static void body(Loopledger__V1__EntryBody *b, int kind, void *part, Loopledger__V1__UpdateMask *m,
                 uint64_t follows)
{
    loopledger__v1__entry_body__init(b);
    b->author = "admin";
    b->initiative = kind >= KIND(CHARTER) && kind <= KIND(CORRECTION) ? "pricing" : "";
    b->kind_case = (Loopledger__V1__EntryBody__KindCase)kind;
    b->note = part; /* the oneof members share one pointer slot */
    b->update_mask = m;
    if (follows != UINT64_MAX) {
        follows_link.relation = REL(FOLLOWS);
        follows_link.target_seq = follows;
        b->n_links = 1;
        b->links = follows_lp;
    }
}

static void mask_refused(Loopledger__V1__EntryBody *b, const char *needle)
{
    char msg[LL_MSG_MAX] = "";
    int err = ll_mask_check(b, msg, sizeof msg);
    if (err != LL_ERR_INVALID || !strstr(msg, needle))
        fail_msg("expected INVALID with \"%s\", got %s: %s", needle, ll_strerror(err), msg);
}

static void test_mask_check_names_bad_paths_and_valid_ones(void **state)
{
    (void)state;
    Loopledger__V1__Initiative c;
    Loopledger__V1__Note note = LOOPLEDGER__V1__NOTE__INIT;
    Loopledger__V1__UpdateMask m = LOOPLEDGER__V1__UPDATE_MASK__INIT;
    Loopledger__V1__EntryBody b;
    char *bad[] = {"phase", "cadences"}, *star2[] = {"*", "phase"}, *twice[] = {"phase", "phase"};
    char msg[LL_MSG_MAX];
    charter(&c);

    m.n_paths = 2;
    m.paths = bad;
    body(&b, KIND(CHARTER), &c, &m, 3);
    mask_refused(&b, "\"cadences\" is not a field of initiative (valid paths: title, application");
    mask_refused(&b, "review_cadences");
    m.paths = star2;
    mask_refused(&b, "\"*\" (full replacement) must be the only path");
    m.paths = twice;
    mask_refused(&b, "\"phase\" is named twice");
    m.n_paths = 0;
    mask_refused(&b, "update_mask has no paths");
    m.n_paths = 1;
    m.paths = bad;
    body(&b, KIND(CHARTER), &c, &m, UINT64_MAX);
    mask_refused(&b, "a patch FOLLOWS exactly the initiative it updates");
    body(&b, KIND(NOTE), &note, &m, 3);
    mask_refused(&b, "a note entry is not a long-lived record");
    /* Valid: a patch alone skips the whole-record checks (no title). */
    c.title = "";
    body(&b, KIND(CHARTER), &c, &m, 3);
    assert_int_equal(ll_mask_check(&b, msg, sizeof msg), LL_OK);
    assert_int_equal(ll_check_body(&b, msg, sizeof msg), LL_OK);
    body(&b, KIND(CHARTER), &c, NULL, UINT64_MAX);
    assert_int_equal(ll_check_body(&b, msg, sizeof msg), LL_ERR_INVALID);
    assert_non_null(strstr(msg, "title is required"));
}

static void test_mask_apply_carries_over_clears_and_replaces(void **state)
{
    (void)state;
    Loopledger__V1__Initiative base_c, patch_c;
    Loopledger__V1__UpdateMask m = LOOPLEDGER__V1__UPDATE_MASK__INIT;
    Loopledger__V1__EntryBody base, patch, *out;
    char *paths[] = {"phase", "scope"}, *star[] = {"*"};
    charter(&base_c);
    body(&base, KIND(CHARTER), &base_c, NULL, UINT64_MAX);
    loopledger__v1__initiative__init(&patch_c);
    patch_c.phase = PHASE(SCALING);
    patch_c.title = "ignored: not in the mask";
    m.n_paths = 2;
    m.paths = paths;
    body(&patch, KIND(CHARTER), &patch_c, &m, 7);
    patch.author = "ana";

    assert_int_equal(ll_mask_apply(&base, &patch, &out), LL_OK);
    assert_int_equal(out->kind_case, KIND(CHARTER));
    assert_null(out->update_mask);
    assert_string_equal(out->author, "ana");
    assert_int_equal(out->n_links, 1);
    assert_int_equal(out->links[0]->target_seq, 7);
    assert_string_equal(out->charter->title, "Dynamic pricing");
    assert_int_equal(out->charter->phase, PHASE(SCALING));
    assert_string_equal(out->charter->scope, ""); /* named, absent: cleared */
    assert_int_equal(out->charter->n_kpis, 2);
    assert_string_equal(out->charter->kpis[1]->metric, "conversion");
    assert_int_equal(out->charter->n_review_cadences, 2);
    assert_int_equal(out->charter->review_cadences[1], CAD(QUARTERLY));
    loopledger__v1__entry_body__free_unpacked(out, NULL);

    /* A repeated field is replaced whole; an empty one clears it. */
    char *cp[] = {"review_cadences"};
    Loopledger__V1__Cadence weekly[1] = {CAD(WEEKLY)};
    m.n_paths = 1;
    m.paths = cp;
    patch_c.n_review_cadences = 1;
    patch_c.review_cadences = weekly;
    assert_int_equal(ll_mask_apply(&base, &patch, &out), LL_OK);
    assert_int_equal(out->charter->n_review_cadences, 1);
    assert_int_equal(out->charter->review_cadences[0], CAD(WEEKLY));
    assert_int_equal(out->charter->n_kpis, 2);
    loopledger__v1__entry_body__free_unpacked(out, NULL);

    m.paths = star;
    assert_int_equal(ll_mask_apply(&base, &patch, &out), LL_OK);
    assert_string_equal(out->charter->title, "ignored: not in the mask");
    assert_int_equal(out->charter->n_kpis, 0);
    assert_int_equal(out->charter->application, 0);
    loopledger__v1__entry_body__free_unpacked(out, NULL);
}

/* ---- through the ledger ---- */

/* The shared ledger fixture (genesis registers "admin"). */
typedef ll_tl_t fx_t;

typedef struct res {
    ll_append_result_t r;
    uint8_t eff[4096]; /* res.effective, packed during the callback */
    size_t eff_len;
    int has_eff;
} res_t;

typedef struct waiter {
    pthread_mutex_t m;
    pthread_cond_t c;
    int done;
    res_t *out;
} waiter_t;

static void woken(void *ctx, const ll_append_result_t *res)
{
    waiter_t *w = ctx;
    pthread_mutex_lock(&w->m);
    w->out->r = *res;
    w->out->r.effective = NULL; /* borrowed: valid only here */
    w->out->has_eff = res->effective != NULL;
    if (res->effective) {
        w->out->eff_len = loopledger__v1__entry_body__get_packed_size(res->effective);
        assert_true(w->out->eff_len <= sizeof w->out->eff);
        loopledger__v1__entry_body__pack(res->effective, w->out->eff);
    }
    w->done = 1;
    pthread_cond_signal(&w->c);
    pthread_mutex_unlock(&w->m);
}

static res_t append(fx_t *f, Loopledger__V1__EntryBody *b, unsigned flags)
{
    static uint64_t counter;
    uint64_t nonce = ++counter;
    uint8_t *env;
    size_t len;
    res_t out;
    waiter_t w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, &out};
    memset(&out, 0, sizeof out);
    b->nonce.data = (uint8_t *)&nonce;
    b->nonce.len = sizeof nonce;
    assert_int_equal(ll_entry_seal(b, f->admin, &env, &len), LL_OK);
    ll_ledger_submit_opts(f->lg, env, len, NULL, flags, woken, &w);
    pthread_mutex_lock(&w.m);
    while (!w.done)
        pthread_cond_wait(&w.c, &w.m);
    pthread_mutex_unlock(&w.m);
    free(env);
    return out;
}

static uint64_t ok(res_t r)
{
    if (r.r.err)
        fail_msg("refused: %s: %s", ll_strerror(r.r.err), r.r.msg);
    return r.r.seq;
}

static void refused(res_t r, int code, const char *needle)
{
    if (r.r.err != code || !strstr(r.r.msg, needle))
        fail_msg("expected %s with \"%s\", got %s: %s", ll_strerror(code), needle,
                 ll_strerror(r.r.err), r.r.msg);
}

static uint64_t size_of(fx_t *f)
{
    ll_txn_t *t;
    assert_int_equal(ll_store_begin_read(f->st, &t), LL_OK);
    uint64_t n = ll_store_size(t);
    ll_store_abort(t);
    return n;
}

static int setup(void **state)
{
    *state = ll_tl_new("test/record", NULL);
    return 0;
}

/* GetInitiative of "pricing" with its KPIs (as the LoopService answers),
 * live (as_of 0) or as of a size. */
static Loopledger__V1__InitiativeState *state_of(fx_t *f, ll_txn_t *t, ll_arena_t *a,
                                                 uint64_t as_of)
{
    Loopledger__V1__GetInitiativeRequest q = LOOPLEDGER__V1__GET_INITIATIVE_REQUEST__INIT;
    Loopledger__V1__InitiativeState *s = NULL;
    char msg[LL_MSG_MAX];
    (void)f;
    q.initiative = "pricing";
    q.as_of_size = as_of;
    int err = as_of ? ll_initiative_get_as_of(t, a, &q, 0, &s, msg, sizeof msg)
                    : ll_initiative_get(t, a, &q, 0, &s, msg, sizeof msg);
    if (err || (err = ll_kpi_fill(t, a, s, as_of, 0, msg, sizeof msg)))
        fail_msg("GetInitiative: %s", msg);
    return s;
}

static void test_charter_patch_keeps_kpis_and_cadences(void **state)
{
    fx_t *f = *state;
    Loopledger__V1__Initiative c, p;
    Loopledger__V1__UpdateMask m = LOOPLEDGER__V1__UPDATE_MASK__INIT;
    Loopledger__V1__EntryBody b;
    char *phase[] = {"phase"}, *title[] = {"title"};
    charter(&c);
    body(&b, KIND(CHARTER), &c, NULL, UINT64_MAX);
    uint64_t first = ok(append(f, &b, 0));

    loopledger__v1__initiative__init(&p);
    p.phase = PHASE(SCALING);
    m.n_paths = 1;
    m.paths = phase;
    body(&b, KIND(CHARTER), &p, &m, first);
    /* Validate-only answers with the record it would make, writes nothing. */
    uint64_t n0 = size_of(f);
    res_t dry = append(f, &b, LL_SUBMIT_VALIDATE_ONLY);
    ok(dry);
    assert_true(dry.has_eff);
    assert_int_equal(size_of(f), n0);
    res_t r = append(f, &b, 0);
    uint64_t patch = ok(r);
    assert_true(r.has_eff);
    Loopledger__V1__EntryBody *eff = loopledger__v1__entry_body__unpack(NULL, r.eff_len, r.eff);
    assert_non_null(eff);
    assert_int_equal(eff->charter->phase, PHASE(SCALING));
    assert_int_equal(eff->charter->n_kpis, 2);
    assert_int_equal(eff->charter->n_review_cadences, 2);
    assert_string_equal(eff->charter->title, "Dynamic pricing");
    loopledger__v1__entry_body__free_unpacked(eff, NULL);

    /* Every reader sees the merged record, live and as of each size. */
    ll_txn_t *t;
    ll_arena_t a = LL_ARENA_INIT;
    assert_int_equal(ll_store_begin_read(f->st, &t), LL_OK);
    Loopledger__V1__InitiativeState *s = state_of(f, t, &a, 0);
    assert_int_equal(s->phase, PHASE(SCALING));
    assert_string_equal(s->title, "Dynamic pricing");
    assert_int_equal(s->n_kpis, 2);
    assert_int_equal(s->charter->seq, patch);
    s = state_of(f, t, &a, patch + 1);
    assert_int_equal(s->phase, PHASE(SCALING));
    assert_int_equal(s->n_kpis, 2);
    s = state_of(f, t, &a, patch);
    assert_int_equal(s->phase, PHASE(PILOT));
    assert_int_equal(s->charter->seq, first);
    Loopledger__V1__EntryBody *rec;
    assert_int_equal(ll_record_load(t, patch, &rec, NULL, NULL), LL_OK);
    assert_int_equal(rec->charter->n_review_cadences, 2);
    loopledger__v1__entry_body__free_unpacked(rec, NULL);
    assert_int_equal(ll_record_is_patched(t, patch), 1);
    assert_int_equal(ll_record_is_patched(t, first), 0);
    uint64_t by;
    assert_int_equal(ll_record_followed_by(t, first, UINT64_MAX, &by), LL_OK);
    assert_int_equal(by, patch);
    assert_int_equal(ll_record_followed_by(t, first, patch, &by), LL_ERR_NOT_FOUND);
    ll_store_abort(t);
    ll_arena_free(&a);

    /* The merged record is checked whole: clearing the title is refused,
     * and nothing is written. */
    n0 = size_of(f);
    m.paths = title;
    body(&b, KIND(CHARTER), &p, &m, patch);
    refused(append(f, &b, 0), LL_ERR_INVALID, "title is required");
    /* A record never forks: the first charter is not the latest any more. */
    m.paths = phase;
    body(&b, KIND(CHARTER), &p, &m, first);
    refused(append(f, &b, 0), LL_ERR_PRECONDITION, "already updated by");
    assert_int_equal(size_of(f), n0);
    /* Without a mask a follow-up charter replaces the record whole. */
    charter(&c);
    c.n_kpis = 0;
    body(&b, KIND(CHARTER), &c, NULL, patch);
    uint64_t whole = ok(append(f, &b, 0));
    assert_int_equal(ll_store_begin_read(f->st, &t), LL_OK);
    s = state_of(f, t, &a, 0);
    assert_int_equal(s->charter->seq, whole);
    assert_int_equal(s->phase, PHASE(PILOT));
    assert_int_equal(s->n_kpis, 0);
    ll_store_abort(t);
    ll_arena_free(&a);
}

static uint64_t project(fx_t *f, const char *title, double reach, int status, uint64_t follows,
                        Loopledger__V1__UpdateMask *m)
{
    Loopledger__V1__RoadmapProject p = LOOPLEDGER__V1__ROADMAP_PROJECT__INIT;
    Loopledger__V1__EntryBody b;
    p.title = (char *)title;
    p.application = LOOPLEDGER__V1__APPLICATION__APPLICATION_PRICING;
    p.reach = reach;
    p.impact = 1;
    p.effort = m ? 0 : 2;
    p.status = (Loopledger__V1__ProjectStatus)status;
    body(&b, KIND(ROADMAP_PROJECT), &p, m, follows);
    return ok(append(f, &b, 0));
}

/* Ranked projects as of n (0: now): seqs and statuses into out. */
static size_t ranking(fx_t *f, uint64_t n, uint64_t seqs[], int statuses[], size_t cap)
{
    ll_txn_t *t;
    ll_arena_t a = LL_ARENA_INIT;
    Loopledger__V1__PrioritizeRequest q = LOOPLEDGER__V1__PRIORITIZE_REQUEST__INIT;
    Loopledger__V1__PrioritizeResponse *r;
    char msg[LL_MSG_MAX];
    q.as_of_size = n;
    assert_int_equal(ll_store_begin_read(f->st, &t), LL_OK);
    if (ll_roadmap_prioritize(t, &a, &q, &r, msg, sizeof msg))
        fail_msg("Prioritize: %s", msg);
    size_t k = r->n_projects < cap ? r->n_projects : cap;
    for (size_t i = 0; i < k; i++) {
        seqs[i] = r->projects[i]->project->seq;
        statuses[i] = r->projects[i]->status;
    }
    ll_store_abort(t);
    ll_arena_free(&a);
    return k;
}

static void test_project_status_update_ranks_once(void **state)
{
    fx_t *f = *state;
    Loopledger__V1__Initiative c;
    Loopledger__V1__EntryBody b;
    Loopledger__V1__UpdateMask m = LOOPLEDGER__V1__UPDATE_MASK__INIT;
    char *status[] = {"status"};
    uint64_t seqs[8];
    int sts[8];
    charter(&c);
    body(&b, KIND(CHARTER), &c, NULL, UINT64_MAX);
    ok(append(f, &b, 0));
    uint64_t p1 = project(f, "Markdown optimiser", 1000, PST(PROPOSED), UINT64_MAX, NULL);
    uint64_t other = project(f, "Bundle pricing", 10, PST(PROPOSED), UINT64_MAX, NULL);
    assert_int_equal(ranking(f, 0, seqs, sts, 8), 2);
    m.n_paths = 1;
    m.paths = status;
    uint64_t p2 = project(f, "", 0, PST(IN_PROGRESS), p1, &m);

    size_t n = ranking(f, 0, seqs, sts, 8);
    assert_int_equal(n, 2); /* once, with its latest state */
    assert_int_equal(seqs[0], p2);
    assert_int_equal(sts[0], PST(IN_PROGRESS));
    assert_int_equal(seqs[1], other);
    n = ranking(f, p2, seqs, sts, 8); /* as of before the update */
    assert_int_equal(n, 2);
    assert_int_equal(seqs[0], p1);
    assert_int_equal(sts[0], PST(PROPOSED));
    /* A second update of the old entry would fork the record. */
    Loopledger__V1__RoadmapProject p = LOOPLEDGER__V1__ROADMAP_PROJECT__INIT;
    p.status = PST(DONE);
    body(&b, KIND(ROADMAP_PROJECT), &p, &m, p1);
    refused(append(f, &b, 0), LL_ERR_PRECONDITION, "already updated by");
    /* A project follows only a project. */
    body(&b, KIND(ROADMAP_PROJECT), &p, &m, 1);
    refused(append(f, &b, 0), LL_ERR_PRECONDITION, "must FOLLOW the roadmap_project");
}

static uint64_t policy(fx_t *f, const char *name, uint32_t approvals, uint64_t follows,
                       Loopledger__V1__UpdateMask *m)
{
    Loopledger__V1__Kind kinds[1] = {LOOPLEDGER__V1__KIND__KIND_ADJUSTMENT};
    Loopledger__V1__Policy p = LOOPLEDGER__V1__POLICY__INIT;
    Loopledger__V1__EntryBody b;
    p.name = (char *)name;
    if (!m) {
        p.n_kinds = 1;
        p.kinds = kinds;
        p.level = LOOPLEDGER__V1__HITL_LEVEL__HITL_LEVEL_EXCEPTION_HANDLING;
    }
    p.approvals = approvals;
    body(&b, KIND(POLICY), &p, m, follows);
    return ok(append(f, &b, 0));
}

static void test_policy_update_replaces_the_policy_it_follows(void **state)
{
    fx_t *f = *state;
    Loopledger__V1__Initiative c;
    Loopledger__V1__EntryBody b;
    Loopledger__V1__UpdateMask m = LOOPLEDGER__V1__UPDATE_MASK__INIT;
    char *approvals[] = {"approvals"};
    charter(&c);
    body(&b, KIND(CHARTER), &c, NULL, UINT64_MAX);
    ok(append(f, &b, 0));
    uint64_t p1 = policy(f, "price changes", 2, UINT64_MAX, NULL);
    m.n_paths = 1;
    m.paths = approvals;
    uint64_t p2 = policy(f, "", 1, p1, &m);

    Loopledger__V1__Finding fi = LOOPLEDGER__V1__FINDING__INIT;
    fi.summary = "competitor undercut";
    fi.evidence = LOOPLEDGER__V1__EVIDENCE__EVIDENCE_QUANTITATIVE;
    fi.source = LOOPLEDGER__V1__FINDING_SOURCE__FINDING_SOURCE_DASHBOARD;
    fi.diagnosis = LOOPLEDGER__V1__DIAGNOSIS__DIAGNOSIS_PREFERENCE_SHIFT;
    body(&b, KIND(FINDING), &fi, NULL, UINT64_MAX);
    uint64_t fs = ok(append(f, &b, 0));
    Loopledger__V1__Adjustment adj = LOOPLEDGER__V1__ADJUSTMENT__INIT;
    Loopledger__V1__Link l = LOOPLEDGER__V1__LINK__INIT, *lp[1] = {&l};
    adj.category = LOOPLEDGER__V1__REFINEMENT__REFINEMENT_STRATEGIC_APPROACH;
    adj.change = "reprice";
    body(&b, KIND(ADJUSTMENT), &adj, NULL, UINT64_MAX);
    l.relation = REL(ADDRESSES);
    l.target_seq = fs;
    b.n_links = 1;
    b.links = lp;
    res_t r = append(f, &b, 0);
    ok(r);
    assert_int_equal(r.r.status, ST(PENDING));

    ll_txn_t *t;
    ll_hitl_t h;
    assert_int_equal(ll_store_begin_read(f->st, &t), LL_OK);
    assert_int_equal(ll_index_hitl(t, r.r.seq, &h), LL_OK);
    assert_int_equal(h.policy_seq, p2); /* the update, not the old policy */
    assert_int_equal(h.required, 1);    /* its patched field */
    Loopledger__V1__EntryBody *rec;
    assert_int_equal(ll_record_load(t, p2, &rec, NULL, NULL), LL_OK);
    assert_string_equal(rec->policy->name, "price changes");
    assert_int_equal(rec->policy->n_kinds, 1);
    loopledger__v1__entry_body__free_unpacked(rec, NULL);
    ll_store_abort(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mask_check_names_bad_paths_and_valid_ones),
        cmocka_unit_test(test_mask_apply_carries_over_clears_and_replaces),
        cmocka_unit_test_setup_teardown(test_charter_patch_keeps_kpis_and_cadences, setup,
                                        ll_tl_teardown),
        cmocka_unit_test_setup_teardown(test_project_status_update_ranks_once, setup, ll_tl_teardown),
        cmocka_unit_test_setup_teardown(test_policy_update_replaces_the_policy_it_follows, setup,
                                        ll_tl_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
