"""Method ``spiked.theory``: every closed-form line of the spiked (2+p) model at one (p, Δp[, Δ2], T).

reference/spiked.md §4 (and §4.3 for the Kac–Rice lines); cli-contract.md fixes the names.
Deterministic (no replicas, no randomness).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from sgsweep.methods import REQUIRED, Method, Param, PointContext, register

from . import kacrice, theory

PARAMS = (
    Param("p", int, 3, "tensor order", minimum=3, long_name="tensor order p"),
    Param("delta_p", float, REQUIRED, "tensor noise variance Δp", minimum=0, minimum_open=True,
          long_name="tensor noise variance Δp"),
    Param("delta2", float, None, "matrix noise variance Δ2 (optional: gives m_bo, m_ml)", minimum=0,
          minimum_open=True, optional=True, long_name="matrix noise variance Δ2"),
    Param("T", float, 1.0, "temperature of the Langevin line", minimum=0, long_name="temperature T"),
)

#: name -> (long_name, reference); every line is a value of 1/Δ2 (recovery above it)
LINES = {
    "inv_delta2_it": ("information-theoretic threshold 1/Δ2_IT (Bayes-optimal recovery possible above)",
                      "spiked.md §4.1"),
    "inv_delta2_spinodal": ("spinodal 1/Δ2 of the Bayes SE (stable informative fixed point exists above)",
                            "spiked.md §4.1"),
    "inv_delta2_amp": ("Bayes-optimal AMP easy line (AMP from m=0+ reaches the high-overlap fixed point above)",
                       "spiked.md §4.1"),
    "inv_delta2_ml_amp": ("ML-AMP threshold (instability of m=0 of the ML SE)", "spiked.md §4.2"),
    "inv_delta2_gf": ("gradient-flow threshold conjecture (T=0)", "spiked.md §4.4"),
    "inv_delta2_langevin": ("Langevin threshold conjecture at temperature T", "spiked.md §4.4"),
    "inv_delta2_triv": ("Kac-Rice trivialisation: last spurious minima at m=0 disappear", "spiked.md §4.3"),
    "inv_delta2_triv_allm": ("Kac-Rice: no exponentially numerous minima at any m above",
                             "spiked.md §4.3 correction"),
}


def lines(p: int, delta_p, T: float = 1.0) -> dict:
    """All lines (values of 1/Δ2) at (p, Δp, T); Δp may be an array."""
    return {
        "inv_delta2_it": theory.inv_delta2_it(p, delta_p),
        "inv_delta2_spinodal": theory.inv_delta2_spinodal(p, delta_p),
        "inv_delta2_amp": theory.inv_delta2_amp(p, delta_p),
        "inv_delta2_ml_amp": theory.inv_delta2_ml_amp(delta_p),
        "inv_delta2_gf": theory.inv_delta2_gf(p, delta_p),
        "inv_delta2_langevin": theory.inv_delta2_langevin(p, delta_p, T),
        "inv_delta2_triv": kacrice.inv_delta2_triv(p, delta_p),
        "inv_delta2_triv_allm": kacrice.inv_delta2_triv_allm(p, delta_p),
    }


M_POINTS = 399  # m grid of the sigma_min(m) curve


def compute(params: dict, ctx: PointContext) -> xr.Dataset:
    p, dp, d2, T = params["p"], params["delta_p"], params["delta2"], params["T"]
    ctx.progress(0, 2, "closed-form lines")
    vals = lines(p, dp, T)
    data = {k: ((), float(v), {"units": "1", "long_name": LINES[k][0], "reference": LINES[k][1]})
            for k, v in vals.items()}
    if d2 is not None:
        data["m_bo"] = ((), float(theory.m_bo(p, d2, dp)), {
            "units": "1", "reference": "spiked.md §4.1, §2.2",
            "long_name": "overlap reached by Bayes-optimal AMP/Langevin from an uninformative start "
                         "(smallest positive SE fixed point, 0 if m=0 is stable)"})
        data["m_bo_equilibrium"] = ((), float(theory.m_bo_equilibrium(p, d2, dp)), {
            "units": "1", "reference": "spiked.md §4.1",
            "long_name": "Bayes-optimal overlap (global maximum of the RS free entropy)"})
        data["m_ml"] = ((), float(theory.m_ml(p, d2, dp)), {
            "units": "1", "reference": "spiked.md §4.2, §2.2",
            "long_name": "ML overlap: largest stable ML-AMP fixed point (GF success target)"})
        mgrid = np.linspace(-0.995, 0.995, M_POINTS)
        sig, tstar = kacrice.sigma_min(mgrid, p, d2, dp, return_t=True)
        data["sigma_min"] = (("m",), sig, {
            "units": "1", "reference": "spiked.md §4.3; sgsweep.spiked.kacrice.sigma_min",
            "long_name": "annealed Kac-Rice complexity of minima at overlap m, maximised over energies"})
        data["sigma_min_mu"] = (("m",), tstar * np.sqrt(theory.qpp1(p, d2, dp)), {
            "units": "1", "long_name": "Lagrange multiplier μ of the dominant minima at overlap m"})
    ctx.progress(2, 2, "closed-form lines")
    coords = {}
    if d2 is not None:
        coords["m"] = ("m", mgrid, {"units": "1", "long_name": "overlap m = x·x*/N"})
    ds = xr.Dataset(data, coords=coords)
    ds.attrs["status"] = "ok"
    ds.attrs["inv_delta2_langevin_note"] = (
        "largest root x > max(1,T) of x^2 = x + (p-1)(1-T/x)^(p-2)/delta_p, else max(1,T)")
    return ds


register(Method(
    name="spiked.theory",
    description="Closed-form thresholds (values of 1/Δ2) of the spiked (2+p) matrix-tensor model: "
                "IT, spinodal and AMP lines of Bayes-optimal inference, ML-AMP, gradient-flow and "
                "Langevin conjectures, Kac-Rice trivialisation lines; with delta2 also the fixed-point "
                "overlaps m_bo (Bayes AMP/Langevin target) and m_ml (ML-AMP/GF target).",
    params=PARAMS,
    compute=compute,
    replicas=None,
    variables={**{k: v[0] for k, v in LINES.items()},
               "m_bo": "overlap of Bayes AMP from an uninformative start (with delta2)",
               "m_bo_equilibrium": "Bayes-optimal overlap, argmax of Φ_RS (with delta2)",
               "m_ml": "ML-AMP fixed point / GF target overlap (with delta2)",
               "sigma_min": "sigma_min(m): Kac-Rice complexity of minima at overlap m (with delta2)",
               "sigma_min_mu": "sigma_min_mu(m): their Lagrange multiplier μ (with delta2)"},
    reference="spiked.md §4",
))
