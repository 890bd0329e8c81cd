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
 * For analysis plans and their readouts (ll_plan.h) it also has: the
 * normal quantile, the chi-square survival function (regularized upper
 * incomplete gamma: series below a+1, Lentz continued fraction above),
 * Pearson's sample-ratio-mismatch test, Holm and Benjamini-Hochberg
 * adjusted p-values, per-arm sample sizes and power for a relative MDE,
 * a one-sided shifted test (guardrails, non-inferiority), and the
 * mixture sequential probability ratio test (mSPRT) with a normal mixing
 * distribution N(0, tau^2) of Johari, Koomen, Pekelis and Walsh ("Peeking
 * at A/B tests", KDD 2017; "Always valid inference", Operations Research
 * 2022), for always-valid p-values and confidence intervals.
 *
 * No external statistics library: only <math.h> (erfc, lgamma, exp, log).
 * Accuracy: the incomplete beta is evaluated to a relative 1e-13; the
 * quantile to 1e-10 absolute. Lift and its interval are relative to the
 * control value (the difference's interval divided by it), which ignores
 * the control value's own uncertainty: a readout convention, documented.
 * The normal quantile is bisection on erfc polished by one Newton step
 * (relative 1e-14 in both tails); the incomplete gamma converges to a
 * relative 1e-15. tests/api/test_stats_scipy.py holds all of them to
 * SciPy's at 1e-9 relative (README "Experiments", tolerances).
 *
 * Invariants: every function is deterministic and thread-safe.
 */
#ifndef LL_STATS_H
#define LL_STATS_H

#include <stddef.h>
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
    double se;          /* unpooled standard error of diff (Wald / Welch) */
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

/* The z with ll_stats_norm_cdf(z) = p, for 0 < p < 1; NaN outside. */
double ll_stats_norm_quantile(double p);

/* Regularized upper incomplete gamma Q(a, x) for a > 0, x >= 0; NaN
 * outside that domain. */
double ll_stats_gamma_q(double a, double x);

/* P(X > x) for X chi-square with df > 0 degrees of freedom. */
double ll_stats_chi2_sf(double x, double df);

/* Pearson's chi-square of k >= 2 observed counts n[] against expected
 * shares share[] (any positive scale; normalised here): *chi2 and its
 * p-value with k - 1 degrees of freedom. LL_ERR_INVALID when k < 2, a
 * share is not > 0, or the total count is 0. */
int ll_stats_srm(const uint64_t *n, const double *share, size_t k, double *chi2,
                 double *p);

/* Adjusted p-values of m tests into adj[m] (adj may alias p): Holm's
 * step-down, adj_(i) = max_{j<=i} min(1, (m-j+1) p_(j)), and
 * Benjamini-Hochberg's step-up, adj_(i) = min_{j>=i} min(1, m p_(j) / j),
 * over the p-values sorted ascending (ties keep input order). NaN inputs
 * are left out of m and stay NaN. */
void ll_stats_holm(const double *p, size_t m, double *adj);
void ll_stats_bh(const double *p, size_t m, double *adj);

/* Per-arm sample size of a two-sided test at alpha with the given power
 * to detect a relative change mde (0.1 = 10%) from a baseline:
 *   rates:  n = ((z_{1-a/2} sqrt(2 pb qb) + z_{power} sqrt(p1 q1 + p2 q2)) / d)^2
 *           with p2 = p1 (1 + mde), pb = (p1 + p2) / 2, d = p2 - p1;
 *   means:  n = 2 ((z_{1-a/2} + z_{power}) sd / d)^2, d = mean x mde;
 * rounded up. LL_ERR_INVALID when a parameter is out of range (rate
 * outside (0, 1) or p2 outside (0, 1), alpha not in (0, 0.5), power not in
 * (0.5, 1), mde or sd not > 0, mean 0) or n would exceed 2^53. */
int ll_stats_sample_size_rate(double p1, double mde, double alpha, double power,
                              uint64_t *n);
int ll_stats_sample_size_mean(double mean, double sd, double mde, double alpha,
                              double power, uint64_t *n);

/* Power of a two-sided z-test at alpha when the true difference is delta
 * and the estimate's standard error se:
 * Phi(|delta|/se - z_{1-a/2}) + Phi(-|delta|/se - z_{1-a/2}). */
double ll_stats_power(double delta, double se, double alpha);

/* One-sided p-value of H0: diff <= shift against H1: diff > shift, with
 * the result's unpooled standard error, normal for proportions and t with
 * the result's df for Welch (df 0: normal). For "worse by more than a
 * margin" the caller flips the sign of diff (ll_plan.c does). */
double ll_stats_one_sided(const ll_stats_result_t *r, double shift);

/* mSPRT (normal mixture N(0, tau2)) for an estimate diff with variance
 * var > 0: ln of the mixture likelihood ratio
 *   Lambda = sqrt(var / (var + tau2)) exp(tau2 diff^2 / (2 var (var + tau2))).
 * The always-valid p-value after looks 1..n is min(1, min_m 1/Lambda_m). */
double ll_stats_msprt_log_lr(double diff, double var, double tau2);

/* The always-valid (1 - alpha) interval of that look:
 * diff -/+ sqrt(var (var + tau2) / tau2 (2 ln(1/alpha) + ln((var + tau2) / var))).
 * Intersect over the looks for the running interval. */
void ll_stats_msprt_ci(double diff, double var, double tau2, double alpha, double *lo,
                       double *hi);

#endif
