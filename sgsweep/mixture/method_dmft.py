"""Method ``mixture.dmft``: DMFT of GD / SGD / persistent SGD on the Gaussian-mixture perceptron.

Parameter and variable names: cli-contract.md; numerics and derivation in :mod:`sgsweep.mixture.dmft`.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import xarray as xr

from sgsweep.methods import Method, Param, ParameterError, PointContext, register
from sgsweep.mixture import dmft
from sgsweep.mixture.method_sim import COMMON, check_params, time_coord

PARAMS = COMMON + (
    Param("paths", int, 2000, "Monte-Carlo paths of the effective sample process per repeat", minimum=2),
    Param("m0", float, 0.0, "initial magnetisation m(0) (3 clusters need m0 > 0: m = 0 is a fixed point; "
          "a random start in dimension d has |m(0)| ≈ √(2R/(πd)))", minimum=0),
    Param("dt", float, None, "DMFT time step; none = η (the discrete algorithm, exact for gd/sgd); for psgd a "
          "smaller dt integrates the η → 0 (stochastic gradient flow) limit", minimum=0, minimum_open=True,
          optional=True),
    Param("solver", str, "forward", "forward: one causal pass (growing Cholesky); iterate: damped "
          "Eissfeller–Opper fixed point", choices=("forward", "iterate")),
    Param("repeats", int, 4, "independent DMFT solves; the error bars are their standard error (includes the "
          "Monte-Carlo noise carried through the kernels)", minimum=2),
    Param("damping", float, 0.5, "iterate: weight θ of the new kernels, K ← θK_new + (1−θ)K_old",
          minimum=0, maximum=1, minimum_open=True),
    Param("iterations", int, 60, "iterate: maximum number of Eissfeller–Opper iterations", minimum=1),
    Param("tol_mc", float, 0.1, "iterate: stop when the relative change of m and C(t,t) is below "
          "tol_mc/√paths (a fraction of the Monte-Carlo error)", minimum=0, minimum_open=True),
    Param("response", str, "auto", "estimator of the response kernel: tangent (per-path tangent process), "
          "stein (Gaussian integration by parts, exact for the hinge kink), auto (stein for hinge, else tangent)",
          choices=("auto", "tangent", "stein")),
    Param("hinge_eps", float, 0.05, "hinge with response=tangent only: width of the Gaussian-smoothed δ(z−1) "
          "used as ℓ''", minimum=0, minimum_open=True),
    Param("seed", int, 0, "base seed of the seed tree", minimum=0, identity=False),
)

NAMES = {
    "test_error": ("test_error", "generalisation error ε_gen (closed form from m, C)"),
    "train_loss": ("train_loss", "training loss α⟨ℓ⟩"),
    "train_accuracy": ("train_accuracy", "training accuracy 1 − ⟨θ(−yΦ(r))⟩"),
    "m": ("magnetization", "magnetisation m"),
    "C": ("norm", "norm C(t,t)"),
    "lambda_hat": ("lambda_hat", "effective regularisation λ̂(t) = αΔ⟨sΛ''⟩"),
}

VARIABLES = {v: d + " (mean over repeats)" for v, d in NAMES.values()}
VARIABLES.update({v + "_stderr": "Monte-Carlo standard error of " + v + " (std over repeats / √repeats)"
                  for v, _ in NAMES.values()})


def repeat_seeds(root: np.random.SeedSequence, count: int) -> list:
    """Seed sequence of repeat q: the point's root with spawn key extended by q (stateless)."""
    return [np.random.SeedSequence(root.entropy, spawn_key=tuple(root.spawn_key) + (q,)) for q in range(count)]


def check_dmft_params(p: dict) -> None:
    """Cross-parameter checks, run at validation time (raise ParameterError naming the key)."""
    dt, _K = dmft.grid(p)
    check_params(p, dt=dt)
    if p["algorithm"] == "sgd" and p["dt"] is not None and abs(p["dt"] - p["eta"]) > 1e-12 * p["eta"]:
        raise ParameterError("dt: for algorithm=sgd the DMFT grid is the learning rate eta; leave dt unset")
    if p["clusters"] == 3 and p["m0"] == 0.0:
        raise ParameterError("m0: got 0, 3 clusters need m0 > 0 (m = 0 is a fixed point of the DMFT); "
                             "a random start in dimension d has |m(0)| ~ sqrt(2R/(pi d))")


def compute(p: dict, ctx: PointContext) -> xr.Dataset:
    dt, K = dmft.grid(p)
    Q = p["repeats"]
    seeds = repeat_seeds(ctx.root_seed, Q)
    need_mb = 8.0 * ((3 * p["paths"] + 6 * (K + 1)) * (K + 1)) / 2**20
    threads = max(1, min(ctx.threads, int(ctx.memory_mb // max(need_mb, 1e-9))))
    old = numba.get_num_threads()
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    try:
        if p["solver"] == "forward":
            parts = []
            for a in range(0, Q, threads):
                parts.append(dmft.solve(p, seeds[a:a + threads]))
                ctx.progress(min(a + threads, Q), Q, "DMFT repeats")
            info = parts[0]["info"]
            res = {k: np.concatenate([q[k] for q in parts]) for k in NAMES}
            if any(q["info"]["status"] != "ok" for q in parts):
                info["status"] = "diverged"
        else:
            out = dmft.solve(p, seeds, progress=ctx.progress)
            info = out["info"]
            res = {k: out[k] for k in NAMES}
    finally:
        numba.set_num_threads(old)
    t = np.arange(K + 1) * dt
    if p["clusters"] == 3:
        res["m"] = np.abs(res["m"])
    data = {}
    for key, (name, long) in NAMES.items():
        a = res[key]
        data[name] = ("time", a.mean(0), {"units": "1", "long_name": long})
        data[name + "_stderr"] = ("time", a.std(0, ddof=1) / math.sqrt(Q),
                                  {"units": "1", "long_name": "Monte-Carlo standard error of " + long})
    ds = xr.Dataset(data, coords={"time": time_coord(t)})
    ds.attrs.update(
        status=info["status"], solver=p["solver"], response=info["response"], dt=dt, steps=K, iterations=int(info["iterations"]),
        residual=float(info["residual"]),
        stderr_method=f"standard error over {Q} independent solves of {p['paths']} paths each",
    )
    if "tolerance" in info:
        # EO stopping rule: relative change of m and C(t,t) between iterations below tol_mc/√paths;
        # recorded next to the relative Monte-Carlo error actually achieved (from the repeats)
        mc_rel = max(float(np.max(ds["magnetization_stderr"])) / max(float(np.max(np.abs(ds["magnetization"]))), 1e-3),
                     float(np.max(ds["norm_stderr"])) / max(float(np.max(np.abs(ds["norm"]))), 1e-3))
        ds.attrs["tolerance"] = float(info["tolerance"])
        ds.attrs["mc_relative_error"] = mc_rel
        ds.attrs["residual_over_mc_error"] = float(info["residual"]) / max(mc_rel, 1e-300)
    return ds


register(Method(
    name="mixture.dmft",
    description="Dynamical mean-field theory (d → ∞) of GD, SGD or persistent SGD on the Gaussian-mixture "
                "perceptron: Monte-Carlo solution of the effective gap process (causal one-pass solver, or the "
                "damped Eissfeller–Opper iteration), with error bars from independent repeats.",
    params=PARAMS, compute=compute, replicas=None, variables=VARIABLES, check=check_dmft_params,
    reference="sgd_dmft.md §4 (corrected form); Mignacco et al. arXiv:2006.06098; "
              "Celentano et al. 2021 / Gerbelot et al. arXiv:2210.06591 for the discrete-time form"))
