"""Spiked-model DMFT on a fixed grid of time *ratios* θ = t'/t (the default solver of spiked.dmft).

Same equations as :mod:`sgsweep.spiked.dmft` (spiked.md §2.1), written for the functions of the
outer time t at fixed ratio, c_k(t) = C(t, θ_k t), r_k(t) = R(t, θ_k t), so that the two-time
functions become an ODE system in t alone (the idea of Lang, Sachdev & Diehl, PRL 135, 247101
(2025), arXiv:2504.06849, and of the DYNAMITE solver, arXiv:2604.06309):

    d c_k/dt = ∂_1 C(t,t') + θ_k ∂_2 C(t,t'),      d r_k/dt = ∂_1 R(t,t') + θ_k ∂_2 R(t,t'),

with, for t > t' (Q(q) = q²/(2Δ2) + q^p/(pΔp), f1 = Q', f2 = Q''),

    ∂_1 C = −μ(t) C + f1(C̄(t)) C̄(t') + ∫_0^t R(t,s) f2(C(t,s)) C(s,t') ds + ∫_0^{t'} f1(C(t,s)) R(t',s) ds
    ∂_2 C = −μ(t') C + f1(C̄(t')) C̄(t) + ∫_0^{t'} R(t',s) f2(C(t',s)) C(s,t) ds + ∫_0^t f1(C(t',s)) R(t,s) ds
            + 2T R(t,t')                                   (the equation of motion of C(t',t), t' < t)
    ∂_1 R = −μ(t) R + ∫_{t'}^t R(t,s) f2(C(t,s)) R(s,t') ds
    ∂_2 R = μ(t') R − ∫_{t'}^t R(t,s) f2(C(s,t')) R(s,t') ds (R is also a left inverse: G∘L = 1)
    dC̄/dt = −μ C̄ + f1(C̄) + ∫_0^t R(t,s) f2(C(t,s)) C̄(s) ds
    μ(t)  = T + C̄ f1(C̄) + ∫_0^t R(t,s) [f1 + C f2](C(t,s)) ds,   e(t) = −Q(C̄) − ∫_0^t R f1(C) ds.

At t = 0 every pair sits on the diagonal: C = R = 1 at all ratios, and the right-hand side gives
the exact short-time slopes dc_k/dt = −T(1−θ_k), dr_k/dt = −μ(0)(1−θ_k).

Discretisation
* ratio nodes θ_0 = 0 < θ_1 < … < θ_{L−1} = 1, logistic in between (uniform in z = ln(θ/(1−θ))
  over [−Z, Z], Z = ln(t_max/τ_min), ``density`` nodes per unit of z): geometric near θ = 0 (early
  times) and near θ = 1 (short lags τ = (1−θ)t), so that lags from τ_min to t are resolved with a
  fixed number of nodes per e-fold at every age, where the doubling grid's equidistant window
  has O(1) relative errors at its first lags in a scale-free aging range. Below τ_min (at t_max)
  the functions are smooth in the lag, so the end gaps [0, θ_min] and [θ_max, 1] are split into
  ≈ density equal intervals, which continue the geometric spacing; τ_min = lag_min/μ_ref with
  μ_ref = T + Q'(1) + √Q''(1) the scale of the relaxation rate μ (:func:`shortest_lag`);
* every memory integral is split at s = t' (C(s,t') has a kink there for T > 0) and each piece
  is mapped onto the same node set ([0, t'] onto the history row at time t', [t', t] onto
  t' + (t − t')θ), so both ends of every piece, where the integrands vary fast, are resolved;
  composite Lagrange quadrature of ``order`` points on each interval, Lagrange interpolation of
  ``order`` points in θ for the values off the nodes (all stencils depend on the ratios only:
  precomputed);
* history: the state at every accepted step with its derivative, cubic Hermite in t; inside the
  step being taken, the quadratic through (y_n, y'_n, y(t_stage));
* outer time: Dormand–Prince 5(4), PI step-size control on every component (C̄ relative).

Measured (2-core VM; ``benchmarks/bench_dmft.py --ratio`` prints the numbers):
* issue 4's command (p=3, Δ2=0.5, Δp=1, T=1, C̄(0)=1e-4, t ≤ 100; a slow escape at t ≈ 78) at the
  defaults (density 7, order 8, rtol 1e-7, lag_min 1; L = 105 nodes, 629 steps, 2–3 s): doubling
  the density changes C̄(t) by at most 4.1e-5, lowering rtol to 1e-8 by 3.5e-5 (both at t ≈ 78),
  the density 3.5 → 7 by 1.06e-2: order 8.0 in the density. C̄(77.5) = 0.43064 (density 14, rtol
  1e-8: 0.43057; the doubling grid's Nt = 256 … 2048 give 0.4341 … 0.4346 with order < 1.5; the
  fixed-grid reference extrapolates to 0.4307 ± 1.2e-4). C̄(40) = 0.0123959 (fixed grid 0.012396);
* the reference code's case (p=3, Δ2=0.2, Δp=1, T=1, t ≤ 134): at the defaults (L = 116, 1347
  steps, 7 s) density 7 vs 14 differ by 4.7e-7, rtol 1e-7 vs 1e-8 by 2.5e-6, and a converged solve
  (density 12, rtol 1e-9, lags resolved to 1e-3) by 3.4e-6; C̄(5.125) = 0.654375 (doubling grid
  extrapolated: 0.654379); C̄_∞, μ_∞, e_∞ within 2e-6 of m_BO, 7, −Q(1). The C code takes 7 s and
  is accurate to 1e-4 only up to t ≈ 20. At density 4, order 6, rtol 1e-5 (L = 67, 659 steps):
  0.85 s on 2 threads, 1.3 s of CPU on one (8× and 5× faster than the C code), 3.9e-5 from the
  converged solve, and doubling the density, rtol ÷ 10 and lag_min ÷ 2 change C̄ by 5.1e-5,
  5.5e-5 and 7.7e-6. The steps up to t ≈ 20 are set by the escape front at t* ≈ 5: C(t, t') for
  t' near t* is sharp, and each node's t' = θ_k t sweeps across it;
* T = 0 plateaus (p=4, 1/Δ2=3, Δp=4 and p=3, 1/Δ2=4, Δp=1, t = 60): C̄ within 3e-6 of m_ML, μ
  within 2e-5 of μ_∞, e within 1e-5; p=3, 1/Δ2=4 up to t = 1000 (L = 131, 4700 steps, 35–55 s):
  density 7 vs 14 differ by 5.7e-6 in C̄ and 5.4e-5 in μ;
* near the Langevin threshold (p=3, Δ2=0.7, Δp=1, T=1, C̄(0)=1e-4) to t = 10^4 at the defaults:
  status converged, C̄(1000) = 0.0187 with μ rising smoothly from 3.22 (t=10) to 3.33 (t=1000),
  then the escape to m_BO = 0.474546 (C̄(2992) = 0.474552, C̄(9984) = 0.474574); 22842 steps,
  264 s on 2 threads (L = 168).
  Late steps are limited by stability, h = 0.48 = 3.3/(2μ): the Jacobian's stiff eigenvalues,
  ≈ −2μ, sit on its diagonal (the near-diagonal nodes c_k relax at rate μ(t) + θ_k μ(t')); what
  remains off the diagonal has spectral radius ≈ 3 at t = 30 on the reference code's case. An
  additive Runge–Kutta method with that diagonal implicit (Kennedy–Carpenter ARK4(3)6L[2]SA)
  was tried (density 4.5, rtol 1e-6 to 3e-6) and needs more steps than Dormand–Prince: 907
  against 754 to t = 134 on the reference code's case with the nodes θ ≥ 0.9 implicit (1943 with
  every node implicit), 1618 against 756 to t = 300 at Δ2 = 0.7. Its error estimate at
  hλ ≈ −1…−3 (the near-diagonal nodes; stage order 2) limits the step below the explicit
  stability bound. The doubling solver does such runs in seconds (``solver=doubling``).

Memory O(L · steps) (the history), work O(L²) per right-hand side (numba, parallel over targets,
each sum sequential, so the bits do not depend on the number of threads). The slow reference of
the kernel is the numpy re-implementation in tests/test_spiked_dmft_ratio_kernel.py; the solver
is compared with :func:`sgsweep.spiked.dmft.solve_fixed_grid` in tests/test_spiked_dmft_ratio.py.
"""

from __future__ import annotations

import math
import time as _time

import numpy as np
from numba import njit, prange

from sgsweep.spiked.theory import qp1, qpp1

# ----------------------------------------------------------------------------- grids and stencils


def ratio_grid(L: int, Z: float, m: int = 1) -> np.ndarray:
    """θ nodes: the logistic 1/(1+e^{−z}) for L − 2m values of z uniform on [−Z, Z], and in each
    end gap, [0, θ_min] and [θ_max, 1], m equal intervals (0 and 1 included). With m ≈ the density
    the spacing continues smoothly into the gaps (the last geometric spacing is ≈ gap/density),
    so that doubling the density also halves the spacing at the shortest lags and the earliest
    times; a single gap interval (m = 1) next to intervals density times smaller makes the
    high-order stencils there extrapolate."""
    z = np.linspace(-Z, Z, L - 2 * m)
    core = 1.0 / (1.0 + np.exp(-z))
    lo = core[0] * np.arange(m) / m
    hi = 1.0 - (1.0 - core[-1]) * np.arange(m - 1, -1, -1) / m
    return np.concatenate([lo, core, hi])


def lagrange_stencils(x: np.ndarray, grid: np.ndarray, q: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (…, q) and weights (…, q) of the q-point Lagrange interpolation at x on grid,
    stencil centred on the interval containing x and shifted to stay inside the grid."""
    x = np.asarray(x, dtype=float)
    flat = np.clip(x.ravel(), grid[0], grid[-1])
    L = len(grid)
    m = np.clip(np.searchsorted(grid, flat, side="right") - 1, 0, L - 2)
    start = np.clip(m - q // 2 + 1, 0, L - q)
    idx = start[:, None] + np.arange(q)[None, :]
    xs = grid[idx]
    w = np.ones_like(xs)
    for a in range(q):
        for b in range(q):
            if a != b:
                w[:, a] *= (flat - xs[:, b]) / (xs[:, a] - xs[:, b])
    return idx.reshape(x.shape + (q,)), w.reshape(x.shape + (q,))


def quadrature_weights(grid: np.ndarray, q: int) -> np.ndarray:
    """Weights of ∫_0^1 f: on each interval the q-point Lagrange interpolant (stencil as in
    :func:`lagrange_stencils`) integrated exactly (Gauss–Legendre)."""
    L = len(grid)
    w = np.zeros(L)
    gx, gw = np.polynomial.legendre.leggauss(q + 2)
    for m in range(L - 1):
        a, b = grid[m], grid[m + 1]
        xq = 0.5 * (b - a) * gx + 0.5 * (a + b)
        start = min(max(m - q // 2 + 1, 0), L - q)
        xs = grid[start:start + q]
        for i in range(q):
            li = np.ones_like(xq)
            for j in range(q):
                if j != i:
                    li *= (xq - xs[j]) / (xs[i] - xs[j])
            w[start + i] += 0.5 * (b - a) * np.sum(gw * li)
    return w


def precompute(L: int, Z: float, q: int, m: int = 1) -> dict:
    """Nodes, quadrature weights and every interpolation stencil of the kernel (they depend on
    the ratios only): A at θ_j θ_k (current row on [0, t']), B at σ_kj = θ_k + (1−θ_k)θ_j (current
    row on [t', t]), H at θ_k/σ_kj (the history row at time σ_kj t). 6 arrays of L²·q entries."""
    th = ratio_grid(L, Z, m)
    W0 = quadrature_weights(th, q)
    # [0, t'] piece of target k: nodes s = θ_j θ_k t; the current row at ratio θ_j θ_k
    xa = th[None, :] * th[:, None]
    A_idx, A_w = lagrange_stencils(xa, th, q)
    # [t', t] piece: s = (θ_k + (1−θ_k) θ_j) t = σ_kj t; the current row at σ, the history row at
    # time σ t at ratio θ_k/σ
    sig = th[:, None] + (1.0 - th[:, None]) * th[None, :]
    B_idx, B_w = lagrange_stencils(sig, th, q)
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = np.where(sig > 0, th[:, None] / sig, 1.0)
    H_idx, H_w = lagrange_stencils(rho, th, q)
    return dict(th=th, W0=W0, A_idx=A_idx.astype(np.int64), A_w=A_w, sig=sig,
                B_idx=B_idx.astype(np.int64), B_w=B_w, H_idx=H_idx.astype(np.int64), H_w=H_w)


# ----------------------------------------------------------------------------- kernels
@njit(cache=True, inline="always")
def _ipow(c, n):
    # integer power by multiplication: pow() with a runtime exponent dominated the pair loops
    r = 1.0
    for _ in range(n):
        r *= c
    return r


@njit(cache=True, inline="always")
def _f1(c, p, i2, ip):
    return c * i2 + _ipow(c, p - 1) * ip


@njit(cache=True, inline="always")
def _f2(c, p, i2, ip):
    return i2 + (p - 1) * _ipow(c, p - 2) * ip


@njit(cache=True)
def _tcoef(s, t, ht, N, co, lo=0):
    """Where the history value at time s comes from: returns (n, mode) and writes co[0..3] so that
    value = co0 y_n + co1 y'_n + co2 y_{n+1} + co3 y'_{n+1} (mode 0: cubic Hermite on a stored
    interval), co0 y_n + co1 y'_n + co2 y(t) (mode 1: inside the current step), or y_n itself
    (mode 2: before the first step, or s = t at a stored step; co untouched)."""
    if s <= ht[0]:
        return 0, 2
    last = ht[N - 1]
    if s >= last:
        dt = t - last
        if dt <= 0.0:
            return N - 1, 2
        v = s - last
        w = v / dt
        co[0] = 1.0 - w * w
        co[1] = v - v * w
        co[2] = w * w
        co[3] = 0.0
        return N - 1, 1
    # bracket [lo, hi] with ht[lo] <= s < ht[hi]: walk up from the hint lo (callers pass the
    # interval of the previous, smaller s), then bisect
    if lo > N - 2 or ht[lo] > s:
        lo = 0
    hi = lo + 1
    step = 1
    while hi < N - 1 and ht[hi] <= s:
        lo = hi
        hi = min(hi + step, N - 1)
        step *= 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ht[mid] <= s:
            lo = mid
        else:
            hi = mid
    d = ht[lo + 1] - ht[lo]
    u = (s - ht[lo]) / d
    u2 = u * u
    u3 = u2 * u
    co[0] = 2 * u3 - 3 * u2 + 1
    co[1] = (u3 - 2 * u2 + u) * d
    co[2] = -2 * u3 + 3 * u2
    co[3] = (u3 - u2) * d
    return lo, 0


@njit(cache=True, inline="always")
def _hv(i, n, mode, co, hy, hd, y):
    if mode == 2:
        return hy[n, i]
    if mode == 1:
        return co[0] * hy[n, i] + co[1] * hd[n, i] + co[2] * y[i]
    return co[0] * hy[n, i] + co[1] * hd[n, i] + co[2] * hy[n + 1, i] + co[3] * hd[n + 1, i]


@njit(cache=True)
def _observables(t, row, p, i2, ip, T, W0):
    """μ(t) and e(t) from a state row (same quadrature as :func:`rhs`)."""
    L = W0.shape[0]
    cb = row[2 * L]
    mu = 0.0
    en = 0.0
    for j in range(L):
        m = _f1(row[j], p, i2, ip)
        mu += W0[j] * row[L + j] * (m + row[j] * _f2(row[j], p, i2, ip))
        en += W0[j] * row[L + j] * m
    mu = T + cb * _f1(cb, p, i2, ip) + t * mu
    en = -(cb * cb * i2 * 0.5 + _ipow(cb, p) * ip / p) - t * en
    return mu, en


@njit(cache=True, inline="always")
def _row_at(idx, wt, k, j, y, L):
    """C and R of the state row y at the ratio whose stencil is idx[k, j], weights wt[k, j]."""
    cc = 0.0
    rc = 0.0
    for a in range(idx.shape[2]):
        ia = idx[k, j, a]
        cc += wt[k, j, a] * y[ia]
        rc += wt[k, j, a] * y[L + ia]
    return cc, rc


@njit(cache=True, parallel=True)
def rhs(t, y, out, p, i2, ip, T, th, W0, A_idx, A_w, sig, B_idx, B_w, H_idx, H_w, ht, hy, hd, N,
        rows, cos):
    """Time derivative of the state y = (c_0..c_{L−1}, r_0..r_{L−1}, C̄) at time t, given the
    history (ht[:N], hy[:N], hd[:N]); also writes μ(t) and e(t) into out[2L+1], out[2L+2].
    rows (L, 2, L) and cos (L+1, 4) are work arrays (one slice per target k: no allocation)."""
    L = th.shape[0]
    q = A_idx.shape[2]
    ib = 2 * L
    cb = y[ib]
    mu, en = _observables(t, y, p, i2, ip, T, W0)
    fcb = _f1(cb, p, i2, ip)
    # dC̄/dt
    co = cos[L]
    acc = 0.0
    for j in range(L):
        n, mode = _tcoef(th[j] * t, t, ht, N, co)
        acc += W0[j] * y[L + j] * _f2(y[j], p, i2, ip) * _hv(ib, n, mode, co, hy, hd, y)
    out[ib] = -mu * cb + fcb + t * acc
    out[ib + 1] = mu
    out[ib + 2] = en
    for k in prange(L - 1):
        co = cos[k]
        RowC = rows[k, 0]
        RowR = rows[k, 1]
        tk = th[k] * t
        n, mode = _tcoef(tk, t, ht, N, co)
        for j in range(L):
            RowC[j] = _hv(j, n, mode, co, hy, hd, y)
            RowR[j] = _hv(L + j, n, mode, co, hy, hd, y)
        cbk = _hv(ib, n, mode, co, hy, hd, y)
        I1 = 0.0
        I2 = 0.0
        I3 = 0.0
        I4 = 0.0
        muk = T + cbk * _f1(cbk, p, i2, ip)
        if k > 0:
            acc = 0.0
            for j in range(L):
                cc, rc = _row_at(A_idx, A_w, k, j, y, L)
                w = W0[j] * tk
                ch = RowC[j]
                rh = RowR[j]
                f2h = _f2(ch, p, i2, ip)
                f1h = _f1(ch, p, i2, ip)
                acc += W0[j] * rh * (f1h + ch * f2h)
                I1 += w * rc * _f2(cc, p, i2, ip) * ch
                I2 += w * _f1(cc, p, i2, ip) * rh
                I3 += w * rh * f2h * cc
                I4 += w * f1h * rc
            muk += tk * acc
        span = t - tk
        IR1 = 0.0
        IR2 = 0.0
        n = 0
        for j in range(L):
            cc, rc = _row_at(B_idx, B_w, k, j, y, L)
            n, mode = _tcoef(sig[k, j] * t, t, ht, N, co, n)
            ch = 0.0
            rh = 0.0
            for a in range(q):
                ia = H_idx[k, j, a]
                ch += H_w[k, j, a] * _hv(ia, n, mode, co, hy, hd, y)
                rh += H_w[k, j, a] * _hv(L + ia, n, mode, co, hy, hd, y)
            w = W0[j] * span
            f2c = _f2(cc, p, i2, ip)
            I1 += w * rc * f2c * ch
            I4 += w * _f1(ch, p, i2, ip) * rc
            IR1 += w * rc * f2c * rh
            IR2 += w * rc * _f2(ch, p, i2, ip) * rh
        ck = y[k]
        rk = y[L + k]
        d1C = -mu * ck + fcb * cbk + I1 + I2
        d2C = -muk * ck + _f1(cbk, p, i2, ip) * cb + I3 + I4 + 2.0 * T * rk
        d1R = -mu * rk + IR1
        d2R = muk * rk - IR2
        out[k] = d1C + th[k] * d2C
        out[L + k] = d1R + th[k] * d2R
    out[L - 1] = 0.0
    out[2 * L - 1] = 0.0


@njit(cache=True)
def _dense(times, ht, hy, hd, N, rows):
    """State rows at the given times (≤ ht[N−1]) by the solver's own cubic Hermite interpolant."""
    co = np.empty(4)
    n_y = hy.shape[1]
    for a in range(times.shape[0]):
        n, mode = _tcoef(times[a], ht[N - 1], ht, N, co)
        for i in range(n_y):
            rows[a, i] = _hv(i, n, mode, co, hy, hd, hy[N - 1])


# Dormand–Prince 5(4): Butcher table, 5th-order weights (= last row, FSAL) and error weights
_DP_A = [
    [],
    [1 / 5],
    [3 / 40, 9 / 40],
    [44 / 45, -56 / 15, 32 / 9],
    [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729],
    [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656],
    [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84],
]
_DP_C = [0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1, 1]
_DP_E = np.array([35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0]) - np.array(
    [5179 / 57600, 0, 7571 / 16695, 393 / 640, -92097 / 339200, 187 / 2100, 1 / 40])
_DP_A = [np.asarray(a, dtype=float) for a in _DP_A]

DEFAULTS = dict(density=7.0, order=8, rtol=1e-7, lag_min=1.0)


def mu_scale(p: int, delta2: float, delta_p: float, T: float) -> float:
    """μ_ref = T + Q'(1) + √Q''(1): the scale of μ(t), the relaxation rate of C(t, t') at short
    lags. It is ≥ the stationary μ of every case checked: 1 + Q'(1) at T = 1 (Bayes-optimal),
    μ_∞ of the T = 0 success (spiked.md §2.2: 4.35 ≤ 5.19 and 6.12 ≤ 7.45) and, where Q'(1) ≥
    √Q''(1), the T = 0 failure value 2√Q''(1)."""
    return T + qp1(delta2, delta_p) + math.sqrt(qpp1(p, delta2, delta_p))


def shortest_lag(p: int, delta2: float, delta_p: float, T: float, lag_min: float = DEFAULTS["lag_min"]) -> float:
    """τ_min = lag_min / μ_ref: the lag below which the ratio grid stops refining geometrically
    (at t_max; :func:`ratio_grid` fills the gap with equal intervals). Below about 1/μ the
    functions are smooth in the lag (one relaxation), so geometric refinement further down only
    costs nodes. Measured at density 7 against lag_min = 0.25 on five cases (p = 3, 4; T = 0, 1;
    escapes, a failure, issue 4's slow escape): lag_min = 1 and 2 change C̄ by at most 1.4e-6; on
    three of them 4 changes it by 8e-6, 8 by 4e-4, 16 by 9e-3. The default 1 has 30–40 % fewer
    nodes than the grid that refined down to τ_min = 1e-3 (tests/test_spiked_dmft_ratio.py checks
    that halving it changes nothing)."""
    return lag_min / mu_scale(p, delta2, delta_p, T)


def grid_size(t_max: float, tau_min: float, density: float) -> tuple[int, float, int]:
    """(L, Z, m): nodes, half-range of z = ln(θ/(1−θ)) for lags down to τ_min at t_max, and the
    equal intervals filling each end gap (:func:`ratio_grid`)."""
    Z = math.log(max(t_max, 10.0 * tau_min) / tau_min)
    m = max(1, int(round(density)))
    return int(math.ceil(2.0 * Z * density)) + 1 + 2 * m, Z, m


def solve_ratio(p: int, delta2: float, delta_p: float, T: float, overlap0: float, t_max: float,
                times=None, density: float = DEFAULTS["density"], order: int = DEFAULTS["order"],
                rtol: float = DEFAULTS["rtol"], lag_min: float = DEFAULTS["lag_min"],
                tau_min: float | None = None, waiting_times=(), max_steps: int = 10 ** 6,
                progress=None) -> dict:
    """Solve the DMFT on the ratio grid (module docstring) from t = 0 to t_max (or to the last of
    ``times``, if later).

    density: nodes per unit of z = ln(θ/(1−θ)) (the grid parameter: doubling it is the
    refinement test); order: points of the interpolation and quadrature stencils; rtol: relative
    (and, ×1e-2, absolute) tolerance of the step-size control; lag_min: the lag (at t_max) below
    which the grid stops refining geometrically, in units of 1/μ_ref (:func:`shortest_lag`), or
    tau_min: that lag in physical time (overrides lag_min). Results on ``times`` (default: the accepted steps) from the solver's own Hermite
    interpolant: overlap, mu, energy, residual (error estimate of the step, in units of the
    tolerance), corr/response/chi at the waiting times, status (converged, max_iterations when
    max_steps is exhausted, diverged when the state stops being finite or the step underflows)."""
    wall0 = _time.perf_counter()
    if times is not None and len(times):
        # the doubling grid's last time point lies at or just beyond t_max: integrate up to it
        t_max = max(t_max, float(np.max(times)))
    if tau_min is None:
        tau_min = shortest_lag(p, delta2, delta_p, T, lag_min)
    L, Z, m = grid_size(t_max, tau_min, density)
    pre = precompute(L, Z, order, m)
    th, W0 = pre["th"], pre["W0"]
    i2, ip = 1.0 / delta2, 1.0 / delta_p
    n_y = 2 * L + 1
    ib = 2 * L
    cap = 1024
    ht = np.zeros(cap)
    hy = np.zeros((cap, n_y))
    hd = np.zeros((cap, n_y))
    herr = np.zeros(cap)
    rows = np.zeros((L, 2, L))
    cos = np.zeros((L + 1, 4))
    args = (p, i2, ip, float(T), th, W0, pre["A_idx"], pre["A_w"], pre["sig"], pre["B_idx"],
            pre["B_w"], pre["H_idx"], pre["H_w"])
    # t = 0: C = R = 1 at every ratio (all pairs sit on the diagonal), C̄ = C̄(0)
    y = np.ones(n_y)
    y[ib] = overlap0
    out = np.zeros(n_y + 2)
    ht[0] = 0.0
    hy[0] = y
    N = 1
    rhs(0.0, y, out, *args, ht, hy, hd, N, rows, cos)
    hd[0] = out[:n_y]
    t = 0.0
    h = 1e-6
    K = np.zeros((7, n_y))
    K[0] = hd[0]
    atol = 1e-2 * rtol
    steps = rejected = 0
    err_old = 1.0
    status = "converged"
    last_report = wall0
    while t < t_max * (1 - 1e-12):
        if steps >= max_steps:
            status = "max_iterations"
            break
        h = min(h, t_max - t)
        if h < 1e-13 * max(t, 1.0):
            status = "diverged"
            break
        ys = y
        for s in range(1, 7):
            ys = y + h * (_DP_A[s] @ K[:s])
            rhs(t + _DP_C[s] * h, ys, out, *args, ht, hy, hd, N, rows, cos)
            K[s] = out[:n_y]
        err = h * (_DP_E @ K)
        sc = atol + rtol * np.maximum(np.abs(y), np.abs(ys))
        # C̄ is controlled relatively: a slow escape inherits any relative error of C̄ ≪ 1
        sc[ib] = rtol * max(abs(y[ib]), abs(ys[ib])) + 1e-300
        e = float(np.max(np.abs(err) / sc))
        if not np.isfinite(e):
            e = 1e10
        if e <= 1.0:
            t += h
            y = ys
            if N == cap:
                cap *= 2
                ht, herr = np.resize(ht, cap), np.resize(herr, cap)
                hy, hd = np.resize(hy, (cap, n_y)), np.resize(hd, (cap, n_y))
            ht[N], hy[N], hd[N], herr[N] = t, y, K[6], e
            N += 1
            K[0] = K[6]
            steps += 1
            # PI step-size control (Hairer & Wanner's DOPRI5: β = 0.04): smooth steps where the
            # step is limited by stability (h ≈ 3.3/(2μ) at late times) rather than accuracy
            fac = 0.9 * max(e, 1e-10) ** -(0.2 - 0.75 * 0.04) * err_old ** 0.04
            err_old = max(e, 1e-4)
            h *= min(5.0, max(0.2, fac))
            now = _time.perf_counter()
            if progress is not None and now - last_report > 5.0:
                progress(t, t_max, f"t = {t:.4g}, C̄ = {y[ib]:.4g}, μ = {out[n_y]:.4g}, {steps} steps "
                                   f"({rejected} rejected), h = {h:.3g}, {now - wall0:.1f} s")
                last_report = now
        else:
            rejected += 1
            if not np.isfinite(e) or e >= 1e10:
                h *= 0.2
            else:
                h *= max(0.2, 0.9 * e ** -0.2)
    t_reached = t
    tt = ht[:N].copy() if times is None else np.asarray(times, dtype=float)
    ok = tt <= t_reached * (1 + 1e-12)
    dense = np.full((len(tt), n_y), np.nan)
    if ok.any():
        tmp = np.empty((int(ok.sum()), n_y))
        _dense(np.minimum(tt[ok], t_reached), ht, hy, hd, N, tmp)
        dense[ok] = tmp
    res = dict(time=tt, overlap=dense[:, ib].copy())
    res["mu"] = np.full(len(tt), np.nan)
    res["energy"] = np.full(len(tt), np.nan)
    for a in np.nonzero(ok)[0]:
        res["mu"][a], res["energy"][a] = _observables(tt[a], dense[a], p, i2, ip, float(T), W0)
    # error estimate of the step that covers each time
    k = np.clip(np.searchsorted(ht[:N], tt), 1, N - 1)
    res["residual"] = np.where(ok, herr[k], np.nan)
    tw = np.asarray(sorted(float(x) for x in waiting_times), dtype=float)
    for key in ("corr", "response", "chi"):
        res[key] = np.full((len(tt), len(tw)), np.nan)
    for w, t_w in enumerate(tw):
        sel = ok & (tt >= t_w) & (tt > 0)
        if not sel.any():
            continue
        d = dense[sel]
        theta_w = t_w / tt[sel]
        idx, wt = lagrange_stencils(theta_w, th, order)
        rows_i = np.arange(len(theta_w))[:, None]
        res["corr"][sel, w] = np.sum(wt * d[rows_i, idx], axis=1)
        res["response"][sel, w] = np.sum(wt * d[rows_i, L + idx], axis=1)
        # χ(t, t_w) = ∫_{t_w}^t R(t,s) ds on the nodes t_w + (t − t_w)θ_j
        x = theta_w[:, None] + (1.0 - theta_w[:, None]) * th[None, :]
        idx2, wt2 = lagrange_stencils(x, th, order)
        r_at = np.sum(wt2 * d[rows_i[:, :, None], L + idx2], axis=2)
        res["chi"][sel, w] = (tt[sel] - t_w) * (r_at @ W0)
    if status == "converged" and not np.all(np.isfinite(y)):
        status = "diverged"
    res.update(status=status, t_reached=float(t_reached), steps=steps, rejected=rejected,
               max_residual=float(np.max(herr[1:N])) if N > 1 else 0.0, nodes=L, tau_min=tau_min,
               waiting_times=tw, wall=_time.perf_counter() - wall0,
               step_time=ht[:N].copy(), step_overlap=hy[:N, ib].copy(), step_overlap_dt=hd[:N, ib].copy())
    return res


def t_first(res: dict, level: float) -> float:
    """First time C̄ reaches level, by bisection on the solver's Hermite interpolant of C̄ (the one
    :func:`_dense` evaluates for the output times; NaN if never reached)."""
    tt, y = res["step_time"], res["step_overlap"]
    k = np.nonzero(y >= level)[0]
    if len(k) == 0:
        return float("nan")
    k = int(k[0])
    if k == 0:
        return float(tt[0])
    hy, hd = y.reshape(-1, 1), res["step_overlap_dt"].reshape(-1, 1)
    s, val = np.empty(1), np.empty((1, 1))
    lo, hi = tt[k - 1], tt[k]
    for _ in range(60):
        s[0] = 0.5 * (lo + hi)
        _dense(s, tt, hy, hd, len(tt), val)
        if val[0, 0] >= level:
            hi = s[0]
        else:
            lo = s[0]
    return float(hi)
