"""Method ``retrieval.sim``: gradient flow in phase retrieval, single unit (m = 1) or network (m > 1).

Reference: sgd_dmft.md §8 (SBCKUZ20 arXiv:2006.06997 for m = 1, SVZ20 arXiv:2006.15459 for m > 1);
numerics in :mod:`sgsweep.retrieval.model` and :mod:`sgsweep.retrieval.flow`.
"""

from __future__ import annotations

import numba
import numpy as np
import xarray as xr

from sgsweep import rng
from sgsweep.methods import REQUIRED, Method, Param, PointContext, register

from . import flow, model

PARAMS = (
    Param("d", int, 64, "input dimension (the papers' p)", minimum=2),
    Param("alpha", float, REQUIRED, "sample ratio α = n/d (n = round(α d))", minimum=0, minimum_open=True),
    Param("m", int, 1, "hidden units of the student (1 = spherical single unit, >1 = two-layer "
          "network with quadratic activation and plain gradient flow)", minimum=1),
    Param("runs", int, 16, "number of independent runs (teacher, data and start drawn afresh)",
          minimum=1, identity=False),
    Param("seed", int, 0, "base seed of the seed tree", minimum=0, identity=False),
    Param("t_max", float, 10.0, "final time of the gradient flow of the loss as written (no prefactor)",
          minimum=0, minimum_open=True),
    Param("dt", float, 0.1, "spacing of the recorded time grid (the integrator adapts its own step)",
          minimum=0, minimum_open=True),
    Param("success_overlap", float, 0.9, "a run succeeds if its final overlap is at least this",
          minimum=0, maximum=1, minimum_open=True),
    Param("tolerance", float, 1e-12, "stop a run when the loss per sample 𝓛/n falls below this "
          "(converged)", minimum=0),
    Param("stall_tolerance", float, 1e-16, "stop a run when the mean squared flow velocity "
          "|dW/dt|²/(m d) falls below this (stalled at a critical point)", minimum=0),
    Param("rtol", float, 1e-3, "local error tolerance of the adaptive Euler/Heun step (RMS per "
          "coordinate)", minimum=0, minimum_open=True),
    Param("teacher", str, "spherical", "teacher norm: 'spherical' rescales w* ~ N(0,I) to |w*|² = d "
          "(exact zero-loss minimum on the student sphere), 'gaussian' keeps w* ~ N(0,I)",
          choices=("spherical", "gaussian")),
)

VARIABLES = {
    "overlap": "q(run,time) = sqrt(<A,A*>_F/(|A|_F |A*|_F)), A = (1/m) sum_a w_a w_a^T, A* = w* w*^T "
               "(= |w.w*|/(|w||w*|) for m = 1)",
    "loss": "loss(run,time) = sum_mu (y_mu^2 - (1/m) sum_a (X w_a)_mu^2)^2, as written",
    "norm": "norm(run,time) = sum_a |w_a|^2/(m d) (= 1 on the sphere for m = 1)",
    "success": "success(run): final overlap >= success_overlap",
    "t_success": "first recorded time with overlap >= success_overlap (NaN: never reached)",
    "t_stop": "time at which the run stopped (stopping rule) or t_max",
    "stop_reason": "0 t_max, 1 converged (loss/n <= tolerance), 2 stalled, 3 step_underflow",
    "matrix_error": "final |A - A*|_F / |A*|_F",
    "steps": "accepted integrator steps",
    "rejected_steps": "rejected trial steps",
}


def compute(params: dict, ctx: PointContext) -> xr.Dataset:
    d, alpha, m = params["d"], params["alpha"], params["m"]
    n = model.n_samples(alpha, d)
    times = flow.time_grid(params["t_max"], params["dt"])
    states = rng.init_states(ctx.replica_seeds)
    R = len(states)
    # memory: X (n d) + W, F0, F1, W1 (4 m d) doubles per run in flight
    per_run_mb = 8.0 * (n * d + 4 * m * d + 3 * n) / 2**20
    threads = max(1, min(int(ctx.threads), numba.config.NUMBA_NUM_THREADS))
    threads = max(1, min(threads, int(ctx.memory_mb // max(per_run_mb, 1e-9))))
    old_threads = numba.get_num_threads()
    numba.set_num_threads(threads)
    # runs differ a lot in cost (converged early vs run to t_max): dynamic scheduling, one run at a
    # time per thread (numba's parallel chunk size); a run's bits do not depend on it
    old_chunksize = numba.get_parallel_chunksize()
    numba.set_parallel_chunksize(1)
    chunk = 8 * threads
    parts = []
    try:
        for s in range(0, R, chunk):
            parts.append(flow.simulate(
                states[s:s + chunk], d, alpha, m, times, spherical_teacher=params["teacher"] == "spherical",
                rtol=params["rtol"], loss_tol=params["tolerance"], stall_tol=params["stall_tolerance"]))
            ctx.progress(min(s + chunk, R), R, "runs")
    finally:
        numba.set_num_threads(old_threads)
        numba.set_parallel_chunksize(old_chunksize)

    def cat(key):
        return np.concatenate([p[key] for p in parts]) if parts else np.empty(0)

    ovl = cat("overlap").reshape(R, len(times))
    loss = cat("loss").reshape(R, len(times))
    nrm = cat("norm").reshape(R, len(times))
    thr = params["success_overlap"]
    success = ovl[:, -1] >= thr if R else np.zeros(0, bool)
    reached = ovl >= thr
    t_succ = np.where(reached.any(axis=1), times[np.argmax(reached, axis=1)], np.nan) if R else np.zeros(0)
    stop = cat("stop").astype(np.int8)

    run_dim = ("run",)
    ds = xr.Dataset(
        {
            "overlap": (("run", "time"), ovl, {"units": "1", "long_name": "overlap with the teacher",
                                               "definition": VARIABLES["overlap"]}),
            "loss": (("run", "time"), loss, {"units": "1", "long_name": "training loss",
                                             "definition": VARIABLES["loss"]}),
            "norm": (("run", "time"), nrm, {"units": "1", "long_name": "squared weight norm per coordinate",
                                            "definition": VARIABLES["norm"]}),
            "success": (run_dim, success, {"units": "1", "long_name": "run recovered the teacher",
                                           "definition": VARIABLES["success"]}),
            "t_success": (run_dim, t_succ, {"units": "1", "long_name": "time to success",
                                            "definition": VARIABLES["t_success"],
                                            "comment": "NaN means the overlap never reached success_overlap"}),
            "t_stop": (run_dim, cat("t_stop"), {"units": "1", "long_name": "stopping time"}),
            "stop_reason": (run_dim, stop, {"units": "1", "long_name": "why the run stopped",
                                            "flag_values": np.arange(4, dtype=np.int8),
                                            "flag_meanings": " ".join(flow.STOP_MEANINGS)}),
            "matrix_error": (run_dim, cat("matrix_error"), {"units": "1",
                                                            "long_name": "final relative distance |A-A*|/|A*|"}),
            "steps": (run_dim, cat("accepted").astype(np.int64), {"units": "1", "long_name": "accepted steps"}),
            "rejected_steps": (run_dim, cat("rejected").astype(np.int64),
                               {"units": "1", "long_name": "rejected trial steps"}),
        },
        coords={
            "run": ("run", np.asarray(ctx.replica_index), {"units": "1", "long_name": "run index"}),
            "time": ("time", times, {"units": "1", "long_name": "physical time t of the gradient flow"}),
        },
    )
    n_bad = int(np.sum(stop == flow.STOP_UNDERFLOW))
    ds.attrs["status"] = "ok" if n_bad == 0 else "diverged"
    ds.attrs["n_step_underflow"] = n_bad
    ds.attrs["n_samples"] = n
    ds.attrs["flow"] = ("spherical single unit, |w|^2 = d, Lagrange multiplier" if m == 1
                        else "two-layer network, plain gradient flow")
    ds.attrs["integrator"] = "adaptive Euler/Heun 1(2) embedded pair with monotone-loss guard (sgsweep.retrieval.flow)"
    return ds


register(Method(
    name="retrieval.sim",
    description=(
        "Gradient flow for noiseless real phase retrieval y = |X w*| (X_mu,i ~ N(0,1/d)): the "
        "spherical single unit (m = 1, |w|^2 = d, loss sum (y^2 - (Xw)^2)^2) or a two-layer network "
        "with m quadratic hidden units (loss sum (y^2 - (1/m) sum_a (X w_a)^2)^2, w_a(0) ~ N(0,I)). "
        "Adaptive integrator, per-run stopping rule; overlap and loss on a regular time grid."),
    params=PARAMS,
    compute=compute,
    replicas=("runs", "run"),
    variables=VARIABLES,
    reference="sgd_dmft.md §8 (arXiv:2006.06997, arXiv:2006.15459)",
))
