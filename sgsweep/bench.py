"""``sgsweep bench``: the numbers of issue 6, printed as a table or (``--json``) as JSON.

    sgsweep bench [--json]                         # everything below (a few minutes)
    sgsweep bench gradient [--json]                # spiked gradient throughput vs numpy/BLAS and memory bound
    sgsweep bench overhead [--json]                # per-job overhead of a point job (start-up + JIT, warm cache)
    sgsweep bench pipeline --points 100000 --json  # dry-run planning + aggregation of a synthetic sweep

* **gradient**: :func:`sgsweep.spiked.bench.gradient_throughput` at N=256, p=3 (packed numba kernel
  vs dense tensor + BLAS mat-vec, single-threaded, and vs the measured memory-bandwidth bound), run
  in a child process with ``OPENBLAS/OMP/MKL_NUM_THREADS=1`` set before numpy is imported.
* **overhead**: wall time of ``sgsweep run spiked.sim`` on a tiny point in a fresh process, after a
  first run that warms the numba cache; ``overhead_s`` = wall time - the point's own compute time
  (``wall_time_s`` attr). Also the cost of a whole Snakemake ``points`` job (1 chunk of 1 tiny point:
  Snakemake start-up, parsing the Snakefile, the job's script), which is what a chunk pays once.
* **pipeline**: a synthetic ``spiked.sim`` sweep of ``--points`` grid points is planned by the real
  Snakefile (``snakemake -n``) in a temporary directory: ``dry_run_s`` (wall time of the whole
  command) and ``jobs`` (total jobs of the plan, ``jobs_by_rule`` per rule). Then
  ``--aggregate-points`` (default min(points, 10^4)) point files are put on disk (one real point file
  computed, hard-linked to every other task's path), each chunk writes its manifest and read cache
  as the chunk jobs do (``chunk_caches_s_all_chunks``, spread over the chunk jobs in a real run),
  and :func:`sgsweep.store.aggregate` combines them: ``aggregate_s``; ``status_s`` is
  ``sgsweep status`` on that tree.

Timings are wall-clock on whatever else the machine is doing; read them as orders of magnitude.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

SIM_FIXED = {"p": 3, "N": 16, "T": 0, "t_max": 2}


def snakefile() -> Path:
    """The pipeline's Snakefile (repository root of this source tree)."""
    here = Path(__file__).resolve().parents[1] / "Snakefile"
    if not here.exists():
        raise FileNotFoundError(f"{here}: the Snakefile is needed (sgsweep must be installed from its source tree)")
    return here


# ------------------------------------------------------------------------------ gradient
_GRADIENT_CHILD = """
import json, sys
from sgsweep.spiked.bench import gradient_throughput
rows = gradient_throughput(Ns=tuple(json.loads(sys.argv[1])), p=int(sys.argv[2]), repeats=int(sys.argv[3]))
print("JSON" + json.dumps(rows))
"""


def gradient(Ns=(256,), p: int = 3, repeats: int = 3) -> list[dict]:
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", NUMBA_NUM_THREADS="1")
    res = subprocess.run([sys.executable, "-c", _GRADIENT_CHILD, json.dumps(list(Ns)), str(p), str(repeats)],
                         env=env, capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"gradient benchmark failed:\n{res.stderr[-3000:]}")
    line = next(l for l in res.stdout.splitlines() if l.startswith("JSON"))
    return json.loads(line[4:])


# ------------------------------------------------------------------------------ per-job overhead
def overhead(repeats: int = 3) -> dict:
    """Start-up + JIT cost of one point job (warm numba cache) and of one Snakemake chunk job."""
    import netCDF4

    tmp = Path(tempfile.mkdtemp(prefix="sgsweep-bench-"))
    try:
        out = tmp / "p.nc"
        cmd = [sys.executable, "-m", "sgsweep.cli", "run", "spiked.sim", "N=16", "delta2=0.5", "delta_p=1",
               "samples=1", "t_max=1", "T=0", "--threads", "1", "-o", str(out)]
        if not _has_module_main():
            cmd = [shutil.which("sgsweep") or "sgsweep", *cmd[3:]]
        subprocess.run(cmd, check=True, capture_output=True)  # warms the numba cache
        walls, computes = [], []
        for _ in range(repeats):
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            walls.append(time.perf_counter() - t0)
            with netCDF4.Dataset(out) as nc:
                computes.append(float(nc.getncattr("wall_time_s")))
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import sgsweep.point, sgsweep.methods as m; m.all_methods()"], check=True)
        imports = time.perf_counter() - t0
        k = min(range(repeats), key=lambda i: walls[i])
        # one Snakemake chunk job: 1 tiny point, run twice (2nd run = warm caches), time the second
        cfg = {"results": "results", "sweeps": {"one": {
            "method": "spiked.sim", "grid": {"inv_delta2": [2.0]}, "fixed": {**SIM_FIXED, "delta_p": 1.0, "t_max": 1},
            "samples": 1, "chunks": 1}}}
        chunk_walls = []
        for rep in range(2):
            d = tmp / f"smk{rep}"
            d.mkdir()
            (d / "cfg.yaml").write_text(yaml.safe_dump(cfg))
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "snakemake", "results/one/chunks/0.json", "-s", str(snakefile()),
                            "--configfile", "cfg.yaml", "--cores", "1"],
                           cwd=d, check=True, capture_output=True)
            chunk_walls.append(time.perf_counter() - t0)
        return {
            "point_job_wall_s": walls[k],
            "point_compute_s": computes[k],
            "overhead_s": walls[k] - computes[k],
            "python_imports_s": imports,
            "snakemake_chunk_job_s": chunk_walls[-1],
            "repeats": repeats,
            "target_overhead_s": 2.0,
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _has_module_main() -> bool:
    import importlib.util

    spec = importlib.util.find_spec("sgsweep.cli")
    if spec is None or spec.origin is None:
        return False
    return "__main__" in Path(spec.origin).read_text()


# ------------------------------------------------------------------------------ pipeline
def synthetic_config(points: int, chunks: int | None = None, name: str = "synthetic") -> dict:
    """A spiked.sim sweep of exactly ``points`` grid points (2 axes when 100 divides it)."""
    if points >= 1000 and points % 100 == 0:
        grid = {"delta_p": {"start": 0.5, "stop": 3.0, "num": 100},
                "inv_delta2": {"start": 0.5, "stop": 5.0, "num": points // 100}}
    else:
        grid = {"inv_delta2": {"start": 0.5, "stop": 5.0, "num": points}}
    sweep = {"method": "spiked.sim", "grid": grid, "fixed": dict(SIM_FIXED), "samples": 4, "seed": 1}
    if chunks is not None:
        sweep["chunks"] = chunks
    return {"results": "results", "sweeps": {name: sweep}}


def _job_counts(text: str) -> dict[str, int]:
    if "Nothing to be done" in text or "Job stats:" not in text:
        return {}
    counts = {}
    for line in text.split("Job stats:", 1)[1].splitlines()[3:]:
        m = re.match(r"^(\w+)\s+(\d+)\s*$", line)
        if not m:
            break
        counts[m.group(1)] = int(m.group(2))
    return counts


def dry_run(points: int, chunks: int | None = None, workdir: Path | None = None) -> dict:
    own = workdir is None
    wd = Path(tempfile.mkdtemp(prefix="sgsweep-bench-")) if own else Path(workdir)
    try:
        (wd / "cfg.yaml").write_text(yaml.safe_dump(synthetic_config(points, chunks)))
        cmd = [sys.executable, "-m", "snakemake", "-s", str(snakefile()), "--configfile", "cfg.yaml",
               "-n", "--cores", "1"]
        t0 = time.perf_counter()
        res = subprocess.run(cmd, cwd=wd, capture_output=True, text=True)
        dt = time.perf_counter() - t0
        text = res.stdout + res.stderr
        if res.returncode != 0:
            raise RuntimeError(f"dry run of {points} points failed:\n{text[-3000:]}")
        counts = _job_counts(text)
        return {"points": points, "jobs": counts.get("total", 0),
                "jobs_by_rule": {k: v for k, v in counts.items() if k != "total"}, "dry_run_s": dt}
    finally:
        if own:
            shutil.rmtree(wd, ignore_errors=True)


def aggregation(points: int) -> dict:
    """Put ``points`` point files on disk (hard links of one real file) and aggregate them."""
    from . import status as status_mod
    from .batch import run_chunk, run_tasks
    from .store import aggregate, write_atomic
    from .sweeps import parse_sweep

    cfg = synthetic_config(points)
    wd = Path(tempfile.mkdtemp(prefix="sgsweep-bench-agg-"))
    try:
        root = wd / "results"
        sweep = parse_sweep("synthetic", cfg["sweeps"]["synthetic"])
        tasks = list(sweep.tasks())
        t0 = time.perf_counter()
        run_tasks([tasks[0].to_json()], str(root))
        template = root / tasks[0].relpath
        for t in tasks[1:]:
            dst = root / t.relpath
            dst.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(template, dst)
            except OSError:
                shutil.copyfile(template, dst)
        t_files = time.perf_counter() - t0
        # what the chunk jobs leave besides the point files (in a real run this is spread over the
        # chunk jobs, in parallel): manifests with each file's status and the read caches
        t0 = time.perf_counter()
        caches = []
        for c, ts in sweep.chunked_tasks().items():
            chunk_dir = root / sweep.name / "chunks"
            caches.append(chunk_dir / f"{c}.pkl")
            run_chunk([t.to_json() for t in ts], str(root), str(chunk_dir / f"{c}.json"), str(caches[-1]))
        t_caches = time.perf_counter() - t0
        t0 = time.perf_counter()
        ds = aggregate(sweep, root, caches=caches)
        t_agg = time.perf_counter() - t0
        t0 = time.perf_counter()
        write_atomic(ds, wd / "aggregate.nc")
        t_write = time.perf_counter() - t0
        t0 = time.perf_counter()
        st = status_mod.status(cfg, wd)
        t_status = time.perf_counter() - t0
        assert st[0]["done"] == points, st
        return {"aggregate_points": points, "aggregate_s": t_agg, "aggregate_write_s": t_write,
                "aggregate_MB": (wd / "aggregate.nc").stat().st_size / 1e6, "status_s": t_status,
                "make_files_s": t_files, "chunk_caches_s_all_chunks": t_caches}
    finally:
        shutil.rmtree(wd, ignore_errors=True)


def pipeline(points: int, aggregate_points: int | None = None, chunks: int | None = None) -> dict:
    out = dry_run(points, chunks)
    n = min(points, 10_000) if aggregate_points is None else aggregate_points
    if n > 0:
        out.update(aggregation(n))
    return out


# ------------------------------------------------------------------------------ output
def _fmt_pipeline(rows: list[dict]) -> str:
    lines = [f"{'points':>8} {'jobs':>6} {'dry run s':>10} {'agg points':>11} {'aggregate s':>12} {'status s':>9}  jobs by rule"]
    for r in rows:
        ap = r.get("aggregate_points")
        agg = f"{r['aggregate_s']:.1f}" if ap else "-"
        st = f"{r['status_s']:.1f}" if ap else "-"
        lines.append(
            f"{r['points']:>8} {r['jobs']:>6} {r['dry_run_s']:>10.1f} {ap if ap else '-':>11} {agg:>12} {st:>9}  "
            + ", ".join(f"{k} {v}" for k, v in r["jobs_by_rule"].items()))
    return "\n".join(lines)


def _fmt_gradient(rows: list[dict]) -> str:
    lines = [f"{'N':>5} {'p':>2} {'kernel grad/s':>14} {'numpy grad/s':>13} {'speedup':>8} {'bound grad/s':>13} {'of bound':>9}"]
    for r in rows:
        nb = "-" if r.get("numpy_grad_per_s") is None else f"{r['numpy_grad_per_s']:.1f}"
        sp = "-" if r.get("speedup") is None else f"{r['speedup']:.2f}"
        lines.append(f"{r['N']:>5} {r['p']:>2} {r['kernel_grad_per_s']:>14.1f} {nb:>13} {sp:>8} "
                     f"{r['bound_grad_per_s']:>13.1f} {r['fraction_of_bound']:>9.2f}")
    return "\n".join(lines) + "\n(target: speedup >= 5 at N=256, p=3)"


def _fmt_overhead(o: dict) -> str:
    return (f"point job (sgsweep run, warm numba cache): {o['point_job_wall_s']:.2f} s wall, "
            f"{o['point_compute_s']:.3f} s compute -> overhead {o['overhead_s']:.2f} s (target <= 2 s)\n"
            f"  of which Python + sgsweep imports: {o['python_imports_s']:.2f} s\n"
            f"Snakemake chunk job of 1 tiny point (snakemake start-up + Snakefile + script): {o['snakemake_chunk_job_s']:.2f} s")


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="sgsweep bench", description=__doc__.split("\n\n")[0])
    ap.add_argument("what", nargs="?", default="all", choices=("all", "gradient", "overhead", "pipeline"))
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ap.add_argument("--points", type=int, action="append", default=None,
                    help="grid points of the synthetic sweep (pipeline; repeatable; all: 1000 10000 100000)")
    ap.add_argument("--aggregate-points", type=int, default=None,
                    help="point files to aggregate (default min(points, 10000); 0: skip)")
    ap.add_argument("--chunks", type=int, default=None, help="chunks of the synthetic sweep (default: the sweep default)")
    ap.add_argument("--N", type=int, action="append", default=None, help="gradient: N (default 256)")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    result: dict = {}
    if args.what in ("all", "gradient"):
        result["gradient"] = gradient(tuple(args.N or [256]), 3, args.repeats)
    if args.what in ("all", "overhead"):
        result["overhead"] = overhead(args.repeats)
    if args.what in ("all", "pipeline"):
        pts = args.points or ([1000, 10_000, 100_000] if args.what == "all" else [100_000])
        rows = []
        for i, n in enumerate(pts):
            agg = args.aggregate_points
            if agg is None and args.what == "all":
                agg = min(n, 10_000) if n == 10_000 or len(pts) == 1 else 0
            rows.append(pipeline(n, agg, args.chunks))
        result["pipeline"] = rows
    if args.json:
        if args.what == "pipeline" and len(result["pipeline"]) == 1:
            print(json.dumps(result["pipeline"][0], indent=1))
        elif args.what != "all":
            print(json.dumps(result[args.what], indent=1))
        else:
            print(json.dumps(result, indent=1))
        return 0
    if "gradient" in result:
        print("== gradient throughput, spiked (2+p) model (single thread)")
        print(_fmt_gradient(result["gradient"]))
    if "overhead" in result:
        print("== per-job overhead")
        print(_fmt_overhead(result["overhead"]))
    if "pipeline" in result:
        print("== pipeline: DAG planning (snakemake -n, real Snakefile) and aggregation (target < 30 s each)")
        print(_fmt_pipeline(result["pipeline"]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
