/*
 * ll-roadmapbench: generates a ledger of RoadmapProjects resting on a
 * realistic evidence graph and measures RoadmapService over gRPC.
 *
 *   ll-roadmapbench generate --data DIR --admin-key FILE [--cycles N] [--initiatives K]
 *   ll-roadmapbench measure [--server HOST:PORT] [--calls N]
 *
 * generate writes through the real ledger code (ll_ledger_submit: decode,
 * signature check, link table, loop rules, indexes, group commit) in waves,
 * like ll-loopbench: each wave appends the next entry of every initiative
 * at once, so links name entries of earlier waves. Every initiative turns
 * the loop N times (default 100; 100 initiatives), 20 entries per turn:
 * deployment, four dashboard measurements, an observational finding, a
 * qualitative finding (survey, customer service, social media in turn), a
 * hypothesis derived from the first finding, an A/B experiment testing it
 * with two measured windows per arm (effect sizes vary, so readouts range
 * from p < 0.001 to not significant), a finding concluding it, an
 * adjustment addressing that finding, its approval, a review, a drift
 * alert, every 4th turn a finding refuting the previous turn's hypothesis,
 * every 10th turn a correction superseding the qualitative finding, and
 * one RoadmapProject (in one of ten "roadmap-NN" initiatives) SPAWNED_BY
 * this turn's findings in varying combinations (every 10th speculative).
 * Defaults: 100 x 100 turns = 10,000 projects over 200,100 linked entries.
 *
 * measure prints the median and p99 latency of N sequential Prioritize
 * calls ranking every project (page of 50), with an initiative filter, as
 * of half the tree, and of GetExperimentReadout and GetLoopHealth, with
 * GetCheckpoint on the same connection as the reference.
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
#include "loopledger/v1/roadmap.pb-c.h"

#define KIND(x) LOOPLEDGER__V1__ENTRY_BODY__KIND_##x
#define REL(x) LOOPLEDGER__V1__RELATION__##x
#define PHASES 20

static void die(const char *msg)
{
    fprintf(stderr, "ll-roadmapbench: %s\n", msg);
    exit(1);
}

/* ---- generate ---- */

/* Per-initiative memory: this turn's and the previous turn's entries by
 * phase. */
typedef struct ini {
    char id[32];
    int step; /* entries submitted, charter included */
    uint64_t cur[PHASES], prev[PHASES];
} ini_t;

typedef struct gen {
    ll_bench_gen_t bg;
    uint64_t projects;
} gen_t;

/* Deterministic per-(initiative, turn) variety. */
static unsigned mix(const ini_t *x, int cyc)
{
    unsigned h = (unsigned)cyc * 2654435761u;
    for (const char *p = x->id; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return h ^ (h >> 15);
}

static void finding_body(Loopledger__V1__Finding *f, char *text, int source)
{
    loopledger__v1__finding__init(f);
    f->summary = text;
    f->source = (Loopledger__V1__FindingSource)source;
    f->evidence = source >= LOOPLEDGER__V1__FINDING_SOURCE__FINDING_SOURCE_CUSTOMER_SERVICE_REVIEW &&
                          source <= LOOPLEDGER__V1__FINDING_SOURCE__FINDING_SOURCE_SOCIAL_MEDIA
                      ? LOOPLEDGER__V1__EVIDENCE__EVIDENCE_QUALITATIVE
                      : LOOPLEDGER__V1__EVIDENCE__EVIDENCE_QUANTITATIVE;
    f->diagnosis = LOOPLEDGER__V1__DIAGNOSIS__DIAGNOSIS_CONTENT_GAP;
}

static void measurement(gen_t *g, ll_bench_slot_t *s, ini_t *x, uint64_t target, int ab, double lift,
                        int window)
{
    Loopledger__V1__Observation o[2], *op[2] = {&o[0], &o[1]};
    Loopledger__V1__Measurement m = LOOPLEDGER__V1__MEASUREMENT__INIT;
    Loopledger__V1__Link L = ll_bench_link(REL(MEASURES), target);
    for (int i = 0; i < 2; i++) {
        loopledger__v1__observation__init(&o[i]);
        o[i].metric = "conversion_rate";
        o[i].segment = window ? "us" : "eu";
        o[i].unit = "%";
        o[i].sample_size = 15000;
    }
    m.source = ab ? "A/B test readout" : "dashboard";
    m.observations = op;
    if (ab) {
        o[0].arm = "control";
        o[0].value = 1.10;
        o[1].arm = "variant";
        o[1].value = 1.10 * (1 + lift);
        m.n_observations = 2;
    } else {
        o[0].value = 1.0 + 0.01 * (x->step % 9);
        m.n_observations = 1;
    }
    ll_bench_submit(&g->bg, s, x->id, KIND(MEASUREMENT), &m, &L, 1);
}

static void next_entry(gen_t *g, ini_t *x, ll_bench_slot_t *s)
{
    static Loopledger__V1__Arm control = {PROTOBUF_C_MESSAGE_INIT(&loopledger__v1__arm__descriptor),
                                          "control", "current", 50};
    static Loopledger__V1__Arm variant = {PROTOBUF_C_MESSAGE_INIT(&loopledger__v1__arm__descriptor),
                                          "variant", "new", 50};
    static Loopledger__V1__Arm *variants[] = {&variant};
    int cyc = x->step == 0 ? 0 : (x->step - 1) / PHASES;
    int phase = x->step == 0 ? -1 : (x->step - 1) % PHASES;
    unsigned h = mix(x, cyc);
    /* Lifts 0..24%: with 15000 + 15000 per arm, p from ~1e-6 to ~1. */
    double lift = (double)(h % 25) / 100.0;
    const uint64_t *c = x->cur, *p = x->prev;
    Loopledger__V1__Link L[4];
    char text[96];
    x->step++;
    snprintf(text, sizeof text, "%s turn %d", x->id, cyc);

    if (phase < 0) {
        Loopledger__V1__Initiative ch = LOOPLEDGER__V1__INITIATIVE__INIT;
        Loopledger__V1__Cadence cad[] = {LOOPLEDGER__V1__CADENCE__CADENCE_WEEKLY};
        ch.title = x->id;
        ch.application = (Loopledger__V1__Application)(1 + (h % 8));
        ch.phase = LOOPLEDGER__V1__PHASE__PHASE_PILOT;
        ch.n_review_cadences = 1;
        ch.review_cadences = cad;
        ll_bench_submit(&g->bg, s, x->id, KIND(CHARTER), &ch, NULL, 0);
        return;
    }
    switch (phase) {
    case 0: { /* (re)deploy at the pilot share, implementing the last adjustment */
        Loopledger__V1__Deployment d = LOOPLEDGER__V1__DEPLOYMENT__INIT;
        d.version = text;
        d.rollout_percent = 10;
        /* cur still holds the previous turn here (remember() rotates it). */
        L[0] = ll_bench_link(REL(IMPLEMENTS), c[12]);
        ll_bench_submit(&g->bg, s, x->id, KIND(DEPLOYMENT), &d, L, cyc ? 1 : 0);
        return;
    }
    case 1: case 2: case 3: case 4:
        measurement(g, s, x, c[0], 0, 0, 0);
        return;
    case 5: case 6: { /* observational, then qualitative finding */
        Loopledger__V1__Finding f;
        static const int quali[] = {LOOPLEDGER__V1__FINDING_SOURCE__FINDING_SOURCE_USER_SURVEY,
                                    LOOPLEDGER__V1__FINDING_SOURCE__FINDING_SOURCE_CUSTOMER_SERVICE_REVIEW,
                                    LOOPLEDGER__V1__FINDING_SOURCE__FINDING_SOURCE_SOCIAL_MEDIA};
        finding_body(&f, text, phase == 5 ? LOOPLEDGER__V1__FINDING_SOURCE__FINDING_SOURCE_DASHBOARD
                                          : quali[cyc % 3]);
        L[0] = ll_bench_link(REL(DERIVED_FROM), c[4]);
        ll_bench_submit(&g->bg, s, x->id, KIND(FINDING), &f, L, phase == 5 ? 1 : 0);
        return;
    }
    case 7: {
        Loopledger__V1__Hypothesis hy = LOOPLEDGER__V1__HYPOTHESIS__INIT;
        hy.statement = text;
        L[0] = ll_bench_link(REL(DERIVED_FROM), c[5]);
        ll_bench_submit(&g->bg, s, x->id, KIND(HYPOTHESIS), &hy, L, 1);
        return;
    }
    case 8: {
        Loopledger__V1__Experiment e = LOOPLEDGER__V1__EXPERIMENT__INIT;
        e.title = text;
        e.primary_metric = "conversion_rate";
        e.control = &control;
        e.n_variants = 1;
        e.variants = variants;
        L[0] = ll_bench_link(REL(TESTS), c[7]);
        ll_bench_submit(&g->bg, s, x->id, KIND(EXPERIMENT), &e, L, 1);
        return;
    }
    case 9: case 10:
        measurement(g, s, x, c[8], 1, lift, phase == 10);
        return;
    case 11: { /* concluding finding */
        Loopledger__V1__Finding f;
        finding_body(&f, text, LOOPLEDGER__V1__FINDING_SOURCE__FINDING_SOURCE_AB_TEST);
        f.effect_percent = 100 * lift;
        L[0] = ll_bench_link(REL(CONCLUDES), c[8]);
        L[1] = ll_bench_link(REL(SUPPORTS), c[7]);
        L[2] = ll_bench_link(REL(DERIVED_FROM), c[5]);
        ll_bench_submit(&g->bg, s, x->id, KIND(FINDING), &f, L, 3);
        return;
    }
    case 12: {
        Loopledger__V1__Adjustment a = LOOPLEDGER__V1__ADJUSTMENT__INIT;
        a.category = LOOPLEDGER__V1__REFINEMENT__REFINEMENT_STRATEGIC_APPROACH;
        a.change = text;
        L[0] = ll_bench_link(REL(ADDRESSES), c[11]);
        ll_bench_submit(&g->bg, s, x->id, KIND(ADJUSTMENT), &a, L, 1);
        return;
    }
    case 13: {
        Loopledger__V1__Decision d = LOOPLEDGER__V1__DECISION__INIT;
        d.level = LOOPLEDGER__V1__HITL_LEVEL__HITL_LEVEL_REVIEW_AND_APPROVAL;
        d.outcome = LOOPLEDGER__V1__OUTCOME__OUTCOME_APPROVED;
        d.rationale = "approved";
        L[0] = ll_bench_link(REL(DECIDES), c[12]);
        ll_bench_submit(&g->bg, s, x->id, KIND(DECISION), &d, L, 1);
        return;
    }
    case 14: {
        Loopledger__V1__Review r = LOOPLEDGER__V1__REVIEW__INIT;
        r.cadence = LOOPLEDGER__V1__CADENCE__CADENCE_WEEKLY;
        r.notes = text;
        L[0] = ll_bench_link(REL(REVIEWS), c[12]);
        ll_bench_submit(&g->bg, s, x->id, KIND(REVIEW), &r, L, 1);
        return;
    }
    case 15: {
        Loopledger__V1__Alert a = LOOPLEDGER__V1__ALERT__INIT;
        a.metric = "conversion_rate";
        a.detector = LOOPLEDGER__V1__DETECTOR__DETECTOR_DRIFT;
        a.baseline = 1.1;
        a.current = 0.9;
        L[0] = ll_bench_link(REL(DERIVED_FROM), c[4]);
        ll_bench_submit(&g->bg, s, x->id, KIND(ALERT), &a, L, 1);
        return;
    }
    case 16: /* every 4th turn refutes the previous turn's hypothesis */
        if (cyc % 4 == 3) {
            Loopledger__V1__Finding f;
            finding_body(&f, text, LOOPLEDGER__V1__FINDING_SOURCE__FINDING_SOURCE_POST_CAMPAIGN_ANALYSIS);
            L[0] = ll_bench_link(REL(REFUTES), p[7]);
            ll_bench_submit(&g->bg, s, x->id, KIND(FINDING), &f, L, 1);
            return;
        }
        measurement(g, s, x, c[0], 0, 0, 0);
        return;
    case 17: /* every 10th turn corrects the qualitative finding */
        if (cyc % 10 == 9) {
            Loopledger__V1__Correction k = LOOPLEDGER__V1__CORRECTION__INIT;
            k.reason = "survey sample was not representative";
            L[0] = ll_bench_link(REL(SUPERSEDES), c[6]);
            ll_bench_submit(&g->bg, s, x->id, KIND(CORRECTION), &k, L, 1);
            return;
        }
        measurement(g, s, x, c[0], 0, 0, 0);
        return;
    case 18:
        measurement(g, s, x, c[0], 0, 0, 0);
        return;
    default: { /* the roadmap project */
        Loopledger__V1__RoadmapProject rp = LOOPLEDGER__V1__ROADMAP_PROJECT__INIT;
        char ini[32];
        size_t n = 0;
        snprintf(ini, sizeof ini, "roadmap-%02u", h % 10);
        rp.title = text;
        rp.application = (Loopledger__V1__Application)(1 + (h >> 4) % 8);
        rp.status = (Loopledger__V1__ProjectStatus)(1 + (h >> 8) % 3);
        rp.reach = 1000 + (double)((h >> 12) % 100000);
        rp.impact = 0.25 * (1 + (h >> 20) % 12);
        rp.effort = 1 + (double)((h >> 24) % 12);
        switch (cyc % 10) {
        case 0: break; /* speculative */
        case 1: case 4: case 7:
            L[n++] = ll_bench_link(REL(SPAWNED_BY), c[11]);
            L[n++] = ll_bench_link(REL(SPAWNED_BY), c[6]);
            break;
        case 2: case 5: case 8:
            L[n++] = ll_bench_link(REL(SPAWNED_BY), c[5]);
            break;
        default:
            L[n++] = ll_bench_link(REL(SPAWNED_BY), c[6]);
            L[n++] = ll_bench_link(REL(SPAWNED_BY), p[11]);
            break;
        }
        ll_bench_submit(&g->bg, s, ini, KIND(ROADMAP_PROJECT), &rp, L, n);
        g->projects++;
        return;
    }
    }
}

static void remember(ini_t *x, uint64_t seq)
{
    int phase = x->step == 1 ? -1 : (x->step - 2) % PHASES;
    if (phase < 0)
        return;
    if (phase == 0) {
        memcpy(x->prev, x->cur, sizeof x->prev);
        memset(x->cur, 0, sizeof x->cur);
    }
    x->cur[phase] = seq;
}

static int cmd_generate(const char *dir, const char *keyfile, int cycles, int k)
{
    gen_t g = {0};

    ll_bench_gen_open(&g.bg, dir, keyfile, "bench.loopledger/roadmap");

    ini_t *ini = calloc((size_t)k, sizeof *ini);
    ll_bench_slot_t *slots = calloc((size_t)k, sizeof *slots);
    for (int i = 0; i < k; i++)
        snprintf(ini[i].id, sizeof ini[i].id, "ini-%03d", i);
    double t0 = ll_bench_now();
    int steps = 1 + cycles * PHASES;
    for (int step = 0; step < steps; step++) {
        ll_bench_wave_start(&g.bg, slots, k);
        for (int i = 0; i < k; i++)
            next_entry(&g, &ini[i], &slots[i]);
        ll_bench_wave_wait(&g.bg);
        for (int i = 0; i < k; i++)
            remember(&ini[i], slots[i].seq);
    }
    double secs = ll_bench_now() - t0;
    uint64_t size = ll_store_committed_size(g.bg.st);
    printf("generated %" PRIu64 " entries (%d initiatives x %d turns, %" PRIu64
           " roadmap projects in roadmap-00..09) in %.1f s, %.0f entries/s\n",
           size, k, cycles, g.projects, secs, (double)(size - 1) / secs);
    ll_bench_gen_close(&g.bg);
    free(ini);
    free(slots);
    return 0;
}

/* ---- measure ---- */

static int cmd_measure(const char *server, int calls)
{
    ll_client_t *c;
    double *ms = calloc((size_t)calls, sizeof *ms), t;
    char extra[200];
    uint64_t size = 0, exp = 0;
    if (ll_client_open(server, &c))
        die("cannot connect");

    /* Warm-up and the facts to report. */
    Loopledger__V1__PrioritizeRequest pr = LOOPLEDGER__V1__PRIORITIZE_REQUEST__INIT;
    Loopledger__V1__PrioritizeResponse *p =
        ll_bench_call(c, "/loopledger.v1.RoadmapService/Prioritize", &pr.base,
                    &loopledger__v1__prioritize_response__descriptor, 60000, &t);
    size = p->as_of_size;
    uint64_t total = p->total, spec = 0;
    for (size_t i = 0; i < p->n_projects; i++)
        spec += p->projects[i]->speculative;
    if (!total)
        die("no roadmap projects: generate first");
    for (size_t i = 0; i < p->n_projects && !exp; i++)
        for (size_t j = 0; j < p->projects[i]->n_evidence; j++)
            if (p->projects[i]->evidence[j]->experiment_seq) {
                exp = p->projects[i]->evidence[j]->experiment_seq;
                break;
            }
    printf("ledger: %" PRIu64 " entries, %" PRIu64 " roadmap projects; top project #%" PRIu64
           " score %.1f (confidence %.3f, %zu evidence items)\n",
           size, total, p->projects[0]->project->seq, p->projects[0]->score,
           p->projects[0]->confidence, p->projects[0]->n_evidence);
    protobuf_c_message_free_unpacked(&p->base, NULL);

    for (int i = 0; i < calls; i++) {
        p = ll_bench_call(c, "/loopledger.v1.RoadmapService/Prioritize", &pr.base,
                        &loopledger__v1__prioritize_response__descriptor, 60000, &ms[i]);
        protobuf_c_message_free_unpacked(&p->base, NULL);
    }
    snprintf(extra, sizeof extra, "ranks all %" PRIu64 " projects, page of 50 explained", total);
    ll_bench_report("Prioritize (all projects)", ms, calls, extra);

    uint64_t matched = 0;
    for (int i = 0; i < calls; i++) {
        char ini[32];
        snprintf(ini, sizeof ini, "roadmap-%02d", i % 10);
        Loopledger__V1__PrioritizeRequest r = LOOPLEDGER__V1__PRIORITIZE_REQUEST__INIT;
        r.initiative = ini;
        p = ll_bench_call(c, "/loopledger.v1.RoadmapService/Prioritize", &r.base,
                        &loopledger__v1__prioritize_response__descriptor, 60000, &ms[i]);
        matched += p->total;
        protobuf_c_message_free_unpacked(&p->base, NULL);
    }
    snprintf(extra, sizeof extra, "one roadmap-NN initiative, avg %.0f projects ranked",
             (double)matched / calls);
    ll_bench_report("Prioritize (initiative filter)", ms, calls, extra);

    matched = 0;
    for (int i = 0; i < calls; i++) {
        Loopledger__V1__PrioritizeRequest r = LOOPLEDGER__V1__PRIORITIZE_REQUEST__INIT;
        r.as_of_size = size / 2;
        r.half_life_days = 30;
        p = ll_bench_call(c, "/loopledger.v1.RoadmapService/Prioritize", &r.base,
                        &loopledger__v1__prioritize_response__descriptor, 60000, &ms[i]);
        matched = p->total;
        protobuf_c_message_free_unpacked(&p->base, NULL);
    }
    snprintf(extra, sizeof extra, "as of size %" PRIu64 ", %" PRIu64 " projects", size / 2,
             matched);
    ll_bench_report("Prioritize (as of half the tree)", ms, calls, extra);

    if (exp) {
        for (int i = 0; i < calls; i++) {
            Loopledger__V1__GetExperimentReadoutRequest r =
                LOOPLEDGER__V1__GET_EXPERIMENT_READOUT_REQUEST__INIT;
            r.experiment_seq = exp;
            Loopledger__V1__ExperimentReadout *x =
                ll_bench_call(c, "/loopledger.v1.RoadmapService/GetExperimentReadout", &r.base,
                            &loopledger__v1__experiment_readout__descriptor, 60000, &ms[i]);
            protobuf_c_message_free_unpacked(&x->base, NULL);
        }
        snprintf(extra, sizeof extra, "experiment #%" PRIu64, exp);
        ll_bench_report("GetExperimentReadout", ms, calls, extra);
    }

    /* Every initiative once (it also names them), then one at a time. */
    Loopledger__V1__GetLoopHealthRequest all = LOOPLEDGER__V1__GET_LOOP_HEALTH_REQUEST__INIT;
    Loopledger__V1__GetLoopHealthResponse *every =
        ll_bench_call(c, "/loopledger.v1.RoadmapService/GetLoopHealth", &all.base,
                    &loopledger__v1__get_loop_health_response__descriptor, 60000, &t);
    printf("%-36s %8.3f ms  (one call; %zu initiatives)\n", "GetLoopHealth (every initiative)", t,
           every->n_initiatives);
    for (int i = 0; i < calls && every->n_initiatives; i++) {
        Loopledger__V1__GetLoopHealthRequest r = LOOPLEDGER__V1__GET_LOOP_HEALTH_REQUEST__INIT;
        r.initiative = every->initiatives[(size_t)i % every->n_initiatives]->initiative;
        Loopledger__V1__GetLoopHealthResponse *x =
            ll_bench_call(c, "/loopledger.v1.RoadmapService/GetLoopHealth", &r.base,
                        &loopledger__v1__get_loop_health_response__descriptor, 60000, &ms[i]);
        protobuf_c_message_free_unpacked(&x->base, NULL);
    }
    ll_bench_report("GetLoopHealth (one initiative)", ms, calls, "");
    protobuf_c_message_free_unpacked(&every->base, NULL);

    for (int i = 0; i < calls; i++) {
        Loopledger__V1__GetCheckpointRequest r = LOOPLEDGER__V1__GET_CHECKPOINT_REQUEST__INIT;
        Loopledger__V1__GetCheckpointResponse *cp =
            ll_bench_call(c, "/loopledger.v1.LedgerService/GetCheckpoint", &r.base,
                        &loopledger__v1__get_checkpoint_response__descriptor, 60000, &ms[i]);
        protobuf_c_message_free_unpacked(&cp->base, NULL);
    }
    ll_bench_report("GetCheckpoint (reference)", ms, calls, "");
    (void)spec;
    free(ms);
    ll_client_close(c);
    return 0;
}

int main(int argc, char **argv)
{
    const char *dir = NULL, *key = NULL, *server = "127.0.0.1:7600";
    int cycles = 100, k = 100, calls = 30;
    if (argc < 2)
        die("usage: ll-roadmapbench generate --data DIR --admin-key FILE [--cycles N] "
            "[--initiatives K] | measure [--server HOST:PORT] [--calls N]");
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            die("missing option value");
        if (!strcmp(a, "--data")) dir = v;
        else if (!strcmp(a, "--admin-key")) key = v;
        else if (!strcmp(a, "--cycles")) cycles = atoi(v);
        else if (!strcmp(a, "--initiatives")) k = atoi(v);
        else if (!strcmp(a, "--server")) server = v;
        else if (!strcmp(a, "--calls")) calls = atoi(v);
        else die("unknown option");
        i++;
    }
    if (!strcmp(argv[1], "generate")) {
        if (!dir || !key || k < 1 || k > 999 || cycles < 1)
            die("generate needs --data and --admin-key (initiatives 1..999, cycles >= 1)");
        return cmd_generate(dir, key, cycles, k);
    }
    if (!strcmp(argv[1], "measure")) {
        if (calls < 1)
            die("--calls must be positive");
        return cmd_measure(server, calls);
    }
    die("unknown command");
}
