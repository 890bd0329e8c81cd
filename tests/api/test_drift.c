/*
 * ll_drift: the detector on synthetic series, and the alert the server
 * records when a measurement drifts.
 */
#include <time.h>
#include <unistd.h>

#include "../support/ll_testloop.h"
#include "ll_drift.h"
#include "ll_query.h"

static void test_drift_detector_on_synthetic_series(void **state)
{
    (void)state;
    ll_drift_config_t c = LL_DRIFT_DEFAULTS; /* 7 baseline, 3 recent, 10% */
    double b, r;
    double stable[20], dip[20], decline[20], noisy[20];
    for (int i = 0; i < 20; i++) {
        stable[i] = 0.050;
        noisy[i] = 0.050 + (i % 2 ? 0.004 : -0.004); /* +-8%: within threshold */
        dip[i] = 0.050;
        decline[i] = i < 10 ? 0.050 : 0.040; /* -20% from point 10 on */
    }
    dip[12] = dip[13] = 0.030; /* two low points are not sustained */
    for (size_t n = 1; n <= 20; n++) {
        assert_false(ll_drift_eval(stable, n, &c, &b, &r));
        assert_false(ll_drift_eval(noisy, n, &c, &b, &r));
        assert_false(ll_drift_eval(dip, n, &c, &b, &r));
    }
    /* Fires once, on the third low point, and not again while it lasts. */
    int fired = 0;
    for (size_t n = 1; n <= 20; n++) {
        if (ll_drift_eval(decline, n, &c, &b, &r)) {
            fired++;
            assert_int_equal(n, 13);
            assert_float_equal(b, 0.050, 1e-12);
            assert_float_equal(r, 0.040, 1e-12);
        }
    }
    assert_int_equal(fired, 1);
    /* Too short to judge. */
    assert_false(ll_drift_eval(decline + 7, 6, &c, &b, &r));
}

static void test_drift_alert_is_recorded_by_the_server(void **state)
{
    fx_t *f = *state;
    ll_drift_config_t c = {4, 2, 0.10};
    ll_drift_t *d;
    charter(f, "reco");
    assert_int_equal(ll_drift_open(f->lg, f->actor_key, &c, &d), LL_OK);
    double values[] = {0.05, 0.05, 0.05, 0.05, 0.05, 0.04, 0.04, 0.04};
    uint64_t mseq[8];
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        Loopledger__V1__Observation o = LOOPLEDGER__V1__OBSERVATION__INIT;
        Loopledger__V1__Observation *op[1] = {&o};
        o.metric = "ctr";
        o.segment = "home-garden";
        o.value = values[i];
        Loopledger__V1__Measurement m = LOOPLEDGER__V1__MEASUREMENT__INIT;
        m.source = "dashboard";
        m.n_observations = 1;
        m.observations = op;
        ll_append_result_t r = add(f, "reco", KIND(MEASUREMENT), &m, NULL, 0);
        mseq[i] = OK(r);
        /* The 7th point fires: its Alert is in the same commit, right
         * after it, and its answer names it (issue 11 item 8). */
        if (i == 6) {
            assert_int_equal(r.effects.n, 1);
            assert_int_equal(r.effects.e[0].type, LL_EFFECT_ALERT_RAISED);
            assert_int_equal(r.effects.e[0].seq, mseq[6] + 1);
            assert_non_null(strstr(r.effects.e[0].text, "raised by the drift detector: ctr/home-garden"));
            assert_int_equal(ll_store_committed_size(f->st), mseq[6] + 2);
        } else {
            assert_int_equal(r.effects.n, 0);
        }
    }
    /* genesis, charter, 8 measurements, 1 alert. */
    assert_int_equal(ll_drift_alerts(d), 1);
    ll_drift_close(d);
    assert_int_equal(ll_store_committed_size(f->st), 11);

    ll_txn_t *t;
    Loopledger__V1__EntryBody *b;
    ll_entry_meta_t m;
    uint64_t seqs[4], next;
    size_t n;
    char msg[200];
    Loopledger__V1__ListEntriesRequest lr = LOOPLEDGER__V1__LIST_ENTRIES_REQUEST__INIT;
    lr.kind = (Loopledger__V1__Kind)KIND(ALERT);
    assert_int_equal(ll_store_begin_read(f->st, &t), LL_OK);
    assert_int_equal(ll_query_list(t, &lr, 0, 11, 4, seqs, &n, &next, msg, sizeof msg), LL_OK);
    assert_int_equal(n, 1);
    uint64_t last = seqs[0] - 1;
    assert_int_equal(ll_index_meta(t, last + 1, &m), LL_OK);
    assert_string_equal(m.author, LL_SERVER_ACTOR);
    assert_int_equal(m.kind, KIND(ALERT));
    assert_int_equal(ll_entry_load_body(t, last + 1, &b), LL_OK);
    assert_int_equal(b->alert->detector, LOOPLEDGER__V1__DETECTOR__DETECTOR_DRIFT);
    assert_string_equal(b->alert->metric, "ctr");
    assert_string_equal(b->alert->segment, "home-garden");
    assert_float_equal(b->alert->baseline, 0.05, 1e-12);
    assert_float_equal(b->alert->current, 0.04, 1e-12);
    assert_int_equal(b->n_links, 1);
    assert_int_equal(b->links[0]->relation, REL(DERIVED_FROM));
    assert_int_equal(b->links[0]->target_seq, mseq[6]); /* the 7th point */
    loopledger__v1__entry_body__free_unpacked(b, NULL);
    /* It is an open, undiagnosed alert of the initiative. */
    ll_loop_state_t st;
    assert_int_equal(ll_index_state(t, "reco", &st), LL_OK);
    assert_int_equal(st.open[LL_OPEN_ALERT_UNDIAGNOSED], 1);
    ll_store_abort(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_drift_detector_on_synthetic_series),
        cmocka_unit_test_setup_teardown(test_drift_alert_is_recorded_by_the_server, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
