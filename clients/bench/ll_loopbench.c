/*
 * ll-loopbench: generates a realistic closed-loop ledger and measures the
 * LoopService queries on it over gRPC.
 *
 *   ll-loopbench generate --data DIR --admin-key FILE [--entries N] [--initiatives K]
 *   ll-loopbench measure [--server HOST:PORT] [--calls N]
 *
 * generate writes through the real ledger code (ll_ledger_submit: decode,
 * signature check, link table, loop rules, indexes, group commit), in waves:
 * each wave appends the next entry of every initiative at once, so links can
 * name entries of earlier waves and each wave is one durable commit. Every
 * initiative turns the loop (deploy, measure, finding, hypothesis,
 * experiment, concluding finding, adjustment, decision, redeploy, review),
 * leaving some loops open on purpose (a third of findings unacted, some
 * hypotheses untested, some experiments never concluded, undiagnosed
 * alerts), and findings spawn roadmap projects in a shared initiative.
 *
 * measure prints, for GetInitiative, GetLineage (5 hops back from a roadmap
 * project, 5 forward from a charter) and ListOpenLoops, the median and p99
 * latency of N sequential calls with the same client.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ll_benchgen.h"
#include "ll_benchlib.h"
#include "ll_client.h"
#include "ll_crypto.h"
#include "ll_entry.h"
#include "ll_err.h"
#include "ll_ledger.h"
#include "ll_store.h"
#include "loopledger/v1/ledger.pb-c.h"
#include "loopledger/v1/loop.pb-c.h"

#define KIND(x) LOOPLEDGER__V1__ENTRY_BODY__KIND_##x
#define REL(x) LOOPLEDGER__V1__RELATION__##x

static void die(const char *msg)
{
    fprintf(stderr, "ll-loopbench: %s\n", msg);
    exit(1);
}

/* ---- generate ---- */

/* Per-initiative memory of the loop so far. */
typedef struct ini {
    char id[32];
    int step;
    uint64_t charter, deploy, meas, finding, hypo, exper, finding2, adj, decision;
    uint64_t concluded; /* latest concluded experiment */
    double rollout;
} ini_t;

typedef struct gen {
    ll_bench_gen_t bg;
} gen_t;

/* Submits the next entry of initiative x; it is written into s->seq. The
 * previous wave's results are already in x. */
static void next_entry(gen_t *g, ini_t *x, ll_bench_slot_t *s, uint64_t *cycle_count)
{
    static Loopledger__V1__Arm control = {PROTOBUF_C_MESSAGE_INIT(&loopledger__v1__arm__descriptor),
                                          "control", "current", 50};
    static Loopledger__V1__Arm variant = {PROTOBUF_C_MESSAGE_INIT(&loopledger__v1__arm__descriptor),
                                          "variant", "new", 50};
    static Loopledger__V1__Arm *variants[] = {&variant};
    int cyc = x->step == 0 ? 0 : (x->step - 1) / 12;
    int phase = x->step == 0 ? -1 : (x->step - 1) % 12;
    Loopledger__V1__Link L[3];
    char text[96];
    x->step++;
    snprintf(text, sizeof text, "%s cycle %d", x->id, cyc);

    if (phase < 0) {
        Loopledger__V1__Initiative c = LOOPLEDGER__V1__INITIATIVE__INIT;
        Loopledger__V1__Cadence cad[] = {LOOPLEDGER__V1__CADENCE__CADENCE_WEEKLY};
        c.title = x->id;
        c.application = LOOPLEDGER__V1__APPLICATION__APPLICATION_RECOMMENDATION;
        c.phase = LOOPLEDGER__V1__PHASE__PHASE_PILOT;
        c.n_review_cadences = 1;
        c.review_cadences = cad;
        ll_bench_submit(&g->bg, s, x->id, KIND(CHARTER), &c, NULL, 0);
        return;
    }
    switch (phase) {
    case 0: { /* deploy (the pilot, or a redeploy implementing the adjustment) */
        Loopledger__V1__Deployment d = LOOPLEDGER__V1__DEPLOYMENT__INIT;
        d.version = text;
        if (cyc == 0) {
            d.rollout_percent = 10;
            ll_bench_submit(&g->bg, s, x->id, KIND(DEPLOYMENT), &d, NULL, 0);
        } else {
            d.rollout_percent = x->rollout < 100 ? x->rollout + 1 : 100;
            size_t n = 0;
            L[n++] = ll_bench_link(REL(CITES), x->concluded);
            if (x->adj != UINT64_MAX)
                L[n++] = ll_bench_link(REL(IMPLEMENTS), x->adj);
            ll_bench_submit(&g->bg, s, x->id, KIND(DEPLOYMENT), &d, L, n);
        }
        return;
    }
    case 1:
    case 2: { /* measure */
        Loopledger__V1__Observation o = LOOPLEDGER__V1__OBSERVATION__INIT, *op[1] = {&o};
        Loopledger__V1__Measurement m = LOOPLEDGER__V1__MEASUREMENT__INIT;
        o.metric = "conversion";
        o.segment = "home-garden";
        o.value = 0.03 + 0.001 * (x->step % 7);
        o.sample_size = 10000;
        m.source = "dashboard";
        m.n_observations = 1;
        m.observations = op;
        L[0] = ll_bench_link(REL(MEASURES), x->deploy);
        ll_bench_submit(&g->bg, s, x->id, KIND(MEASUREMENT), &m, L, 1);
        return;
    }
    case 3: { /* learn */
        Loopledger__V1__Finding f = LOOPLEDGER__V1__FINDING__INIT;
        f.summary = text;
        f.evidence = LOOPLEDGER__V1__EVIDENCE__EVIDENCE_QUANTITATIVE;
        f.source = LOOPLEDGER__V1__FINDING_SOURCE__FINDING_SOURCE_DASHBOARD;
        f.diagnosis = LOOPLEDGER__V1__DIAGNOSIS__DIAGNOSIS_CONTENT_GAP;
        L[0] = ll_bench_link(REL(DERIVED_FROM), x->meas);
        ll_bench_submit(&g->bg, s, x->id, KIND(FINDING), &f, L, 1);
        return;
    }
    case 4: { /* hypothesis, except every 3rd cycle: that finding stays unacted */
        Loopledger__V1__Hypothesis h = LOOPLEDGER__V1__HYPOTHESIS__INIT;
        h.statement = text;
        if (cyc % 3 == 2) {
            ll_bench_submit(&g->bg, s, x->id, KIND(HYPOTHESIS), &h, NULL, 0);
        } else {
            L[0] = ll_bench_link(REL(DERIVED_FROM), x->finding);
            ll_bench_submit(&g->bg, s, x->id, KIND(HYPOTHESIS), &h, L, 1);
        }
        return;
    }
    case 5: { /* experiment; every 5th cycle's hypothesis stays untested */
        Loopledger__V1__Experiment e = LOOPLEDGER__V1__EXPERIMENT__INIT;
        e.title = text;
        e.primary_metric = "conversion";
        e.control = &control;
        e.n_variants = 1;
        e.variants = variants;
        if (cyc % 5 == 4) {
            Loopledger__V1__Note n = LOOPLEDGER__V1__NOTE__INIT;
            n.text = "experiment postponed";
            ll_bench_submit(&g->bg, s, x->id, KIND(NOTE), &n, NULL, 0);
        } else {
            L[0] = ll_bench_link(REL(TESTS), x->hypo);
            ll_bench_submit(&g->bg, s, x->id, KIND(EXPERIMENT), &e, L, 1);
        }
        return;
    }
    case 6: { /* alert; every 4th stays undiagnosed */
        Loopledger__V1__Alert a = LOOPLEDGER__V1__ALERT__INIT;
        a.metric = "ctr";
        a.detector = LOOPLEDGER__V1__DETECTOR__DETECTOR_ANOMALY;
        a.diagnosis = cyc % 4 == 3 ? 0 : LOOPLEDGER__V1__DIAGNOSIS__DIAGNOSIS_DATA_PATTERN_SHIFT;
        L[0] = ll_bench_link(REL(DERIVED_FROM), x->meas);
        ll_bench_submit(&g->bg, s, x->id, KIND(ALERT), &a, L, 1);
        return;
    }
    case 7: { /* concluding finding (the experiment of cycles with one) */
        Loopledger__V1__Finding f = LOOPLEDGER__V1__FINDING__INIT;
        f.summary = text;
        f.evidence = LOOPLEDGER__V1__EVIDENCE__EVIDENCE_QUANTITATIVE;
        f.source = LOOPLEDGER__V1__FINDING_SOURCE__FINDING_SOURCE_AB_TEST;
        f.diagnosis = LOOPLEDGER__V1__DIAGNOSIS__DIAGNOSIS_CONTENT_GAP;
        f.effect_percent = 4.2;
        size_t n = 0;
        /* Every 7th experiment is left running. */
        if (x->exper != UINT64_MAX && cyc % 5 != 4 && cyc % 7 != 6) {
            L[n++] = ll_bench_link(REL(CONCLUDES), x->exper);
            L[n++] = ll_bench_link(REL(SUPPORTS), x->hypo);
        }
        ll_bench_submit(&g->bg, s, x->id, KIND(FINDING), &f, L, n);
        return;
    }
    case 8: { /* adjust */
        Loopledger__V1__Adjustment a = LOOPLEDGER__V1__ADJUSTMENT__INIT;
        a.category = LOOPLEDGER__V1__REFINEMENT__REFINEMENT_STRATEGIC_APPROACH;
        a.change = text;
        L[0] = ll_bench_link(REL(ADDRESSES), x->finding2);
        ll_bench_submit(&g->bg, s, x->id, KIND(ADJUSTMENT), &a, L, 1);
        return;
    }
    case 9: { /* decide */
        Loopledger__V1__Decision d = LOOPLEDGER__V1__DECISION__INIT;
        d.level = LOOPLEDGER__V1__HITL_LEVEL__HITL_LEVEL_REVIEW_AND_APPROVAL;
        d.outcome = LOOPLEDGER__V1__OUTCOME__OUTCOME_APPROVED;
        d.rationale = "approved";
        L[0] = ll_bench_link(REL(DECIDES), x->adj);
        ll_bench_submit(&g->bg, s, x->id, KIND(DECISION), &d, L, 1);
        return;
    }
    case 10: { /* review */
        Loopledger__V1__Review r = LOOPLEDGER__V1__REVIEW__INIT;
        r.cadence = LOOPLEDGER__V1__CADENCE__CADENCE_WEEKLY;
        r.notes = text;
        L[0] = ll_bench_link(REL(REVIEWS), x->adj);
        ll_bench_submit(&g->bg, s, x->id, KIND(REVIEW), &r, L, 1);
        return;
    }
    default: { /* a roadmap project spawned by the concluding finding */
        Loopledger__V1__RoadmapProject p = LOOPLEDGER__V1__ROADMAP_PROJECT__INIT;
        p.title = text;
        p.status = LOOPLEDGER__V1__PROJECT_STATUS__PROJECT_STATUS_PROPOSED;
        p.reach = 1000 + x->step;
        p.impact = 1;
        p.effort = 2;
        L[0] = ll_bench_link(REL(SPAWNED_BY), x->finding2);
        ll_bench_submit(&g->bg, s, "roadmap", KIND(ROADMAP_PROJECT), &p, L, 1);
        (*cycle_count)++;
        return;
    }
    }
}

/* Records what the entry just written means for the next steps. */
static void remember(ini_t *x, uint64_t seq)
{
    int phase = x->step == 1 ? -1 : (x->step - 2) % 12;
    int cyc = x->step == 1 ? 0 : (x->step - 2) / 12;
    switch (phase) {
    case -1: x->charter = seq; x->adj = UINT64_MAX; x->exper = UINT64_MAX; break;
    case 0: x->deploy = seq; x->rollout = cyc == 0 ? 10 : (x->rollout < 100 ? x->rollout + 1 : 100); break;
    case 1: case 2: x->meas = seq; break;
    case 3: x->finding = seq; break;
    case 4: x->hypo = seq; break;
    case 5: if (cyc % 5 != 4) x->exper = seq; break;
    case 7:
        x->finding2 = seq;
        if (x->exper != UINT64_MAX && cyc % 5 != 4 && cyc % 7 != 6)
            x->concluded = x->exper;
        break;
    case 8: x->adj = seq; break;
    default: break;
    }
}

static int cmd_generate(const char *dir, const char *keyfile, uint64_t entries, int k)
{
    gen_t g = {0};
    uint64_t cycles = 0;

    ll_bench_gen_open(&g.bg, dir, keyfile, "bench.loopledger/loop");

    ini_t *ini = calloc((size_t)k, sizeof *ini);
    ll_bench_slot_t *slots = calloc((size_t)k, sizeof *slots);
    for (int i = 0; i < k; i++)
        snprintf(ini[i].id, sizeof ini[i].id, "ini-%03d", i);
    double t0 = ll_bench_now();
    uint64_t written = 1;
    while (written < entries) {
        int n = (int)(entries - written < (uint64_t)k ? entries - written : (uint64_t)k);
        ll_bench_wave_start(&g.bg, slots, n);
        for (int i = 0; i < n; i++)
            next_entry(&g, &ini[i], &slots[i], &cycles);
        ll_bench_wave_wait(&g.bg);
        for (int i = 0; i < n; i++)
            remember(&ini[i], slots[i].seq);
        written += (uint64_t)n;
    }
    double secs = ll_bench_now() - t0;
    printf("generated %" PRIu64 " entries (%d initiatives, %" PRIu64
           " loop turns, roadmap projects in \"roadmap\") in %.1f s, %.0f entries/s\n",
           ll_store_committed_size(g.bg.st), k, cycles, secs, (double)written / secs);
    ll_bench_gen_close(&g.bg);
    free(ini);
    free(slots);
    return 0;
}

/* ---- measure ---- */

static int cmd_measure(const char *server, int calls)
{
    ll_client_t *c;
    double *ms = calloc((size_t)calls, sizeof *ms);
    uint64_t *roots = calloc((size_t)calls, sizeof *roots);
    char extra[160];
    if (ll_client_open(server, &c))
        die("cannot connect");
    /* The tree size and a few roadmap projects to walk back from. */
    Loopledger__V1__ListEntriesRequest lr = LOOPLEDGER__V1__LIST_ENTRIES_REQUEST__INIT;
    lr.kind = (Loopledger__V1__Kind)KIND(ROADMAP_PROJECT);
    lr.page_size = 1000;
    double t;
    Loopledger__V1__ListEntriesResponse *le =
        ll_bench_call(c, "/loopledger.v1.LedgerService/ListEntries", &lr.base,
                    &loopledger__v1__list_entries_response__descriptor, 30000, &t);
    if (le->n_leaves == 0)
        die("no roadmap projects: generate first");
    uint64_t *projects = calloc(le->n_leaves, sizeof *projects);
    size_t np = le->n_leaves;
    for (size_t i = 0; i < np; i++) {
        Loopledger__V1__LogEntry *e =
            loopledger__v1__log_entry__unpack(NULL, le->leaves[i].len, le->leaves[i].data);
        projects[i] = e->seq;
        loopledger__v1__log_entry__free_unpacked(e, NULL);
    }
    protobuf_c_message_free_unpacked(&le->base, NULL);

    uint64_t open_total = 0, nodes_total = 0, items = 0;
    for (int i = 0; i < calls; i++) {
        char id[32];
        snprintf(id, sizeof id, "ini-%03d", i % 100);
        Loopledger__V1__GetInitiativeRequest r = LOOPLEDGER__V1__GET_INITIATIVE_REQUEST__INIT;
        r.initiative = id;
        Loopledger__V1__InitiativeState *s =
            ll_bench_call(c, "/loopledger.v1.LoopService/GetInitiative", &r.base,
                        &loopledger__v1__initiative_state__descriptor, 30000, &ms[i]);
        open_total += s->unacted_findings_count + s->open_hypotheses_count +
                      s->running_experiments_count + s->undiagnosed_alerts_count;
        items += s->n_unacted_findings + s->n_open_hypotheses + s->n_running_experiments +
                 s->n_undiagnosed_alerts;
        protobuf_c_message_free_unpacked(&s->base, NULL);
    }
    snprintf(extra, sizeof extra, "avg %.0f open items counted, %.0f listed per answer",
             (double)open_total / calls, (double)items / calls);
    ll_bench_report("GetInitiative", ms, calls, extra);

    for (int i = 0; i < calls; i++) {
        Loopledger__V1__GetLineageRequest r = LOOPLEDGER__V1__GET_LINEAGE_REQUEST__INIT;
        r.seq = projects[(size_t)i % np];
        r.back_hops = 5;
        Loopledger__V1__Lineage *L = ll_bench_call(c, "/loopledger.v1.LoopService/GetLineage",
                                                   &r.base, &loopledger__v1__lineage__descriptor,
                                                   30000, &ms[i]);
        nodes_total += L->n_nodes;
        /* Its oldest ancestor (a cycle's first measurement or finding) is
         * where the forward walk starts. */
        roots[i] = L->n_nodes ? L->nodes[0]->seq : r.seq;
        protobuf_c_message_free_unpacked(&L->base, NULL);
    }
    snprintf(extra, sizeof extra, "roadmap project, 5 hops back, avg %.1f nodes",
             (double)nodes_total / calls);
    ll_bench_report("GetLineage (5 hops back)", ms, calls, extra);

    nodes_total = 0;
    for (int i = 0; i < calls; i++) {
        /* Forward from a charter: a deliberately wide walk, capped. */
        Loopledger__V1__GetLineageRequest r = LOOPLEDGER__V1__GET_LINEAGE_REQUEST__INIT;
        r.seq = roots[i];
        r.forward_hops = 5;
        Loopledger__V1__Lineage *L = ll_bench_call(c, "/loopledger.v1.LoopService/GetLineage",
                                                   &r.base, &loopledger__v1__lineage__descriptor,
                                                   30000, &ms[i]);
        nodes_total += L->n_nodes;
        protobuf_c_message_free_unpacked(&L->base, NULL);
    }
    snprintf(extra, sizeof extra, "from that ancestor, 5 hops forward, avg %.1f nodes",
             (double)nodes_total / calls);
    ll_bench_report("GetLineage (5 hops forward)", ms, calls, extra);

    items = 0;
    for (int i = 0; i < calls; i++) {
        Loopledger__V1__ListOpenLoopsRequest r = LOOPLEDGER__V1__LIST_OPEN_LOOPS_REQUEST__INIT;
        r.page_size = 100;
        r.kind = (Loopledger__V1__OpenLoopKind)(1 + i % 4);
        Loopledger__V1__ListOpenLoopsResponse *o =
            ll_bench_call(c, "/loopledger.v1.LoopService/ListOpenLoops", &r.base,
                        &loopledger__v1__list_open_loops_response__descriptor, 30000, &ms[i]);
        items += o->n_loops;
        protobuf_c_message_free_unpacked(&o->base, NULL);
    }
    snprintf(extra, sizeof extra, "page of up to 100 across initiatives, avg %.0f returned",
             (double)items / calls);
    ll_bench_report("ListOpenLoops", ms, calls, extra);

    /* The reference: the cheapest call on the same connection. */
    for (int i = 0; i < calls; i++) {
        Loopledger__V1__GetCheckpointRequest r = LOOPLEDGER__V1__GET_CHECKPOINT_REQUEST__INIT;
        Loopledger__V1__GetCheckpointResponse *cp =
            ll_bench_call(c, "/loopledger.v1.LedgerService/GetCheckpoint", &r.base,
                        &loopledger__v1__get_checkpoint_response__descriptor, 30000, &ms[i]);
        protobuf_c_message_free_unpacked(&cp->base, NULL);
    }
    ll_bench_report("GetCheckpoint (reference)", ms, calls, "");
    free(projects);
    free(roots);
    free(ms);
    ll_client_close(c);
    return 0;
}

int main(int argc, char **argv)
{
    const char *dir = NULL, *key = NULL, *server = "127.0.0.1:7600";
    uint64_t entries = 100000;
    int k = 100, calls = 200;
    if (argc < 2)
        die("usage: ll-loopbench generate --data DIR --admin-key FILE [--entries N] "
            "[--initiatives K] | measure [--server HOST:PORT] [--calls N]");
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            die("missing option value");
        if (!strcmp(a, "--data")) dir = v;
        else if (!strcmp(a, "--admin-key")) key = v;
        else if (!strcmp(a, "--entries")) entries = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--initiatives")) k = atoi(v);
        else if (!strcmp(a, "--server")) server = v;
        else if (!strcmp(a, "--calls")) calls = atoi(v);
        else die("unknown option");
        i++;
    }
    if (!strcmp(argv[1], "generate")) {
        if (!dir || !key || k < 1 || k > 999)
            die("generate needs --data and --admin-key (initiatives 1..999)");
        return cmd_generate(dir, key, entries, k);
    }
    if (!strcmp(argv[1], "measure")) {
        if (calls < 1)
            die("--calls must be positive");
        return cmd_measure(server, calls);
    }
    die("unknown command");
}
