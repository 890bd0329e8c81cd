/*
 * loopctl_loop: the LoopService commands, as tables for people and as the
 * answer messages (lc_pbjson) for scripts.
 *
 *   state INITIATIVE [--limit N] [--now T]
 *   lineage SEQ [--back N] [--forward N] [--max N]
 *   open-loops [--initiative I] [--kind finding|hypothesis|experiment|alert]
 *              [--limit N]
 *
 * Every entry reference shows "superseded by #N" when a Correction
 * supersedes it: the ledger never rewrites history, so readers must be
 * told which entries no longer stand.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lc_pbjson.h"
#include "ll_err.h"
#include "ll_kinds.h"
#include "ll_loop.h"
#include "loopctl_entry.h"
#include "loopctl_loop.h"
#include "loopctl_roadmap.h"
#include "loopctl_rpc.h"
#include "loopctl_util.h"
#include "loopledger/v1/loop.pb-c.h"

#define SVC "/loopledger.v1.LoopService/"

static const char *ename(const ProtobufCEnumDescriptor *d, int v, char *buf, size_t cap)
{
    return lc_pbdesc_enum_name(d, v, buf, cap);
}

static void print_json_message(const ProtobufCMessage *m)
{
    ll_jw_t jw;
    ll_jw_init(&jw, 1);
    lc_pbjson_write(&jw, m);
    lc_print_json(&jw);
}

static void ref_header(void)
{
    printf("    %-6s %-15s %-16s %-11s %s\n", "SEQ", "KIND", "INITIATIVE", "AUTHOR", "SUMMARY");
}

static void ref_row(const Loopledger__V1__EntryRef *r, const char *mark)
{
    char seq[24];
    snprintf(seq, sizeof seq, "#%" PRIu64, r->seq);
    char ini[24], au[24];
    const char *st = lc_status_word(r->status);
    printf("  %-2s%-6s %-15s %-16s %-11s %s", mark, seq, lc_kind_name(r->kind),
           lc_fit(r->initiative, 16, ini, sizeof ini), lc_fit(r->author, 11, au, sizeof au),
           r->summary);
    if (st[0])
        printf("  [%s]", st);
    if (r->superseded)
        printf("  [superseded by #%" PRIu64 "]", r->superseded_by);
    printf("\n");
}

static void ref_list(const char *title, Loopledger__V1__EntryRef **refs, size_t n,
                     uint64_t count)
{
    printf("\n%s: %" PRIu64 "\n", title, count);
    if (!n)
        return;
    ref_header();
    for (size_t i = 0; i < n; i++)
        ref_row(refs[i], "");
    if (count > n)
        printf("    ... %" PRIu64 " more (--limit)\n", count - n);
}

int lc_superseded(uint64_t seq, uint64_t *by)
{
    /* A lineage of zero hops is the entry's own reference. */
    Loopledger__V1__GetLineageRequest req = LOOPLEDGER__V1__GET_LINEAGE_REQUEST__INIT;
    uint8_t buf[32];
    ll_reply_t r;
    int res = -1;
    req.seq = seq;
    req.max_nodes = 1;
    size_t n = loopledger__v1__get_lineage_request__pack(&req, buf);
    if (ll_client_unary(lc_client(), SVC "GetLineage", buf, n, lc_opts.timeout_ms, &r))
        return -1;
    if (r.code == GRPC_STATUS_OK) {
        Loopledger__V1__Lineage *L = loopledger__v1__lineage__unpack(NULL, r.resp_len, r.resp);
        if (L && L->n_nodes == 1) {
            res = L->nodes[0]->superseded ? 1 : 0;
            *by = L->nodes[0]->superseded_by;
        }
        if (L)
            loopledger__v1__lineage__free_unpacked(L, NULL);
    }
    ll_reply_free(&r);
    return res;
}

int lc_cmd_state(int argc, char **argv)
{
    Loopledger__V1__GetInitiativeRequest req = LOOPLEDGER__V1__GET_INITIATIVE_REQUEST__INIT;
    const char *ini = NULL;
    char e1[48], e2[48], when[40];

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--limit") && i + 1 < argc)
            req.list_limit = (uint32_t)lc_parse_u64(argv[++i], "--limit");
        else if (!strcmp(argv[i], "--now") && i + 1 < argc)
            req.now_unix_nanos = lc_parse_time(argv[++i], "--now");
        else if (!strcmp(argv[i], "--kpi-window") && i + 1 < argc)
            req.kpi_window = (uint32_t)lc_parse_u64(argv[++i], "--kpi-window");
        else if (!strcmp(argv[i], "--as-of") && i + 1 < argc)
            req.as_of_size = lc_parse_as_of(argv[++i], "--as-of");
        else if (argv[i][0] != '-' && !ini)
            ini = argv[i];
        else
            lc_die("state: unexpected argument %s", argv[i]);
    }
    if (!ini)
        lc_die("usage: loopctl state INITIATIVE [--limit N] [--now T] [--as-of SIZE|TIME] [--kpi-window N]");
    req.initiative = (char *)ini;
    Loopledger__V1__InitiativeState *s =
        lc_rpc(SVC "GetInitiative", &req.base, &loopledger__v1__initiative_state__descriptor);
    if (lc_opts.json) {
        print_json_message(&s->base);
        loopledger__v1__initiative_state__free_unpacked(s, NULL);
        return 0;
    }
    printf("initiative %s: %s\n", s->initiative, s->title && s->title[0] ? s->title : "(no charter yet)");
    printf("  application %s   phase %s   cycle %u   stage %s",
           ename(&loopledger__v1__application__descriptor, s->application, e1, sizeof e1),
           ename(&loopledger__v1__phase__descriptor, s->phase, e2, sizeof e2), s->cycle,
           s->stage ? ename(&loopledger__v1__stage__descriptor, s->stage, when, sizeof when)
                    : "none");
    if (s->stage_entry)
        printf(" (#%" PRIu64 " %s)", s->stage_entry->seq, lc_kind_name(s->stage_entry->kind));
    printf("\n  entries %" PRIu64 "   max rollout %g%%", s->entries, s->max_rollout_percent);
    if (s->charter) {
        printf("   charter #%" PRIu64, s->charter->seq);
        if (s->charter->superseded)
            printf(" [superseded by #%" PRIu64 "]", s->charter->superseded_by);
    }
    printf("\n");
    lc_print_kpis(s);
    ref_list("open hypotheses", s->open_hypotheses, s->n_open_hypotheses,
             s->open_hypotheses_count);
    ref_list("running experiments", s->running_experiments, s->n_running_experiments,
             s->running_experiments_count);
    ref_list("findings not acted on", s->unacted_findings, s->n_unacted_findings,
             s->unacted_findings_count);
    ref_list("adjustments awaiting approval", s->adjustments_awaiting_approval,
             s->n_adjustments_awaiting_approval, s->adjustments_awaiting_approval_count);
    ref_list("undiagnosed alerts", s->undiagnosed_alerts, s->n_undiagnosed_alerts,
             s->undiagnosed_alerts_count);
    printf("\noverdue reviews: %zu\n", s->n_overdue_reviews);
    if (s->n_overdue_reviews)
        printf("    %-14s %-26s %s\n", "CADENCE", "LAST REVIEW", "DUE SINCE");
    for (size_t i = 0; i < s->n_overdue_reviews; i++) {
        const Loopledger__V1__OverdueReview *o = s->overdue_reviews[i];
        char last[40] = "never", due[40];
        if (o->last_review_unix_nanos)
            lc_format_time(o->last_review_unix_nanos, last);
        lc_format_time(o->due_unix_nanos, due);
        printf("    %-14s %-26s %s\n", ename(&loopledger__v1__cadence__descriptor, o->cadence, e1, sizeof e1),
               last, due);
    }
    printf("\nscaling plans: %zu\n", s->n_scaling_plans);
    for (size_t i = 0; i < s->n_scaling_plans; i++) {
        const Loopledger__V1__ScalingReadiness *p = s->scaling_plans[i];
        if (p->plan) {
            ref_header();
            ref_row(p->plan, "");
        }
        printf("    readiness %u/%u: %s\n", p->addressed, p->required, p->ready ? "READY" : "not ready");
        if (p->n_missing) {
            printf("    missing:");
            for (size_t j = 0; j < p->n_missing; j++)
                printf(" %s", p->missing[j]);
            printf("\n");
        }
    }
    loopledger__v1__initiative_state__free_unpacked(s, NULL);
    return 0;
}

int lc_cmd_lineage(int argc, char **argv)
{
    Loopledger__V1__GetLineageRequest req = LOOPLEDGER__V1__GET_LINEAGE_REQUEST__INIT;
    int have_seq = 0;

    req.back_hops = 5;
    req.forward_hops = 5;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--back") && i + 1 < argc)
            req.back_hops = (uint32_t)lc_parse_u64(argv[++i], "--back");
        else if (!strcmp(argv[i], "--forward") && i + 1 < argc)
            req.forward_hops = (uint32_t)lc_parse_u64(argv[++i], "--forward");
        else if (!strcmp(argv[i], "--max") && i + 1 < argc)
            req.max_nodes = (uint32_t)lc_parse_u64(argv[++i], "--max");
        else if (argv[i][0] != '-' && !have_seq) {
            req.seq = lc_parse_u64(argv[i], "SEQ");
            have_seq = 1;
        } else
            lc_die("lineage: unexpected argument %s", argv[i]);
    }
    if (!have_seq)
        lc_die("usage: loopctl lineage SEQ [--back N] [--forward N] [--max N]");
    Loopledger__V1__Lineage *L =
        lc_rpc(SVC "GetLineage", &req.base, &loopledger__v1__lineage__descriptor);
    if (lc_opts.json) {
        print_json_message(&L->base);
        loopledger__v1__lineage__free_unpacked(L, NULL);
        return 0;
    }
    printf("lineage of #%" PRIu64 " (back %u, forward %u): %zu entries, %zu links%s\n", L->root,
           req.back_hops, req.forward_hops, L->n_nodes, L->n_edges,
           L->truncated ? " (truncated: --max)" : "");
    ref_header();
    for (size_t i = 0; i < L->n_nodes; i++)
        ref_row(L->nodes[i], L->nodes[i]->seq == L->root ? "*" : "");
    printf("\nlinks:\n");
    for (size_t i = 0; i < L->n_edges; i++)
        printf("  #%" PRIu64 " -%s-> #%" PRIu64 "\n", L->edges[i]->source,
               ll_relation_name(L->edges[i]->relation), L->edges[i]->target);
    loopledger__v1__lineage__free_unpacked(L, NULL);
    return 0;
}

static Loopledger__V1__OpenLoopKind open_kind_arg(const char *s)
{
    static const struct {
        const char *name;
        Loopledger__V1__OpenLoopKind kind;
    } short_names[] = {
        {"finding", LOOPLEDGER__V1__OPEN_LOOP_KIND__OPEN_LOOP_FINDING_NOT_ACTED_ON},
        {"hypothesis", LOOPLEDGER__V1__OPEN_LOOP_KIND__OPEN_LOOP_HYPOTHESIS_NOT_TESTED},
        {"experiment", LOOPLEDGER__V1__OPEN_LOOP_KIND__OPEN_LOOP_EXPERIMENT_NOT_CONCLUDED},
        {"alert", LOOPLEDGER__V1__OPEN_LOOP_KIND__OPEN_LOOP_ALERT_NOT_DIAGNOSED},
    };
    int v;
    for (size_t i = 0; i < sizeof short_names / sizeof short_names[0]; i++)
        if (!strcmp(s, short_names[i].name))
            return short_names[i].kind;
    if (lc_pbdesc_enum_value(&loopledger__v1__open_loop_kind__descriptor, s, &v) || v == 0)
        lc_die("--kind must be finding, hypothesis, experiment or alert, got %s", s);
    return (Loopledger__V1__OpenLoopKind)v;
}

int lc_cmd_open_loops(int argc, char **argv)
{
    Loopledger__V1__ListOpenLoopsRequest req = LOOPLEDGER__V1__LIST_OPEN_LOOPS_REQUEST__INIT;
    uint64_t limit = UINT64_MAX, shown = 0;
    char *token = strdup(""), kname[64];
    ll_jw_t jw;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--initiative") && i + 1 < argc)
            req.initiative = argv[++i];
        else if (!strcmp(argv[i], "--kind") && i + 1 < argc)
            req.kind = open_kind_arg(argv[++i]);
        else if (!strcmp(argv[i], "--limit") && i + 1 < argc)
            limit = lc_parse_u64(argv[++i], "--limit");
        else
            lc_die("open-loops: unexpected argument %s", argv[i]);
    }
    if (lc_opts.json) {
        ll_jw_init(&jw, 1);
        ll_jw_begin_object(&jw);
        ll_jw_key(&jw, "loops");
        ll_jw_begin_array(&jw);
    }
    do {
        req.page_size = limit - shown < 500 ? (uint32_t)(limit - shown) : 500;
        req.page_token = token;
        Loopledger__V1__ListOpenLoopsResponse *r = lc_rpc(
            SVC "ListOpenLoops", &req.base, &loopledger__v1__list_open_loops_response__descriptor);
        for (size_t i = 0; i < r->n_loops && shown < limit; i++, shown++) {
            const Loopledger__V1__OpenLoop *l = r->loops[i];
            if (lc_opts.json) {
                lc_pbjson_write(&jw, &l->base);
                continue;
            }
            if (shown == 0)
                printf("%-24s %-6s %-16s %-11s %s\n", "OPEN LOOP", "SEQ", "INITIATIVE", "AUTHOR",
                       "SUMMARY");
            ename(&loopledger__v1__open_loop_kind__descriptor, l->kind, kname, sizeof kname);
            for (char *p = kname; *p; p++)
                if (*p == '_')
                    *p = ' ';
            if (l->entry) {
                char seq[24];
                snprintf(seq, sizeof seq, "#%" PRIu64, l->entry->seq);
                char ini[24], au[24];
                const char *st = lc_status_word(l->entry->status);
                printf("%-24s %-6s %-16s %-11s %s%s%s%s%s\n", kname, seq,
                       lc_fit(l->entry->initiative, 16, ini, sizeof ini),
                       lc_fit(l->entry->author, 11, au, sizeof au), l->entry->summary,
                       st[0] ? "  [" : "", st, st[0] ? "]" : "",
                       l->entry->superseded ? "  [superseded]" : "");
            }
        }
        free(token);
        if (!(token = strdup(r->next_page_token)))
            lc_die("out of memory");
        loopledger__v1__list_open_loops_response__free_unpacked(r, NULL);
    } while (token[0] && shown < limit);
    free(token);
    if (lc_opts.json) {
        ll_jw_end_array(&jw);
        ll_jw_end_object(&jw);
        lc_print_json(&jw);
    } else if (shown == 0) {
        printf("no open loops\n");
    } else {
        printf("%" PRIu64 " open loop%s\n", shown, shown == 1 ? "" : "s");
    }
    return 0;
}

/* `loopctl relations`: the link table, printed from the one definition the
 * server checks appends against (ll_loop_link_rules), so the two cannot
 * drift apart. */
int lc_cmd_relations(int argc, char **argv)
{
    size_t n;
    const ll_link_rule_t *rules = ll_loop_link_rules(&n);
    (void)argv;
    if (argc != 1)
        lc_die("usage: loopctl relations");
    ll_jw_t jw;
    if (lc_opts.json) {
        ll_jw_init(&jw, 0);
        ll_jw_begin_array(&jw);
    } else {
        printf("%-16s %-13s %-7s %-7s %s\n", "SOURCE", "RELATION", "CROSS", "ACTS", "TARGET KINDS");
    }
    for (size_t i = 0; i < n; i++) {
        const ll_link_rule_t *r = &rules[i];
        const char *src = r->source ? ll_kind_name(r->source) : "any loop kind";
        char targets[400];
        size_t tl = 0;
        targets[0] = 0;
        if (lc_opts.json) {
            ll_jw_begin_object(&jw);
            ll_jw_key(&jw, "source");
            ll_jw_string(&jw, r->source ? src : "*");
            ll_jw_key(&jw, "relation");
            ll_jw_string(&jw, ll_relation_name(r->relation));
            ll_jw_key(&jw, "cross_initiative");
            ll_jw_bool(&jw, r->cross_initiative);
            ll_jw_key(&jw, "acts_on");
            ll_jw_bool(&jw, r->acts_on);
            ll_jw_key(&jw, "targets");
            ll_jw_begin_array(&jw);
        }
        for (uint32_t k = 1; k < LL_KIND_MAX; k++) {
            if (!(r->targets & (1ull << k)))
                continue;
            if (lc_opts.json)
                ll_jw_string(&jw, ll_kind_name(k));
            else if (tl < sizeof targets)
                tl += (size_t)snprintf(targets + tl, sizeof targets - tl, "%s%s", tl ? " " : "",
                                       ll_kind_name(k));
        }
        if (lc_opts.json) {
            ll_jw_end_array(&jw);
            ll_jw_end_object(&jw);
        } else {
            printf("%-16s %-13s %-7s %-7s %s\n", src, ll_relation_name(r->relation),
                   r->cross_initiative ? "yes" : "no", r->acts_on ? "yes" : "no", targets);
        }
    }
    if (lc_opts.json) {
        ll_jw_end_array(&jw);
        lc_print_json(&jw);
    } else {
        printf("Links point from the new entry (SOURCE) to older ones; CROSS: the target may "
               "belong to another initiative; ACTS: the source acts on the target, which must be "
               "in effect (not pending or rejected under a policy).\n");
    }
    return 0;
}
