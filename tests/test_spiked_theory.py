"""Closed forms of the spiked (2+p) model against the tables of reference/spiked.md §4.1, §4.2,
§4.4, §6.1 (sgsweep.spiked.theory) and the spiked.theory method."""

import math

import numpy as np
import pytest

from sgsweep.methods import ParameterError
from sgsweep.point import compute_point
from sgsweep.spiked import theory as th
from sgsweep.spiked.method_theory import lines

TOL = 1e-5  # the tables give 5-6 decimals

# spiked.md §4.1: (p, Δp) -> (1/Δ2_IT, 1/Δ2_spinodal, 1/Δ2_AMP)
TABLE_41 = [
    (3, 0.20, 0.0, 0.0, 1.0),
    (3, 0.22, 0.0, 0.0, 1.0),
    (3, 0.3, 0.41979, 0.31815, 1.0),
    (3, 0.5, 0.85116, 0.82843, 1.0),
    (3, 0.7, 0.96653, 0.96189, 1.0),
    (3, 0.9, 0.99741, 0.99707, 1.0),
    (3, 1.0, 1.0, 1.0, 1.0),
    (3, 2.0, 1.0, 1.0, 1.0),
    (4, 0.05, 0.0, 0.0, 1.01318),
    (4, 0.10, 0.0, 0.0, 1.02796),
    (4, 0.15, 0.38383, 0.03688, 1.04490),
    (4, 0.20, 0.83102, 0.69846, 1.06496),
    (4, 0.25, 1.0, 1.0, 1.09017),
    (4, 0.27, 1.0, 1.0, 1.10282),
    (4, 0.30, 1.0, 1.0, 1.0),
    (4, 1.0, 1.0, 1.0, 1.0),
]

# spiked.md §4.4: (p, Δp) -> (ML-AMP, GF, Langevin T=1)
TABLE_44 = [
    (3, 0.25, 2.561553, 3.372281, 2.828427),
    (3, 0.5, 2.000000, 2.561553, 2.000000),
    (3, 1, 1.618034, 2.000000, 1.414214),
    (3, 1.5, 1.457427, 1.758306, 1.154701),
    (3, 2, 1.366025, 1.618034, 1.0),
    (3, 4, 1.207107, 1.366025, 1.0),
    (3, 10, 1.091608, 1.170820, 1.0),
    (4, 0.5, 2.000000, 3.000000, 1.0),
    (4, 1, 1.618034, 2.302776, 1.0),
    (4, 2, 1.366025, 1.822876, 1.0),
    (4, 4, 1.207107, 1.500000, 1.0),
    (4, 10, 1.091608, 1.241620, 1.0),
]


@pytest.mark.parametrize("p,dp,it,sp,amp", TABLE_41)
def test_table_41_bayes_lines(p, dp, it, sp, amp):
    assert abs(th.inv_delta2_it(p, dp) - it) < TOL
    assert abs(th.inv_delta2_spinodal(p, dp) - sp) < TOL
    assert abs(th.inv_delta2_amp(p, dp) - amp) < TOL


def test_pure_tensor_it_thresholds():
    assert abs(th.delta_p_it_pure_tensor(3) - 0.22897) < TOL
    assert abs(th.delta_p_it_pure_tensor(4) - 0.12652) < TOL
    d3 = th.delta_p_it_pure_tensor(3)
    assert th.inv_delta2_it(3, d3 * (1 - 1e-6)) == 0.0 and th.inv_delta2_it(3, d3 * (1 + 1e-3)) > 0.0


def test_p3_spinodal_closed_form():
    # (1/Δ2 − 1/Δp)² = 4(1 − 1/Δ2)/Δp, spiked.md §4.1; Δp = 0.5 → 2√2 − 2
    assert abs(th.inv_delta2_spinodal(3, 0.5) - (2 * math.sqrt(2) - 2)) < 1e-10
    for dp in (0.3, 0.6, 0.8):
        x = th.inv_delta2_spinodal(3, dp)
        assert abs((x - 1 / dp) ** 2 - 4 * (1 - x) / dp) < 1e-9


def test_p4_amp_line_closed_form():
    # local maximum of x(m) = 1/(1−m) − m²/Δp: 2m(1−m)² = Δp, x = (2m − 3m²)/Δp (docstring)
    from scipy.optimize import brentq
    for dp in (0.05, 0.15, 0.25, 0.29):
        ma = brentq(lambda m: 2 * m * (1 - m) ** 2 - dp, 1e-12, 1 / 3)
        assert abs(th.inv_delta2_amp(4, dp) - (2 * ma - 3 * ma * ma) / dp) < 1e-9
    assert th.inv_delta2_amp(4, 8 / 27 + 1e-4) == 1.0


@pytest.mark.parametrize("p,dp,ml,gf,lang", TABLE_44)
def test_table_44_algorithmic_lines(p, dp, ml, gf, lang):
    assert abs(th.inv_delta2_ml_amp(dp) - ml) < TOL
    assert abs(th.inv_delta2_gf(p, dp) - gf) < TOL
    assert abs(th.inv_delta2_langevin(p, dp, 1.0) - lang) < TOL


def test_langevin_limits():
    for p in (3, 4):
        for dp in (0.3, 1.0, 5.0):
            assert abs(th.inv_delta2_langevin(p, dp, 0.0) - th.inv_delta2_gf(p, dp)) < 1e-12
            x = th.inv_delta2_langevin(p, dp, 0.5)
            assert abs(x * x - x - (p - 1) * (1 - 0.5 / x) ** (p - 2) / dp) < 1e-9
    for dp in (0.25, 0.5, 1.0, 1.9):  # p = 3, T = 1: √(2/Δp)
        assert abs(th.inv_delta2_langevin(3, dp, 1.0) - math.sqrt(2 / dp)) < 1e-10
    # p = 4, T = 1, Δp = 0.25: largest root of x³Δp = 3(x − 1) (spiked.md §4.4: 2.7687)
    assert abs(th.inv_delta2_langevin(4, 0.25, 1.0) - 2.7687) < 1e-4
    assert th.inv_delta2_langevin(4, 4 / 9 + 1e-3, 1.0) == 1.0


def test_fixed_point_overlaps_against_reference_codes():
    # spiked.md §6.1 (CodeT, CodeL, CodeD runs)
    assert abs(th.m_ml(4, 1 / 3, 4.0) - 0.8224340) < 1e-7
    assert abs(th.m_ml(3, 1 / 4, 1.0) - 0.8892920) < 1e-7
    assert abs(th.m_bo(3, 0.1, 0.2) - 0.9317821) < 1e-7
    assert abs(th.m_bo(3, 0.2, 1.0) - (math.sqrt(8) - 2)) < 1e-12
    a = th.gf_asymptotics(4, 1 / 3, 4.0)
    assert abs(a["mu"] - 4.3524009) < 1e-6 and abs(a["chi"] - 0.3155471) < 1e-7
    assert abs(a["energy"] + 2.0687191) < 1e-6 and abs(a["mu_threshold"] - 3.8729833) < 1e-7
    b = th.gf_asymptotics(3, 1 / 4, 1.0)
    assert abs(b["mu"] - 6.1164635) < 1e-6 and abs(b["energy"] + 2.8387528) < 1e-6
    assert abs(th.langevin_asymptotics(3, 0.1, 0.2)["mu"] - 16.0) < 1e-12


def test_state_evolutions_converge_to_their_fixed_points():
    for p, d2, dp in [(3, 0.5, 1.0), (3, 0.2, 1.0), (4, 0.5, 0.5), (4, 1 / 1.05, 0.25)]:
        assert abs(th.bayes_se(1e-6, p, d2, dp, 4000)[-1] - th.m_bo(p, d2, dp)) < 1e-8
    for p, d2, dp in [(3, 0.25, 1.0), (4, 1 / 3, 4.0), (3, 0.4, 0.5)]:
        assert abs(th.ml_se(1e-6, p, d2, dp, 4000)[-1] - th.m_ml(p, d2, dp)) < 1e-8
    # below the lines the uninformative point is stable
    assert th.m_bo(3, 1.2, 2.0) == 0.0
    assert th.ml_se(1e-3, 3, 1 / 1.2, 2.0, 2000)[-1] < 1e-6 and th.m_ml(3, 1 / 1.2, 2.0) == 0.0


def test_p4_low_branch_versus_equilibrium():
    # p=4, Δp=0.25, 1/Δ2=1.05 < 1/Δ2_AMP=1.09: AMP stops on the low branch, equilibrium is high
    low, high = th.m_bo(4, 1 / 1.05, 0.25), th.m_bo_equilibrium(4, 1 / 1.05, 0.25)
    assert low < 0.1 < 0.5 < high
    fps = th.bayes_fixed_points(4, 1 / 1.05, 0.25)
    assert [s for _, s in fps] == [True, False, True]
    assert abs(fps[0][0] - low) < 1e-9 and abs(fps[2][0] - high) < 1e-9
    # above the AMP line the two coincide
    assert abs(th.m_bo(4, 1 / 1.2, 0.25) - th.m_bo_equilibrium(4, 1 / 1.2, 0.25)) < 1e-9


def test_phi_rs_stationary_at_fixed_points():
    for p, d2, dp in [(3, 0.5, 1.0), (4, 1 / 1.05, 0.25)]:
        for m, _ in th.bayes_fixed_points(p, d2, dp):
            h = 1e-6
            der = (th.phi_rs(m + h, p, d2, dp) - th.phi_rs(m - h, p, d2, dp)) / (2 * h)
            assert abs(der) < 1e-8


def test_vectorised_calls():
    dps = np.array([0.5, 1.0, 2.0])
    v = th.inv_delta2_it(3, dps)
    assert v.shape == (3,) and isinstance(th.inv_delta2_it(3, 1.0), float)
    assert np.allclose(th.m_ml(3, np.array([0.25, 0.5]), 1.0), [th.m_ml(3, 0.25, 1.0), th.m_ml(3, 0.5, 1.0)])
    assert np.allclose(th.inv_delta2_gf(3, dps), [th.inv_delta2_gf(3, d) for d in dps])


@pytest.mark.parametrize("p", [3, 4])
def test_ordering_triv_gf_mlamp_on_grid(p):
    dps = np.geomspace(0.1, 20, 9)
    d = lines(p, dps, 1.0)
    assert np.all(d["inv_delta2_triv_allm"] >= d["inv_delta2_triv"] - 1e-12)
    assert np.all(d["inv_delta2_triv"] > d["inv_delta2_gf"])
    assert np.all(d["inv_delta2_gf"] > d["inv_delta2_ml_amp"])
    assert np.all(d["inv_delta2_ml_amp"] > d["inv_delta2_amp"] - 1e-12)
    assert np.all(d["inv_delta2_amp"] >= d["inv_delta2_it"])


@pytest.mark.parametrize("p", [3, 4])
def test_every_line_tends_to_one(p):
    d = lines(p, np.array([1e4]), 1.0)
    for k, v in d.items():
        assert abs(v[0] - 1.0) < 2e-2, k
    d = lines(p, np.array([1e6]), 1.0)
    for k, v in d.items():
        assert abs(v[0] - 1.0) < 2e-3, k


def test_method_spiked_theory():
    ds = compute_point("spiked.theory", {"p": 3, "delta_p": 1.0, "delta2": 0.25, "T": 1.0}, seed=0)
    assert ds.attrs["status"] == "ok"
    assert abs(float(ds["inv_delta2_gf"]) - 2.0) < 1e-12
    assert abs(float(ds["inv_delta2_langevin"]) - math.sqrt(2)) < 1e-9
    assert abs(float(ds["inv_delta2_triv"]) - 2.46275) < TOL
    assert abs(float(ds["m_ml"]) - 0.8892920) < 1e-7
    for k in ("inv_delta2_it", "inv_delta2_spinodal", "inv_delta2_amp", "inv_delta2_ml_amp",
              "inv_delta2_triv_allm", "m_bo", "sigma_min"):
        assert k in ds and ds[k].attrs["units"] == "1" and ds[k].attrs["long_name"]
    # Σ_min(m) is ≤ 0 everywhere above triv_allm except (≈0) at the ML minima
    assert float(ds["sigma_min"].max()) < 1e-6
    ds2 = compute_point("spiked.theory", {"p": 4, "delta_p": 2.0}, seed=0)
    assert "m_bo" not in ds2 and abs(float(ds2["inv_delta2_gf"]) - 1.822876) < TOL
    for bad in ({"p": 2, "delta_p": 1.0}, {"p": 3, "delta_p": 0.0}, {"p": 3, "delta_p": 1.0, "T": -1},
                {"p": 3, "delta_p": 1.0, "delta2": -0.1}, {"p": 3, "delta_p": 1.0, "foo": 1}):
        with pytest.raises(ParameterError):
            compute_point("spiked.theory", bad, seed=0)
