"""Figures of finite-N spiked simulations: overlap trajectories and success curves."""

from __future__ import annotations

import json

import numpy as np
import xarray as xr

from .registry import figure
from .style import colors, panels, save


def _x_axis(sweep: dict) -> str:
    return next(a for a in sweep["axes"] if sweep["axis_params"][a] == "delta2")


_LABELS = {"delta_p": "Δp", "delta2": "Δ2", "inv_delta2": "1/Δ2", "T": "T", "N": "N"}


def _fmt(v) -> str:
    return f"{float(v):g}"


@figure("spiked.trajectories")
def trajectories(inputs: dict, options: dict, out_stem: str) -> list[str]:
    """Mean overlap C̄(t) over samples (points, ± standard error) and its spread (16–84 % band),
    one panel per Δp, one colour per 1/Δ2, at one N (option ``N``, default the largest)."""
    agg: xr.Dataset = inputs["sim"]
    sweep = json.loads(agg.attrs["sweep"])
    xaxis = _x_axis(sweep)
    ds = agg
    if "N" in ds.dims:
        ds = ds.sel(N=options.get("N", int(ds.N.max())))
    panel_axis = next((a for a in sweep["axes"] if a not in (xaxis, "N") and a in ds.dims), None)
    panel_vals = ds[panel_axis].values if panel_axis else [None]
    fig, axs = panels(len(panel_vals))
    inv = 1.0 / ds["delta2"].values
    order = np.argsort(inv)
    cols = colors(len(order), "plasma")
    for ax, pv in zip(axs, panel_vals):
        d = ds.sel({panel_axis: pv}) if panel_axis else ds
        for c, i in zip(cols, order):
            ov = d["overlap"].isel({xaxis: i})
            t = ov["time"].values
            mask = t > 0
            mean = ov.mean("sample").values[mask]
            se = (ov.std("sample") / np.sqrt(ov.sizes["sample"])).values[mask]
            lo = ov.quantile(0.16, "sample").values[mask]
            hi = ov.quantile(0.84, "sample").values[mask]
            ax.fill_between(t[mask], lo, hi, color=c, alpha=0.07, lw=0)
            ax.errorbar(t[mask], mean, yerr=se, fmt="o", ms=2.5, lw=0.8, color=c, label=f"1/Δ2 = {inv[i]:.3g}")
            if "target_overlap" in d:
                target = float(d["target_overlap"].isel({xaxis: i}))
                if target > 0:
                    ax.axhline(target, color=c, ls="--", lw=0.8)
        ax.set_xscale("log")
        ax.set_xlabel("time t (physical units of dx/dt = −μx − ∇H)")
        parts = [f"{_LABELS.get(panel_axis, panel_axis)} = {_fmt(pv)}"] if panel_axis else []
        if "N" in ds.coords and ds.N.ndim == 0:
            parts.append(f"N = {int(ds.N)}")
        parts += [f"p = {int(agg.p)}", f"T = {_fmt(agg.T)}"]
        ax.set_title(", ".join(parts))
    axs[0].set_ylabel("overlap C̄(t) = x·x*/N")
    axs[-1].legend(
        title="simulation mean ± s.e.\nband: 16–84 % of samples\ndashed: target m_ML (T=0) / m_BO",
        loc="upper left", bbox_to_anchor=(1.02, 1.0),
    )
    return save(fig, out_stem)


@figure("spiked.success")
def success(inputs: dict, options: dict, out_stem: str) -> list[str]:
    """Success probability vs 1/Δ2 (points with Wilson one-sigma bars) per N, the fitted logistic
    curves (lines), the fitted thresholds and the closed-form conjecture (vertical lines)."""
    th: xr.Dataset = inputs["thresholds"]
    panel_axis = "delta_p" if "delta_p" in th.dims else None
    panel_vals = th[panel_axis].values if panel_axis else [None]
    fig, axs = panels(len(panel_vals))
    Ns = th["N"].values if "N" in th.dims else [None]
    cols = colors(len(Ns), "viridis")
    x = th["inv_delta2"].values
    xf = np.linspace(x.min(), x.max(), 200)
    for ax, pv in zip(axs, panel_vals):
        d = th.sel({panel_axis: pv}) if panel_axis else th
        for c, N in zip(cols, Ns):
            e = d.sel(N=N) if N is not None else d
            p = e["success_probability"].values
            err = np.vstack([p - e["success_low"].values, e["success_high"].values - p])
            ax.errorbar(x, p, yerr=err, fmt="o", ms=4, color=c, capsize=2, label=f"N = {N}" if N is not None else "simulation")
            x0, w, a = float(e["inv_delta2_threshold"]), float(e["transition_width"]), float(e["success_plateau"])
            if np.isfinite(x0):
                ax.plot(xf, a / (1 + np.exp(-(xf - x0) / w)), color=c, lw=1)
                ax.axvspan(float(e["inv_delta2_threshold_low"]), float(e["inv_delta2_threshold_high"]), color=c, alpha=0.12)
        cf = float(np.atleast_1d(d["inv_delta2_closed_form"].values).ravel()[0])
        ax.axvline(cf, color="k", ls="--", lw=1, label="closed-form conjecture")
        ax.set_xlabel("1/Δ2 (inverse matrix noise variance)")
        ax.set_title(f"Δp = {_fmt(pv)}, p = {int(th.p)}, T = {_fmt(th.T)}" if panel_axis else "")
        ax.set_ylim(-0.05, 1.05)
    axs[0].set_ylabel("success probability")
    axs[-1].legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), title="points: simulations (Wilson 1σ)\nlines: logistic fit\nshaded: threshold 1σ (bootstrap)")
    return save(fig, out_stem)
