/*
 * lc_pbjson: JSON -> message -> wire -> message -> JSON round trips for the
 * entry kinds, enum names with and without their prefix (raw numbers kept
 * for the server to judge), exact 64-bit integers and base64 bytes, refusals
 * that name the full path, oneof exclusivity, and the flag form (dotted
 * paths, repeated fields and repeated sub-messages). Under ASan every error
 * path is also a leak check.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lc_pbjson.h"
#include "ll_err.h"
#include "ll_json.h"
#include "ll_jw.h"
#include "loopledger/v1/entry.pb-c.h"
#include "loopledger/v1/loop.pb-c.h"

/* ---- helpers ---- */

static ll_json_t *doc(const char *text)
{
    ll_json_t *d = NULL;
    char err[160];
    if (ll_json_parse(text, strlen(text), &d, err, sizeof err))
        fail_msg("bad test JSON %s: %s", text, err);
    return d;
}

static ProtobufCMessage *parse_ok(const ProtobufCMessageDescriptor *desc, const char *text)
{
    ll_json_t *d = doc(text);
    ProtobufCMessage *m = NULL;
    char err[256] = "";
    int rc = lc_pbjson_parse(desc, d, "x", &m, err, sizeof err);
    ll_json_free(d);
    if (rc)
        fail_msg("parse of %s failed: %s", text, err);
    return m;
}

/* Parsing text must fail with exactly msg. */
static void expect_error(const ProtobufCMessageDescriptor *desc, const char *path, const char *text,
                         const char *msg)
{
    ll_json_t *d = doc(text);
    ProtobufCMessage *m = (ProtobufCMessage *)&m;
    char err[256] = "";
    int rc = lc_pbjson_parse(desc, d, path, &m, err, sizeof err);
    ll_json_free(d);
    assert_int_equal(rc, LL_ERR_INVALID);
    assert_null(m);
    if (strcmp(err, msg))
        fail_msg("%s: got \"%s\", want \"%s\"", text, err, msg);
}

static char *to_json(const ProtobufCMessage *m)
{
    ll_jw_t jw;
    ll_jw_init(&jw, 0);
    lc_pbjson_write(&jw, m);
    char *s = ll_jw_finish(&jw, NULL);
    assert_non_null(s);
    return s;
}

/* Packs m, unpacks it again and returns the copy's JSON. */
static char *wire_json(const ProtobufCMessage *m)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(n + 1);
    assert_non_null(buf);
    protobuf_c_message_pack(m, buf);
    ProtobufCMessage *copy = protobuf_c_message_unpack(m->descriptor, NULL, n, buf);
    free(buf);
    assert_non_null(copy);
    char *s = to_json(copy);
    protobuf_c_message_free_unpacked(copy, NULL);
    return s;
}

#define EXPERIMENT_JSON                                                                       \
    "{\"title\":\"AI content\",\"control\":{\"name\":\"control\",\"description\":\"current " \
    "pages\",\"allocation_percent\":50},\"variants\":[{\"name\":\"ai\",\"description\":\"\"," \
    "\"allocation_percent\":25.5},{\"name\":\"ai2\",\"description\":\"\",\"allocation_"       \
    "percent\":24.5}],\"primary_metric\":\"conversion_rate\",\"guardrail_metrics\":[\"retur"  \
    "n_rate\",\"page_load_ms\"],\"planned_sample_size\":18446744073709551615,\"planned_days\"" \
    ":14}"

/* ---- tests ---- */

static void test_experiment_round_trips_through_json_and_wire(void **state)
{
    (void)state;
    Loopledger__V1__Experiment *x =
        (Loopledger__V1__Experiment *)parse_ok(&loopledger__v1__experiment__descriptor, EXPERIMENT_JSON);
    assert_string_equal(x->title, "AI content");
    assert_string_equal(x->control->description, "current pages");
    assert_int_equal(x->n_variants, 2);
    assert_true(x->variants[1]->allocation_percent == 24.5);
    assert_int_equal(x->n_guardrail_metrics, 2);
    assert_string_equal(x->guardrail_metrics[1], "page_load_ms");
    assert_true(x->planned_sample_size == UINT64_MAX);
    assert_int_equal(x->planned_days, 14);
    char *j = to_json(&x->base), *w = wire_json(&x->base);
    /* Every field is written, in .proto order: the input is reproduced. */
    assert_string_equal(j, EXPERIMENT_JSON);
    assert_string_equal(w, EXPERIMENT_JSON);
    free(j);
    free(w);
    protobuf_c_message_free_unpacked(&x->base, NULL);
}

static void test_enum_names_accept_prefix_case_and_dashes(void **state)
{
    (void)state;
    const char *forms[] = {"\"pilot\"", "\"PILOT\"", "\"PHASE_PILOT\"", "\"phase_pilot\"",
                           "\"Phase-Pilot\"", "2"};
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        char text[128];
        snprintf(text, sizeof text, "{\"title\":\"t\",\"phase\":%s}", forms[i]);
        Loopledger__V1__Initiative *m =
            (Loopledger__V1__Initiative *)parse_ok(&loopledger__v1__initiative__descriptor, text);
        assert_int_equal(m->phase, LOOPLEDGER__V1__PHASE__PHASE_PILOT);
        protobuf_c_message_free_unpacked(&m->base, NULL);
    }
    char buf[64];
    int v;
    assert_string_equal(lc_pbdesc_enum_name(&loopledger__v1__phase__descriptor, 2, buf, sizeof buf), "pilot");
    assert_string_equal(lc_pbdesc_enum_name(&loopledger__v1__hitl_level__descriptor, 1, buf, sizeof buf),
                        "review_and_approval");
    assert_string_equal(lc_pbdesc_enum_name(&loopledger__v1__scaling_scenario__descriptor, 1, buf, sizeof buf),
                        "category_expansion");
    /* Relation has no common prefix: names stay whole. */
    assert_string_equal(lc_pbdesc_enum_name(&loopledger__v1__relation__descriptor, 8, buf, sizeof buf),
                        "spawned_by");
    assert_int_equal(lc_pbdesc_enum_value(&loopledger__v1__relation__descriptor, "DERIVED-FROM", &v), LL_OK);
    assert_int_equal(v, LOOPLEDGER__V1__RELATION__DERIVED_FROM);
    assert_int_equal(lc_pbdesc_enum_value(&loopledger__v1__kind__descriptor, "scaling-plan", &v), LL_OK);
    assert_int_equal(v, LOOPLEDGER__V1__KIND__KIND_SCALING_PLAN);
    assert_int_equal(lc_pbdesc_enum_value(&loopledger__v1__phase__descriptor, "pilo", &v), LL_ERR_NOT_FOUND);
    assert_string_equal(lc_pbdesc_enum_name(&loopledger__v1__phase__descriptor, 99, buf, sizeof buf), "99");
}

static void test_enum_number_is_kept_raw_and_written_back_as_number(void **state)
{
    (void)state;
    Loopledger__V1__Initiative *m = (Loopledger__V1__Initiative *)parse_ok(
        &loopledger__v1__initiative__descriptor, "{\"phase\":99,\"review_cadences\":[\"monthly\",7]}");
    assert_int_equal(m->phase, 99);
    assert_int_equal(m->n_review_cadences, 2);
    char *j = to_json(&m->base);
    assert_non_null(strstr(j, "\"phase\":99"));
    assert_non_null(strstr(j, "\"review_cadences\":[\"monthly\",7]"));
    free(j);
    protobuf_c_message_free_unpacked(&m->base, NULL);
}

static void test_unknown_fields_are_refused_with_their_path(void **state)
{
    (void)state;
    const ProtobufCMessageDescriptor *d = &loopledger__v1__experiment__descriptor;
    expect_error(d, "experiment", "{\"control\":{\"nmae\":\"c\"}}", "experiment.control.nmae: unknown field");
    expect_error(d, "experiment", "{\"title\":\"t\",\"variants\":[{\"name\":\"a\"},{\"nmae\":\"b\"}]}",
                 "experiment.variants[1].nmae: unknown field");
    expect_error(d, "", "{\"titel\":\"t\"}", "titel: unknown field");
    expect_error(&loopledger__v1__initiative__descriptor, "charter", "{\"phase\":\"pilto\"}",
                 "charter.phase: unknown Phase \"pilto\" (one of proposed|pilot|scaling|full|retired)");
}

static void test_wrong_types_and_ranges_are_refused(void **state)
{
    (void)state;
    const ProtobufCMessageDescriptor *d = &loopledger__v1__experiment__descriptor;
    expect_error(d, "e", "{\"title\":5}", "e.title: expected a string");
    expect_error(d, "e", "{\"planned_days\":-1}", "e.planned_days: out of range for an unsigned 32-bit integer");
    expect_error(d, "e", "{\"planned_days\":4294967296}", "e.planned_days: out of range for an unsigned 32-bit integer");
    expect_error(d, "e", "{\"planned_days\":1.5}", "e.planned_days: expected an integer in range");
    expect_error(d, "e", "{\"planned_sample_size\":-3}", "e.planned_sample_size: must not be negative");
    expect_error(d, "e", "{\"guardrail_metrics\":\"x\"}", "e.guardrail_metrics: expected an array");
    expect_error(d, "e", "{\"control\":[]}", "e.control: expected an object");
    expect_error(d, "e", "{\"control\":{\"allocation_percent\":\"50\"}}",
                 "e.control.allocation_percent: expected a number");
    expect_error(&loopledger__v1__entry_body__descriptor, "entry", "{\"nonce\":\"not base64!\"}",
                 "entry.nonce: expected base64");
}

static void test_64_bit_integers_and_bytes_are_exact(void **state)
{
    (void)state;
    Loopledger__V1__Observation *o = (Loopledger__V1__Observation *)parse_ok(
        &loopledger__v1__observation__descriptor,
        "{\"metric\":\"m\",\"window_start_unix_nanos\":\"-9223372036854775808\","
        "\"window_end_unix_nanos\":9223372036854775807,\"sample_size\":\"18446744073709551615\"}");
    assert_true(o->window_start_unix_nanos == INT64_MIN);
    assert_true(o->window_end_unix_nanos == INT64_MAX);
    assert_true(o->sample_size == UINT64_MAX);
    protobuf_c_message_free_unpacked(&o->base, NULL);

    Loopledger__V1__EntryBody *b = (Loopledger__V1__EntryBody *)parse_ok(
        &loopledger__v1__entry_body__descriptor, "{\"author\":\"a\",\"nonce\":\"AAEC/w==\"}");
    assert_int_equal(b->nonce.len, 4);
    assert_memory_equal(b->nonce.data, "\x00\x01\x02\xff", 4);
    char *j = to_json(&b->base);
    assert_non_null(strstr(j, "\"nonce\":\"AAEC/w==\""));
    free(j);
    protobuf_c_message_free_unpacked(&b->base, NULL);
}

static void test_oneof_takes_one_member_and_sets_the_case(void **state)
{
    (void)state;
    Loopledger__V1__EntryBody *b = (Loopledger__V1__EntryBody *)parse_ok(
        &loopledger__v1__entry_body__descriptor,
        "{\"author\":\"ana\",\"initiative\":\"reco\",\"links\":[{\"relation\":\"derived_from\","
        "\"target_seq\":4}],\"hypothesis\":{\"statement\":\"s\",\"expected_effect\":"
        "{\"metric\":\"conversion\",\"direction\":\"increase\",\"size_percent\":5}}}");
    assert_int_equal(b->kind_case, LOOPLEDGER__V1__ENTRY_BODY__KIND_HYPOTHESIS);
    assert_int_equal(b->links[0]->relation, LOOPLEDGER__V1__RELATION__DERIVED_FROM);
    assert_int_equal(b->hypothesis->expected_effect->direction, LOOPLEDGER__V1__DIRECTION__DIRECTION_INCREASE);
    char *w = wire_json(&b->base);
    assert_non_null(strstr(w, "\"hypothesis\":{\"statement\":\"s\""));
    assert_null(strstr(w, "\"note\"")); /* unset oneof members are not written */
    free(w);
    protobuf_c_message_free_unpacked(&b->base, NULL);
    expect_error(&loopledger__v1__entry_body__descriptor, "entry",
                 "{\"note\":{\"text\":\"a\"},\"finding\":{\"summary\":\"b\"}}",
                 "entry.finding: only one of a oneof may be set (note is already)");
}

static void test_set_builds_nested_and_repeated_fields_from_flags(void **state)
{
    (void)state;
    Loopledger__V1__Experiment *x = malloc(sizeof *x);
    char err[256];
    assert_non_null(x);
    loopledger__v1__experiment__init(x);
    ProtobufCMessage *m = &x->base;
    struct {
        const char *path, *value;
    } flags[] = {
        {"title", "t"}, {"control.name", "control"}, {"control.allocation-percent", "50"},
        {"variants.name", "a"}, {"variants.allocation_percent", "25"},
        {"variants.name", "b"}, {"variants.allocation_percent", "25"},
        {"guardrail-metrics", "return_rate"}, {"guardrail_metrics", "aov"},
        {"planned_days", "14"}, {"title", "t2"},
    };
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        if (lc_pbjson_set(m, flags[i].path, flags[i].value, "experiment", err, sizeof err))
            fail_msg("set %s: %s", flags[i].path, err);
    assert_string_equal(x->title, "t2"); /* a singular field is replaced */
    assert_string_equal(x->control->name, "control");
    assert_true(x->control->allocation_percent == 50);
    assert_int_equal(x->n_variants, 2);
    assert_string_equal(x->variants[0]->name, "a");
    assert_string_equal(x->variants[1]->name, "b");
    assert_true(x->variants[1]->allocation_percent == 25);
    assert_int_equal(x->n_guardrail_metrics, 2);
    assert_string_equal(x->guardrail_metrics[1], "aov");

    assert_int_equal(lc_pbjson_set(m, "control.nmae", "x", "experiment", err, sizeof err), LL_ERR_INVALID);
    assert_string_equal(err, "experiment.control.nmae: unknown field");
    assert_int_equal(lc_pbjson_set(m, "variants.nmae", "x", "experiment", err, sizeof err), LL_ERR_INVALID);
    assert_string_equal(err, "experiment.variants[1].nmae: unknown field");
    assert_int_equal(lc_pbjson_set(m, "title.x", "x", "experiment", err, sizeof err), LL_ERR_INVALID);
    assert_string_equal(err, "experiment.title: is not a message, so \"title\" has no fields");
    assert_int_equal(lc_pbjson_set(m, "planned_days", "2x", "experiment", err, sizeof err), LL_ERR_INVALID);
    assert_string_equal(err, "experiment.planned_days: expected a non-negative integer, got \"2x\"");
    assert_int_equal(lc_pbjson_set(m, "control", "x", "experiment", err, sizeof err), LL_ERR_INVALID);
    assert_string_equal(err, "experiment.control: is a message: set its fields (control.FIELD)");
    protobuf_c_message_free_unpacked(m, NULL);

    /* Booleans and enums from text. */
    Loopledger__V1__EntryRef *r = malloc(sizeof *r);
    assert_non_null(r);
    loopledger__v1__entry_ref__init(r);
    assert_int_equal(lc_pbjson_set(&r->base, "superseded", "yes", "", err, sizeof err), LL_OK);
    assert_int_equal(lc_pbjson_set(&r->base, "kind", "roadmap-project", "", err, sizeof err), LL_OK);
    assert_true(r->superseded);
    assert_int_equal(r->kind, LOOPLEDGER__V1__KIND__KIND_ROADMAP_PROJECT);
    assert_int_equal(lc_pbjson_set(&r->base, "superseded", "maybe", "", err, sizeof err), LL_ERR_INVALID);
    assert_string_equal(err, "superseded: expected true or false, got \"maybe\"");
    protobuf_c_message_free_unpacked(&r->base, NULL);
}

static void test_text_rendering_skips_defaults(void **state)
{
    (void)state;
    Loopledger__V1__Experiment *x =
        (Loopledger__V1__Experiment *)parse_ok(&loopledger__v1__experiment__descriptor,
                                               "{\"title\":\"t\",\"control\":{\"name\":\"c\"},"
                                               "\"guardrail_metrics\":[\"a\",\"b\"]}");
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    lc_pbjson_write_text(f, &x->base, 2);
    fclose(f);
    assert_string_equal(buf, "  title: t\n  control:\n    name: c\n  guardrail_metrics: a, b\n");
    free(buf);
    protobuf_c_message_free_unpacked(&x->base, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_experiment_round_trips_through_json_and_wire),
        cmocka_unit_test(test_enum_names_accept_prefix_case_and_dashes),
        cmocka_unit_test(test_enum_number_is_kept_raw_and_written_back_as_number),
        cmocka_unit_test(test_unknown_fields_are_refused_with_their_path),
        cmocka_unit_test(test_wrong_types_and_ranges_are_refused),
        cmocka_unit_test(test_64_bit_integers_and_bytes_are_exact),
        cmocka_unit_test(test_oneof_takes_one_member_and_sets_the_case),
        cmocka_unit_test(test_set_builds_nested_and_repeated_fields_from_flags),
        cmocka_unit_test(test_text_rendering_skips_defaults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
