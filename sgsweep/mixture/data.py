"""Gaussian-mixture data, initialisation and the closed-form test error (sgd_dmft.md §2.1, §4.4).

Data (MKUZ20, [V-talk] slide "MODEL FOR DATA"): ``x_μ = c_μ v*/√d + √Δ z_μ`` with ``v* = (1,…,1)``,
``z_μ ~ N(0, I_d)``;

* 2 clusters: ``c = ±1`` with probability 1/2 each, label ``y = c``;
* 3 clusters: ``c = 0`` w.p. 1/2 (label −1), ``c = +1`` w.p. 1/4, ``c = −1`` w.p. 1/4 (label +1).

Per sample the random draws are, in this order, one uniform (cluster) then ``d`` normals
(:func:`sgsweep.rng.fill_normal`), so the numba kernel and the pure-Python reference produce the same
bits from the same stream.

Closed-form test error of a weight vector with ``m = w·v*/d`` and ``C = ‖w‖²/d``: a fresh sample has
``r = c m + √(ΔC) g``, ``g ~ N(0,1)`` (exact at any finite d), hence

* 2 clusters: ``ε = ½ erfc(m / √(2ΔC))``;
* 3 clusters: ``ε = ½ erfc(L/√(2ΔC)) + ¼[erf((L−m)/√(2ΔC)) + erf((L+m)/√(2ΔC))]``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from sgsweep import rng


@njit(cache=True, inline="always")
def draw_cluster(state, clusters):
    """(c, y) of one sample from one uniform draw."""
    u = rng.uniform(state)
    if clusters == 2:
        if u < 0.5:
            return -1.0, -1.0
        return 1.0, 1.0
    if u < 0.5:
        return 0.0, -1.0
    if u < 0.75:
        return 1.0, 1.0
    return -1.0, 1.0


@njit(cache=True)
def draw_dataset(state, clusters, delta, X, y, c):
    """Fill ``X`` (n, d), labels ``y`` and clusters ``c`` in place from ``state``."""
    n, d = X.shape
    inv_sqrt_d = 1.0 / math.sqrt(d)
    sd = math.sqrt(delta)
    for mu in range(n):
        cm, ym = draw_cluster(state, clusters)
        c[mu] = cm
        y[mu] = ym
        row = X[mu]
        rng.fill_normal(state, row)
        shift = cm * inv_sqrt_d
        for i in range(d):
            row[i] = shift + sd * row[i]


@njit(cache=True, inline="always")
def test_error_closed(clusters, L, delta, m, C):
    """ε_gen from (m, C) (sgd_dmft.md §4.4)."""
    s = math.sqrt(2.0 * delta * max(C, 1e-300))
    if clusters == 2:
        return 0.5 * math.erfc(m / s)
    return 0.5 * math.erfc(L / s) + 0.25 * (math.erf((L - m) / s) + math.erf((L + m) / s))


def test_error_closed_np(clusters, L, delta, m, C):
    """Vectorised numpy/scipy version of :func:`test_error_closed`."""
    from scipy.special import erf, erfc

    m = np.asarray(m, float)
    s = np.sqrt(2.0 * delta * np.maximum(np.asarray(C, float), 1e-300))
    if clusters == 2:
        return 0.5 * erfc(m / s)
    return 0.5 * erfc(L / s) + 0.25 * (erf((L - m) / s) + erf((L + m) / s))


def bayes_floor_two_clusters(delta: float) -> float:
    """½ erfc(1/√(2Δ)): the smallest 2-cluster ε_gen of any w (m ≤ √C), sgd_dmft.md §4.4."""
    return 0.5 * math.erfc(1.0 / math.sqrt(2.0 * delta))


def reference_dataset(state, clusters, delta, n, d):
    """Pure-Python loop version of :func:`draw_dataset` (same draws, for the tests)."""
    X = np.empty((n, d))
    y = np.empty(n)
    c = np.empty(n)
    for mu in range(n):
        u = rng.uniform(state)
        if clusters == 2:
            cm = -1.0 if u < 0.5 else 1.0
            ym = cm
        else:
            cm, ym = (0.0, -1.0) if u < 0.5 else ((1.0, 1.0) if u < 0.75 else (-1.0, 1.0))
        z = np.empty(d)
        rng.fill_normal(state, z)
        X[mu] = cm * (1.0 / np.sqrt(d)) + np.sqrt(delta) * z
        y[mu], c[mu] = ym, cm
    return X, y, c
