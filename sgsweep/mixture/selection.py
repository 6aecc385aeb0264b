"""Mini-batch selection processes s_μ(t) ∈ {0, 1} (sgd_dmft.md §3.1–3.2, MKUZ20 [V-talk]).

One step of the algorithm advances time by η and uses the selection ``s_μ(k)`` of step k:

* ``gd``   : s ≡ 1 (full batch; ``b`` and ``tau`` are ignored).
* ``sgd``  : s_μ(k) ~ Bernoulli(b), fresh and independent at every step.
* ``psgd`` : persistent SGD, a two-state Markov chain per sample with the exact transition
  probabilities of the talk, ``P(0→1) = η/τ`` and ``P(1→0) = (1−b)η/(bτ)``, started from
  ``s_μ(0) ~ Bernoulli(b)`` (its stationary law). Both probabilities must be ≤ 1, i.e.
  ``τ ≥ η·max(1, (1−b)/b)``.

Facts used by the tests [D]: the chain is stationary with mean b; its lag-k autocovariance is
``b(1−b)(1 − η/(bτ))^k`` exactly (eigenvalue ``1 − P(0→1) − P(1→0) = 1 − η/(bτ)``), which tends to
``b(1−b) e^(−|t−t'|/(bτ))`` at fixed ``t − t' = kη`` when η → 0. With ``τ = η/b`` the transition
probabilities become ``P(0→1) = b``, ``P(1→0) = 1 − b``: the new state is Bernoulli(b) whatever the
old one, i.e. P-SGD with τ = η/b *is* SGD in law (not bit for bit: the two code paths map the
uniform draw differently).

Each selection update draws exactly one uniform per sample (none for ``gd``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sgsweep import rng

ALGORITHMS = ("gd", "sgd", "psgd")
ALG_CODE = {name: i for i, name in enumerate(ALGORITHMS)}


def transition_probabilities(algorithm: str, b: float, tau: float, eta: float) -> tuple[float, float]:
    """(P(0→1), P(1→0)) per step of length η; for sgd (b, 1−b), for gd (1, 0)."""
    if algorithm == "gd":
        return 1.0, 0.0
    if algorithm == "sgd":
        return b, 1.0 - b
    return eta / tau, (1.0 - b) * eta / (b * tau)


def check_psgd(b: float, tau: float, eta: float) -> str | None:
    """Error message if the P-SGD transition probabilities are not probabilities, else None."""
    p_on, p_off = transition_probabilities("psgd", b, tau, eta)
    if p_on > 1.0 or p_off > 1.0:
        need = eta * max(1.0, (1.0 - b) / b)
        return (f"tau: got {tau!r}, persistent SGD needs tau >= eta*max(1, (1-b)/b) = {need:g} "
                f"so that P(0->1)=eta/tau and P(1->0)=(1-b)eta/(b tau) are <= 1")
    return None


@njit(cache=True, inline="always")
def init_one(state, alg, b):
    """s(0) of one sample."""
    if alg == 0:
        return 1.0
    return 1.0 if rng.uniform(state) < b else 0.0


@njit(cache=True, inline="always")
def step_one(state, alg, s_old, b, p_on, p_off):
    """s(k+1) of one sample given s(k)."""
    if alg == 0:
        return 1.0
    u = rng.uniform(state)
    if alg == 1:
        return 1.0 if u < b else 0.0
    if s_old > 0.5:
        return 0.0 if u < p_off else 1.0
    return 1.0 if u < p_on else 0.0


@njit(cache=True)
def sample_selection(state, alg, b, p_on, p_off, n, steps):
    """(steps, n) array of s_μ(k), k = 0 … steps−1 (for tests and diagnostics)."""
    out = np.empty((steps, n))
    for mu in range(n):
        out[0, mu] = init_one(state, alg, b)
    for k in range(1, steps):
        for mu in range(n):
            out[k, mu] = step_one(state, alg, out[k - 1, mu], b, p_on, p_off)
    return out


def reference_selection(state, algorithm: str, b: float, p_on: float, p_off: float, n: int, steps: int):
    """Pure-Python version of :func:`sample_selection` (same draws)."""
    out = np.empty((steps, n))
    for k in range(steps):
        for mu in range(n):
            if algorithm == "gd":
                out[k, mu] = 1.0
                continue
            u = rng.uniform(state)
            if k == 0 or algorithm == "sgd":
                out[k, mu] = float(u < b)
            elif out[k - 1, mu] == 1.0:
                out[k, mu] = 0.0 if u < p_off else 1.0
            else:
                out[k, mu] = 1.0 if u < p_on else 0.0
    return out


def autocovariance_exact(b: float, tau: float, eta: float, lags) -> np.ndarray:
    """Lag-k autocovariance of the discrete P-SGD chain, b(1−b)(1−η/(bτ))^k."""
    return b * (1.0 - b) * (1.0 - eta / (b * tau)) ** np.asarray(lags, float)


def autocovariance_continuous(b: float, tau: float, dt) -> np.ndarray:
    """Continuous-time limit b(1−b) e^(−|Δt|/(bτ)) (sgd_dmft.md §3.2)."""
    return b * (1.0 - b) * np.exp(-np.abs(np.asarray(dt, float)) / (b * tau))
