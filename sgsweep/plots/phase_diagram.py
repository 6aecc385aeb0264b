"""Figure ``spiked.phase_diagram``: the (Δp, 1/Δ2) phase diagram of the spiked (2+p) model.

Inputs (roles): ``theory`` (required; product ``theory`` of :mod:`sgsweep.analysis.theory`),
``sim`` (optional; simulated thresholds, dims (delta_p, N): inv_delta2_threshold[_low,_high]) and
``dmft`` (optional; dims (delta_p): inv_delta2_threshold, inv_delta2_threshold_err).
Regions: impossible (below the IT line), hard (between IT and Bayes-AMP lines), easy (above the AMP
line); lines: spinodal, ML-AMP, GF, Langevin (at the theory's T), trivialisation (m = 0 and all m).
Options: ``p`` (select one p if the theory has several; default: one panel per p), ``ymax``,
``xscale`` ('linear' or 'log', default 'log'), ``title``.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from .registry import figure
from .style import colors, panels, save

REGION_COLORS = {"impossible": "#f4c7c3", "hard": "#fce8b2", "easy": "#d9ead3"}
LINE_STYLES = {
    "inv_delta2_spinodal": dict(color="#b45f06", ls=(0, (1, 1)), lw=1.0, label="Bayes SE spinodal"),
    "inv_delta2_ml_amp": dict(color="#00a0b0", ls="-", lw=1.8, label="ML-AMP (§4.2)"),
    "inv_delta2_gf": dict(color="#1f4e9c", ls=":", lw=2.2, label="gradient flow, conjecture (§4.4)"),
    "inv_delta2_langevin": dict(color="#a61c84", ls="--", lw=1.6, label="Langevin T={T:g}, conjecture (§4.4)"),
    "inv_delta2_triv": dict(color="black", ls="-", lw=1.4, label="trivialisation, m=0 (Kac–Rice §4.3)"),
    "inv_delta2_triv_allm": dict(color="0.45", ls="-.", lw=1.2, label="no spurious minima at any m (§4.3)"),
}


def _sel_p(ds: xr.Dataset | None, p: int) -> xr.Dataset | None:
    if ds is None:
        return None
    if "p" in ds.dims:
        return ds.sel(p=p) if p in ds["p"].values else None
    if "p" in ds.coords and int(ds["p"].values) != p:
        return None
    return ds


def _draw(ax, th: xr.Dataset, sim, dmft, p: int, options: dict) -> None:
    dp = th["delta_p"].values
    it = th["inv_delta2_it"].values
    am = th["inv_delta2_amp"].values
    top_keys = ("inv_delta2_gf", "inv_delta2_triv")
    tops = [np.ravel(th[k].values) for k in top_keys if k in th] + [np.ravel(am)]
    ymax = float(options.get("ymax", 1.08 * np.nanmax(np.concatenate(tops))))
    ax.fill_between(dp, 0, it, color=REGION_COLORS["impossible"], lw=0, label="impossible (below IT, §4.1)")
    ax.fill_between(dp, it, am, color=REGION_COLORS["hard"], lw=0, label="hard for AMP (IT < 1/Δ2 < AMP)")
    ax.fill_between(dp, am, ymax, color=REGION_COLORS["easy"], lw=0, label="easy for Bayes AMP")
    ax.plot(dp, it, color="#cc0000", lw=1.2, label="IT threshold (§4.1)")
    ax.plot(dp, am, color="#38761d", lw=1.2, label="Bayes AMP line (§4.1)")
    for k, st in LINE_STYLES.items():
        if k not in th:
            continue
        if k == "inv_delta2_triv_allm" and np.allclose(th[k].values, th["inv_delta2_triv"].values, rtol=1e-6):
            continue
        if k == "inv_delta2_langevin":
            da = th[k]
            Ts = [float(t) for t in np.atleast_1d(da["T"].values)] if "T" in da.dims else [float(da["T"])]
            for T in Ts:
                if T == 0:  # identical to the GF line
                    continue
                y = da.sel(T=T).values if "T" in da.dims else da.values
                ax.plot(dp, y, **{**st, "label": st["label"].format(T=T)})
            continue
        ax.plot(dp, th[k].values, **st)
    if sim is not None and "inv_delta2_threshold" in sim:
        Ns = sim["N"].values if "N" in sim.dims else [None]
        for c, N in zip(colors(len(Ns), "viridis"), Ns):
            s = sim.sel(N=N) if N is not None else sim
            y = s["inv_delta2_threshold"].values
            x = s["delta_p"].values * (1.0 + 0.012 * (list(Ns).index(N) - (len(Ns) - 1) / 2))
            lo = s["inv_delta2_threshold_low"].values if "inv_delta2_threshold_low" in s else y
            hi = s["inv_delta2_threshold_high"].values if "inv_delta2_threshold_high" in s else y
            err = np.vstack([np.clip(y - lo, 0, None), np.clip(hi - y, 0, None)])
            lab = f"simulation threshold, N = {int(N)}" if N is not None else "simulation threshold"
            ax.errorbar(x, y, yerr=err, fmt="o", ms=4, capsize=2, color=c, mec="k", mew=0.5, label=lab)
    if dmft is not None and "inv_delta2_threshold" in dmft:
        y = dmft["inv_delta2_threshold"].values
        e = dmft["inv_delta2_threshold_err"].values if "inv_delta2_threshold_err" in dmft else None
        ax.errorbar(np.atleast_1d(dmft["delta_p"].values), np.atleast_1d(y),
                    yerr=None if e is None else np.atleast_1d(e), fmt="s", ms=5, capsize=2,
                    color="#ff6d01", mec="k", mew=0.5, label="DMFT threshold (extrapolated)")
    ax.set_xscale(options.get("xscale", "log"))
    if options.get("xscale", "log") == "log":
        from matplotlib.ticker import FormatStrFormatter, LogLocator, NullFormatter
        ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(FormatStrFormatter("%g"))
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlim(dp.min(), dp.max())
    ax.set_ylim(0, ymax)
    ax.set_xlabel("tensor noise variance Δp (dimensionless)")
    ax.set_title(options.get("title", f"spiked (2+{p}) matrix–tensor model"))


@figure("spiked.phase_diagram")
def phase_diagram(inputs: dict, options: dict, out_stem: str) -> list[str]:
    """Phase diagram in the (Δp, 1/Δ2) plane (module docstring)."""
    th: xr.Dataset = inputs["theory"]
    if "p" in th.dims:
        ps = [int(v) for v in th["p"].values]
    else:
        ps = [int(th["p"].values)] if "p" in th.coords else [3]
    if "p" in options:
        ps = [int(options["p"])]
    fig, axs = panels(len(ps), width=5.6, height=4.6, sharey=False)
    for ax, p in zip(axs, ps):
        _draw(ax, _sel_p(th, p), _sel_p(inputs.get("sim"), p), _sel_p(inputs.get("dmft"), p), p, options)
    axs[0].set_ylabel("signal-to-noise 1/Δ2 of the matrix (dimensionless)")
    handles, labels = axs[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=2, fontsize="small")
    return save(fig, out_stem)
