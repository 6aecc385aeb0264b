"""Selection processes of SGD / persistent SGD (sgd_dmft.md §3.2): exact statistics."""

import numpy as np

from sgsweep import rng
from sgsweep.mixture import selection


def _sample(alg, b, tau, eta, n, steps, seed):
    p_on, p_off = selection.transition_probabilities(alg, b, tau, eta)
    st = rng.init_states([np.random.SeedSequence(seed)])[0]
    return selection.sample_selection(st, selection.ALG_CODE[alg], b, p_on, p_off, n, steps)


def _autocov(s, lags):
    s = s - s.mean()
    return np.array([np.mean(s[k:] * s[: s.shape[0] - k]) for k in lags])


def test_psgd_stationary_mean_and_exponential_correlation():
    b, tau, eta = 0.3, 2.0, 0.01  # η/(bτ) = 1/60: close to the continuous-time limit
    s = _sample("psgd", b, tau, eta, 2000, 900, 1)
    # stationary from the start: mean b at every time (checked on early and late windows)
    for window in (s[:50], s[-50:]):
        assert abs(window.mean() - b) < 5 * np.sqrt(b * (1 - b) / window.size) * 4  # correlated samples
    lags = np.array([0, 15, 30, 60, 120, 180])
    emp = _autocov(s, lags)
    exact = selection.autocovariance_exact(b, tau, eta, lags)
    cont = selection.autocovariance_continuous(b, tau, lags * eta)
    np.testing.assert_allclose(emp, exact, atol=4e-3)
    np.testing.assert_allclose(emp, cont, atol=5e-3)
    # continuous form b(1-b)e^{-|t-t'|/(bτ)} vs the exact discrete chain: O(η) apart
    assert np.max(np.abs(exact - cont)) < 2e-3


def test_psgd_with_tau_eta_over_b_is_sgd_in_law():
    b, eta = 0.3, 0.2
    sgd = _sample("sgd", b, 1.0, eta, 3000, 300, 2)
    psgd = _sample("psgd", b, eta / b, eta, 3000, 300, 3)
    se = np.sqrt(b * (1 - b) / sgd.size)
    for s in (sgd, psgd):
        assert abs(s.mean() - b) < 5 * se
        ac = _autocov(s, [1, 2, 5])
        assert np.all(np.abs(ac) < 5 * b * (1 - b) / np.sqrt(s.size))  # no memory
    assert not np.array_equal(sgd, psgd)


def test_gd_selects_everything():
    s = _sample("gd", 0.3, 1.0, 0.2, 10, 5, 4)
    assert np.all(s == 1.0)


def test_psgd_transition_check():
    assert selection.check_psgd(0.3, 0.2 / 0.3, 0.2) is None
    assert "tau" in selection.check_psgd(0.3, 0.1, 0.2)
