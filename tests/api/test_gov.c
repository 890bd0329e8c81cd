/*
 * Governance: the authorization matrix (ll_authz) and, through the real
 * ledger, key revocation and rotation and HITL policies (ll_gov): pending
 * until enough distinct approvers, never self-approved, rejected for good.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../support/ll_testledger.h"
#include "ll_asof.h"
#include "ll_authz.h"
#include "ll_entry.h"
#include "ll_err.h"
#include "ll_gov.h"
#include "ll_ledger.h"
#include "ll_loop.h"
#include "ll_trust.h"
#include "ll_govquery.h"
#include "ll_initiative.h"
#include "ll_derive.h"

#define KIND(x) LOOPLEDGER__V1__ENTRY_BODY__KIND_##x
#define ROLE(x) LL_ROLE_BIT(LOOPLEDGER__V1__ROLE__ROLE_##x)
#define ST(x) LOOPLEDGER__V1__APPROVAL_STATUS__APPROVAL_STATUS_##x

static void test_matrix_roles_by_kind_and_rpc(void **state)
{
    (void)state;
    assert_false(ll_authz_may_author(ROLE(AUDITOR), KIND(NOTE)));
    assert_false(ll_authz_may_author(ROLE(CONTRIBUTOR), KIND(DECISION)));
    assert_true(ll_authz_may_author(ROLE(APPROVER), KIND(DECISION)));
    assert_false(ll_authz_may_author(ROLE(APPROVER), KIND(HYPOTHESIS)));
    assert_true(ll_authz_may_author(ROLE(SERVICE), KIND(MEASUREMENT)));
    assert_false(ll_authz_may_author(ROLE(SERVICE), KIND(FINDING)));
    assert_true(ll_authz_may_author(ROLE(ADMIN), KIND(POLICY)));
    assert_false(ll_authz_may_author(ROLE(CONTRIBUTOR), KIND(POLICY)));
    assert_false(ll_authz_may_author(0xffffffffu, KIND(GENESIS)));

    assert_int_equal(ll_authz_rpc_class("/loopledger.v1.LedgerService/Append"), LL_RPC_WRITE);
    assert_int_equal(ll_authz_rpc_class("/loopledger.v1.GovernanceService/ExportAudit"),
                     LL_RPC_AUDIT);
    assert_int_equal(ll_authz_rpc_class("/grpc.health.v1.Health/Check"), LL_RPC_PUBLIC);
    assert_int_equal(ll_authz_rpc_class("/loopledger.v1.LoopService/GetLineage"), LL_RPC_READ);
    assert_true(ll_authz_may_call(ROLE(AUDITOR), LL_RPC_READ));
    assert_true(ll_authz_may_call(ROLE(AUDITOR), LL_RPC_AUDIT));
    assert_false(ll_authz_may_call(ROLE(AUDITOR), LL_RPC_WRITE));
    assert_false(ll_authz_may_call(ROLE(CONTRIBUTOR), LL_RPC_AUDIT));
    assert_false(ll_authz_may_call(0, LL_RPC_READ));
    assert_true(ll_authz_may_call(0, LL_RPC_PUBLIC));
}

typedef struct fx {
    ll_tl_t tl;
    ll_key_t *ana, *paula, *quinn, *ana2;
    unsigned flags; /* LL_SUBMIT_* for the next appends */
} fx_t;

typedef struct waiter {
    pthread_mutex_t m;
    pthread_cond_t c;
    int done;
    ll_append_result_t r;
} waiter_t;

static void woken(void *ctx, const ll_append_result_t *res)
{
    waiter_t *w = ctx;
    pthread_mutex_lock(&w->m);
    w->r = *res;
    w->done = 1;
    pthread_cond_signal(&w->c);
    pthread_mutex_unlock(&w->m);
}

/* ll_ledger_append with submit flags. */
static void append_opts(fx_t *f, const uint8_t *env, size_t len, ll_append_result_t *r)
{
    waiter_t w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, {0}};
    ll_ledger_submit_opts(f->tl.lg, env, len, NULL, f->flags, woken, &w);
    pthread_mutex_lock(&w.m);
    while (!w.done)
        pthread_cond_wait(&w.c, &w.m);
    pthread_mutex_unlock(&w.m);
    *r = w.r;
}

/* Seals and appends (with f->flags) an entry with one link (rel 0: none);
 * the domain kinds name the pricing initiative. */
static ll_append_result_t add(fx_t *f, const ll_key_t *key, const char *author, int kind,
                              void *msg, int rel, uint64_t target)
{
    lk_t link = {rel, target};
    ll_append_result_t r;
    size_t len;
    const char *ini = kind >= KIND(CHARTER) && kind <= KIND(CORRECTION) ? "pricing" : "";
    uint8_t *env = ll_tl_seal(key, author, ini, kind, msg, &link, rel ? 1 : 0, &len);
    append_opts(f, env, len, &r);
    free(env);
    return r;
}

static uint64_t ok(ll_append_result_t r)
{
    if (r.err)
        fail_msg("refused: %s: %s", ll_strerror(r.err), r.msg);
    return r.seq;
}

static void refused(ll_append_result_t r, int code, const char *needle)
{
    if (r.err != code || !strstr(r.msg, needle))
        fail_msg("expected %s with \"%s\", got %s: %s", ll_strerror(code), needle,
                 ll_strerror(r.err), r.msg);
}

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    ll_key_t **keys[] = {&f->ana, &f->paula, &f->quinn, &f->ana2};
    ll_tl_start(&f->tl, "test/gov", NULL);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        assert_int_equal(ll_key_generate(keys[i]), LL_OK);
    ll_tl_register(&f->tl, "ana", f->ana, LOOPLEDGER__V1__ROLE__ROLE_CONTRIBUTOR, 0);
    ll_tl_register(&f->tl, "paula", f->paula, LOOPLEDGER__V1__ROLE__ROLE_APPROVER, 0);
    ll_tl_register(&f->tl, "quinn", f->quinn, LOOPLEDGER__V1__ROLE__ROLE_CONTRIBUTOR,
                   LOOPLEDGER__V1__ROLE__ROLE_APPROVER);
    Loopledger__V1__Initiative ch = LOOPLEDGER__V1__INITIATIVE__INIT;
    ch.title = "Dynamic pricing";
    ch.application = LOOPLEDGER__V1__APPLICATION__APPLICATION_PRICING;
    ch.phase = LOOPLEDGER__V1__PHASE__PHASE_PILOT;
    ok(add(f, f->tl.admin, "admin", KIND(CHARTER), &ch, 0, 0));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    ll_tl_stop(&f->tl);
    ll_key_free(f->ana);
    ll_key_free(f->paula);
    ll_key_free(f->quinn);
    ll_key_free(f->ana2);
    free(f);
    return 0;
}

static uint64_t finding(fx_t *f, const ll_key_t *k, const char *author)
{
    Loopledger__V1__Finding x = LOOPLEDGER__V1__FINDING__INIT;
    x.summary = "competitor undercut";
    x.evidence = LOOPLEDGER__V1__EVIDENCE__EVIDENCE_QUANTITATIVE;
    x.source = LOOPLEDGER__V1__FINDING_SOURCE__FINDING_SOURCE_DASHBOARD;
    x.diagnosis = LOOPLEDGER__V1__DIAGNOSIS__DIAGNOSIS_PREFERENCE_SHIFT;
    return ok(add(f, k, author, KIND(FINDING), &x, 0, 0));
}

static ll_append_result_t adjustment(fx_t *f, const ll_key_t *k, const char *author,
                                     double magnitude, uint64_t fi)
{
    Loopledger__V1__Adjustment x = LOOPLEDGER__V1__ADJUSTMENT__INIT;
    x.category = LOOPLEDGER__V1__REFINEMENT__REFINEMENT_STRATEGIC_APPROACH;
    x.change = "reprice";
    x.magnitude_percent = magnitude;
    return add(f, k, author, KIND(ADJUSTMENT), &x, LOOPLEDGER__V1__RELATION__ADDRESSES, fi);
}

static ll_append_result_t decide(fx_t *f, const ll_key_t *k, const char *author, int level,
                                 int outcome, uint64_t target)
{
    Loopledger__V1__Decision x = LOOPLEDGER__V1__DECISION__INIT;
    x.level = (Loopledger__V1__HitlLevel)level;
    x.outcome = (Loopledger__V1__Outcome)outcome;
    x.rationale = "r";
    return add(f, k, author, KIND(DECISION), &x, LOOPLEDGER__V1__RELATION__DECIDES, target);
}

static uint32_t status(fx_t *f, uint64_t seq)
{
    ll_txn_t *t;
    assert_int_equal(ll_store_begin_read(f->tl.st, &t), LL_OK);
    uint32_t s = ll_index_status(t, seq);
    ll_store_abort(t);
    return s;
}

/* Adjustments of the pricing initiative awaiting approval. */
static uint64_t awaiting(fx_t *f)
{
    ll_txn_t *t;
    ll_loop_state_t st;
    assert_int_equal(ll_store_begin_read(f->tl.st, &t), LL_OK);
    assert_int_equal(ll_index_state(t, "pricing", &st), LL_OK);
    ll_store_abort(t);
    return st.open[LL_OPEN_ADJUSTMENT_AWAITING];
}

#define EXC LOOPLEDGER__V1__HITL_LEVEL__HITL_LEVEL_EXCEPTION_HANDLING
#define REV LOOPLEDGER__V1__HITL_LEVEL__HITL_LEVEL_REVIEW_AND_APPROVAL
#define APPROVED LOOPLEDGER__V1__OUTCOME__OUTCOME_APPROVED
#define REJECTED LOOPLEDGER__V1__OUTCOME__OUTCOME_REJECTED

static void test_policy_pending_until_two_distinct_approvers(void **state)
{
    fx_t *f = *state;
    Loopledger__V1__Kind kinds[] = {LOOPLEDGER__V1__KIND__KIND_ADJUSTMENT};
    Loopledger__V1__Policy p = LOOPLEDGER__V1__POLICY__INIT;
    p.name = "price changes above 5%";
    p.n_kinds = 1;
    p.kinds = kinds;
    p.application = LOOPLEDGER__V1__APPLICATION__APPLICATION_PRICING;
    p.threshold_field = "magnitude_percent";
    p.threshold = 5;
    p.level = EXC;
    p.approvals = 2;
    refused(add(f, f->ana, "ana", KIND(POLICY), &p, 0, 0), LL_ERR_PERMISSION, "may not write policy");
    ok(add(f, f->tl.admin, "admin", KIND(POLICY), &p, 0, 0));

    uint64_t fi = finding(f, f->ana, "ana");
    uint64_t small = ok(adjustment(f, f->ana, "ana", 3, fi));
    uint64_t big = ok(adjustment(f, f->ana, "ana", 8, fi));
    assert_int_equal(status(f, small), ST(EFFECTIVE));
    assert_int_equal(status(f, big), ST(PENDING));
    /* A cut is a change too; a NaN size is no size at all. */
    assert_int_equal(status(f, ok(adjustment(f, f->ana, "ana", -40, fi))), ST(PENDING));
    refused(adjustment(f, f->ana, "ana", NAN, fi), LL_ERR_INVALID, "finite");
    /* Re-chartering cannot move the initiative out of the policy. */
    Loopledger__V1__Initiative ch = LOOPLEDGER__V1__INITIATIVE__INIT;
    ch.title = "not pricing any more";
    ch.application = LOOPLEDGER__V1__APPLICATION__APPLICATION_OTHER;
    ch.phase = LOOPLEDGER__V1__PHASE__PHASE_SCALING;
    refused(add(f, f->ana, "ana", KIND(CHARTER), &ch, 0, 0), LL_ERR_PRECONDITION,
            "application is fixed");
    /* A policy must name levels the contract knows. */
    Loopledger__V1__Policy bad = p;
    bad.level = (Loopledger__V1__HitlLevel)99;
    refused(add(f, f->tl.admin, "admin", KIND(POLICY), &bad, 0, 0), LL_ERR_INVALID, "level");

    refused(decide(f, f->paula, "paula", REV, APPROVED, big), LL_ERR_PRECONDITION, "requires a decision of level");
    ok(decide(f, f->paula, "paula", EXC, APPROVED, big));
    /* A second decision by the same actor is refused, so each decision in
     * the log is a distinct actor's (issue 11 item 2). */
    refused(decide(f, f->paula, "paula", EXC, APPROVED, big), LL_ERR_EXISTS, "already decided");
    assert_int_equal(status(f, big), ST(PENDING));
    /* Awaiting approval means held by a policy: big and the cut; small is
     * in effect (no policy covers it), so it awaits nothing (item 3). */
    assert_int_equal(awaiting(f), 2);
    uint64_t before = ll_store_committed_size(f->tl.st);
    ok(decide(f, f->quinn, "quinn", EXC, APPROVED, big));
    assert_int_equal(status(f, big), ST(EFFECTIVE));
    assert_int_equal(awaiting(f), 1);
    /* As of before the second approval it was pending, and still awaited;
     * as of now the replay agrees with the live state. */
    ll_txn_t *t;
    ll_loop_state_t past, now;
    assert_int_equal(ll_store_begin_read(f->tl.st, &t), LL_OK);
    assert_int_equal(ll_gov_status_as_of(t, big, before), ST(PENDING));
    assert_int_equal(ll_gov_status_as_of(t, big, ll_store_size(t)), ST(EFFECTIVE));
    assert_int_equal(ll_initiative_state_as_of(t, "pricing", before, &past), LL_OK);
    assert_int_equal(ll_initiative_state_as_of(t, "pricing", ll_store_size(t), &now), LL_OK);
    assert_int_equal(past.open[LL_OPEN_ADJUSTMENT_AWAITING], 2);
    assert_int_equal(now.open[LL_OPEN_ADJUSTMENT_AWAITING], 1);
    ll_store_abort(t);

    /* Self-approval, and rejection for good. */
    uint64_t own = ok(adjustment(f, f->quinn, "quinn", 9, fi));
    refused(decide(f, f->quinn, "quinn", EXC, APPROVED, own), LL_ERR_PERMISSION, "own entry");
    ok(decide(f, f->paula, "paula", EXC, REJECTED, own));
    assert_int_equal(status(f, own), ST(REJECTED));
    refused(decide(f, f->tl.admin, "admin", EXC, APPROVED, own), LL_ERR_PERMISSION, "approver role");
}

static ll_append_result_t deploy(fx_t *f, double share, int rel, uint64_t target)
{
    Loopledger__V1__Deployment x = LOOPLEDGER__V1__DEPLOYMENT__INIT;
    x.version = "pricing-v2";
    x.rollout_percent = share;
    return add(f, f->ana, "ana", KIND(DEPLOYMENT), &x, rel, target);
}

static ll_loop_state_t state_at(fx_t *f, uint64_t n)
{
    ll_txn_t *t;
    ll_loop_state_t st;
    assert_int_equal(ll_store_begin_read(f->tl.st, &t), LL_OK);
    if (n)
        assert_int_equal(ll_initiative_state_as_of(t, "pricing", n, &st), LL_OK);
    else
        assert_int_equal(ll_index_state(t, "pricing", &st), LL_OK);
    ll_store_abort(t);
    return st;
}

/* Live and replayed state agree on what counts (stage, cycle, rollout,
 * open loops) at every size from..size. */
static void replay_agrees(fx_t *f, uint64_t from)
{
    ll_loop_state_t live = state_at(f, 0), past;
    past = state_at(f, ll_store_committed_size(f->tl.st));
    assert_int_equal(past.stage, live.stage);
    assert_int_equal(past.stage_seq, live.stage_seq);
    assert_int_equal(past.cycle, live.cycle);
    assert_true(past.max_rollout == live.max_rollout);
    assert_memory_equal(past.open, live.open, sizeof past.open);
    for (uint64_t n = from; n < ll_store_committed_size(f->tl.st); n++)
        (void)state_at(f, n);
}

/* Issue 11 item 1: an entry that acts on a governed entry not yet in
 * effect is refused, naming what is missing; nothing is written; pending
 * and rejected entries never move the stage or the cycle. */
static void test_governed_entries_gate_what_acts_on_them(void **state)
{
    fx_t *f = *state;
    Loopledger__V1__Kind kinds[] = {LOOPLEDGER__V1__KIND__KIND_ADJUSTMENT};
    Loopledger__V1__Policy p = LOOPLEDGER__V1__POLICY__INIT;
    p.name = "price changes above 5%";
    p.n_kinds = 1;
    p.kinds = kinds;
    p.threshold_field = "magnitude_percent";
    p.threshold = 5;
    p.level = EXC;
    p.approvals = 2;
    uint64_t pol = ok(add(f, f->tl.admin, "admin", KIND(POLICY), &p, 0, 0));
    uint64_t fi = finding(f, f->ana, "ana");
    uint64_t from = ll_store_committed_size(f->tl.st);
    ok(deploy(f, 10, 0, 0)); /* the pilot */
    ll_loop_state_t before = state_at(f, 0);
    assert_int_equal(before.stage, LOOPLEDGER__V1__STAGE__STAGE_DEPLOY);

    uint64_t big = ok(adjustment(f, f->ana, "ana", 8, fi));
    uint64_t rej = ok(adjustment(f, f->ana, "ana", 12, fi));
    /* Pending: in the log, but the loop did not move to "adjust". */
    ll_loop_state_t st = state_at(f, 0);
    assert_int_equal(st.stage, LOOPLEDGER__V1__STAGE__STAGE_DEPLOY);
    assert_int_equal(st.stage_seq, before.stage_seq);

    uint64_t size = ll_store_committed_size(f->tl.st);
    char want[160];
    snprintf(want, sizeof want, "#%llu needs 2 more approvals at exception_handling (policy #%llu)",
             (unsigned long long)big, (unsigned long long)pol);
    refused(deploy(f, 10, LOOPLEDGER__V1__RELATION__IMPLEMENTS, big), LL_ERR_PRECONDITION, want);
    assert_int_equal(ll_store_committed_size(f->tl.st), size);
    ok(decide(f, f->paula, "paula", EXC, APPROVED, big));
    snprintf(want, sizeof want, "#%llu needs 1 more approval at exception_handling",
             (unsigned long long)big);
    refused(deploy(f, 10, LOOPLEDGER__V1__RELATION__IMPLEMENTS, big), LL_ERR_PRECONDITION, want);

    ok(decide(f, f->paula, "paula", EXC, REJECTED, rej));
    snprintf(want, sizeof want, "#%llu was rejected by paula", (unsigned long long)rej);
    refused(deploy(f, 10, LOOPLEDGER__V1__RELATION__IMPLEMENTS, rej), LL_ERR_PRECONDITION, want);
    st = state_at(f, 0);
    assert_int_equal(st.stage, LOOPLEDGER__V1__STAGE__STAGE_DEPLOY); /* rejected: never */
    assert_int_equal(st.cycle, 0);
    assert_int_equal(ll_store_committed_size(f->tl.st), size + 2);
    replay_agrees(f, from);

    /* Approved: it takes effect at the approving decision, and the
     * deployment implementing it completes a turn of the loop. */
    uint64_t eff = ok(decide(f, f->quinn, "quinn", EXC, APPROVED, big));
    (void)eff;
    st = state_at(f, 0);
    assert_int_equal(st.stage, LOOPLEDGER__V1__STAGE__STAGE_ADJUST);
    assert_int_equal(st.stage_seq, big);
    replay_agrees(f, from);
    ok(deploy(f, 10, LOOPLEDGER__V1__RELATION__IMPLEMENTS, big));
    st = state_at(f, 0);
    assert_int_equal(st.stage, LOOPLEDGER__V1__STAGE__STAGE_REDEPLOY);
    assert_int_equal(st.cycle, 1);
    replay_agrees(f, from);
    /* A decision of the pilot size as of before the approval: still in
     * "deploy", cycle 0. */
    ll_loop_state_t past = state_at(f, eff);
    assert_int_equal(past.stage, LOOPLEDGER__V1__STAGE__STAGE_DEPLOY);
    assert_int_equal(past.cycle, 0);

    /* A superseded pending entry awaits nothing: its correction stands in
     * for it, in the pending list and the open loops alike (item 4). */
    uint64_t late = ok(adjustment(f, f->ana, "ana", 20, fi));
    assert_int_equal(awaiting(f), 1);
    Loopledger__V1__Correction c = LOOPLEDGER__V1__CORRECTION__INIT;
    c.reason = "wrong SKU list";
    ok(add(f, f->ana, "ana", KIND(CORRECTION), &c, LOOPLEDGER__V1__RELATION__SUPERSEDES, late));
    assert_int_equal(awaiting(f), 0);
    assert_int_equal(status(f, late), ST(PENDING)); /* its own status stays */
    {
        ll_txn_t *t;
        ll_arena_t a = LL_ARENA_INIT;
        Loopledger__V1__PendingApprovalsRequest r = LOOPLEDGER__V1__PENDING_APPROVALS_REQUEST__INIT;
        Loopledger__V1__PendingApprovalsResponse *resp;
        char msg[256];
        r.initiative = "pricing";
        assert_int_equal(ll_store_begin_read(f->tl.st, &t), LL_OK);
        assert_int_equal(ll_govquery_pending(t, &a, &r, &resp, msg, sizeof msg), LL_OK);
        assert_int_equal(resp->n_pending, 0);
        ll_arena_free(&a);
        ll_store_abort(t);
    }
    replay_agrees(f, from);
}

typedef struct digest_ctx {
    uint8_t *buf;
    size_t len, cap;
} digest_ctx_t;

static int digest_cb(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    digest_ctx_t *d = ctx;
    size_t need = d->len + klen + vlen + 16;
    if (need > d->cap) {
        d->cap = need * 2;
        d->buf = realloc(d->buf, d->cap);
        assert_non_null(d->buf);
    }
    memcpy(d->buf + d->len, &klen, sizeof klen);
    memcpy(d->buf + d->len + 8, key, klen);
    memcpy(d->buf + d->len + 8 + klen, &vlen, sizeof vlen);
    memcpy(d->buf + d->len + 16 + klen, val, vlen);
    d->len = need;
    return 0;
}

/* SHA-256 over every record of every table, the tree size and root: equal
 * digests mean nothing was written. */
static void digest(fx_t *f, uint8_t out[LL_HASH_LEN])
{
    ll_txn_t *t;
    digest_ctx_t d = {0};
    uint64_t size = ll_store_committed_size(f->tl.st);
    uint8_t root[LL_HASH_LEN];
    assert_int_equal(ll_store_begin_read(f->tl.st, &t), LL_OK);
    for (int tbl = 0; tbl < LL_TBL__COUNT; tbl++)
        assert_int_equal(ll_store_scan(t, (enum ll_table)tbl, "", 0, NULL, 0, 0, digest_cb, &d),
                         LL_OK);
    assert_int_equal(ll_store_size(t), size);
    assert_int_equal(ll_store_root(t, size, root), LL_OK);
    ll_store_abort(t);
    digest_cb(&d, (const uint8_t *)&size, sizeof size, root, sizeof root);
    ll_sha256(d.buf, d.len, out);
    free(d.buf);
}

static void assert_digest(fx_t *f, const uint8_t want[LL_HASH_LEN], const char *what)
{
    uint8_t now[LL_HASH_LEN];
    digest(f, now);
    if (memcmp(now, want, LL_HASH_LEN))
        fail_msg("a validate-only append wrote something (%s)", what);
}

/* Issue 11 items 8-9: a validate-only append runs every check (signature,
 * authorisation, loop rules, policies, decisions), answers what a real
 * append would (seq, status, effects), and leaves every table as it was;
 * real appends name what they caused. */
static void test_validate_only_writes_nothing_and_effects_say_what_happened(void **state)
{
    fx_t *f = *state;
    uint8_t d0[LL_HASH_LEN];
    Loopledger__V1__Kind kinds[] = {LOOPLEDGER__V1__KIND__KIND_ADJUSTMENT};
    Loopledger__V1__Policy p = LOOPLEDGER__V1__POLICY__INIT;
    p.name = "price changes above 5%";
    p.n_kinds = 1;
    p.kinds = kinds;
    p.threshold_field = "magnitude_percent";
    p.threshold = 5;
    p.level = EXC;
    p.approvals = 2;
    uint64_t pol = ok(add(f, f->tl.admin, "admin", KIND(POLICY), &p, 0, 0));
    uint64_t fi = finding(f, f->ana, "ana");
    uint64_t size = ll_store_committed_size(f->tl.st);

    f->flags = LL_SUBMIT_VALIDATE_ONLY;
    digest(f, d0);
    ll_append_result_t r = adjustment(f, f->ana, "ana", 8, fi);
    assert_int_equal(r.err, LL_OK);
    assert_true(r.validate_only);
    assert_int_equal(r.seq, size);
    assert_int_equal(r.status, ST(PENDING));
    assert_int_equal(r.effects.n, 1);
    assert_int_equal(r.effects.e[0].type, LL_EFFECT_PENDING);
    assert_int_equal(r.effects.e[0].seq, size);
    assert_int_equal(r.effects.e[0].policy_seq, pol);
    assert_int_equal(r.effects.e[0].required, 2);
    char want[LL_EFFECT_TEXT];
    snprintf(want, sizeof want, "#%llu is pending under policy #%llu: needs 2 approvals at exception_handling",
             (unsigned long long)size, (unsigned long long)pol);
    assert_string_equal(r.effects.e[0].text, want);
    assert_digest(f, d0, "pending adjustment");
    /* Refusals are the real ones, and write nothing either. */
    refused(adjustment(f, f->ana, "quinn", 8, fi), LL_ERR_UNAUTHENTICATED, "not to author");
    refused(decide(f, f->ana, "ana", EXC, APPROVED, fi), LL_ERR_PERMISSION, "may not write decision");
    refused(adjustment(f, f->ana, "ana", 8, 1), LL_ERR_PRECONDITION, "may not link");
    assert_digest(f, d0, "refusals");

    f->flags = 0;
    r = adjustment(f, f->ana, "ana", 8, fi);
    uint64_t big = ok(r);
    assert_int_equal(big, size); /* the seq the dry run announced */
    assert_false(r.validate_only);
    assert_int_equal(r.effects.n, 1);
    assert_int_equal(r.effects.e[0].type, LL_EFFECT_PENDING);

    /* A validate-only approval says what it would do, and does not count. */
    f->flags = LL_SUBMIT_VALIDATE_ONLY;
    digest(f, d0);
    r = decide(f, f->paula, "paula", EXC, APPROVED, big);
    assert_int_equal(r.err, LL_OK);
    assert_int_equal(r.effects.n, 1);
    assert_int_equal(r.effects.e[0].type, LL_EFFECT_APPROVAL_RECORDED);
    assert_int_equal(r.effects.e[0].approvals, 1);
    assert_digest(f, d0, "approval");
    assert_int_equal(status(f, big), ST(PENDING));
    refused(decide(f, f->ana, "ana", EXC, APPROVED, big), LL_ERR_PERMISSION, "may not write decision");
    assert_digest(f, d0, "own approval");

    f->flags = 0;
    r = decide(f, f->paula, "paula", EXC, APPROVED, big);
    ok(r);
    assert_int_equal(r.effects.n, 1);
    assert_int_equal(r.effects.e[0].type, LL_EFFECT_APPROVAL_RECORDED);
    assert_int_equal(r.effects.e[0].seq, big);
    assert_int_equal(r.effects.e[0].approvals, 1);
    assert_int_equal(r.effects.e[0].required, 2);
    r = decide(f, f->quinn, "quinn", EXC, APPROVED, big);
    ok(r);
    assert_int_equal(r.status, ST(EFFECTIVE)); /* the decision itself */
    assert_int_equal(r.effects.n, 1);
    assert_int_equal(r.effects.e[0].type, LL_EFFECT_BECAME_EFFECTIVE);
    assert_int_equal(r.effects.e[0].seq, big);
    assert_int_equal(status(f, big), ST(EFFECTIVE));
    uint64_t other = ok(adjustment(f, f->ana, "ana", 9, fi));
    r = decide(f, f->paula, "paula", EXC, REJECTED, other);
    ok(r);
    assert_int_equal(r.effects.n, 1);
    assert_int_equal(r.effects.e[0].type, LL_EFFECT_REJECTED);
    assert_int_equal(r.effects.e[0].seq, other);
    /* A plain entry causes nothing. */
    r = adjustment(f, f->ana, "ana", 2, fi);
    ok(r);
    assert_int_equal(r.effects.n, 0);
    assert_int_equal(r.status, ST(EFFECTIVE));
}

static void test_revoked_key_signs_nothing_and_rotation_replaces_it(void **state)
{
    fx_t *f = *state;
    uint8_t pub[LL_PUBKEY_LEN], kid[LL_HASH_LEN];
    char hex[LL_KEYID_HEX_LEN + 1];
    uint64_t before = finding(f, f->ana, "ana");
    ll_key_public(f->ana, pub);
    ll_sha256(pub, LL_PUBKEY_LEN, kid);
    ll_hex_encode(kid, LL_HASH_LEN, hex);

    Loopledger__V1__Revocation rv = LOOPLEDGER__V1__REVOCATION__INIT;
    rv.actor_id = "ana";
    rv.keyid = hex;
    rv.reason = "lost";
    refused(add(f, f->paula, "paula", KIND(REVOCATION), &rv, 0, 0), LL_ERR_PERMISSION, "may not write");
    ok(add(f, f->tl.admin, "admin", KIND(REVOCATION), &rv, 0, 0));
    Loopledger__V1__RoleGrant rg = LOOPLEDGER__V1__ROLE_GRANT__INIT;
    rg.actor_id = "ana";
    refused(add(f, f->tl.admin, "admin", KIND(ROLE_GRANT), &rg, 0, 0), LL_ERR_INVALID,
            "at least one role");
    /* The last admin cannot demote itself (nor be demoted). */
    Loopledger__V1__Role contributor[] = {LOOPLEDGER__V1__ROLE__ROLE_CONTRIBUTOR};
    rg.actor_id = "admin";
    rg.n_roles = 1;
    rg.roles = contributor;
    refused(add(f, f->tl.admin, "admin", KIND(ROLE_GRANT), &rg, 0, 0), LL_ERR_PRECONDITION,
            "last admin");
    Loopledger__V1__Finding x = LOOPLEDGER__V1__FINDING__INIT;
    x.summary = "s";
    x.evidence = LOOPLEDGER__V1__EVIDENCE__EVIDENCE_QUALITATIVE;
    x.source = LOOPLEDGER__V1__FINDING_SOURCE__FINDING_SOURCE_USER_SURVEY;
    refused(add(f, f->ana, "ana", KIND(FINDING), &x, 0, 0), LL_ERR_UNAUTHENTICATED, "revoked");
    refused(add(f, f->tl.admin, "admin", KIND(REVOCATION), &rv, 0, 0), LL_ERR_PRECONDITION,
            "already revoked");

    uint8_t pub2[LL_PUBKEY_LEN];
    ll_key_public(f->ana2, pub2);
    Loopledger__V1__KeyRotation kr = LOOPLEDGER__V1__KEY_ROTATION__INIT;
    kr.actor_id = "ana";
    kr.new_public_key.data = pub2;
    kr.new_public_key.len = LL_PUBKEY_LEN;
    uint64_t rot = ok(add(f, f->tl.admin, "admin", KIND(KEY_ROTATION), &kr, 0, 0));
    uint64_t after = ok(add(f, f->ana2, "ana", KIND(FINDING), &x, 0, 0));

    /* The chain of authority: each entry names the entry that registered
     * its key; the revoked key's older entry stays attributable. */
    ll_txn_t *t;
    uint64_t ks;
    int64_t revoked;
    assert_int_equal(ll_store_begin_read(f->tl.st, &t), LL_OK);
    assert_int_equal(ll_trust_signer_key_seq(t, after, &ks), LL_OK);
    assert_int_equal(ks, rot);
    assert_int_equal(ll_trust_signer_key_seq(t, before, &ks), LL_OK);
    assert_int_equal(ks, 1); /* ana's registration, after the genesis */
    assert_int_equal(ll_trust_key_info(t, kid, &ks, &revoked), LL_OK);
    assert_true(revoked > 0);
    ll_store_abort(t);
}

/* Holds the writer in its commit hook, so that what is submitted meanwhile
 * is applied as one batch when the gate opens. */
typedef struct gate {
    pthread_mutex_t m;
    pthread_cond_t c;
    int entered, open;
} gate_t;

static void gate_hook(void *ctx, uint64_t size)
{
    (void)size;
    gate_t *g = ctx;
    pthread_mutex_lock(&g->m);
    g->entered = 1;
    pthread_cond_broadcast(&g->c);
    while (!g->open)
        pthread_cond_wait(&g->c, &g->m);
    pthread_mutex_unlock(&g->m);
}

static void wait_result(waiter_t *w)
{
    pthread_mutex_lock(&w->m);
    while (!w->done)
        pthread_cond_wait(&w->c, &w->m);
    pthread_mutex_unlock(&w->m);
}

static uint8_t *seal_finding(fx_t *f, const char *summary, size_t *len)
{
    Loopledger__V1__Finding x = LOOPLEDGER__V1__FINDING__INIT;
    x.summary = (char *)summary;
    x.evidence = LOOPLEDGER__V1__EVIDENCE__EVIDENCE_QUANTITATIVE;
    x.source = LOOPLEDGER__V1__FINDING_SOURCE__FINDING_SOURCE_DASHBOARD;
    return ll_tl_seal(f->ana, "ana", "pricing", KIND(FINDING), &x, NULL, 0, len);
}

/* One entry refused half-way through a group commit (its link indexes
 * written, then the one-decision-per-actor rule refuses it) leaves no trace
 * and sinks none of the entries batched with it: duplicates, validate-only
 * appends and good entries on the same tables all get their own answers,
 * and the stored indexes are exactly what the leaves derive. */
static void test_refused_entry_in_a_batch_leaves_no_trace_and_sinks_nothing(void **state)
{
    fx_t *f = *state;
    uint64_t fi = finding(f, f->ana, "ana");
    ok(decide(f, f->paula, "paula", EXC, APPROVED, fi));
    gate_t g = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
    assert_int_equal(ll_ledger_add_commit_hook(f->tl.lg, gate_hook, &g), LL_OK);

    enum { TRIGGER, GOOD1, REFUSED, GOOD2, DUP, VALIDATE, GOOD3, N };
    size_t len[N];
    uint8_t *env[N];
    lk_t dec = {LOOPLEDGER__V1__RELATION__DECIDES, fi};
    Loopledger__V1__Decision d = LOOPLEDGER__V1__DECISION__INIT;
    d.level = EXC;
    d.outcome = APPROVED;
    d.rationale = "r";
    env[TRIGGER] = seal_finding(f, "trigger", &len[TRIGGER]);
    env[GOOD1] = seal_finding(f, "one", &len[GOOD1]);
    env[REFUSED] = ll_tl_seal(f->paula, "paula", "pricing", KIND(DECISION), &d, &dec, 1,
                              &len[REFUSED]);
    env[GOOD2] = seal_finding(f, "two", &len[GOOD2]);
    env[DUP] = malloc(len[GOOD1]);
    memcpy(env[DUP], env[GOOD1], len[GOOD1]);
    len[DUP] = len[GOOD1];
    env[VALIDATE] = seal_finding(f, "just checking", &len[VALIDATE]);
    env[GOOD3] = ll_tl_seal(f->quinn, "quinn", "pricing", KIND(DECISION), &d, &dec, 1,
                            &len[GOOD3]);

    waiter_t w[N];
    for (int i = 0; i < N; i++)
        w[i] = (waiter_t){PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, {0}};
    ll_hist_snap_t b0, b1, c;
    ll_ledger_metrics(f->tl.lg, &b0, &c);
    /* The writer commits the trigger and stops in the hook ... */
    ll_ledger_submit_opts(f->tl.lg, env[TRIGGER], len[TRIGGER], NULL, 0, woken, &w[TRIGGER]);
    pthread_mutex_lock(&g.m);
    while (!g.entered)
        pthread_cond_wait(&g.c, &g.m);
    pthread_mutex_unlock(&g.m);
    /* ... while the rest queues up, to be taken as one batch. */
    for (int i = GOOD1; i < N; i++)
        ll_ledger_submit_opts(f->tl.lg, env[i], len[i], NULL,
                              i == VALIDATE ? LL_SUBMIT_VALIDATE_ONLY : 0, woken, &w[i]);
    pthread_mutex_lock(&g.m);
    g.open = 1;
    pthread_cond_broadcast(&g.c);
    pthread_mutex_unlock(&g.m);
    for (int i = 0; i < N; i++)
        wait_result(&w[i]);
    ll_ledger_remove_commit_hook(f->tl.lg, gate_hook, &g);
    for (int i = 0; i < N; i++)
        free(env[i]);

    uint64_t t = ok(w[TRIGGER].r);
    assert_int_equal(ok(w[GOOD1].r), t + 1);
    refused(w[REFUSED].r, LL_ERR_EXISTS, "already decided");
    assert_false(w[REFUSED].r.duplicate);
    assert_int_equal(ok(w[GOOD2].r), t + 2);
    assert_int_equal(ok(w[DUP].r), t + 1);
    assert_true(w[DUP].r.duplicate);
    ok(w[VALIDATE].r);
    assert_true(w[VALIDATE].r.validate_only);
    assert_int_equal(ok(w[GOOD3].r), t + 3);
    assert_int_equal(ll_store_committed_size(f->tl.st), t + 4);
    /* Two commits: the trigger's, then the batch's three entries. */
    ll_ledger_metrics(f->tl.lg, &b1, &c);
    assert_int_equal(b1.total - b0.total, 2);
    assert_int_equal(b1.sum - b0.sum, 1 + 3);
    /* Nothing of the refused entry stayed in the indexes. */
    ll_derive_report_t rep;
    assert_int_equal(ll_ledger_check_derived(f->tl.st, &rep), LL_OK);
    if (rep.damaged)
        fail_msg("derived records differ: %s", rep.what);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matrix_roles_by_kind_and_rpc),
        cmocka_unit_test_setup_teardown(test_policy_pending_until_two_distinct_approvers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_governed_entries_gate_what_acts_on_them, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revoked_key_signs_nothing_and_rotation_replaces_it, setup, teardown),
        cmocka_unit_test_setup_teardown(test_validate_only_writes_nothing_and_effects_say_what_happened, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_entry_in_a_batch_leaves_no_trace_and_sinks_nothing, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
