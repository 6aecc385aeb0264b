"""Run a chunk of tasks: the body of the pipeline's ``points`` job, with a per-point cache.

Each task's point file is written atomically; a task whose file already exists is skipped, so a
chunk rerun after a crash, or after the grid grew and new tasks fell into this chunk, computes only
what is missing. A failed solve is written as a dataset with status ``failed`` and the error (the
other tasks go on). The manifest lists every task of the chunk with its status and is written last.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from .point import compute_point
from .store import write_atomic, write_text_atomic

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
            done.append({"path": t["path"], "cached": True})
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


def run_chunk(tasks: list[dict], root: str, manifest: str, threads: int = 1, memory_mb: float = 4000.0) -> None:
    """Run ``tasks`` and write the manifest (JSON) atomically once all point files exist."""
    done = run_tasks(tasks, root, threads, memory_mb)
    write_text_atomic(json.dumps({"tasks": done}, indent=1, sort_keys=True), manifest)
