"""Finite-N AMP of the spiked (2+p) model (sgsweep.spiked.amp, method spiked.amp).

The issue's check "AMP at N = 2000 follows its SE within a few 1/√N" is not feasible for p = 3
(C(2000, 3) = 1.3e9 packed entries = 10 GB); it is done here at N = 200 (p = 3) and N = 60 (p = 4),
on sample means and per-sample deviations in units of 1/√N.
"""

import math

import numpy as np
import pytest

from sgsweep import rng
from sgsweep.methods import ParameterError
from sgsweep.point import compute_point
from sgsweep.spiked import amp, model, theory


def _state(*key):
    return rng.init_states([np.random.SeedSequence(list(key))])[0]


@pytest.mark.parametrize("p,kind", [(3, "bayes"), (3, "ml"), (4, "bayes"), (4, "ml")])
def test_kernel_matches_dense_reference(p, kind):
    N = 14
    st = _state(5, p)
    inst = model.draw_instance(st, p, N, 0.5, 0.8)
    x0 = np.empty(N)
    amp.init_estimate(st, amp.KINDS[kind], 0.3, inst.xstar, x0)
    ov_ref, q_ref = amp.reference_amp(inst, kind, x0, 8)
    st = _state(5, p)
    ov, q, status = amp.run_amp(st, kind, p, N, 0.5, 0.8, 8, 0.3)
    assert status == "ok"
    assert np.max(np.abs(ov - ov_ref)) < 1e-12 and np.max(np.abs(q - q_ref)) < 1e-12


def test_initial_estimate_has_the_requested_overlap():
    N = 50
    st = _state(1)
    inst = model.draw_instance(st, 3, N, 0.5, 1.0)
    for kind, norm in (("bayes", 0.2), ("ml", 1.0)):
        x = np.empty(N)
        amp.init_estimate(st, amp.KINDS[kind], 0.2, inst.xstar, x)
        assert abs(x @ inst.xstar / N - 0.2) < 1e-12
        assert abs(x @ x / N - norm) < 1e-12


def _runs(kind, p, N, x, dp, m0, its, n, onsager=1.0):
    return np.array([amp.run_amp(_state(11, N, s), kind, p, N, 1 / x, dp, its, m0, onsager)[0]
                     for s in range(n)])


@pytest.mark.parametrize("kind,p,N,x,dp", [("ml", 3, 200, 4.0, 1.0), ("bayes", 3, 200, 2.0, 1.0),
                                           ("ml", 4, 60, 3.0, 1.0), ("bayes", 4, 60, 2.0, 1.0)])
def test_finite_n_amp_follows_state_evolution(kind, p, N, x, dp):
    its, m0 = 15, 0.2
    se = (theory.bayes_se if kind == "bayes" else theory.ml_se)(m0, p, 1 / x, dp, its)
    ov = _runs(kind, p, N, x, dp, m0, its, 6)
    dev = ov - se
    assert np.max(np.abs(dev.mean(0))) < 3.0 / math.sqrt(N)           # sample mean
    assert np.median(np.max(np.abs(dev), axis=1)) < 3.0 / math.sqrt(N)  # typical sample


def test_onsager_term_matters():
    # Bayes AMP without its Onsager term overshoots the SE fixed point 0.618 by far more than 1/√N
    N, its = 200, 15
    se = theory.bayes_se(0.2, 3, 0.5, 1.0, its)
    with_ = _runs("bayes", 3, N, 2.0, 1.0, 0.2, its, 4)
    without = _runs("bayes", 3, N, 2.0, 1.0, 0.2, its, 4, onsager=0.0)
    assert abs(with_[:, -1].mean() - se[-1]) < 2 / math.sqrt(N)
    assert without[:, -1].mean() - se[-1] > 2.5 / math.sqrt(N)  # measured: 0.19 = 2.7/√N


def test_method_spiked_amp_bits_and_layout():
    params = {"p": 3, "N": 40, "delta2": 0.25, "delta_p": 1.0, "samples": 3, "iterations": 6, "kind": "ml"}
    ds = compute_point("spiked.amp", params, seed=4)
    assert ds.attrs["status"] == "ok"
    assert ds["overlap"].dims == ("sample", "iteration") and ds["overlap"].shape == (3, 7)
    assert ds["overlap_se"].dims == ("iteration",)
    assert np.allclose(ds["overlap_se"].values, theory.ml_se(0.1, 3, 0.25, 1.0, 6))
    assert abs(float(ds["overlap_se_fixed_point"]) - theory.m_ml(3, 0.25, 1.0)) < 1e-12
    part = compute_point("spiked.amp", params, seed=4, replicas=(2, 3))
    assert np.array_equal(part["overlap"].values[0], ds["overlap"].values[2])
    assert int(part["sample"].values[0]) == 2
    with pytest.raises(ParameterError):
        compute_point("spiked.amp", {**params, "kind": "foo"}, seed=4)
    big = compute_point("spiked.amp", {**params, "N": 2000}, seed=4, memory_mb=100)
    assert big.attrs["status"] == "failed" and "memory budget" in big.attrs.get("error", "")


def test_same_instances_as_spiked_sim():
    # with sim_point the replica seeds are those of the spiked.sim point: the instance drawn by AMP
    # is the one drawn by the simulation (same state -> same x*, Y, T)
    from sgsweep import grid, methods

    params = {"p": 3, "N": 30, "delta2": 0.5, "delta_p": 1.0, "samples": 2, "seed": 3,
              "iterations": 3, "sim_point": "T=0,t_max=5"}
    sim = methods.get("spiked.sim")
    canon = grid.canonical_params(sim, {"p": 3, "N": 30, "delta2": 0.5, "delta_p": 1.0, "seed": 3,
                                        "T": 0, "t_max": 5})
    seeds = grid.replica_seeds(3, sim, canon, [0, 1])
    st = rng.init_states(seeds)
    expected = [amp.run_amp(st[i], "bayes", 3, 30, 0.5, 1.0, 3, 0.1)[0] for i in range(2)]
    ds = compute_point("spiked.amp", params, seed=3)
    assert np.array_equal(ds["overlap"].values, np.array(expected))
    own = compute_point("spiked.amp", {**params, "sim_point": None}, seed=3)
    assert not np.array_equal(own["overlap"].values, ds["overlap"].values)
