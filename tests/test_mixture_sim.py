"""mixture.sim: kernel vs reference, seeds/threads bit-identity, exact limits and statistical checks."""

import math

import numpy as np
import pytest

from sgsweep import rng
from sgsweep.mixture import data, sim
from sgsweep.point import compute_point

BASE = dict(algorithm="sgd", d=40, alpha=2.0, b=0.3, tau=1.0, lam=0.0, delta=0.5, eta=0.2, R=0.01,
            loss="logistic", clusters=2, L=0.7, t_max=2.0)


def _seeds(k, base=0):
    return [np.random.SeedSequence(base, spawn_key=(i,)) for i in range(k)]


@pytest.mark.parametrize("alg,clusters,loss,lam", [
    ("gd", 2, "logistic", 0.0), ("sgd", 2, "hinge", 0.1), ("psgd", 2, "square", 0.3),
    ("sgd", 3, "logistic", 0.0), ("psgd", 3, "hinge", 0.05), ("gd", 3, "square", 0.2)])
def test_kernel_matches_reference(alg, clusters, loss, lam):
    p = dict(BASE, algorithm=alg, clusters=clusters, loss=loss, lam=lam)
    seeds = _seeds(3, 7)
    out = sim.run(p, seeds, n_test=15)
    for i in (0, 2):
        ref = sim.reference_run(p, seeds[i], n_test=15)
        for k in ("m", "C", "train_loss"):
            np.testing.assert_allclose(out[k][i], ref[k], rtol=1e-10, atol=1e-12)
        for k in ("train_accuracy", "test_error_empirical"):
            assert np.array_equal(out[k][i], ref[k])


def test_bits_independent_of_threads_and_replica_batches():
    params = dict(BASE, algorithm="psgd", d=64, runs=4, t_max=3.0, n_test=50)
    a = compute_point("mixture.sim", params, seed=3, threads=1)
    b = compute_point("mixture.sim", params, seed=3, threads=2)
    c = compute_point("mixture.sim", params, seed=3, threads=2, replicas=(2, 4))
    assert a.attrs["status"] == "ok"
    for v in ("test_error", "train_loss", "train_accuracy", "magnetization", "norm", "test_error_empirical"):
        assert np.array_equal(a[v].values, b[v].values)
        assert np.array_equal(a[v].sel(run=[2, 3]).values, c[v].values)


def test_contract_names_and_dims():
    ds = compute_point("mixture.sim", dict(BASE, runs=2, clusters=3, t_max=1.0), seed=1)
    for v in ("test_error", "train_loss", "train_accuracy", "magnetization", "norm"):
        assert ds[v].dims == ("run", "time")
        assert "units" in ds[v].attrs and "long_name" in ds[v].attrs
    assert np.allclose(ds.time.values, 0.2 * np.arange(6))
    assert np.all(ds.magnetization.values >= 0)  # |m| for 3 clusters


def test_bad_psgd_tau_is_rejected_with_key():
    # refused at validation, before any computation, naming the key and the bound
    from sgsweep.methods import ParameterError

    with pytest.raises(ParameterError, match="tau: got 0.1, persistent SGD needs tau >="):
        compute_point("mixture.sim", dict(BASE, algorithm="psgd", tau=0.1, runs=1), seed=1)


def test_two_cluster_error_never_below_oracle_floor():
    floor = data.bayes_floor_two_clusters(0.5)  # 0.07865
    for alg, b, R in (("sgd", 0.3, 0.01), ("gd", 1.0, 0.0), ("gd", 1.0, 1.0), ("psgd", 0.3, 0.01)):
        p = dict(BASE, algorithm=alg, b=b, R=R, d=300, t_max=20.0, tau=2.0)
        out = sim.run(p, _seeds(2, 5), n_test=0)
        assert np.all(out["test_error"] >= floor - 1e-12)
        assert out["test_error"][:, -1].min() < 0.2  # it does learn


def test_gd_square_ridge_converges_to_linear_solve():
    lam, d, delta, alpha = 0.5, 200, 0.5, 2.0
    p = dict(BASE, algorithm="gd", b=1.0, loss="square", lam=lam, d=d, t_max=40.0, R=0.1)
    seeds = _seeds(2, 9)
    out = sim.run(p, seeds, n_test=0)
    for i, ss in enumerate(seeds):
        st = rng.init_states([ss])[0]
        w0 = np.empty(d)
        rng.fill_normal(st, w0)  # same stream order as the kernel: w(0), then the data
        X, y, _ = data.reference_dataset(st, 2, delta, sim.n_samples(alpha, d), d)
        # stationary point of w ← w − η[λw + Xᵀ(Xw/√d − y)/√d]
        w = np.linalg.solve(X.T @ X / d + lam * np.eye(d), X.T @ y / math.sqrt(d))
        assert abs(out["m"][i, -1] - w.mean()) < 1e-8
        assert abs(out["C"][i, -1] - w @ w / d) < 1e-8


def test_psgd_tau_eta_over_b_learning_curves_equal_sgd():
    p = dict(BASE, d=300, t_max=10.0)
    a = sim.run(p, _seeds(16, 1), n_test=0)
    b = sim.run(dict(p, algorithm="psgd", tau=p["eta"] / p["b"]), _seeds(16, 2), n_test=0)
    for k in ("test_error", "train_loss", "C"):
        diff = a[k].mean(0) - b[k].mean(0)
        se = np.sqrt(a[k].var(0, ddof=1) / 16 + b[k].var(0, ddof=1) / 16)
        assert np.all(np.abs(diff[1:]) <= 3.5 * se[1:])


def test_empirical_test_error_agrees_with_closed_form():
    p = dict(BASE, d=200, t_max=6.0, clusters=3, delta=0.05, alpha=3.0, b=0.5)
    out = sim.run(p, _seeds(6, 4), n_test=2000)
    emp, cf = out["test_error_empirical"], out["test_error"]
    se = np.sqrt(np.maximum(cf * (1 - cf), 1e-4) / 2000)
    z = (emp - cf) / se
    assert abs(z.mean()) < 4 / math.sqrt(z.size) * 3  # unbiased on average (z's correlated in time)
    assert np.all(np.abs(z) < 5)
