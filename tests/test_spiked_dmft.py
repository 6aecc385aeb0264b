"""Checks of the spiked-model DMFT solver (issue 4, spiked.md §2.2, §6.1)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sgsweep.spiked import dmft
from sgsweep.spiked.theory import gf_asymptotics, langevin_asymptotics, m_bo


def _at(r, t):
    k = int(np.argmin(np.abs(r["time"] - t)))
    assert abs(r["time"][k] - t) < 1e-9, "grid does not contain t"
    return k


# ------------------------------------------------------------------ kernel vs slow reference
@pytest.mark.parametrize("T, delta2, t_end", [(1.0, 0.2, 4.0), (0.0, 0.25, 4.0)])
def test_kim_latz_matches_fixed_grid_reference(T, delta2, t_end):
    """Kim–Latz solver vs plain fixed-grid Heun/trapezoid reference (Richardson-extrapolated
    h = 0.02, 0.01) on t ≤ 4 (the escape from C̄(0) = 1e-3 is under way at t = 4)."""
    args = (3, delta2, 1.0, T, 1e-3, t_end)
    ref = {h: dmft.solve_fixed_grid(*args, h) for h in (0.02, 0.01)}
    r = dmft.solve(*args, Nt=128)
    for t in (1.0, 2.0, 4.0):
        a = ref[0.02]["overlap"][int(round(t / 0.02))]
        b = ref[0.01]["overlap"][int(round(t / 0.01))]
        rich = b + (b - a) / 3
        k = _at(r, t)
        assert abs(r["overlap"][k] - rich) < 5e-5 + 1e-3 * abs(rich)
        am = ref[0.02]["mu"][int(round(t / 0.02))]
        bm = ref[0.01]["mu"][int(round(t / 0.01))]
        assert abs(r["mu"][k] - (bm + (bm - am) / 3)) < 4e-3


def test_reference_is_second_order():
    """The slow reference itself converges at second order (error ratio ≈ 4 under halving h)."""
    args = (3, 0.2, 1.0, 1.0, 1e-4, 4.0)
    v = [dmft.solve_fixed_grid(*args, h)["overlap"][-1] for h in (0.04, 0.02, 0.01)]
    ratio = (v[1] - v[0]) / (v[2] - v[1])
    assert 3.0 < ratio < 5.0


# ------------------------------------------------------------------ grid convergence
def test_convergence_in_Nt_and_dt0():
    """Doubling Nt reduces the error at second order or better (t ≤ 8, T=1, Δ2=0.5: slow escape);
    halving dt0 changes C̄ by less than 1e-6."""
    args = (3, 0.5, 1.0, 1.0, 1e-4, 8.0)
    rs = {Nt: dmft.solve(*args, Nt=Nt) for Nt in (32, 64, 128)}
    vals = {Nt: rs[Nt]["overlap"][_at(rs[Nt], 8.0)] for Nt in rs}
    d1 = abs(vals[64] - vals[32])
    d2 = abs(vals[128] - vals[64])
    assert d2 < 1e-5
    order = math.log2(d1 / d2)
    assert order > 1.5
    r2 = dmft.solve(*args, Nt=64, dt0=dmft.DEFAULT_DT0 / 2)
    assert abs(r2["overlap"][_at(r2, 8.0)] - vals[64]) < 1e-6


def test_default_grid_is_converged_in_dt0_through_the_escape():
    """Issue 4 check, first half, on the issue's own command (p=3, Δ2=0.5, Δp=1, T=1, C̄(0)=1e-4,
    t ≤ 100, default grid): halving the initial step changes C̄(t) by less than 1e-4 on the common
    times, through the slow escape at t ≈ 78 (measured 1.2e-5; with dt0 = 2^-10 it was 1.9e-3)."""
    args = (3, 0.5, 1.0, 1.0, 1e-4, 100.0)
    r1 = dmft.solve(*args)
    r2 = dmft.solve(*args, dt0=dmft.DEFAULT_DT0 / 2)
    assert r1["status"] == r2["status"] == "converged"
    common = np.isin(r2["time"], r1["time"])
    assert common.sum() == len(r1["time"])
    assert r1["overlap"][-1] > 0.5  # the escape is inside the span
    assert np.max(np.abs(r2["overlap"][common] - r1["overlap"])) < 1e-4


# ------------------------------------------------------------------ asymptotic checks, §2.2
def test_T1_success_reaches_bayes_optimal_values():
    """p=3, Δ2=0.2, Δp=1, T=1: C̄ → m_BO = 0.828427, μ → 1 + Q'(1) = 7, e → −Q(1)."""
    r = dmft.solve(3, 0.2, 1.0, 1.0, 1e-4, 12.0, Nt=256)
    target = langevin_asymptotics(3, 0.2, 1.0)
    assert abs(m_bo(3, 0.2, 1.0) - 0.828427) < 1e-6
    k = _at(r, 12.0)
    assert r["status"] == "converged"
    assert abs(r["overlap"][k] - target["m"]) < 2e-4
    assert abs(r["mu"][k] - 7.0) < 1e-3
    assert abs(r["energy"][k] - target["energy"]) < 1e-3


@pytest.mark.parametrize("p, x, dp, m_ref, mu_ref", [(3, 4.0, 1.0, 0.889292, 6.116464),
                                                    (4, 3.0, 4.0, 0.822434, 4.352401)])
def test_T0_success_reaches_ml_values(p, x, dp, m_ref, mu_ref):
    """GF success: C̄ → m_ML, μ → a + Q''(1)/a (spiked.md §2.2; CodeT numbers of §6.1)."""
    g = gf_asymptotics(p, 1 / x, dp)
    assert abs(g["m"] - m_ref) < 1e-6 and abs(g["mu"] - mu_ref) < 1e-6
    r = dmft.solve(p, 1 / x, dp, 0.0, 1e-2, 24.0, Nt=128)
    k = _at(r, 24.0)
    assert abs(r["overlap"][k] - g["m"]) < 1e-4
    assert abs(r["mu"][k] - g["mu"]) < 1e-4
    assert abs(r["energy"][k] - g["energy"]) < 1e-4


def test_T0_failure_stays_on_equator_with_marginal_mu():
    """p=3, Δp=1, 1/Δ2=1.5 (below the GF line 2): C̄ stays ≈ 0, μ(t) increases towards
    2√Q''(1) from below (marginal threshold minima)."""
    r = dmft.solve(3, 1 / 1.5, 1.0, 0.0, 1e-4, 200.0, Nt=128)
    mu_th = gf_asymptotics(3, 1 / 1.5, 1.0)["mu_threshold"]
    ok = np.isfinite(r["overlap"])
    assert r["t_reached"] >= 200.0
    assert np.max(np.abs(r["overlap"][ok])) < 1e-2
    mus = [r["mu"][_at(r, t)] for t in (10.0, 50.0, 200.0)]
    assert mus[0] < mus[1] < mus[2] < mu_th
    assert mu_th - mus[2] < 0.05 * mu_th


def test_t_conv_definition():
    from sgsweep.spiked.method_dmft import t_conv_of

    t = np.linspace(0, 10, 11)
    c = np.minimum(t / 10, 1.0)
    assert abs(t_conv_of(t, c, 0.8) - 4.0) < 1e-12
    assert math.isnan(t_conv_of(t, c * 0.1, 0.8))


def test_method_point_and_threshold_fit():
    """Method through compute_point; fit recovers a synthetic threshold."""
    from sgsweep.analysis.dmft import fit_threshold
    from sgsweep.point import compute_point

    ds = compute_point("spiked.dmft", {"p": 3, "delta2": 0.2, "delta_p": 1.0, "T": 1.0, "t_max": 8.0,
                                       "solver": "doubling", "Nt": 64}, seed=0, threads=1)
    assert ds.attrs["status"] in ("converged", "max_iterations")
    assert 3.0 < float(ds["t_conv"]) < 6.0
    assert abs(ds.attrs["check_mu_inf"] - 7.0) < 1e-12
    x = np.array([2.1, 2.2, 2.4, 2.7, 3.0, 3.5, 4.0])
    t = 3.0 * (x - 2.0) ** -1.3 + 5.0
    f = fit_threshold(x, t)
    assert abs(f["x_star"] - 2.0) < 1e-3 and abs(f["gamma"] - 1.3) < 1e-2


def test_grid_check_is_the_change_from_the_half_window():
    """Doubling solver: the method's grid check equals two independent solves (Nt and Nt/2) compared on the time
    points they share (every other point of the Nt grid), bit for bit; t_conv likewise."""
    from sgsweep.point import compute_point
    from sgsweep.spiked.method_dmft import t_conv_of

    args = (3, 0.2, 1.0, 1.0, 1e-4, 8.0)
    ds = compute_point("spiked.dmft", {"p": 3, "delta2": 0.2, "delta_p": 1.0, "T": 1.0, "t_max": 8.0,
                                       "solver": "doubling", "Nt": 64}, seed=0, threads=1)
    fine, coarse = dmft.solve(*args, Nt=64), dmft.solve(*args, Nt=32)
    assert np.array_equal(ds["overlap"].values, fine["overlap"])
    shared = np.isin(fine["time"], coarse["time"])
    assert shared.sum() == len(coarse["time"]) and 0 < shared.sum() < len(fine["time"])
    diff = ds["overlap_grid_diff"].values
    assert np.array_equal(diff[shared], fine["overlap"][shared] - coarse["overlap"])
    assert np.isnan(diff[~shared]).all()
    j = np.nanargmax(np.abs(diff))
    assert float(ds["grid_diff_max"]) == abs(diff[j]) > 0
    assert ds.attrs["grid_diff_time"] == fine["time"][j] and ds.attrs["grid_check_status"] == "converged"
    target = ds.attrs["t_conv_target"]
    assert float(ds["t_conv_grid_diff"]) == (t_conv_of(fine["time"], fine["overlap"], target)
                                             - t_conv_of(coarse["time"], coarse["overlap"], target))
    off = compute_point("spiked.dmft", {"p": 3, "delta2": 0.2, "delta_p": 1.0, "T": 1.0, "t_max": 8.0,
                                        "solver": "doubling", "Nt": 64, "grid_check": 0}, seed=0, threads=1)
    assert "grid_diff_max" not in off and np.array_equal(off["overlap"].values, fine["overlap"])


@pytest.mark.slow
def test_gf_threshold_from_convergence_times():
    """Issue 4 check: the T=0 threshold extracted from DMFT convergence times at p=3, Δp=1 lies
    within 5 % of the closed form 1/Δ2 = 2 (spiked.md §3 protocol: t_conv = first time C̄ reaches
    m_ML/2 from C̄(0) = 1e-15, fit t_conv = A (x − x*)^(−γ) + B). Nt = 256 resolves the escapes for
    1/Δ2 ≥ 2.3 (t_conv ≤ 730); the default sweep adds 2.2 at Nt = 512."""
    from sgsweep.analysis.dmft import fit_threshold
    from sgsweep.spiked.method_dmft import t_conv_of
    from sgsweep.spiked.theory import m_ml

    xs = np.array([2.3, 2.4, 2.6, 3.0, 3.5, 4.0])
    tc = []
    for x in xs:
        r = dmft.solve(3, 1 / x, 1.0, 0.0, 1e-15, 1000.0, Nt=256)
        assert r["status"] == "converged", (x, r["status"])
        tc.append(t_conv_of(r["time"], r["overlap"], m_ml(3, 1 / x, 1.0)))
    tc = np.array(tc)
    assert np.all(np.isfinite(tc)) and np.all(np.diff(tc) < 0)
    f = fit_threshold(xs, tc)
    print(f"t_conv = {np.round(tc, 2).tolist()}; 1/Δ2* = {f['x_star']:.4f} ± {f['x_star_err']:.4f}, "
          f"γ = {f['gamma']:.3f}")
    assert abs(f["x_star"] - 2.0) < 0.05 * 2.0
    # the same protocol from C̄(0) = 1e-4 escapes below the threshold (finite-C̄(0) crossover)
    r = dmft.solve(3, 1 / 1.9, 1.0, 0.0, 1e-4, 800.0, Nt=256)
    assert math.isfinite(t_conv_of(r["time"], r["overlap"], m_ml(3, 1 / 1.9, 1.0)))


@pytest.mark.slow
def test_near_langevin_threshold_long_run():
    """p=3, Δp=1, Δ2=0.7, T=1 (1/Δ2 = 1.4286, just above the conjectured Langevin line √2): the
    solver runs to t ≥ 10^4 without aborting; C̄ stays small (< 0.05) up to t = 1000 while μ(t)
    increases smoothly (aging), and the late state is the Bayes-optimal equilibrium
    (C̄ → m_BO = 0.474546, μ → 1 + Q'(1), e → −Q(1))."""
    r = dmft.solve(3, 0.7, 1.0, 1.0, 1e-4, 1e4, Nt=256)
    assert r["status"] in ("converged", "max_iterations")
    assert r["t_reached"] >= 1e4
    t, c, mu = r["time"], r["overlap"], r["mu"]
    early = (t >= 10) & (t <= 1000)
    assert np.all(np.abs(c[early]) < 0.05)
    # smooth: no step larger than 5e-3 (small dips, ≤ 3e-3, occur at the grid contractions)
    assert np.all(np.abs(np.diff(mu[early])) < 5e-3)
    assert mu[early][-1] > mu[early][0]
    eq = langevin_asymptotics(3, 0.7, 1.0)
    assert abs(c[-1] - eq["m"]) < 1e-3
    assert abs(mu[-1] - eq["mu"]) < 1e-3
    assert abs(r["energy"][-1] - eq["energy"]) < 1e-3


def test_thresholds_product_and_figures(tmp_path):
    """Product `thresholds` on a synthetic aggregate (two Δp) recovers the planted 1/Δ2* and
    carries the T=0 conjecture; the three figure kinds write PNG + PDF (+ the table)."""
    import xarray as xr

    from sgsweep.analysis.registry import products_of
    from sgsweep.plots.registry import get_figure

    x = np.array([2.2, 2.4, 2.6, 3.0, 3.5, 4.0])
    t = np.linspace(0.0, 100.0, 101)
    tc = np.stack([3.0 * (x - 2.0) ** -1.2 + 8.0, 2.0 * (x - 1.8) ** -1.5 + 6.0])
    # the grid check's (Nt/2) convergence times follow the same laws with thresholds shifted by −0.05
    tc_coarse = np.stack([3.0 * (x - 1.95) ** -1.2 + 8.0, 2.0 * (x - 1.75) ** -1.5 + 6.0])
    ov = 0.8 / (1.0 + np.exp(-(t[None, None, :] - tc[:, :, None])))
    agg = xr.Dataset({"overlap": (("delta_p", "inv_delta2", "time"), ov),
                      "mu": (("delta_p", "inv_delta2", "time"), 4.0 + 0 * ov),
                      "t_conv": (("delta_p", "inv_delta2"), tc),
                      "t_conv_grid_diff": (("delta_p", "inv_delta2"), tc - tc_coarse)},
                     coords={"delta_p": [1.0, 2.0], "inv_delta2": x, "time": t, "p": 3, "T": 0.0})
    sweep = {"name": "s", "method": "spiked.dmft", "axes": ["delta_p", "inv_delta2"], "fixed": {"p": 3, "T": 0}}
    thr = products_of("spiked.dmft")["thresholds"](agg, sweep)
    assert np.allclose(thr["inv_delta2_threshold"].sel(delta_p=1.0), 2.0, atol=1e-3)
    assert np.allclose(thr["inv_delta2_threshold"].sel(delta_p=2.0), 1.8, atol=1e-3)
    assert np.allclose(thr["inv_delta2_conjecture"].values, [2.0, (1 + math.sqrt(5)) / 2])
    assert np.allclose(thr["inv_delta2_threshold_grid_diff"].values, 0.05, atol=2e-3)
    sim_thr = xr.Dataset({"inv_delta2_threshold": (("delta_p", "N"), [[1.2, 1.4], [1.1, 1.3]]),
                          "inv_delta2_threshold_low": (("delta_p", "N"), [[1.0, 1.3], [0.9, 1.2]]),
                          "inv_delta2_threshold_high": (("delta_p", "N"), [[1.5, 1.6], [1.4, 1.5]])},
                         coords={"delta_p": [1.0, 2.0], "N": [32, 64]})
    paths = get_figure("spiked.dmft_tconv")({"dmft": agg, "thresholds": thr, "sim": sim_thr}, {},
                                            str(tmp_path / "tc"))
    table = (tmp_path / "tc.txt").read_text()
    # the simulated thresholds of the matching Δp sit in the table next to the DMFT value
    assert "simulation N=64" in table and "1.4000" in table and "1.3000" in table
    row = next(line for line in table.splitlines() if line.strip().startswith("delta_p=1.0"))
    assert abs(float(row.split()[-1]) - 0.05) < 2e-3  # the Nt/2 shift column
    paths += get_figure("spiked.dmft_curves")({"dmft": agg}, {"delta_p": 1.0}, str(tmp_path / "cu"))
    sim = xr.Dataset({"overlap": (("sample", "time"), np.tile(ov[0, 0], (4, 1)) + 1e-3)},
                     coords={"sample": np.arange(4), "time": t})
    paths += get_figure("spiked.dmft_vs_sim")({"dmft": agg.isel(delta_p=0, inv_delta2=0), "sim": sim}, {},
                                              str(tmp_path / "vs"))
    for p in paths:
        assert (tmp_path / p.split("/")[-1]).stat().st_size > 0
    assert any(p.endswith(".txt") for p in paths) and sum(p.endswith(".pdf") for p in paths) == 3


def test_grid_convergence_study_reports_planted_orders(tmp_path):
    """analysis.dmft.grid_convergence and the spiked.dmft_convergence figure on a synthetic
    aggregate with a planted error c·Nt^-2·g(t) + c'·dt0^2 (coarser Nt grids lack every other
    time point, as on the solver's grids): the maximum differences, where they occur, the
    observed orders (exactly 2) and the 1e-4 verdicts."""
    import xarray as xr

    from sgsweep.analysis.dmft import grid_convergence
    from sgsweep.plots.registry import get_figure

    t = np.linspace(0.0, 8.0, 161)
    Nt = np.array([64, 128, 256, 512])
    dt0 = np.array([1e-3, 5e-4])
    g = np.exp(-((t - 4.0) ** 2))  # peak at t = 4, a common time of every grid
    ov = (np.tanh(t)[None, None, :] + 0.5 * (Nt[:, None, None] / 64.0) ** -2 * g[None, None, :]
          + 10.0 * dt0[None, :, None] ** 2)
    ov[0, :, 1::2] = np.nan  # Nt = 64 has every other time point only
    agg = xr.Dataset({"overlap": (("Nt", "dt0", "time"), ov)},
                     coords={"Nt": Nt, "dt0": dt0, "time": t, "p": 3, "T": 1.0})
    rows = grid_convergence(agg)
    nt = [r for r in rows if r["axis"] == "Nt" and r["others"]["dt0"] == 1e-3]
    assert [(r["coarse"], r["fine"]) for r in nt] == [(64, 128), (128, 256), (256, 512)]
    assert np.allclose([r["max_diff"] for r in nt], [0.5 * (1 - 1 / 4) * 4.0 ** -k for k in range(3)])
    assert all(abs(r["t_at"] - 4.0) < 1e-12 for r in nt)
    assert math.isnan(nt[0]["order"]) and np.allclose([r["order"] for r in nt[1:]], 2.0)
    assert [r["ok"] for r in nt] == [False, False, False]
    dt = [r for r in rows if r["axis"] == "dt0"]
    assert len(dt) == 4 and all(r["coarse"] == 1e-3 and r["fine"] == 5e-4 for r in dt)
    assert np.allclose([r["max_diff"] for r in dt], 10.0 * (1e-6 - 2.5e-7)) and all(r["ok"] for r in dt)
    paths = get_figure("spiked.dmft_convergence")({"dmft": agg}, {}, str(tmp_path / "conv"))
    table = (tmp_path / "conv.txt").read_text()
    assert "Nt 128 → 256 (dt0=0.001)" in table and "2.00" in table and "criterion 0.0001" in table
    assert sorted(p.rsplit(".", 1)[1] for p in paths) == ["pdf", "png", "txt"]


@pytest.mark.parametrize("bad, needle", [({"Nt": 255}, "Nt: got 255, expected an even integer"),
                                         ({"Nt": 64, "Nc": 20}, "Nc: got 20, expected 0"),
                                         ({"waiting_times": "1,ten"}, "waiting_times: got '1,ten'")])
def test_bad_grid_settings_rejected_at_validation(bad, needle):
    """Refused when the sweep is validated (before any job), naming the key."""
    from sgsweep.methods import ParameterError, get

    params = dict({"p": 3, "delta2": 0.5, "delta_p": 1.0}, **bad)
    with pytest.raises(ParameterError, match=needle):
        get("spiked.dmft").validate(params)


@pytest.mark.parametrize("T, delta2, overlap0", [(1.0, 0.2, 1e-4), (0.0, 0.25, 1e-2)])
def test_switched_window_reproduces_both_grids_and_budget_adds_up(T, delta2, overlap0):
    """dmft_budget.solve_switched is the solver's own scheme: never switching gives solve(2·Nt) and
    starting on Nt gives solve(Nt), bit for bit; the error budget's shares add up to the Nt vs
    2·Nt difference, and a switch mid-run changes the result (the window really is halved)."""
    from sgsweep.spiked.dmft_budget import error_budget, solve_switched

    args = (3, delta2, 1.0, T, overlap0, 8.0)
    for Nt_start, switch, ref in ((32, 0, 32), (64, 99, 64)):
        t, c = solve_switched(*args, Nt=32, Nt_start=Nt_start, switch_cycle=switch)
        r = dmft.solve(*args, Nt=ref)
        assert np.array_equal(t, r["time"]) and np.array_equal(c, r["overlap"])
    rows = error_budget(*args, at=6.0, Nt=32)
    total = rows[0]["overlap_Nt"] - rows[0]["overlap_2Nt"]
    r32, r64 = dmft.solve(*args, Nt=32), dmft.solve(*args, Nt=64)
    assert rows[0]["overlap_Nt"] == np.interp(6.0, r32["time"], r32["overlap"])
    assert rows[0]["overlap_2Nt"] == np.interp(6.0, r64["time"], r64["overlap"])
    assert abs(sum(r["share"] for r in rows) - total) < 1e-15 and abs(total) > 1e-6
    assert rows[-1]["t_to"] >= 8.0 and sum(abs(r["share"]) > 0 for r in rows) >= 3
