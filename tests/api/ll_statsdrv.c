/*
 * ll_statsdrv: a line-oriented driver over ll_stats, so an independent
 * implementation (SciPy, tests/api/test_stats_scipy.py) can check every
 * statistic the readouts use. One command per input line, one output line
 * per command: the results as %.17g separated by spaces, or "ERR" when
 * the function refuses its input (LL_ERR_INVALID).
 *
 *   norm_cdf Z | norm_q P | t_cdf T DF | t_q P DF | chi2_sf X DF
 *   gamma_q A X | incbeta A B X
 *   prop N1 P1 N2 P2              -> diff se stat p ci_low ci_high
 *   welch M1 S1 N1 M2 S2 N2       -> diff se stat df p ci_low ci_high
 *   os_prop N1 P1 N2 P2 SHIFT     -> one-sided p of diff > SHIFT
 *   os_welch M1 S1 N1 M2 S2 N2 SHIFT
 *   srm K N1..NK S1..SK           -> chi2 p
 *   holm M P1..PM | bh M P1..PM   -> adjusted p-values
 *   ss_rate P1 MDE ALPHA POWER    -> n
 *   ss_mean MEAN SD MDE ALPHA POWER -> n
 *   power DELTA SE ALPHA
 *   msprt DIFF VAR TAU2           -> ln Lambda
 *   msprt_ci DIFF VAR TAU2 ALPHA  -> lo hi
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ll_err.h"
#include "ll_stats.h"

#define MAXA 64

static void out(const double *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        printf("%s%.17g", i ? " " : "", v[i]);
    printf("\n");
}

int main(void)
{
    char line[4096];
    while (fgets(line, sizeof line, stdin)) {
        char *save = NULL, *cmd = strtok_r(line, " \t\n", &save);
        double a[MAXA];
        size_t n = 0;
        if (!cmd)
            continue;
        for (char *t; n < MAXA && (t = strtok_r(NULL, " \t\n", &save));)
            a[n++] = strtod(t, NULL);
        double r[MAXA];
        ll_stats_arm_t c = {0}, v = {0};
        ll_stats_result_t res;
        if (!strcmp(cmd, "norm_cdf")) {
            r[0] = ll_stats_norm_cdf(a[0]);
            out(r, 1);
        } else if (!strcmp(cmd, "norm_q")) {
            r[0] = ll_stats_norm_quantile(a[0]);
            out(r, 1);
        } else if (!strcmp(cmd, "t_cdf")) {
            r[0] = ll_stats_t_cdf(a[0], a[1]);
            out(r, 1);
        } else if (!strcmp(cmd, "t_q")) {
            r[0] = ll_stats_t_quantile(a[0], a[1]);
            out(r, 1);
        } else if (!strcmp(cmd, "chi2_sf")) {
            r[0] = ll_stats_chi2_sf(a[0], a[1]);
            out(r, 1);
        } else if (!strcmp(cmd, "gamma_q")) {
            r[0] = ll_stats_gamma_q(a[0], a[1]);
            out(r, 1);
        } else if (!strcmp(cmd, "incbeta")) {
            r[0] = ll_stats_incbeta(a[0], a[1], a[2]);
            out(r, 1);
        } else if (!strcmp(cmd, "prop") || !strcmp(cmd, "os_prop")) {
            c.n = (uint64_t)a[0];
            c.value = a[1];
            v.n = (uint64_t)a[2];
            v.value = a[3];
            if (ll_stats_two_proportion(&c, &v, &res) != LL_OK) {
                printf("ERR\n");
                continue;
            }
            if (cmd[0] == 'o') {
                r[0] = ll_stats_one_sided(&res, a[4]);
                out(r, 1);
                continue;
            }
            double o[] = {res.diff, res.se, res.stat, res.p, res.ci_low, res.ci_high};
            out(o, 6);
        } else if (!strcmp(cmd, "welch") || !strcmp(cmd, "os_welch")) {
            c.value = a[0];
            c.stddev = a[1];
            c.n = (uint64_t)a[2];
            v.value = a[3];
            v.stddev = a[4];
            v.n = (uint64_t)a[5];
            if (ll_stats_welch(&c, &v, &res) != LL_OK) {
                printf("ERR\n");
                continue;
            }
            if (cmd[0] == 'o') {
                r[0] = ll_stats_one_sided(&res, a[6]);
                out(r, 1);
                continue;
            }
            double o[] = {res.diff, res.se, res.stat, res.df, res.p, res.ci_low, res.ci_high};
            out(o, 7);
        } else if (!strcmp(cmd, "srm")) {
            size_t k = (size_t)a[0];
            uint64_t cnt[MAXA];
            if (k > (MAXA - 1) / 2) {
                printf("ERR\n");
                continue;
            }
            for (size_t i = 0; i < k; i++)
                cnt[i] = (uint64_t)a[1 + i];
            if (ll_stats_srm(cnt, a + 1 + k, k, &r[0], &r[1]) != LL_OK) {
                printf("ERR\n");
                continue;
            }
            out(r, 2);
        } else if (!strcmp(cmd, "holm") || !strcmp(cmd, "bh")) {
            size_t m = (size_t)a[0];
            if (cmd[0] == 'h')
                ll_stats_holm(a + 1, m, r);
            else
                ll_stats_bh(a + 1, m, r);
            out(r, m);
        } else if (!strcmp(cmd, "ss_rate") || !strcmp(cmd, "ss_mean")) {
            uint64_t ns;
            int err = cmd[3] == 'r' ? ll_stats_sample_size_rate(a[0], a[1], a[2], a[3], &ns)
                                    : ll_stats_sample_size_mean(a[0], a[1], a[2], a[3], a[4], &ns);
            if (err != LL_OK) {
                printf("ERR\n");
                continue;
            }
            printf("%" PRIu64 "\n", ns);
        } else if (!strcmp(cmd, "power")) {
            r[0] = ll_stats_power(a[0], a[1], a[2]);
            out(r, 1);
        } else if (!strcmp(cmd, "msprt")) {
            r[0] = ll_stats_msprt_log_lr(a[0], a[1], a[2]);
            out(r, 1);
        } else if (!strcmp(cmd, "msprt_ci")) {
            ll_stats_msprt_ci(a[0], a[1], a[2], a[3], &r[0], &r[1]);
            out(r, 2);
        } else {
            printf("ERR unknown command %s\n", cmd);
        }
        fflush(stdout);
    }
    return 0;
}
