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

/* Per-initiative memory of the loop so far. */
typedef struct ini {
    char id[32];
    int step;
    uint64_t charter, deploy, meas, finding, hypo, exper, finding2, adj, decision;
    uint64_t concluded; /* latest concluded experiment */
    double rollout;
} ini_t;

typedef struct gen {
    ll_ledger_t *lg;
    ll_key_t *key;
    uint64_t nonce;
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

/* Submits the next entry of initiative x; it is written into s->seq. The
 * previous wave's results are already in x. */
static void next_entry(gen_t *g, ini_t *x, slot_t *s, uint64_t *cycle_count)
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
        submit(g, s, x->id, KIND(CHARTER), &c, NULL, 0);
        return;
    }
    switch (phase) {
    case 0: { /* deploy (the pilot, or a redeploy implementing the adjustment) */
        Loopledger__V1__Deployment d = LOOPLEDGER__V1__DEPLOYMENT__INIT;
        d.version = text;
        if (cyc == 0) {
            d.rollout_percent = 10;
            submit(g, s, x->id, KIND(DEPLOYMENT), &d, NULL, 0);
        } else {
            d.rollout_percent = x->rollout < 100 ? x->rollout + 1 : 100;
            size_t n = 0;
            L[n++] = link_to(REL(CITES), x->concluded);
            if (x->adj != UINT64_MAX)
                L[n++] = link_to(REL(IMPLEMENTS), x->adj);
            submit(g, s, x->id, KIND(DEPLOYMENT), &d, L, n);
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
        L[0] = link_to(REL(MEASURES), x->deploy);
        submit(g, s, x->id, KIND(MEASUREMENT), &m, L, 1);
        return;
    }
    case 3: { /* learn */
        Loopledger__V1__Finding f = LOOPLEDGER__V1__FINDING__INIT;
        f.summary = text;
        f.evidence = LOOPLEDGER__V1__EVIDENCE__EVIDENCE_QUANTITATIVE;
        f.source = LOOPLEDGER__V1__FINDING_SOURCE__FINDING_SOURCE_DASHBOARD;
        f.diagnosis = LOOPLEDGER__V1__DIAGNOSIS__DIAGNOSIS_CONTENT_GAP;
        L[0] = link_to(REL(DERIVED_FROM), x->meas);
        submit(g, s, x->id, KIND(FINDING), &f, L, 1);
        return;
    }
    case 4: { /* hypothesis, except every 3rd cycle: that finding stays unacted */
        Loopledger__V1__Hypothesis h = LOOPLEDGER__V1__HYPOTHESIS__INIT;
        h.statement = text;
        if (cyc % 3 == 2) {
            submit(g, s, x->id, KIND(HYPOTHESIS), &h, NULL, 0);
        } else {
            L[0] = link_to(REL(DERIVED_FROM), x->finding);
            submit(g, s, x->id, KIND(HYPOTHESIS), &h, L, 1);
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
            submit(g, s, x->id, KIND(NOTE), &n, NULL, 0);
        } else {
            L[0] = link_to(REL(TESTS), x->hypo);
            submit(g, s, x->id, KIND(EXPERIMENT), &e, L, 1);
        }
        return;
    }
    case 6: { /* alert; every 4th stays undiagnosed */
        Loopledger__V1__Alert a = LOOPLEDGER__V1__ALERT__INIT;
        a.metric = "ctr";
        a.detector = LOOPLEDGER__V1__DETECTOR__DETECTOR_ANOMALY;
        a.diagnosis = cyc % 4 == 3 ? 0 : LOOPLEDGER__V1__DIAGNOSIS__DIAGNOSIS_DATA_PATTERN_SHIFT;
        L[0] = link_to(REL(DERIVED_FROM), x->meas);
        submit(g, s, x->id, KIND(ALERT), &a, L, 1);
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
            L[n++] = link_to(REL(CONCLUDES), x->exper);
            L[n++] = link_to(REL(SUPPORTS), x->hypo);
        }
        submit(g, s, x->id, KIND(FINDING), &f, L, n);
        return;
    }
    case 8: { /* adjust */
        Loopledger__V1__Adjustment a = LOOPLEDGER__V1__ADJUSTMENT__INIT;
        a.category = LOOPLEDGER__V1__REFINEMENT__REFINEMENT_STRATEGIC_APPROACH;
        a.change = text;
        L[0] = link_to(REL(ADDRESSES), x->finding2);
        submit(g, s, x->id, KIND(ADJUSTMENT), &a, L, 1);
        return;
    }
    case 9: { /* decide */
        Loopledger__V1__Decision d = LOOPLEDGER__V1__DECISION__INIT;
        d.level = LOOPLEDGER__V1__HITL_LEVEL__HITL_LEVEL_REVIEW_AND_APPROVAL;
        d.outcome = LOOPLEDGER__V1__OUTCOME__OUTCOME_APPROVED;
        d.rationale = "approved";
        L[0] = link_to(REL(DECIDES), x->adj);
        submit(g, s, x->id, KIND(DECISION), &d, L, 1);
        return;
    }
    case 10: { /* review */
        Loopledger__V1__Review r = LOOPLEDGER__V1__REVIEW__INIT;
        r.cadence = LOOPLEDGER__V1__CADENCE__CADENCE_WEEKLY;
        r.notes = text;
        L[0] = link_to(REL(REVIEWS), x->adj);
        submit(g, s, x->id, KIND(REVIEW), &r, L, 1);
        return;
    }
    default: { /* a roadmap project spawned by the concluding finding */
        Loopledger__V1__RoadmapProject p = LOOPLEDGER__V1__ROADMAP_PROJECT__INIT;
        p.title = text;
        p.status = LOOPLEDGER__V1__PROJECT_STATUS__PROJECT_STATUS_PROPOSED;
        p.reach = 1000 + x->step;
        p.impact = 1;
        p.effort = 2;
        L[0] = link_to(REL(SPAWNED_BY), x->finding2);
        submit(g, s, "roadmap", KIND(ROADMAP_PROJECT), &p, L, 1);
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
    ll_store_t *st;
    ll_ledger_t *lg;
    ll_key_t *note_key, *actor_key, *admin;
    uint8_t pub[LL_PUBKEY_LEN];
    ll_append_result_t r;
    gen_t g = {0};
    wave_t w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, ""};
    uint64_t cycles = 0;

    char path[4096];
    if (ll_key_generate(&note_key) || ll_key_generate(&actor_key) ||
        ll_key_load(keyfile, &admin))
        die("keys");
    /* The server's own keys, where loopledgerd looks for them (0600). */
    snprintf(path, sizeof path, "%s/note.key", dir);
    if (ll_key_save(note_key, path))
        die("cannot write note.key (is the directory new?)");
    snprintf(path, sizeof path, "%s/actor.key", dir);
    if (ll_key_save(actor_key, path))
        die("cannot write actor.key");
    if (ll_store_open(dir, NULL, &st))
        die("cannot open the data directory");
    ll_ledger_config_t c = {.note_key = note_key, .actor_key = actor_key,
                            .origin = "bench.loopledger/loop"};
    if (ll_ledger_open(st, &c, &lg))
        die("cannot open the ledger");
    ll_key_public(admin, pub);
    if (ll_store_committed_size(st) != 0)
        die("the data directory already holds a ledger");
    if (ll_ledger_genesis(lg, "admin", pub, &r))
        die("genesis failed");
    g.lg = lg;
    g.key = admin;

    ini_t *ini = calloc((size_t)k, sizeof *ini);
    slot_t *slots = calloc((size_t)k, sizeof *slots);
    for (int i = 0; i < k; i++)
        snprintf(ini[i].id, sizeof ini[i].id, "ini-%03d", i);
    double t0 = now_s();
    uint64_t written = 1;
    while (written < entries) {
        int n = (int)(entries - written < (uint64_t)k ? entries - written : (uint64_t)k);
        w.pending = n;
        for (int i = 0; i < n; i++) {
            slots[i].w = &w;
            next_entry(&g, &ini[i], &slots[i], &cycles);
        }
        pthread_mutex_lock(&w.lock);
        while (w.pending)
            pthread_cond_wait(&w.done, &w.lock);
        pthread_mutex_unlock(&w.lock);
        if (w.errors) {
            fprintf(stderr, "ll-loopbench: entry refused: %s\n", w.first_error);
            exit(1);
        }
        for (int i = 0; i < n; i++)
            remember(&ini[i], slots[i].seq);
        written += (uint64_t)n;
    }
    double secs = now_s() - t0;
    printf("generated %" PRIu64 " entries (%d initiatives, %" PRIu64
           " loop turns, roadmap projects in \"roadmap\") in %.1f s, %.0f entries/s\n",
           ll_store_committed_size(st), k, cycles, secs, (double)written / secs);
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
    if (ll_client_unary(c, method, buf, n, 30000, &r) || r.code != GRPC_STATUS_OK) {
        fprintf(stderr, "ll-loopbench: %s: %s\n", method, r.message);
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
    printf("%-34s median %7.3f ms  p99 %7.3f ms  (%d calls%s%s)\n", what, v[n / 2],
           v[n * 99 / 100], n, extra[0] ? "; " : "", extra);
}

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
        call_or_die(c, "/loopledger.v1.LedgerService/ListEntries", &lr.base,
                    &loopledger__v1__list_entries_response__descriptor, &t);
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
            call_or_die(c, "/loopledger.v1.LoopService/GetInitiative", &r.base,
                        &loopledger__v1__initiative_state__descriptor, &ms[i]);
        open_total += s->unacted_findings_count + s->open_hypotheses_count +
                      s->running_experiments_count + s->undiagnosed_alerts_count;
        items += s->n_unacted_findings + s->n_open_hypotheses + s->n_running_experiments +
                 s->n_undiagnosed_alerts;
        protobuf_c_message_free_unpacked(&s->base, NULL);
    }
    snprintf(extra, sizeof extra, "avg %.0f open items counted, %.0f listed per answer",
             (double)open_total / calls, (double)items / calls);
    report("GetInitiative", ms, calls, extra);

    for (int i = 0; i < calls; i++) {
        Loopledger__V1__GetLineageRequest r = LOOPLEDGER__V1__GET_LINEAGE_REQUEST__INIT;
        r.seq = projects[(size_t)i % np];
        r.back_hops = 5;
        Loopledger__V1__Lineage *L = call_or_die(c, "/loopledger.v1.LoopService/GetLineage",
                                                 &r.base, &loopledger__v1__lineage__descriptor,
                                                 &ms[i]);
        nodes_total += L->n_nodes;
        /* Its oldest ancestor (a cycle's first measurement or finding) is
         * where the forward walk starts. */
        roots[i] = L->n_nodes ? L->nodes[0]->seq : r.seq;
        protobuf_c_message_free_unpacked(&L->base, NULL);
    }
    snprintf(extra, sizeof extra, "roadmap project, 5 hops back, avg %.1f nodes",
             (double)nodes_total / calls);
    report("GetLineage (5 hops back)", ms, calls, extra);

    nodes_total = 0;
    for (int i = 0; i < calls; i++) {
        /* Forward from a charter: a deliberately wide walk, capped. */
        Loopledger__V1__GetLineageRequest r = LOOPLEDGER__V1__GET_LINEAGE_REQUEST__INIT;
        r.seq = roots[i];
        r.forward_hops = 5;
        Loopledger__V1__Lineage *L = call_or_die(c, "/loopledger.v1.LoopService/GetLineage",
                                                 &r.base, &loopledger__v1__lineage__descriptor,
                                                 &ms[i]);
        nodes_total += L->n_nodes;
        protobuf_c_message_free_unpacked(&L->base, NULL);
    }
    snprintf(extra, sizeof extra, "from that ancestor, 5 hops forward, avg %.1f nodes",
             (double)nodes_total / calls);
    report("GetLineage (5 hops forward)", ms, calls, extra);

    items = 0;
    for (int i = 0; i < calls; i++) {
        Loopledger__V1__ListOpenLoopsRequest r = LOOPLEDGER__V1__LIST_OPEN_LOOPS_REQUEST__INIT;
        r.page_size = 100;
        r.kind = (Loopledger__V1__OpenLoopKind)(1 + i % 4);
        Loopledger__V1__ListOpenLoopsResponse *o =
            call_or_die(c, "/loopledger.v1.LoopService/ListOpenLoops", &r.base,
                        &loopledger__v1__list_open_loops_response__descriptor, &ms[i]);
        items += o->n_loops;
        protobuf_c_message_free_unpacked(&o->base, NULL);
    }
    snprintf(extra, sizeof extra, "page of up to 100 across initiatives, avg %.0f returned",
             (double)items / calls);
    report("ListOpenLoops", ms, calls, extra);

    /* The reference: the cheapest call on the same connection. */
    for (int i = 0; i < calls; i++) {
        Loopledger__V1__GetCheckpointRequest r = LOOPLEDGER__V1__GET_CHECKPOINT_REQUEST__INIT;
        Loopledger__V1__GetCheckpointResponse *cp =
            call_or_die(c, "/loopledger.v1.LedgerService/GetCheckpoint", &r.base,
                        &loopledger__v1__get_checkpoint_response__descriptor, &ms[i]);
        protobuf_c_message_free_unpacked(&cp->base, NULL);
    }
    report("GetCheckpoint (reference)", ms, calls, "");
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
