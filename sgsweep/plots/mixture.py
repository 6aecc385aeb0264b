"""Figures of the Gaussian-mixture family: DMFT vs simulations, and final-error maps.

Figures read aggregates/products only (never recompute a point).
"""

from __future__ import annotations

import json
import math

import numpy as np
import xarray as xr

from .registry import figure
from .style import colors, panels, save

LABELS = {
    "test_error": "test error ε_gen(t)",
    "train_loss": "training loss Σ_μ ℓ/d",
    "train_accuracy": "training accuracy",
    "magnetization": "magnetisation m(t)",
    "norm": "norm C(t,t) = ‖w‖²/d",
}
SYMBOL = {"tau": "τ", "R": "R", "b": "b", "alpha": "α", "lam": "λ", "delta": "Δ", "eta": "η", "m0": "m0",
          "L": "L", "d": "d"}


def _fmt(v) -> str:
    try:
        return f"{float(v):.3g}"
    except (TypeError, ValueError):
        return str(v)


def _axes(ds: xr.Dataset) -> list[str]:
    if "sweep" in ds.attrs:
        return list(json.loads(ds.attrs["sweep"]).get("axes", []))
    return [d for d in ds.dims if d not in ("run", "time")]


def _scalar(ds: xr.Dataset, name: str):
    if name in ds.coords and ds.coords[name].ndim == 0:
        return ds.coords[name].values.item()
    return None


def _select(ds: xr.Dataset, sel: dict) -> xr.Dataset:
    for k, v in (sel or {}).items():
        if k in ds.dims:
            ds = ds.sel({k: v}, method="nearest") if np.issubdtype(ds[k].dtype, np.number) else ds.sel({k: v})
    return ds


def _reduce_others(ds: xr.Dataset, keep: list[str]) -> xr.Dataset:
    for dim in list(ds.dims):
        if dim not in keep and dim not in ("run", "time"):
            ds = ds.isel({dim: 0})
    return ds


def _curve_label(axis: str, value, ds: xr.Dataset) -> str:
    text = f"{SYMBOL.get(axis, axis)} = {_fmt(value)}"
    if axis == "tau":
        eta, b = _scalar(ds, "eta"), _scalar(ds, "b")
        if eta is not None and b is not None and math.isclose(float(value), eta / b, rel_tol=1e-6):
            text += " (= η/b: SGD)"
    return text


def _title(ds: xr.Dataset, skip: str) -> str:
    parts = []
    alg = _scalar(ds, "algorithm")
    if alg is not None:
        parts.append(str(alg).upper())
    for name in ("clusters", "alpha", "b", "delta", "lam", "eta", "R", "L", "tau", "loss"):
        if name == skip:
            continue
        if name in ("L",) and _scalar(ds, "clusters") == 2:
            continue
        if name == "tau" and alg != "psgd":
            continue
        if name == "b" and alg == "gd":
            continue
        v = _scalar(ds, name)
        if v is not None:
            parts.append(f"{SYMBOL.get(name, name)}={_fmt(v)}" if name != "clusters" else f"{int(v)} clusters")
    return ", ".join(parts)


@figure("mixture.trajectories")
def trajectories(inputs: dict, options: dict, out_stem: str) -> list[str]:
    """DMFT (lines, shaded ± Monte-Carlo error) against simulations (points, mean ± s.e. over runs).

    Inputs: ``dmft`` (a mixture.dmft aggregate) and/or ``sim`` (a mixture.sim aggregate) of sweeps
    sharing the curve axis. Options: ``curves`` (axis drawn as colours; default the first grid axis),
    ``select`` ({axis: value} for the other axes; default their first value), ``variables`` (panels;
    default test_error and train_loss), ``points`` (simulation markers per curve, default 25),
    ``xscale`` (linear/log), ``title``.
    """
    dmft = inputs.get("dmft")
    sim = inputs.get("sim")
    ref = dmft if dmft is not None else sim
    axes = _axes(ref)
    curve_axis = options.get("curves", axes[0] if axes else None)
    variables = list(options.get("variables", ["test_error", "train_loss"]))
    sel = dict(options.get("select", {}))
    if dmft is not None:
        dmft = _reduce_others(_select(dmft, sel), [curve_axis])
    if sim is not None:
        sim = _reduce_others(_select(sim, sel), [curve_axis])
    values = list((dmft if dmft is not None else sim)[curve_axis].values) if curve_axis else [None]
    cols = colors(len(values), options.get("cmap", "viridis"))
    fig, axs = panels(len(variables), sharey=False)
    for ax, var in zip(axs, variables):
        for c, val in zip(cols, values):
            label = _curve_label(curve_axis, val, ref) if curve_axis else ""
            if dmft is not None and var in dmft:
                dd = dmft.sel({curve_axis: val}) if curve_axis else dmft
                t = dd["time"].values
                y = dd[var].values
                e = dd[var + "_stderr"].values if var + "_stderr" in dd else 0 * y
                ax.plot(t, y, color=c, lw=1.4, label=f"DMFT {label}")
                ax.fill_between(t, y - e, y + e, color=c, alpha=0.25, lw=0)
            if sim is not None and var in sim:
                if curve_axis:
                    sv = sim[curve_axis].values
                    j = int(np.argmin(np.abs(sv.astype(float) - float(val)))) if np.issubdtype(sv.dtype, np.number) \
                        else list(sv).index(val)
                    ss = sim.isel({curve_axis: j})
                else:
                    ss = sim
                da = ss[var]
                t = da["time"].values
                step = max(1, len(t) // int(options.get("points", 25)))
                idx = np.arange(0, len(t), step)
                nrun = da.notnull().sum("run").values
                mean = da.mean("run").values
                se = (da.std("run", ddof=1).values / np.sqrt(np.maximum(nrun, 1)))
                d = int(_scalar(sim, "d") or 0)
                ax.errorbar(t[idx], mean[idx], yerr=se[idx], fmt="o", ms=3, mfc="none", color=c, lw=0.8,
                            label=f"sim d={d} {label}")
        if var == "test_error" and _scalar(ref, "clusters") == 2 and _scalar(ref, "delta") is not None:
            floor = 0.5 * math.erfc(1.0 / math.sqrt(2.0 * float(_scalar(ref, "delta"))))
            ax.axhline(floor, color="0.4", ls="--", lw=0.8, label=f"oracle floor ½erfc(1/√(2Δ)) = {floor:.4f}")
        ax.set_xscale(options.get("xscale", "linear"))
        ax.set_xlabel("time t = steps × η")
        ax.set_ylabel(LABELS.get(var, var))
        if var == "test_error":
            ax.set_ylim(top=0.55)
    nsim = int(sim.sizes.get("run", 0)) if sim is not None else 0
    handles, labels = {}, []
    for ax in axs:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in handles:
                handles[lab] = h
                labels.append(lab)
    axs[-1].legend([handles[k] for k in labels], labels, loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize="x-small",
                   title=(f"lines: DMFT ± Monte-Carlo error\npoints: simulation mean ± s.e.\nof {nsim} runs"
                          if sim is not None else "lines: DMFT ± Monte-Carlo error"),
                   title_fontsize="x-small")
    fig.suptitle(options.get("title", _title(ref, curve_axis)), fontsize="medium")
    return save(fig, out_stem)


@figure("mixture.final_error")
def final_error(inputs: dict, options: dict, out_stem: str) -> list[str]:
    """Final test error over two grid axes, one panel per input (``final`` products).

    Each input's first two grid axes are x and y (option ``axes``: {input: [x, y]} overrides; other
    axes are fixed at ``select`` or their first value). Cells are annotated with mean ± s.e.
    Option ``variable`` (default test_error).
    """
    var = options.get("variable", "test_error") + "_final"
    names = list(inputs)
    fig, axs = panels(len(names), width=4.8, height=3.9, sharey=False)
    import matplotlib.pyplot as plt

    vmax = max(float(np.nanmax(inputs[n][var].values)) for n in names)
    vmin = min(float(np.nanmin(inputs[n][var].values)) for n in names)
    for ax, name in zip(axs, names):
        ds = _select(inputs[name], options.get("select", {}))
        dims = [d for d in ds[var].dims]
        xy = options.get("axes", {}).get(name, dims[:2])
        ds = _reduce_others(ds, xy)
        da = ds[var].transpose(xy[1], xy[0])
        se = ds[var + "_stderr"].transpose(xy[1], xy[0]).values
        xs, ys = ds[xy[0]].values, ds[xy[1]].values
        im = ax.imshow(da.values, origin="lower", aspect="auto", cmap=options.get("cmap", "magma_r"),
                       vmin=vmin, vmax=vmax, extent=(-0.5, len(xs) - 0.5, -0.5, len(ys) - 0.5))
        for i in range(len(ys)):
            for j in range(len(xs)):
                v = da.values[i, j]
                txt = "failed" if not np.isfinite(v) else f"{v:.3f}\n±{se[i, j]:.1g}"
                ax.text(j, i, txt, ha="center", va="center", fontsize=6.5,
                        color="white" if np.isfinite(v) and v > vmin + 0.6 * (vmax - vmin) else "black")
        ax.set_xticks(range(len(xs)), [_fmt(x) for x in xs])
        ax.set_yticks(range(len(ys)), [_fmt(y) for y in ys])
        ax.set_xlabel(f"{SYMBOL.get(xy[0], xy[0])} ({xy[0]})")
        ax.set_ylabel(f"{SYMBOL.get(xy[1], xy[1])} ({xy[1]})")
        ax.grid(False)
        t_max = ds.attrs.get("t_max")
        ax.set_title(f"{name}: {_title(ds, '')}" + (f", t={_fmt(t_max)}" if t_max else ""), fontsize="small")
        cb = fig.colorbar(im, ax=ax)
        cb.set_label(f"{LABELS.get(var[:-6], var)} at t_max")
    if "title" in options:
        fig.suptitle(options["title"], fontsize="medium")
    plt.tight_layout()
    return save(fig, out_stem)
