"""Python API for notebooks: open what the pipeline wrote.

    >>> import sgsweep
    >>> agg = sgsweep.open_sweep("spiked_gf")              # results/spiked_gf/aggregate.nc
    >>> thr = sgsweep.open_product("spiked_gf", "thresholds")
    >>> ds = sgsweep.compute_point("spiked.sim", {"N": 64, "delta2": 0.25, "delta_p": 1.0, "samples": 4})
"""

from __future__ import annotations

from pathlib import Path

import xarray as xr

from .store import open_dataset


def open_sweep(name: str, results: str | Path = "results") -> xr.Dataset:
    """The aggregate of sweep ``name``: one dimension per grid axis, plus sample/run and time."""
    path = Path(results) / name / "aggregate.nc"
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: run `snakemake --cores N` first (or check `results`)")
    return open_dataset(path)


def open_product(name: str, product: str, results: str | Path = "results") -> xr.Dataset:
    """A derived product (e.g. ``thresholds``, ``theory``) of sweep ``name``."""
    path = Path(results) / name / f"{product}.nc"
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: run `snakemake --cores N` first (or check `results`)")
    return open_dataset(path)
