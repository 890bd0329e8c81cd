/*
 * ll_seqsim: the false-positive rate of peeking, by simulation (a
 * benchmark-style check, not a timed test).
 *
 * Under the null (both arms convert at the same rate) an experiment is
 * looked at once a day for `looks` days, on the cumulative data, as a team
 * that checks its dashboard daily would. The naive analysis stops at the
 * first look whose fixed-horizon two-proportion p-value is below alpha;
 * the sequential analysis stops at the first look whose always-valid
 * p-value (mSPRT with a normal mixture, ll_stats_msprt_log_lr: the running
 * minimum of 1/Lambda) is below alpha, exactly as the readout computes it
 * (each Measurement is a look). Any stop is a false positive.
 *
 * usage: ll_seqsim [RUNS [LOOKS [PER_DAY [RATE [MDE [ALPHA [SEED]]]]]]]
 * Prints both rates with their Monte Carlo standard errors; exit 0 when
 * the sequential rate is at or under alpha and the naive one above it,
 * 1 otherwise (the claim the README makes), 2 on bad arguments.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "ll_err.h"
#include "ll_stats.h"

/* xoshiro256** (Blackman and Vigna): fast, good enough for Monte Carlo. */
static uint64_t s[4];

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t next(void)
{
    uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return r;
}

static void seed(uint64_t x)
{
    for (int i = 0; i < 4; i++) { /* splitmix64 */
        uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        s[i] = z ^ (z >> 31);
    }
}

/* Conversions among n visitors at rate p (exact: n Bernoulli draws). */
static uint64_t binomial(uint64_t n, double p)
{
    uint64_t thr = (uint64_t)(p * 18446744073709551616.0), k = 0;
    for (uint64_t i = 0; i < n; i++)
        k += next() < thr;
    return k;
}

int main(int argc, char **argv)
{
    long runs = argc > 1 ? atol(argv[1]) : 2000;
    int looks = argc > 2 ? atoi(argv[2]) : 30;
    long per_day = argc > 3 ? atol(argv[3]) : 1000;
    double rate = argc > 4 ? atof(argv[4]) : 0.10;
    double mde = argc > 5 ? atof(argv[5]) : 0.10;
    double alpha = argc > 6 ? atof(argv[6]) : 0.05;
    uint64_t sd = argc > 7 ? strtoull(argv[7], NULL, 10) : 20261130;
    if (runs < 1 || looks < 1 || per_day < 2 || !(rate > 0 && rate < 1) || !(mde > 0) ||
        !(alpha > 0 && alpha < 1)) {
        fprintf(stderr, "usage: ll_seqsim [RUNS [LOOKS [PER_DAY [RATE [MDE [ALPHA [SEED]]]]]]]\n");
        return 2;
    }
    seed(sd);
    /* The mixture scale is fixed before the data, as a plan fixes it. */
    double tau = mde * rate, tau2 = tau * tau;
    long naive = 0, seq = 0, fixed_end = 0;
    for (long r = 0; r < runs; r++) {
        uint64_t cc = 0, vc = 0, n = 0;
        int naive_hit = 0, seq_hit = 0;
        double seq_p = 1;
        for (int d = 0; d < looks; d++) {
            ll_stats_arm_t c, v;
            ll_stats_result_t res;
            n += (uint64_t)per_day;
            cc += binomial((uint64_t)per_day, rate);
            vc += binomial((uint64_t)per_day, rate);
            c = (ll_stats_arm_t){.value = (double)cc / (double)n, .n = n};
            v = (ll_stats_arm_t){.value = (double)vc / (double)n, .n = n};
            if (ll_stats_two_proportion(&c, &v, &res) != LL_OK)
                continue;
            if (res.p < alpha) {
                naive_hit = 1;
                if (d == looks - 1)
                    fixed_end++; /* the single planned look */
            }
            double p = exp(-ll_stats_msprt_log_lr(res.diff, res.se * res.se, tau2));
            if (p < seq_p)
                seq_p = p;
            if (seq_p < alpha)
                seq_hit = 1;
        }
        naive += naive_hit;
        seq += seq_hit;
    }
    double fn = (double)naive / (double)runs, fs = (double)seq / (double)runs;
    double ff = (double)fixed_end / (double)runs;
    printf("sequential false-positive simulation: %ld null experiments, %d daily looks, %ld "
           "visitors/arm/day, rate %g, alpha %g, mSPRT tau = %g x %g\n",
           runs, looks, per_day, rate, alpha, mde, rate);
    printf("  fixed test read once at the end:      %.4f (+/- %.4f)\n", ff,
           sqrt(ff * (1 - ff) / (double)runs));
    printf("  naive fixed test, peeking every day:  %.4f (+/- %.4f)\n", fn,
           sqrt(fn * (1 - fn) / (double)runs));
    printf("  mSPRT always-valid p, every day:      %.4f (+/- %.4f)\n", fs,
           sqrt(fs * (1 - fs) / (double)runs));
    int ok = fs <= alpha && fn > alpha;
    printf("  %s: the sequential rate is %s alpha, the naive one %s it\n", ok ? "OK" : "FAILED",
           fs <= alpha ? "at or under" : "ABOVE", fn > alpha ? "above" : "NOT above");
    return ok ? 0 : 1;
}
