/*
 * ll_check: the stateless per-kind body checks, as the ledger applies them
 * on append: missing or out-of-range fields are INVALID_ARGUMENT with a
 * message naming the field, and nothing is written.
 */
#include <time.h>
#include <unistd.h>

#include "../support/ll_testloop.h"

static void test_stateless_field_checks_are_invalid_argument(void **state)
{
    fx_t *f = *state;
    charter(f, "reco");
    Loopledger__V1__Experiment e = experiment_msg();
    e.control = NULL;
    refused(f, add(f, "reco", KIND(EXPERIMENT), &e, NULL, 0), LL_ERR_INVALID, "control");
    refused(f, deployment(f, "reco", 150, NULL, 0), LL_ERR_INVALID, "rollout_percent");
    Loopledger__V1__Finding fi = finding_msg(0);
    fi.source = LOOPLEDGER__V1__FINDING_SOURCE__FINDING_SOURCE_USER_SURVEY;
    refused(f, add(f, "reco", KIND(FINDING), &fi, NULL, 0), LL_ERR_INVALID, "qualitative");
    refused(f, decision(f, "reco", REVIEW_APPROVAL, APPROVED, NULL, 0), LL_ERR_INVALID,
            "DECIDE");
    Loopledger__V1__Initiative c = charter_msg("t");
    c.phase = 0;
    refused(f, add(f, "reco", KIND(CHARTER), &c, NULL, 0), LL_ERR_INVALID, "phase");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_stateless_field_checks_are_invalid_argument, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
