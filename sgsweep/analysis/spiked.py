"""Threshold curves of finite-N spiked simulations: success probability vs 1/Δ2 and fitted thresholds.

Product ``thresholds`` of ``spiked.sim`` sweeps. For every combination of the sweep's other axes
(typically Δp and N) it counts successes over samples at each 1/Δ2 (success as defined by the
method and recorded in ``success_definition``: final overlap above half the target m_ML (T=0) or
m_BO (T>0)), gives Wilson one-sigma intervals, fits a logistic curve in 1/Δ2 by maximum likelihood
(with a fitted plateau A <= 1: for odd p a finite fraction of random starts ends in the
negative-overlap minimum whatever 1/Δ2, spiked.md §5) and reports its midpoint 1/Δ2* with a bootstrap interval (replicas resampled, 400 times, seeded
from the sweep's seed). The closed-form conjecture at the same Δp (GF for T=0, Langevin for T>0,
spiked.md §4.4) is stored beside it for comparison.
"""

from __future__ import annotations

import itertools
import json

import numpy as np
import xarray as xr

from ..spiked import theory
from .binomial import ONE_SIGMA, bootstrap_threshold, fit_curve, wilson_interval
from .registry import product


def delta2_axis(agg: xr.Dataset, sweep: dict) -> str:
    for axis in sweep["axes"]:
        if sweep["axis_params"][axis] == "delta2":
            return axis
    raise ValueError(f"sweep {sweep['name']}: thresholds need a grid axis over delta2 or inv_delta2")


def _value(agg: xr.Dataset, name: str, sel: dict):
    c = agg.coords[name]
    return float(c.sel({k: v for k, v in sel.items() if k in c.dims}).values)


@product("spiked.sim", "thresholds")
def sim_thresholds(agg: xr.Dataset, sweep: dict) -> xr.Dataset:
    xaxis = delta2_axis(agg, sweep)
    others = [a for a in sweep["axes"] if a != xaxis]
    x_all = 1.0 / np.asarray(agg["delta2"].values, dtype=float)
    order = np.argsort(x_all)
    x = x_all[order]
    success = agg["success"].isel({xaxis: order})
    ok = agg["status"].isel({xaxis: order}) != "failed"
    counts = success.where(ok).sum("sample", skipna=True)  # failed points count as n = 0
    n = success.where(ok).notnull().sum("sample")
    lo, hi = wilson_interval(counts.values, n.values)
    shape = [agg.sizes[a] for a in others]
    thr = np.full(shape, np.nan)
    thr_lo = np.full(shape, np.nan)
    thr_hi = np.full(shape, np.nan)
    width = np.full(shape, np.nan)
    plateau = np.full(shape, np.nan)
    closed = np.full(shape, np.nan)
    fit_status = np.empty(shape, dtype=object)
    rng = np.random.default_rng(np.random.SeedSequence([int(sweep.get("seed", 0)), 0x7468726573]))  # "thres"
    for idx in itertools.product(*[range(s) for s in shape]):
        sel = {a: i for a, i in zip(others, idx)}
        k = counts.isel(sel).transpose(xaxis).values
        nn = n.isel(sel).transpose(xaxis).values
        x0, w, a, st = fit_curve(x, k, nn, free_plateau=True)
        fit_status[idx] = st
        if st == "ok":
            thr[idx], width[idx], plateau[idx] = x0, w, a
            thr_lo[idx], thr_hi[idx] = bootstrap_threshold(x, k, nn, rng, free_plateau=True)
        csel = {a: agg[a].values[i] for a, i in zip(others, idx)}
        p = int(_value(agg, "p", csel))
        dp = _value(agg, "delta_p", csel)
        T = _value(agg, "T", csel)
        closed[idx] = theory.inv_delta2_gf(p, dp) if T == 0 else theory.inv_delta2_langevin(p, dp, T)
    coords = {a: agg[a] for a in others}
    coords["inv_delta2"] = xr.Variable(("inv_delta2",), x, {"units": "1", "long_name": "1/Δ2, inverse matrix noise variance"})
    for name in ("p", "T", "delta_p", "N"):
        if name in agg.coords and agg.coords[name].ndim == 0:
            coords[name] = agg.coords[name]
    dims_x = tuple(others) + ("inv_delta2",)

    def along_x(da):
        da = da.rename({xaxis: "inv_delta2"}) if xaxis != "inv_delta2" else da
        return da.drop_vars([c for c in da.coords if c not in da.dims]).transpose(*dims_x).values

    ds = xr.Dataset(
        {
            "success_probability": (dims_x, along_x(counts / n), {"units": "1", "long_name": "fraction of samples that succeed"}),
            "success_count": (dims_x, along_x(counts).astype(int), {"units": "1", "long_name": "number of successful samples"}),
            "samples": (dims_x, along_x(n).astype(int), {"units": "1", "long_name": "number of samples (failed points excluded)"}),
            "success_low": (dims_x, _reorder(lo, counts, xaxis, dims_x), {"units": "1", "long_name": "Wilson one-sigma lower bound"}),
            "success_high": (dims_x, _reorder(hi, counts, xaxis, dims_x), {"units": "1", "long_name": "Wilson one-sigma upper bound"}),
            "inv_delta2_threshold": (tuple(others), thr, {"units": "1", "long_name": "fitted 1/Δ2 where the success probability is 1/2"}),
            "inv_delta2_threshold_low": (tuple(others), thr_lo, {"units": "1", "long_name": "bootstrap lower bound of the threshold"}),
            "inv_delta2_threshold_high": (tuple(others), thr_hi, {"units": "1", "long_name": "bootstrap upper bound of the threshold"}),
            "transition_width": (tuple(others), width, {"units": "1", "long_name": "logistic width w of the success curve in 1/Δ2"}),
            "success_plateau": (tuple(others), plateau, {"units": "1", "long_name": "fitted large-1/Δ2 success probability A"}),
            "inv_delta2_closed_form": (tuple(others), closed, {"units": "1", "long_name": "closed-form conjecture (GF for T=0, Langevin for T>0; spiked.md §4.4)"}),
            "fit_status": (tuple(others), fit_status, {"long_name": "ok, no_success, all_success or failed"}),
        },
        coords=coords,
    )
    ds.attrs = {
        "title": f"success probability and thresholds of sweep {sweep['name']}",
        "success_definition": agg.attrs.get("success_definition", "see spiked.sim"),
        "threshold_definition": (
            "midpoint x0 of the maximum-likelihood logistic fit P(x) = A/(1+exp(-(x-x0)/w)), x = 1/Δ2, to the "
            "binomial counts; the plateau A <= 1 is fitted because for odd p a fraction of random starts "
            "(even conditioned on C̄(0) > 0) ends in a negative-overlap minimum at any signal strength"
        ),
        "interval_level": ONE_SIGMA,
        "interval_method": "success: Wilson score; threshold: percentile bootstrap, 400 binomial resamples of each point's samples",
        "sweep": json.dumps(sweep, sort_keys=True),
    }
    return ds


def _reorder(arr: np.ndarray, like: xr.DataArray, xaxis: str, dims_x: tuple) -> np.ndarray:
    da = xr.DataArray(arr, dims=like.dims)
    da = da.rename({xaxis: "inv_delta2"}) if xaxis != "inv_delta2" else da
    return da.transpose(*dims_x).values
