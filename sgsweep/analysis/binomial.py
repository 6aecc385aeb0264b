"""Success probabilities: binomial confidence intervals and a logistic threshold fit with bootstrap.

Shared by every family whose sweeps count successes over replicas (spiked GF/Langevin success,
phase-retrieval recovery).

* :func:`wilson_interval`: Wilson score interval (Wilson, JASA 22, 209 (1927)); well behaved at
  k = 0 and k = n, unlike the normal approximation.
* :func:`fit_threshold`: maximum-likelihood logistic curve P(x) = A/(1 + exp(-(x - x0)/w)) through
  binomial counts (k_i successes out of n_i at x_i); x0 is the midpoint of the rise. The plateau A
  is 1 unless ``free_plateau`` (it is fitted in [0.05, 1] where a fraction of the replicas fails at
  any signal strength, e.g. the spiked p=3 gradient flow started at small positive overlap that
  still ends in a negative-overlap minimum).
* :func:`bootstrap_threshold`: percentile interval of x0 from resampling each point's replicas
  (k*_i ~ Binomial(n_i, k_i/n_i)), with its own seeded generator so the interval is reproducible.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize, special, stats

#: one-sigma coverage, used for error bars and threshold intervals unless stated otherwise
ONE_SIGMA = 0.6826894921370859


def wilson_interval(k, n, level: float = ONE_SIGMA):
    """Wilson score interval of a binomial proportion; NaN where n = 0."""
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    z = stats.norm.ppf(0.5 + level / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        denom = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    lo = np.where(k <= 0, 0.0, np.clip(centre - half, 0, 1))  # exact at the edges
    hi = np.where(k >= n, 1.0, np.clip(centre + half, 0, 1))
    return np.where(n > 0, lo, np.nan), np.where(n > 0, hi, np.nan)


def logistic(x, x0, w, plateau=1.0):
    return plateau * special.expit((np.asarray(x, dtype=float) - x0) / w)


def _nll(theta, x, k, n):
    x0, logw = theta[:2]
    z = (x - x0) / math.exp(logw)
    if len(theta) == 2:
        # log P = -log(1+e^-z), log(1-P) = -log(1+e^z)
        return float(np.sum(k * np.logaddexp(0, -z) + (n - k) * np.logaddexp(0, z)))
    P = theta[2] * special.expit(z)
    P = np.clip(P, 1e-300, 1 - 1e-16)
    return float(-np.sum(k * np.log(P) + (n - k) * np.log1p(-P)))


def fit_threshold(x, k, n, increasing: bool = True, free_plateau: bool = False) -> tuple[float, float, str]:
    """MLE ``(x0, w, status)`` of a logistic success curve; status "ok", "all_success",
    "no_success" or "failed" (x0 = NaN unless ok). ``increasing=False`` fits a decreasing curve.
    :func:`fit_curve` also returns the plateau."""
    x0, w, _a, st = fit_curve(x, k, n, increasing, free_plateau)
    return x0, w, st


def fit_curve(x, k, n, increasing: bool = True, free_plateau: bool = False) -> tuple[float, float, float, str]:
    """``(x0, w, plateau, status)``: see :func:`fit_threshold`."""
    x = np.asarray(x, dtype=float)
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    keep = n > 0
    x, k, n = x[keep], k[keep], n[keep]
    if x.size < 2:
        return math.nan, math.nan, math.nan, "failed"
    if not increasing:
        x = -x
    if k.sum() == 0:
        return math.nan, math.nan, math.nan, "no_success"
    if k.sum() == n.sum():
        return math.nan, math.nan, math.nan, "all_success"
    order = np.argsort(x)
    x, k, n = x[order], k[order], n[order]
    span = x[-1] - x[0]
    p = k / n
    # start: first crossing of half the largest fraction, by linear interpolation
    half = 0.5 * p.max() if free_plateau else 0.5
    above = np.nonzero(p >= half)[0]
    x0 = x[above[0]] if above.size else x[-1]
    if above.size and above[0] > 0:
        i = above[0]
        x0 = x[i - 1] + (half - p[i - 1]) * (x[i] - x[i - 1]) / max(p[i] - p[i - 1], 1e-12)
    wmin = 1e-3 * span / max(len(x), 2)  # perfectly separated data: width pinned at this floor
    start = [x0, math.log(span / 10)]
    bounds = [(x[0] - span, x[-1] + span), (math.log(wmin), math.log(10 * span))]
    if free_plateau:
        start.append(max(min(float(p.max()), 1.0), 0.1))
        bounds.append((0.05, 1.0))
    res = optimize.minimize(_nll, start, args=(x, k, n), method="L-BFGS-B", bounds=bounds)
    if not np.isfinite(res.fun):
        return math.nan, math.nan, math.nan, "failed"
    x0, w = float(res.x[0]), float(math.exp(res.x[1]))
    plateau = float(res.x[2]) if free_plateau else 1.0
    if not increasing:
        x0 = -x0
    return x0, w, plateau, "ok"


def bootstrap_threshold(x, k, n, rng: np.random.Generator, resamples: int = 400, level: float = ONE_SIGMA, increasing: bool = True, free_plateau: bool = False):
    """Percentile interval ``(low, high)`` of the fitted threshold under replica resampling."""
    x = np.asarray(x, dtype=float)
    k = np.asarray(k, dtype=int)
    n = np.asarray(n, dtype=int)
    p = np.where(n > 0, k / np.maximum(n, 1), 0.0)
    vals = []
    for _ in range(resamples):
        kb = rng.binomial(n, p)
        x0, _w, st = fit_threshold(x, kb, n, increasing, free_plateau)
        if st == "ok":
            vals.append(x0)
    if len(vals) < resamples // 2:
        return math.nan, math.nan
    a = (1 - level) / 2
    return float(np.quantile(vals, a)), float(np.quantile(vals, 1 - a))
