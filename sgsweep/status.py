"""``sgsweep status``: per sweep, how many grid points are done, failed and pending.

Reads only the sweep config and the files on disk -- no Snakemake, no DAG -- so it answers in about a
second even for 10^5 points::

    sgsweep status                                   # workflow/config/default.yaml, ./results
    sgsweep status --configfile workflow/config/test.yaml
    sgsweep status -c my.yaml -d /scratch/run1 --json

A point is *done* when every replica-block file of it exists and none failed, *failed* when one of
its files has status ``failed`` (the error is in that file's ``error`` attr and in the aggregate),
*pending* otherwise (not computed yet, or only some replica blocks). The status of a point file is
taken from the chunk manifests (``results/<sweep>/chunks/<chunk>.json``) when they record it, else
read from the file's ``status`` attribute. ``aggregate`` says whether ``aggregate.nc`` exists and
covers the current grid (its ``sweep`` attr equals the config's sweep).

A failed point stays failed (its file is a result: the error). To retry it, delete its file, its
chunk's manifest and the sweep's aggregate, then rerun Snakemake (which recomputes only the deleted
points): ``sgsweep status --failed-files | xargs rm -f``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

DEFAULT_CONFIG = "workflow/config/default.yaml"


def _deep_update(a: dict, b: dict) -> dict:
    for k, v in b.items():
        if isinstance(v, dict) and isinstance(a.get(k), dict):
            _deep_update(a[k], v)
        else:
            a[k] = v
    return a


def load_config(files: list[str]) -> dict:
    import yaml

    cfg: dict = {}
    for f in files:
        with open(f) as fh:
            _deep_update(cfg, yaml.safe_load(fh) or {})
    return cfg


def _manifest_status(sweep_dir: Path) -> dict[str, str]:
    """relpath -> status from every chunk manifest that records it."""
    out = {}
    chunks = sweep_dir / "chunks"
    if not chunks.is_dir():
        return out
    for entry in os.scandir(chunks):
        if not entry.name.endswith(".json"):
            continue
        try:
            with open(entry.path) as fh:
                data = json.load(fh)
        except (OSError, ValueError):
            continue
        for t in data.get("tasks", []):
            if isinstance(t, dict) and t.get("status") and t.get("path"):
                out[t["path"]] = str(t["status"])
    return out


def _file_status(path: Path) -> str:
    import netCDF4

    try:
        with netCDF4.Dataset(path) as nc:
            return str(nc.getncattr("status")) if "status" in nc.ncattrs() else "ok"
    except OSError:
        return "unreadable"


def sweep_status(sweep, root: str | os.PathLike) -> dict:
    """Counts for one :class:`sgsweep.sweeps.Sweep` whose results live under ``root``."""
    root = Path(root)
    sdir = root / sweep.name
    known = _manifest_status(sdir)
    per_point: dict[str, list] = {}
    bad_tasks = []
    tasks_total = tasks_present = read_files = 0
    for task in sweep.tasks():
        tasks_total += 1
        f = root / task.relpath
        st = None
        if os.path.exists(f):
            tasks_present += 1
            st = known.get(task.relpath)
            if st is None:
                st = _file_status(f)
                read_files += 1
            if st in ("failed", "unreadable"):
                bad_tasks.append(task)
        per_point.setdefault(task.point_id, []).append(st)
    done = failed = pending = 0
    failed_ids = []
    # to retry the failed points: their files, their chunks' manifests and the aggregate (Snakemake
    # does not regenerate a missing intermediate file while everything downstream of it exists)
    failed_files = [str(root / t.relpath) for t in bad_tasks]
    failed_files += [str(sdir / "chunks" / f"{c}.json") for c in sorted({sweep.chunk_of(t) for t in bad_tasks})
                     if (sdir / "chunks" / f"{c}.json").exists()]
    if bad_tasks and (sdir / "aggregate.nc").exists():
        failed_files.append(str(sdir / "aggregate.nc"))
    for pid, sts in per_point.items():
        if any(s in ("failed", "unreadable") for s in sts):
            failed += 1
            failed_ids.append(pid)
        elif all(s is not None for s in sts):
            done += 1
        else:
            pending += 1
    agg = sdir / "aggregate.nc"
    if not agg.exists():
        agg_state = "missing"
    else:
        agg_state = "stale"
        try:
            import netCDF4

            from .sweeps import sweep_json

            with netCDF4.Dataset(agg) as nc:
                if "sweep" in nc.ncattrs() and json.loads(nc.getncattr("sweep")) == json.loads(sweep_json(sweep)):
                    agg_state = "current"
        except (OSError, ValueError):
            agg_state = "unreadable"
    return {
        "sweep": sweep.name,
        "method": sweep.method.name,
        "points": len(per_point),
        "done": done,
        "failed": failed,
        "pending": pending,
        "tasks": tasks_total,
        "tasks_present": tasks_present,
        "aggregate": agg_state,
        "failed_points": failed_ids[:20],
        "failed_files": failed_files,
        "files_opened": read_files,
    }


def status(config: dict, directory: str | os.PathLike = ".") -> list[dict]:
    from .sweeps import load_sweeps

    root = Path(directory) / config.get("results", "results")
    return [sweep_status(sw, root) for sw in load_sweeps(config).values()]


def format_table(rows: list[dict]) -> str:
    head = f"{'sweep':<22} {'method':<14} {'points':>8} {'done':>8} {'failed':>7} {'pending':>8} {'files':>15}  aggregate"
    out = [head, "-" * len(head)]
    for r in rows:
        files = f"{r['tasks_present']}/{r['tasks']}"
        out.append(f"{r['sweep']:<22} {r['method']:<14} {r['points']:>8} {r['done']:>8} {r['failed']:>7} "
                   f"{r['pending']:>8} {files:>15}  {r['aggregate']}")
    for r in rows:
        for pid in r["failed_points"]:
            out.append(f"failed: {r['sweep']}/points/{pid}")
        if r["failed"] > len(r["failed_points"]):
            out.append(f"failed: ... and {r['failed'] - len(r['failed_points'])} more in {r['sweep']}")
    return "\n".join(out)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(
        prog="sgsweep status",
        description="Per sweep: grid points done, failed and pending, from the config and the files "
        "on disk (no DAG planning).",
    )
    ap.add_argument("-c", "--configfile", action="append", default=None,
                    help=f"sweep config(s), merged in order like snakemake --configfile (default {DEFAULT_CONFIG})")
    ap.add_argument("-d", "--directory", default=".", help="working directory of the run (results/ is relative to it)")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ap.add_argument("--failed-files", action="store_true",
                    help="print only the files to delete to retry the failed points (their point files, chunk "
                    "manifests and the aggregate), one per line: sgsweep status --failed-files | xargs rm -f")
    args = ap.parse_args(argv)
    from .methods import ParameterError

    files = args.configfile or [DEFAULT_CONFIG]
    try:
        cfg = load_config(files)
        rows = status(cfg, args.directory)
    except FileNotFoundError as exc:
        print(f"sgsweep status: {exc}", file=sys.stderr)
        return 2
    except ParameterError as exc:
        print(f"sgsweep status: invalid sweep config: {exc}", file=sys.stderr)
        return 2
    if args.failed_files:
        for r in rows:
            for f in r["failed_files"]:
                print(f)
    elif args.json:
        print(json.dumps(rows, indent=1))
    else:
        print(format_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
