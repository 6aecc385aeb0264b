"""Success-probability statistics: Wilson intervals and the logistic threshold fit."""

import numpy as np

from sgsweep.analysis.binomial import bootstrap_threshold, fit_threshold, logistic, wilson_interval


def test_wilson_interval_known_values_and_edges():
    # 95 % Wilson interval for 8/10 is [0.4902, 0.9433] (Newcombe 1998, Table I)
    lo, hi = wilson_interval(8, 10, level=0.95)
    assert abs(lo - 0.4902) < 5e-4 and abs(hi - 0.9433) < 5e-4
    lo, hi = wilson_interval([0, 10], [10, 10])
    assert lo[0] == 0 and 0 < hi[0] < 0.2 and hi[1] == 1 and 0.8 < lo[1] < 1


def test_wilson_coverage_close_to_nominal():
    rng = np.random.default_rng(0)
    p, n = 0.3, 40
    k = rng.binomial(n, p, size=20000)
    lo, hi = wilson_interval(k, n, level=0.9)
    cover = np.mean((lo <= p) & (p <= hi))
    assert 0.87 < cover < 0.94


def test_fit_recovers_threshold_and_bootstrap_covers_it():
    rng = np.random.default_rng(1)
    x = np.linspace(1, 3, 9)
    n = np.full(x.size, 400)
    k = rng.binomial(n, logistic(x, 2.1, 0.15))
    x0, w, status = fit_threshold(x, k, n)
    assert status == "ok" and abs(x0 - 2.1) < 0.03 and abs(w - 0.15) < 0.04
    lo, hi = bootstrap_threshold(x, k, n, np.random.default_rng(2), resamples=200)
    assert lo < x0 < hi and hi - lo < 0.1


def test_fit_statuses_and_decreasing_curves():
    x = np.array([1.0, 2.0, 3.0])
    assert fit_threshold(x, [0, 0, 0], [5, 5, 5])[2] == "no_success"
    assert fit_threshold(x, [5, 5, 5], [5, 5, 5])[2] == "all_success"
    x0, _w, st = fit_threshold(x, [5, 2, 0], [5, 5, 5], increasing=False)
    assert st == "ok" and 1.5 < x0 < 2.5


def test_free_plateau_fit_recovers_midpoint_of_a_capped_curve():
    rng = np.random.default_rng(3)
    x = np.linspace(1, 4, 10)
    n = np.full(x.size, 600)
    k = rng.binomial(n, logistic(x, 2.0, 0.2, plateau=0.8))
    from sgsweep.analysis.binomial import fit_curve

    x0, w, a, st = fit_curve(x, k, n, free_plateau=True)
    assert st == "ok" and abs(x0 - 2.0) < 0.05 and abs(a - 0.8) < 0.03
    x0_fixed, _w, _ = fit_threshold(x, k, n)  # plateau forced to 1 biases the midpoint upwards
    assert x0_fixed > x0 + 0.05
