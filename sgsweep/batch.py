"""Run a chunk of tasks: the body of the pipeline's ``points`` job, with a per-point cache.

Each task's point file is written atomically; a task whose file already exists is skipped, so a
chunk rerun after a crash, or after the grid grew and new tasks fell into this chunk, computes only
what is missing. A failed solve is written as a dataset with status ``failed`` and the error (the
other tasks go on). Last, the chunk writes its manifest (every task with its status, JSON) and a
read cache of its point files (:func:`sgsweep.store.write_read_cache`), so that the aggregation of
a sweep reads a few chunk caches instead of one netCDF file per point (10^4 points in seconds).
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from .point import compute_point
from .store import load_read_caches, read_point_files, write_atomic, write_read_cache, write_text_atomic

log = logging.getLogger("sgsweep")


def run_tasks(tasks: list[dict], root: str, threads: int = 1, memory_mb: float = 4000.0) -> list[dict]:
    """Compute the missing point files of ``tasks`` (dicts of :meth:`Task.to_json`)."""
    root = Path(root)
    done = []
    todo = [t for t in tasks if not (root / t["path"]).exists()]
    log.info("chunk: %d tasks, %d cached, %d to compute", len(tasks), len(tasks) - len(todo), len(todo))
    t0 = time.perf_counter()
    for k, t in enumerate(tasks):
        path = root / t["path"]
        if path.exists():
            done.append({"path": t["path"], "cached": True})  # status filled in from the read cache
            continue
        ds = _compute(t, threads, memory_mb)
        write_atomic(ds, path)
        status = ds.attrs.get("status", "ok")
        done.append({"path": t["path"], "cached": False, "status": status, "wall_time_s": ds.attrs.get("wall_time_s")})
        log.info(
            "[%d/%d] %s -> %s (%s, %.2f s; chunk %.1f s elapsed)",
            len(done), len(tasks), t["point_id"], path, status, ds.attrs.get("wall_time_s", 0.0), time.perf_counter() - t0,
        )
    return done


def _compute(t: dict, threads: int, memory_mb: float):
    from . import methods

    method = methods.get(t["method"])
    replicas = (t["start"], t["stop"]) if method.replicas is not None else None
    return compute_point(
        t["method"], t["params"], seed=t["seed"], replicas=replicas, threads=threads,
        memory_mb=memory_mb, label=f"{t['method']} {t['point_id']} r{t['start']}-{t['stop']}",
    )


def run_chunk(tasks: list[dict], root: str, manifest: str, cache: str | None = None, threads: int = 1,
              memory_mb: float = 4000.0) -> None:
    """Run ``tasks``, then write the read cache and the manifest (JSON) atomically.

    The read cache is not a declared output of the job (Snakemake would delete it before a rerun):
    a rerun reuses the records of unchanged files and reads only the new ones."""
    from . import methods

    done = run_tasks(tasks, root, threads, memory_mb)
    if tasks:
        skip = set(methods.get(tasks[0]["method"]).param_names)
        previous = load_read_caches([cache]) if cache is not None else {}
        raws = read_point_files(root, [t["path"] for t in tasks], skip, previous)
        for entry in done:
            entry["status"] = str(raws[entry["path"]]["attrs"].get("status", "ok"))
        if cache is not None:
            write_read_cache(raws, cache)
    elif cache is not None:
        write_read_cache({}, cache)
    write_text_atomic(json.dumps({"tasks": done}, indent=1, sort_keys=True), manifest)
