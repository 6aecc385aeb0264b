"""Gaussian-mixture family: numba kernels against their slow references (losses, data, selection)."""

import numpy as np
import pytest

from sgsweep import rng
from sgsweep.mixture import data, losses, selection


@pytest.mark.parametrize("name", losses.LOSSES)
def test_loss_kernels_match_reference_and_finite_differences(name):
    code = losses.LOSS_CODE[name]
    z = np.linspace(-6, 6, 241) + 0.0123  # avoid the hinge kink at z = 1 exactly
    v, d1, d2 = losses.reference_loss(name, z)
    got = np.array([[losses.loss_value(code, a), losses.loss_d1(code, a), losses.loss_d2(code, a)] for a in z])
    np.testing.assert_allclose(got[:, 0], v, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(got[:, 1], d1, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(got[:, 2], d2, rtol=1e-12, atol=1e-14)
    e = 1e-6
    fd1 = np.array([(losses.loss_value(code, a + e) - losses.loss_value(code, a - e)) / (2 * e) for a in z])
    fd2 = np.array([(losses.loss_d1(code, a + e) - losses.loss_d1(code, a - e)) / (2 * e) for a in z])
    far = np.abs(z - 1.0) > 1e-3
    np.testing.assert_allclose(fd1[far], d1[far], atol=1e-6)
    np.testing.assert_allclose(fd2[far], d2[far], atol=1e-5)


@pytest.mark.parametrize("clusters", [2, 3])
@pytest.mark.parametrize("name", losses.LOSSES)
def test_big_lambda_chain_rule(name, clusters):
    code, L = losses.LOSS_CODE[name], 0.7
    r = np.linspace(-2.5, 2.5, 101) + 0.0071
    for y in (-1.0, 1.0):
        v, d1, d2 = losses.reference_big_lambda(name, clusters, L, np.full_like(r, y), r)
        got = np.array([[losses.big_lambda(code, clusters, L, y, a), losses.big_lambda_d1(code, clusters, L, y, a),
                         losses.big_lambda_d2(code, clusters, L, y, a, 0.0)] for a in r])
        np.testing.assert_allclose(got, np.stack([v, d1, d2], 1), rtol=1e-11, atol=1e-13)
        e = 1e-6
        fd = np.array([(losses.big_lambda(code, clusters, L, y, a + e) - losses.big_lambda(code, clusters, L, y, a - e))
                       / (2 * e) for a in r])
        phi = r if clusters == 2 else r * r - L * L
        far = np.abs(y * phi - 1.0) > 1e-3
        np.testing.assert_allclose(fd[far], d1[far], atol=1e-5)


def test_hinge_kink_weight_is_a_normalised_delta():
    zz = np.linspace(-1, 3, 40001)
    w = np.array([losses.hinge_kink_weight(a, 0.05) for a in zz])
    assert abs(np.trapezoid(w, zz) - 1.0) < 1e-9
    assert abs(np.trapezoid(w * zz, zz) - 1.0) < 1e-9


@pytest.mark.parametrize("clusters", [2, 3])
def test_dataset_kernel_bits_match_reference(clusters):
    ss = np.random.SeedSequence(11)
    s1, s2 = rng.init_states([ss]), rng.init_states([ss])
    n, d = 37, 23
    X, y, c = np.empty((n, d)), np.empty(n), np.empty(n)
    data.draw_dataset(s1[0], clusters, 0.3, X, y, c)
    Xr, yr, cr = data.reference_dataset(s2[0], clusters, 0.3, n, d)
    assert np.array_equal(y, yr) and np.array_equal(c, cr)
    np.testing.assert_allclose(X, Xr, rtol=0, atol=4e-16 * np.abs(Xr).max())  # LLVM may fuse c/√d + √Δz (FMA)
    assert np.array_equal(s1, s2)  # same number of draws consumed


def test_cluster_law_and_labels():
    st = rng.init_states([np.random.SeedSequence(3)])[0]
    n, d = 40000, 2
    for clusters in (2, 3):
        X, y, c = np.empty((n, d)), np.empty(n), np.empty(n)
        data.draw_dataset(st, clusters, 1.0, X, y, c)
        if clusters == 2:
            assert np.array_equal(y, c) and abs(np.mean(c == 1) - 0.5) < 0.01
        else:
            assert np.all(y[c == 0] == -1) and np.all(y[c != 0] == 1)
            assert abs(np.mean(c == 0) - 0.5) < 0.01 and abs(np.mean(c == 1) - 0.25) < 0.01


def test_closed_form_test_error_matches_monte_carlo():
    st = np.random.default_rng(0)
    for clusters, m, C, delta in [(2, 0.8, 1.5, 0.5), (3, 1.1, 2.0, 0.05), (3, 0.3, 0.5, 0.2)]:
        L = 0.7
        c = st.choice([-1, 1], 400000) if clusters == 2 else st.choice([0, 0, 1, -1], 400000)
        y = c if clusters == 2 else np.where(c == 0, -1, 1)
        r = c * m + np.sqrt(delta * C) * st.standard_normal(c.size)
        phi = r if clusters == 2 else r * r - L * L
        emp = np.mean(y * phi < 0)
        exact = data.test_error_closed(clusters, L, delta, m, C)
        assert abs(emp - exact) < 4 * np.sqrt(exact * (1 - exact) / c.size)
        assert abs(float(data.test_error_closed_np(clusters, L, delta, m, C)) - exact) < 1e-15


def test_bayes_floor_value():
    assert abs(data.bayes_floor_two_clusters(0.5) - 0.07865) < 5e-6


@pytest.mark.parametrize("alg", selection.ALGORITHMS)
def test_selection_kernel_bits_match_reference(alg):
    b, tau, eta = 0.3, 0.9, 0.1
    p_on, p_off = selection.transition_probabilities(alg, b, tau, eta)
    ss = np.random.SeedSequence(5)
    a = selection.sample_selection(rng.init_states([ss])[0], selection.ALG_CODE[alg], b, p_on, p_off, 17, 40)
    r = selection.reference_selection(rng.init_states([ss])[0], alg, b, p_on, p_off, 17, 40)
    assert np.array_equal(a, r)
