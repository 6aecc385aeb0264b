"""Figures of the phase-retrieval family (products of :mod:`sgsweep.analysis.retrieval`).

* ``retrieval.success``: success probability against α, one curve per (d, m) found in the inputs
  (every input whose name starts with ``success``; optional ``thresholds*`` inputs add the logistic
  fits and the theory lines). Points: simulations with Clopper–Pearson one-sigma bars; solid lines:
  logistic fits; vertical dashed lines: theory thresholds (``options.theory``).
* ``retrieval.crossing``: the crossing point α½ (bootstrap one-sigma bars) against 1/ln d, with the
  fitted trend α½ = a + b/ln d when the product has it and α_GD(d→∞) ≈ 13.8 at 1/ln d = 0, and the
  width of the rise against d (sharper = smaller), one series per (m) family.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402,F401
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402
from scipy.special import expit  # noqa: E402

from sgsweep.plots.registry import figure  # noqa: E402
from sgsweep.plots.style import save  # noqa: E402

THEORY_STYLE = {
    "alpha_it": ("k", r"$\alpha_{\rm IT}=1$"),
    "alpha_amp": ("tab:purple", r"$\alpha_{\rm AMP}$"),
    "alpha_gd": ("tab:red", r"$\alpha_{\rm GD}^{\rm 1RSB}\approx13.8$ ($d\to\infty$, $m=1$)"),
    "alpha_overparam": ("tab:green", r"$\alpha=2$ ($m\geq d$)"),
}


def _scalar(ds: xr.Dataset, name: str, sel: dict):
    if name not in ds.coords and name not in ds:
        return None
    v = ds[name]
    sel = {k: val for k, val in sel.items() if k in v.dims}
    v = v.sel(sel) if sel else v
    return v.values.item() if v.size == 1 else None


def _curves(ds: xr.Dataset):
    """Yield (label-dict, 1-D dataset along alpha) for every combination of non-alpha dims."""
    others = [d for d in ds.dims if d != "alpha"]
    if not others:
        yield {}, ds
        return
    stacked = ds.stack(_c=others)
    for i in range(stacked.sizes["_c"]):
        sub = stacked.isel(_c=i)
        key = {o: sub[o].values.item() for o in others}
        yield key, sub.drop_vars(["_c"] + others, errors="ignore")


def _label(ds, key):
    d = key.get("d", _scalar(ds, "d", {}))
    m = key.get("m", _scalar(ds, "m", {}))
    parts = []
    if d is not None:
        parts.append(f"d = {int(d)}")
    if m is not None:
        parts.append("single unit" if int(m) == 1 else f"m = {int(m)}")
    return ", ".join(parts) or "sweep"


@figure("retrieval.success")
def success_figure(inputs: dict, options: dict, out_stem: str) -> list[str]:
    options = options or {}
    succ = [v for k, v in sorted(inputs.items()) if k.startswith("success")]
    thr = [v for k, v in sorted(inputs.items()) if k.startswith("thresholds")]
    if not succ:
        raise ValueError("retrieval.success needs at least one input named success*")
    theory = options.get("theory", ["alpha_it", "alpha_amp", "alpha_gd"])
    fig, ax = plt.subplots(figsize=(options.get("width", 6.4), options.get("height", 4.4)))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    curves = []
    for si, ds in enumerate(succ):
        tds = thr[si] if si < len(thr) else None
        for key, c in _curves(ds):
            curves.append((ds, tds, key, c))
    amin, amax = np.inf, 0.0
    for i, (ds, tds, key, c) in enumerate(curves):
        col = colors[i % len(colors)]
        a = c["alpha"].values
        p = c["success_probability"].values
        lo, hi = c["ci_low"].values, c["ci_high"].values
        amin, amax = min(amin, a.min()), max(amax, a.max())
        ax.errorbar(a, p, yerr=[p - lo, hi - p], fmt="o", ms=4, color=col, capsize=2,
                    label=_label(ds, key) + f" ({int(c['n_runs'].max())} runs)")
        if tds is not None:
            ah = _scalar(tds, "alpha_half", key)
            w = _scalar(tds, "width", key)
            if ah is not None and w is not None and np.isfinite(ah) and np.isfinite(w):
                xs = np.geomspace(a.min(), a.max(), 200)
                ax.plot(xs, expit((np.log(xs) - np.log(ah)) / w), "-", color=col, lw=1.2)
    src = thr[0] if thr else None
    for name in theory:
        val = _scalar(src, name, {}) if src is not None else None
        if val is None:
            from sgsweep.retrieval import theory as th  # constants only, no computation
            val = {"alpha_it": th.ALPHA_IT, "alpha_amp": th.ALPHA_AMP_PUBLISHED, "alpha_gd": th.ALPHA_GD_1RSB,
                   "alpha_overparam": th.ALPHA_OVERPARAM}.get(name)
        if val is None:
            continue
        colr, lab = THEORY_STYLE.get(name, ("gray", name))
        if name == "alpha_amp":
            lab = rf"$\alpha_{{\rm AMP}}={val:.3f}$"
        ax.axvline(val, ls="--", color=colr, lw=1.2, label=lab)
        amin, amax = min(amin, val), max(amax, val)
    ax.set_xscale(options.get("xscale", "log"))
    if ax.get_xscale() == "log":
        ax.set_xlim(amin / 1.15, amax * 1.15)
        ticks = [t for t in (1, 1.5, 2, 3, 4, 5, 6, 8, 10, 14, 20, 30) if amin / 1.15 <= t <= amax * 1.15]
        ax.set_xticks(ticks)
        ax.set_xticklabels([f"{t:g}" for t in ticks])
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_ylim(-0.04, 1.04)
    ax.set_xlabel(r"sample ratio $\alpha = n/d$")
    ax.set_ylabel(r"success probability (final overlap $\geq$ %g)" % options.get("success_overlap", 0.9))
    ax.set_title(options.get("title", "Gradient flow in phase retrieval"))
    ax.grid(alpha=0.3)
    ax.plot([], [], "-", color="gray", label="logistic fit (lines)")
    ax.legend(fontsize=7, loc=options.get("legend_loc", "best"),
              title="points: Clopper-Pearson 1σ bars", title_fontsize=7)
    return save(fig, out_stem)


def _records(thr: list[xr.Dataset]):
    rec = []
    for ds in thr:
        for key, _ in _curves(ds[["alpha_half"]]):
            d = key.get("d", _scalar(ds, "d", {}))
            m = key.get("m", _scalar(ds, "m", {}))
            if d is None or m is None:
                continue
            vals = {nm: _scalar(ds, nm, key) for nm in ("alpha_half", "alpha_half_err", "width", "width_err")}
            rec.append((int(d), int(m), vals, ds))
    return rec


def _series(d, m):
    return "single unit (m = 1)" if m == 1 else ("network, m = d" if m == d else f"network, m = {m}")


@figure("retrieval.crossing")
def crossing_figure(inputs: dict, options: dict, out_stem: str) -> list[str]:
    options = options or {}
    thr = [v for k, v in sorted(inputs.items()) if k.startswith("thresholds")]
    if not thr:
        raise ValueError("retrieval.crossing needs at least one input named thresholds*")
    rec = _records(thr)
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(options.get("width", 10.0), options.get("height", 4.2)))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    groups = {}
    for d, m, vals, ds in rec:
        groups.setdefault(_series(d, m), []).append((d, m, vals, ds))
    for gi, (name, items) in enumerate(sorted(groups.items())):
        col = colors[gi % len(colors)]
        items.sort(key=lambda r: r[0])
        d = np.array([r[0] for r in items], float)
        ah = np.array([r[2]["alpha_half"] for r in items], float)
        ae = np.array([r[2]["alpha_half_err"] for r in items], float)
        w = np.array([r[2]["width"] for r in items], float)
        we = np.array([r[2]["width_err"] for r in items], float)
        ax.errorbar(1 / np.log(d), ah, yerr=ae, fmt="o", color=col, capsize=3, label=name)
        for k, (x, y, dd) in enumerate(zip(1 / np.log(d), ah, d)):
            if np.isfinite(y):
                # above and below in turn: neighbouring d are close on the 1/ln d axis
                ax.annotate(f"d={int(dd)}", (x, y), textcoords="offset points", xytext=(4, 4 if k % 2 else -11),
                            fontsize=7)
        bx.errorbar(d, w, yerr=we, fmt="o-", color=col, capsize=3, label=name)
        ds = items[0][3]
        ms = items[0][1]
        if "alpha_half_inf" in ds:
            key = {"m": ms} if "m" in ds["alpha_half_inf"].dims else {}
            a0 = _scalar(ds, "alpha_half_inf", key)
            b = _scalar(ds, "trend_slope", key)
            a0e = _scalar(ds, "alpha_half_inf_err", key)
            if a0 is not None and np.isfinite(a0):
                xs = np.linspace(0, 1 / np.log(d.min()) * 1.05, 50)
                ax.plot(xs, a0 + b * xs, "-", color=col, lw=1,
                        label=rf"fit $a + b/\ln d$: $a = {a0:.2f}\pm{a0e:.2f}$")
    gd = _scalar(thr[0], "alpha_gd", {})
    if options.get("show_alpha_gd", True) and gd is not None:
        ax.axhline(gd, ls="--", color="tab:red", lw=1, label=rf"$\alpha_{{\rm GD}}^{{\rm 1RSB}}\approx{gd:g}$ ($d\to\infty$)")
    if options.get("show_overparam", any(m > 1 for _, m, _, _ in rec)):
        ax.axhline(2.0, ls="--", color="tab:green", lw=1, label=r"$\alpha=2$ ($m\geq d$)")
    dmin = min((r[0] for r in rec), default=8)
    ax.set_xlim(0, 1.15 / np.log(dmin))
    ax.set_xlabel(r"$1/\ln d$")
    ax.set_ylabel(r"$\alpha_{1/2}$ (success probability $=\frac{1}{2}$)")
    ax.set_title("Finite-size trend of the crossing point")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    bx.set_xscale("log", base=2)
    bx.set_xlabel(r"dimension $d$")
    bx.set_ylabel(r"width $s$ of the rise (in $\ln\alpha$)")
    bx.set_title("Sharpness of the transition (smaller = sharper)")
    bx.grid(alpha=0.3)
    bx.legend(fontsize=7)
    return save(fig, out_stem)
