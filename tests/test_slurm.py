"""The pipeline on a real single-node SLURM cluster (issue 6): ``pytest -m slurm``.

The cluster is started by ``.ci/slurm/setup.sh`` (Debian's Slurm 22.05: munged, slurmctld, slurmd,
daemons run as root without systemd, stopped by recorded PID by ``.ci/slurm/teardown.sh``). The tiny
test sweep (``workflow/config/test.yaml``) runs twice, through ``profiles/slurm`` (sbatch, job
groups) and locally with ``--cores 2``, and every number must be bit-identical: the same point files,
with the same bytes in every data variable and coordinate, and the same aggregates and products.

Skipped, with the reason, only where this machine cannot start SLURM (not root, no Slurm and no
apt-get). With ``CI=true`` it never skips: a cluster that cannot start is a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import yaml

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[1]
SETUP = REPO / ".ci" / "slurm" / "setup.sh"
TEARDOWN = REPO / ".ci" / "slurm" / "teardown.sh"
BASE = Path(os.environ.get("BASE", REPO / ".slurm"))
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# provenance attrs that legitimately differ between two runs of the same point
VOLATILE = {"wall_time_s", "wall_time"}


def _cannot_start_reason() -> str | None:
    """Why this machine cannot run a local SLURM cluster (None: it can)."""
    if not sys.platform.startswith("linux"):
        return f"SLURM needs Linux (this is {sys.platform})"
    have_slurm = all(Path(p).exists() for p in ("/usr/sbin/slurmctld", "/usr/sbin/slurmd", "/usr/bin/sbatch"))
    if os.geteuid() != 0:
        return "starting slurmctld/slurmd/munged needs root (run as root, or CI=true on the CI machine)"
    if not have_slurm and shutil.which("apt-get") is None:
        return "no Slurm installed and no apt-get to install it (Debian/Ubuntu only)"
    try:
        import snakemake_executor_plugin_slurm  # noqa: F401
    except ImportError:
        return "snakemake-executor-plugin-slurm is not installed (pip install -e .)"
    return None


def _alive(name: str) -> bool:
    f = BASE / "pids" / f"{name}.pid"
    try:
        os.kill(int(f.read_text().strip()), 0)
        return True
    except (OSError, ValueError):
        return False


@pytest.fixture(scope="module")
def slurm_cluster():
    reason = _cannot_start_reason()
    if reason is not None:
        if IN_CI:
            pytest.fail(f"CI=true but SLURM cannot start here: {reason}")
        pytest.skip(reason)
    was_running = _alive("slurmctld") and _alive("slurmd")
    env = dict(os.environ, BASE=str(BASE))
    t0 = time.perf_counter()
    proc = subprocess.run(["bash", str(SETUP)], env=env, capture_output=True, text=True, timeout=900)
    print(proc.stdout[-3000:], proc.stderr[-3000:], sep="\n")
    if proc.returncode != 0:
        msg = f"{SETUP} failed (rc {proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
        if IN_CI:
            pytest.fail(msg)
        pytest.skip("SLURM could not be started on this machine: " + msg)
    print(f"SLURM cluster ready in {time.perf_counter() - t0:.1f} s (already running before: {was_running})")
    yield BASE
    if not was_running:  # stop only the daemons this fixture started, by their recorded PIDs
        subprocess.run(["bash", str(TEARDOWN)], env=env, capture_output=True, text=True, timeout=300)
        for d in ("slurmd", "slurmctld", "munged"):
            assert not _alive(d), f"{d} still running after teardown"


def _targets(cfg: dict) -> list[str]:
    """The numbers of the test sweep(s): aggregates and products (figures are drawings of those).

    By default the first sweep of the test config (its chunks, aggregate and products: two SLURM
    submissions, ~1-2 min on an idle 2-core machine); ``SGSWEEP_SLURM_SWEEPS=all`` (or a comma-separated
    list of names) runs more."""
    from sgsweep.analysis.registry import products_of
    from sgsweep.sweeps import load_sweeps

    root = cfg.get("results", "results")
    sweeps = load_sweeps(cfg)
    want = os.environ.get("SGSWEEP_SLURM_SWEEPS", "")
    names = list(sweeps)[:1] if not want else (list(sweeps) if want == "all" else want.split(","))
    out = []
    for name, sweep in sweeps.items():
        if name not in names:
            continue
        out.append(f"{root}/{name}/aggregate.nc")
        out += [f"{root}/{name}/{p}.nc" for p in sorted(products_of(sweep.method.name))]
    return out


def _bits(x: xr.DataArray | xr.Variable) -> tuple:
    a = np.asarray(x.values)
    if a.dtype.kind == "O":
        return (a.shape, "O", tuple(map(str, a.ravel())))
    return (a.shape, a.dtype.str, np.ascontiguousarray(a).tobytes())


def _assert_same_bits(fa: Path, fb: Path) -> None:
    with xr.open_dataset(fa, engine="netcdf4", decode_times=False) as a, \
            xr.open_dataset(fb, engine="netcdf4", decode_times=False) as b:
        assert set(a.variables) == set(b.variables), f"{fa.name}: variables differ"
        for name in a.variables:
            if name in VOLATILE:
                continue
            assert a[name].dims == b[name].dims, f"{fa}: {name} dims differ"
            assert _bits(a[name].variable) == _bits(b[name].variable), f"{fa}: {name} differs bitwise"
        for k in set(a.attrs) | set(b.attrs):
            if k not in VOLATILE and k != "git_commit":
                assert str(a.attrs.get(k)) == str(b.attrs.get(k)), f"{fa}: attr {k} differs"


def test_test_sweep_on_slurm_is_bit_identical_to_local(slurm_cluster, tmp_path):
    cfg_file = REPO / "workflow" / "config" / "test.yaml"
    cfg = yaml.safe_load(cfg_file.read_text())
    targets = _targets(cfg)
    base = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--configfile", str(cfg_file)]
    (tmp_path / "local").mkdir()
    (tmp_path / "slurm").mkdir()
    # the local reference runs at the same time as the SLURM run (most of the SLURM run is waiting)
    t0 = time.perf_counter()
    local = subprocess.Popen(base + ["--cores", "2", *targets], cwd=tmp_path / "local",
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    slurm_cmd = base + [
        "--profile", str(REPO / "profiles" / "slurm"),
        "--cores", "2",                                  # one job: at most the node's 2 cores
        "--slurm-init-seconds-before-status-checks", "3",  # MinJobAge=300 >= 3 x 3 s
        *targets,
    ]
    print("SLURM run:", " ".join(slurm_cmd))
    slurm = subprocess.run(slurm_cmd, cwd=tmp_path / "slurm", capture_output=True, text=True, timeout=1500)
    t_slurm = time.perf_counter() - t0
    out_local, _ = local.communicate(timeout=1500)
    t_local = time.perf_counter() - t0
    log = slurm.stdout + slurm.stderr
    if slurm.returncode != 0:
        subprocess.run(["scancel", "--user", "root"], capture_output=True)
    assert slurm.returncode == 0, log[-6000:]
    assert local.returncode == 0, out_local[-6000:]

    submissions = re.findall(r"submitted with SLURM jobid (\d+)", log)
    m = re.search(r"(\d+) of (\d+) steps \(100%\) done", log)
    print(f"SLURM: {len(submissions)} sbatch submissions (SLURM job ids {', '.join(submissions)}) for "
          f"{m.group(2) if m else '?'} Snakemake jobs, wall time {t_slurm:.1f} s; "
          f"local --cores 2 (concurrently): {t_local:.1f} s")
    assert submissions, "nothing was submitted to SLURM"
    assert "Group job chunks" in log, "chunk jobs were not grouped into one submission"

    root = cfg.get("results", "results")
    files_l = sorted(p.relative_to(tmp_path / "local") for p in (tmp_path / "local" / root).rglob("*.nc"))
    files_s = sorted(p.relative_to(tmp_path / "slurm") for p in (tmp_path / "slurm" / root).rglob("*.nc"))
    assert files_l == files_s, "different point/aggregate files locally and on SLURM"
    n_points = sum("/points/" in str(f) for f in files_l)
    assert n_points > 0
    for f in files_l:
        _assert_same_bits(tmp_path / "local" / f, tmp_path / "slurm" / f)
    print(f"bit-identical: {len(files_l)} netCDF files ({n_points} point files, {len(targets)} aggregates/products)")
