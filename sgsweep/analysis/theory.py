"""Product ``theory``: every closed-form line of the spiked model over a dense Δp grid.

Registered for ``spiked.sim`` and ``spiked.dmft`` sweeps (and ``spiked.theory`` sweeps over Δp): the
grid spans the sweep's Δp values (an axis or a fixed value), p and T are taken from the sweep
(scalar, or extra dimensions when they are grid axes). Output: Dataset over ``delta_p`` (plus ``p``
/ ``T`` if those vary) with the variables of ``spiked.theory`` (values of 1/Δ2, spiked.md §4). Used
by the ``spiked.phase_diagram`` figure (input role ``theory``).
"""

from __future__ import annotations

import json

import numpy as np
import xarray as xr

from ..spiked import kacrice, theory
from ..spiked.method_theory import LINES
from .registry import product

#: number of points of the dense Δp grid (log-spaced) and its extension around the sweep's values
N_GRID = 49
SPAN = (0.25, 4.0)


def delta_p_grid(values, n: int = N_GRID, span=SPAN) -> np.ndarray:
    """Log-spaced grid from min(values)·span[0] to max(values)·span[1], with the values themselves."""
    v = np.asarray(values, dtype=float).ravel()
    lo, hi = v.min() * span[0], v.max() * span[1]
    g = np.geomspace(lo, hi, n)
    return np.unique(np.concatenate([g, v]))


#: Δp where a line jumps (p = 4): Bayes-AMP critical point 8/27, end of the T=1 Langevin root 4/9
BREAKPOINTS = {4: (8.0 / 27.0, 4.0 / 9.0)}


def with_breakpoints(dps: np.ndarray, ps) -> np.ndarray:
    """Add points just below/above the jumps of the lines (so a plot shows a vertical step)."""
    extra = [b * f for p in ps for b in BREAKPOINTS.get(p, ()) for f in (1 - 1e-6, 1 + 1e-6)
             if dps.min() < b < dps.max()]
    return np.unique(np.concatenate([dps, extra])) if extra else dps


def lines_on_grid(p: int, dps: np.ndarray, T: float) -> dict:
    """Every line at (p, T) on the Δp grid ``dps`` (numpy arrays)."""
    out = {k: v for k, v in lines_T_independent(p, dps).items()}
    out["inv_delta2_langevin"] = theory.inv_delta2_langevin(p, dps, T)
    return out


def lines_T_independent(p: int, dps: np.ndarray) -> dict:
    return {
        "inv_delta2_it": theory.inv_delta2_it(p, dps),
        "inv_delta2_spinodal": theory.inv_delta2_spinodal(p, dps),
        "inv_delta2_amp": theory.inv_delta2_amp(p, dps),
        "inv_delta2_ml_amp": theory.inv_delta2_ml_amp(dps),
        "inv_delta2_gf": theory.inv_delta2_gf(p, dps),
        "inv_delta2_triv": kacrice.inv_delta2_triv(p, dps),
        "inv_delta2_triv_allm": kacrice.inv_delta2_triv_allm(p, dps, rtol=1e-7),
    }


def _values(agg: xr.Dataset, name: str, default=None) -> np.ndarray:
    if name in agg.coords or name in agg:
        return np.unique(np.asarray(agg[name].values).ravel())
    if default is None:
        raise ValueError(f"theory product: the sweep has no parameter {name!r}")
    return np.asarray([default])


def theory_lines(agg: xr.Dataset, sweep: dict) -> xr.Dataset:
    """The ``theory`` product (module docstring). ``inv_delta2_langevin`` has a ``T`` dimension
    holding the sweep's temperatures and always T = 1 (the Bayes-optimal Langevin line); the other
    lines do not depend on T. A ``p`` dimension appears only if the sweep has several p."""
    dps = delta_p_grid(_values(agg, "delta_p"))
    ps = [int(v) for v in _values(agg, "p", 3)]
    dps = with_breakpoints(dps, ps)
    Ts = sorted({float(v) for v in _values(agg, "T", 1.0)} | {1.0})
    names = [k for k in LINES if k != "inv_delta2_langevin"]
    arrays = {k: np.empty((len(ps), len(dps))) for k in names}
    lang = np.empty((len(ps), len(Ts), len(dps)))
    for i, p in enumerate(ps):
        vals = lines_T_independent(p, dps)
        for k in names:
            arrays[k][i] = vals[k]
        for j, T in enumerate(Ts):
            lang[i, j] = theory.inv_delta2_langevin(p, dps, T)
    data = {k: (("p", "delta_p"), arrays[k], {"units": "1", "long_name": LINES[k][0], "reference": LINES[k][1]})
            for k in names}
    data["inv_delta2_langevin"] = (("p", "T", "delta_p"), lang, {
        "units": "1", "long_name": LINES["inv_delta2_langevin"][0], "reference": LINES["inv_delta2_langevin"][1]})
    ds = xr.Dataset(data, coords={
        "p": ("p", np.array(ps), {"units": "1", "long_name": "tensor order p"}),
        "T": ("T", np.array(Ts), {"units": "1", "long_name": "temperature T of the Langevin line"}),
        "delta_p": ("delta_p", dps, {"units": "1", "long_name": "tensor noise variance Δp"}),
    })
    if ds.sizes["p"] == 1:
        ds = ds.squeeze("p")
    ds.attrs = {
        "title": f"closed-form lines of the spiked (2+p) model for sweep {sweep.get('name', '?')}",
        "reference": "spiked.md §4; sgsweep.spiked.theory, sgsweep.spiked.kacrice",
        "convention": "every line is a value of 1/Δ2; recovery/trivial landscape above it",
        "sweep": json.dumps(sweep, sort_keys=True, default=str),
    }
    return ds


for _method in ("spiked.sim", "spiked.dmft", "spiked.theory"):
    product(_method, "theory")(theory_lines)
