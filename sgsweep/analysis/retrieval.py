"""Products of ``retrieval.sim`` sweeps: success probabilities, crossing points, theory lines.

* ``success``: per grid point, number of runs, successes, the success probability and its
  Clopper–Pearson (exact binomial) central interval at one sigma (68.27 %) and at 95 %, and the
  median time to success of the successful runs.
* ``thresholds``: along the ``alpha`` axis, for every combination of the other grid axes, the α at
  which success crosses ½: maximum-likelihood logistic fit in log α,
      P(success | α) = 1 / (1 + exp(−(ln α − ln α½)/s)),
  binomial likelihood over the runs; error = standard deviation over a bootstrap that resamples the
  runs of every α (``n_boot``, seeded), plus a model-free crossing (linear interpolation of the
  measured probabilities). ``s`` is the width of the rise (in ln α), with its bootstrap error: a
  rise sharper with d is a width decreasing with d. When ``d`` is a grid axis, the finite-size
  trend α½(d) = α½(∞) + b / ln d is fitted by weighted least squares (SBCKUZ20 and arXiv:2403.02418
  report logarithmic finite-size corrections; note §8.1). Theory lines as scalar variables with
  their citations (:mod:`sgsweep.retrieval.theory`).
"""

from __future__ import annotations

import json

import numpy as np
import xarray as xr
from scipy import stats

from sgsweep.analysis.binomial import ONE_SIGMA, fit_curve
from sgsweep.analysis.registry import product
from sgsweep.retrieval import theory

N_BOOT = 200


# ------------------------------------------------------------------------------------ helpers
def clopper_pearson(k, n, level=ONE_SIGMA):
    """Exact central binomial interval (arrays OK); NaN where n = 0."""
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    a = (1.0 - level) / 2.0
    with np.errstate(invalid="ignore", divide="ignore"):
        lo = np.where(k > 0, stats.beta.ppf(a, k, n - k + 1), 0.0)
        hi = np.where(k < n, stats.beta.ppf(1 - a, k + 1, n - k), 1.0)
    bad = n <= 0
    return np.where(bad, np.nan, lo), np.where(bad, np.nan, hi)


def fit_logistic(alpha, k, n):
    """ML logistic fit in ln α (:func:`sgsweep.analysis.binomial.fit_curve`): returns (α½, width s),
    or (nan, nan) if the data do not bracket ½."""
    alpha, k, n = (np.asarray(v, dtype=float) for v in (alpha, k, n))
    ok = n > 0
    alpha, k, n = alpha[ok], k[ok], n[ok]
    if len(alpha) < 2:
        return np.nan, np.nan
    p = k / n
    if not (np.any(p < 0.5) and np.any(p > 0.5)) and not np.any(p == 0.5):
        return np.nan, np.nan
    x0, s, _plateau, status = fit_curve(np.log(alpha), k, n)
    if status != "ok":
        return np.nan, np.nan
    return float(np.exp(x0)), float(s)


def _interp_half(x, p):
    """First crossing of ½ by linear interpolation of p(x) (x sorted), NaN if none."""
    order = np.argsort(x)
    x, p = x[order], p[order]
    for i in range(len(x) - 1):
        if (p[i] - 0.5) * (p[i + 1] - 0.5) <= 0 and p[i] != p[i + 1]:
            return x[i] + (0.5 - p[i]) * (x[i + 1] - x[i]) / (p[i + 1] - p[i])
    return np.nan


def crossing(alpha, k, n, n_boot=N_BOOT, seed=0):
    """(α½, err, 16%, 84%, s, s_err, α½ interpolated, status) for one curve."""
    alpha, k, n = (np.asarray(v, dtype=float) for v in (alpha, k, n))
    a_half, s = fit_logistic(alpha, k, n)
    ok = n > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        interp = _interp_half(np.log(alpha[ok]), k[ok] / n[ok])
    interp = float(np.exp(interp)) if np.isfinite(interp) else np.nan
    if not np.isfinite(a_half):
        p = k[ok] / n[ok] if ok.any() else np.array([])
        status = "no_data" if not ok.any() else ("below_half" if np.all(p < 0.5) else "above_half")
        return np.nan, np.nan, np.nan, np.nan, np.nan, np.nan, interp, status
    gen = np.random.default_rng(seed)
    p = np.where(n > 0, k / np.maximum(n, 1), 0.0)
    boots, widths = [], []
    for _ in range(n_boot):
        kb = gen.binomial(n.astype(np.int64), p)
        ab, sb = fit_logistic(alpha, kb, n)
        if np.isfinite(ab):
            boots.append(ab)
            widths.append(sb)
    if len(boots) < max(10, n_boot // 4):
        return a_half, np.nan, np.nan, np.nan, s, np.nan, interp, "bootstrap_failed"
    boots = np.array(boots)
    return (a_half, float(np.std(boots, ddof=1)), float(np.percentile(boots, 15.865)),
            float(np.percentile(boots, 84.135)), s, float(np.std(widths, ddof=1)), interp, "ok")


def _counts(agg: xr.Dataset) -> tuple[xr.DataArray, xr.DataArray, xr.DataArray]:
    """(k successes, n valid runs, median time to success) over the run dim."""
    final = agg["overlap"].isel(time=-1)
    valid = np.isfinite(final)
    if "status" in agg:
        good = xr.apply_ufunc(np.vectorize(lambda s: str(s) in ("ok", "converged")), agg["status"])
        valid = valid & good
    succ = agg["success"].astype(float).where(valid, 0.0)
    k = succ.sum("run")
    n = valid.sum("run")
    ts = agg["t_success"].where(valid & (succ > 0))
    return k, n, ts.median("run", skipna=True)


def _theory_vars() -> dict:
    out = {}
    for name, (value, desc, cite) in theory.thresholds().items():
        attrs = {"units": "1", "long_name": desc, "references": cite}
        if name == "alpha_amp":
            attrs["comment"] = ("fixed point of the Bayes-optimal AMP state evolution, Gaussian prior, "
                                "channel y=|z|: max_q q/((1-q) I(q)); 1.1291 (161 Gauss-Hermite nodes), 1.1286 (241)")
        out[name] = xr.DataArray(value, attrs=attrs)
    return out


# ------------------------------------------------------------------------------------ products
@product("retrieval.sim", "success")
def success_product(agg: xr.Dataset, sweep: dict) -> xr.Dataset:
    k, n, tmed = _counts(agg)
    lo, hi = clopper_pearson(k.values, n.values)
    lo95, hi95 = clopper_pearson(k.values, n.values, 0.95)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(n.values > 0, k.values / np.maximum(n.values, 1), np.nan)
    dims = k.dims
    keep = {c: agg.coords[c] for c in agg.coords if "run" not in agg.coords[c].dims and "time" not in agg.coords[c].dims}
    ds = xr.Dataset(
        {
            "n_runs": (dims, n.values.astype(np.int64), {"units": "1", "long_name": "valid runs"}),
            "n_success": (dims, k.values.astype(np.int64), {"units": "1", "long_name": "successful runs"}),
            "success_probability": (dims, p, {"units": "1", "long_name": "success probability"}),
            "ci_low": (dims, lo, {"units": "1", "long_name": "Clopper-Pearson one-sigma lower bound"}),
            "ci_high": (dims, hi, {"units": "1", "long_name": "Clopper-Pearson one-sigma upper bound"}),
            "ci95_low": (dims, lo95, {"units": "1", "long_name": "Clopper-Pearson 95% lower bound"}),
            "ci95_high": (dims, hi95, {"units": "1", "long_name": "Clopper-Pearson 95% upper bound"}),
            "t_success_median": (dims, tmed.values, {"units": "1",
                                                     "long_name": "median time to success of successful runs"}),
        },
        coords=keep,
    )
    ds.attrs["confidence_level"] = ONE_SIGMA
    ds.attrs["method"] = "retrieval.sim"
    ds.attrs["sweep"] = json.dumps(sweep, default=str) if not isinstance(sweep, str) else sweep
    ds.attrs["status"] = "ok"
    return ds


@product("retrieval.sim", "thresholds")
def thresholds_product(agg: xr.Dataset, sweep: dict) -> xr.Dataset:
    if "alpha" not in agg.dims:
        raise ValueError("retrieval thresholds need alpha as a grid axis")
    k, n, _ = _counts(agg)
    others = [dname for dname in k.dims if dname != "alpha"]
    k = k.transpose(*others, "alpha")
    n = n.transpose(*others, "alpha")
    shape = tuple(k.sizes[o] for o in others)
    names = ("alpha_half", "alpha_half_err", "alpha_half_p16", "alpha_half_p84", "width", "width_err",
             "alpha_half_interp")
    res = {nm: np.full(shape, np.nan) for nm in names}
    status = np.empty(shape, dtype=object)
    alpha = agg["alpha"].values
    seed = int((sweep or {}).get("seed", 0)) if isinstance(sweep, dict) else 0
    for j, idx in enumerate(np.ndindex(*shape) if shape else [()]):
        out = crossing(alpha, k.values[idx], n.values[idx], seed=seed + j)
        for nm, v in zip(names, out[:7]):
            res[nm][idx] = v
        status[idx] = out[7]
    attrs = {
        "alpha_half": {"long_name": "alpha at which success crosses 1/2 (logistic ML fit in ln alpha)"},
        "alpha_half_err": {"long_name": "bootstrap standard deviation of alpha_half"},
        "alpha_half_p16": {"long_name": "bootstrap 15.9 percentile of alpha_half"},
        "alpha_half_p84": {"long_name": "bootstrap 84.1 percentile of alpha_half"},
        "width": {"long_name": "width s of the logistic rise in ln alpha (smaller = sharper)"},
        "width_err": {"long_name": "bootstrap standard deviation of width"},
        "alpha_half_interp": {"long_name": "alpha at which the measured success crosses 1/2 (linear interpolation)"},
    }
    coords = {o: agg.coords[o] for o in others}
    for c in agg.coords:
        if c not in coords and agg.coords[c].ndim == 0:
            coords[c] = agg.coords[c]
    ds = xr.Dataset({nm: (tuple(others), res[nm], {"units": "1", **attrs[nm]}) for nm in names}, coords=coords)
    ds["fit_status"] = (tuple(others), status.astype(str), {"long_name": "ok / below_half / above_half / no_data / bootstrap_failed"})
    ds.attrs["n_boot"] = N_BOOT
    # finite-size trend in d
    if "d" in others:
        rest = [o for o in others if o != "d"]
        sub = ds[["alpha_half", "alpha_half_err"]].transpose(*rest, "d")
        dvals = ds["d"].values.astype(float)
        rshape = tuple(sub.sizes[o] for o in rest)
        ainf, ainf_err, slope, slope_err = (np.full(rshape, np.nan) for _ in range(4))
        for idx in np.ndindex(*rshape) if rshape else [()]:
            y = sub["alpha_half"].values[idx]
            e = sub["alpha_half_err"].values[idx]
            ok = np.isfinite(y) & np.isfinite(e) & (e > 0)
            if ok.sum() >= 2:
                X = np.column_stack([np.ones(ok.sum()), 1.0 / np.log(dvals[ok])])
                w = 1.0 / e[ok] ** 2
                cov = np.linalg.inv(X.T @ (X * w[:, None]))
                beta = cov @ (X.T @ (w * y[ok]))
                ainf[idx], slope[idx] = beta
                ainf_err[idx], slope_err[idx] = np.sqrt(np.diag(cov))
        for nm, arr, ln in (("alpha_half_inf", ainf, "extrapolation d -> inf of alpha_half = a + b/ln d"),
                            ("alpha_half_inf_err", ainf_err, "standard error of alpha_half_inf"),
                            ("trend_slope", slope, "b in alpha_half = a + b/ln d"),
                            ("trend_slope_err", slope_err, "standard error of trend_slope")):
            ds[nm] = (tuple(rest), arr, {"units": "1", "long_name": ln})
    for nm, da in _theory_vars().items():
        ds[nm] = da
    ds.attrs["method"] = "retrieval.sim"
    ds.attrs["sweep"] = json.dumps(sweep, default=str) if not isinstance(sweep, str) else sweep
    ds.attrs["status"] = "ok"
    ds.attrs["fit"] = "P(success) = 1/(1+exp(-(ln alpha - ln alpha_half)/width)), binomial ML; run bootstrap"
    return ds
