"""retrieval.sim: success/failure regimes, over-parametrised network, bit identity (sgd_dmft.md §8)."""

import numpy as np
import pytest

from sgsweep.point import compute_point

M = "retrieval.sim"


def test_alpha_well_below_one_never_succeeds():
    ds = compute_point(M, {"d": 64, "alpha": 0.5, "runs": 16, "t_max": 10.0, "dt": 1.0}, seed=3, threads=2)
    assert ds.attrs["status"] == "ok"
    assert int(ds.success.sum()) == 0
    assert float(ds.overlap[:, -1].max()) < 0.9


def test_single_unit_alpha16_d128_succeeds():
    ds = compute_point(M, {"d": 128, "alpha": 16.0, "runs": 12, "t_max": 10.0, "dt": 0.5}, seed=4, threads=2)
    assert int(ds.success.sum()) >= 11
    assert np.all(ds.norm.values == pytest.approx(1.0, rel=1e-12))
    ok = ds.success.values
    # successful runs reached the zero-loss minimum (spherical teacher) and stopped there
    assert np.all(ds.stop_reason.values[ok] == 1)
    assert np.all(ds.t_success.values[ok] <= ds.t_stop.values[ok] + 0.5)


def test_network_m_equals_d_alpha1_zero_loss_but_not_teacher():
    """Theorem 3.1 of SVZ20 (note §8.2): at α = 1 ≤ 2 the zero-loss minimisers are not unique and GF
    (Theorem 4.1: it reaches a global minimiser for m ≥ d) ends on one that is not A*."""
    ds = compute_point(M, {"d": 32, "m": 32, "alpha": 1.0, "runs": 6, "t_max": 300.0, "dt": 10.0},
                       seed=5, threads=2)
    loss = ds.loss.values
    assert np.all(loss[:, -1] < 1e-4 * loss[:, 0])  # loss → 0
    assert np.all(ds.matrix_error.values > 0.4)  # but A ≠ A*
    assert int(ds.success.sum()) == 0
    # and at α = 3 > 2 the same network recovers the teacher
    ds3 = compute_point(M, {"d": 32, "m": 32, "alpha": 3.0, "runs": 6, "t_max": 300.0, "dt": 10.0},
                        seed=5, threads=2)
    assert int(ds3.success.sum()) == 6


@pytest.mark.parametrize("m", [1, 3])
def test_bit_identical_threads_and_batches(m):
    p = {"d": 24, "m": m, "alpha": 3.0, "runs": 6, "t_max": 4.0, "dt": 0.5}
    full2 = compute_point(M, p, seed=7, threads=2)
    full1 = compute_point(M, p, seed=7, threads=1)
    alone = compute_point(M, p, seed=7, replicas=(4, 5), threads=1)
    part = compute_point(M, p, seed=7, replicas=(2, 6), threads=2)
    for v in ("overlap", "loss", "norm", "t_stop", "matrix_error", "steps", "stop_reason"):
        a = full2[v].values
        assert np.array_equal(a, full1[v].values), v
        assert np.array_equal(a[4:5], alone[v].values), v
        assert np.array_equal(a[2:6], part[v].values), v
    assert list(part.run.values) == [2, 3, 4, 5]
    # different runs are different instances
    assert not np.array_equal(full2.overlap.values[0], full2.overlap.values[1])
