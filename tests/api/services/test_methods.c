/*
 * ll_methods: the method table is the RPC surface as data; whatever walks
 * it (registration, reflection, a JSON gateway) relies on these invariants.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "ll_methods.h"

static void test_every_path_is_service_and_method_name(void **state)
{
    (void)state;
    for (size_t i = 0; i < ll_method_count; i++) {
        const ll_method_def_t *m = &ll_methods[i];
        char want[200];
        assert_true(m->service < LL_SERVICE_COUNT);
        snprintf(want, sizeof want, "/%s/%s", ll_service_names[m->service], m->name);
        assert_string_equal(m->path, want);
    }
}

static void test_paths_are_unique_and_found(void **state)
{
    (void)state;
    for (size_t i = 0; i < ll_method_count; i++) {
        for (size_t j = i + 1; j < ll_method_count; j++)
            assert_string_not_equal(ll_methods[i].path, ll_methods[j].path);
        assert_ptr_equal(ll_method_find(ll_methods[i].path), &ll_methods[i]);
    }
    assert_null(ll_method_find("/loopledger.v1.LedgerService/Nope"));
    assert_null(ll_method_find(""));
}

static void test_each_method_has_messages_and_exactly_one_server(void **state)
{
    (void)state;
    for (size_t i = 0; i < ll_method_count; i++) {
        const ll_method_def_t *m = &ll_methods[i];
        assert_non_null(m->request);
        assert_non_null(m->response);
        assert_int_equal(m->request->magic, PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC);
        assert_int_equal(m->response->magic, PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC);
        /* Messages live in the service's package. */
        const char *svc = ll_service_names[m->service];
        size_t pkg = (size_t)(strrchr(svc, '.') - svc);
        assert_memory_equal(m->request->name, svc, pkg);
        assert_memory_equal(m->response->name, svc, pkg);
        assert_true((m->query != NULL) != (m->handler != NULL));
        if (m->streaming)
            assert_non_null(m->handler); /* a query answers once */
        if (m->no_snapshot)
            assert_non_null(m->query);
    }
}

static void test_table_lists_the_whole_surface(void **state)
{
    (void)state;
    /* The services of the brief, each with its RPCs (the .proto files). */
    static const char *const want[] = {
        "/grpc.health.v1.Health/Check",
        "/loopledger.v1.LedgerService/Append",
        "/loopledger.v1.LedgerService/GetEntry",
        "/loopledger.v1.LedgerService/ListEntries",
        "/loopledger.v1.LedgerService/GetCheckpoint",
        "/loopledger.v1.LedgerService/GetInclusionProof",
        "/loopledger.v1.LedgerService/GetConsistencyProof",
        "/loopledger.v1.LedgerService/Watch",
        "/loopledger.v1.LoopService/GetInitiative",
        "/loopledger.v1.LoopService/GetLineage",
        "/loopledger.v1.LoopService/ListOpenLoops",
        "/loopledger.v1.RoadmapService/Prioritize",
        "/loopledger.v1.RoadmapService/GetExperimentReadout",
        "/loopledger.v1.RoadmapService/GetLoopHealth",
        "/loopledger.v1.RoadmapService/ListInitiatives",
        "/loopledger.v1.GovernanceService/DecisionHistory",
        "/loopledger.v1.GovernanceService/PendingApprovals",
        "/loopledger.v1.GovernanceService/ActorHistory",
        "/loopledger.v1.GovernanceService/ExportAudit",
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
    };
    assert_int_equal(ll_method_count, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        assert_non_null(ll_method_find(want[i]));
    assert_true(ll_method_find("/loopledger.v1.LedgerService/Watch")->streaming);
    assert_true(ll_method_find("/loopledger.v1.GovernanceService/ExportAudit")->streaming);
    assert_false(ll_method_find("/loopledger.v1.LedgerService/Append")->streaming);
    assert_int_equal(
        ll_method_find("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo")->streaming,
        LL_STREAM_BIDI);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_path_is_service_and_method_name),
        cmocka_unit_test(test_paths_are_unique_and_found),
        cmocka_unit_test(test_each_method_has_messages_and_exactly_one_server),
        cmocka_unit_test(test_table_lists_the_whole_surface),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
