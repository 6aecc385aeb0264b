"""Closed-form theory of the spiked (2+p) matrix-tensor model (reference/spiked.md §4).

Notation (spiked.md §1.2): x = 1/Δ2, Q(q) = q²/(2Δ2) + q^p/(pΔp),
Q'(q) = q/Δ2 + q^{p-1}/Δp, Q''(q) = 1/Δ2 + (p-1) q^{p-2}/Δp.

Every public function accepts scalars or numpy arrays (broadcast) and returns a python float for
scalar input, an ndarray otherwise. Lines are given as values of 1/Δ2 ("inv_delta2"); recovery by
the algorithm happens *above* the line.

Contents
* Bayes-optimal AMP state evolution (spherical prior) §4.1: :func:`bayes_se_map`, :func:`bayes_se`,
  :func:`bayes_fixed_points`, :func:`m_bo`, :func:`m_bo_equilibrium`, :func:`phi_rs`,
  :func:`inv_delta2_it`, :func:`inv_delta2_spinodal`, :func:`inv_delta2_amp`.
* ML-AMP state evolution §4.2: :func:`ml_se_map`, :func:`ml_se`, :func:`m_ml`,
  :func:`inv_delta2_ml_amp`.
* Threshold-state + BBP conjecture §4.4: :func:`inv_delta2_gf`, :func:`inv_delta2_langevin`.
* Asymptotic DMFT values §2.2: :func:`gf_asymptotics`, :func:`langevin_asymptotics`.
The Kac–Rice landscape (Σ_min, trivialisation lines) is in :mod:`sgsweep.spiked.kacrice`.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq, minimize_scalar

__all__ = [
    "qp1", "qpp1", "zfun",
    "bayes_se_map", "bayes_se", "bayes_fixed_points", "phi_rs", "m_bo", "m_bo_equilibrium",
    "inv_delta2_it", "inv_delta2_spinodal", "inv_delta2_amp",
    "ml_se_map", "ml_se", "m_ml", "inv_delta2_ml_amp",
    "inv_delta2_gf", "inv_delta2_langevin", "gf_asymptotics", "langevin_asymptotics",
    "delta_p_it_pure_tensor",
]


# ---------------------------------------------------------------------------------------- helpers
def _vectorize(fn):
    """Broadcast a scalar function over array arguments; python float for scalar input."""
    vec = np.vectorize(fn, otypes=[float])

    def wrapper(*args, **kwargs):
        out = vec(*args, **kwargs)
        return float(out) if np.ndim(out) == 0 else out

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    wrapper.scalar = fn
    return wrapper


def zfun(m, p, delta2, delta_p):
    """z(m) = Q'(m) = m/Δ2 + m^{p-1}/Δp (spiked.md §1.2, §4.1)."""
    m = np.asarray(m, dtype=float)
    return m / delta2 + m ** (p - 1) / delta_p


def qp1(delta2, delta_p):
    """Q'(1) = 1/Δ2 + 1/Δp."""
    return 1.0 / delta2 + 1.0 / delta_p


def qpp1(p, delta2, delta_p):
    """Q''(1) = 1/Δ2 + (p-1)/Δp."""
    return 1.0 / delta2 + (p - 1) / delta_p


# Grid on (0, 1) dense near both ends, used to bracket roots of one-dimensional equations.
_MGRID = np.unique(np.concatenate([
    np.logspace(-14, -1, 400),
    np.linspace(0.0, 1.0, 4001)[1:-1],
    1.0 - np.logspace(-14, -1, 400),
]))


# ------------------------------------------------------------------ Bayes-optimal AMP, §4.1
def bayes_se_map(m, p, delta2, delta_p):
    """One step of the Bayes-optimal AMP state evolution, spherical prior (spiked.md §4.1):

        m^{t+1} = z(m^t) / (1 + z(m^t)),   z(m) = Q'(m) = m/Δ2 + m^{p-1}/Δp.

    (Gaussian channel with effective SNR z on a spherical prior: the posterior-mean overlap is
    z/(1+z); Nishimori: overlap = squared norm = m.)"""
    z = zfun(m, p, delta2, delta_p)
    return z / (1.0 + z)


def _trajectory(step, m0, p, delta2, delta_p, iterations):
    """m_0, m_1, …, m_iterations of the state evolution m_{t+1} = step(m_t)."""
    out = np.empty(int(iterations) + 1)
    out[0] = m0
    for t in range(int(iterations)):
        out[t + 1] = step(out[t], p, delta2, delta_p)
    return out


def bayes_se(m0, p, delta2, delta_p, iterations):
    """Trajectory m_0, m_1, …, m_iterations of the Bayes SE (array of length iterations+1)."""
    return _trajectory(bayes_se_map, m0, p, delta2, delta_p, iterations)


def _x_of_m(m, p, delta_p):
    """Fixed-point curve of the Bayes SE: m>0 is a fixed point at 1/Δ2 = x(m) with

        x(m) = 1/(1-m) − m^{p-2}/Δp      [D from m = z/(1+z) ⇔ z(m) = m/(1-m)].

    The SE map moves m up iff x > x(m) (h(m) = z(1-m) − m = m(1-m)(x − x(m))). A fixed point is
    stable iff x(m) is increasing there."""
    return 1.0 / (1.0 - m) - m ** (p - 2) / delta_p


def bayes_fixed_points(p, delta2, delta_p):
    """All fixed points m ∈ (0, 1) of the Bayes SE at (p, Δ2, Δp), with their stability.

    Returns a list of (m, stable: bool), increasing m. (m = 0 is always a fixed point, stable iff
    Δ2 > 1 for p ≥ 3.) Roots of the polynomial (1-m)(x − x(m))·Δp = 0 of degree p-1."""
    x = 1.0 / delta2
    # Δp(1-m)(x - x(m)) = Δp x (1-m) - Δp + m^{p-2}(1-m)  -> coefficients in m (highest first)
    coef = np.zeros(p)  # degree p-1
    # m^{p-1}: -1 ; m^{p-2}: +1 ; m^1: -Δp x ; m^0: Δp x - Δp
    c = np.zeros(p)      # c[k] = coefficient of m^k
    c[p - 1] += -1.0
    c[p - 2] += 1.0
    c[1] += -delta_p * x
    c[0] += delta_p * x - delta_p
    coef = c[::-1]
    roots = np.roots(coef)
    out = []
    for r in roots:
        if abs(r.imag) < 1e-9 and 0.0 < r.real < 1.0:
            m = float(r.real)
            # polish
            f = lambda mm: x - _x_of_m(mm, p, delta_p)
            lo, hi = max(m - 1e-6, 1e-300), min(m + 1e-6, 1 - 1e-15)
            if f(lo) * f(hi) < 0:
                m = brentq(f, lo, hi, xtol=1e-15, rtol=1e-15)
            eps = 1e-7 * max(m, 1e-8)
            slope = (_x_of_m(m + eps, p, delta_p) - _x_of_m(m - eps, p, delta_p)) / (2 * eps)
            out.append((m, bool(slope > 0)))
    out.sort()
    return out


@_vectorize
def phi_rs(m, p, delta2, delta_p):
    """Replica-symmetric free entropy (relative to m=0) of the Bayes-optimal problem (spiked.md §4.1):

        Φ_RS(m) = ½[m + log(1 − m)] + m²/(4Δ2) + m^p/(2pΔp),   dΦ/dm = ½[z(m) − m/(1−m)],

    whose stationary points are the SE fixed points."""
    return 0.5 * (m + math.log1p(-m)) + m * m / (4.0 * delta2) + m ** p / (2.0 * p * delta_p)


@_vectorize
def m_bo(p, delta2, delta_p):
    """Overlap reached by Bayes-optimal AMP (and by Bayes-optimal Langevin when it succeeds) from an
    uninformative start m⁰ → 0⁺ (spiked.md §4.1, §2.2).

    Which fixed point: the SE m' = z(m)/(1+z(m)) is monotone (z increasing), so from 0⁺ the
    iteration increases monotonically to the *smallest* fixed point m* > 0 provided the map
    pushes up just above 0, i.e. x = 1/Δ2 > x(0⁺) with x(m) = 1/(1-m) − m^{p-2}/Δp (stability of
    m = 0 is lost at Δ2 = 1; at Δ2 = 1 exactly it escapes iff x(m) < 1 just above 0, e.g. p = 3,
    Δp < 1). Otherwise it stays at m = 0 and 0 is returned. This is the uninformative-start
    fixed point, NOT necessarily the Bayes-optimal (global maximum of Φ_RS) overlap: for p = 4,
    Δp < 8/27 and 1 < 1/Δ2 < 1/Δ2_AMP it is the low-overlap branch, and in the hard phase
    (IT < 1/Δ2 < 1) it is 0. For the equilibrium overlap see :func:`m_bo_equilibrium`.
    Checked: CodeL/CodeD Langevin runs reach 0.93178 (Δ2=0.1, Δp=0.2) and 2√2−2 (Δ2=0.2, Δp=1),
    spiked.md §6.1."""
    x = 1.0 / delta2
    d = x - _x_of_m(_MGRID, p, delta_p)  # > 0: SE moves up
    if d[0] <= 0.0:
        return 0.0
    neg = np.nonzero(d <= 0.0)[0]
    if len(neg) == 0:  # cannot happen: x(m) -> ∞ as m -> 1
        return 1.0
    j = neg[0]
    f = lambda mm: x - _x_of_m(mm, p, delta_p)
    return float(brentq(f, _MGRID[j - 1], _MGRID[j], xtol=1e-15, rtol=1e-14))


@_vectorize
def m_bo_equilibrium(p, delta2, delta_p):
    """Bayes-optimal (equilibrium) overlap: argmax over m ∈ [0,1) of Φ_RS (spiked.md §4.1); 0 if
    the uninformative point is the global maximum (below the IT threshold)."""
    best_m, best_phi = 0.0, 0.0
    for m, stable in bayes_fixed_points(p, delta2, delta_p):
        if stable:
            ph = phi_rs.scalar(m, p, delta2, delta_p)
            if ph > best_phi + 1e-15:
                best_m, best_phi = m, ph
    return best_m


def _x_it_of_m(m, p, delta_p):
    """1/Δ2 at which Φ_RS(m) = 0: x_0(m) = −2(m + log(1−m))/m² − 2m^{p−2}/(pΔp) (Φ is linear in x)."""
    m = np.asarray(m, dtype=float)
    small = m < 1e-3
    ms = np.where(small, 0.5, np.minimum(m, 1.0 - 1e-16))
    a = -2.0 * (ms + np.log1p(-ms)) / ms ** 2
    # series 2 Σ_{k≥2} m^{k-2}/k = 1 + 2m/3 + m²/2 + 2m³/5 + …
    a_series = 1.0 + 2.0 * m / 3.0 + m ** 2 / 2.0 + 2.0 * m ** 3 / 5.0 + m ** 4 / 3.0
    a = np.where(small, a_series, a)
    return a - 2.0 * m ** (p - 2) / (p * delta_p)


def _min_on_unit(fun, grid=_MGRID):
    """Global minimum of a smooth function on (0,1): dense grid + bounded Brent refinement."""
    vals = fun(grid)
    j = int(np.argmin(vals))
    lo = grid[max(j - 1, 0)]
    hi = grid[min(j + 1, len(grid) - 1)]
    if j == 0:
        return float(vals[0]), float(grid[0])
    res = minimize_scalar(lambda mm: float(fun(np.array(mm))), bounds=(lo, hi), method="bounded",
                          options={"xatol": 1e-14})
    if res.fun < vals[j]:
        return float(res.fun), float(res.x)
    return float(vals[j]), float(grid[j])


@_vectorize
def inv_delta2_it(p, delta_p):
    """Information-theoretic threshold 1/Δ2_IT (spiked.md §4.1): smallest 1/Δ2 at which
    max_{m>0} Φ_RS(m) ≥ Φ_RS(0) = 0.

    Φ_RS is affine increasing in x = 1/Δ2 at fixed m > 0, so x_IT = inf_{m∈(0,1)} x_0(m), with
    x_0(m) = −2(m + log(1−m))/m² − 2m^{p−2}/(pΔp) the x where Φ_RS(m) = 0; x_0(0⁺) = 1 (continuous
    transition at 1/Δ2 = 1 when the infimum is at m → 0), clipped at 0 (the tensor alone suffices,
    e.g. p = 3, Δp ≤ 0.22897). Tabled: p=3, Δp=0.3 → 0.41979; p=4, Δp=0.15 → 0.38383."""
    v, _ = _min_on_unit(lambda m: _x_it_of_m(m, p, delta_p))
    return float(min(1.0, max(0.0, v)))


@_vectorize
def inv_delta2_spinodal(p, delta_p):
    """Spinodal 1/Δ2_sp (spiked.md §4.1): smallest 1/Δ2 at which a stable positive SE fixed point
    exists = max(0, min_{m∈[0,1)} x(m)), x(m) = 1/(1−m) − m^{p−2}/Δp (the fixed-point curve; a
    stable fixed point exists iff x exceeds its minimum). p = 3: (1/Δ2 − 1/Δp)² = 4(1 − 1/Δ2)/Δp,
    e.g. Δp = 0.5 → 2√2 − 2."""
    v, _ = _min_on_unit(lambda m: _x_of_m(m, p, delta_p))
    return float(min(1.0, max(0.0, v)))


@_vectorize
def inv_delta2_amp(p, delta_p):
    """Bayes-optimal AMP 'easy' line 1/Δ2_AMP (spiked.md §4.1): smallest 1/Δ2 above which AMP from
    m → 0⁺ reaches the largest (high-overlap) stable fixed point.

    From 0⁺ AMP stops at the first m where x(m) = x (see :func:`m_bo`), which is the last
    (largest) root iff x exceeds every local maximum of the fixed-point curve
    x(m) = 1/(1−m) − m^{p−2}/Δp. Hence 1/Δ2_AMP = max(1, local maxima of x(m) on (0,1)).
    p = 3: x(m) is convex, no local maximum ⇒ 1 for all Δp. p = 4: x'(m) = 0 ⇔ 2m(1−m)² = Δp,
    which has roots m_a < 1/3 < m_b iff Δp < 8/27; the local maximum is at m_a and
    1/Δ2_AMP = (2m_a − 3m_a²)/Δp (> 1 there, → 9/8 as Δp → 8/27⁻, then the line drops to 1: the
    low/high-overlap branches merge at the critical point Δp = 8/27, 1/Δ2 = 9/8).
    Tabled: p=4, Δp = 0.05, 0.25, 0.27 → 1.01318, 1.09017, 1.10282."""
    g = _MGRID
    xv = _x_of_m(g, p, delta_p)
    dx = np.diff(xv)
    best = 1.0
    # local maxima: dx changes sign from + to −
    idx = np.nonzero((dx[:-1] > 0) & (dx[1:] <= 0))[0]
    for j in idx:
        if xv[j + 1] <= 1.0 + 1e-9:  # round-off plateau of a convex x(m) near m = 0
            continue
        lo, hi = g[j], g[j + 2]
        res = minimize_scalar(lambda mm: -_x_of_m(mm, p, delta_p), bounds=(lo, hi), method="bounded",
                              options={"xatol": 1e-14})
        best = max(best, float(-res.fun), float(xv[j + 1]))
    return best


# ---------------------------------------------------------------------------- ML-AMP, §4.2
def ml_se_map(m, p, delta2, delta_p):
    """One step of ML-AMP state evolution (spiked.md §4.2):
    m^{t+1} = z(m^t)/√(z(m^t)² + Q'(1)),  Q'(1) = 1/Δ2 + 1/Δp."""
    z = zfun(m, p, delta2, delta_p)
    return z / np.sqrt(z * z + qp1(delta2, delta_p))


def ml_se(m0, p, delta2, delta_p, iterations):
    """Trajectory of the ML-AMP SE (length iterations+1)."""
    return _trajectory(ml_se_map, m0, p, delta2, delta_p, iterations)


def _ml_u(m, p, delta2, delta_p):
    """u(m) = (x + m^{p−2}/Δp)√(1−m²) − √Q'(1); for m > 0, ML-SE moves up iff u(m) > 0
    (m = z/√(z²+Q'(1)) ⇔ z = m√Q'(1)/√(1−m²))."""
    m = np.asarray(m, dtype=float)
    return (1.0 / delta2 + m ** (p - 2) / delta_p) * np.sqrt(1.0 - m * m) - math.sqrt(qp1(delta2, delta_p))


@_vectorize
def m_ml(p, delta2, delta_p):
    """ML overlap m_ML: the largest stable root in (0,1) of m = Q'(m)/√(Q'(m)² + Q'(1)) (ML-AMP
    fixed point, spiked.md §4.2; = RS zero-temperature ML overlap = final overlap of GF when it
    succeeds, §2.2; CodeT checks: p=4, 1/Δ2=3, Δp=4 → 0.8224340; p=3, 1/Δ2=4, Δp=1 → 0.8892920).
    0 if there is no positive fixed point. Written as u(m) = 0 with
    u(m) = (1/Δ2 + m^{p−2}/Δp)√(1−m²) − √Q'(1) (u > 0 ⇔ the map increases m); the largest root is
    where u goes from + to −, hence stable."""
    u = _ml_u(_MGRID, p, delta2, delta_p)
    pos = np.nonzero(u > 0)[0]
    if len(pos) == 0:
        return 0.0
    j = pos[-1]
    if j + 1 >= len(_MGRID):
        return 1.0
    return float(brentq(lambda mm: float(_ml_u(mm, p, delta2, delta_p)), _MGRID[j], _MGRID[j + 1],
                        xtol=1e-15, rtol=1e-14))


def inv_delta2_ml_amp(delta_p):
    """ML-AMP threshold (instability of m = 0 of the ML SE, spiked.md §4.2):
    1/Δ2² = 1/Δ2 + 1/Δp ⇔ 1/Δ2 = (1 + √(1 + 4/Δp))/2, independent of p; → 1 as Δp → ∞."""
    d = np.asarray(delta_p, dtype=float)
    out = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 / d))
    return float(out) if out.ndim == 0 else out


# ---------------------------------------------------------------- GF / Langevin conjecture, §4.4
def inv_delta2_gf(p, delta_p):
    """Gradient-flow threshold (conjecture of S3 / P3 at T = 0, spiked.md §4.4):
    1/Δ2² = 1/Δ2 + (p−1)/Δp ⇔ 1/Δ2_GF = (1 + √(1 + 4(p−1)/Δp))/2.
    = instability (BBP outlier) of the marginal threshold minima at m = 0, where
    √Q''(1) = 1/Δ2·… i.e. θ = 1 in the Kac–Rice notation (spiked.md §4.3)."""
    p = np.asarray(p, dtype=float)
    d = np.asarray(delta_p, dtype=float)
    out = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * (p - 1.0) / d))
    return float(out) if out.ndim == 0 else out


def _langevin_F(x, p, delta_p, T):
    return x * x - x - (p - 1) * (1.0 - T / x) ** (p - 2) / delta_p


@_vectorize
def inv_delta2_langevin(p, delta_p, T=1.0):
    """Langevin threshold at temperature T (threshold-state + BBP conjecture of S3, spiked.md §4.4):

        F(x) ≡ x² − x − (p−1)(1 − T/x)^{p−2}/Δp = 0,   x = 1/Δ2,

    (replicon condition of the threshold states T² = Q''(q)(1−q)², instability towards the signal
    T·Δ2 = 1 − q; success predicted where F(x) > 0). Returned: the largest root x of F with
    x > x_floor = max(1, T), else x_floor.

    * T = 0 reproduces the GF line; T = 1, p = 3: (x−1)(x² − 2/Δp) = 0 ⇒ √(2/Δp) for Δp < 2,
      1 for Δp ≥ 2.
    * p = 4, T = 1: x³Δp = 3(x−1) has roots > 1 only for Δp < 4/9 (two roots, e.g. 1.1157 and
      2.7687 at Δp = 0.25); the largest one is returned. Between 1 and the smaller root F > 0
      again (a re-entrant 'success' window of the conjecture, just above the Bayes line, inside the
      region where Bayes AMP itself only reaches its low-overlap branch): not represented by the
      line. For Δp ≥ 4/9 no root > 1 exists, the instability condition holds for every x > 1 and
      the line is 1 (the Bayes/AMP line), as in the † entries of spiked.md §4.4.
    * T > 1 (not Bayes-optimal, outside the published conjecture): the condition needs 1 − T/x ≥ 0,
      so the floor is x = T; documented extrapolation only."""
    floor = max(1.0, float(T))
    if T == 0.0:
        return float(inv_delta2_gf(p, delta_p))
    # F -> +∞ as x -> ∞; bracket from a safe upper bound
    hi = max(floor, 1.0) * 2.0 + 2.0 * math.sqrt((p - 1) / delta_p) + 2.0
    while _langevin_F(hi, p, delta_p, T) <= 0:
        hi *= 2.0
    xs = floor + (hi - floor) * np.linspace(0.0, 1.0, 20001) ** 2
    xs[0] = floor * (1 + 1e-15) if floor > 0 else 1e-12
    F = _langevin_F(xs, p, delta_p, T)
    neg = np.nonzero(F <= 0.0)[0]
    if len(neg) == 0:
        return floor
    j = neg[-1]
    if j == 0 and F[0] > -1e-12:
        return floor
    return float(brentq(lambda xx: _langevin_F(xx, p, delta_p, T), xs[j], xs[j + 1], xtol=1e-15, rtol=1e-14))


# ----------------------------------------------------------------------- DMFT asymptotics, §2.2
def gf_asymptotics(p, delta2, delta_p):
    """Asymptotic GF (T = 0) values when GF succeeds (spiked.md §2.2): dict with m (= m_ML),
    a = √(Q'(m)² + Q'(1)), chi = 1/a, mu = a + Q''(1)/a, energy = −Q(m) − Q'(1)/a and the marginal
    (stuck-on-equator) value mu_threshold = 2√Q''(1)."""
    m = m_ml(p, delta2, delta_p)
    z = float(zfun(m, p, delta2, delta_p))
    q1, q2 = qp1(delta2, delta_p), qpp1(p, delta2, delta_p)
    a = math.sqrt(z * z + q1)
    Qm = m * m / (2 * delta2) + m ** p / (p * delta_p)
    return {"m": m, "a": a, "chi": 1.0 / a, "mu": a + q2 / a, "energy": -Qm - q1 / a,
            "mu_threshold": 2.0 * math.sqrt(q2)}


def langevin_asymptotics(p, delta2, delta_p, T=1.0):
    """Equilibrium values (spiked.md §2.2). T = 1 (Bayes-optimal, Nishimori) in the signal or
    paramagnetic state: mu = 1 + Q'(1), energy = −Q(1), m = m_BO. General T paramagnet:
    mu_para = T + Q'(1)/T."""
    q1 = qp1(delta2, delta_p)
    Q1 = 1.0 / (2 * delta2) + 1.0 / (p * delta_p)
    return {"m": m_bo(p, delta2, delta_p), "mu": 1.0 + q1, "energy": -Q1,
            "mu_para": T + q1 / T if T > 0 else math.inf}


def delta_p_it_pure_tensor(p):
    """IT threshold of the pure spiked p-tensor (1/Δ2 = 0, spiked.md §4.1 table): largest Δp with
    max_m Φ_RS(m) ≥ 0, i.e. Δp_IT = max_{m∈(0,1)} m^p / (−p(m + log(1 − m))).
    p = 3 → 0.22897, p = 4 → 0.12652."""
    f = lambda m: -(m ** p) / (-p * (m + math.log1p(-m)))
    g = _MGRID[(_MGRID > 1e-3) & (_MGRID < 1 - 1e-9)]
    vals = np.array([f(m) for m in g])
    j = int(np.argmin(vals))
    res = minimize_scalar(f, bounds=(g[max(j - 1, 0)], g[min(j + 1, len(g) - 1)]), method="bounded",
                          options={"xatol": 1e-14})
    return float(-min(res.fun, vals[j]))
