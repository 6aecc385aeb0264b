"""Products and figures of retrieval.sim sweeps on synthetic aggregates with known answers."""


import numpy as np
import pytest
import xarray as xr

from sgsweep.analysis import retrieval as ar
from sgsweep.analysis.registry import products_of
from sgsweep.plots.registry import get_figure


def test_clopper_pearson_closed_forms():
    lo, hi = ar.clopper_pearson(0, 10, 0.95)
    assert lo == 0.0 and hi == pytest.approx(1 - 0.025 ** (1 / 10), rel=1e-10)
    lo, hi = ar.clopper_pearson(10, 10, 0.95)
    assert hi == 1.0 and lo == pytest.approx(0.025 ** (1 / 10), rel=1e-10)
    lo, hi = ar.clopper_pearson(3, 10)  # symmetry k <-> n-k
    lo2, hi2 = ar.clopper_pearson(7, 10)
    assert lo == pytest.approx(1 - hi2) and hi == pytest.approx(1 - lo2)


def _synthetic(alpha_half, width, runs, seed=0, alphas=(1.5, 2, 2.5, 3, 3.5, 4, 5, 6, 8), ds_=(32, 64, 128)):
    gen = np.random.default_rng(seed)
    alphas = np.array(alphas, float)
    A, D = len(alphas), len(ds_)
    succ = np.zeros((A, D, runs), bool)
    for j, d in enumerate(ds_):
        p = 1 / (1 + np.exp(-(np.log(alphas) - np.log(alpha_half(d))) / width(d)))
        succ[:, j, :] = gen.random((A, runs)) < p[:, None]
    ovl = np.where(succ, 0.99, 0.2)[..., None] * np.ones(2)
    agg = xr.Dataset(
        {"overlap": (("alpha", "d", "run", "time"), ovl), "success": (("alpha", "d", "run"), succ),
         "t_success": (("alpha", "d", "run"), np.where(succ, 1.0, np.nan)),
         "status": (("alpha", "d"), np.full((A, D), "ok"))},
        coords={"alpha": alphas, "d": list(ds_), "run": np.arange(runs), "time": [0.0, 1.0], "m": 1},
    )
    return agg


def test_products_recover_known_crossing_and_trend():
    a_of_d = lambda d: 7.0 - 12.0 / np.log(d)  # noqa: E731
    agg = _synthetic(a_of_d, lambda d: 0.5 / np.log(d), runs=3000)
    sweep = {"name": "s", "method": "retrieval.sim", "seed": 1}
    prods = products_of("retrieval.sim")
    assert {"success", "thresholds"} <= set(prods)
    s = prods["success"](agg, sweep)
    assert s["n_runs"].values.min() == 3000
    assert np.all((s.ci_low <= s.success_probability) & (s.success_probability <= s.ci_high))
    t = prods["thresholds"](agg, sweep)
    for d in (32, 64, 128):
        got = t.alpha_half.sel(d=d).item()
        err = t.alpha_half_err.sel(d=d).item()
        assert abs(got - a_of_d(d)) < 5 * err + 1e-3, (d, got, err)
        assert 0 < err < 0.1
    # the width decreases with d as built in
    w = t.width.values
    assert w[0] > w[1] > w[2]
    # trend a + b/ln d
    assert t.alpha_half_inf.item() == pytest.approx(7.0, abs=5 * t.alpha_half_inf_err.item() + 0.05)
    assert t.trend_slope.item() == pytest.approx(-12.0, abs=5 * t.trend_slope_err.item() + 0.2)
    assert t.alpha_it.item() == 1.0 and t.alpha_gd.item() == 13.8 and t.alpha_overparam.item() == 2.0
    assert "arXiv:2006.06997" in t.alpha_gd.attrs["references"]


def test_crossing_not_bracketed_is_flagged():
    out = ar.crossing([1, 2, 3], [0, 0, 1], [10, 10, 10])
    assert out[-1] == "below_half" and np.isnan(out[0])


def test_figures_written(tmp_path):
    agg = _synthetic(lambda d: 4.0, lambda d: 0.2, runs=40, ds_=(16, 32))
    sweep = {"name": "s", "method": "retrieval.sim", "seed": 0}
    prods = products_of("retrieval.sim")
    inputs = {"success": prods["success"](agg, sweep), "thresholds": prods["thresholds"](agg, sweep)}
    paths = get_figure("retrieval.success")(inputs, {}, str(tmp_path / "succ"))
    paths += get_figure("retrieval.crossing")({"thresholds": inputs["thresholds"]}, {}, str(tmp_path / "cross"))
    assert len(paths) == 4
    for p in paths:
        with open(p, "rb") as f:
            head = f.read(8)
        assert head.startswith(b"\x89PNG") or head.startswith(b"%PDF")
