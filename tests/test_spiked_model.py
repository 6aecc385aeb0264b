"""Finite-N spiked (2+p) model: instance law, packed fields, energy and gradient (spiked.md §1.1–1.2)."""

import math

import numpy as np
import pytest

from sgsweep import rng
from sgsweep.spiked import model as M


def _state(seed):
    return rng.init_states([np.random.SeedSequence(seed)])[0]


def _point(N, seed=0):
    x = np.random.default_rng(seed).normal(size=N)  # test input only, not model randomness
    return x * math.sqrt(N) / np.linalg.norm(x)


@pytest.mark.parametrize("p,N", [(3, 3), (3, 11), (4, 4), (4, 10)])
def test_fields_energy_gradient_match_dense_reference(p, N):
    inst = M.draw_instance(_state(1), p, N, 0.7, 1.3)
    x = _point(N)
    D = M.dense_tensor(inst)
    mf_ref, tf_ref = M.reference_fields(inst, x, D)
    mf, tf = np.empty(N), np.empty(N)
    M.matrix_field(inst, x, mf)
    M.tensor_field(inst, x, tf)
    np.testing.assert_allclose(mf, mf_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(tf, tf_ref, rtol=1e-12, atol=1e-12)
    g = np.empty(N)
    H = M.energy_and_gradient(inst, x, g)
    H_ref, g_ref = M.reference_energy_and_gradient(inst, x, D)
    assert H == pytest.approx(H_ref, rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(g, g_ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("p,N", [(3, 9), (4, 8)])
def test_gradient_equals_finite_differences(p, N):
    inst = M.draw_instance(_state(2), p, N, 0.4, 0.9)
    x = _point(N, 3) * 1.1  # off the sphere: the Euclidean gradient of H on R^N
    g = np.empty(N)
    M.energy_and_gradient(inst, x, g)
    eps = 1e-5
    fd = np.empty(N)
    tmp = np.empty(N)
    for k in range(N):
        e = np.zeros(N)
        e[k] = eps
        fd[k] = (M.energy_and_gradient(inst, x + e, tmp) - M.energy_and_gradient(inst, x - e, tmp)) / (2 * eps)
    np.testing.assert_allclose(g, fd, rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("p", [3, 4])
def test_energy_is_sum_of_homogeneous_parts(p):
    """x·∇H = 2 H2 + p Hp and H(λx) = λ² H2 + λ^p Hp (homogeneity used for the free energy)."""
    N = 12
    inst = M.draw_instance(_state(4), p, N, 0.5, 2.0)
    x = _point(N, 5)
    g = np.empty(N)
    H1 = M.energy_and_gradient(inst, x, g)
    H2x = M.energy_and_gradient(inst, 2 * x, np.empty(N))
    # H = A + B, H(2x) = 4A + 2^p B, x·∇H = 2A + pB
    A = (2 ** p * H1 - H2x) / (2 ** p - 4)
    B = H1 - A
    assert x @ g == pytest.approx(2 * A + p * B, rel=1e-11)


@pytest.mark.parametrize("p", [3, 4])
def test_instance_signal_exact_and_noise_statistics(p):
    N = 40 if p == 3 else 22
    d2, dp = 0.6, 1.7
    s = _state(7)
    a = M.draw_instance(s.copy(), p, N, d2, dp)
    b = M.draw_instance(s.copy(), p, N, 4 * d2, 4 * dp)  # same normals, noise doubled
    assert np.array_equal(a.xstar, b.xstar)
    assert a.xstar @ a.xstar == pytest.approx(N, rel=1e-14)
    Ys, Ts = M.reference_signal(a.xstar, p)
    # signal part: 2a − b removes the noise exactly (up to rounding)
    np.testing.assert_allclose(2 * a.T - b.T, Ts, atol=1e-13)
    np.testing.assert_allclose(2 * a.Y - b.Y, Ys, atol=1e-13)
    assert np.array_equal(a.Y, a.Y.T) and np.all(np.diag(a.Y) == 0)
    assert a.T.size == math.comb(N, p)
    # noise part: mean 0, variance Δ
    nT = a.T - Ts
    nY = (a.Y - Ys)[np.triu_indices(N, 1)]
    for noise, var in ((nT, dp), (nY, d2)):
        n = noise.size
        assert abs(noise.mean()) < 5 * math.sqrt(var / n)
        assert abs(noise.var() / var - 1) < 5 * math.sqrt(2 / n)
    # the noise of T and Y are independent streams: no correlation between the two
    assert abs(np.corrcoef(nT[: nY.size], nY)[0, 1]) < 5 / math.sqrt(nY.size)


def test_draw_is_deterministic_and_advances_state():
    s1, s2 = _state(11), _state(11)
    a = M.draw_instance(s1, 3, 15, 1.0, 1.0)
    b = M.draw_instance(s2, 3, 15, 1.0, 1.0)
    assert np.array_equal(a.T, b.T) and np.array_equal(a.Y, b.Y) and np.array_equal(a.xstar, b.xstar)
    assert np.array_equal(s1, s2) and not np.array_equal(s1, _state(11))
    c = M.draw_instance(s1, 3, 15, 1.0, 1.0)  # advanced state: a new instance
    assert not np.array_equal(a.xstar, c.xstar)


def test_typical_energy_scale():
    """At x = x*, H/N ≈ −Q(1) − (noise, mean 0, sd √(Q(1)/N)) (spiked.md §1.2 with m = 1)."""
    p, N, d2, dp = 3, 60, 0.5, 1.0
    Q1 = 1 / (2 * d2) + 1 / (p * dp)
    es = []
    for seed in range(6):
        inst = M.draw_instance(_state(100 + seed), p, N, d2, dp)
        es.append(M.energy_and_gradient(inst, inst.xstar.copy(), np.empty(N)) / N)
    # finite-N signal: Σ_{i<j} excludes i=j, so the signal part is −Q(1) + O(1/N)
    assert abs(np.mean(es) + Q1) < 5 * math.sqrt(Q1 / N / len(es)) + 3 / N


def test_bad_input_rejected():
    with pytest.raises(ValueError, match="p"):
        M.draw_instance(_state(0), 5, 10, 1.0, 1.0)
    inst = M.draw_instance(_state(0), 3, 6, 1.0, 1.0)
    with pytest.raises(ValueError, match="x"):
        M.energy_and_gradient(inst, np.zeros(5), np.empty(6))
