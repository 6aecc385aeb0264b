"""Method ``spiked.dmft``: DMFT / Langevin state evolution of the spiked (2+p) model (spiked.md §2).

One point = one deterministic solve of the CHSCK equations, by one of two solvers (``solver``):

* ``ratio`` (default): :func:`sgsweep.spiked.dmft_ratio.solve_ratio`, an ODE in t on a fixed grid
  of time ratios θ = t'/t, adaptive Dormand–Prince steps. Converged to 1e-4 through slow escapes at
  its defaults (issue 4's command: doubling ``ratio_density`` changes C̄ by 4.1e-5, lowering
  ``ratio_rtol`` tenfold by 3.5e-5; order 8 in the density); 2–3 s for t ≤ 100, but its late steps
  are stability-limited (h ≤ 3.3/(2μ)), so t = 10^4 takes about 4–5 minutes on 2 cores;
* ``doubling``: :func:`sgsweep.spiked.dmft.solve`, the Kim–Latz time-doubling window of the
  reference codes: seconds to t = 10^4, second order where the window resolves the dynamics, but
  through a slow escape its error converges at order < 1.5 (1e-2 on issue 4's command at Nt = 512).

Both report on the time points of the doubling grid of ``Nt``, ``dt0`` (the ratio solver through
its own Hermite interpolant), so that points, solvers and grid checks share the time axis.
Outputs (physical time): ``overlap`` = C̄(t),
``mu``, ``energy``, ``corr``/``response``/``chi`` at a few waiting times, the per-point scalar
``t_conv`` = first time C̄ reaches half its target (m_ML for T = 0, m_BO otherwise; ratio solver:
root of its Hermite interpolant of C̄, doubling solver: linear interpolation between its time
points; NaN when not reached by ``t_max``, see ``reached``) and the stationary check values of
spiked.md §2.2 as attrs (``check_*``).

Grid check (``grid_check=1``, default): the same solve on the coarse grid (ratio solver: half the
density; doubling solver: the window Nt/2, same dt0, every other time point of the Nt grid) gives
``overlap_grid_diff`` = C̄ − C̄_coarse on the shared time points (NaN on the others), its maximum
``grid_diff_max`` (attr ``grid_diff_time``: where) and ``t_conv_grid_diff`` = t_conv −
t_conv_coarse. The change estimates the error of the coarse curve, and bounds the point's own
where the order is ≥ 1. Ratio solver: order 8, so the point's own error is about 1/256 of it
(issue 4's command: grid_diff_max = 1.06e-2, and doubling the density changes C̄ by 4.1e-5).
Doubling solver: measured orders 0.4–2.5 (:mod:`sgsweep.spiked.dmft`, Known limitations), so it
is no bound where the order is < 1, but it makes a curve that is not converged visible at every
point: issue 4's case has grid_diff_max = 3.8e-2 at Nt = 256; the default T=0 threshold sweep
(Nt = 512) has t_conv_grid_diff / t_conv = 0.4–2.4 % and a threshold shift of −0.0017.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import xarray as xr

from sgsweep.methods import REQUIRED, Method, Param, ParameterError, PointContext, register
from sgsweep.spiked import dmft as _dmft
from sgsweep.spiked import dmft_ratio as _ratio

log = logging.getLogger("sgsweep")

PARAMS = (
    Param("p", int, 3, "tensor order", minimum=3),
    Param("delta2", float, REQUIRED, "matrix noise variance Δ2", minimum=0, minimum_open=True),
    Param("delta_p", float, REQUIRED, "tensor noise variance Δp", minimum=0, minimum_open=True),
    Param("T", float, 1.0, "temperature (1: Bayes-optimal Langevin, 0: gradient flow)", minimum=0),
    Param("overlap0", float, 1e-4, "initial overlap C̄(0)", minimum=-1, maximum=1),
    Param("t_max", float, 100.0, "final physical time", units="1", minimum=0, minimum_open=True),
    Param("solver", str, "ratio", "'ratio': ODE in t on a fixed grid of time ratios θ = t'/t "
          "(sgsweep.spiked.dmft_ratio; converged to 1e-4 through slow escapes at its defaults), "
          "'doubling': Kim–Latz time-doubling window (the reference codes' scheme, sgsweep.spiked.dmft)",
          choices=("ratio", "doubling")),
    Param("ratio_density", float, _ratio.DEFAULTS["density"], "ratio solver: nodes per unit of ln(θ/(1−θ)) "
          "(the grid check halves it; doubling it changes C̄ by 4e-5 on issue 4's case)",
          minimum=1),
    Param("ratio_order", int, _ratio.DEFAULTS["order"], "ratio solver: points of the interpolation and "
          "quadrature stencils (the order in the density)", minimum=2, maximum=12),
    Param("ratio_rtol", float, _ratio.DEFAULTS["rtol"], "ratio solver: relative tolerance of the adaptive "
          "Dormand–Prince step (1e-8 changes C̄ by 4e-5 on issue 4's case)", minimum=0, minimum_open=True,
          maximum=1e-3),
    Param("ratio_lag_min", float, _ratio.DEFAULTS["lag_min"], "ratio solver: lag t − t' (at t_max) below which "
          "the ratio grid stops refining geometrically and uses equal intervals, in units of 1/μ_ref, μ_ref = "
          "T + Q'(1) + √Q''(1) (the relaxation time at short lags; halving 1 changes C̄ by < 1e-5, 8 by 4e-4)",
          minimum=0, minimum_open=True, maximum=4),
    Param("Nt", int, 256, "Kim–Latz window size (points per doubling cycle ×2), even; also fixes the output "
          "times of both solvers (the doubling grid's time points)", minimum=8),
    Param("dt0", float, _dmft.DEFAULT_DT0, "initial time step of the doubling grid (a power of 2 keeps "
          "integer times on the grid; also the first output times of the ratio solver; halving it from 2^-14 "
          "changes C̄(t) by < 2e-5, from 2^-10 by up to 2e-3)",
          minimum=0, minimum_open=True),
    Param("Nc", int, 0, "doubling solver: near-diagonal entries taken along the diagonal (0: automatic, 2; 1 at T=0 "
          "while h·μ < 1)",
          minimum=0),
    Param("tol", float, 1e-8, "doubling solver: self-consistency tolerance (largest update of a new row; "
          "1e-8 moves C̄ by < 1e-7 against 1e-10)",
          minimum=0, minimum_open=True),
    Param("max_sweeps", int, 200, "doubling solver: maximum Gauss–Seidel sweeps per time step", minimum=1),
    Param("omega", float, 1.0, "doubling solver: relaxation factor of the Gauss–Seidel sweeps", minimum=0,
          minimum_open=True, maximum=1),
    Param("anderson", int, 5, "doubling solver: Anderson-acceleration history of the self-consistency sweeps (0: plain "
          "Gauss–Seidel)", minimum=0, maximum=8),
    Param("cycles", int, 64, "maximum number of doubling cycles (the doubling solver's, and the ratio solver's "
          "output times)", minimum=0),
    Param("waiting_times", str, "1,10,100", "comma-separated waiting times t_w for C(t,t_w), R(t,t_w)"),
    Param("grid_check", int, 1, "1: solve again on the coarse grid (Nt/2 window, cost about +1/8; half the ratio "
          "density, cost about +1/4) and record the change of "
          "C̄(t) and t_conv (grid_diff variables), 0: skip", minimum=0, maximum=1),
)


def _targets(p, delta2, delta_p, T):
    from sgsweep.spiked.theory import gf_asymptotics, langevin_asymptotics, m_bo, m_ml

    if T == 0.0:
        g = gf_asymptotics(p, delta2, delta_p)
        return float(m_ml(p, delta2, delta_p)), {
            "check_overlap_inf": g["m"], "check_mu_inf": g["mu"], "check_energy_inf": g["energy"],
            "check_mu_threshold": g["mu_threshold"],
            "check_description": "T=0 success: C̄→m_ML, μ→a+Q''(1)/a, e→−Q(m)−Q'(1)/a; "
                                 "stuck: μ→2√Q''(1) (check_mu_threshold) (spiked.md §2.2)"}
    g = langevin_asymptotics(p, delta2, delta_p, T)
    d = {"check_overlap_inf": float(m_bo(p, delta2, delta_p)), "check_mu_para": g["mu_para"],
         "check_description": "T=1 equilibrium: C̄→m_BO, μ→1+Q'(1), e→−Q(1); paramagnet at T: "
                              "μ→T+Q'(1)/T (spiked.md §2.2)"}
    if T == 1.0:
        d.update(check_mu_inf=g["mu"], check_energy_inf=g["energy"])
    return float(m_bo(p, delta2, delta_p)), d


def t_conv_of(time: np.ndarray, overlap: np.ndarray, target: float) -> float:
    """First time C̄ ≥ target/2 (linear interpolation between solver points); NaN if never."""
    half = 0.5 * target
    if not target > 0:
        return float("nan")
    ok = np.isfinite(overlap)
    t, c = time[ok], overlap[ok]
    k = np.nonzero(c >= half)[0]
    if len(k) == 0:
        return float("nan")
    k = k[0]
    if k == 0:
        return float(t[0])
    f = (half - c[k - 1]) / (c[k] - c[k - 1])
    return float(t[k - 1] + f * (t[k] - t[k - 1]))


def _t_conv(r: dict, target: float) -> float:
    """t_conv of a solve: the ratio solver's own Hermite interpolant of C̄ between its steps, the
    doubling grid's time points (linear interpolation) otherwise."""
    if "step_time" in r:
        return _ratio.t_first(r, 0.5 * target) if target > 0 else float("nan")
    return t_conv_of(r["time"], r["overlap"], target)


def _waiting_times(text: str) -> list[float]:
    return [float(x) for x in text.split(",") if x.strip()]


def check_params(p: dict) -> None:
    """Cross-parameter checks, run at validation time (the solver would reject these only when the
    job runs)."""
    err = _dmft.grid_error(p["Nt"], p["Nc"])
    if err:
        raise ParameterError(err)
    try:
        _waiting_times(p["waiting_times"])
    except ValueError:
        raise ParameterError(f"waiting_times: got {p['waiting_times']!r}, expected comma-separated numbers "
                             "such as '1,10,100'") from None


def _solve(params: dict, tw: list, coarse: bool, progress) -> dict:
    """The point's solve; coarse=True for the grid check: the window Nt/2 (doubling solver) or half
    the ratio density (ratio solver), every other setting the point's. Both solvers report on the
    time points of the doubling grid of the point's Nt, dt0 (the ratio solver through its own
    Hermite interpolant), so that points, solvers and the grid check share their time axis."""
    if params["solver"] == "ratio":
        times = _dmft.planned_times(params["Nt"], params["dt0"], params["t_max"], params["cycles"])
        density = params["ratio_density"] * (0.5 if coarse else 1.0)
        return _ratio.solve_ratio(params["p"], params["delta2"], params["delta_p"], params["T"],
                                  params["overlap0"], params["t_max"], times=times, density=density,
                                  order=params["ratio_order"], rtol=params["ratio_rtol"],
                                  lag_min=params["ratio_lag_min"], waiting_times=tw, progress=progress)
    Nt = params["Nt"] // 2 if coarse else params["Nt"]
    return _dmft.solve(params["p"], params["delta2"], params["delta_p"], params["T"], params["overlap0"],
                       params["t_max"], Nt=Nt, dt0=params["dt0"], Nc=params["Nc"], tol=params["tol"],
                       max_sweeps=params["max_sweeps"], cycles=params["cycles"], waiting_times=tw,
                       omega=params["omega"], anderson=params["anderson"], progress=progress)


def compute(params: dict, ctx: PointContext) -> xr.Dataset:
    tw = _waiting_times(params["waiting_times"])
    r = _solve(params, tw, False, lambda d, t, w: ctx.progress(d, t, w))
    target, checks = _targets(params["p"], params["delta2"], params["delta_p"], params["T"])
    tc = _t_conv(r, target)
    grid = _grid_check(params, tw, r, tc, target, ctx) if params["grid_check"] else None
    tcoord = ("time", r["time"], {"units": "1", "long_name": "physical time t"})
    ds = xr.Dataset(
        {
            "overlap": ("time", r["overlap"], {"units": "1", "long_name": "overlap C̄(t) = x·x*/N (DMFT)"}),
            "mu": ("time", r["mu"], {"units": "1", "long_name": "spherical Lagrange multiplier μ(t)"}),
            "energy": ("time", r["energy"], {"units": "1", "long_name": "energy per spin e(t) = H/N"}),
            "residual": ("time", r["residual"], {"units": "1", "long_name": RESIDUAL[params["solver"]]}),
            "corr": (("time", "t_w"), r["corr"], {"units": "1", "long_name": "C(t, t_w) (NaN for t < t_w)"}),
            "response": (("time", "t_w"), r["response"], {"units": "1", "long_name": "R(t, t_w) (NaN for t < t_w)"}),
            "chi": (("time", "t_w"), r["chi"], {"units": "1", "long_name": "χ(t, t_w) = ∫_{t_w}^t R(t,s) ds"}),
            "t_conv": ((), tc, {"units": "1", "long_name": "first time C̄ reaches half its target "
                                                          "(NaN: not reached by t_max)"}),
            "reached": ((), int(math.isfinite(tc)), {"units": "1", "long_name": "1 if t_conv ≤ t_max"}),
            **(grid["variables"] if grid else {}),
        },
        coords={"time": tcoord, "t_w": ("t_w", np.asarray(tw, float), {"units": "1", "long_name": "waiting time"})},
    )
    ds.attrs.update(checks)
    ds.attrs.update(status=r["status"], max_residual=r["max_residual"], t_reached=r["t_reached"],
                    solver=params["solver"], t_conv_target=target,
                    t_conv_definition="first t with C̄(t) ≥ target/2, target = m_ML (T=0) or m_BO (T>0)")
    if params["solver"] == "ratio":
        ds.attrs.update(steps=r["steps"], rejected_steps=r["rejected"], ratio_nodes=r["nodes"],
                        ratio_tau_min=r["tau_min"],
                        solver_description="ODE in t on a fixed grid of time ratios θ = t'/t, Dormand–Prince "
                                           "5(4); values at the doubling grid's times from its Hermite "
                                           "interpolant (sgsweep.spiked.dmft_ratio)")
    else:
        ds.attrs.update(cycles_done=r["cycles_done"], rows_unconverged=r["rows_unconverged"],
                        solver_description="Kim–Latz time-doubling window (sgsweep.spiked.dmft)")
    if grid:
        ds.attrs.update(grid["attrs"])
    return ds


RESIDUAL = {"doubling": "last self-consistency update",
            "ratio": "error estimate of the step covering t, in units of the tolerance (accepted: ≤ 1)"}


def _grid_check(params: dict, tw: list, r: dict, tc: float, target: float, ctx: PointContext) -> dict:
    """Variables and attrs of the grid check (module docstring): the solve on the coarse grid."""
    ratio = params["solver"] == "ratio"
    Nt2 = params["Nt"] // 2
    err = None if ratio else _dmft.grid_error(Nt2, params["Nc"])
    diff = np.full(len(r["time"]), np.nan)
    tc2 = np.nan
    what = f"density/2 = {params['ratio_density'] / 2:g}" if ratio else f"Nt/2 = {Nt2}"
    if err:
        status = f"not run: the Nt/2 window is not valid ({err})"
    else:
        rc = _solve(params, tw, True, lambda d, t, w: ctx.progress(d, t, f"grid check {what}: {w}"))
        status = rc["status"]
        # every time point of the Nt/2 grid is one of the Nt grid (steps are powers of 2 × dt0)
        k = np.searchsorted(r["time"], rc["time"])
        ok = k < len(r["time"])
        ok[ok] = r["time"][k[ok]] == rc["time"][ok]
        diff[k[ok]] = r["overlap"][k[ok]] - rc["overlap"][ok]
        tc2 = _t_conv(rc, target)
    finite = np.isfinite(diff)
    if finite.any():
        j = int(np.nanargmax(np.abs(diff)))
        dmax, tmax = float(abs(diff[j])), float(r["time"][j])
    else:
        dmax, tmax = np.nan, np.nan
    if ratio:
        desc = (f"change from half the ratio density ({what}, same tolerance); at the default order 8 the "
                f"error of the point's own curve is about 2^-8 of it")
    else:
        desc = f"change from the Nt/2 = {Nt2} window (same dt0)"
    log.info(f"grid check ({status}): max |C̄ − C̄({what})| = {dmax:.2e} at t = {tmax:.4g}, "
             f"t_conv changes by {tc - tc2:.3g}")
    return {
        "variables": {
            "overlap_grid_diff": ("time", diff, {"units": "1", "long_name": f"C̄ − C̄ on the coarse grid: {desc}, "
                                                                              "on the time points shared with it "
                                                                              "(NaN on the others)"}),
            "grid_diff_max": ((), dmax, {"units": "1", "long_name": f"max |C̄ − C̄ on the coarse grid| over "
                                                                    f"the shared times ({desc}; NaN if not run)"}),
            "t_conv_grid_diff": ((), tc - tc2, {"units": "1", "long_name": f"t_conv − t_conv on the coarse grid "
                                                                          f"({desc}; NaN if either is not reached)"}),
        },
        "attrs": {"grid_check_status": status, "grid_diff_time": tmax,
                  "grid_check_description": f"solve repeated with {what}; the change estimates the grid "
                                            "error (a bound where the order in Nt is >= 1; method docstring)"},
    }


def cost(params: dict) -> float:
    """Seconds on one core. Doubling: O(Nt^3) per doubling cycle; measured 3–5 s for Nt = 256 and
    12–19 s for Nt = 512 up to t = 800–2000 (p=3, T=0 and T=1). Ratio: O(L²) per right-hand side,
    6 per step, about 1.4e-7 s per node pair; steps measured 630 (t_max = 100) to 1350 (134, an
    escape at t ≈ 5 whose front the grid must follow), modelled as 300 + 7 t_max^0.95."""
    if params.get("solver", "ratio") == "ratio":
        tau_min = _ratio.shortest_lag(params["p"], params["delta2"], params["delta_p"], params["T"],
                                      params.get("ratio_lag_min", _ratio.DEFAULTS["lag_min"]))
        L, _, _ = _ratio.grid_size(params["t_max"], tau_min, params.get("ratio_density", _ratio.DEFAULTS["density"]))
        check = 1.3 if params.get("grid_check", 1) else 1.0
        return check * 1.4e-7 * L * L * 6 * (300 + 7 * params["t_max"] ** 0.95) + 1.0
    cycles = max(1.0, math.log2(max(params["t_max"], 2.0)))
    check = 1.125 if params.get("grid_check", 1) else 1.0
    return check * 4.0 * (params["Nt"] / 256) ** 3 * cycles / 10.0 + 0.5


register(Method(
    name="spiked.dmft",
    description="DMFT (Langevin state evolution, CHSCK equations) of the spiked (2+p) matrix–tensor "
                "model, Kim–Latz time-doubling grid, any T ≥ 0.",
    params=PARAMS, compute=compute, replicas=None,
    variables={"overlap": "C̄(t)", "mu": "μ(t)", "energy": "e(t)", "corr": "C(t,t_w)",
               "response": "R(t,t_w)", "chi": "χ(t,t_w)", "residual": "self-consistency residual",
               "t_conv": "first time C̄ reaches half its target", "reached": "t_conv ≤ t_max",
               "overlap_grid_diff": "C̄(t) − C̄(t) on the coarse grid (grid check: Nt/2 or half the ratio density)",
               "grid_diff_max": "max |C̄ − C̄ on the coarse grid|",
               "t_conv_grid_diff": "t_conv − t_conv on the coarse grid"},
    reference="spiked.md §2, §3, §6.1",
    cost=cost, check=check_params,
))
