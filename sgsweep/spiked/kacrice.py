r"""Kac–Rice annealed complexity of local minima of the spiked (2+p) matrix-tensor loss
(reference/spiked.md §4.3, seed talk S3 slide "Counting minima: Kac-Rice", P2), its maximisation
over energies Σ_min(m), the trivialisation lines, and the pure spherical p-spin limits (§7).

Derivation (re-done here; settles the reading of the slide's t and θ, spiked.md §4.3)
--------------------------------------------------------------------------------------
On the sphere |x|² = N write H = H2 + Hp (homogeneous of degree 2 and p), ε2 = H2/N, εp = Hp/N,
m = x·x*/N. Statistically H(x) = −N Q(m) + h(x) with E[h(x)h(y)] = N Q(x·y/N) (§1.2). At a
stationary point ∇H + μ x = 0 with μ = −x·∇H/N = −(2ε2 + pεp). The Riemannian Hessian is
∇²H + μ·1 on the tangent space; conditioned on the energies and on the gradient, its noise part is
a GOE matrix whose semicircle has radius 2√Q''(1) (the Hessian covariance is Q''(1); conditioning
only shifts it by multiples of the identity, absorbed in μ), and its signal part −Q''(m) x* x*ᵀ/N
restricted to the tangent space is a rank-one matrix of eigenvalue −Q''(m)(1 − m²) (the tangent
component of x*/√N has squared norm 1 − m²). In units of √Q''(1):

    Hess/√Q''(1) = t·1 + G − θ e eᵀ,   t = μ/√Q''(1),   θ = Q''(m)(1 − m²)/√Q''(1),

G a GOE with semicircle on [−2, 2]. Hence, for the annealed count of *minima*:
* the bulk must be non-negative: t ≥ 2 (else the count is exponentially zero: L = ∞);
* |det Hess| gives Φ(t) (log-potential of the semicircle plus the Gaussian density of the
  gradient, combined as on the slide);
* if θ > 1 the rank-one term creates (BBP) an outlier of t + G − θeeᵀ at t − (θ + 1/θ). If
  t ≥ θ + 1/θ it is non-negative anyway; if 2 ≤ t < θ + 1/θ the point is a minimum only on the large
  deviation where the outlier sits above −t, of probability exp(−N L(θ, t)),
  L(θ,t) = ¼∫_{θ+1/θ}^{t}√(y²−4)dy − (θ/2)(t − (θ+1/θ)) + (t² − (θ+1/θ)²)/8 (L = L' = 0 at the
  typical place, L'' > 0). An *annealed* count must keep this term (forcing the outlier to its
  typical place, L = ∞, would count the typical sample only; spiked.md §4.3 correction).
Together with the Gaussian cost of the energies and of the gradient's signal component this is

    Σ̃(m, ε2, εp) = ½ log(Q''(1)/Q'(1)) + ½ log(1 − m²) − ½ Q'(m)²(1 − m²)/Q'(1)
                   − (pΔp/2)(εp + m^p/(pΔp))² − Δ2(ε2 + m²/(2Δ2))² + Φ(t) − L(θ, t)

(S3, "annealed entropy of local minima (at m = 0 also quenched)"). At fixed μ the energies are
optimised in closed form (Lagrange multiplier): the two squares become
−(mQ'(m) − μ)²/(2(Q'(1) + Q''(1))) [D]. The resulting Σ(m, t) is concave in t on [2, ∞)
(Φ'(t) = (t − √(t²−4))/2 is decreasing, L is convex in t), so Σ_min(m) = max_{t≥2} Σ(m, t) is found
by bisection on ∂_tΣ. Checks (tests): the pure p-spin limit (1/Δ2 = 0, m = 0, Δp = 1/p) reproduces
the ABC complexity to round-off (total ½log(p−1), minima at E_∞: 1 + ½log(p−1) − 2(p−1)/p, ground
state E_0); Σ_min(m_ML) = 0 at the ML-AMP fixed point (the global minimum is a single point).

Trivialisation at m = 0 (``inv_delta2_triv``). At m = 0, Σ(0, t) = ½log r − t²Q''(1)/(2(Q'(1)+Q''(1)))
+ Φ(t) − L(θ0, t), r = Q''(1)/Q'(1), θ0 = (1/Δ2)/√Q''(1). Below the GF line (θ0 ≤ 1 ⇔ 1/Δ2² ≤ 1/Δ2 + (p−1)/Δp) L = 0,
the maximum is at t = 2 (∂_tΣ(2) = (Q'−Q'')/(Q'+Q'') < 0) and Σ_min(0) = ½log r + (1 − r)/(1 + r),
r = Q''(1)/Q'(1) > 1, which is > 0 (vanishes only at r = 1): spurious marginal minima always exist
below the GF line. Above it (θ0 > 1) the outlier cost L lowers Σ_min(0), which reaches 0 at
1/Δ2^triv (the last spurious minima at m = 0 disappear): root in x of Σ_min(0; x) = 0, bracketed
between the GF line and a large x.

All spurious minima (``inv_delta2_triv_allm``). Spurious = exponentially many (Σ_min > 0) minima at
any overlap m ∈ (−1, 1). The isolated minima at the stable roots of the ML-AMP fixed-point
equation (m_ML, and for odd p also a negative root m_−, which a random start reaches about half of
the time, spiked.md §5) have Σ_min = 0 (single points: sub-exponential) and do not count; the line
is the smallest 1/Δ2 with Σ_min(m) ≤ 0 for every m (see :func:`inv_delta2_triv_allm` for the
variant that also leaves out a neighbourhood of the ML roots). For even p the scan over m finds
the last spurious minima at m = 0 (checked p = 4, 6, Δp = 0.05 … 50), so triv_allm = triv; for odd p the tensor term breaks m → −m and minima at small negative m
(≈ −0.03 … −0.09) outlive those at m = 0 (p = 3, Δp = 1: 2.5653 vs 2.46275; spiked.md §4.3), and
a window of marginal minima (t = 2) around the negative ML root m_− outlives both (up to 2.61347 at
p = 3, Δp = 1, with Σ_min ≤ 1e-8 for 1/Δ2 > 2.6 there; it closes where the ML point m_− stops being
marginal, ∂_tΣ(m_−, 2) = 0). Found by scanning Σ_min(m) on dense m grids, settled by the exact
closing condition; see :func:`inv_delta2_triv_allm`.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq

from . import theory as th

__all__ = [
    "phi_t", "dphi_t", "outlier_rate", "theta", "complexity", "sigma_t", "sigma_min",
    "inv_delta2_triv", "inv_delta2_triv_allm", "sigma_min_scan", "ml_roots", "stable_ml_roots",
    "pspin_E_inf", "pspin_E0", "pspin_abc_minima_complexity", "pspin_kr_minima_complexity",
    "pspin_total_complexity", "pspin_threshold_minima_complexity",
]



# ------------------------------------------------------------------------------ building blocks
def phi_t(t):
    """Φ(t) = t²/4 + 1_{|t|>2}[log(√(t²/4 − 1) + |t|/2) − (|t|/4)√(t² − 4)] (spiked.md §4.3)."""
    t = np.asarray(t, dtype=float)
    a = np.abs(t)
    s = np.sqrt(np.maximum(a * a - 4.0, 0.0))
    extra = np.where(a > 2.0, np.log(np.sqrt(np.maximum(a * a / 4.0 - 1.0, 0.0)) + a / 2.0) - a / 4.0 * s, 0.0)
    return t * t / 4.0 + extra


def dphi_t(t):
    """Φ'(t) = (t − √(t² − 4))/2 for t ≥ 2 (derived by differentiating :func:`phi_t`)."""
    t = np.asarray(t, dtype=float)
    return 0.5 * (t - np.sqrt(np.maximum(t * t - 4.0, 0.0)))


def _A(y):
    """Primitive of √(y² − 4): (y/2)√(y²−4) − 2 log(y + √(y²−4))."""
    s = np.sqrt(np.maximum(y * y - 4.0, 0.0))
    return 0.5 * y * s - 2.0 * np.log(y + s)


def outlier_rate(th_, t):
    """L(θ, t) of spiked.md §4.3 (large-deviation rate of the BBP outlier; +∞ for t < 2)."""
    th_ = np.asarray(th_, dtype=float)
    t = np.asarray(t, dtype=float)
    c = np.where(th_ > 1.0, th_ + 1.0 / np.where(th_ > 1.0, th_, 2.0), 0.0)
    active = (th_ > 1.0) & (t >= 2.0) & (t < c)
    val = 0.25 * (_A(np.maximum(t, 2.0)) - _A(np.maximum(c, 2.0))) - 0.5 * th_ * (t - c) + (t * t - c * c) / 8.0
    out = np.where(active, val, 0.0)
    return np.where(t < 2.0, np.inf, out)


def _doutlier_rate(th_, t):
    """∂_t L(θ, t) = ¼√(t²−4) − θ/2 + t/4 on 2 ≤ t < θ + 1/θ (θ > 1), else 0."""
    c = np.where(th_ > 1.0, th_ + 1.0 / np.where(th_ > 1.0, th_, 2.0), 0.0)
    active = (th_ > 1.0) & (t < c)
    return np.where(active, 0.25 * np.sqrt(np.maximum(t * t - 4.0, 0.0)) - 0.5 * th_ + t / 4.0, 0.0)


def theta(m, p, delta2, delta_p):
    """θ = Q''(m)(1 − m²)/√Q''(1): rank-one signal term of the Hessian in units of the semicircle
    half-width (BBP outlier iff θ > 1)."""
    m = np.asarray(m, dtype=float)
    qpp_m = 1.0 / delta2 + (p - 1) * m ** (p - 2) / delta_p
    return qpp_m * (1.0 - m * m) / math.sqrt(th.qpp1(p, delta2, delta_p))


def complexity(m, eps2, eps_p, p, delta2, delta_p):
    """Annealed complexity of minima Σ̃(m, ε2, εp) exactly as on the S3 slide (spiked.md §4.3), with
    t = −(2ε2 + pεp)/√Q''(1) and θ from :func:`theta`. −∞ where t < 2. Broadcasts."""
    m = np.asarray(m, dtype=float)
    q1, q2 = th.qp1(delta2, delta_p), th.qpp1(p, delta2, delta_p)
    zm = m / delta2 + m ** (p - 1) / delta_p
    t = -(2.0 * np.asarray(eps2) + p * np.asarray(eps_p)) / math.sqrt(q2)
    val = (0.5 * math.log(q2 / q1) + 0.5 * np.log1p(-m * m) - 0.5 * zm ** 2 * (1 - m * m) / q1
           - 0.5 * p * delta_p * (eps_p + m ** p / (p * delta_p)) ** 2
           - delta2 * (eps2 + m * m / (2 * delta2)) ** 2 + phi_t(t))
    L = outlier_rate(theta(m, p, delta2, delta_p), t)
    return np.where(t < 2.0, -np.inf, val - np.where(np.isfinite(L), L, 0.0))


def sigma_t(m, t, p, delta2, delta_p):
    """Σ(m, t) = max over (ε2, εp) at fixed μ = t√Q''(1) of Σ̃:
    ½log(Q''(1)/Q'(1)) + ½log(1−m²) − ½Q'(m)²(1−m²)/Q'(1) − (mQ'(m) − μ)²/(2(Q'(1)+Q''(1)))
    + Φ(t) − L(θ, t)."""
    m = np.asarray(m, dtype=float)
    t = np.asarray(t, dtype=float)
    q1, q2 = th.qp1(delta2, delta_p), th.qpp1(p, delta2, delta_p)
    s = math.sqrt(q2)
    zm = m / delta2 + m ** (p - 1) / delta_p
    val = (0.5 * math.log(q2 / q1) + 0.5 * np.log1p(-m * m) - 0.5 * zm ** 2 * (1 - m * m) / q1
           - (m * zm - t * s) ** 2 / (2.0 * (q1 + q2)) + phi_t(t))
    L = outlier_rate(theta(m, p, delta2, delta_p), t)
    return val - L


def sigma_min(m, p, delta2, delta_p, return_t=False):
    """Σ_min(m) = max_{t ≥ 2} Σ(m, t) (complexity of minima at overlap m, maximised over their
    energies; spiked.md §4.3). Vectorised over m: bisection on the decreasing ∂_tΣ
    (Σ is concave in t). With ``return_t`` also the maximiser t* (μ* = t*√Q''(1))."""
    m = np.atleast_1d(np.asarray(m, dtype=float))
    q1, q2 = th.qp1(delta2, delta_p), th.qpp1(p, delta2, delta_p)
    s = math.sqrt(q2)
    zm = m / delta2 + m ** (p - 1) / delta_p
    thv = theta(m, p, delta2, delta_p)

    def dsig(t):
        return dphi_t(t) - _doutlier_rate(thv, t) + s * (m * zm - t * s) / (q1 + q2)

    lo = np.full_like(m, 2.0)
    d2 = dsig(lo)
    hi = np.full_like(m, 4.0)
    for _ in range(200):
        bad = dsig(hi) > 0
        if not bad.any():
            break
        hi = np.where(bad, 2.0 * hi, hi)
    for _ in range(56):
        mid = 0.5 * (lo + hi)
        up = dsig(mid) > 0
        lo = np.where(up, mid, lo)
        hi = np.where(up, hi, mid)
    tstar = np.where(d2 <= 0, 2.0, 0.5 * (lo + hi))
    val = sigma_t(m, tstar, p, delta2, delta_p)
    if return_t:
        return val, tstar
    return val


# ------------------------------------------------------------------------------ trivialisation
def _sigma_min0(x, p, delta_p):
    return float(sigma_min(0.0, p, 1.0 / x, delta_p)[0])


def inv_delta2_triv(p, delta_p):
    """Trivialisation line at m = 0 (module docstring): the 1/Δ2 where Σ_min(m = 0) = 0, keeping the
    outlier term L(θ, t). Vectorised over Δp. Tabled (spiked.md §4.3): p=3, Δp=1 → 2.46275;
    p=4, Δp=1 → 3.12559."""
    def one(dp):
        lo = float(th.inv_delta2_gf(p, dp))  # Σ_min(0) > 0 there (r > 1)
        if _sigma_min0(lo, p, dp) <= 0.0:
            # Σ_min(0) at the GF line is ~(r−1)³/12, below round-off for Δp ≳ 1e5: the lines merge
            return lo
        hi = 2.0 * lo
        while _sigma_min0(hi, p, dp) > 0:
            hi *= 2.0
        return brentq(lambda x: _sigma_min0(x, p, dp), lo, hi, xtol=1e-13, rtol=1e-13)
    out = np.vectorize(one, otypes=[float])(delta_p)
    return float(out) if out.ndim == 0 else out


def ml_roots(p, delta2, delta_p):
    """Roots m ∈ (−1, 1) \\ {0} of the ML-AMP fixed-point equation m = Q'(m)/√(Q'(m)² + Q'(1)),
    written u(m) = (1/Δ2 + m^{p−2}/Δp)√(1−m²) − √Q'(1) = 0 (both signs of m)."""
    g = np.concatenate([-th._MGRID[::-1], th._MGRID])
    u = th._ml_u(g, p, delta2, delta_p)
    roots = []
    sgn = np.sign(u)
    for j in np.nonzero(sgn[:-1] * sgn[1:] < 0)[0]:
        if g[j] < 0 < g[j + 1]:
            continue
        roots.append(brentq(lambda mm: float(th._ml_u(mm, p, delta2, delta_p)), g[j], g[j + 1], xtol=1e-15))
    return roots


_SCAN = np.linspace(-0.999, 0.999, 999)
_LOCAL = np.concatenate([-np.geomspace(1e-2, 1e-7, 120), [0.0], np.geomspace(1e-7, 1e-2, 120)])
POSITIVE_TOL = 1e-11  # Σ_min above this counts as exponentially many minima


def sigma_min_scan(p, delta2, delta_p, exclude=0.0, grid=_SCAN, refine=True):
    """max over m ∈ (−1, 1) of Σ_min(m) (grid, then bounded Brent refinement of an interior local
    maximum). With ``exclude > 0`` the neighbourhoods |m − r| < exclude of the ML roots r
    (:func:`ml_roots`) are left out. Returns (value, argmax m). The isolated minima at stable ML
    roots contribute exactly 0 (up to round-off)."""
    roots = ml_roots(p, delta2, delta_p)
    if exclude > 0:
        keep = np.ones(len(grid), bool)
        for r in roots:
            keep &= np.abs(grid - r) >= exclude
    else:
        # dense local grids beside each ML root (where windows of marginal minima sit)
        local = [r + _LOCAL for r in roots]
        grid = np.unique(np.clip(np.concatenate([grid] + local), -0.9999, 0.9999))
        keep = np.ones(len(grid), bool)
    idx = np.nonzero(keep)[0]
    vals = sigma_min(grid[idx], p, delta2, delta_p)
    j = int(np.argmax(vals))
    best, arg = float(vals[j]), float(grid[idx[j]])
    # refine only if both grid neighbours are kept (never step into an excluded neighbourhood)
    if refine and 0 < j < len(idx) - 1 and idx[j + 1] - idx[j - 1] == 2:
        lo, hi = grid[idx[j - 1]], grid[idx[j + 1]]
        for _ in range(3):  # vectorised zoom: 3 levels of 41 points, bracket shrinks 20x each
            z = np.linspace(lo, hi, 41)
            vz = sigma_min(z, p, delta2, delta_p)
            k = int(np.argmax(vz))
            if vz[k] > best:
                best, arg = float(vz[k]), float(z[k])
            lo, hi = z[max(k - 1, 0)], z[min(k + 1, 40)]
    return best, arg


def stable_ml_roots(p, delta2, delta_p):
    """ML roots that are stable fixed points of the ML SE (u changes from + to − moving away from 0:
    local minima of the landscape; the positive one is m_ML, for odd p a negative m_− exists too)."""
    out = []
    for r in ml_roots(p, delta2, delta_p):
        e = 1e-7
        inner, outer = (r - e, r + e) if r > 0 else (r + e, r - e)
        if th._ml_u(inner, p, delta2, delta_p) > 0 > th._ml_u(outer, p, delta2, delta_p):
            out.append(r)
    return out


def _dsig_at_2(m, p, delta2, delta_p):
    """∂_tΣ(m, t) at t = 2 (Σ_min(m) = Σ(m, 2) iff this is ≤ 0)."""
    q1, q2 = th.qp1(delta2, delta_p), th.qpp1(p, delta2, delta_p)
    s = math.sqrt(q2)
    zm = m / delta2 + m ** (p - 1) / delta_p
    thv = theta(np.asarray(m, float), p, delta2, delta_p)
    return float(dphi_t(2.0) - _doutlier_rate(thv, 2.0) + s * (m * zm - 2.0 * s) / (q1 + q2))


def _marginal_window_line(p, delta_p, x_lo):
    """Largest 1/Δ2 ≥ x_lo at which a stable ML root r has ∂_tΣ(r, 2) < 0, i.e. the isolated ML
    minimum is surrounded by a window of marginal (t = 2) minima with Σ_min > 0; −inf if none."""
    def dmin(x):
        vals = [_dsig_at_2(r, p, 1.0 / x, delta_p) for r in stable_ml_roots(p, 1.0 / x, delta_p)]
        return min(vals) if vals else 1.0
    xs = x_lo * np.geomspace(1.0, 64.0, 97)
    d = np.array([dmin(x) for x in xs])
    neg = np.nonzero(d < 0)[0]
    if len(neg) == 0:
        return -math.inf
    j = neg[-1]
    if j == len(xs) - 1:
        return math.inf
    return brentq(dmin, xs[j], xs[j + 1], xtol=1e-13, rtol=1e-13)


def inv_delta2_triv_allm(p, delta_p, exclude=None, rtol=1e-9):
    """1/Δ2 above which no exponentially numerous minima remain at any m (module docstring;
    spiked.md §4.3 correction paragraph). Vectorised over Δp. Equal to ``inv_delta2_triv`` for
    even p (checked numerically, e.g. p = 4, Δp = 1).

    Default (``exclude=None``; the ``inv_delta2_triv_allm`` of ``spiked.theory``): strict count,
    every m: the maximum of
    (i) the smallest x with max_m Σ_min(m; x) ≤ POSITIVE_TOL over m outside |m − r| < 0.005 of the
        ML roots r (bisection on that predicate, from the m = 0 line, which it can only exceed);
        for odd p these are the minima at small negative m of spiked.md §4.3;
    (ii) the x where the window of marginal (t = 2) minima around a stable ML root closes: for odd
        p the negative root m_− is, below that x, inside a band of marginal minima with
        Σ_min > 0 (Σ_min(m_−) = Σ(m_−, 2) > Σ(m_−, t_ML) = 0); the band closes exactly where
        ∂_tΣ(m_−, 2) = 0 (the ML point m_− stops being marginal), solved with brentq.
    p = 3, Δp = 1: (i) 2.56530 (the value quoted in spiked.md §4.3), (ii) 2.61347 → 2.61347.
    With ``exclude = 0.02`` only (i) (with that exclusion width) is returned: the spiked.md
    variant. At small Δp (≲ 0.5) the window (ii) is wide (e.g. m ∈ m_− ± 0.002 at Δp = 0.2,
    1/Δ2 = 6.6) and dominates."""
    def line_i(dp, excl):
        lo = float(inv_delta2_triv(p, dp))
        def pos(x):
            v = sigma_min_scan(p, 1.0 / x, dp, excl, refine=False)[0]
            if v > POSITIVE_TOL or v < -1e-5:  # refinement moves the grid maximum by far less
                return v > POSITIVE_TOL
            return sigma_min_scan(p, 1.0 / x, dp, excl)[0] > POSITIVE_TOL
        if not pos(lo * (1 + 1e-9)):
            return lo
        hi = lo * 1.25
        while pos(hi):
            lo, hi = hi, hi * 1.25
        while hi - lo > rtol * hi:
            mid = 0.5 * (lo + hi)
            if pos(mid):
                lo = mid
            else:
                hi = mid
        return 0.5 * (lo + hi)

    def one(dp):
        if exclude is not None:
            return line_i(dp, exclude)
        x1 = line_i(dp, 0.005)
        x2 = _marginal_window_line(p, dp, float(inv_delta2_triv(p, dp)))
        return max(x1, x2)

    out = np.vectorize(one, otypes=[float])(delta_p)
    return float(out) if out.ndim == 0 else out


# ------------------------------------------------------------------------------ pure p-spin, §7
def pspin_E_inf(p):
    """E_∞(p) = 2√((p−1)/p): threshold energy (ABC normalisation, ξ(q) = q^p; spiked.md §7)."""
    return 2.0 * math.sqrt((p - 1) / p)


def pspin_abc_minima_complexity(u, p):
    """ABC complexity of minima Θ_{0,p}(u) = ½log(p−1) − (p−2)u²/(4(p−1)) − I1(u), u ≤ −E_∞,
    I1(u) = −(u/E_∞²)√(u² − E_∞²) − log(−u + √(u² − E_∞²)) + log E_∞ (spiked.md §7)."""
    E = pspin_E_inf(p)
    u = np.asarray(u, dtype=float)
    s = np.sqrt(np.maximum(u * u - E * E, 0.0))
    I1 = -(u / E ** 2) * s - np.log(-u + s) + math.log(E)
    return 0.5 * math.log(p - 1) - (p - 2) * u * u / (4 * (p - 1)) - I1


def pspin_kr_minima_complexity(u, p):
    """The same quantity from the Kac–Rice formula of §4.3 with no signal: 1/Δ2 → 0, m = 0,
    Δp = 1/p (so Q(q) = q^p, the ABC normalisation), energy per spin u = εp, t = −pu/√(p(p−1))."""
    u = np.asarray(u, dtype=float)
    t = -p * u / math.sqrt(p * (p - 1))
    return 0.5 * math.log(p - 1) - t * t * (p - 1) / (2.0 * p) + phi_t(t)


def pspin_E0(p):
    """Ground-state energy E_0(p) (minus energy per spin): zero of Θ_{0,p}(−E) for E > E_∞.
    E_0(3) = 1.6569984 (spiked.md §7)."""
    E = pspin_E_inf(p)
    f = lambda e: float(pspin_abc_minima_complexity(-e, p))
    return brentq(f, E, 2 * E + 2, xtol=1e-15, rtol=1e-15)


def pspin_total_complexity(p):
    """Total complexity of critical points ½log(p−1) (max over t of the all-index Kac–Rice
    exponent, attained at t = 0)."""
    return 0.5 * math.log(p - 1)


def pspin_threshold_minima_complexity(p):
    """Complexity of minima at the threshold E_∞: 1 + ½log(p−1) − 2(p−1)/p [D, spiked.md §7]."""
    return 1.0 + 0.5 * math.log(p - 1) - 2.0 * (p - 1) / p
