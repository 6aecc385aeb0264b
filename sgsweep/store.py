"""Storage: atomic netCDF writes, point files, and the aggregation of a sweep into one Dataset.

Every file is written to a temporary name in the destination folder and renamed into place, so a
file that exists is complete (a job killed with SIGKILL leaves at most a ``.tmp-*`` file, which is
never read and is removed by the next write of that file).

The aggregate of a sweep has one dimension per grid axis (declared order and values), then the
dimensions of the point datasets (replica ``sample``/``run``, ``time``, ...). Replica blocks of a
point are concatenated along the replica dimension; the grid must be complete and exact (every
task file present, replicas exactly ``0..samples-1``). Point files are read with netCDF4 directly,
which is ~10x faster than ``xarray.open_dataset`` per file (10^4 points in seconds).
"""

from __future__ import annotations

import glob
import json
import os
import pickle
import tempfile
from pathlib import Path

import netCDF4
import numpy as np
import xarray as xr

from . import __version__, methods
from .point import git_commit


def _umask() -> int:
    """The process umask, read without changing it where Linux shows it (os.umask can only read it
    by setting it, which would briefly affect files other threads create)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: str | os.PathLike, write) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, fsync it, rename it into place.

    Leftovers of earlier writes killed in the middle (``path.tmp-*``) are removed first."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in glob.glob(glob.escape(str(path)) + ".tmp-*"):
        try:
            os.unlink(stale)
        except OSError:
            pass
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".tmp-", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        # mkstemp creates the file private (0600); give it the mode a plain open() would, so that
        # results on a shared cluster directory stay readable by the group as the umask allows
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


def write_atomic(ds: xr.Dataset, path: str | os.PathLike) -> Path:
    """Write ``ds`` to ``path`` (netCDF4 engine) through a temporary file and a rename."""
    return atomic_write(path, lambda tmp: ds.to_netcdf(tmp, engine="netcdf4", format="NETCDF4"))


def write_text_atomic(text: str, path: str | os.PathLike) -> Path:
    def write(tmp):
        with open(tmp, "w") as fh:
            fh.write(text)

    return atomic_write(path, write)


def _stamp(path: Path) -> tuple:
    st = path.stat()
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def read_point_files(root, relpaths, skip: set, previous: dict | None = None) -> dict:
    """``{relpath: raw record}`` of point files (see :func:`_read_raw`), with their stat stamp.

    Records of ``previous`` (an earlier read cache) whose file still has the same stamp are reused,
    so a chunk that gained a few points reads only those."""
    root = Path(root)
    previous = previous or {}
    out = {}
    for rel in relpaths:
        out[rel] = _cached_or_read(previous, root, root / rel, skip)
    return out


def write_read_cache(raws: dict, path) -> Path:
    """Pickle of a chunk's point records: an internal cache written by the chunk job itself (never
    an input from elsewhere); every record carries its file's (size, mtime, inode) stamp and is
    used only while the file still has it."""

    def write(tmp):
        with open(tmp, "wb") as fh:
            pickle.dump({"version": 1, "raws": raws}, fh, protocol=pickle.HIGHEST_PROTOCOL)

    return atomic_write(path, write)


def load_read_caches(paths) -> dict:
    out = {}
    for p in paths:
        try:
            with open(p, "rb") as fh:
                data = pickle.load(fh)
        except (OSError, pickle.UnpicklingError, EOFError):
            continue
        if isinstance(data, dict) and data.get("version") == 1:
            out.update(data["raws"])
    return out


def open_dataset(path) -> xr.Dataset:
    """Load a netCDF file fully into memory and close it."""
    with xr.open_dataset(path, engine="netcdf4") as ds:
        return ds.load()


# ------------------------------------------------------------------------------ aggregation
def _read_raw(path: Path, skip: set) -> dict:
    """Variables of a point file as numpy arrays: ``{name: (dims, array, attrs)}`` + attrs."""
    out = {"vars": {}, "coords": {}, "attrs": {}}
    with netCDF4.Dataset(path) as nc:
        nc.set_auto_mask(False)
        out["attrs"] = {k: nc.getncattr(k) for k in nc.ncattrs()}
        for name, var in nc.variables.items():
            if name in skip:
                continue
            data = var[...]
            attrs = {k: var.getncattr(k) for k in var.ncattrs() if not k.startswith("_")}
            attrs.pop("coordinates", None)
            if data.dtype.kind == "S":  # char arrays
                data = netCDF4.chartostring(data)
            entry = (tuple(var.dimensions), np.asarray(data), attrs)
            if var.dimensions == (name,):
                out["coords"][name] = entry
            else:
                out["vars"][name] = entry
    return out


def _decode(entry):
    """Apply CF decoding we rely on (bool flags written by xarray as int8 with dtype attr)."""
    dims, data, attrs = entry
    attrs = dict(attrs)
    if attrs.pop("dtype", None) == "bool":
        data = data.astype(bool)
    return dims, data, attrs


def aggregate(sweep, root: str | os.PathLike = "results", progress=None, caches=()) -> xr.Dataset:
    """Combine the point files of ``sweep`` (a :class:`sgsweep.sweeps.Sweep`) into one Dataset.

    ``caches``: read caches of the sweep's chunks; a point file whose stamp matches its cached
    record is not opened again."""
    root = Path(root)
    order, by_point = _point_files(sweep, root)
    points = _read_points(sweep, root, order, by_point, load_read_caches(caches), progress)
    grid_dims = tuple(sweep.axis_names)
    ds = _point_variables(points, sweep.shape, grid_dims)
    ds = _grid_variables(ds, points, sweep, grid_dims)
    ds.attrs = _aggregate_attrs(points, sweep)
    _add_per_point_attrs(ds, points, grid_dims, sweep.shape)
    return ds


def _point_files(sweep, root: Path) -> tuple[list, dict]:
    """Points in grid order [(point_id, axes)] and their replica-block files {point_id: [(start,
    stop, path)]}; refuses an incomplete grid."""
    by_point: dict[str, list] = {}
    order = []
    missing = []
    for task in sweep.tasks():
        f = root / task.relpath
        if not f.exists():
            missing.append(str(f))
            continue
        if task.point_id not in by_point:
            by_point[task.point_id] = []
            order.append((task.point_id, task.axes))
        by_point[task.point_id].append((task.start, task.stop, f))
    if missing:
        raise FileNotFoundError(
            f"sweep {sweep.name}: {len(missing)} point files missing (grid incomplete), e.g. {missing[0]}"
        )
    if len(order) != sweep.n_points:
        raise ValueError(f"sweep {sweep.name}: {len(order)} points on disk, grid has {sweep.n_points}")
    return order, by_point


def _read_points(sweep, root: Path, order: list, by_point: dict, cached: dict, progress) -> list[dict]:
    """One record per point: its status (``failed`` if any block failed, else the first status
    other than ok/converged), errors, wall time, commits, attrs and merged data (None if failed)."""
    method = sweep.method
    skip = set(method.param_names)
    rep_dim = method.replicas[1] if method.replicas else None
    n = len(order)
    points = []
    for k, (pid, ax) in enumerate(order):
        blocks = sorted(by_point[pid])
        raws = [_cached_or_read(cached, root, f, skip) for (_a, _b, f) in blocks]
        status = [str(r["attrs"].get("status", "ok")) for r in raws]
        failed = [s for s in status if s == "failed"]
        st = "failed" if failed else next((s for s in status if s not in ("ok", "converged")), status[0])
        errors = [str(r["attrs"].get("error", "")) for r in raws if r["attrs"].get("status") == "failed"]
        wall = float(sum(float(r["attrs"].get("wall_time_s", 0.0)) for r in raws))
        commits = {str(r["attrs"].get("git_commit", "unknown")) for r in raws}
        good = [r for r in raws if r["attrs"].get("status") != "failed"]
        merged = None
        if good and len(good) == len(raws):
            merged = _merge_blocks(good, rep_dim, blocks, sweep)
        points.append({"axes": ax, "status": st, "errors": errors, "wall": wall, "commits": commits, "data": merged, "attrs": raws[0]["attrs"]})
        if progress and (k + 1) % 500 == 0:
            progress(k + 1, n, "points read")
    return points


def _point_variables(points: list, shape: tuple, grid_dims: tuple) -> xr.Dataset:
    """The points' variables over (grid axes, point dims); a non-grid coordinate (e.g. solver time
    points differing per point) is the union of the points' values, missing entries NaN."""
    template = next((p["data"] for p in points if p["data"] is not None), None)
    ds = xr.Dataset()
    if template is None:
        return ds
    dim_coords = {}
    for d, (cd, cval, cattrs) in template["coords"].items():
        vals = cval
        for p in points:
            if p["data"] is not None:
                other = p["data"]["coords"].get(d)
                if other is not None and not np.array_equal(other[1], vals):
                    vals = np.union1d(vals, other[1])
        dim_coords[d] = (vals, cattrs)
    for name, (vdims, vdata, vattrs) in template["vars"].items():
        full_shape = shape + tuple(len(dim_coords[d][0]) if d in dim_coords else vdata.shape[i] for i, d in enumerate(vdims))
        any_missing = any(p["data"] is None or name not in p["data"]["vars"] for p in points)
        dtype = vdata.dtype
        if dtype.kind in "fc":
            fill = np.nan
        elif dtype.kind in "biu":
            if any_missing or _coords_vary(points, vdims, dim_coords):
                dtype, fill = np.float64, np.nan
            else:
                fill = 0
        else:
            dtype, fill = object, ""
        arr = np.full(full_shape, fill, dtype=dtype)
        flat = arr.reshape((-1,) + full_shape[len(shape):])
        for k, p in enumerate(points):
            if p["data"] is None or name not in p["data"]["vars"]:
                continue
            pd_, pdata, _ = p["data"]["vars"][name]
            idx = []
            for i, d in enumerate(pd_):
                if d in dim_coords and d in p["data"]["coords"]:
                    pos = np.searchsorted(dim_coords[d][0], p["data"]["coords"][d][1])
                    idx.append(pos)
                else:
                    idx.append(slice(0, pdata.shape[i]))
            if all(isinstance(i, slice) for i in idx):
                flat[(k, *idx)] = pdata  # also scalar variables (no dims)
            else:
                flat[k][np.ix_(*[np.arange(s.stop)[s] if isinstance(s, slice) else s for s in idx])] = pdata
        ds[name] = xr.Variable(grid_dims + vdims, arr, vattrs)
    for d, (vals, cattrs) in dim_coords.items():
        ds = ds.assign_coords({d: xr.Variable((d,), vals, cattrs)})
    return ds


def _grid_variables(ds: xr.Dataset, points: list, sweep, grid_dims: tuple) -> xr.Dataset:
    """Per-point status and wall time, the grid coordinates (declared values, and the parameter
    they set for reciprocal axes) and the fixed parameters as scalar coordinates."""
    method = sweep.method
    axes = sweep.axes
    shape = sweep.shape
    status = np.array([p["status"] for p in points], dtype=object).reshape(shape)
    ds["status"] = xr.Variable(grid_dims, status, {"long_name": "status of the point's solve (ok, converged, max_iterations, diverged, failed)"})
    wall = np.array([p["wall"] for p in points]).reshape(shape)
    ds["wall_time_s"] = xr.Variable(grid_dims, wall, {"units": "s", "long_name": "wall time of the point (sum over replica blocks)"})
    for axis, pname, recip, declared, values in axes:
        p = method.param(pname)
        if recip:
            ds = ds.assign_coords({axis: xr.Variable((axis,), np.array(declared, dtype=float), {"units": f"1/({p.units})", "long_name": f"1/{pname}: inverse of {p.description}"})})
            ds = ds.assign_coords({pname: xr.Variable((axis,), np.array([v for v, _ in values]), {"units": p.units, "long_name": p.description})})
        else:
            arr = np.array(declared) if p.kind is not str else np.array(declared, dtype=object)
            ds = ds.assign_coords({axis: xr.Variable((axis,), arr, {"units": p.units, "long_name": p.description})})
    first_params = json.loads(_first_attr(points, "params_json") or "{}")
    axis_params = {a[1] for a in axes}
    for p in method.params:
        if p.name in axis_params or p.name == "seed" or (method.replicas and p.name == method.replicas[0]):
            continue
        v = first_params.get(p.name, sweep.fixed.get(p.name, p.default))
        if v is None or v is methods.REQUIRED:
            continue
        ds = ds.assign_coords({p.name: xr.Variable((), v if not isinstance(v, bool) else int(v), {"units": p.units, "long_name": p.description})})
    return ds


def _aggregate_attrs(points: list, sweep) -> dict:
    """Provenance of the aggregate: sweep, seed, failed points with their errors, commits."""
    method = sweep.method
    failed = [(p["axes"], p["errors"]) for p in points if p["status"] == "failed"]
    commits = sorted(set().union(*[p["commits"] for p in points])) if points else []
    return {
        "title": f"sgsweep aggregate of sweep {sweep.name} ({method.name})",
        "method": method.name,
        "sweep": json.dumps(sweep.describe(), sort_keys=True),
        "seed": sweep.seed,
        "points": len(points),
        "failed_points": len(failed),
        "failed_json": json.dumps([{"axes": a, "error": e[0][-2000:] if e else ""} for a, e in failed]),
        "point_git_commits": ", ".join(commits),
        "sgsweep_version": __version__,
        "git_commit": git_commit(),
        "Conventions": "CF-1.10",
        "reference": method.reference,
    }


def _add_per_point_attrs(ds: xr.Dataset, points: list, grid_dims: tuple, shape) -> None:
    """Per-point attrs (e.g. success_threshold, solver diagnostics): constant ones stay attrs,
    numeric or text ones that vary across points become variables over the grid axes (a missing
    value is NaN, or "" for text)."""
    names = sorted({k for p in points for k in p["attrs"]} - _PER_POINT_ATTRS)
    for k in names:
        if k.startswith("param_") or k in ds.attrs or k in ds.variables:
            continue
        vals = [p["attrs"].get(k) for p in points]
        present = [v for v in vals if v is not None]
        if all(_same(v, present[0]) for v in present):
            ds.attrs[k] = present[0]
        elif all(np.ndim(v) == 0 and isinstance(v, (int, float, np.number)) for v in present):
            arr = np.array([np.nan if v is None else float(v) for v in vals]).reshape(shape)
            ds[k] = xr.Variable(grid_dims, arr, {"long_name": f"per-point attribute {k}"})
        elif all(isinstance(v, str) for v in present):
            # e.g. the status of a second solve (spiked.dmft's grid check): kept per point
            arr = np.array(["" if v is None else v for v in vals], dtype=object).reshape(shape)
            ds[k] = xr.Variable(grid_dims, arr, {"long_name": f"per-point attribute {k}"})


def _same(a, b) -> bool:
    try:
        return bool(np.array_equal(a, b))
    except Exception:
        return a == b


_PER_POINT_ATTRS = {"status", "wall_time_s", "error", "point_id", "params_json", "replica_start", "replica_stop", "git_commit", "seed"}


def _cached_or_read(cached: dict, root: Path, f: Path, skip: set) -> dict:
    stamp = _stamp(f)
    raw = cached.get(str(f.relative_to(root)))
    if raw is not None and raw.get("stamp") == stamp:
        return raw
    raw = _read_raw(f, skip)
    raw["stamp"] = stamp
    return raw


def _coords_vary(points, vdims, dim_coords) -> bool:
    for p in points:
        if p["data"] is None:
            continue
        for d in vdims:
            if d in dim_coords and d in p["data"]["coords"] and len(p["data"]["coords"][d][1]) != len(dim_coords[d][0]):
                return True
    return False


def _first_attr(points, key):
    for p in points:
        if p["data"] is not None:
            return p["data"]["attrs"].get(key)
    return None


def _merge_blocks(raws: list, rep_dim: str | None, blocks, sweep) -> dict:
    """One point's replica blocks -> one record (arrays concatenated along the replica dim)."""
    first = raws[0]
    rec = {"vars": {}, "coords": {}, "attrs": first["attrs"]}
    for name, entry in first["coords"].items():
        if name == rep_dim:
            continue
        rec["coords"][name] = entry
    if rep_dim is not None:
        covered = [b[:2] for b in blocks]
        expect = 0
        for a, b in covered:
            if a != expect:
                raise ValueError(f"sweep {sweep.name}: replica blocks {covered} do not tile 0..{sweep.samples}")
            expect = b
        if expect != sweep.samples:
            raise ValueError(f"sweep {sweep.name}: replica blocks {covered} do not tile 0..{sweep.samples}")
        rec["coords"][rep_dim] = ((rep_dim,), np.arange(sweep.samples), {"long_name": f"{rep_dim} index (seed tree leaf)"})
    for name, entry in first["vars"].items():
        dims, data, attrs = _decode(entry)
        if rep_dim is not None and rep_dim in dims and len(raws) > 1:
            ax = dims.index(rep_dim)
            data = np.concatenate([_decode(r["vars"][name])[1] for r in raws], axis=ax)
        rec["vars"][name] = (dims, data, attrs)
    return rec
