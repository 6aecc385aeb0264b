"""Thresholds from DMFT convergence times (spiked.md §3).

Product ``thresholds`` of ``spiked.dmft`` sweeps: for every Δp (and any other non-1/Δ2 axis), fit

    t_conv(x) = A (x − x*)^(−γ) + B,       x = 1/Δ2,  B ≥ 0 absorbs the escape time log(1/C̄(0))/rate,

on the points where C̄ reached half its target (finite ``t_conv``), by least squares on log t_conv
(scipy ``least_squares``; x* < min x, γ > 0). With fewer than 5 points B is fixed to 0. The error of
1/Δ2* is the square root of the diagonal of the Gauss–Newton covariance (J^T J)^{-1} s², s² the
residual variance. The closed-form conjecture of spiked.md §4.4 at the sweep's T
(:func:`sgsweep.spiked.theory.inv_delta2_langevin`; T = 0: (1 + √(1 + 4(p−1)/Δp))/2) is stored
beside it. Caveat (measured, p=3, Δp=1, T=0): the extracted value depends on C̄(0). The escape also happens
below the threshold when C̄(0) is not small: from C̄(0) = 1e-4, t_conv = 1585 / 447 / 210 at
1/Δ2 = 1.8 / 1.9 / 2.0 (Nt = 256), and the fit over 1/Δ2 ∈ [2.1, 4] gives 1.760 ± 0.003. From C̄(0) = 1e-15 (the
reference T=0 code's value, and the default sweep's) the fit over [2.2, 4] gives 1.960 ± 0.002 at
Nt = 512 (conjecture 2). The quoted error is the fit's statistical error only: it does not cover
the 2 % offset from the conjecture (finite C̄(0), the fit form, the solver: t_conv changes by
up to 1.5 % between Nt = 256 and 512). When the points carry the grid check of ``spiked.dmft``
(``t_conv_grid_diff``), the fit on the Nt and on the Nt/2 convergence times, both over the points
where both are finite, gives ``inv_delta2_threshold_grid_diff`` = 1/Δ2*(Nt) − 1/Δ2*(Nt/2), the
grid's share of that systematic error, stored beside the statistical one.
"""

from __future__ import annotations

import json

import numpy as np
import xarray as xr
from scipy.optimize import least_squares

from sgsweep.analysis.registry import product


def scalar_coord(name: str, *datasets, default: float = np.nan) -> float:
    """Value of the scalar coordinate ``name`` in the first dataset that has one, else ``default``
    (a point selected from a stacked aggregate first, then the aggregate's fixed parameters)."""
    for ds in datasets:
        if name in ds.coords and ds[name].ndim == 0:
            return float(ds[name].values)
    return default


def stack_points(da, dims: list):
    """``da`` with the grid axes ``dims`` stacked into one axis ``_pt`` (a length-1 ``_pt`` when
    there are none), so that per-point loops read the same either way."""
    return da.stack(_pt=dims) if dims else da.expand_dims(_pt=[0])


def fit_threshold(x: np.ndarray, tconv: np.ndarray, with_offset: bool | None = None) -> dict:
    """Fit t = A (x − x*)^(−γ) + B; returns dict(x_star, x_star_err, gamma, gamma_err, A, B, n)."""
    x = np.asarray(x, float)
    t = np.asarray(tconv, float)
    ok = np.isfinite(t) & np.isfinite(x) & (t > 0)
    x, t = x[ok], t[ok]
    nan = dict(x_star=np.nan, x_star_err=np.nan, gamma=np.nan, gamma_err=np.nan, A=np.nan, B=np.nan, n=len(x))
    if len(x) < 3:
        return nan
    if with_offset is None:
        with_offset = len(x) >= 5
    xmin = x.min()
    span = max(x.max() - xmin, 1e-3)

    def model(q, xx):
        xs, lg, lA = q[0], q[1], q[2]
        B = q[3] if with_offset else 0.0
        return np.exp(lA) * (xx - xs) ** (-np.exp(lg)) + B

    def resid(q):
        return np.log(model(q, x)) - np.log(t)

    best = None
    for d in (0.02, 0.1, 0.3, 1.0):
        q0 = [xmin - d * span, 0.0, np.log(np.median(t) * (d * span) ** 1.0)]
        lo = [xmin - 10 * span - 10, -5.0, -50.0]
        hi = [xmin - 1e-9, 3.0, 50.0]
        if with_offset:
            q0.append(0.5 * t.min())
            lo.append(0.0)
            hi.append(t.min())
        try:
            r = least_squares(resid, q0, bounds=(lo, hi))
        except (ValueError, FloatingPointError):
            continue
        if best is None or r.cost < best.cost:
            best = r
    if best is None:
        return nan
    J = best.jac
    dof = max(len(x) - len(best.x), 1)
    s2 = 2 * best.cost / dof
    try:
        cov = np.linalg.pinv(J.T @ J) * s2
        err = np.sqrt(np.abs(np.diag(cov)))
    except np.linalg.LinAlgError:
        err = np.full(len(best.x), np.nan)
    g = np.exp(best.x[1])
    return dict(x_star=float(best.x[0]), x_star_err=float(err[0]), gamma=float(g),
                gamma_err=float(g * err[1]), A=float(np.exp(best.x[2])),
                B=float(best.x[3]) if with_offset else 0.0, n=int(len(x)))


@product("spiked.dmft", "thresholds")
def dmft_thresholds(agg: xr.Dataset, sweep: dict) -> xr.Dataset:
    """Per Δp (and other axes): 1/Δ2* from the t_conv divergence, with error and the conjecture."""
    from sgsweep.spiked.theory import inv_delta2_langevin

    if "inv_delta2" in agg.dims:
        xdim = "inv_delta2"
        xs = agg["inv_delta2"].values
    elif "delta2" in agg.dims:
        xdim = "delta2"
        xs = 1.0 / agg["delta2"].values
    else:
        raise ValueError("spiked.dmft thresholds need an inv_delta2 (or delta2) axis")
    tc = agg["t_conv"]
    other = [d for d in tc.dims if d != xdim]
    stacked = stack_points(tc, other)
    coarse = None
    if "t_conv_grid_diff" in agg:
        # t_conv on the Nt/2 window of the grid check
        tc2 = agg["t_conv"] - agg["t_conv_grid_diff"]
        coarse = stack_points(tc2, other)
    res = {k: [] for k in ("inv_delta2_threshold", "inv_delta2_threshold_err", "gamma", "gamma_err",
                           "amplitude", "offset", "n_points", "inv_delta2_conjecture")}
    if coarse is not None:
        res["inv_delta2_threshold_grid_diff"] = []
    for k in range(stacked.sizes["_pt"]):
        sel = stacked.isel(_pt=k)
        f = fit_threshold(xs, sel.transpose(xdim).values)
        if coarse is not None:
            # both fits on the points where both windows reached the target (a late escape can
            # diverge on the Nt/2 window), so that the shift is the grid's and not the point set's
            fine_t, coarse_t = sel.transpose(xdim).values, coarse.isel(_pt=k).transpose(xdim).values
            both = np.isfinite(fine_t) & np.isfinite(coarse_t)
            # (the same point set as the main fit when every point converged on both windows)
            f1 = f if both.all() else fit_threshold(xs[both], fine_t[both])
            f2 = fit_threshold(xs[both], coarse_t[both])
            res["inv_delta2_threshold_grid_diff"].append(f1["x_star"] - f2["x_star"])
        res["inv_delta2_threshold"].append(f["x_star"])
        res["inv_delta2_threshold_err"].append(f["x_star_err"])
        res["gamma"].append(f["gamma"])
        res["gamma_err"].append(f["gamma_err"])
        res["amplitude"].append(f["A"])
        res["offset"].append(f["B"])
        res["n_points"].append(f["n"])

        p = int(scalar_coord("p", sel, agg, default=3))
        T = scalar_coord("T", sel, agg, default=1.0)
        dp = scalar_coord("delta_p", sel, agg)
        res["inv_delta2_conjecture"].append(float(inv_delta2_langevin(p, dp, T)) if np.isfinite(dp) else np.nan)
    attrs = {
        "inv_delta2_threshold": ("1/Δ2* from t_conv = A(1/Δ2 − 1/Δ2*)^(−γ) + B", "1"),
        "inv_delta2_threshold_err": ("fit standard error of 1/Δ2*", "1"),
        "gamma": ("divergence exponent γ", "1"),
        "gamma_err": ("fit standard error of γ", "1"),
        "amplitude": ("A", "1"),
        "offset": ("B (escape-time offset; 0 when fewer than 5 points)", "1"),
        "n_points": ("number of points with finite t_conv used in the fit", "1"),
        "inv_delta2_conjecture": ("closed-form conjecture of spiked.md §4.4 at the sweep's T", "1"),
        "inv_delta2_threshold_grid_diff": (("1/Δ2*(Nt) − 1/Δ2*(Nt/2): the fit on the convergence times of the "
                                            "Nt and of the grid check's Nt/2 window, over the points where "
                                            "both are finite"), "1"),
    }
    if other:
        coords = {"_pt": stacked["_pt"]}
        ds = xr.Dataset({k: ("_pt", np.asarray(v), {"long_name": attrs[k][0], "units": attrs[k][1]})
                         for k, v in res.items()}, coords=coords).unstack("_pt")
    else:
        ds = xr.Dataset({k: ((), v[0], {"long_name": attrs[k][0], "units": attrs[k][1]}) for k, v in res.items()})
    # the sweep's fixed parameters (p, T, delta_p, ...) stay attached as scalar coordinates
    ds = ds.assign_coords({k: v for k, v in agg.coords.items() if v.ndim == 0 and k not in ds.coords})
    ds.attrs["method"] = "spiked.dmft"
    ds.attrs["fit"] = "least squares on log t_conv; t_conv = first t with C̄ ≥ target/2 (spiked.md §3)"
    ds.attrs["sweep"] = json.dumps(sweep, default=str)
    return ds


# refinement axes of a grid-convergence sweep and the direction in which they refine
REFINEMENTS = {"Nt": "increasing", "dt0": "decreasing", "ratio_density": "increasing", "ratio_rtol": "decreasing"}


def grid_convergence(agg: xr.Dataset, var: str = "overlap", tol: float = 1e-4) -> list[dict]:
    """Grid-convergence study of a ``spiked.dmft`` aggregate whose axes include refinement axes of
    :data:`REFINEMENTS`: ``Nt`` and/or ``dt0`` (doubling solver), ``ratio_density`` and/or
    ``ratio_rtol`` (ratio solver) (issue 4's criterion: doubling Nt or halving dt0 changes C̄(t) by
    less than ``tol`` on the common times, with the observed convergence order).

    For every refinement axis and every combination of the other axes, consecutive settings
    g_k → g_{k+1} (Nt increasing, dt0 decreasing) give the difference curve
    |var_{k+1}(t) − var_k(t)| on the common times (finite in both: the coarser solver grid's time
    points are a subset of the finer one's, :func:`sgsweep.spiked.dmft.planned_times`), its maximum
    d_k and where it occurs, and the observed order log(d_{k−1}/d_k) / log(g_k/g_{k−1}) (NaN for
    the first pair). The ratio solver reports on the doubling grid's time points of the sweep's
    fixed Nt and dt0, so its settings share all their times. Returns one dict per pair: axis,
    coarse, fine, others (dict of the other axes' values), time, diff (arrays), max_diff, t_at,
    order, ok (max_diff < tol).
    """
    rows = []
    for axis, direction in REFINEMENTS.items():
        if axis not in agg.dims or agg.sizes[axis] < 2:
            continue
        vals = np.sort(agg[axis].values)
        if direction == "decreasing":
            vals = vals[::-1]
        others = [d for d in agg[var].dims if d not in (axis, "time")]
        combos = [{}]
        for d in others:
            combos = [dict(c, **{d: v}) for c in combos for v in agg[d].values]
        for sel in combos:
            da = agg[var].sel(sel) if sel else agg[var]
            prev = None
            for g0, g1 in zip(vals[:-1], vals[1:]):
                a = da.sel({axis: g0}).values
                b = da.sel({axis: g1}).values
                ok = np.isfinite(a) & np.isfinite(b)
                t = agg["time"].values[ok]
                diff = np.abs(b[ok] - a[ok])
                k = int(np.argmax(diff)) if diff.size else -1
                row = {"axis": axis, "coarse": g0.item(), "fine": g1.item(),
                       "others": {d: np.asarray(v).item() for d, v in sel.items()}, "time": t, "diff": diff,
                       "max_diff": float(diff[k]) if k >= 0 else np.nan, "t_at": float(t[k]) if k >= 0 else np.nan,
                       "order": np.nan}
                if prev is not None and row["max_diff"] > 0:
                    row["order"] = float(np.log(prev["max_diff"] / row["max_diff"]) / abs(np.log(g1 / g0)))
                row["ok"] = bool(row["max_diff"] < tol)
                rows.append(row)
                prev = row
    return rows
