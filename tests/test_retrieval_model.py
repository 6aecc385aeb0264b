"""Phase retrieval: kernels vs references, finite differences, integrator, theory (sgd_dmft.md §8)."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from sgsweep import rng
from sgsweep.retrieval import flow, model, theory


def _instance(d, alpha, m, seed=3, spherical=True):
    st = rng.init_states([np.random.SeedSequence(seed)])[0]
    return model.draw_instance(st, d, model.n_samples(alpha, d), m, spherical)


@pytest.mark.parametrize("m", [1, 3])
def test_field_and_loss_match_reference(m):
    X, y2, ws, W = _instance(12, 2.5, m)
    out = np.empty_like(W)
    L = model.field(W, X, y2, out, np.empty(m))
    assert L == pytest.approx(model.loss_ref(W, X, y2), rel=1e-13)
    np.testing.assert_allclose(out, model.field_ref(W, X, y2), rtol=1e-11, atol=1e-11)
    if m == 1:  # spherical flow: the velocity is tangent to the sphere
        assert abs(W[0] @ out[0]) < 1e-10 * np.linalg.norm(W[0]) * np.linalg.norm(out[0])


@pytest.mark.parametrize("m", [1, 3])
def test_gradient_equals_finite_differences(m):
    X, y2, ws, W = _instance(7, 3.0, m, seed=11)
    g = model.grad_ref(W, X, y2)
    eps = 1e-6
    fd = np.empty_like(W)
    for a in range(m):
        for i in range(W.shape[1]):
            Wp, Wm = W.copy(), W.copy()
            Wp[a, i] += eps
            Wm[a, i] -= eps
            fd[a, i] = (model.loss_ref(Wp, X, y2) - model.loss_ref(Wm, X, y2)) / (2 * eps)
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-5 * np.abs(g).max())
    # and the kernel's velocity is minus that gradient (m > 1) / its tangent part (m = 1)
    out = np.empty_like(W)
    model.field(W, X, y2, out, np.empty(m))
    if m > 1:
        np.testing.assert_allclose(out, -fd, rtol=1e-6, atol=1e-5 * np.abs(g).max())
    else:
        w = W[0]
        tangent = -fd[0] + (w @ fd[0]) / (w @ w) * w
        np.testing.assert_allclose(out[0], tangent, rtol=1e-5, atol=1e-5 * np.abs(g).max())


def test_instance_and_overlap():
    d = 9
    X, y2, ws, W = _instance(d, 2.0, 1)
    assert ws @ ws == pytest.approx(d, rel=1e-13)  # spherical teacher
    assert W[0] @ W[0] == pytest.approx(d, rel=1e-13)  # start on the sphere
    np.testing.assert_allclose(y2, (X @ ws) ** 2, rtol=1e-12)
    q, e = model.overlap_and_error(W, ws)
    cos = abs(W[0] @ ws) / np.linalg.norm(W[0]) / np.linalg.norm(ws)
    assert q == pytest.approx(cos, rel=1e-12)
    assert (q, e) == pytest.approx(model.overlap_ref(W, ws), rel=1e-10)
    Xg, y2g, wsg, Wg = _instance(d, 2.0, 5, spherical=False)
    assert model.overlap_and_error(Wg, wsg) == pytest.approx(model.overlap_ref(Wg, wsg), rel=1e-10)
    # at the teacher: q = 1, matrix error 0, loss 0
    A = np.vstack([wsg] * 5)
    q1, e1 = model.overlap_and_error(A, wsg)
    assert q1 == pytest.approx(1.0, abs=1e-12) and e1 < 1e-7
    assert model.loss_ref(A, Xg, y2g) < 1e-20


@pytest.mark.parametrize("m", [1, 3])
def test_kernel_trajectory_equals_python_transcription(m):
    d, alpha = 8, 3.0
    st = rng.init_states([np.random.SeedSequence(21)])
    times = flow.time_grid(1.5, 0.25)
    res = flow.simulate(st, d, alpha, m, times)
    X, y2, ws, W0 = model.draw_instance(st[0].copy(), d, model.n_samples(alpha, d), m, True)
    ovl, lo, nr, info = flow.flow_ref(X, y2, ws, W0, times)
    np.testing.assert_allclose(res["overlap"][0], ovl, rtol=1e-8)
    np.testing.assert_allclose(res["loss"][0], lo, rtol=1e-8)
    np.testing.assert_allclose(res["norm"][0], nr, rtol=1e-10)
    assert (res["accepted"][0], res["rejected"][0]) == (info[2], info[3])


def test_time_is_the_flow_time_single_unit():
    """Tight tolerance: the adaptive Euler/Heun flow matches scipy RK45 on the projected ODE."""
    d, alpha = 10, 4.0
    st = rng.init_states([np.random.SeedSequence(5)])
    times = np.array([0.0, 0.05, 0.1, 0.2, 0.3])
    res = flow.simulate(st, d, alpha, 1, times, rtol=1e-8)
    X, y2, ws, W0 = model.draw_instance(st[0].copy(), d, model.n_samples(alpha, d), 1, True)
    sol = solve_ivp(lambda t, w: model.field_ref(w[None, :], X, y2)[0], (0, times[-1]), W0[0],
                    t_eval=times, rtol=1e-11, atol=1e-11, method="RK45")
    q = [abs(w @ ws) / np.linalg.norm(w) / np.linalg.norm(ws) for w in sol.y.T]
    np.testing.assert_allclose(res["overlap"][0], q, atol=1e-4)
    np.testing.assert_allclose(res["loss"][0], [model.loss_ref(w[None, :], X, y2) for w in sol.y.T], rtol=2e-3)


def test_sphere_held_and_loss_non_increasing():
    st = rng.init_states([np.random.SeedSequence(9, spawn_key=(i,)) for i in range(4)])
    times = flow.time_grid(5.0, 0.05)
    res = flow.simulate(st, 32, 3.0, 1, times)
    np.testing.assert_allclose(res["norm"], 1.0, rtol=1e-12)  # |w|² = d at every recorded time
    for m in (1, 4):
        r = flow.simulate(st, 16, 2.5, m, times)
        dl = np.diff(r["loss"], axis=1)
        assert np.all(dl <= 1e-12 * r["loss"][:, :-1]), dl.max()
        assert np.all(r["loss"][:, -1] < r["loss"][:, 0])


def test_time_grid_honours_t_max():
    assert flow.time_grid(1.0, 0.3)[-1] == 1.0
    np.testing.assert_allclose(flow.time_grid(1.0, 0.25), [0, 0.25, 0.5, 0.75, 1.0])


def test_amp_state_evolution():
    # weak-recovery linearisation m̂(q) ≈ 2αq (alpha_WR = 1/2)
    assert theory.mhat(1e-6, 0.8) / 1e-6 == pytest.approx(1.6, rel=1e-3)
    # alpha_AMP of the state evolution: the published 1.13 (BKMMZ19)
    a = theory.alpha_amp()
    assert abs(a - theory.ALPHA_AMP_PUBLISHED) < 0.005
    # the closed max-ratio form agrees with the direct iteration of the state evolution
    assert theory.state_evolution(a + 0.004)[1] and not theory.state_evolution(a - 0.004)[1]
