"""Method ``spiked.amp``: finite-N AMP (Bayes-optimal or ML, spherical prior) on spiked (2+p)
instances, next to its state evolution (spiked.md §4.1, §4.2; algorithm in :mod:`sgsweep.spiked.amp`).

Each sample draws its instance with ``model.draw_into`` from its own seed, exactly as ``spiked.sim``
does. With ``sim_point`` set (e.g. ``"T=0,dt=0.1,t_max=50"``: the other identity parameters of a
``spiked.sim`` point, the rest at their defaults) the replica seeds are those of that ``spiked.sim``
point with the same p, N, delta2, delta_p and seed, so AMP runs on exactly the simulated instances.
"""

from __future__ import annotations

import math

import numpy as np
import xarray as xr

from sgsweep import rng
from sgsweep.methods import REQUIRED, Method, Param, ParameterError, PointContext, register

from . import amp, model, theory

PARAMS = (
    Param("p", int, 3, "tensor order", choices=(3, 4), long_name="tensor order p"),
    Param("N", int, 200, "number of spins (dimension); memory C(N,p)·8 bytes", minimum=4,
          long_name="number of spins N"),
    Param("delta2", float, REQUIRED, "matrix noise variance Δ2", minimum=0, minimum_open=True,
          long_name="matrix noise variance Δ2"),
    Param("delta_p", float, REQUIRED, "tensor noise variance Δp", minimum=0, minimum_open=True,
          long_name="tensor noise variance Δp"),
    Param("samples", int, 8, "number of independent samples (instance + start each)", minimum=1,
          identity=False),
    Param("seed", int, 0, "base seed of the seed tree", minimum=0, identity=False),
    Param("iterations", int, 30, "number of AMP iterations", minimum=1, maximum=100000,
          long_name="number of AMP iterations"),
    Param("kind", str, "bayes", "AMP flavour: 'bayes' (posterior mean, T=1) or 'ml' (maximum likelihood)",
          choices=("bayes", "ml")),
    Param("overlap0", float, 0.1, "initial overlap m0 = x̂⁰·x*/N (also the SE start)", minimum=0,
          maximum=1, minimum_open=True, maximum_open=True, long_name="initial overlap m0"),
    Param("sim_point", str, None, "reuse the instances of the spiked.sim point with these extra "
          "parameters (comma-separated key=value, e.g. 'T=0,t_max=50'); none: own seed tree",
          optional=True),
)


def _sim_seeds(params: dict, ctx: PointContext) -> list:
    from sgsweep import grid, methods

    sim = methods.get("spiked.sim")
    values = {k: params[k] for k in ("p", "N", "delta2", "delta_p", "seed")}
    for item in str(params["sim_point"]).split(","):
        item = item.strip()
        if not item:
            continue
        if "=" not in item:
            raise ParameterError(f"sim_point: got {params['sim_point']!r}, expected key=value,...")
        k, v = item.split("=", 1)
        values[k.strip()] = v.strip()
    canon = grid.canonical_params(sim, values, "sim_point.")
    return grid.replica_seeds(int(params["seed"]), sim, canon, ctx.replica_index)


def compute(params: dict, ctx: PointContext) -> xr.Dataset:
    p, N, d2, dp = params["p"], params["N"], params["delta2"], params["delta_p"]
    its, kind, m0 = params["iterations"], params["kind"], params["overlap0"]
    if N < p:
        raise ParameterError(f"N: got {N}, expected an integer >= p = {p}")
    mb = model.packed_size(N, p) * 8 / 2**20
    if mb > ctx.memory_mb:
        raise ParameterError(f"N: got {N}; the packed tensor needs {mb:.0f} MB > memory budget "
                             f"{ctx.memory_mb:.0f} MB (p={p}); use a smaller N")
    seeds = _sim_seeds(params, ctx) if params["sim_point"] is not None else ctx.replica_seeds
    states = rng.init_states(seeds)
    n = len(states)
    ov = np.empty((n, its + 1))
    qh = np.empty((n, its + 1))
    statuses = []
    for i in range(n):
        ctx.progress(i, n, "AMP samples")
        ov[i], qh[i], st = amp.run_amp(states[i], kind, p, N, d2, dp, its, m0)
        statuses.append(st)
    ctx.progress(n, n, "AMP samples")
    se_fn = theory.bayes_se if kind == "bayes" else theory.ml_se
    se = se_fn(m0, p, d2, dp, its)
    fixed = theory.m_bo(p, d2, dp) if kind == "bayes" else theory.m_ml(p, d2, dp)
    it = np.arange(its + 1)
    ds = xr.Dataset(
        {
            "overlap": (("sample", "iteration"), ov, {"units": "1", "long_name": "AMP overlap x̂ᵗ·x*/N"}),
            "norm": (("sample", "iteration"), qh, {"units": "1", "long_name": "squared norm |x̂ᵗ|²/N"}),
            "overlap_se": (("iteration",), se, {"units": "1", "long_name": "state-evolution overlap mᵗ"}),
            "overlap_se_fixed_point": ((), float(fixed), {
                "units": "1", "long_name": "SE fixed point reached from m0 -> 0+ (m_bo or m_ml)"}),
        },
        coords={
            "sample": ("sample", np.asarray(ctx.replica_index, dtype=np.int64), {"long_name": "sample index"}),
            "iteration": ("iteration", it, {"units": "1", "long_name": "AMP iteration t"}),
        },
    )
    ds.attrs["se_equation"] = ("m' = Q'(m)/(1+Q'(m)) (spiked.md §4.1)" if kind == "bayes"
                               else "m' = Q'(m)/sqrt(Q'(m)^2 + Q'(1)) (spiked.md §4.2)")
    ds.attrs["instances"] = ("spiked.sim point " + str(params["sim_point"]) if params["sim_point"] is not None
                             else "own seed tree (model.draw_into, same generator as spiked.sim)")
    ds.attrs["status"] = "diverged" if "diverged" in statuses else "ok"
    if not math.isfinite(float(np.nanmax(np.abs(ov)))):
        ds.attrs["status"] = "diverged"
    return ds


register(Method(
    name="spiked.amp",
    description="Finite-N AMP (Bayes-optimal posterior mean or maximum likelihood, spherical prior) on "
                "spiked (2+p) matrix-tensor instances, with the state-evolution prediction.",
    params=PARAMS,
    compute=compute,
    replicas=("samples", "sample"),
    variables={"overlap": "overlap(sample, iteration) = x̂ᵗ·x*/N",
               "norm": "norm(sample, iteration) = |x̂ᵗ|²/N",
               "overlap_se": "overlap_se(iteration): state evolution from overlap0"},
    reference="spiked.md §4.1, §4.2; sgsweep.spiked.amp",
))
