"""Atomic writes and the aggregation of a sweep's point files."""

import numpy as np
import pytest

from sgsweep.batch import run_tasks
from sgsweep.point import compute_point
from sgsweep.store import aggregate, open_dataset, write_atomic
from sgsweep.sweeps import parse_sweep

SPEC = {
    "method": "toy.walk",
    "grid": {"scale": [1.0, 2.0], "steps": [3, 4]},
    "samples": 5,
    "seed": 2,
    "samples_per_task": 2,
}


def run(sweep, root):
    return run_tasks([t.to_json() for t in sweep.tasks()], str(root))


def test_aggregate_rebuilds_grid_and_replicas(tmp_path):
    sw = parse_sweep("w", SPEC)
    run(sw, tmp_path)
    agg = aggregate(sw, tmp_path)
    assert agg["walk"].dims == ("scale", "steps", "sample", "time")
    assert agg["walk"].shape == (2, 2, 5, 4)  # union of time coords; steps=3 padded with NaN
    assert np.isnan(agg["walk"].sel(steps=3).values[..., 3]).all()
    assert list(agg["sample"].values) == [0, 1, 2, 3, 4]
    # bits equal a one-shot computation of the whole point
    one = compute_point("toy.walk", {"scale": 2.0, "steps": 4, "samples": 5, "seed": 2})
    np.testing.assert_array_equal(agg["walk"].sel(scale=2.0, steps=4).values, one["walk"].values)
    # attrs varying across points became variables, constant ones stayed attrs
    np.testing.assert_array_equal(agg["walk_scale_squared"].values, [[1, 1], [4, 4]])
    assert agg.attrs["walk_kind"] == "gaussian" and "walk_kind" not in agg.variables
    regime = [["small steps"] * 2, ["large steps"] * 2]  # text that varies is kept per point too
    assert agg["walk_regime"].dims == ("scale", "steps") and agg["walk_regime"].values.tolist() == regime
    assert (agg["status"].values == "ok").all()
    # round trip through netCDF
    write_atomic(agg, tmp_path / "agg.nc")
    back = open_dataset(tmp_path / "agg.nc")
    np.testing.assert_array_equal(back["walk"].values, agg["walk"].values)
    assert back["walk_regime"].values.tolist() == regime


def test_rerun_computes_only_missing_files(tmp_path):
    sw = parse_sweep("w", SPEC)
    first = run(sw, tmp_path)
    assert not any(d["cached"] for d in first)
    victim = tmp_path / sw.name / "points"
    files = sorted(victim.rglob("*.nc"))
    mtimes = {f: f.stat().st_mtime_ns for f in files}
    files[0].unlink()
    second = run(sw, tmp_path)
    assert sum(not d["cached"] for d in second) == 1
    assert all(f.stat().st_mtime_ns == m for f, m in mtimes.items() if f != files[0])


def test_failed_point_is_marked_and_others_complete(tmp_path):
    spec = dict(SPEC, grid={"fail": [False, True]}, fixed={"steps": 3})
    sw = parse_sweep("f", spec)
    run(sw, tmp_path)
    agg = aggregate(sw, tmp_path)
    assert list(agg["status"].values) == ["ok", "failed"]
    assert np.isnan(agg["walk"].sel(fail=True)).all() and np.isfinite(agg["walk"].sel(fail=False)).all()
    assert agg.attrs["failed_points"] == 1 and "diverged on purpose" in agg.attrs["failed_json"]


def test_incomplete_grid_is_an_error(tmp_path):
    sw = parse_sweep("w", SPEC)
    run(sw, tmp_path)
    next((tmp_path / "w" / "points").rglob("*.nc")).unlink()
    with pytest.raises(FileNotFoundError, match="grid incomplete"):
        aggregate(sw, tmp_path)


def test_atomic_write_leaves_no_partial_file(tmp_path):
    ds = compute_point("toy.walk", {})
    target = tmp_path / "x.nc"
    (tmp_path / "x.nc.tmp-stale").write_text("partial")
    write_atomic(ds, target)
    assert target.exists() and not list(tmp_path.glob("*.tmp-*"))


def test_atomic_outputs_get_the_umask_mode_not_the_private_temp_mode(tmp_path):
    # mkstemp makes 0600 files; results and figures on a shared cluster directory must get the
    # mode a plain open() gives under the caller's umask (here 022 -> 0644, 027 -> 0640)
    import os
    import stat

    import matplotlib.pyplot as plt

    from sgsweep.plots.style import save

    ds = compute_point("toy.walk", {})
    old = os.umask(0o027)
    try:
        write_atomic(ds, tmp_path / "a.nc")
        fig, ax = plt.subplots()
        ax.plot([0, 1], [0, 1])
        paths = save(fig, str(tmp_path / "fig"))
    finally:
        os.umask(old)
    assert sorted(paths) == [str(tmp_path / "fig.pdf"), str(tmp_path / "fig.png")]
    for name in ("a.nc", "fig.png", "fig.pdf"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o640, name
    assert (tmp_path / "fig.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "fig.pdf").read_bytes()[:4] == b"%PDF"
    assert not list(tmp_path.glob("*.tmp-*"))


def test_scalar_only_methods_aggregate(tmp_path, toy):
    # a point whose variables are all scalars (closed forms) must stack into grid-shaped arrays
    from sgsweep.methods import Method, Param, register, _REGISTRY
    import xarray as xr

    if "toy.scalar" not in _REGISTRY:
        register(Method(
            name="toy.scalar", description="x squared", params=(Param("x", float, 1.0, "x"),),
            compute=lambda p, ctx: xr.Dataset({"y": ((), p["x"] ** 2, {"units": "1"})}),
        ))
    sw = parse_sweep("sc", {"method": "toy.scalar", "grid": {"x": [1.0, 2.0, 3.0]}})
    run(sw, tmp_path)
    agg = aggregate(sw, tmp_path)
    np.testing.assert_array_equal(agg["y"].values, [1.0, 4.0, 9.0])


def test_read_caches_give_the_same_aggregate_and_stale_records_are_ignored(tmp_path):
    from sgsweep.batch import run_chunk

    sw = parse_sweep("w", SPEC)
    caches = []
    for c, ts in sw.chunked_tasks().items():
        caches.append(tmp_path / f"c{c}.pkl")
        run_chunk([t.to_json() for t in ts], str(tmp_path), str(tmp_path / f"c{c}.json"), str(caches[-1]))
    plain = aggregate(sw, tmp_path)
    fast = aggregate(sw, tmp_path, caches=caches)
    assert plain.identical(fast)
    # replace one point file by another point's content: its cached record no longer matches
    points = tmp_path / "w" / "points"
    victim = points / "fail=false,scale=1,steps=3" / "seed2_r0-2.nc"
    other = points / "fail=false,scale=2,steps=3" / "seed2_r0-2.nc"
    data = other.read_bytes()
    victim.unlink()
    victim.write_bytes(data)
    changed = aggregate(sw, tmp_path, caches=caches)
    assert changed.identical(aggregate(sw, tmp_path))
    assert not changed.identical(fast)
