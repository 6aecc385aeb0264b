"""Crash safety (issue 6): SIGKILL a running sweep at random moments, restart, finish.

The whole process group of ``snakemake`` (Snakemake and every job it started) is killed with
SIGKILL several times at random moments (seed printed; ``SGSWEEP_CRASH_SEED=<n>`` replays it), and
the sweep is restarted each time (``--unlock``, then ``--rerun-incomplete``). After every kill, no file
in results/ may be partial or corrupt (every netCDF opens and reads, every manifest parses; only
``*.tmp-*`` leftovers of interrupted atomic writes may exist, and they must be gone at the end).
A point file that existed after a kill must never be rewritten (same inode and mtime at the end).
One point of the sweep fails on purpose (a malformed ``sim_point``): it is written as a dataset
with status ``failed`` and the error, the other points go on, and the aggregate marks it.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import netCDF4
import numpy as np
import pytest
import xarray as xr
import yaml

from sgsweep.sweeps import load_sweeps

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
KILLS = 3

CFG = {
    "results": "results",
    "sweeps": {
        "crash": {
            "method": "spiked.amp",
            "grid": {"inv_delta2": [1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5], "N": [8, 12]},
            "fixed": {"p": 3, "delta_p": 1.0, "iterations": 20},
            "samples": 4,
            "samples_per_task": 2,
            "seed": 5,
            "chunks": 8,
        },
        "flaky": {
            "method": "spiked.amp",
            # 'bogus' is a valid string but not key=value: the solve raises -> status failed
            "grid": {"sim_point": ["none", "bogus"], "inv_delta2": [1.0, 2.0]},
            "fixed": {"p": 3, "N": 8, "delta_p": 1.0, "iterations": 5},
            "samples": 2,
            "seed": 5,
            "chunks": 2,
        },
    },
}


def _cmd(cfg_file: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--configfile", str(cfg_file),
            "--cores", "2", *args]


def _kill_session(proc: subprocess.Popen) -> None:
    """SIGKILL Snakemake and everything it started (its session), like a node failure."""
    sid = proc.pid
    try:
        os.killpg(sid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    for _ in range(3):  # jobs that moved to their own process group stay in the session
        for d in Path("/proc").iterdir():
            if d.name.isdigit():
                try:
                    if os.getsid(int(d.name)) == sid:
                        os.kill(int(d.name), signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
        time.sleep(0.2)
    proc.wait()


def _check_no_partial_files(results: Path) -> int:
    """Every finished file is complete; return the number of ``.tmp-`` leftovers."""
    leftovers = 0
    for p in results.rglob("*"):
        if not p.is_file() or "/logs/" in str(p):
            continue
        if ".tmp-" in p.name:
            leftovers += 1
            continue
        if p.suffix == ".nc":
            with netCDF4.Dataset(p) as nc:  # raises on a truncated / corrupt file
                for v in nc.variables.values():
                    v[...]
                if "/points/" in str(p):
                    assert "status" in nc.ncattrs(), f"{p}: no status attr"
        elif p.suffix == ".json":
            json.loads(p.read_text())
    return leftovers


def _point_stamps(results: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(results)): (p.stat().st_ino, p.stat().st_mtime_ns)
            for p in results.rglob("points/*/*.nc")}


def test_sigkill_at_random_moments_then_resume(tmp_path):
    seed = int(os.environ.get("SGSWEEP_CRASH_SEED", random.SystemRandom().randrange(10**6)))
    rnd = random.Random(seed)
    cfg_file = tmp_path / "crash.yaml"
    cfg_file.write_text(yaml.safe_dump(CFG, sort_keys=False))
    results = tmp_path / "results"
    seen: dict[str, tuple[int, int]] = {}
    log = []
    t_start = time.perf_counter()
    for k in range(KILLS):
        if k:  # a SIGKILLed Snakemake leaves its lock behind
            r = subprocess.run(_cmd(cfg_file, "--unlock"), cwd=tmp_path, capture_output=True, text=True, timeout=600)
            assert r.returncode == 0, r.stderr[-3000:]
        delay = rnd.uniform(4.0, 14.0)
        proc = subprocess.Popen(_cmd(cfg_file, "--rerun-incomplete"), cwd=tmp_path, start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            proc.wait(timeout=delay)
            finished = True
        except subprocess.TimeoutExpired:
            _kill_session(proc)
            finished = False
        leftovers = _check_no_partial_files(results) if results.exists() else 0
        stamps = _point_stamps(results) if results.exists() else {}
        for f, st in seen.items():
            assert stamps.get(f) == st, f"kill {k + 1}: finished point file {f} was rewritten or removed"
        seen.update(stamps)
        log.append(f"kill {k + 1} at {delay:.1f} s: {'run had finished' if finished else 'SIGKILL'}, "
                   f"{len(stamps)} point files, {leftovers} tmp leftovers")
        if finished:
            break
    r = subprocess.run(_cmd(cfg_file, "--unlock"), cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    r = subprocess.run(_cmd(cfg_file, "--rerun-incomplete"), cwd=tmp_path, capture_output=True, text=True, timeout=900)
    out = r.stdout + r.stderr
    print(f"crash seed {seed} (SGSWEEP_CRASH_SEED to replay):\n  " + "\n  ".join(log))
    print(f"completed after {len(log)} kills in {time.perf_counter() - t_start:.1f} s")
    assert r.returncode == 0, out[-6000:]

    # complete, nothing partial, nothing recomputed
    assert _check_no_partial_files(results) == 0, "stale .tmp- files left in results/"
    final = _point_stamps(results)
    for f, st in seen.items():
        assert final[f] == st, f"finished point file {f} was recomputed"
    sweeps = load_sweeps(CFG)
    expected = {t.relpath for sw in sweeps.values() for t in sw.tasks()}
    assert set(final) == expected

    # the failed point: recorded in its own dataset, marked in the aggregate, others fine
    for t in sweeps["flaky"].tasks():
        with xr.open_dataset(results / t.relpath) as ds:
            if t.params["sim_point"] == "bogus":
                assert ds.attrs["status"] == "failed"
                assert "sim_point" in ds.attrs["error"] and "Traceback" in ds.attrs["error"]
            else:
                assert ds.attrs["status"] != "failed"
    with xr.open_dataset(results / "flaky" / "aggregate.nc") as agg:
        st = agg["status"].transpose("sim_point", "inv_delta2").values
        assert (st[1] == "failed").all() and (st[0] != "failed").all()
        assert agg.attrs["failed_points"] == 2
        assert "sim_point" in agg.attrs["failed_json"]
        ov = agg["overlap"].transpose("sim_point", "inv_delta2", ...).values
        assert np.isnan(ov[1]).all() and np.isfinite(ov[0]).all()
    with xr.open_dataset(results / "crash" / "aggregate.nc") as agg:
        assert agg.attrs["failed_points"] == 0
        assert agg.sizes["inv_delta2"] == 8 and agg.sizes["N"] == 2 and agg.sizes["sample"] == 4
