"""Compute one grid point: (method, parameters, seed, replica range) -> tidy Dataset.

This is the single entry point shared by ``sgsweep run`` and the pipeline's chunk jobs, so both
write the same dataset for the same point. The method's compute function returns data variables;
here the parameters are added as scalar coordinates (CF ``units``/``long_name``) and attrs, with
the provenance attrs of the contract (``sgsweep_version``, ``git_commit``, ``seed``,
``wall_time_s``, ``status``). An exception inside the computation becomes a dataset with status
``failed`` and the error text, never a silent NaN.
"""

from __future__ import annotations

import functools
import json
import logging
import subprocess
import time
import traceback
from pathlib import Path

import numpy as np
import xarray as xr

from . import __version__, grid, methods
from .methods import PointContext
from .progress import Progress

log = logging.getLogger("sgsweep")


@functools.lru_cache(maxsize=1)
def git_commit() -> str:
    """Commit of the source tree the package runs from ("unknown" outside a git checkout)."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5
        )
        if out.returncode != 0:
            return "unknown"
        commit = out.stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no", "--", "."],
            capture_output=True, text=True, timeout=5,
        )
        return commit + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _attr_value(v):
    if v is None:
        return "none"
    if isinstance(v, bool):
        return int(v)
    return v


def _set_threads(threads: int) -> None:
    import numba

    numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))


def compute_point(
    method_name: str,
    params: dict,
    seed: int | None = None,
    replicas: tuple[int, int] | None = None,
    threads: int = 1,
    memory_mb: float = 4000.0,
    label: str | None = None,
) -> xr.Dataset:
    """Compute one point and return its dataset (never raises for a failed solve).

    ``params`` may omit defaults; they are validated and canonicalised here (bad input raises
    :class:`~sgsweep.methods.ParameterError` before any computation). ``replicas=(start, stop)``
    selects the global replica indices (default: all ``samples``/``runs``). ``seed`` defaults to
    ``params["seed"]``.
    """
    method = methods.get(method_name)
    values = dict(params)
    if seed is not None and "seed" in method.param_names:
        values["seed"] = seed
    full = grid.canonical_params(method, values)
    base_seed = int(full.get("seed") or 0)
    if method.replicas is not None:
        count = full[method.replicas[0]]
        start, stop = replicas if replicas is not None else (0, count)
        if not 0 <= start < stop:
            raise methods.ParameterError(f"replicas: got {replicas}, expected 0 <= start < stop")
        index = np.arange(start, stop)
    else:
        start, stop = 0, 1
        index = np.arange(0)
    pid = grid.point_id(method, full)
    ctx = PointContext(
        replica_seeds=grid.replica_seeds(base_seed, method, full, index),
        replica_index=index,
        root_seed=grid.root_seed(base_seed, method, full),
        threads=threads,
        memory_mb=memory_mb,
        progress=Progress(label or f"{method.name} {pid}"),
    )
    _set_threads(threads)
    t0 = time.perf_counter()
    error = None
    try:
        ds = method.compute(dict(full), ctx)
        if not isinstance(ds, xr.Dataset):
            raise TypeError(f"{method.name} returned {type(ds).__name__}, expected xarray.Dataset")
        status = str(ds.attrs.get("status", "ok"))
    except Exception:  # recorded in the dataset: one failed point must not stop a sweep
        error = traceback.format_exc()
        log.error("point %s failed:\n%s", pid, error)
        ds = xr.Dataset()
        status = "failed"
    wall = time.perf_counter() - t0
    ds = decorate(ds, method, full, pid, base_seed, start, stop)
    ds.attrs["status"] = status
    ds.attrs["wall_time_s"] = round(wall, 6)
    if error is not None:
        ds.attrs["error"] = error
    return ds


def decorate(ds: xr.Dataset, method, full: dict, pid: str, base_seed: int, start: int, stop: int) -> xr.Dataset:
    """Parameters as scalar coordinates and attrs; provenance attrs."""
    coords = {}
    for p in method.params:
        v = full[p.name]
        if p.name == "seed" or (method.replicas and p.name == method.replicas[0]):
            continue  # execution settings, not coordinates of the result
        if v is None:
            continue
        attrs = {"units": p.units, "long_name": p.long_name or p.description}
        coords[p.name] = xr.Variable((), v if not isinstance(v, bool) else int(v), attrs)
    ds = ds.assign_coords(coords)
    attrs = dict(ds.attrs)
    attrs.update({f"param_{k}": _attr_value(v) for k, v in full.items()})
    attrs.update(
        {
            "method": method.name,
            "point_id": pid,
            "params_json": json.dumps(full, sort_keys=True),
            "seed": base_seed,
            "replica_start": int(start),
            "replica_stop": int(stop),
            "sgsweep_version": __version__,
            "git_commit": git_commit(),
            "Conventions": "CF-1.10",
            "reference": method.reference,
        }
    )
    ds.attrs = attrs
    return ds
