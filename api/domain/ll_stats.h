/*
 * ll_stats: the statistics behind experiment readouts, pure functions
 * without I/O or allocation.
 *
 * Two tests compare a variant arm with the control arm of an A/B test:
 *   - the two-proportion z-test, for conversion-type metrics recorded as a
 *     rate with a sample size (no standard deviation): pooled standard
 *     error for the statistic and p-value, unpooled (Wald) standard error
 *     for the 95% confidence interval of the difference;
 *   - Welch's t-test, for means recorded with a standard deviation and a
 *     sample size: Welch-Satterthwaite degrees of freedom, the t
 *     distribution's CDF through the regularized incomplete beta function
 *     (a continued fraction, Lentz's method), and its 97.5% quantile for
 *     the interval by bisection on that CDF.
 *
 * No external statistics library: only <math.h> (erfc, lgamma, exp, log).
 * Accuracy: the incomplete beta is evaluated to a relative 1e-13; the
 * quantile to 1e-10 absolute. Lift and its interval are relative to the
 * control value (the difference's interval divided by it), which ignores
 * the control value's own uncertainty: a readout convention, documented.
 *
 * Invariants: every function is deterministic and thread-safe.
 */
#ifndef LL_STATS_H
#define LL_STATS_H

#include <stdint.h>

/* z such that P(Z <= z) = 0.975 for a standard normal Z. */
#define LL_STATS_Z975 1.959963984540054

enum ll_stats_test {
    LL_STATS_NONE = 0,
    LL_STATS_TWO_PROPORTION = 1, /* = ReadoutTest values */
    LL_STATS_WELCH = 2
};

/* One arm: value is a rate in [0, 1] (proportions) or a mean (Welch). */
typedef struct ll_stats_arm {
    double value;
    double stddev; /* Welch only */
    uint64_t n;
} ll_stats_arm_t;

typedef struct ll_stats_result {
    int test;           /* enum ll_stats_test */
    double diff;        /* variant - control */
    double ci_low, ci_high;           /* 95% CI of diff */
    double lift;        /* diff / control (a fraction; NaN if control is 0) */
    double lift_ci_low, lift_ci_high; /* CI / control */
    double stat;        /* z or t */
    double df;          /* Welch's degrees of freedom; 0 for z */
    double p;           /* two-sided p-value */
} ll_stats_result_t;

/* Standard normal CDF. */
double ll_stats_norm_cdf(double z);

/* Regularized incomplete beta I_x(a, b) for a, b > 0, 0 <= x <= 1;
 * NaN outside that domain. */
double ll_stats_incbeta(double a, double b, double x);

/* CDF of Student's t with df > 0 degrees of freedom (real df allowed). */
double ll_stats_t_cdf(double t, double df);

/* The t value with ll_stats_t_cdf(t, df) = p, for 0.5 <= p < 1. */
double ll_stats_t_quantile(double p, double df);

/* Two-proportion z-test of variant v against control c. LL_OK, or
 * LL_ERR_INVALID (result untouched) when a rate is outside [0, 1], a
 * sample size is 0, or both rates are 0 or both 1 (no variance). */
int ll_stats_two_proportion(const ll_stats_arm_t *c, const ll_stats_arm_t *v,
                            ll_stats_result_t *out);

/* Welch's t-test of variant v against control c. LL_OK, or
 * LL_ERR_INVALID when a sample size is below 2, a stddev is negative or
 * both are 0. */
int ll_stats_welch(const ll_stats_arm_t *c, const ll_stats_arm_t *v,
                   ll_stats_result_t *out);

#endif
