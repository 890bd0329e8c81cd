/*
 * ll_kinds: names of entry kinds and relations (ll_kinds.h).
 *
 * Kind names are spelled out by hand (the proto's oneof field names differ
 * for some kinds: charter -> "initiative"); relation names follow the enum
 * in lower case, checked against the descriptor so an unknown number is
 * never indexed out of the table.
 */
#include "ll_kinds.h"

#include <stddef.h>

#define K(x) LOOPLEDGER__V1__ENTRY_BODY__KIND_##x

const char *ll_kind_name(uint32_t kind)
{
    switch (kind) {
    case K(NOTE): return "note";
    case K(ACTOR): return "actor";
    case K(GENESIS): return "genesis";
    case K(CHARTER): return "initiative";
    case K(HYPOTHESIS): return "hypothesis";
    case K(EXPERIMENT): return "experiment";
    case K(DEPLOYMENT): return "deployment";
    case K(MEASUREMENT): return "measurement";
    case K(ALERT): return "alert";
    case K(FINDING): return "finding";
    case K(ADJUSTMENT): return "adjustment";
    case K(DECISION): return "decision";
    case K(REVIEW): return "review";
    case K(SCALING_PLAN): return "scaling_plan";
    case K(ROADMAP_PROJECT): return "roadmap_project";
    case K(CORRECTION): return "correction";
    case K(KEY_ROTATION): return "key_rotation";
    case K(REVOCATION): return "revocation";
    case K(ROLE_GRANT): return "role_grant";
    case K(POLICY): return "policy";
    default: return "unknown";
    }
}

const char *ll_relation_name(int relation)
{
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
        &loopledger__v1__relation__descriptor, relation);
    static const char *const lower[] = {
        "unspecified", "relates_to", "tests", "supports", "refutes",
        "addresses", "decides", "reviews", "spawned_by", "supersedes",
        "follows", "concludes", "measures", "cites", "diagnoses",
        "derived_from", "implements"};
    if (!v || relation < 0 || (size_t)relation >= sizeof lower / sizeof lower[0])
        return "unknown";
    return lower[relation];
}
