"""Finite-size simulations of GD / SGD / persistent SGD on the Gaussian-mixture perceptron.

Update (sgd_dmft.md §3.1, MKUZ20 [V-talk] slide "CONTINUOUS TIME LIMIT?"; cli-contract.md), one step
= time η:

    w(k+1) = w(k) − η [ λ w(k) + Σ_μ s_μ(k) Λ'(y_μ, r_μ(k)) x_μ/√d ],   r_μ = w·x_μ/√d,

with the batch gradient *summed* over the selected samples (no 1/b) and the ridge entering as
−η·lam·w (the effective regulariser is (lam/2)‖w‖², the slide's "λ‖w‖²" notwithstanding, §2.3).
``w(0) ~ N(0, R I_d)``, optionally shifted by a warm start ``m0·v*`` (parameter ``m0``, default none:
then |m(0)| ~ √(R/d)). Observables at step k are those of w(k), before the k-th update, on the time
grid t_k = kη, k = 0 … K, K = round(t_max/η):

* ``magnetization`` m = w·v*/d (for 3 clusters |m|, the w → −w symmetry makes the sign arbitrary);
* ``norm`` C = ‖w‖²/d;
* ``test_error`` closed form from (m, C) (exact at finite d, :mod:`sgsweep.mixture.data`);
* ``test_error_empirical`` fraction of errors on a held-out set of ``n_test`` samples (a check);
* ``train_loss`` Σ_μ ℓ(y_μ φ_μ)/d (all n samples) and ``train_accuracy`` 1 − ⟨θ(−y Φ(r))⟩.

Performance: one step makes a single fused pass over the data matrix (row μ: r_μ = x_μ·w, loss and
error counters, then, if selected, grad += Λ'·x_μ while the row is in cache), i.e. n·d float64
reads per step whatever the algorithm: the memory-bandwidth bound of benchmarks/bench_mixture.py.

Randomness: run i uses only ``states[i]`` (from ``ctx.replica_seeds[i]``), in the order: w(0)
(d normals), training set (per sample 1 uniform + d normals), test set, s(0) (n uniforms unless gd),
then after each update the next selection (n uniforms). Runs go to threads with ``prange``; each run
is serial, so its bits do not depend on the thread count or on which other runs are computed.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from sgsweep import rng
from sgsweep.mixture import data, losses, selection

_FM = {"reassoc", "contract"}


@njit(cache=True, fastmath=_FM)
def _dot(a, b):
    acc = 0.0
    for i in range(a.shape[0]):
        acc += a[i] * b[i]
    return acc


@njit(cache=True, fastmath=_FM)
def _simulate_one(state, d, alg, code, clusters, n, n_test, delta, L, R, m0, lam, eta, b, p_on, p_off,
                  steps, o_m, o_C, o_loss, o_acc, o_test):
    inv_sqrt_d = 1.0 / math.sqrt(d)
    sqR = math.sqrt(R)
    w = np.empty(d)
    rng.fill_normal(state, w)
    for i in range(d):
        w[i] = m0 + sqR * w[i]
    X = np.empty((n, d))
    y = np.empty(n)
    c = np.empty(n)
    data.draw_dataset(state, clusters, delta, X, y, c)
    Xt = np.empty((n_test, d))
    yt = np.empty(n_test)
    ct = np.empty(n_test)
    if n_test > 0:
        data.draw_dataset(state, clusters, delta, Xt, yt, ct)
    s = np.empty(n)
    for mu in range(n):
        s[mu] = selection.init_one(state, alg, b)
    grad = np.empty(d)
    for k in range(steps + 1):
        msum = 0.0
        csum = 0.0
        for i in range(d):
            msum += w[i]
            csum += w[i] * w[i]
        m = msum / d
        C = csum / d
        o_m[k] = m
        o_C[k] = C
        last = k == steps
        for i in range(d):
            grad[i] = 0.0
        lsum = 0.0
        wrong = 0.0
        for mu in range(n):
            row = X[mu]
            r = _dot(row, w) * inv_sqrt_d
            lsum += losses.big_lambda(code, clusters, L, y[mu], r)
            wrong += losses.predict_wrong(clusters, L, y[mu], r)
            if (not last) and s[mu] > 0.5:
                g = losses.big_lambda_d1(code, clusters, L, y[mu], r)
                for i in range(d):
                    grad[i] += g * row[i]
        o_loss[k] = lsum / d
        o_acc[k] = 1.0 - wrong / n
        if n_test > 0:
            wt = 0.0
            for mu in range(n_test):
                r = _dot(Xt[mu], w) * inv_sqrt_d
                wt += losses.predict_wrong(clusters, L, yt[mu], r)
            o_test[k] = wt / n_test
        if last:
            break
        if not (math.isfinite(C) and math.isfinite(lsum)):
            for j in range(k + 1, steps + 1):
                o_m[j] = np.nan
                o_C[j] = np.nan
                o_loss[j] = np.nan
                o_acc[j] = np.nan
                o_test[j] = np.nan
            break
        shrink = 1.0 - eta * lam
        step = eta * inv_sqrt_d
        for i in range(d):
            w[i] = shrink * w[i] - step * grad[i]
        for mu in range(n):
            s[mu] = selection.step_one(state, alg, s[mu], b, p_on, p_off)


@njit(cache=True, parallel=True)
def simulate_runs(states, d, alg, code, clusters, n, n_test, delta, L, R, m0, lam, eta, b, p_on, p_off, steps,
                  o_m, o_C, o_loss, o_acc, o_test):
    """All runs; run i on ``states[i]`` writes row i of the (runs, steps+1) outputs."""
    for i in prange(states.shape[0]):
        _simulate_one(states[i], d, alg, code, clusters, n, n_test, delta, L, R, m0, lam, eta, b, p_on, p_off,
                      steps, o_m[i], o_C[i], o_loss[i], o_acc[i], o_test[i])


def _m0(p: dict) -> float:
    return float(p.get("m0") or 0.0)


def n_samples(alpha: float, d: int) -> int:
    """n = round(α d) (at least 1)."""
    return max(1, int(round(alpha * d)))


def run(p: dict, seed_sequences, n_test: int = 1000) -> dict:
    """Simulate the runs of ``seed_sequences`` for validated method parameters ``p``.

    Returns numpy arrays (runs, K+1): m (signed), C, train_loss, train_accuracy,
    test_error (closed form), test_error_empirical (absent if n_test = 0) and the time grid.
    """
    d = int(p["d"])
    n = n_samples(p["alpha"], d)
    steps = int(round(p["t_max"] / p["eta"]))
    alg = selection.ALG_CODE[p["algorithm"]]
    p_on, p_off = selection.transition_probabilities(p["algorithm"], p["b"], p["tau"], p["eta"])
    states = rng.init_states(seed_sequences)
    runs = len(seed_sequences)
    shape = (runs, steps + 1)
    o = [np.full(shape, np.nan) for _ in range(5)]
    simulate_runs(states, d, alg, losses.LOSS_CODE[p["loss"]], int(p["clusters"]), n, int(n_test),
                  float(p["delta"]), float(p["L"]), float(p["R"]), _m0(p), float(p["lam"]), float(p["eta"]),
                  float(p["b"]), float(p_on), float(p_off), steps, *o)
    m, C, loss, acc, test = o
    out = dict(time=np.arange(steps + 1) * p["eta"], m=m, C=C, train_loss=loss, train_accuracy=acc,
               test_error=data.test_error_closed_np(int(p["clusters"]), p["L"], p["delta"], m, C), n=n)
    if n_test > 0:
        out["test_error_empirical"] = test
    return out


# --------------------------------------------------------------------------- slow reference
def reference_run(p: dict, seed_sequence, n_test: int = 0) -> dict:
    """Plain numpy version of one run with the same random draws (tests; small d only)."""
    state = rng.init_states([seed_sequence])[0]
    d = int(p["d"])
    n = n_samples(p["alpha"], d)
    steps = int(round(p["t_max"] / p["eta"]))
    clusters, L, delta = int(p["clusters"]), p["L"], p["delta"]
    alg = p["algorithm"]
    p_on, p_off = selection.transition_probabilities(alg, p["b"], p["tau"], p["eta"])
    w = np.empty(d)
    rng.fill_normal(state, w)
    w = _m0(p) + math.sqrt(p["R"]) * w
    X, y, _ = data.reference_dataset(state, clusters, delta, n, d)
    if n_test > 0:
        Xt, yt, _ = data.reference_dataset(state, clusters, delta, n_test, d)
    s = np.ones(n)
    if alg != "gd":
        s = np.array([float(rng.uniform(state) < p["b"]) for _ in range(n)])
    rec = {k: [] for k in ("m", "C", "train_loss", "train_accuracy", "test_error_empirical")}
    for k in range(steps + 1):
        r = X @ w / math.sqrt(d)
        v, d1, _ = losses.reference_big_lambda(p["loss"], clusters, L, y, r)
        phi = r if clusters == 2 else r * r - L * L
        rec["m"].append(w.mean())
        rec["C"].append(w @ w / d)
        rec["train_loss"].append(v.sum() / d)
        rec["train_accuracy"].append(1.0 - np.mean(y * phi < 0))
        if n_test > 0:
            rt = Xt @ w / math.sqrt(d)
            phit = rt if clusters == 2 else rt * rt - L * L
            rec["test_error_empirical"].append(np.mean(yt * phit < 0))
        if k == steps:
            break
        grad = X.T @ (s * d1) / math.sqrt(d)
        w = w - p["eta"] * (p["lam"] * w + grad)
        if alg != "gd":
            new = np.empty(n)
            for mu in range(n):
                u = rng.uniform(state)
                if alg == "sgd":
                    new[mu] = float(u < p["b"])
                elif s[mu] == 1.0:
                    new[mu] = 0.0 if u < p_off else 1.0
                else:
                    new[mu] = 1.0 if u < p_on else 0.0
            s = new
    return {k: np.array(v) for k, v in rec.items()}
