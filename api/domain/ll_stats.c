/*
 * ll_stats: normal and t distributions, two-proportion z-test, Welch's
 * t-test (ll_stats.h).
 *
 * Why a continued fraction for the incomplete beta: it converges fast for
 * x < (a+1)/(a+b+2) and the symmetry I_x(a,b) = 1 - I_{1-x}(b,a) covers the
 * rest, so a few dozen iterations reach double precision for every df a
 * readout meets (1 .. 10^7). Lentz's modified method avoids the
 * numerator/denominator overflow of the naive recurrence.
 */
#include "ll_stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ll_err.h"

#define CF_MAX_ITER 300
#define CF_EPS 1e-15
#define CF_TINY 1e-300

double ll_stats_norm_cdf(double z)
{
    return 0.5 * erfc(-z / sqrt(2.0));
}

/* Continued fraction for I_x(a, b) without the front factor (Numerical
 * Recipes' betacf, Lentz's method). */
static double beta_cf(double a, double b, double x, double y)
{
    double qab = a + b, qap = a + 1.0, qam = a - 1.0;
    /* 1 - (a+b) x / (a+1), from y = 1 - x when x is near 1: the direct
     * form cancels catastrophically for large a (Welch df ~ 1e9). */
    double c = 1.0, d = x > 0.5 ? (1.0 - b + qab * y) / qap : 1.0 - qab * x / qap, h;
    if (fabs(d) < CF_TINY)
        d = CF_TINY;
    d = 1.0 / d;
    h = d;
    /* Near x = a / (a + b) the fraction needs O(sqrt(a + b)) terms
     * (Welch's df reach 10^9), so the bound grows with the parameters. */
    double lim = CF_MAX_ITER + 20.0 * sqrt(a + b);
    int max_iter = lim > 2e6 ? 2000000 : (int)lim;
    for (int m = 1; m <= max_iter; m++) {
        double m2 = 2.0 * m;
        double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        if (fabs(d) < CF_TINY)
            d = CF_TINY;
        c = 1.0 + aa / c;
        if (fabs(c) < CF_TINY)
            c = CF_TINY;
        d = 1.0 / d;
        h *= d * c;
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        if (fabs(d) < CF_TINY)
            d = CF_TINY;
        c = 1.0 + aa / c;
        if (fabs(c) < CF_TINY)
            c = CF_TINY;
        d = 1.0 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1.0) < CF_EPS)
            break;
    }
    return h;
}

/* lgamma(a + b) - lgamma(a) without the cancellation of two huge
 * log-gammas when a is large (Welch's df reach 10^9): Stirling's series
 * with log1p for the leading terms. */
static double lgamma_diff(double a, double b)
{
    if (a < 1e4 || b > a)
        return lgamma(a + b) - lgamma(a);
    double ab = a + b;
    double lead = (a - 0.5) * log1p(b / a) + b * log(ab) - b;
    double corr = (1.0 / (12.0 * ab) - 1.0 / (360.0 * ab * ab * ab)) -
                  (1.0 / (12.0 * a) - 1.0 / (360.0 * a * a * a));
    return lead + corr;
}

/* I_x(a, b) given y = 1 - x and both logarithms, so callers that know
 * them more precisely than 1 - x (the t distribution) keep that
 * precision. */
static double incbeta_full(double a, double b, double x, double y, double lx, double ly)
{
    if (x == 0 || y == 1)
        return 0.0;
    if (y == 0 || x == 1)
        return 1.0;
    /* ln of x^a y^b / B(a, b); the larger parameter's log-gamma difference
     * is taken without cancellation. */
    double lbeta_inv = a >= b ? lgamma_diff(a, b) - lgamma(b) : lgamma_diff(b, a) - lgamma(a);
    double front = exp(lbeta_inv + a * lx + b * ly);
    if (x < (a + 1.0) / (a + b + 2.0))
        return front * beta_cf(a, b, x, y) / a;
    return 1.0 - front * beta_cf(b, a, y, x) / b;
}

double ll_stats_incbeta(double a, double b, double x)
{
    if (!(a > 0) || !(b > 0) || !(x >= 0) || !(x <= 1))
        return NAN;
    if (x == 0 || x == 1)
        return x;
    return incbeta_full(a, b, x, 1.0 - x, log(x), log1p(-x));
}

/* P(|T| > |t|) = I_{df/(df+t^2)}(df/2, 1/2), with x, 1 - x and their logs
 * computed from t directly. */
static double t_two_tail(double t, double df)
{
    double t2 = t * t;
    if (t2 == 0)
        return 1.0;
    double x = df / (df + t2), y = t2 / (df + t2);
    return incbeta_full(df / 2.0, 0.5, x, y, -log1p(t2 / df), log(y));
}

double ll_stats_t_cdf(double t, double df)
{
    if (!(df > 0) || isnan(t))
        return NAN;
    if (isinf(t))
        return t > 0 ? 1.0 : 0.0;
    double tail = t_two_tail(t, df);
    return t > 0 ? 1.0 - tail / 2.0 : tail / 2.0;
}

double ll_stats_t_quantile(double p, double df)
{
    double lo = 0.0, hi = 1.0;
    if (!(p >= 0.5) || !(p < 1.0) || !(df > 0))
        return NAN;
    /* Solve on the two-sided tail, which keeps relative precision where
     * the CDF rounds to 1; it decreases in t. Bisection to adjacent
     * doubles: slow but cannot miss. */
    double want = 2.0 * (1.0 - p);
    while (t_two_tail(hi, df) > want && hi < 1e300)
        hi *= 2.0;
    for (int i = 0; i < 2100; i++) {
        double mid = 0.5 * (lo + hi);
        if (mid <= lo || mid >= hi)
            break;
        if (t_two_tail(mid, df) > want)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

static void relative(ll_stats_result_t *r, double control)
{
    r->lift = control != 0 ? r->diff / control : NAN;
    r->lift_ci_low = control != 0 ? r->ci_low / fabs(control) : NAN;
    r->lift_ci_high = control != 0 ? r->ci_high / fabs(control) : NAN;
}

int ll_stats_two_proportion(const ll_stats_arm_t *c, const ll_stats_arm_t *v,
                            ll_stats_result_t *out)
{
    double p1 = c->value, p2 = v->value, n1 = (double)c->n, n2 = (double)v->n;
    if (!(p1 >= 0 && p1 <= 1 && p2 >= 0 && p2 <= 1) || c->n == 0 || v->n == 0)
        return LL_ERR_INVALID;
    double pool = (p1 * n1 + p2 * n2) / (n1 + n2);
    double se0 = sqrt(pool * (1 - pool) * (1 / n1 + 1 / n2));
    if (!(se0 > 0))
        return LL_ERR_INVALID;
    double se = sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2);
    ll_stats_result_t r = {.test = LL_STATS_TWO_PROPORTION};
    r.diff = p2 - p1;
    r.se = se;
    r.stat = r.diff / se0;
    /* erfc keeps precision in the far tail where 2 (1 - cdf) would not. */
    r.p = erfc(fabs(r.stat) / sqrt(2.0));
    r.ci_low = r.diff - LL_STATS_Z975 * se;
    r.ci_high = r.diff + LL_STATS_Z975 * se;
    relative(&r, p1);
    *out = r;
    return LL_OK;
}

int ll_stats_welch(const ll_stats_arm_t *c, const ll_stats_arm_t *v, ll_stats_result_t *out)
{
    if (c->n < 2 || v->n < 2 || !(c->stddev >= 0) || !(v->stddev >= 0))
        return LL_ERR_INVALID;
    double v1 = c->stddev * c->stddev / (double)c->n;
    double v2 = v->stddev * v->stddev / (double)v->n;
    double se = sqrt(v1 + v2);
    if (!(se > 0))
        return LL_ERR_INVALID;
    ll_stats_result_t r = {.test = LL_STATS_WELCH};
    r.diff = v->value - c->value;
    r.se = se;
    r.df = (v1 + v2) * (v1 + v2) /
           (v1 * v1 / (double)(c->n - 1) + v2 * v2 / (double)(v->n - 1));
    r.stat = r.diff / se;
    /* Two-sided tail straight from the incomplete beta (no 1 - cdf). */
    r.p = t_two_tail(r.stat, r.df);
    double q = ll_stats_t_quantile(0.975, r.df);
    r.ci_low = r.diff - q * se;
    r.ci_high = r.diff + q * se;
    relative(&r, c->value);
    *out = r;
    return LL_OK;
}

/* ---- analysis plans: quantiles, chi-square, corrections, power, mSPRT ---- */

double ll_stats_norm_quantile(double p)
{
    if (!(p > 0) || !(p < 1))
        return NAN;
    if (p > 0.5)
        return -ll_stats_norm_quantile(1.0 - p); /* 1 - p is exact here */
    /* Lower tail: the CDF (erfc) keeps relative precision, so bisect on
     * it down to adjacent doubles, then polish with a Newton step. */
    double lo = -40.0, hi = 0.0;
    for (int i = 0; i < 2000; i++) {
        double mid = 0.5 * (lo + hi);
        if (mid <= lo || mid >= hi)
            break;
        if (ll_stats_norm_cdf(mid) < p)
            lo = mid;
        else
            hi = mid;
    }
    double z = 0.5 * (lo + hi);
    double pdf = exp(-0.5 * z * z) / sqrt(2.0 * M_PI);
    if (pdf > 0)
        z -= (ll_stats_norm_cdf(z) - p) / pdf;
    return z;
}

#define GAMMA_MAX_ITER 10000

double ll_stats_gamma_q(double a, double x)
{
    if (!(a > 0) || !(x >= 0))
        return NAN;
    if (x == 0)
        return 1.0;
    if (isinf(x))
        return 0.0;
    double lfront = -x + a * log(x) - lgamma(a);
    if (x < a + 1.0) {
        /* P by its series; Q = 1 - P loses nothing while P < 1/2 here. */
        double ap = a, del = 1.0 / a, sum = del;
        for (int i = 0; i < GAMMA_MAX_ITER; i++) {
            ap += 1.0;
            del *= x / ap;
            sum += del;
            if (fabs(del) < fabs(sum) * 1e-17)
                break;
        }
        return 1.0 - sum * exp(lfront);
    }
    /* Q by its continued fraction (Lentz). */
    double b = x + 1.0 - a, c = 1.0 / CF_TINY, d = 1.0 / b, h = d;
    for (int i = 1; i <= GAMMA_MAX_ITER; i++) {
        double an = -i * (i - a);
        b += 2.0;
        d = an * d + b;
        if (fabs(d) < CF_TINY)
            d = CF_TINY;
        c = b + an / c;
        if (fabs(c) < CF_TINY)
            c = CF_TINY;
        d = 1.0 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1.0) < CF_EPS)
            break;
    }
    return exp(lfront) * h;
}

double ll_stats_chi2_sf(double x, double df)
{
    if (!(df > 0) || isnan(x))
        return NAN;
    if (x <= 0)
        return 1.0;
    if (df == 1.0)
        return erfc(sqrt(x / 2.0)); /* exact, and the common 2-arm case */
    return ll_stats_gamma_q(df / 2.0, x / 2.0);
}

int ll_stats_srm(const uint64_t *n, const double *share, size_t k, double *chi2, double *p)
{
    double total = 0, stotal = 0, x = 0;
    if (k < 2)
        return LL_ERR_INVALID;
    for (size_t i = 0; i < k; i++) {
        if (!(share[i] > 0) || isinf(share[i]))
            return LL_ERR_INVALID;
        total += (double)n[i];
        stotal += share[i];
    }
    if (!(total > 0))
        return LL_ERR_INVALID;
    for (size_t i = 0; i < k; i++) {
        double e = total * share[i] / stotal, d = (double)n[i] - e;
        x += d * d / e;
    }
    *chi2 = x;
    *p = ll_stats_chi2_sf(x, (double)(k - 1));
    return LL_OK;
}

/* Indices of the non-NaN p-values, sorted by p ascending, ties in input
 * order (insertion sort: m is a handful of variants). */
static size_t order(const double *p, size_t m, size_t *idx)
{
    size_t n = 0;
    for (size_t i = 0; i < m; i++) {
        if (isnan(p[i]))
            continue;
        size_t j = n++;
        while (j > 0 && p[idx[j - 1]] > p[i]) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = i;
    }
    return n;
}

void ll_stats_holm(const double *p, size_t m, double *adj)
{
    size_t *idx = m ? malloc(m * sizeof *idx) : NULL;
    double *tmp = m ? malloc(m * sizeof *tmp) : NULL;
    if (!idx || !tmp) {
        /* No memory: the most conservative answer (Bonferroni bound 1). */
        for (size_t i = 0; i < m; i++)
            adj[i] = isnan(p[i]) ? NAN : 1.0;
        goto out;
    }
    memcpy(tmp, p, m * sizeof *tmp);
    size_t n = order(tmp, m, idx);
    double run = 0;
    for (size_t i = 0; i < n; i++) {
        double v = (double)(n - i) * tmp[idx[i]];
        if (v > 1)
            v = 1;
        if (v > run)
            run = v;
        adj[idx[i]] = run;
    }
    for (size_t i = 0; i < m; i++)
        if (isnan(tmp[i]))
            adj[i] = NAN;
out:
    free(idx);
    free(tmp);
}

void ll_stats_bh(const double *p, size_t m, double *adj)
{
    size_t *idx = m ? malloc(m * sizeof *idx) : NULL;
    double *tmp = m ? malloc(m * sizeof *tmp) : NULL;
    if (!idx || !tmp) {
        for (size_t i = 0; i < m; i++)
            adj[i] = isnan(p[i]) ? NAN : 1.0;
        goto out;
    }
    memcpy(tmp, p, m * sizeof *tmp);
    size_t n = order(tmp, m, idx);
    double run = 1;
    for (size_t i = n; i-- > 0;) {
        double v = (double)n * tmp[idx[i]] / (double)(i + 1);
        if (v < run)
            run = v;
        adj[idx[i]] = run;
    }
    for (size_t i = 0; i < m; i++)
        if (isnan(tmp[i]))
            adj[i] = NAN;
out:
    free(idx);
    free(tmp);
}

static int plan_params_ok(double mde, double alpha, double power)
{
    return mde > 0 && !isinf(mde) && alpha > 0 && alpha < 0.5 && power > 0.5 && power < 1;
}

static int ceil_n(double n, uint64_t *out)
{
    if (!(n >= 0) || n > 9007199254740992.0)
        return LL_ERR_INVALID;
    uint64_t v = (uint64_t)ceil(n);
    *out = v < 2 ? 2 : v; /* Welch needs two per arm */
    return LL_OK;
}

int ll_stats_sample_size_rate(double p1, double mde, double alpha, double power, uint64_t *n)
{
    if (!(p1 > 0 && p1 < 1) || !plan_params_ok(mde, alpha, power))
        return LL_ERR_INVALID;
    double p2 = p1 * (1.0 + mde);
    if (!(p2 > 0 && p2 < 1))
        return LL_ERR_INVALID;
    double za = ll_stats_norm_quantile(1.0 - alpha / 2.0), zb = ll_stats_norm_quantile(power);
    double pb = 0.5 * (p1 + p2), d = p2 - p1;
    double t = za * sqrt(2.0 * pb * (1.0 - pb)) + zb * sqrt(p1 * (1.0 - p1) + p2 * (1.0 - p2));
    return ceil_n(t * t / (d * d), n);
}

int ll_stats_sample_size_mean(double mean, double sd, double mde, double alpha, double power,
                              uint64_t *n)
{
    if (!(sd > 0) || isinf(sd) || mean == 0 || !isfinite(mean) ||
        !plan_params_ok(mde, alpha, power))
        return LL_ERR_INVALID;
    double za = ll_stats_norm_quantile(1.0 - alpha / 2.0), zb = ll_stats_norm_quantile(power);
    double d = mean * mde, t = (za + zb) * sd / d;
    return ceil_n(2.0 * t * t, n);
}

double ll_stats_power(double delta, double se, double alpha)
{
    if (!(se > 0) || !(alpha > 0 && alpha < 1) || isnan(delta))
        return NAN;
    double z = ll_stats_norm_quantile(1.0 - alpha / 2.0), e = fabs(delta) / se;
    return ll_stats_norm_cdf(e - z) + ll_stats_norm_cdf(-e - z);
}

double ll_stats_one_sided(const ll_stats_result_t *r, double shift)
{
    if (!(r->se > 0))
        return NAN;
    double t = (r->diff - shift) / r->se;
    if (r->df > 0) {
        /* P(T > t) from the incomplete beta, without 1 - cdf. */
        double tail = t_two_tail(t, r->df) / 2.0;
        return t > 0 ? tail : 1.0 - tail;
    }
    return 0.5 * erfc(t / sqrt(2.0));
}

double ll_stats_msprt_log_lr(double diff, double var, double tau2)
{
    if (!(var > 0) || !(tau2 > 0))
        return NAN;
    return 0.5 * log(var / (var + tau2)) + tau2 * diff * diff / (2.0 * var * (var + tau2));
}

void ll_stats_msprt_ci(double diff, double var, double tau2, double alpha, double *lo,
                       double *hi)
{
    if (!(var > 0) || !(tau2 > 0) || !(alpha > 0 && alpha < 1)) {
        *lo = *hi = NAN;
        return;
    }
    double w = sqrt(var * (var + tau2) / tau2 * (2.0 * log(1.0 / alpha) + log((var + tau2) / var)));
    *lo = diff - w;
    *hi = diff + w;
}
