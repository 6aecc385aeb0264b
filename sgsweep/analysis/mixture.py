"""Derived products of the Gaussian-mixture sweeps (mixture.sim, mixture.dmft).

``final``: the observables at the last time of each grid point (dims = the sweep's grid axes):
``test_error_final``, ``train_loss_final``, ``train_accuracy_final``, ``magnetization_final``,
``norm_final`` and their ``_stderr`` (simulations: standard error over runs; DMFT: the
Monte-Carlo error over independent repeats carried by the point files). Failed or diverged
points are NaN there and flagged by ``status`` (copied from the aggregate).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from .registry import product

OBS = ("test_error", "train_loss", "train_accuracy", "magnetization", "norm")


def _last(da: xr.DataArray) -> xr.DataArray:
    """Value at the last finite time of each point (runs end at the same t_max within a sweep)."""
    return da.isel(time=-1, drop=True)


def _keep_coords(out: xr.Dataset, agg: xr.Dataset) -> xr.Dataset:
    for name, c in agg.coords.items():
        if name not in out.coords and "time" not in c.dims and "run" not in c.dims:
            out = out.assign_coords({name: c})
    return out


@product("mixture.sim", "final")
def sim_final(agg: xr.Dataset, sweep: dict) -> xr.Dataset:
    """Mean ± standard error over runs of each observable at t_max."""
    out = xr.Dataset()
    nrun = agg.sizes["run"]
    for v in OBS + ("test_error_empirical",):
        if v not in agg:
            continue
        last = _last(agg[v])
        n = last.notnull().sum("run")
        out[v + "_final"] = last.mean("run", skipna=True).assign_attrs(
            units="1", long_name=f"{agg[v].attrs.get('long_name', v)} at t_max, mean over runs")
        out[v + "_final_stderr"] = (last.std("run", ddof=1, skipna=True) / np.sqrt(n)).assign_attrs(
            units="1", long_name=f"standard error over {nrun} runs")
    if "status" in agg:
        out["status"] = agg["status"]
    out.attrs["t_max"] = float(agg["time"].values[-1])
    return _keep_coords(out, agg)


@product("mixture.dmft", "final")
def dmft_final(agg: xr.Dataset, sweep: dict) -> xr.Dataset:
    """DMFT observables at t_max with their Monte-Carlo standard errors."""
    out = xr.Dataset()
    for v in OBS:
        out[v + "_final"] = _last(agg[v]).assign_attrs(units="1", long_name=f"DMFT {v} at t_max")
        out[v + "_final_stderr"] = _last(agg[v + "_stderr"]).assign_attrs(units="1", long_name="Monte-Carlo standard error")
    if "status" in agg:
        out["status"] = agg["status"]
    out.attrs["t_max"] = float(agg["time"].values[-1])
    return _keep_coords(out, agg)
