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

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- generate ---- */

typedef struct wave {
    pthread_mutex_t lock;
    pthread_cond_t done;
    int pending, errors;
    char first_error[300];
} wave_t;

typedef struct slot {
    wave_t *w;
    uint64_t seq;
} slot_t;

static void on_done(void *ctx, const ll_append_result_t *r)
{
    slot_t *s = ctx;
    pthread_mutex_lock(&s->w->lock);
    if (r->err) {
        if (!s->w->errors++)
            snprintf(s->w->first_error, sizeof s->w->first_error, "%s", r->msg);
    } else {
        s->seq = r->seq;
    }
    if (--s->w->pending == 0)
        pthread_cond_signal(&s->w->done);
    pthread_mutex_unlock(&s->w->lock);
}

/* Per-initiative memory: this turn's and the previous turn's entries by
 * phase. */
typedef struct ini {
    char id[32];
    int step; /* entries submitted, charter included */
    uint64_t cur[PHASES], prev[PHASES];
} ini_t;

typedef struct gen {
    ll_ledger_t *lg;
    ll_key_t *key;
    uint64_t nonce, projects;
} gen_t;

static void submit(gen_t *g, slot_t *s, const char *ini, int kind, void *msg,
                   const Loopledger__V1__Link *links, size_t nlinks)
{
    Loopledger__V1__Link l[4], *lp[4];
    Loopledger__V1__EntryBody b = LOOPLEDGER__V1__ENTRY_BODY__INIT;
    uint8_t *env;
    size_t len;
    uint64_t nonce = ++g->nonce;
    for (size_t i = 0; i < nlinks; i++) {
        l[i] = links[i];
        lp[i] = &l[i];
    }
    b.author = "admin";
    b.initiative = (char *)ini;
    b.nonce.data = (uint8_t *)&nonce;
    b.nonce.len = sizeof nonce;
    b.n_links = nlinks;
    b.links = lp;
    b.kind_case = (Loopledger__V1__EntryBody__KindCase)kind;
    b.note = msg; /* the oneof members share one pointer slot */
    if (ll_entry_seal(&b, g->key, &env, &len))
        die("signing failed");
    ll_ledger_submit(g->lg, env, len, on_done, s);
    free(env);
}

static Loopledger__V1__Link link_to(int rel, uint64_t seq)
{
    Loopledger__V1__Link l = LOOPLEDGER__V1__LINK__INIT;
    l.relation = (Loopledger__V1__Relation)rel;
    l.target_seq = seq;
    return l;
}

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

static void measurement(gen_t *g, slot_t *s, ini_t *x, uint64_t target, int ab, double lift,
                        int window)
{
    Loopledger__V1__Observation o[2], *op[2] = {&o[0], &o[1]};
    Loopledger__V1__Measurement m = LOOPLEDGER__V1__MEASUREMENT__INIT;
    Loopledger__V1__Link L = link_to(REL(MEASURES), target);
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
    submit(g, s, x->id, KIND(MEASUREMENT), &m, &L, 1);
}

static void next_entry(gen_t *g, ini_t *x, slot_t *s)
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
        submit(g, s, x->id, KIND(CHARTER), &ch, NULL, 0);
        return;
    }
    switch (phase) {
    case 0: { /* (re)deploy at the pilot share, implementing the last adjustment */
        Loopledger__V1__Deployment d = LOOPLEDGER__V1__DEPLOYMENT__INIT;
        d.version = text;
        d.rollout_percent = 10;
        /* cur still holds the previous turn here (remember() rotates it). */
        L[0] = link_to(REL(IMPLEMENTS), c[12]);
        submit(g, s, x->id, KIND(DEPLOYMENT), &d, L, cyc ? 1 : 0);
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
        L[0] = link_to(REL(DERIVED_FROM), c[4]);
        submit(g, s, x->id, KIND(FINDING), &f, L, phase == 5 ? 1 : 0);
        return;
    }
    case 7: {
        Loopledger__V1__Hypothesis hy = LOOPLEDGER__V1__HYPOTHESIS__INIT;
        hy.statement = text;
        L[0] = link_to(REL(DERIVED_FROM), c[5]);
        submit(g, s, x->id, KIND(HYPOTHESIS), &hy, L, 1);
        return;
    }
    case 8: {
        Loopledger__V1__Experiment e = LOOPLEDGER__V1__EXPERIMENT__INIT;
        e.title = text;
        e.primary_metric = "conversion_rate";
        e.control = &control;
        e.n_variants = 1;
        e.variants = variants;
        L[0] = link_to(REL(TESTS), c[7]);
        submit(g, s, x->id, KIND(EXPERIMENT), &e, L, 1);
        return;
    }
    case 9: case 10:
        measurement(g, s, x, c[8], 1, lift, phase == 10);
        return;
    case 11: { /* concluding finding */
        Loopledger__V1__Finding f;
        finding_body(&f, text, LOOPLEDGER__V1__FINDING_SOURCE__FINDING_SOURCE_AB_TEST);
        f.effect_percent = 100 * lift;
        L[0] = link_to(REL(CONCLUDES), c[8]);
        L[1] = link_to(REL(SUPPORTS), c[7]);
        L[2] = link_to(REL(DERIVED_FROM), c[5]);
        submit(g, s, x->id, KIND(FINDING), &f, L, 3);
        return;
    }
    case 12: {
        Loopledger__V1__Adjustment a = LOOPLEDGER__V1__ADJUSTMENT__INIT;
        a.category = LOOPLEDGER__V1__REFINEMENT__REFINEMENT_STRATEGIC_APPROACH;
        a.change = text;
        L[0] = link_to(REL(ADDRESSES), c[11]);
        submit(g, s, x->id, KIND(ADJUSTMENT), &a, L, 1);
        return;
    }
    case 13: {
        Loopledger__V1__Decision d = LOOPLEDGER__V1__DECISION__INIT;
        d.level = LOOPLEDGER__V1__HITL_LEVEL__HITL_LEVEL_REVIEW_AND_APPROVAL;
        d.outcome = LOOPLEDGER__V1__OUTCOME__OUTCOME_APPROVED;
        d.rationale = "approved";
        L[0] = link_to(REL(DECIDES), c[12]);
        submit(g, s, x->id, KIND(DECISION), &d, L, 1);
        return;
    }
    case 14: {
        Loopledger__V1__Review r = LOOPLEDGER__V1__REVIEW__INIT;
        r.cadence = LOOPLEDGER__V1__CADENCE__CADENCE_WEEKLY;
        r.notes = text;
        L[0] = link_to(REL(REVIEWS), c[12]);
        submit(g, s, x->id, KIND(REVIEW), &r, L, 1);
        return;
    }
    case 15: {
        Loopledger__V1__Alert a = LOOPLEDGER__V1__ALERT__INIT;
        a.metric = "conversion_rate";
        a.detector = LOOPLEDGER__V1__DETECTOR__DETECTOR_DRIFT;
        a.baseline = 1.1;
        a.current = 0.9;
        L[0] = link_to(REL(DERIVED_FROM), c[4]);
        submit(g, s, x->id, KIND(ALERT), &a, L, 1);
        return;
    }
    case 16: /* every 4th turn refutes the previous turn's hypothesis */
        if (cyc % 4 == 3) {
            Loopledger__V1__Finding f;
            finding_body(&f, text, LOOPLEDGER__V1__FINDING_SOURCE__FINDING_SOURCE_POST_CAMPAIGN_ANALYSIS);
            L[0] = link_to(REL(REFUTES), p[7]);
            submit(g, s, x->id, KIND(FINDING), &f, L, 1);
            return;
        }
        measurement(g, s, x, c[0], 0, 0, 0);
        return;
    case 17: /* every 10th turn corrects the qualitative finding */
        if (cyc % 10 == 9) {
            Loopledger__V1__Correction k = LOOPLEDGER__V1__CORRECTION__INIT;
            k.reason = "survey sample was not representative";
            L[0] = link_to(REL(SUPERSEDES), c[6]);
            submit(g, s, x->id, KIND(CORRECTION), &k, L, 1);
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
            L[n++] = link_to(REL(SPAWNED_BY), c[11]);
            L[n++] = link_to(REL(SPAWNED_BY), c[6]);
            break;
        case 2: case 5: case 8:
            L[n++] = link_to(REL(SPAWNED_BY), c[5]);
            break;
        default:
            L[n++] = link_to(REL(SPAWNED_BY), c[6]);
            L[n++] = link_to(REL(SPAWNED_BY), p[11]);
            break;
        }
        submit(g, s, ini, KIND(ROADMAP_PROJECT), &rp, L, n);
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
    ll_store_t *st;
    ll_ledger_t *lg;
    ll_key_t *note_key, *actor_key, *admin;
    uint8_t pub[LL_PUBKEY_LEN];
    ll_append_result_t r;
    gen_t g = {0};
    wave_t w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, ""};
    char path[4096];

    if (ll_key_generate(&note_key) || ll_key_generate(&actor_key) || ll_key_load(keyfile, &admin))
        die("keys");
    snprintf(path, sizeof path, "%s/note.key", dir);
    if (ll_key_save(note_key, path))
        die("cannot write note.key (is the directory new?)");
    snprintf(path, sizeof path, "%s/actor.key", dir);
    if (ll_key_save(actor_key, path))
        die("cannot write actor.key");
    if (ll_store_open(dir, NULL, &st))
        die("cannot open the data directory");
    ll_ledger_config_t c = {.note_key = note_key, .actor_key = actor_key,
                            .origin = "bench.loopledger/roadmap"};
    if (ll_ledger_open(st, &c, &lg))
        die("cannot open the ledger");
    if (ll_store_committed_size(st) != 0)
        die("the data directory already holds a ledger");
    ll_key_public(admin, pub);
    if (ll_ledger_genesis(lg, "admin", pub, &r))
        die("genesis failed");
    g.lg = lg;
    g.key = admin;

    ini_t *ini = calloc((size_t)k, sizeof *ini);
    slot_t *slots = calloc((size_t)k, sizeof *slots);
    for (int i = 0; i < k; i++)
        snprintf(ini[i].id, sizeof ini[i].id, "ini-%03d", i);
    double t0 = now_s();
    int steps = 1 + cycles * PHASES;
    for (int step = 0; step < steps; step++) {
        w.pending = k;
        for (int i = 0; i < k; i++) {
            slots[i].w = &w;
            next_entry(&g, &ini[i], &slots[i]);
        }
        pthread_mutex_lock(&w.lock);
        while (w.pending)
            pthread_cond_wait(&w.done, &w.lock);
        pthread_mutex_unlock(&w.lock);
        if (w.errors) {
            fprintf(stderr, "ll-roadmapbench: entry refused: %s\n", w.first_error);
            exit(1);
        }
        for (int i = 0; i < k; i++)
            remember(&ini[i], slots[i].seq);
    }
    double secs = now_s() - t0;
    uint64_t size = ll_store_committed_size(st);
    printf("generated %" PRIu64 " entries (%d initiatives x %d turns, %" PRIu64
           " roadmap projects in roadmap-00..09) in %.1f s, %.0f entries/s\n",
           size, k, cycles, g.projects, secs, (double)(size - 1) / secs);
    ll_ledger_close(lg);
    ll_store_close(st);
    ll_key_free(note_key);
    ll_key_free(actor_key);
    ll_key_free(admin);
    free(ini);
    free(slots);
    return 0;
}

/* ---- measure ---- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void *call_or_die(ll_client_t *c, const char *method, const ProtobufCMessage *req,
                         const ProtobufCMessageDescriptor *rd, double *ms)
{
    size_t n = protobuf_c_message_get_packed_size(req);
    uint8_t *buf = malloc(n ? n : 1);
    ll_reply_t r;
    protobuf_c_message_pack(req, buf);
    double t0 = now_s();
    if (ll_client_unary(c, method, buf, n, 60000, &r) || r.code != GRPC_STATUS_OK) {
        fprintf(stderr, "ll-roadmapbench: %s: %s\n", method, r.message);
        exit(1);
    }
    *ms = (now_s() - t0) * 1e3;
    free(buf);
    void *m = protobuf_c_message_unpack(rd, NULL, r.resp_len, r.resp);
    ll_reply_free(&r);
    if (!m)
        die("malformed response");
    return m;
}

static void report(const char *what, double *v, int n, const char *extra)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    printf("%-36s median %8.3f ms  p99 %8.3f ms  (%d calls%s%s)\n", what, v[n / 2],
           v[n * 99 / 100], n, extra[0] ? "; " : "", extra);
}

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
        call_or_die(c, "/loopledger.v1.RoadmapService/Prioritize", &pr.base,
                    &loopledger__v1__prioritize_response__descriptor, &t);
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
        p = call_or_die(c, "/loopledger.v1.RoadmapService/Prioritize", &pr.base,
                        &loopledger__v1__prioritize_response__descriptor, &ms[i]);
        protobuf_c_message_free_unpacked(&p->base, NULL);
    }
    snprintf(extra, sizeof extra, "ranks all %" PRIu64 " projects, page of 50 explained", total);
    report("Prioritize (all projects)", ms, calls, extra);

    uint64_t matched = 0;
    for (int i = 0; i < calls; i++) {
        char ini[32];
        snprintf(ini, sizeof ini, "roadmap-%02d", i % 10);
        Loopledger__V1__PrioritizeRequest r = LOOPLEDGER__V1__PRIORITIZE_REQUEST__INIT;
        r.initiative = ini;
        p = call_or_die(c, "/loopledger.v1.RoadmapService/Prioritize", &r.base,
                        &loopledger__v1__prioritize_response__descriptor, &ms[i]);
        matched += p->total;
        protobuf_c_message_free_unpacked(&p->base, NULL);
    }
    snprintf(extra, sizeof extra, "one roadmap-NN initiative, avg %.0f projects ranked",
             (double)matched / calls);
    report("Prioritize (initiative filter)", ms, calls, extra);

    matched = 0;
    for (int i = 0; i < calls; i++) {
        Loopledger__V1__PrioritizeRequest r = LOOPLEDGER__V1__PRIORITIZE_REQUEST__INIT;
        r.as_of_size = size / 2;
        r.half_life_days = 30;
        p = call_or_die(c, "/loopledger.v1.RoadmapService/Prioritize", &r.base,
                        &loopledger__v1__prioritize_response__descriptor, &ms[i]);
        matched = p->total;
        protobuf_c_message_free_unpacked(&p->base, NULL);
    }
    snprintf(extra, sizeof extra, "as of size %" PRIu64 ", %" PRIu64 " projects", size / 2,
             matched);
    report("Prioritize (as of half the tree)", ms, calls, extra);

    if (exp) {
        for (int i = 0; i < calls; i++) {
            Loopledger__V1__GetExperimentReadoutRequest r =
                LOOPLEDGER__V1__GET_EXPERIMENT_READOUT_REQUEST__INIT;
            r.experiment_seq = exp;
            Loopledger__V1__ExperimentReadout *x =
                call_or_die(c, "/loopledger.v1.RoadmapService/GetExperimentReadout", &r.base,
                            &loopledger__v1__experiment_readout__descriptor, &ms[i]);
            protobuf_c_message_free_unpacked(&x->base, NULL);
        }
        snprintf(extra, sizeof extra, "experiment #%" PRIu64, exp);
        report("GetExperimentReadout", ms, calls, extra);
    }

    /* Every initiative once (it also names them), then one at a time. */
    Loopledger__V1__GetLoopHealthRequest all = LOOPLEDGER__V1__GET_LOOP_HEALTH_REQUEST__INIT;
    Loopledger__V1__GetLoopHealthResponse *every =
        call_or_die(c, "/loopledger.v1.RoadmapService/GetLoopHealth", &all.base,
                    &loopledger__v1__get_loop_health_response__descriptor, &t);
    printf("%-36s %8.3f ms  (one call; %zu initiatives)\n", "GetLoopHealth (every initiative)", t,
           every->n_initiatives);
    for (int i = 0; i < calls && every->n_initiatives; i++) {
        Loopledger__V1__GetLoopHealthRequest r = LOOPLEDGER__V1__GET_LOOP_HEALTH_REQUEST__INIT;
        r.initiative = every->initiatives[(size_t)i % every->n_initiatives]->initiative;
        Loopledger__V1__GetLoopHealthResponse *x =
            call_or_die(c, "/loopledger.v1.RoadmapService/GetLoopHealth", &r.base,
                        &loopledger__v1__get_loop_health_response__descriptor, &ms[i]);
        protobuf_c_message_free_unpacked(&x->base, NULL);
    }
    report("GetLoopHealth (one initiative)", ms, calls, "");
    protobuf_c_message_free_unpacked(&every->base, NULL);

    for (int i = 0; i < calls; i++) {
        Loopledger__V1__GetCheckpointRequest r = LOOPLEDGER__V1__GET_CHECKPOINT_REQUEST__INIT;
        Loopledger__V1__GetCheckpointResponse *cp =
            call_or_die(c, "/loopledger.v1.LedgerService/GetCheckpoint", &r.base,
                        &loopledger__v1__get_checkpoint_response__descriptor, &ms[i]);
        protobuf_c_message_free_unpacked(&cp->base, NULL);
    }
    report("GetCheckpoint (reference)", ms, calls, "");
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
