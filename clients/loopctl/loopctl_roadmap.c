/*
 * loopctl_roadmap: the RoadmapService commands, as tables for people and
 * as the answer messages (lc_pbjson) for scripts (--json).
 *
 *   roadmap [--initiative I] [--application A] [--status S] [--half-life DAYS]
 *           [--as-of SIZE|TIME] [--limit N] [--page TOKEN] [--explain]
 *   readout EXPERIMENT_SEQ [--metric M] [--segment S] [--as-of SIZE|TIME]
 *   loop-health [INITIATIVE] [--as-of SIZE|TIME] [--now T]
 *
 * `loop-health`, not `health`: `health` already is the server's
 * grpc.health.v1 check.
 *
 * The roadmap table shows every component of each score (README "Roadmap
 * scoring") and the sequence numbers of the evidence that produced it, so
 * a reader can recompute a rank by hand and audit each entry with
 * `loopctl get` / `verify`.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lc_pbjson.h"
#include "ll_err.h"
#include "loopctl_roadmap.h"
#include "loopctl_rpc.h"
#include "loopctl_util.h"
#include "loopledger/v1/loop.pb-c.h"
#include "loopledger/v1/roadmap.pb-c.h"

#define SVC "/loopledger.v1.RoadmapService/"

static void print_json_message(const ProtobufCMessage *m)
{
    ll_jw_t jw;
    ll_jw_init(&jw, 1);
    lc_pbjson_write(&jw, m);
    lc_print_json(&jw);
}

static int enum_arg(const ProtobufCEnumDescriptor *d, const char *v, const char *what)
{
    int x;
    if (lc_pbdesc_enum_value(d, v, &x))
        lc_die("%s: unknown value \"%s\"", what, v);
    return x;
}

static const char *class_name(int c)
{
    switch (c) {
    case LOOPLEDGER__V1__EVIDENCE_CLASS__EVIDENCE_CLASS_EXPERIMENT: return "experiment";
    case LOOPLEDGER__V1__EVIDENCE_CLASS__EVIDENCE_CLASS_OBSERVATIONAL: return "observational";
    case LOOPLEDGER__V1__EVIDENCE_CLASS__EVIDENCE_CLASS_QUALITATIVE: return "qualitative";
    default: return "?";
    }
}

/* "#3 #7 #9" (at most max, then "+N"), into out[cap]. */
static void seq_list(const uint64_t *v, size_t n, size_t max, char *out, size_t cap)
{
    size_t at = 0;
    out[0] = 0;
    for (size_t i = 0; i < n && i < max && at < cap; i++)
        at += (size_t)snprintf(out + at, cap - at, "%s#%" PRIu64, i ? " " : "", v[i]);
    if (n > max && at < cap)
        snprintf(out + at, cap - at, " +%zu", n - max);
    if (!n)
        snprintf(out, cap, "-");
}

static void explain(const Loopledger__V1__RankedProject *p)
{
    char src[40];
    for (size_t i = 0; i < p->n_evidence; i++) {
        const Loopledger__V1__EvidenceItem *e = p->evidence[i];
        int refutes = e->role == LOOPLEDGER__V1__EVIDENCE_ROLE__EVIDENCE_ROLE_REFUTES;
        printf("        %s #%-6" PRIu64 " %-13s %-24s w %.2f x decay %.3f (%.1f d) = %.3f",
               refutes ? "refutes " : "supports", e->seq, class_name(e->class_),
               lc_pbdesc_enum_name(&loopledger__v1__finding_source__descriptor, e->source, src,
                                   sizeof src),
               e->weight, e->decay, e->age_days, e->contribution);
        if (e->class_ == LOOPLEDGER__V1__EVIDENCE_CLASS__EVIDENCE_CLASS_EXPERIMENT)
            printf("  [experiment #%" PRIu64 ", p = %.3g]", e->experiment_seq, e->p_value);
        else if (e->note[0]) /* an untrustworthy or underpowered experiment */
            printf("  [experiment #%" PRIu64 ": %s]", e->experiment_seq, e->note);
        if (refutes)
            printf("  [hypothesis #%" PRIu64 "]", e->hypothesis_seq);
        if (e->superseded)
            printf("  [superseded by #%" PRIu64 ": not counted]", e->superseded_by);
        printf("\n");
    }
}

int lc_cmd_roadmap(int argc, char **argv)
{
    Loopledger__V1__PrioritizeRequest req = LOOPLEDGER__V1__PRIORITIZE_REQUEST__INIT;
    int want_explain = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--explain")) {
            want_explain = 1;
            continue;
        }
        if (!v || a[0] != '-')
            lc_die("roadmap: unexpected argument %s (see loopctl --help)", a);
        i++;
        if (!strcmp(a, "--initiative")) req.initiative = (char *)v;
        else if (!strcmp(a, "--application"))
            req.application = enum_arg(&loopledger__v1__application__descriptor, v, a);
        else if (!strcmp(a, "--status"))
            req.status = enum_arg(&loopledger__v1__project_status__descriptor, v, a);
        else if (!strcmp(a, "--half-life")) {
            char *end;
            req.half_life_days = strtod(v, &end);
            if (*end || end == v)
                lc_die("--half-life: not a number of days: %s", v);
        } else if (!strcmp(a, "--as-of")) req.as_of_size = lc_parse_as_of(v, a);
        else if (!strcmp(a, "--limit")) req.page_size = (uint32_t)lc_parse_u64(v, a);
        else if (!strcmp(a, "--page")) req.page_token = (char *)v;
        else lc_die("roadmap: unknown option %s", a);
    }
    Loopledger__V1__PrioritizeResponse *r =
        lc_rpc(SVC "Prioritize", &req.base, &loopledger__v1__prioritize_response__descriptor);
    if (lc_opts.json) {
        print_json_message(&r->base);
        protobuf_c_message_free_unpacked(&r->base, NULL);
        return 0;
    }
    char when[40], app[40], evid[96];
    lc_format_time(r->as_of_unix_nanos, when);
    printf("as of tree size %" PRIu64 " (%s), half-life %g d: %" PRIu64
           " project%s, score = reach x impact x confidence / effort\n",
           r->as_of_size, when, r->half_life_days, r->total, r->total == 1 ? "" : "s");
    if (r->n_projects)
        printf("%-4s %-7s %12s %10s %6s %6s %6s %6s %6s %6s  %-12s %-22s %s\n", "RANK", "SEQ",
               "SCORE", "REACH", "IMPACT", "EFFORT", "CONF", "EVID", "DECAY", "REFUT",
               "APPLICATION", "EVIDENCE", "TITLE");
    for (size_t i = 0; i < r->n_projects; i++) {
        const Loopledger__V1__RankedProject *p = r->projects[i];
        char seq[24];
        snprintf(seq, sizeof seq, "#%" PRIu64, p->project->seq);
        seq_list(p->evidence_seqs, p->n_evidence_seqs, 4, evid, sizeof evid);
        char score[32], reach[32], impact[32], effort[32];
        printf("%-4u %-7s %12s %10s %6s %6s %6.3f %6.3f %6.3f %6.3f  %-12s %-22s %s%s\n",
               p->rank, seq, lc_fmt_num(p->score, score, sizeof score),
               lc_fmt_num(p->reach, reach, sizeof reach),
               lc_fmt_num(p->impact, impact, sizeof impact),
               lc_fmt_num(p->effort, effort, sizeof effort), p->confidence,
               p->evidence_weight, p->decay, p->refutation_penalty,
               lc_pbdesc_enum_name(&loopledger__v1__application__descriptor, p->application,
                                   app, sizeof app),
               evid, p->title, p->speculative ? "  [speculative: confidence capped]" : "");
        if (want_explain)
            explain(p);
    }
    if (r->next_page_token[0])
        printf("more: loopctl roadmap --page %s\n", r->next_page_token);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    return 0;
}

static const char *verdict_word(int v)
{
    switch (v) {
    case LOOPLEDGER__V1__VERDICT__VERDICT_SHIP: return "SHIP";
    case LOOPLEDGER__V1__VERDICT__VERDICT_ROLL_BACK: return "ROLL BACK";
    case LOOPLEDGER__V1__VERDICT__VERDICT_KEEP_RUNNING: return "KEEP RUNNING";
    case LOOPLEDGER__V1__VERDICT__VERDICT_INCONCLUSIVE: return "INCONCLUSIVE";
    case LOOPLEDGER__V1__VERDICT__VERDICT_UNTRUSTWORTHY: return "UNTRUSTWORTHY";
    default: return "-";
    }
}

static const char *enum_word(const ProtobufCEnumDescriptor *d, int v, char *buf, size_t cap)
{
    return lc_pbdesc_enum_name(d, v, buf, cap);
}

/* The ten-second read: verdict first (an SRM failure before anything
 * else), then the plan and its provenance, sample and power, the arms
 * with raw and corrected p-values, the guardrails. */
static void print_readout(const Loopledger__V1__ExperimentReadout *r)
{
    const Loopledger__V1__PlanCheck *pc = r->plan;
    const Loopledger__V1__SampleRatioCheck *sc = r->srm;
    char b1[48], b2[48], b3[48], b4[48];
    if (sc && sc->mismatch)
        printf("UNTRUSTWORTHY  sample ratio mismatch (chi-square %.2f, %u df, p %.3g < 0.001): "
               "do not ship; check assignment and logging\n",
               sc->chi_square, sc->degrees_of_freedom, sc->p_value);
    printf("experiment #%" PRIu64 " %s: %s%s%s (tree size %" PRIu64 ")\n", r->experiment->seq,
           r->experiment->summary, r->metric, r->segment[0] ? ", segment " : "", r->segment,
           r->as_of_size);
    printf("%-9s %s%s%s  %s\n", "VERDICT", verdict_word(r->verdict),
           r->verdict_variant[0] ? " " : "", r->verdict_variant, r->verdict_reason);
    if (pc && pc->has_plan && pc->plan) {
        const Loopledger__V1__AnalysisPlan *p = pc->plan;
        printf("%-9s %s, MDE %g%%, alpha %g, power %g, %" PRIu64 "/arm%s, %s, %s, correction %s\n",
               "PLAN", enum_word(&loopledger__v1__direction__descriptor, p->direction, b1, sizeof b1),
               p->mde_percent, p->alpha, p->power, p->sample_size_per_arm,
               pc->sample_size_computed ? " (computed)" : "",
               enum_word(&loopledger__v1__analysis_mode__descriptor, p->analysis, b2, sizeof b2),
               enum_word(&loopledger__v1__decision_rule__descriptor, p->rule, b3, sizeof b3),
               enum_word(&loopledger__v1__multiple_testing__descriptor, p->correction, b4, sizeof b4));
        if (pc->first_measurement_seq)
            printf("%-9s recorded in #%" PRIu64 ", %s the first measurement #%" PRIu64 "\n", "",
                   pc->plan_seq, pc->recorded_before_data ? "before" : "AFTER",
                   pc->first_measurement_seq);
        else
            printf("%-9s recorded in #%" PRIu64 ", no measurement yet\n", "", pc->plan_seq);
        for (size_t i = 0; i < pc->n_changed_after_data; i++)
            printf("%-9s plan changed after data: #%" PRIu64 "\n", "", pc->changed_after_data[i]);
        printf("%-9s %.0f%% of the planned sample per arm%s\n", "SAMPLE", 100 * r->sample_progress,
               r->underpowered ? " (underpowered)" : "");
    } else {
        printf("%-9s none recorded: no pre-registered verdict\n", "PLAN");
    }
    if (sc && sc->checked && !sc->mismatch)
        printf("%-9s ok (chi-square %.2f, %u df, p %.3g against the planned allocation)\n", "SRM",
               sc->chi_square, sc->degrees_of_freedom, sc->p_value);
    else if (sc && !sc->checked)
        printf("%-9s %s\n", "SRM", sc->note);
    int seq = pc && pc->plan &&
              pc->plan->analysis == LOOPLEDGER__V1__ANALYSIS_MODE__ANALYSIS_MODE_SEQUENTIAL;
    printf("%-16s %10s %10s %9s %20s %9s %9s %6s  %s\n", "ARM", "N", "VALUE", "LIFT%",
           "95% CI OF LIFT%", "P", seq ? "P(ALWAYS)" : "P(CORR)", "POWER", "VERDICT");
    printf("%-16s %10" PRIu64 " %10.5g\n", r->control->arm, r->control->sample_size,
           r->control->value);
    for (size_t i = 0; i < r->n_variants; i++) {
        const Loopledger__V1__VariantReadout *v = r->variants[i];
        printf("%-16s %10" PRIu64 " %10.5g", v->variant->arm, v->variant->sample_size,
               v->variant->value);
        if (v->test == LOOPLEDGER__V1__READOUT_TEST__READOUT_TEST_UNSPECIFIED) {
            printf("  no test: %s\n", v->note);
            continue;
        }
        char ci[48];
        snprintf(ci, sizeof ci, "[%+.2f, %+.2f]", v->lift_ci_low_percent, v->lift_ci_high_percent);
        printf(" %+9.2f %20s %9.3g %9.3g %6.2f  %s%s\n", v->lift_percent, ci, v->p_value,
               v->corrected_p_value, v->power, verdict_word(v->verdict),
               v->significant ? " *" : "");
        if (seq)
            printf("%-16s always-valid 95%% CI of the difference [%.4g, %.4g] (mSPRT)\n", "",
                   v->sequential_ci_low, v->sequential_ci_high);
        if (v->test == LOOPLEDGER__V1__READOUT_TEST__READOUT_TEST_WELCH_T)
            printf("%-16s Welch t = %.4f, df %.1f; %s\n", "", v->statistic, v->degrees_of_freedom,
                   v->verdict_reason);
        else
            printf("%-16s two-proportion z = %.4f; %s\n", "", v->statistic, v->verdict_reason);
    }
    if (r->n_guardrails)
        printf("%-16s %-16s %9s %9s %11s  %s\n", "GUARDRAIL", "VARIANT", "ALLOWED", "LIFT%",
               "P(1-SIDED)", "STATUS");
    for (size_t i = 0; i < r->n_guardrails; i++) {
        const Loopledger__V1__GuardrailReadout *g = r->guardrails[i];
        char al[32];
        snprintf(al, sizeof al, "%s%g%%",
                 g->direction == LOOPLEDGER__V1__DIRECTION__DIRECTION_INCREASE ? "-" : "+",
                 g->allowed_degradation_percent);
        if (g->test == LOOPLEDGER__V1__READOUT_TEST__READOUT_TEST_UNSPECIFIED)
            printf("%-16s %-16s %9s %9s %11s  not measured: %s\n", g->metric, g->variant, al, "-",
                   "-", g->note);
        else
            printf("%-16s %-16s %9s %+9.2f %11.3g  %s\n", g->metric, g->variant, al,
                   g->lift_percent, g->p_value, g->breached ? "BREACHED" : "ok");
    }
}

int lc_cmd_readout(int argc, char **argv)
{
    Loopledger__V1__GetExperimentReadoutRequest req =
        LOOPLEDGER__V1__GET_EXPERIMENT_READOUT_REQUEST__INIT;
    int have = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (a[0] != '-' && !have) {
            req.experiment_seq = lc_parse_u64(a, "EXPERIMENT_SEQ");
            have = 1;
            continue;
        }
        if (!v)
            lc_die("readout: unexpected argument %s", a);
        i++;
        if (!strcmp(a, "--metric")) req.metric = (char *)v;
        else if (!strcmp(a, "--segment")) req.segment = (char *)v;
        else if (!strcmp(a, "--as-of")) req.as_of_size = lc_parse_as_of(v, a);
        else lc_die("readout: unknown option %s", a);
    }
    if (!have)
        lc_die("usage: loopctl readout EXPERIMENT_SEQ [--metric M] [--segment S] [--as-of SIZE|TIME]");
    Loopledger__V1__ExperimentReadout *r = lc_rpc(
        SVC "GetExperimentReadout", &req.base, &loopledger__v1__experiment_readout__descriptor);
    if (lc_opts.json) {
        print_json_message(&r->base);
        protobuf_c_message_free_unpacked(&r->base, NULL);
        return 0;
    }
    print_readout(r);
    char ms[96], cb[96];
    seq_list(r->measurement_seqs, r->n_measurement_seqs, 8, ms, sizeof ms);
    seq_list(r->concluded_by, r->n_concluded_by, 8, cb, sizeof cb);
    printf("measurements: %s; concluded by: %s\n", ms, cb);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    return 0;
}

int lc_cmd_loop_health(int argc, char **argv)
{
    Loopledger__V1__GetLoopHealthRequest req = LOOPLEDGER__V1__GET_LOOP_HEALTH_REQUEST__INIT;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (a[0] != '-' && !req.initiative[0]) {
            req.initiative = (char *)a;
            continue;
        }
        if (!v)
            lc_die("loop-health: unexpected argument %s", a);
        i++;
        if (!strcmp(a, "--as-of")) req.as_of_size = lc_parse_as_of(v, a);
        else if (!strcmp(a, "--now")) req.now_unix_nanos = lc_parse_time(v, a);
        else lc_die("loop-health: unknown option %s", a);
    }
    Loopledger__V1__GetLoopHealthResponse *r = lc_rpc(
        SVC "GetLoopHealth", &req.base, &loopledger__v1__get_loop_health_response__descriptor);
    if (lc_opts.json) {
        print_json_message(&r->base);
        protobuf_c_message_free_unpacked(&r->base, NULL);
        return 0;
    }
    char when[40], cad[40];
    lc_format_time(r->now_unix_nanos, when);
    printf("loop health as of tree size %" PRIu64 ", now %s\n", r->as_of_size, when);
    printf("%-18s %8s %8s %7s %16s %7s %6s %8s %8s %6s  %s\n", "INITIATIVE", "FINDINGS",
           "ACTED", "SHARE", "MEDIAN F->ADJ", "EXPER.", "CYCLES", "EXP/CYC", "REVIEWS",
           "DRIFT", "CADENCES");
    for (size_t i = 0; i < r->n_initiatives; i++) {
        const Loopledger__V1__LoopHealth *h = r->initiatives[i];
        char median[32];
        double s = h->median_finding_to_adjustment_seconds;
        if (!h->findings_addressed)
            snprintf(median, sizeof median, "-");
        else if (s >= 86400)
            snprintf(median, sizeof median, "%.1f d", s / 86400);
        else if (s >= 3600)
            snprintf(median, sizeof median, "%.1f h", s / 3600);
        else
            snprintf(median, sizeof median, "%.3g s", s);
        printf("%-18s %8" PRIu64 " %8" PRIu64 " %6.0f%% %16s %7" PRIu64 " %6u %8.2f %7.0f%% %6" PRIu64
               " ",
               h->initiative, h->findings, h->findings_acted_on, 100 * h->acted_on_share, median,
               h->experiments, h->cycles, h->experiments_per_cycle, 100 * h->review_adherence,
               h->open_drift_alerts);
        for (size_t j = 0; j < h->n_cadences; j++)
            printf(" %s %u/%u",
                   lc_pbdesc_enum_name(&loopledger__v1__cadence__descriptor,
                                       h->cadences[j]->cadence, cad, sizeof cad),
                   h->cadences[j]->reviewed, h->cadences[j]->periods);
        if (!h->n_cadences)
            printf(" -");
        printf("\n");
    }
    protobuf_c_message_free_unpacked(&r->base, NULL);
    return 0;
}

void lc_print_kpis(const Loopledger__V1__InitiativeState *s)
{
    char dir[32];
    if (!s->n_kpis)
        return;
    printf("\nKPIs against targets:\n");
    printf("    %-22s %-16s %10s %10s %10s  %-10s %-10s %s\n", "METRIC", "SEGMENT", "LATEST",
           "TARGET", "GAP", "TRACK", "TREND", "LAST VALUES (oldest first)");
    for (size_t i = 0; i < s->n_kpis; i++) {
        const Loopledger__V1__KpiStatus *k = s->kpis[i];
        char vals[160] = "";
        size_t at = 0;
        for (size_t j = 0; j < k->n_recent_values && at + 16 < sizeof vals; j++)
            at += (size_t)snprintf(vals + at, sizeof vals - at, "%s%g", j ? " " : "",
                                   k->recent_values[j]);
        lc_pbdesc_enum_name(&loopledger__v1__direction__descriptor, k->kpi->direction, dir,
                            sizeof dir);
        if (k->track == LOOPLEDGER__V1__KPI_TRACK__KPI_TRACK_UNMEASURED) {
            printf("    %-22s %-16s %10s %9g%s %10s  %-10s\n", k->kpi->metric,
                   k->kpi->segment[0] ? k->kpi->segment : "-", "-", k->kpi->target, k->kpi->unit,
                   "-", "unmeasured");
            continue;
        }
        printf("    %-22s %-16s %9g%s %9g%s %+10.4g  %-10s %-10s %s (#%" PRIu64 ", %s)\n",
               k->kpi->metric, k->kpi->segment[0] ? k->kpi->segment : "-", k->latest_value,
               k->kpi->unit, k->kpi->target, k->kpi->unit, k->gap,
               k->track == LOOPLEDGER__V1__KPI_TRACK__KPI_TRACK_ON_TRACK ? "on track" : "OFF TRACK",
               k->trend[0] ? k->trend : "-", vals, k->latest_seq, dir);
    }
}
