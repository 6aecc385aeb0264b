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
SPAN = (0.5, 2.0)


def delta_p_grid(values, n: int = N_GRID, span=SPAN) -> np.ndarray:
    """Log-spaced grid from min(values)·span[0] to max(values)·span[1], with the values themselves."""
    v = np.asarray(values, dtype=float).ravel()
    lo, hi = v.min() * span[0], v.max() * span[1]
    g = np.geomspace(lo, hi, n)
    return np.unique(np.concatenate([g, v]))


def lines_on_grid(p: int, dps: np.ndarray, T: float) -> dict:
    """Every line at (p, T) on the Δp grid ``dps`` (numpy arrays)."""
    return {
        "inv_delta2_it": theory.inv_delta2_it(p, dps),
        "inv_delta2_spinodal": theory.inv_delta2_spinodal(p, dps),
        "inv_delta2_amp": theory.inv_delta2_amp(p, dps),
        "inv_delta2_ml_amp": theory.inv_delta2_ml_amp(dps),
        "inv_delta2_gf": theory.inv_delta2_gf(p, dps),
        "inv_delta2_langevin": theory.inv_delta2_langevin(p, dps, T),
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
    """The ``theory`` product (module docstring)."""
    dps = delta_p_grid(_values(agg, "delta_p"))
    ps = [int(v) for v in _values(agg, "p", 3)]
    Ts = [float(v) for v in _values(agg, "T", 1.0)]
    arrays = {k: np.empty((len(ps), len(Ts), len(dps))) for k in LINES}
    for i, p in enumerate(ps):
        for j, T in enumerate(Ts):
            vals = lines_on_grid(p, dps, T)
            for k in LINES:
                arrays[k][i, j] = vals[k]
    dims = ("p", "T", "delta_p")
    data = {k: (dims, arrays[k], {"units": "1", "long_name": LINES[k][0], "reference": LINES[k][1]})
            for k in LINES}
    ds = xr.Dataset(data, coords={
        "p": ("p", np.array(ps), {"units": "1", "long_name": "tensor order p"}),
        "T": ("T", np.array(Ts), {"units": "1", "long_name": "temperature T of the Langevin line"}),
        "delta_p": ("delta_p", dps, {"units": "1", "long_name": "tensor noise variance Δp"}),
    })
    squeeze = [d for d in ("p", "T") if ds.sizes[d] == 1]
    ds = ds.squeeze(squeeze)
    ds.attrs = {
        "title": f"closed-form lines of the spiked (2+p) model for sweep {sweep.get('name', '?')}",
        "reference": "spiked.md §4; sgsweep.spiked.theory, sgsweep.spiked.kacrice",
        "convention": "every line is a value of 1/Δ2; recovery/trivial landscape above it",
        "sweep": json.dumps(sweep, sort_keys=True, default=str),
    }
    return ds


for _method in ("spiked.sim", "spiked.dmft", "spiked.theory"):
    product(_method, "theory")(theory_lines)
