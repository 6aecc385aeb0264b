"""Incremental reruns (issue 6): growing a sweep runs only the new work, mtimes alone rerun nothing.

A tiny ``spiked.amp`` sweep is run once for real; then Snakemake dry runs of edited configs are
counted job by job against what the hash-bucketed chunks say must be redone:

* adding values to a grid axis, adding samples, adding a sweep: only the chunks that receive new
  point files run (never all chunks), plus the aggregate of the sweep that changed;
* touching every file in results/ (mtime only): nothing runs (rerun-triggers without ``mtime``);
* changing one grid value (a parameter the point depends on): its chunk(s) and the aggregate rerun,
  and a real rerun computes exactly that one point (the other point files keep inode and mtime).
"""

from __future__ import annotations

import copy
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import xarray as xr
import yaml

from sgsweep.sweeps import parse_sweep

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]

BASE_CFG = {
    "results": "results",
    "sweeps": {
        "amp": {
            "method": "spiked.amp",
            "grid": {"delta_p": [1.0, 2.0], "inv_delta2": [1.0, 2.0, 3.0]},
            "fixed": {"p": 3, "N": 8, "iterations": 4},
            "samples": 2,
            "samples_per_task": 2,
            "seed": 3,
            "chunks": 16,
        }
    },
}


def snakemake(workdir: Path, cfg: dict, *args: str, tag: str = "cfg") -> subprocess.CompletedProcess:
    cfg_file = workdir / f"{tag}.yaml"
    cfg_file.write_text(yaml.safe_dump(cfg, sort_keys=False))
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--configfile", str(cfg_file), *args]
    return subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=900)


def dry_run_counts(workdir: Path, cfg: dict, tag: str) -> dict[str, int]:
    """Jobs per rule that a dry run plans (``{}`` when there is nothing to do)."""
    res = snakemake(workdir, cfg, "-n", "--cores", "1", tag=tag)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-4000:]
    if "Nothing to be done" in out:
        return {}
    table = out.split("Job stats:", 1)[1]
    counts = {}
    for line in table.splitlines()[3:]:
        m = re.match(r"^(\w+)\s+(\d+)\s*$", line)
        if not m:
            break
        counts[m.group(1)] = int(m.group(2))
    counts.pop("total", None)
    counts.pop("all", None)
    return counts


def chunk_files(cfg: dict, name: str) -> dict[int, set[str]]:
    sw = parse_sweep(name, cfg["sweeps"][name])
    return {c: {t.relpath for t in ts} for c, ts in sw.chunked_tasks().items()}


def chunks_with_new_files(old: dict, new: dict, name: str) -> int:
    a = chunk_files(old, name) if name in old["sweeps"] else {}
    b = chunk_files(new, name)
    return sum(1 for c, files in b.items() if files - a.get(c, set()))


def chunks_changed(old: dict, new: dict, name: str) -> int:
    """Non-empty chunks of ``new`` whose set of point files differs (a chunk emptied is no job)."""
    a, b = chunk_files(old, name), chunk_files(new, name)
    return sum(1 for c in b if a.get(c, set()) != b[c])


def point_files(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_ino, p.stat().st_mtime_ns) for p in root.rglob("points/*/*.nc")}


@pytest.fixture(scope="module")
def done_sweep(tmp_path_factory):
    """The base sweep, computed once (real local run)."""
    wd = tmp_path_factory.mktemp("incremental")
    t0 = time.perf_counter()
    res = snakemake(wd, BASE_CFG, "--cores", "2", tag="base")
    assert res.returncode == 0, (res.stdout + res.stderr)[-6000:]
    print(f"base run: {time.perf_counter() - t0:.1f} s")
    return wd


def test_nothing_to_do_after_a_run(done_sweep):
    assert dry_run_counts(done_sweep, BASE_CFG, "again") == {}


def test_touching_mtimes_reruns_nothing(done_sweep):
    results = done_sweep / "results"
    later = time.time() + 3600
    files = [p for p in results.rglob("*") if p.is_file()]
    # inputs newer than outputs: with mtime as a rerun-trigger, everything downstream would rerun
    for p in files:
        if "/points/" in str(p) or "/chunks/" in str(p):
            os.utime(p, (later, later))
    assert dry_run_counts(done_sweep, BASE_CFG, "touched") == {}
    for p in files:
        os.utime(p, None)
    assert dry_run_counts(done_sweep, BASE_CFG, "touched2") == {}


def assert_only_chunks_with_new_files_run(done_sweep, new: dict, label: str, what: str) -> None:
    """The dry run of ``new`` plans exactly the chunks that receive new point files, plus the
    aggregate, and that is some but not all of the sweep's chunks."""
    expect = chunks_with_new_files(BASE_CFG, new, "amp")
    total = len(chunk_files(new, "amp"))
    counts = dry_run_counts(done_sweep, new, label)
    print(f"{what}: {counts}, chunks with new files {expect} of {total}")
    assert counts == {"points": expect, "aggregate": 1}
    assert 0 < expect < total


def test_adding_axis_values_runs_only_new_chunks(done_sweep):
    new = copy.deepcopy(BASE_CFG)
    new["sweeps"]["amp"]["grid"]["inv_delta2"] = [1.0, 2.0, 3.0, 4.0]
    assert_only_chunks_with_new_files_run(done_sweep, new, "more_values", "add 1 axis value (2 new points)")


def test_adding_samples_runs_only_new_replica_blocks(done_sweep):
    new = copy.deepcopy(BASE_CFG)
    new["sweeps"]["amp"]["samples"] = 4  # one new block [2, 4) per point
    assert_only_chunks_with_new_files_run(done_sweep, new, "more_samples", "add samples 2 -> 4 (6 new blocks)")


def test_adding_a_sweep_runs_only_that_sweep(done_sweep):
    new = copy.deepcopy(BASE_CFG)
    extra = copy.deepcopy(BASE_CFG["sweeps"]["amp"])
    extra["grid"] = {"inv_delta2": [1.5, 2.5]}
    extra["fixed"]["delta_p"] = 1.0
    extra["chunks"] = 2
    new["sweeps"]["amp2"] = extra
    expect = len(chunk_files(new, "amp2"))
    counts = dry_run_counts(done_sweep, new, "new_sweep")
    print(f"add a sweep: {counts}")
    assert counts == {"points": expect, "aggregate": 1}


def test_changing_a_parameter_reruns_that_point_and_its_aggregate(done_sweep):
    """Runs last (file order): it changes results/ for real."""
    new = copy.deepcopy(BASE_CFG)
    new["sweeps"]["amp"]["grid"]["inv_delta2"] = [1.0, 2.0, 3.5]  # 3.0 -> 3.5: two points change
    expect = chunks_changed(BASE_CFG, new, "amp")
    counts = dry_run_counts(done_sweep, new, "changed")
    print(f"change one axis value: {counts}, chunks whose task list changed: {expect}")
    assert counts == {"points": expect, "aggregate": 1}

    results = done_sweep / "results"
    before = point_files(results)
    agg = results / "amp" / "aggregate.nc"
    agg_before = agg.stat().st_mtime_ns
    res = snakemake(done_sweep, new, "--cores", "2", tag="changed_run")
    assert res.returncode == 0, (res.stdout + res.stderr)[-6000:]
    after = point_files(results)
    created = set(after) - set(before)
    assert len(created) == 2 and all("delta2=0.285714285714" in f for f in created), created
    for f, stamp in before.items():
        assert after[f] == stamp, f"{f} was rewritten"
    assert agg.stat().st_mtime_ns != agg_before
    with xr.open_dataset(agg) as ds:
        assert list(ds["inv_delta2"].values) == [1.0, 2.0, 3.5]
        assert (ds["status"].values == "ok").all() or ds.attrs["failed_points"] == 0
