"""Figures of the spiked-model DMFT (reads aggregates / products only).

Kinds:
* ``spiked.dmft_curves``: C̄(t) (linear and log scale) and μ(t) with the marginal value
  2√Q''(1) (dotted, when the aggregate carries ``check_mu_threshold``) for every 1/Δ2 of a
  spiked.dmft sweep (input ``dmft``), log time axis; on the log panel, dashed, the grid check
  |C̄(Nt) − C̄(Nt/2)| when the points carry it; options ``delta_p`` (select a Δp if it is an
  axis), ``targets`` (draw m targets).
* ``spiked.dmft_tconv``: t_conv against 1/Δ2 (points), the fit of the ``thresholds`` product
  (input ``thresholds``; with the grid check's shift 1/Δ2*(Nt) − 1/Δ2*(Nt/2) when the points
  carry it) and the closed-form conjecture (vertical lines); optional input ``sim``
  (``thresholds`` product of a ``spiked.sim`` sweep): the finite-N thresholds at the same Δp, as
  points with their interval on a strip at the bottom; a text table of all thresholds is written
  next to the figure (``<stem>.txt``) and printed.
* ``spiked.dmft_convergence``: grid-convergence study of a spiked.dmft sweep over ``Nt`` and/or
  ``dt0`` (doubling solver) or ``ratio_density`` and/or ``ratio_rtol`` (ratio solver) (input
  ``dmft``, :func:`sgsweep.analysis.dmft.grid_convergence`): C̄(t) for every grid setting and
  |C̄_fine − C̄_coarse|(t) for every refinement step (doubling Nt or the density, halving dt0 or
  lowering rtol), with the 1e-4 criterion of issue 4; the table (``<stem>.txt``, also printed) lists the maximum
  difference, where it occurs and the observed order. Option ``tol`` (default 1e-4).
* ``spiked.dmft_vs_sim``: DMFT C̄(t) (input ``dmft``, lines) against a finite-N simulation
  aggregate (input ``sim``: overlap(<axes>, sample, time)): mean ± standard error over samples.
  Options: ``sign`` ("positive": keep samples with C̄(0) > 0, default; "abs": |C̄|; "all").
"""

from __future__ import annotations

import numpy as np

from sgsweep.analysis.dmft import grid_convergence, scalar_coord, stack_points
from sgsweep.plots.registry import figure
from sgsweep.plots.style import save
from sgsweep.store import write_text_atomic


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _xaxis(ds):
    if "inv_delta2" in ds.dims:
        return "inv_delta2", ds["inv_delta2"].values
    if "delta2" in ds.dims:
        return "delta2", 1.0 / ds["delta2"].values
    return None, None


def _select(ds, options):
    for key in ("delta_p", "T", "p"):
        if key in options and key in ds.dims:
            ds = ds.sel({key: options[key]}, method="nearest")
    for d in list(ds.dims):
        if d not in ("time", "inv_delta2", "delta2", "t_w", "sample", "run") and ds.sizes[d] >= 1:
            ds = ds.isel({d: 0})
    return ds


def _save_with_table(fig, out_stem: str, lines: list) -> list:
    """PNG + PDF of the figure and the text table ``<stem>.txt`` (also printed to the job log)."""
    paths = save(fig, out_stem)
    text = "\n".join(lines) + "\n"
    write_text_atomic(text, out_stem + ".txt")
    print(text)
    return paths + [out_stem + ".txt"]


def _title(ds):
    parts = []
    for k, lab in (("p", "p"), ("delta2", "Δ2"), ("delta_p", "Δp"), ("T", "T"), ("overlap0", "C̄(0)")):
        if k in ds.coords and ds[k].ndim == 0:
            parts.append(f"{lab} = {float(ds[k]):g}")
    return ", ".join(parts)


@figure("spiked.dmft_curves")
def dmft_curves(inputs: dict, options: dict, out_stem: str) -> list:
    plt = _plt()
    ds = _select(inputs["dmft"], options)
    xdim, xs = _xaxis(ds)
    fig, axs = plt.subplots(1, 3, figsize=(14, 4))
    cmap = plt.get_cmap("viridis")
    n = len(xs) if xs is not None else 1
    marginal = False
    floor = np.inf  # smallest |C̄| drawn: the grid-check curves are cut three decades below it
    for k in range(n):
        d = ds.isel({xdim: k}) if xdim else ds
        lab = f"1/Δ2 = {xs[k]:.3g}" if xdim else None
        col = cmap(k / max(n - 1, 1))
        t = d["time"].values
        m = t > 0
        axs[0].plot(t[m], d["overlap"].values[m], color=col, label=lab)
        # the pre-escape growth (and, below the threshold, its absence) only shows on a log scale
        ov = np.abs(d["overlap"].values[m])
        axs[1].plot(t[m], ov, color=col, label=lab)
        if (ov > 0).any():
            floor = min(floor, float(np.nanmin(ov[ov > 0])))
        if "overlap_grid_diff" in d:
            # the grid check: change of C̄ from the Nt/2 window, on the shared time points
            g = d["overlap_grid_diff"].values
            mg = m & np.isfinite(g) & (g != 0)
            axs[1].plot(t[mg], np.abs(g[mg]), color=col, ls="--", lw=0.8,
                        label="|C̄(Nt) − C̄(Nt/2)| (grid check)" if k == 0 else None)
        axs[2].plot(t[m], d["mu"].values[m], color=col, label=lab)
        if "check_mu_threshold" in d:
            # stuck on the equator, μ(t) rises towards the marginal value 2√Q''(1) (spiked.md §2.2)
            axs[2].axhline(float(d["check_mu_threshold"]), color=col, ls=":", lw=0.8,
                           label="2√Q''(1) (marginal)" if not marginal else None)
            marginal = True
    for ax in axs:
        ax.set_xscale("log")
        ax.set_xlabel("time t")
    axs[1].set_yscale("log")
    if np.isfinite(floor):
        axs[1].set_ylim(bottom=1e-3 * floor)
    axs[0].set_ylabel("overlap C̄(t)")
    axs[1].set_ylabel("|C̄(t)| (log scale)")
    axs[2].set_ylabel("Lagrange multiplier μ(t)")
    axs[0].legend(fontsize=7)
    grid_lines = [h for h in axs[1].get_lines() if h.get_label().startswith("|C̄(Nt)")]
    if grid_lines:
        axs[1].legend(handles=grid_lines, fontsize=7, loc="upper left")
    if marginal:
        axs[2].legend(handles=[h for h in axs[2].get_lines() if h.get_label().startswith("2√")], fontsize=7,
                      loc="lower right")
    fig.suptitle("DMFT of the spiked matrix–tensor model: " + _title(ds))
    fig.tight_layout()
    return save(fig, out_stem)


@figure("spiked.dmft_tconv")
def dmft_tconv(inputs: dict, options: dict, out_stem: str) -> list:
    plt = _plt()
    agg = inputs["dmft"]
    thr = inputs.get("thresholds")
    xdim, xs = _xaxis(agg)
    others = [d for d in agg["t_conv"].dims if d != xdim]
    sim = inputs.get("sim")
    fig, ax = plt.subplots(figsize=(6, 4.5))
    lines = ["# DMFT thresholds: 1/Δ2* (fit of t_conv) vs closed-form conjecture"
             + (" and finite-N simulated thresholds (68 % interval, relative deviation from the DMFT value)"
                if sim is not None else ""),
             (f"# {'selection':<24} {'1/Δ2*':>10} {'err':>10} {'gamma':>8} {'conjecture':>11} {'rel.dev':>8}"
              f" {'Nt/2 shift':>10}"),
             ("# err: statistical error of the fit; Nt/2 shift: 1/Δ2*(Nt) − 1/Δ2*(Nt/2), the fit on the grid "
              "check's t_conv (points where both windows converge; nan: no grid check)")]
    stacked = stack_points(agg["t_conv"], others)
    tstk = None
    if thr is not None:
        tstk = stack_points(thr, others)
    cmap = plt.get_cmap("tab10")
    xx = np.linspace(np.nanmin(xs), np.nanmax(xs), 400)
    for k in range(stacked.sizes["_pt"]):
        sel = stacked.isel(_pt=k)
        lab = ", ".join(f"{d}={v}" for d, v in zip(others, np.atleast_1d(sel["_pt"].values.item()))) if others else ""
        col = cmap(k % 10)
        y = sel.transpose(xdim).values
        ax.plot(xs, y, "o", color=col, label=f"DMFT t_conv {lab}".strip())
        if tstk is not None:
            f = tstk.isel(_pt=k)
            xstar = float(f["inv_delta2_threshold"])
            shift = float(f["inv_delta2_threshold_grid_diff"]) if "inv_delta2_threshold_grid_diff" in f else np.nan
            if np.isfinite(xstar):
                g, A, B = float(f["gamma"]), float(f["amplitude"]), float(f["offset"])
                xf = xx[xx > xstar]
                ax.plot(xf, A * (xf - xstar) ** (-g) + B, "-", color=col,
                        label=f"fit: 1/Δ2* = {xstar:.3f} ± {float(f['inv_delta2_threshold_err']):.3f}, γ = {g:.2f}"
                        + (f" (Nt/2: {shift:+.3f})" if np.isfinite(shift) else ""))
                ax.axvline(xstar, color=col, ls=":")
            conj = float(f["inv_delta2_conjecture"])
            if np.isfinite(conj):
                ax.axvline(conj, color=col, ls="--", label=f"conjecture 1/Δ2 = {conj:.3f}")
            rel = (xstar - conj) / conj if np.isfinite(conj) and np.isfinite(xstar) else np.nan
            lines.append(f"  {lab or 'all':<24} {xstar:>10.4f} {float(f['inv_delta2_threshold_err']):>10.4f} "
                         f"{float(f['gamma']):>8.3f} {conj:>11.4f} {rel:>8.2%} {shift:>10.4f}")
            if sim is not None:
                lines.extend(_sim_rows(ax, sim, scalar_coord("delta_p", sel, agg), col, xstar))
    ax.set_yscale("log")
    ax.set_xlabel("signal-to-noise 1/Δ2")
    ax.set_ylabel("convergence time t_conv (C̄ = target/2)")
    ax.legend(fontsize=7)
    ax.set_title("DMFT convergence time: " + _title(agg))
    return _save_with_table(fig, out_stem, lines)


def _sim_rows(ax, sim, delta_p, col, xstar):
    """Simulated thresholds (``thresholds`` product of ``spiked.sim``) at the DMFT's Δp: one table row
    per N, and points with their interval on a strip at the bottom of the axes."""
    thr = sim
    if "delta_p" in thr.dims:
        if not np.isfinite(delta_p):
            return []
        thr = thr.sel(delta_p=delta_p, method="nearest")
        if abs(float(thr["delta_p"]) - delta_p) > 1e-9:
            return [f"  (no simulated threshold at Δp = {delta_p:g})"]
    Ns = thr["N"].values if "N" in thr.dims else [None]
    rows = []
    trans = ax.get_xaxis_transform()
    for k, n in enumerate(Ns):
        t = thr.sel(N=n) if n is not None else thr
        x0 = float(t["inv_delta2_threshold"])
        lo, hi = float(t["inv_delta2_threshold_low"]), float(t["inv_delta2_threshold_high"])
        rel = (x0 - xstar) / xstar if np.isfinite(xstar) else np.nan
        rows.append(f"  {'simulation N=' + str(n):<24} {x0:>10.4f} {'[' + f'{lo:.3f}, {hi:.3f}' + ']':>21} "
                    f"{rel:>19.2%}")
        y = 0.05 + 0.05 * k
        ax.errorbar([x0], [y], xerr=[[max(x0 - lo, 0)], [max(hi - x0, 0)]], fmt="s", ms=4, capsize=2,
                    color=col, alpha=0.4 + 0.6 * (k + 1) / len(Ns), transform=trans,
                    label=f"simulated threshold, N = {n}")
    return rows


@figure("spiked.dmft_vs_sim")
def dmft_vs_sim(inputs: dict, options: dict, out_stem: str) -> list:
    plt = _plt()
    dm = inputs["dmft"]
    sim = inputs["sim"]
    sign = options.get("sign", "positive")
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    # iterate over the simulation's grid points other than sample/time
    sdims = [d for d in sim["overlap"].dims if d not in ("sample", "time")]
    st = stack_points(sim["overlap"], sdims)
    cmap = plt.get_cmap("tab10")
    for k in range(st.sizes["_pt"]):
        o = st.isel(_pt=k).transpose("sample", "time").values
        if sign == "positive":
            o = o[o[:, 0] > 0]
        elif sign == "abs":
            o = np.abs(o)
        if len(o) == 0:
            continue
        mean = np.nanmean(o, axis=0)
        se = np.nanstd(o, axis=0, ddof=1) / np.sqrt(max(len(o), 1)) if len(o) > 1 else np.zeros_like(mean)
        lab = ", ".join(f"{d}={v:g}" for d, v in zip(sdims, np.atleast_1d(st["_pt"].values[k]))) if sdims else "sim"
        t = sim["time"].values
        every = max(1, len(t) // 60)
        ax.errorbar(t[::every], mean[::every], yerr=se[::every], fmt="o", ms=3, color=cmap(k % 10),
                    label=f"simulation {lab} (n={len(o)})")
        # matching DMFT curve
        sel = dm
        for d in sdims:
            if d in dm.dims:
                sel = sel.sel({d: st["_pt"].values[k][sdims.index(d)] if len(sdims) > 1 else st["_pt"].values[k]},
                              method="nearest")
        for d in list(sel["overlap"].dims):
            if d != "time":
                sel = sel.isel({d: 0})
        ax.plot(sel["time"].values, sel["overlap"].values, "-", color=cmap(k % 10), label=f"DMFT {lab}")
    ax.set_xlabel("time t")
    ax.set_ylabel("overlap C̄(t)")
    if options.get("log_time", True):
        ax.set_xscale("log")
    ax.legend(fontsize=7)
    ax.set_title("DMFT vs finite-N simulation: " + _title(dm))
    return save(fig, out_stem)


def _setting(axis_vals: dict) -> str:
    return ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in axis_vals.items())


@figure("spiked.dmft_convergence")
def dmft_convergence(inputs: dict, options: dict, out_stem: str) -> list:
    plt = _plt()
    agg = inputs["dmft"]
    tol = float(options.get("tol", 1e-4))
    rows = grid_convergence(agg, "overlap", tol)
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 4.5))
    grid_dims = [d for d in agg["overlap"].dims if d != "time"]
    stacked = stack_points(agg["overlap"], grid_dims)
    t = agg["time"].values
    for k in range(stacked.sizes["_pt"]):
        sel = stacked.isel(_pt=k)
        vals = dict(zip(grid_dims, np.atleast_1d(sel["_pt"].values.item()))) if grid_dims else {}
        y = sel.values
        ok = np.isfinite(y) & (t > 0) & (y > 0)
        ax0.plot(t[ok], y[ok], "-", lw=1.2, label=_setting({d: np.asarray(v).item() for d, v in vals.items()}))
    ax0.set_xscale("log")
    ax0.set_yscale("log")
    ax0.set_xlabel("time t")
    ax0.set_ylabel("overlap C̄(t) (log scale)")
    ax0.set_title("DMFT on each grid: " + _title(agg), fontsize=9)
    ax0.legend(fontsize=7)
    lines = [f"# DMFT grid convergence: max |C̄_fine − C̄_coarse| on the common times; criterion {tol:g}",
             f"# {'refinement':<34} {'max diff':>10} {'at t':>9} {'order':>7}  meets"]
    for r in rows:
        other = _setting(r["others"])
        label = f"{r['axis']} {r['coarse']:.3g} → {r['fine']:.3g}" + (f" ({other})" if other else "")
        pos = r["diff"] > 0
        style = "-" if r["axis"] in ("Nt", "ratio_density") else "--"
        ax1.plot(r["time"][pos], r["diff"][pos], style, lw=1.0, label=label)
        order = "" if not np.isfinite(r["order"]) else f"{r['order']:.2f}"
        lines.append(f"  {label:<34} {r['max_diff']:>10.2e} {r['t_at']:>9.4g} {order:>7}  {'yes' if r['ok'] else 'no'}")
    ax1.axhline(tol, color="k", ls=":", label=f"criterion {tol:g}")
    ax1.set_xscale("log")
    ax1.set_yscale("log")
    ax1.set_xlabel("time t")
    ax1.set_ylabel("|C̄_fine(t) − C̄_coarse(t)|")
    ax1.set_title("change under refinement\n(solid: Nt or ratio density doubled; dashed: dt0 halved or "
                  "ratio rtol lowered)", fontsize=9)
    ax1.legend(fontsize=7)
    return _save_with_table(fig, out_stem, lines)
