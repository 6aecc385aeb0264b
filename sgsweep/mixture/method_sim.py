"""Method ``mixture.sim``: finite-size GD / SGD / persistent-SGD runs on the Gaussian-mixture perceptron.

Parameter and variable names: cli-contract.md ("Gaussian-mixture perceptron"); numerics in
:mod:`sgsweep.mixture.sim`.
"""

from __future__ import annotations

import numba
import numpy as np
import xarray as xr

from sgsweep.methods import Method, Param, ParameterError, PointContext, register
from sgsweep.mixture import losses, selection, sim

COMMON = (
    Param("algorithm", str, "sgd", "gd (full batch), sgd (fresh Bernoulli(b) batch per step) or psgd "
          "(persistent SGD, selection persistence time tau)", choices=selection.ALGORITHMS),
    Param("alpha", float, 2.0, "sample ratio α = n/d", minimum=0, minimum_open=True),
    Param("b", float, 0.3, "batch fraction: each sample is in the batch with probability b (ignored by gd)",
          minimum=0, maximum=1, minimum_open=True),
    Param("tau", float, 1.0, "persistence time τ of psgd (P(0→1)=η/τ, P(1→0)=(1−b)η/(bτ) per step; "
          "psgd only; τ=η/b is SGD)", minimum=0, minimum_open=True),
    Param("lam", float, 0.0, "ridge λ: the update contains −η·lam·w", minimum=0),
    Param("delta", float, 0.5, "noise variance Δ of the mixture", minimum=0, minimum_open=True),
    Param("eta", float, 0.2, "learning rate η (one step = time η)", minimum=0, minimum_open=True),
    Param("R", float, 0.01, "variance of the initial weights w(0) ~ N(0, R)", minimum=0),
    Param("loss", str, "logistic", "per-sample loss ℓ of the margin y·φ", choices=losses.LOSSES),
    Param("clusters", int, 2, "2 clusters (y = c = ±1, output sgn h) or 3 (c = 0 → y = −1, c = ±1 → y = +1, "
          "output sgn(h² − L²))", choices=(2, 3)),
    Param("L", float, 0.7, "threshold L of the 3-cluster output sgn(h² − L²) (ignored for 2 clusters)",
          minimum=0),
    Param("t_max", float, 20.0, "final time (steps = round(t_max/η))", minimum=0, minimum_open=True),
)

PARAMS = COMMON[:1] + (Param("d", int, 1000, "input dimension d", minimum=2),) + COMMON[1:] + (
    Param("m0", float, None, "optional warm start: w(0) = m0·v* + N(0, R) (none: random start, |m(0)| ~ √(R/d))",
          optional=True),
    Param("n_test", int, 1000, "size of the held-out set of test_error_empirical (0: not computed)", minimum=0),
    Param("runs", int, 8, "independent runs (data, initialisation and batches)", minimum=1, identity=False),
    Param("seed", int, 0, "base seed of the seed tree", minimum=0, identity=False),
)

VARIABLES = {
    "test_error": "ε_gen(run,time) closed form ½erfc(m/√(2ΔC)) (2 clusters) or its 3-cluster form, from m and C",
    "test_error_empirical": "fraction of misclassified held-out samples (n_test), a check of test_error",
    "train_loss": "Σ_μ ℓ(y_μ φ_μ)/d over all n training samples (= α⟨ℓ⟩)",
    "train_accuracy": "fraction of correctly classified training samples",
    "magnetization": "m = w·v*/d (|m| for 3 clusters)",
    "norm": "C(t,t) = ‖w‖²/d",
}


def check_params(p: dict, dt: float | None = None) -> None:
    """Cross-parameter checks (raise ParameterError naming the key)."""
    if p["algorithm"] == "psgd":
        msg = selection.check_psgd(p["b"], p["tau"], p["eta"] if dt is None else dt)
        if msg:
            raise ParameterError(msg)


def time_coord(t):
    return ("time", t, {"units": "1", "long_name": "time t = number of steps × η"})


def compute(p: dict, ctx: PointContext) -> xr.Dataset:
    check_params(p)
    d = p["d"]
    n = sim.n_samples(p["alpha"], d)
    per_run_mb = 8.0 * (n + p["n_test"]) * d / 2**20
    threads = max(1, min(ctx.threads, int(ctx.memory_mb // max(per_run_mb, 1e-9))))
    if ctx.memory_mb < per_run_mb:
        raise MemoryError(f"one run needs {per_run_mb:.0f} MB > memory_mb={ctx.memory_mb:.0f}")
    old = numba.get_num_threads()
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    seeds = list(ctx.replica_seeds)
    parts = []
    batch = max(1, 2 * threads)
    try:
        for a in range(0, len(seeds), batch):
            parts.append(sim.run(p, seeds[a:a + batch], n_test=p["n_test"]))
            ctx.progress(min(a + batch, len(seeds)), len(seeds), "runs")
    finally:
        numba.set_num_threads(old)
    out = {k: np.concatenate([q[k] for q in parts]) for k in parts[0] if k not in ("time", "n")}
    t = parts[0]["time"]
    m = out["m"]
    mag = np.abs(m) if p["clusters"] == 3 else m
    dims = ("run", "time")
    ds = xr.Dataset(
        {
            "test_error": (dims, out["test_error"], {"units": "1", "long_name": "generalisation error ε_gen (closed form from m, C)"}),
            "train_loss": (dims, out["train_loss"], {"units": "1", "long_name": "training loss Σ_μ ℓ / d"}),
            "train_accuracy": (dims, out["train_accuracy"], {"units": "1", "long_name": "training accuracy"}),
            "magnetization": (dims, mag, {"units": "1", "long_name": "magnetisation m = w·v*/d" + (" (|m|)" if p["clusters"] == 3 else "")}),
            "norm": (dims, out["C"], {"units": "1", "long_name": "norm C(t,t) = ‖w‖²/d"}),
        },
        coords={"run": ("run", np.asarray(ctx.replica_index), {"units": "1", "long_name": "run index"}),
                "time": time_coord(t)},
    )
    if "test_error_empirical" in out:
        ds["test_error_empirical"] = (dims, out["test_error_empirical"],
                                      {"units": "1", "long_name": f"test error on {p['n_test']} held-out samples"})
    finite = np.isfinite(out["C"]).all() and np.isfinite(out["train_loss"]).all()
    ds.attrs["status"] = "ok" if finite else "diverged"
    ds.attrs["n_samples"] = int(n)
    ds.attrs["selection"] = "summed batch gradient (MKUZ20); psgd P(0->1)=eta/tau, P(1->0)=(1-b)eta/(b tau)"
    return ds


register(Method(
    name="mixture.sim",
    description="Finite-size simulation of GD, SGD or persistent SGD (learning rate η, summed batch gradient, "
                "ridge −η·lam·w) for a perceptron classifying a 2- or 3-cluster Gaussian mixture; runs in parallel.",
    params=PARAMS, compute=compute, replicas=("runs", "run"), variables=VARIABLES,
    reference="sgd_dmft.md §2–§3, §4.4; Mignacco et al. arXiv:2006.06098", check=check_params))
