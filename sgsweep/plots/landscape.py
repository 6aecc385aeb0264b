"""Figures of the spiked landscape theory: Kac–Rice complexity Σ_min(m) and AMP vs state evolution.

* ``spiked.complexity`` — input ``theory``: aggregate of a ``spiked.theory`` sweep with a
  ``delta2``/``inv_delta2`` axis (and optionally a ``delta_p`` axis → one panel per Δp). Draws
  Σ_min(m) (spiked.md §4.3) for each 1/Δ2, the zero line, and marks m_ML. Options: ``ymin``,
  ``ymax``.
* ``spiked.amp_se`` — input ``amp``: aggregate of a ``spiked.amp`` sweep. One panel per combination
  of the axes other than N (at most 6); per N the sample mean ± standard error of the finite-N AMP
  overlap (points), the 16–84 % band of samples, and the state evolution (line).
"""

from __future__ import annotations

import itertools
import json

import numpy as np
import xarray as xr

from .registry import figure
from .style import colors, panels, save


def _sweep(ds: xr.Dataset) -> dict:
    try:
        return json.loads(ds.attrs.get("sweep", "{}"))
    except (TypeError, ValueError):
        return {}


def _scalar(ds, name, default=None):
    if name in ds.coords and ds[name].ndim == 0:
        return ds[name].values.item()
    return default


@figure("spiked.complexity")
def complexity(inputs: dict, options: dict, out_stem: str) -> list[str]:
    """Σ_min(m) for a few 1/Δ2 at fixed Δp (module docstring)."""
    ds: xr.Dataset = inputs["theory"]
    sweep = _sweep(ds)
    axes = [a for a in sweep.get("axes", []) if a in ds.dims]
    xaxis = next((a for a in axes if sweep.get("axis_params", {}).get(a) == "delta2"),
                 next((a for a in ("inv_delta2", "delta2") if a in ds.dims), None))
    paxis = "delta_p" if "delta_p" in ds.dims else None
    pvals = ds[paxis].values if paxis else [None]
    fig, axs = panels(len(pvals), width=5.0, height=3.8)
    for ax, pv in zip(axs, pvals):
        d = ds.sel({paxis: pv}) if paxis else ds
        xs = d[xaxis].values if xaxis else [None]
        inv = (1.0 / np.atleast_1d(d["delta2"].values)) if "delta2" in d.coords else np.atleast_1d(xs)
        order = np.argsort(inv)
        cols = colors(len(order), "plasma")
        m = d["m"].values
        lo_all, hi_all = 0.0, 0.0
        for c, i in zip(cols, order):
            e = d.isel({xaxis: i}) if xaxis else d
            sig = e["sigma_min"].values
            ax.plot(m, sig, color=c, lw=1.5, label=f"1/Δ2 = {inv[i]:.4g}")
            if "m_ml" in e and np.isfinite(float(e["m_ml"])) and float(e["m_ml"]) > 0:
                ax.axvline(float(e["m_ml"]), color=c, ls=":", lw=0.9)
            hi_all = max(hi_all, float(np.nanmax(sig)))
            lo_all = min(lo_all, float(np.nanmin(sig)))
        ax.axhline(0.0, color="k", lw=0.8)
        ymax = float(options.get("ymax", 1.3 * hi_all if hi_all > 0 else 1e-3))
        ymin = float(options.get("ymin", -max(ymax, 1e-3)))
        ax.set_ylim(ymin, ymax)
        ax.set_xlabel("overlap m = x·x*/N with the signal (dimensionless)")
        p = _scalar(d, "p", "?")
        dp = float(pv) if pv is not None else _scalar(d, "delta_p", float("nan"))
        ax.set_title(f"p = {p}, Δp = {dp:g}")
    axs[0].set_ylabel("complexity of minima Σ_min(m) (per spin)")
    axs[-1].legend(title="Kac–Rice (spiked.md §4.3)\ndotted: m_ML (ML-AMP fixed point)",
                   loc="upper left", bbox_to_anchor=(1.02, 1.0))
    return save(fig, out_stem)


@figure("spiked.amp_se")
def amp_se(inputs: dict, options: dict, out_stem: str) -> list[str]:
    """Finite-N AMP overlap against its state evolution (module docstring)."""
    ds: xr.Dataset = inputs["amp"]
    sweep = _sweep(ds)
    axes = [a for a in sweep.get("axes", []) if a in ds.dims]
    others = [a for a in axes if a != "N"]
    combos = list(itertools.product(*[range(ds.sizes[a]) for a in others]))[:6] or [()]
    fig, axs = panels(len(combos), width=4.4, height=3.6)
    Ns = ds["N"].values if "N" in ds.dims else [None]
    cols = colors(len(Ns), "viridis")
    for ax, combo in zip(axs, combos):
        sel = dict(zip(others, combo))
        d = ds.isel(sel)
        it = d["iteration"].values
        se_drawn = False
        for c, N in zip(cols, Ns):
            e = d.sel(N=N) if N is not None else d
            ov = e["overlap"]
            mean = ov.mean("sample").values
            err = (ov.std("sample") / np.sqrt(ov.sizes["sample"])).values
            lo = ov.quantile(0.16, "sample").values
            hi = ov.quantile(0.84, "sample").values
            nval = int(N) if N is not None else int(_scalar(e, "N", 0))
            ax.fill_between(it, lo, hi, color=c, alpha=0.18, lw=0)
            ax.errorbar(it, mean, yerr=err, fmt="o", ms=3, lw=0.8, color=c,
                        label=f"AMP, N = {nval} (mean ± s.e.)")
            if not se_drawn:
                ax.plot(it, e["overlap_se"].values, color="k", lw=1.5, label="state evolution")
                se_drawn = True
        title = ", ".join(f"{a} = {float(d[a].values):g}" for a in others)
        kind = _scalar(d, "kind", None)
        head = f"{kind} AMP, p = {_scalar(d, 'p', '?')}" if kind else f"p = {_scalar(d, 'p', '?')}"
        ax.set_title(head + (", " + title if title else ""))
        ax.set_xlabel("AMP iteration t")
    axs[0].set_ylabel("overlap x̂ᵗ·x*/N")
    axs[-1].legend(loc="lower right", title="band: 16–84 % of samples")
    return save(fig, out_stem)
