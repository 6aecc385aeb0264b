"""Kac–Rice complexity of the spiked (2+p) model (sgsweep.spiked.kacrice) against spiked.md §4.3
and the pure spherical p-spin values of §7."""

import math

import numpy as np
import pytest
from scipy.optimize import minimize_scalar

from sgsweep.spiked import kacrice as kr
from sgsweep.spiked import theory as th

DPS = [0.25, 0.5, 1, 1.5, 2, 3, 4, 5, 10]
TRIV = {
    3: [4.43585, 3.26783, 2.46275, 2.11670, 1.91558, 1.68443, 1.55206, 1.46490, 1.26479],
    4: [5.93350, 4.26776, 3.12559, 2.63539, 2.35014, 2.02117, 1.83161, 1.70600, 1.41318],
}

# spiked.md §7: H -> (E_inf, E_0, total complexity, minima complexity at E_inf)
PSPIN = {
    3: (1.6329932, 1.6569984, 0.3465736, 0.0132403),
    4: (1.7320508, 1.7940850, 0.5493061, 0.0493061),
    5: (1.7888544, 1.8879888, 0.6931472, 0.0931472),
}


@pytest.mark.parametrize("p", [3, 4])
def test_trivialisation_table(p):
    got = kr.inv_delta2_triv(p, np.array(DPS))
    assert np.all(np.abs(got - np.array(TRIV[p])) < 1e-5)


def test_sigma_min_at_zero_below_gf_line_closed_form():
    # θ ≤ 1: Σ_min(0) = 1 + ½log(Q''/Q') − 2Q''/(Q'+Q''); 0.000984 at p=3, Δp=1, 1/Δ2=2 (§4.3)
    for p, x, dp in [(3, 2.0, 1.0), (3, 1.5, 0.7), (4, 2.0, 1.0)]:
        q1, q2 = x + 1 / dp, x + (p - 1) / dp
        closed = 1 + 0.5 * math.log(q2 / q1) - 2 * q2 / (q1 + q2)
        assert abs(float(kr.sigma_min(0.0, p, 1 / x, dp)[0]) - closed) < 1e-12
        assert closed > 0
    assert abs(float(kr.sigma_min(0.0, 3, 0.5, 1.0)[0]) - 0.000984) < 5e-7


@pytest.mark.parametrize("p,x,dp", [(3, 2.5, 1.0), (3, 4.0, 1.0), (4, 3.0, 4.0), (4, 2.5, 1.0), (3, 1.7, 1.0),
                                    (3, 3.0, 0.3)])
def test_sigma_min_vanishes_at_m_ml(p, x, dp):
    m = th.m_ml(p, 1 / x, dp)
    assert m > 0
    assert abs(float(kr.sigma_min(m, p, 1 / x, dp)[0])) < 1e-5
    side = kr.sigma_min(np.array([m - 0.02, m + 0.02]), p, 1 / x, dp)
    assert np.all(side < 0)


def test_spiked_md_example_value():
    # "max ≈ −1e-6 at m = 0.825, 1/Δ2 = 2.5, Δp = 1, p = 3" (spiked.md §4.3)
    v = float(kr.sigma_min(0.825, 3, 0.4, 1.0)[0])
    assert -2e-5 < v < 0


def test_energy_maximisation_matches_slide_formula():
    # max over (ε2, εp) at fixed μ of the slide's Σ̃ equals sigma_t (closed-form Lagrange step)
    p, d2, dp = 3, 0.4, 1.0
    s = math.sqrt(th.qpp1(p, d2, dp))
    for m, t in [(0.0, 2.3), (0.3, 2.1), (-0.2, 2.6), (0.8, 3.0)]:
        mu = t * s

        def neg(e2):
            ep = (-mu - 2 * e2) / p
            return -float(kr.complexity(m, e2, ep, p, d2, dp))

        res = minimize_scalar(neg, bounds=(-20, 20), method="bounded", options={"xatol": 1e-12})
        assert abs(-res.fun - float(kr.sigma_t(m, t, p, d2, dp))) < 1e-9


def test_outlier_rate_properties():
    for thv in (1.2, 2.0, 3.5):
        c = thv + 1 / thv
        assert abs(float(kr.outlier_rate(thv, c))) < 1e-14
        ts = np.linspace(2.0, c, 50)[:-1]
        L = kr.outlier_rate(thv, ts)
        assert np.all(L > 0) and np.all(np.diff(L) < 0)
        h = 1e-6
        assert abs((float(kr.outlier_rate(thv, c - h)) - 0.0) / h) < 1e-4  # L'(c) = 0
    assert float(kr.outlier_rate(0.8, 2.5)) == 0.0 and np.isinf(kr.outlier_rate(2.0, 1.9))


def test_sigma_min_bisection_against_brute_force():
    p, d2, dp = 3, 1 / 2.6, 1.0
    ms = np.array([-0.5, -0.06, 0.0, 0.4, 0.83])
    v = kr.sigma_min(ms, p, d2, dp)
    for m, val in zip(ms, v):
        ts = np.linspace(2.0, 12.0, 200001)
        assert abs(np.max(kr.sigma_t(m, ts, p, d2, dp)) - val) < 1e-8


@pytest.mark.parametrize("H", [3, 4, 5])
def test_pure_pspin_limits(H):
    e_inf, e0, tot, thr = PSPIN[H]
    assert abs(kr.pspin_E_inf(H) - e_inf) < 1e-6
    assert abs(kr.pspin_E0(H) - e0) < 1e-6
    assert abs(kr.pspin_total_complexity(H) - tot) < 1e-6
    assert abs(kr.pspin_threshold_minima_complexity(H) - thr) < 1e-6
    # the spiked Kac–Rice formula without signal reproduces the ABC complexity
    us = -np.linspace(kr.pspin_E_inf(H), e0 + 0.1, 25)
    assert np.max(np.abs(kr.pspin_abc_minima_complexity(us, H) - kr.pspin_kr_minima_complexity(us, H))) < 1e-12
    exact_thr = kr.pspin_threshold_minima_complexity(H)
    assert abs(float(kr.pspin_kr_minima_complexity(-kr.pspin_E_inf(H), H)) - exact_thr) < 1e-12
    assert abs(float(kr.pspin_kr_minima_complexity(-kr.pspin_E0(H), H))) < 1e-9
    # and sigma_min at m = 0 with 1/Δ2 → 0, Δp = 1/p is the minima complexity at E_∞
    assert abs(float(kr.sigma_min(0.0, H, 1e12, 1.0 / H)[0]) - exact_thr) < 1e-9


def test_triv_allm_p4_equals_triv_and_p3_variants():
    assert abs(kr.inv_delta2_triv_allm(4, 1.0) - kr.inv_delta2_triv(4, 1.0)) < 1e-9
    # spiked.md §4.3 correction: small negative m, neighbourhoods of the ML roots excluded
    excl = kr.inv_delta2_triv_allm(3, 1.0, exclude=0.02)
    assert abs(excl - 2.5653) < 1e-4
    strict = kr.inv_delta2_triv_allm(3, 1.0)
    assert abs(strict - 2.61347) < 1e-5 and strict > excl > kr.inv_delta2_triv(3, 1.0)
    # below the strict line some Σ_min > 0 (near the negative ML root); above, none
    x = strict
    r = [q for q in kr.stable_ml_roots(3, 1 / (x - 0.02), 1.0) if q < 0][0]
    assert float(kr.sigma_min(r, 3, 1 / (x - 0.02), 1.0)[0]) > 0
    assert kr.sigma_min_scan(3, 1 / (x + 0.01), 1.0)[0] < 1e-11
