"""mixture products and figures on small hand-built aggregates (layout as sgsweep.store.aggregate)."""

import json

import numpy as np
import xarray as xr

from sgsweep.analysis import mixture as products
from sgsweep.plots import mixture as plots
from sgsweep.plots.registry import get_figure
from sgsweep.point import compute_point

FIX = dict(alpha=2.0, b=0.3, delta=0.5, lam=0.0, eta=0.2, R=0.01, clusters=2, t_max=1.0)


def _aggregate(method, axis, values, fixed):
    pts = []
    for v in values:
        ds = compute_point(method, dict(fixed, **{axis: v}), seed=1)
        keep = [c for c in ds.coords if c not in ds.dims]
        ds = ds.drop_vars([c for c in keep if c != axis]).expand_dims({axis: [v]})
        ds["status"] = ((axis,), [ds.attrs["status"]])
        pts.append(ds)
    agg = xr.concat(pts, dim=axis, data_vars="all", coords="minimal", join="exact", combine_attrs="drop")
    agg = agg.assign_coords({k: fixed[k] for k in fixed if k != axis})
    agg.attrs["sweep"] = json.dumps({"name": "t", "method": method, "axes": [axis], "fixed": fixed})
    return agg


def test_final_products_and_figures(tmp_path):
    sim = _aggregate("mixture.sim", "tau", [2 / 3, 2.0], dict(FIX, algorithm="psgd", d=40, runs=3, n_test=20))
    dm = _aggregate("mixture.dmft", "tau", [2 / 3, 2.0], dict(FIX, algorithm="psgd", paths=40, repeats=2))
    fs = products.sim_final(sim, json.loads(sim.attrs["sweep"]))
    fd = products.dmft_final(dm, json.loads(dm.attrs["sweep"]))
    np.testing.assert_allclose(fs["test_error_final"].values, sim["test_error"].isel(time=-1).mean("run").values)
    np.testing.assert_allclose(fd["norm_final_stderr"].values, dm["norm_stderr"].isel(time=-1).values)
    assert fs["test_error_final"].dims == ("tau",)
    out = get_figure("mixture.trajectories")({"dmft": dm, "sim": sim}, {"curves": "tau"}, str(tmp_path / "traj"))
    assert sorted(p[-3:] for p in out) == ["pdf", "png"]
    # two-axis map from a 2×2 DMFT grid
    pts = []
    for a in (1.0, 2.0):
        for b in (0.3, 1.0):
            ds = compute_point("mixture.dmft", dict(FIX, algorithm="sgd", alpha=a, b=b, paths=30, repeats=2), seed=1)
            ds = ds.drop_vars([c for c in ds.coords if c not in ds.dims]).expand_dims({"alpha": [a], "b": [b]})
            pts.append(ds)
    grid = xr.combine_by_coords(pts, combine_attrs="drop")
    fin = products.dmft_final(grid, {})
    out = plots.final_error({"alpha_b": fin}, {}, str(tmp_path / "map"))
    assert all((tmp_path / p).exists() for p in ("map.png", "map.pdf", "traj.png", "traj.pdf"))
