/*
 * ll_drift: model-drift detection on Measurement series.
 *
 * A series is one (initiative, metric, segment, arm). The detector compares
 * the mean of a baseline window of `baseline` points with each of the
 * `recent` points that follow it: a sustained decline is every recent point
 * below baseline_mean * (1 - threshold). It is edge-triggered: it fires on
 * the point where the condition first becomes true, not again while the
 * decline persists, and again only after the series has recovered - so one
 * episode gives one Alert.
 *
 * When it fires, the server records an Alert (detector DRIFT, baseline and
 * current means) signed by its own actor key, DERIVED_FROM the Measurement
 * that completed the window, in the same commit as that Measurement (the
 * ledger's follow-up entries, ll_ledger_set_follow_up): the Measurement's
 * Append names the Alert among its effects.
 */
#ifndef LL_DRIFT_H
#define LL_DRIFT_H

#include <stddef.h>
#include <stdint.h>

#include "ll_crypto.h"
#include "ll_ledger.h"

typedef struct ll_drift_config {
    unsigned baseline;  /* points in the baseline window (default 7) */
    unsigned recent;    /* points that must all be low (default 3) */
    double threshold;   /* relative decline, e.g. 0.10 (default) */
} ll_drift_config_t;

#define LL_DRIFT_DEFAULTS {7, 3, 0.10}

/* Evaluates the detector at the last point of series[0..n) (oldest first).
 * Returns 1 when it fires there (and sets *baseline_mean, *recent_mean),
 * 0 otherwise. Needs n >= baseline + recent to fire. Pure: no I/O. */
int ll_drift_eval(const double *series, size_t n, const ll_drift_config_t *cfg,
                  double *baseline_mean, double *recent_mean);

typedef struct ll_drift ll_drift_t;

/* Attaches the detector to lg: each Measurement applied is examined and
 * Alerts signed with actor_key are appended with it (borrowed; must
 * outlive the detector). Caller frees with ll_drift_close. */
int ll_drift_open(ll_ledger_t *lg, const ll_key_t *actor_key,
                  const ll_drift_config_t *cfg, ll_drift_t **out);
void ll_drift_close(ll_drift_t *d);

/* Alerts the detector has sealed, validate-only appends included (for
 * logs and tests). */
uint64_t ll_drift_alerts(ll_drift_t *d);

#endif
