"""Method ``spiked.sim``: finite-N gradient flow (T = 0) / Langevin (T > 0) of the spiked (2+p) model.

reference/spiked.md §1 (model, Hamiltonian, dynamics), §5 (finite-N protocol); cli-contract.md fixes
the names. Each sample draws its own instance (:mod:`sgsweep.spiked.model`) and integrates one
trajectory (:mod:`sgsweep.spiked.dynamics`, projected stochastic Heun with renormalisation), both
from the sample's own seed ``ctx.replica_seeds[i]``.

Success of a sample (recorded in attrs ``success_definition``, ``success_threshold``,
``target_overlap``): s·C̄(t_end) ≥ success_threshold, with s·C̄ = C̄ for odd p (the x → −x symmetry
is broken by the tensor; a run ending at a negative-overlap minimum is a failure) and |C̄| for even
p (H(−x) = H(x)). success_threshold = ½·target, target = m_ML (ML-AMP fixed point, spiked.md §4.2)
for T = 0 and m_BO (Bayes AMP from an uninformative start, §4.1) for T > 0; where the theory gives
no positive target (target = 0, below the ML-AMP / AMP lines) the threshold is 0.5.
"""

from __future__ import annotations

import math

import numpy as np
import xarray as xr

from sgsweep import rng
from sgsweep.methods import REQUIRED, Method, Param, PointContext, register

from . import dynamics
from .theory import m_bo, m_ml

PARAMS = (
    Param("p", int, 3, "tensor order", choices=(3, 4), long_name="tensor order p"),
    Param("N", int, 128, "number of spins (dimension)", minimum=2, long_name="number of spins N"),
    Param("delta2", float, REQUIRED, "matrix noise variance Δ2", minimum=0, minimum_open=True,
          long_name="matrix noise variance Δ2"),
    Param("delta_p", float, REQUIRED, "tensor noise variance Δp", minimum=0, minimum_open=True,
          long_name="tensor noise variance Δp"),
    Param("T", float, 0.0, "temperature (0: gradient flow; 1: Bayes-optimal Langevin)", minimum=0,
          long_name="temperature T"),
    Param("samples", int, 16, "number of independent samples (instance + start each)", minimum=1,
          identity=False),
    Param("seed", int, 0, "base seed of the seed tree", minimum=0, identity=False),
    Param("t_max", float, 50.0, "final physical time (rounded up to a multiple of dt)", minimum=0,
          minimum_open=True, long_name="final physical time"),
    Param("dt", float, 0.1, "integrator time step (Heun; stable for dt·(μ+2√Q''(1)) < 2)", minimum=0,
          minimum_open=True, long_name="time step"),
    Param("grad_tol", float, 1e-10, "gradient flow stops early (remaining times get the final values) "
          "once the RMS projected gradient |P∇H|/√N < grad_tol; 0 disables; unused for T > 0", minimum=0,
          long_name="early-stop gradient tolerance"),
    Param("n_times", int, 60, "number of recorded times (t=0 and log-spaced steps up to t_max; "
          "duplicates after rounding to steps removed)", minimum=2, long_name="number of recorded times"),
    Param("overlap0", float, None, "fix the initial overlap C̄(0) exactly (default: uniform start "
          "conditioned on C̄(0) >= 0)", minimum=-1, maximum=1, optional=True,
          long_name="initial overlap C̄(0)"),
    Param("init", str, "positive", "initial condition when overlap0 is none: 'positive' (uniform on "
          "the sphere, flipped to C̄(0) >= 0) or 'uniform'", choices=("positive", "uniform"),
          long_name="initial condition"),
)

VARIABLES = {
    "overlap": "C̄(t) = x·x*/N per sample and recorded time",
    "energy": "H(x(t))/N per sample and recorded time",
    "mu": "Lagrange multiplier μ(t) = T − x·∇H/N",
    "success": "final overlap (|C̄| for even p) >= success_threshold",
    "overlap_initial": "C̄(0)",
    "overlap_final": "C̄(t_end)",
    "t_conv": "first integrator time with overlap (|C̄| for even p) >= success_threshold (NaN: never)",
    "max_energy_increase": "max over integrator steps of (H(x_{n+1}) − H(x_n))/N (GF: rounding only)",
    "norm_error": "max over steps of | |x|²/N − 1 |",
    "t_stop": "time at which the integration ended (< t_end after a gradient-flow early stop)",
}


def target_overlap(p: int, delta2: float, delta_p: float, T: float) -> float:
    """m_ML for T = 0, m_BO for T > 0 (sgsweep.spiked.theory)."""
    return float(m_ml(p, delta2, delta_p) if T == 0 else m_bo(p, delta2, delta_p))


def success_threshold(target: float) -> float:
    return 0.5 * target if target > 0 else 0.5


def compute(params: dict, ctx: PointContext) -> xr.Dataset:
    p, N = params["p"], params["N"]
    d2, dp, T = params["delta2"], params["delta_p"], params["T"]
    dt, t_max = params["dt"], params["t_max"]
    n_steps = max(1, int(math.ceil(t_max / dt - 1e-9)))
    rec = dynamics.record_steps(n_steps, params["n_times"])
    if params["overlap0"] is not None:
        mode, ov0 = dynamics.INIT_FIXED, float(params["overlap0"])
        init_text = f"C̄(0) = {ov0:g} exactly (x(0) = C̄(0) x* + √(1−C̄(0)²)√N u, u uniform unit ⟂ x*)"
    elif params["init"] == "positive":
        mode, ov0 = dynamics.INIT_POSITIVE, 0.0
        init_text = "x(0) uniform on the sphere conditioned on C̄(0) >= 0 (x → −x if negative)"
    else:
        mode, ov0 = dynamics.INIT_UNIFORM, 0.0
        init_text = "x(0) uniform on the sphere"
    target = target_overlap(p, d2, dp, T)
    thr = success_threshold(target)
    states = rng.init_states(ctx.replica_seeds)
    out = dynamics.simulate(states, p, N, d2, dp, T, dt, n_steps, rec, init_mode=mode, overlap0=ov0,
                            threshold=thr, grad_tol=params["grad_tol"], threads=ctx.threads, memory_mb=ctx.memory_mb,
                            progress=ctx.progress)
    ov, en, mu, diag = out["overlap"], out["energy"], out["mu"], out["diag"]
    final = ov[:, -1]
    score = np.abs(final) if p % 2 == 0 else final
    success = score >= thr
    diverged = diag[:, dynamics.DIAG_DIVERGED] > 0
    success &= ~diverged
    max_inc = diag[:, dynamics.DIAG_MAX_ENERGY_INCREASE] / N
    t = rec * dt
    s = ("sample",)
    st = ("sample", "time")
    ds = xr.Dataset(
        {
            "overlap": (st, ov, {"units": "1", "long_name": "overlap C̄(t) = x·x*/N"}),
            "energy": (st, en, {"units": "1", "long_name": "energy per spin H/N"}),
            "mu": (st, mu, {"units": "1", "long_name": "Lagrange multiplier μ = T − x·∇H/N"}),
            "success": (s, success, {"long_name": "sample recovered the signal (see success_definition)"}),
            "overlap_initial": (s, ov[:, 0], {"units": "1", "long_name": "initial overlap C̄(0)"}),
            "overlap_final": (s, final, {"units": "1", "long_name": "final overlap C̄(t_end)"}),
            "t_conv": (s, diag[:, dynamics.DIAG_T_CONV], {
                "units": "1", "long_name": "first time with overlap >= success_threshold (NaN: never)"}),
            "max_energy_increase": (s, max_inc, {
                "units": "1", "long_name": "max over integrator steps of ΔH/N (<= rounding for GF)"}),
            "norm_error": (s, diag[:, dynamics.DIAG_MAX_NORM_ERROR], {
                "units": "1", "long_name": "max over steps of ||x|²/N − 1|"}),
            "t_stop": (s, diag[:, dynamics.DIAG_T_STOP], {
                "units": "1", "long_name": "time at which the integration ended (early stop if < t_end)"}),
        },
        coords={
            "sample": ("sample", np.asarray(ctx.replica_index, dtype=np.int64), {"long_name": "sample index"}),
            "time": ("time", t, {"units": "1", "long_name": "physical time t"}),
        },
    )
    kind = "m_ML (ML-AMP fixed point, spiked.md §4.2)" if T == 0 else "m_BO (Bayes AMP fixed point, spiked.md §4.1)"
    ds.attrs["target_overlap"] = target
    ds.attrs["success_threshold"] = thr
    ds.attrs["success_definition"] = (
        f"success = {'|C̄(t_end)|' if p % 2 == 0 else 'C̄(t_end)'} >= success_threshold = "
        + ("½·target" if target > 0 else "0.5 (no positive target)")
        + f"; target = {kind}; start: {init_text}; t_end = {n_steps * dt:g}"
    )
    ds.attrs["initial_condition"] = init_text
    ds.attrs["integrator"] = "projected stochastic Heun + renormalisation to |x|^2 = N (sgsweep.spiked.dynamics)"
    ds.attrs["n_steps"] = n_steps
    if diverged.any():
        ds.attrs["status"] = "diverged"
    elif T == 0 and np.nanmax(max_inc) > 1e-9 * max(1.0, float(np.nanmax(np.abs(en)))):
        ds.attrs["status"] = "energy_increase"  # dt outside the stability region of the integrator
    else:
        ds.attrs["status"] = "ok"
    return ds


def cost(params: dict) -> float:
    """Seconds per sample on one core: two gradients per Heun step, each reading the packed tensor
    once (~4e-10 s per entry, `sgsweep bench gradient`) and the N×N matrix."""
    steps = params["t_max"] / params["dt"]
    N = params["N"]
    return 2 * steps * (4e-10 * math.comb(N, params["p"]) + 1e-9 * N * N) + 0.01


register(Method(
    name="spiked.sim",
    description=(
        "Finite-N spiked (2+p) matrix-tensor model: gradient flow (T=0) or Langevin (T>0) on the sphere "
        "|x|^2=N from a random start, one fresh instance per sample; records overlap, energy per spin "
        "and Lagrange multiplier on a log-spaced time grid."
    ),
    params=PARAMS,
    compute=compute,
    replicas=("samples", "sample"),
    variables=VARIABLES,
    reference="spiked.md §1, §5",
    cost=cost,
))
