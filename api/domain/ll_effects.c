/*
 * ll_effects: what an appended entry caused (ll_effects.h).
 *
 * Computed by comparing the HITL records before and after the entry is
 * applied, rather than by having ll_gov report as it goes: the approval
 * rules stay in one place (ll_gov), and the effects cannot disagree with
 * the state they describe.
 */
#include "ll_effects.h"

#include <stdio.h>
#include <string.h>

#include "ll_index.h"

#define K(x) LOOPLEDGER__V1__ENTRY_BODY__KIND_##x
#define ST(x) LOOPLEDGER__V1__APPROVAL_STATUS__APPROVAL_STATUS_##x

const char *ll_effects_level_name(uint32_t level)
{
    switch (level) {
    case LOOPLEDGER__V1__HITL_LEVEL__HITL_LEVEL_REVIEW_AND_APPROVAL:
        return "review_and_approval";
    case LOOPLEDGER__V1__HITL_LEVEL__HITL_LEVEL_EXCEPTION_HANDLING:
        return "exception_handling";
    case LOOPLEDGER__V1__HITL_LEVEL__HITL_LEVEL_DEEP_COLLABORATION:
        return "deep_collaboration";
    default:
        return "?";
    }
}

ll_effect_t *ll_effects_add(ll_effects_t *out, uint32_t type, uint64_t seq)
{
    if (out->n >= LL_EFFECTS_MAX)
        return NULL;
    ll_effect_t *e = &out->e[out->n++];
    memset(e, 0, sizeof *e);
    e->type = type;
    e->seq = seq;
    return e;
}

static int decides(const Loopledger__V1__Link *l)
{
    return l->relation == LOOPLEDGER__V1__RELATION__DECIDES;
}

void ll_effects_before(ll_txn_t *txn, const Loopledger__V1__EntryBody *b, ll_effects_snap_t *s)
{
    memset(s, 0, sizeof *s);
    if (b->kind_case != K(DECISION))
        return;
    for (size_t i = 0; i < b->n_links && s->n < LL_EFFECTS_MAX; i++) {
        if (!decides(b->links[i]))
            continue;
        s->seq[s->n] = b->links[i]->target_seq;
        s->has[s->n] = ll_index_hitl(txn, b->links[i]->target_seq, &s->hitl[s->n]) == 0;
        s->n++;
    }
}

static void hitl_fields(ll_effect_t *e, const ll_hitl_t *h)
{
    e->policy_seq = h->policy_seq;
    e->level = h->level;
    e->approvals = h->approvals;
    e->required = h->required;
}

void ll_effects_after(ll_txn_t *txn, const Loopledger__V1__EntryBody *b, uint64_t seq,
                      const ll_effects_snap_t *s, ll_effects_t *out)
{
    ll_hitl_t h;
    ll_effect_t *e;
    if (ll_index_hitl(txn, seq, &h) == 0 && h.status == ST(PENDING) &&
        (e = ll_effects_add(out, LL_EFFECT_PENDING, seq))) {
        hitl_fields(e, &h);
        snprintf(e->text, sizeof e->text,
                 "#%llu is pending under policy #%llu: needs %u approval%s at %s",
                 (unsigned long long)seq, (unsigned long long)h.policy_seq, h.required,
                 h.required == 1 ? "" : "s", ll_effects_level_name(h.level));
    }
    for (unsigned i = 0; i < s->n; i++) {
        const ll_hitl_t *was = &s->hitl[i];
        uint64_t t = s->seq[i];
        if (!s->has[i] || was->status != ST(PENDING) || ll_index_hitl(txn, t, &h))
            continue;
        if (h.status == ST(EFFECTIVE) && (e = ll_effects_add(out, LL_EFFECT_BECAME_EFFECTIVE, t))) {
            hitl_fields(e, &h);
            snprintf(e->text, sizeof e->text,
                     "#%llu became effective: %u of %u approvals at %s (policy #%llu)",
                     (unsigned long long)t, h.approvals, h.required,
                     ll_effects_level_name(h.level), (unsigned long long)h.policy_seq);
        } else if (h.status == ST(REJECTED) && (e = ll_effects_add(out, LL_EFFECT_REJECTED, t))) {
            hitl_fields(e, &h);
            snprintf(e->text, sizeof e->text, "#%llu is rejected for good (policy #%llu)",
                     (unsigned long long)t, (unsigned long long)h.policy_seq);
        } else if (h.status == ST(PENDING) && h.approvals > was->approvals &&
                   (e = ll_effects_add(out, LL_EFFECT_APPROVAL_RECORDED, t))) {
            hitl_fields(e, &h);
            unsigned left = h.required - h.approvals;
            snprintf(e->text, sizeof e->text,
                     "approval of #%llu recorded: %u of %u at %s, %u more needed",
                     (unsigned long long)t, h.approvals, h.required,
                     ll_effects_level_name(h.level), left);
        }
    }
    if (b->kind_case == K(CORRECTION)) {
        for (size_t i = 0; i < b->n_links; i++) {
            uint64_t by;
            uint64_t t = b->links[i]->target_seq;
            if (b->links[i]->relation != LOOPLEDGER__V1__RELATION__SUPERSEDES ||
                ll_index_superseded_by(txn, t, &by) || by != seq ||
                !(e = ll_effects_add(out, LL_EFFECT_SUPERSEDES, t)))
                continue;
            snprintf(e->text, sizeof e->text, "#%llu is superseded by #%llu",
                     (unsigned long long)t, (unsigned long long)seq);
        }
    }
}
