/*
 * ll_check: per-kind stateless body checks (ll_check.h).
 *
 * proto3 parsers accept any enum number and any empty field, so every rule
 * that later tests "phase != 0" or reads a sub-message relies on these
 * checks having run first; ll_entry_decode runs them on every entry.
 */
#include "ll_check.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ll_crypto.h"
#include "ll_err.h"
#include "ll_index.h"
#include "ll_kinds.h"
#include "ll_mask.h"
#include "ll_plan.h"

#define K(x) LOOPLEDGER__V1__ENTRY_BODY__KIND_##x
#define R(x) LOOPLEDGER__V1__RELATION__##x
#define K_INITIATIVE K(CHARTER)
#define K_HYPOTHESIS K(HYPOTHESIS)
#define K_EXPERIMENT K(EXPERIMENT)
#define K_DEPLOYMENT K(DEPLOYMENT)
#define K_MEASUREMENT K(MEASUREMENT)
#define K_ALERT K(ALERT)
#define K_FINDING K(FINDING)
#define K_ADJUSTMENT K(ADJUSTMENT)
#define K_DECISION K(DECISION)
#define K_REVIEW K(REVIEW)
#define K_SCALING K(SCALING_PLAN)
#define K_ROADMAP K(ROADMAP_PROJECT)
#define K_CORRECTION K(CORRECTION)
#define IS_DOMAIN(k) LL_KIND_IS_DOMAIN(k)

static int nonempty(const char *s)
{
    return s && s[0];
}

static int share_valid(double p)
{
    return p > 0 && p <= 100;
}

static int check_arm(const Loopledger__V1__Arm *a, const char *what, char *msg, size_t cap)
{
    if (!a || !nonempty(a->name))
        LL_FAIL(LL_ERR_INVALID, "experiment: %s arm needs a name", what);
    if (a->allocation_percent < 0 || a->allocation_percent > 100)
        LL_FAIL(LL_ERR_INVALID, "experiment: %s arm allocation must be within 0..100%%", what);
    return LL_OK;
}

/* Every enum value in m must be one the contract names: proto3 parsers keep
 * unknown numbers, and a rule testing "phase != 0" must not accept 99. */
static int check_enums(const ProtobufCMessage *m, const char *path, char *msg, size_t cap)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const char *slot = (const char *)m + f->offset;
        size_t n = 1;
        char sub[160];
        int err;
        if (f->type != PROTOBUF_C_TYPE_ENUM && f->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
            *(const uint32_t *)((const char *)m + f->quantifier_offset) != f->id)
            continue;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            n = *(const size_t *)((const char *)m + f->quantifier_offset);
            slot = *(const char *const *)slot;
        }
        snprintf(sub, sizeof sub, "%s.%s", path, f->name);
        for (size_t j = 0; j < n; j++) {
            if (f->type == PROTOBUF_C_TYPE_ENUM) {
                int v = ((const int *)slot)[j];
                if (!protobuf_c_enum_descriptor_get_value(f->descriptor, v))
                    LL_FAIL(LL_ERR_INVALID, "%s: %d is not a %s value", sub, v,
                         ((const ProtobufCEnumDescriptor *)f->descriptor)->short_name);
            } else {
                const ProtobufCMessage *c = ((const ProtobufCMessage *const *)slot)[j];
                if (c && (err = check_enums(c, sub, msg, cap)))
                    return err;
            }
        }
    }
    return LL_OK;
}

/* Domain kinds: the fields each loop entry needs. */
static int check_loop(const Loopledger__V1__EntryBody *b, char *msg, size_t cap)
{
    uint32_t kind = b->kind_case;
    int err;

    if (IS_DOMAIN(kind) && !nonempty(b->initiative))
        LL_FAIL(LL_ERR_INVALID, "a %s entry must name its initiative", ll_kind_name(kind));
    /* Domain and governance kinds: every enum value must be named. */
    if (kind >= K_INITIATIVE) {
        const ProtobufCFieldDescriptor *f =
            protobuf_c_message_descriptor_get_field(&loopledger__v1__entry_body__descriptor, kind);
        const ProtobufCMessage *part =
            f ? *(const ProtobufCMessage *const *)((const char *)b + f->offset) : NULL;
        if (!part)
            LL_FAIL(LL_ERR_INVALID, "a %s entry needs its body", ll_kind_name(kind));
        if ((err = check_enums(part, f->name, msg, cap)))
            return err;
    }
    /* A patch alone need not be a whole record: its paths are checked
     * here, and the merged record is checked by this same function once
     * the writer has merged it (ll_record_merge). */
    if (ll_mask_is_patch(b))
        return ll_mask_check(b, msg, cap);
    switch (kind) {
    case K_INITIATIVE: {
        const Loopledger__V1__Initiative *x = b->charter;
        if (!nonempty(x->title))
            LL_FAIL(LL_ERR_INVALID, "initiative: title is required");
        if (x->application == 0 || x->phase == 0)
            LL_FAIL(LL_ERR_INVALID, "initiative: application and phase are required");
        for (size_t i = 0; i < x->n_kpis; i++)
            if (!nonempty(x->kpis[i]->metric))
                LL_FAIL(LL_ERR_INVALID, "initiative: kpis[%zu] needs a metric", i);
        for (size_t i = 0; i < x->n_review_cadences; i++)
            if (x->review_cadences[i] == 0)
                LL_FAIL(LL_ERR_INVALID, "initiative: review_cadences[%zu] is unspecified", i);
        break;
    }
    case K_HYPOTHESIS:
        if (!nonempty(b->hypothesis->statement))
            LL_FAIL(LL_ERR_INVALID, "hypothesis: statement is required");
        if (b->hypothesis->expected_effect && b->hypothesis->expected_effect->direction == 0)
            LL_FAIL(LL_ERR_INVALID, "hypothesis: expected_effect needs a direction");
        break;
    case K_EXPERIMENT: {
        const Loopledger__V1__Experiment *x = b->experiment;
        if (!nonempty(x->title) || !nonempty(x->primary_metric))
            LL_FAIL(LL_ERR_INVALID, "experiment: title and primary_metric are required");
        /* "tested against a control": no experiment without one. */
        if ((err = check_arm(x->control, "control", msg, cap)))
            return err;
        if (x->n_variants == 0)
            LL_FAIL(LL_ERR_INVALID, "experiment: at least one variant is required");
        for (size_t i = 0; i < x->n_variants; i++)
            if ((err = check_arm(x->variants[i], "variant", msg, cap)))
                return err;
        if ((err = ll_plan_check(x->plan, "experiment: plan", msg, cap)))
            return err;
        break;
    }
    case K_DEPLOYMENT:
        if (!nonempty(b->deployment->version))
            LL_FAIL(LL_ERR_INVALID, "deployment: version is required");
        if (!share_valid(b->deployment->rollout_percent))
            LL_FAIL(LL_ERR_INVALID, "deployment: rollout_percent must be in (0, 100], got %g",
                 b->deployment->rollout_percent);
        break;
    case K_MEASUREMENT: {
        const Loopledger__V1__Measurement *x = b->measurement;
        if (x->n_observations == 0 || x->n_observations > 1000)
            LL_FAIL(LL_ERR_INVALID, "measurement: 1 to 1000 observations are required, got %zu",
                 x->n_observations);
        for (size_t i = 0; i < x->n_observations; i++) {
            const Loopledger__V1__Observation *o = x->observations[i];
            if (!nonempty(o->metric))
                LL_FAIL(LL_ERR_INVALID, "measurement: observations[%zu] needs a metric", i);
            if (o->value != o->value || o->stddev != o->stddev || o->stddev < 0)
                LL_FAIL(LL_ERR_INVALID, "measurement: observations[%zu] has a NaN or negative stddev", i);
            if (o->window_end_unix_nanos < o->window_start_unix_nanos)
                LL_FAIL(LL_ERR_INVALID, "measurement: observations[%zu] window ends before it starts", i);
            if (strlen(o->metric) + strlen(o->segment) + strlen(o->arm) > 300)
                LL_FAIL(LL_ERR_INVALID, "measurement: observations[%zu] names are too long", i);
        }
        break;
    }
    case K_ALERT:
        if (!nonempty(b->alert->metric) || b->alert->detector == 0)
            LL_FAIL(LL_ERR_INVALID, "alert: metric and detector are required");
        break;
    case K_FINDING: {
        const Loopledger__V1__Finding *x = b->finding;
        if (!nonempty(x->summary) || x->evidence == 0 || x->source == 0)
            LL_FAIL(LL_ERR_INVALID, "finding: summary, evidence and source are required");
        int quali = x->source == LOOPLEDGER__V1__FINDING_SOURCE__FINDING_SOURCE_CUSTOMER_SERVICE_REVIEW ||
                    x->source == LOOPLEDGER__V1__FINDING_SOURCE__FINDING_SOURCE_USER_SURVEY ||
                    x->source == LOOPLEDGER__V1__FINDING_SOURCE__FINDING_SOURCE_SOCIAL_MEDIA;
        if (quali && x->evidence != LOOPLEDGER__V1__EVIDENCE__EVIDENCE_QUALITATIVE)
            LL_FAIL(LL_ERR_INVALID, "finding: customer-service reviews, surveys and social media are qualitative evidence");
        for (size_t i = 0; i < b->n_links; i++)
            if (b->links[i]->relation == R(DIAGNOSES) && x->diagnosis == 0)
                LL_FAIL(LL_ERR_INVALID, "finding: a finding that DIAGNOSES an alert must state its diagnosis");
        break;
    }
    case K_ADJUSTMENT:
        if (!isfinite(b->adjustment->magnitude_percent))
            LL_FAIL(LL_ERR_INVALID, "adjustment: magnitude_percent must be a finite number");
        if (b->adjustment->category == 0 || !nonempty(b->adjustment->change))
            LL_FAIL(LL_ERR_INVALID, "adjustment: category and change are required");
        break;
    case K_DECISION:
        if (b->decision->level == 0 || b->decision->outcome == 0)
            LL_FAIL(LL_ERR_INVALID, "decision: level and outcome are required");
        if (b->n_links == 0)
            LL_FAIL(LL_ERR_INVALID, "decision: it must DECIDE at least one entry");
        break;
    case K_REVIEW:
        if (b->review->cadence == 0)
            LL_FAIL(LL_ERR_INVALID, "review: cadence is required");
        break;
    case K_SCALING:
        if (b->scaling_plan->scenario == 0 || !nonempty(b->scaling_plan->to_scope))
            LL_FAIL(LL_ERR_INVALID, "scaling_plan: scenario and to_scope are required");
        for (size_t i = 0; i < b->scaling_plan->n_phases; i++)
            if (!share_valid(b->scaling_plan->phases[i]->rollout_percent))
                LL_FAIL(LL_ERR_INVALID, "scaling_plan: phases[%zu] rollout_percent must be in (0, 100]", i);
        break;
    case K_ROADMAP: {
        const Loopledger__V1__RoadmapProject *x = b->roadmap_project;
        if (!nonempty(x->title) || x->status == 0)
            LL_FAIL(LL_ERR_INVALID, "roadmap_project: title and status are required");
        if (x->reach < 0 || x->impact < 0 || x->effort <= 0 || x->reach != x->reach ||
            x->impact != x->impact)
            LL_FAIL(LL_ERR_INVALID, "roadmap_project: reach and impact must be >= 0 and effort > 0");
        break;
    }
    case K_CORRECTION: {
        size_t n = 0;
        if (!nonempty(b->correction->reason))
            LL_FAIL(LL_ERR_INVALID, "correction: reason is required");
        for (size_t i = 0; i < b->n_links; i++)
            n += b->links[i]->relation == R(SUPERSEDES);
        if (n != 1)
            LL_FAIL(LL_ERR_INVALID, "correction: it must SUPERSEDE exactly one entry (has %zu)", n);
        if ((err = ll_plan_check(b->correction->amended_plan, "correction: amended_plan", msg, cap)))
            return err;
        break;
    }
    default:
        break;
    }
    return LL_OK;
}

static int id_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return n > 0 && n <= LL_MAX_ID_LEN;
}

/* Governance kinds: key rotation, revocation, role grant, policy. */
static int check_gov(const Loopledger__V1__EntryBody *b, char *msg, size_t cap)
{
    switch (b->kind_case) {
    case K(KEY_ROTATION):
        if (!id_ok(b->key_rotation->actor_id))
            LL_FAIL(LL_ERR_INVALID, "key_rotation: actor_id is required");
        if (b->key_rotation->new_public_key.len != LL_PUBKEY_LEN)
            LL_FAIL(LL_ERR_INVALID, "key_rotation: new_public_key must be 32 raw bytes, got %zu",
                 b->key_rotation->new_public_key.len);
        break;
    case K(REVOCATION): {
        uint8_t kid[LL_HASH_LEN];
        const char *k = b->revocation->keyid;
        if (!id_ok(b->revocation->actor_id))
            LL_FAIL(LL_ERR_INVALID, "revocation: actor_id is required");
        if (strlen(k) != 2 * LL_HASH_LEN || ll_hex_decode(k, strlen(k), kid, LL_HASH_LEN))
            LL_FAIL(LL_ERR_INVALID, "revocation: keyid must be 64 hex digits");
        if (b->revocation->effective_unix_nanos < 0)
            LL_FAIL(LL_ERR_INVALID, "revocation: effective time must not be negative");
        break;
    }
    case K(ROLE_GRANT):
        if (!id_ok(b->role_grant->actor_id))
            LL_FAIL(LL_ERR_INVALID, "role_grant: actor_id is required");
        if (b->role_grant->n_roles == 0)
            LL_FAIL(LL_ERR_INVALID, "role_grant: at least one role is required (revoke keys to retire an actor)");
        for (size_t i = 0; i < b->role_grant->n_roles; i++)
            if (b->role_grant->roles[i] <= 0 || b->role_grant->roles[i] > 5)
                LL_FAIL(LL_ERR_INVALID, "role_grant: unknown role %d", b->role_grant->roles[i]);
        break;
    case K(POLICY): {
        const Loopledger__V1__Policy *p = b->policy;
        const char *f = p->threshold_field;
        if (!id_ok(p->name))
            LL_FAIL(LL_ERR_INVALID, "policy: name is required");
        if (p->n_kinds == 0)
            LL_FAIL(LL_ERR_INVALID, "policy: it must name the entry kinds it governs");
        for (size_t i = 0; i < p->n_kinds; i++)
            if ((int)p->kinds[i] < (int)K(CHARTER) || (int)p->kinds[i] > (int)K(CORRECTION) ||
                (int)p->kinds[i] == (int)K(DECISION))
                LL_FAIL(LL_ERR_INVALID, "policy: kinds[%zu] is not a loop entry kind it can govern", i);
        if (p->level == 0 || p->approvals == 0 || p->approvals > LL_GOV_MAX_APPROVALS)
            LL_FAIL(LL_ERR_INVALID, "policy: a level and 1..%d approvals are required",
                 LL_GOV_MAX_APPROVALS);
        if (f[0] && strcmp(f, "rollout_percent") && strcmp(f, "magnitude_percent"))
            LL_FAIL(LL_ERR_INVALID, "policy: threshold_field must be rollout_percent or magnitude_percent");
        break;
    }
    default:
        break;
    }
    return LL_OK;
}

int ll_check_body(const Loopledger__V1__EntryBody *b, char *msg, size_t cap)
{
    int err = check_loop(b, msg, cap);
    if (err || ll_mask_is_patch(b))
        return err;
    return check_gov(b, msg, cap);
}
