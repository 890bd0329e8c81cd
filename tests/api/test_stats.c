/*
 * ll_stats against worked examples with known answers. Reference values
 * were computed independently in Python (statistics.NormalDist for the
 * normal, mpmath 1.3 at 30 digits for the t distribution by numerical
 * integration of its density, and mpmath.betainc), and closed forms where
 * they exist; each case cites its inputs.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "ll_err.h"
#include "ll_kpi.h"
#include "ll_plan.h"
#include "ll_stats.h"

#define NEAR(x, ref, tol)                                                              \
    do {                                                                               \
        double x_ = (x), r_ = (ref);                                                   \
        if (!(fabs(x_ - r_) <= (tol)))                                                 \
            fail_msg("%s = %.15g, expected %.15g (tolerance %g)", #x, x_, r_, (double)(tol)); \
    } while (0)

static void test_incomplete_beta_matches_closed_forms_and_mpmath(void **state)
{
    (void)state;
    /* I_0.5(2, 3) = 11/16 exactly. */
    NEAR(ll_stats_incbeta(2, 3, 0.5), 0.6875, 1e-13);
    /* mpmath.betainc(0.5, 0.5, 0, 0.2, regularized=True) */
    NEAR(ll_stats_incbeta(0.5, 0.5, 0.2), 0.295167235300866557, 1e-12);
    /* mpmath.betainc(5, 2.5, 0, 0.9, regularized=True): the symmetric branch */
    NEAR(ll_stats_incbeta(5, 2.5, 0.9), 0.944666181391490195, 1e-12);
    NEAR(ll_stats_incbeta(3, 4, 0), 0, 0);
    NEAR(ll_stats_incbeta(3, 4, 1), 1, 0);
    assert_true(isnan(ll_stats_incbeta(-1, 4, 0.5)));
    assert_true(isnan(ll_stats_incbeta(1, 4, 1.5)));
}

static void test_t_cdf_matches_closed_forms_and_integration(void **state)
{
    (void)state;
    /* df = 1 is Cauchy: F(1) = 3/4. */
    NEAR(ll_stats_t_cdf(1, 1), 0.75, 1e-13);
    /* df = 2: F(t) = 1/2 + t / (2 sqrt(2 + t^2)); F(2) = 1/2 + 1/sqrt(6). */
    NEAR(ll_stats_t_cdf(2, 2), 0.908248290463863016, 1e-13);
    /* Integrated density (mpmath.quad), t = 2.5, df = 10. */
    NEAR(ll_stats_t_cdf(2.5, 10), 0.984276577881695598, 1e-12);
    /* Negative t and a fractional df: t = -1.3, df = 4.5. */
    NEAR(ll_stats_t_cdf(-1.3, 4.5), 0.128098043972017035, 1e-12);
    NEAR(ll_stats_t_cdf(0, 7), 0.5, 1e-15);
    /* Large df approaches the normal. */
    NEAR(ll_stats_t_cdf(1.959963984540054, 1e7), 0.975, 1e-6);
}

static void test_t_quantile_inverts_the_cdf(void **state)
{
    (void)state;
    /* Tabulated t_{0.975}: df 10 -> 2.228138851986, df 3 -> 3.182446305284. */
    NEAR(ll_stats_t_quantile(0.975, 10), 2.22813885198627475, 1e-9);
    NEAR(ll_stats_t_quantile(0.975, 3), 3.18244630528370959, 1e-9);
    NEAR(ll_stats_t_quantile(0.5, 3), 0, 1e-9);
    assert_true(isnan(ll_stats_t_quantile(0.2, 3)));
}

static void test_normal_cdf(void **state)
{
    (void)state;
    NEAR(ll_stats_norm_cdf(0), 0.5, 1e-15);
    NEAR(ll_stats_norm_cdf(LL_STATS_Z975), 0.975, 1e-12);
    NEAR(ll_stats_norm_cdf(-1), 0.158655253931457051, 1e-12);
}

/* The seed's A/B test (ops/demo/07): conversion 1.12% of 30100 (control)
 * vs 1.41% of 29900 (AI-enhanced content). Python:
 *   pp = (p1 n1 + p2 n2) / (n1 + n2); z = (p2 - p1) / sqrt(pp (1 - pp) (1/n1 + 1/n2))
 *   p = 2 (1 - NormalDist().cdf(|z|)); CI = d -/+ 1.959963984540054 sqrt(p1 q1/n1 + p2 q2/n2) */
static void test_two_proportion_on_the_seed_experiment(void **state)
{
    (void)state;
    ll_stats_arm_t c = {.value = 0.0112, .n = 30100}, v = {.value = 0.0141, .n = 29900};
    ll_stats_result_t r;
    assert_int_equal(ll_stats_two_proportion(&c, &v, &r), LL_OK);
    assert_int_equal(r.test, LL_STATS_TWO_PROPORTION);
    NEAR(r.diff, 0.0029, 1e-15);
    NEAR(r.stat, 3.178647050160587, 1e-9);
    NEAR(r.p, 0.0014796414310789263, 1e-10);
    NEAR(r.ci_low, 0.0011113265977178094, 1e-12);
    NEAR(r.ci_high, 0.00468867340228219, 1e-12);
    NEAR(100 * r.lift, 25.892857142857142, 1e-9);
    NEAR(r.lift_ci_low, 0.0011113265977178094 / 0.0112, 1e-10);
    NEAR(r.df, 0, 0);
}

/* 10% of 1000 vs 12% of 1000: not significant (Python as above). */
static void test_two_proportion_not_significant(void **state)
{
    (void)state;
    ll_stats_arm_t c = {.value = 0.10, .n = 1000}, v = {.value = 0.12, .n = 1000};
    ll_stats_result_t r;
    assert_int_equal(ll_stats_two_proportion(&c, &v, &r), LL_OK);
    NEAR(r.stat, 1.4293008498232314, 1e-9);
    NEAR(r.p, 0.15291778186394622, 1e-10);
    NEAR(r.ci_low, -0.0074114819980199385, 1e-12);
    NEAR(r.ci_high, 0.04741148199801992, 1e-12);
    /* Equal rates: z = 0, p = 1. */
    c.value = v.value = 0.05;
    c.n = v.n = 2000;
    assert_int_equal(ll_stats_two_proportion(&c, &v, &r), LL_OK);
    NEAR(r.p, 1.0, 1e-15);
    NEAR(r.ci_high, 0.013508119557620553, 1e-12);
}

static void test_two_proportion_refuses_degenerate_input(void **state)
{
    (void)state;
    ll_stats_result_t r;
    ll_stats_arm_t zero = {.value = 0, .n = 100}, one = {.value = 1, .n = 100};
    ll_stats_arm_t empty = {.value = 0.1, .n = 0}, big = {.value = 1.2, .n = 100};
    assert_int_equal(ll_stats_two_proportion(&zero, &zero, &r), LL_ERR_INVALID);
    assert_int_equal(ll_stats_two_proportion(&one, &one, &r), LL_ERR_INVALID);
    assert_int_equal(ll_stats_two_proportion(&empty, &zero, &r), LL_ERR_INVALID);
    assert_int_equal(ll_stats_two_proportion(&big, &zero, &r), LL_ERR_INVALID);
}

/* Welch: mean 20.0 sd 5.0 n 30 (control) vs 23.0 sd 6.0 n 35. mpmath:
 *   se = sqrt(s1^2/n1 + s2^2/n2); df = (v1+v2)^2 / (v1^2/(n1-1) + v2^2/(n2-1))
 *   p = 2 (1 - F_t(|t|, df)) with F_t integrated, CI with F_t^-1(0.975). */
static void test_welch_moderate_samples(void **state)
{
    (void)state;
    ll_stats_arm_t c = {.value = 20.0, .stddev = 5.0, .n = 30};
    ll_stats_arm_t v = {.value = 23.0, .stddev = 6.0, .n = 35};
    ll_stats_result_t r;
    assert_int_equal(ll_stats_welch(&c, &v, &r), LL_OK);
    assert_int_equal(r.test, LL_STATS_WELCH);
    NEAR(r.stat, 2.19858126772536, 1e-11);
    NEAR(r.df, 62.958820084919275, 1e-9);
    NEAR(r.p, 0.0315906945849582, 1e-10);
    NEAR(r.ci_low, 0.273196830920872, 1e-8);
    NEAR(r.ci_high, 5.72680316907913, 1e-8);
    NEAR(100 * r.lift, 15.0, 1e-12);
}

/* Small samples, low df: 10 sd 2 n 5 vs 13 sd 3 n 6 (mpmath as above). */
static void test_welch_small_samples(void **state)
{
    (void)state;
    ll_stats_arm_t c = {.value = 10.0, .stddev = 2.0, .n = 5};
    ll_stats_arm_t v = {.value = 13.0, .stddev = 3.0, .n = 6};
    ll_stats_result_t r;
    assert_int_equal(ll_stats_welch(&c, &v, &r), LL_OK);
    NEAR(r.stat, 1.97814142018736, 1e-11);
    NEAR(r.df, 8.67213114754098, 1e-9);
    NEAR(r.p, 0.0805032391907253, 1e-10);
    NEAR(r.ci_low, -0.450605219021529, 1e-8);
    NEAR(r.ci_high, 6.45060521902153, 1e-8);
}

/* Large samples (basket value): 52.3 sd 18.1 n 4000 vs 53.1 sd 19.4 n 4100. */
static void test_welch_large_samples(void **state)
{
    (void)state;
    ll_stats_arm_t c = {.value = 52.3, .stddev = 18.1, .n = 4000};
    ll_stats_arm_t v = {.value = 53.1, .stddev = 19.4, .n = 4100};
    ll_stats_result_t r;
    assert_int_equal(ll_stats_welch(&c, &v, &r), LL_OK);
    NEAR(r.stat, 1.91952180836417, 1e-10);
    NEAR(r.df, 8081.918151185253, 1e-6);
    NEAR(r.p, 0.0549534972907463, 1e-10);
    NEAR(r.ci_low, -0.0169774565551438, 1e-8);
    NEAR(r.ci_high, 1.61697745655515, 1e-8);
}

static void test_welch_refuses_degenerate_input(void **state)
{
    (void)state;
    ll_stats_result_t r;
    ll_stats_arm_t one = {.value = 1, .stddev = 1, .n = 1}, ok = {.value = 1, .stddev = 1, .n = 9};
    ll_stats_arm_t flat = {.value = 1, .stddev = 0, .n = 9};
    assert_int_equal(ll_stats_welch(&one, &ok, &r), LL_ERR_INVALID);
    assert_int_equal(ll_stats_welch(&flat, &flat, &r), LL_ERR_INVALID);
    assert_int_equal(ll_stats_welch(&flat, &ok, &r), LL_OK);
}

static void test_holm_and_bh_by_hand(void **state)
{
    (void)state;
    /* Sorted: 0.005, 0.01, 0.03, 0.04 (m = 4). Holm: 0.02, 0.03, 0.06,
     * max(0.06, 0.04); BH from the top: 0.04, min(0.04, 0.04), 0.02, 0.02. */
    double p[4] = {0.01, 0.04, 0.03, 0.005}, adj[4];
    ll_stats_holm(p, 4, adj);
    NEAR(adj[0], 0.03, 1e-15);
    NEAR(adj[1], 0.06, 1e-15);
    NEAR(adj[2], 0.06, 1e-15);
    NEAR(adj[3], 0.02, 1e-15);
    ll_stats_bh(p, 4, adj);
    NEAR(adj[0], 0.02, 1e-15);
    NEAR(adj[1], 0.04, 1e-15);
    NEAR(adj[2], 0.04, 1e-15);
    NEAR(adj[3], 0.02, 1e-15);
    /* A variant without a test (NaN) is left out of m. */
    double q[3] = {0.02, NAN, 0.04};
    ll_stats_holm(q, 3, adj);
    NEAR(adj[0], 0.04, 1e-15);
    assert_true(isnan(adj[1]));
    NEAR(adj[2], 0.04, 1e-15);
}

static void test_srm_on_the_demo_and_a_mismatch(void **state)
{
    (void)state;
    uint64_t n[2] = {30100, 29900};
    double share[2] = {50, 50}, chi2, p;
    assert_int_equal(ll_stats_srm(n, share, 2, &chi2, &p), LL_OK);
    NEAR(chi2, 2.0 * 100.0 * 100.0 / 30000.0, 1e-12);
    NEAR(p, erfc(sqrt(chi2 / 2.0)), 1e-15);
    uint64_t m[2] = {5000, 5600};
    assert_int_equal(ll_stats_srm(m, share, 2, &chi2, &p), LL_OK);
    assert_true(p < LL_PLAN_SRM_P);
    double bad[2] = {50, 0};
    assert_int_equal(ll_stats_srm(m, bad, 2, &chi2, &p), LL_ERR_INVALID);
}

static void test_sample_size_of_the_demo_plan(void **state)
{
    (void)state;
    uint64_t n;
    /* scipy.stats.norm.ppf in the textbook formula (README): 24910. */
    assert_int_equal(ll_stats_sample_size_rate(0.0112, 0.25, 0.05, 0.8, &n), LL_OK);
    assert_int_equal(n, 24910);
    assert_int_equal(ll_stats_sample_size_rate(0.95, 0.1, 0.05, 0.8, &n), LL_ERR_INVALID);
    assert_int_equal(ll_stats_sample_size_mean(100, 20, 0.05, 0.05, 0.8, &n), LL_OK);
    /* 2 ((1.959964 + 0.841621) x 20 / 5)^2 = 251.17 -> 252 */
    assert_int_equal(n, 252);
    NEAR(ll_stats_norm_quantile(0.975), LL_STATS_Z975, 1e-15);
}

static void test_plan_check_refuses_with_the_field(void **state)
{
    (void)state;
    char msg[256];
    Loopledger__V1__AnalysisPlan p = LOOPLEDGER__V1__ANALYSIS_PLAN__INIT;
    p.mde_percent = 10;
    p.sample_size_per_arm = 100;
    assert_int_equal(ll_plan_check(&p, "plan", msg, sizeof msg), LL_ERR_INVALID);
    assert_non_null(strstr(msg, "direction"));
    p.direction = LOOPLEDGER__V1__DIRECTION__DIRECTION_INCREASE;
    assert_int_equal(ll_plan_check(&p, "plan", msg, sizeof msg), LL_OK);
    p.sample_size_per_arm = 0;
    assert_int_equal(ll_plan_check(&p, "plan", msg, sizeof msg), LL_ERR_INVALID);
    assert_non_null(strstr(msg, "baseline"));
    p.baseline_rate = 1.12; /* a percentage, not a rate */
    assert_int_equal(ll_plan_check(&p, "plan", msg, sizeof msg), LL_ERR_INVALID);
    p.baseline_rate = 0.0112;
    assert_int_equal(ll_plan_check(&p, "plan", msg, sizeof msg), LL_OK);
    ll_plan_t r;
    ll_plan_resolve(&p, 7, &r);
    assert_true(r.has && r.computed);
    assert_int_equal(r.eff.sample_size_per_arm, 145435); /* MDE 10%: SciPy formula */
    NEAR(r.eff.alpha, 0.05, 0);
    NEAR(r.eff.power, 0.8, 0);
    p.alpha = 0.6;
    assert_int_equal(ll_plan_check(&p, "plan", msg, sizeof msg), LL_ERR_INVALID);
}

static void test_kpi_trend(void **state)
{
    (void)state;
    double slope, v[3] = {7.0, 6.2, 5.5}, flat[3] = {6.0, 6.01, 6.0};
    int up = LOOPLEDGER__V1__DIRECTION__DIRECTION_INCREASE;
    int down = LOOPLEDGER__V1__DIRECTION__DIRECTION_DECREASE;
    assert_string_equal(ll_kpi_trend(v, 3, up, 6.0, &slope), "worsening");
    NEAR(slope, -0.75, 1e-12);
    assert_string_equal(ll_kpi_trend(v, 3, down, 6.0, &slope), "improving");
    assert_string_equal(ll_kpi_trend(flat, 3, up, 6.0, &slope), "flat");
    assert_string_equal(ll_kpi_trend(v, 1, up, 6.0, &slope), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_incomplete_beta_matches_closed_forms_and_mpmath),
        cmocka_unit_test(test_t_cdf_matches_closed_forms_and_integration),
        cmocka_unit_test(test_t_quantile_inverts_the_cdf),
        cmocka_unit_test(test_normal_cdf),
        cmocka_unit_test(test_two_proportion_on_the_seed_experiment),
        cmocka_unit_test(test_two_proportion_not_significant),
        cmocka_unit_test(test_two_proportion_refuses_degenerate_input),
        cmocka_unit_test(test_welch_moderate_samples),
        cmocka_unit_test(test_welch_small_samples),
        cmocka_unit_test(test_welch_large_samples),
        cmocka_unit_test(test_welch_refuses_degenerate_input),
        cmocka_unit_test(test_holm_and_bh_by_hand),
        cmocka_unit_test(test_srm_on_the_demo_and_a_mismatch),
        cmocka_unit_test(test_sample_size_of_the_demo_plan),
        cmocka_unit_test(test_plan_check_refuses_with_the_field),
        cmocka_unit_test(test_kpi_trend),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
