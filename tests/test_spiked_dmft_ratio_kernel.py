"""Checks of the ratio-grid DMFT kernel (:func:`sgsweep.spiked.dmft_ratio.rhs`) against a slow
reference written from the equations of the module docstring, and of its building blocks
(ratio stencils, composite quadrature, history interpolation in time)."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.polynomial import Polynomial
from scipy.interpolate import BarycentricInterpolator, CubicHermiteSpline

from sgsweep.spiked import dmft_ratio as dr

# ------------------------------------------------------------------ slow reference


def _stencil(th, x, q):
    """The q consecutive nodes used at ratio x: the interval m with th[m] <= x < th[m+1] (m at most
    L − 2), stencil starting at m − q//2 + 1, shifted to stay inside the grid."""
    L = len(th)
    m = min(np.flatnonzero(th <= x)[-1], L - 2)
    start = min(max(m - q // 2 + 1, 0), L - q)
    return np.arange(start, start + q)


def _interp(th, rows, x, q):
    """Rows (…, L) of values on the θ nodes evaluated at ratio x by the polynomial through the
    stencil of x."""
    idx = _stencil(th, x, q)
    return BarycentricInterpolator(th[idx], rows[..., idx], axis=-1)(x)


def _weights(th, q):
    """Weights of ∫_0^1 f dθ: on each interval the antiderivative of every Lagrange basis
    polynomial of the interval's stencil, in the local variable u = (θ − θ_m)/(θ_{m+1} − θ_m)."""
    w = np.zeros(len(th))
    for m in range(len(th) - 1):
        a, b = th[m], th[m + 1]
        idx = _stencil(th, 0.5 * (a + b), q)
        u = (th[idx] - a) / (b - a)
        for i, node in enumerate(idx):
            others = np.delete(u, i)
            anti = (Polynomial.fromroots(others) / np.prod(u[i] - others)).integ()
            w[node] += (b - a) * (anti(1.0) - anti(0.0))
    return w


def _history(t, y, ht, hy, hd):
    """The state as a function of time s: hy[0] before ht[0], cubic Hermite between stored steps,
    after ht[-1] the quadratic through (hy[-1], hd[-1]) at ht[-1] and the current state y at t."""
    spline = CubicHermiteSpline(ht, hy, hd, axis=0)
    h = t - ht[-1]

    def at(s):
        if s <= ht[0]:
            return hy[0]
        if s < ht[-1]:
            return spline(s)
        if h == 0.0:
            return hy[-1]
        v = s - ht[-1]
        return hy[-1] + v * hd[-1] + v * v * (y - hy[-1] - h * hd[-1]) / h**2

    return at


def rhs_reference(t, y, p, delta2, delta_p, T, th, order, ht, hy, hd):
    """d y/dt, μ(t), e(t) for the state y = (c_0..c_{L−1}, r_0..r_{L−1}, C̄) at time t, from the
    equations of the :mod:`sgsweep.spiked.dmft_ratio` docstring, with the stored steps ht (N,),
    hy (N, 2L+1), hd (N, 2L+1) as history. Plain loops over targets k and nodes j."""
    L = len(th)
    q = order

    def Q(c):
        return c**2 / (2 * delta2) + c**p / (p * delta_p)

    def f1(c):  # Q'
        return c / delta2 + c ** (p - 1) / delta_p

    def f2(c):  # Q''
        return 1 / delta2 + (p - 1) * c ** (p - 2) / delta_p

    w = _weights(th, q)
    hist = _history(t, y, ht, hy, hd)

    def mu_of(time, row):
        c, r, cb = row[:L], row[L:2 * L], row[2 * L]
        return T + cb * f1(cb) + time * np.sum(w * r * (f1(c) + c * f2(c)))

    cur = np.stack([y[:L], y[L:2 * L]])  # C(t, θ t), R(t, θ t) on the nodes
    cb = y[2 * L]
    mu = mu_of(t, y)
    e = -Q(cb) - t * np.sum(w * y[L:2 * L] * f1(y[:L]))

    dy = np.zeros(2 * L + 1)
    cb_hist = np.array([hist(th_j * t)[2 * L] for th_j in th])
    dy[2 * L] = -mu * cb + f1(cb) + t * np.sum(w * y[L:2 * L] * f2(y[:L]) * cb_hist)

    for k in range(L - 1):
        tp = th[k] * t
        old = hist(tp)  # the state at t': C(t', θ t'), R(t', θ t'), C̄(t')
        ck, rk, cbk = y[k], y[L + k], old[2 * L]
        mu_k = mu_of(tp, old)
        I1 = I2 = I3 = I4 = IR1 = IR2 = 0.0
        # s in [0, t'] on s = θ_j t': C(t, s), R(t, s) from the current row at ratio θ_j θ_k;
        # C(t', s) = C(s, t'), R(t', s) on the row at t'
        for j in range(L):
            C_ts, R_ts = _interp(th, cur, th[j] * th[k], q)
            C_ps, R_ps = old[j], old[L + j]
            wj = w[j] * tp
            I1 += wj * R_ts * f2(C_ts) * C_ps
            I2 += wj * f1(C_ts) * R_ps
            I3 += wj * R_ps * f2(C_ps) * C_ts
            I4 += wj * f1(C_ps) * R_ts
        # s in [t', t] on s = t' + (t − t') θ_j: C(t, s), R(t, s) at ratio s/t; C(s, t') = C(t', s),
        # R(s, t') on the row at time s at ratio t'/s (at s = t' = 0 the pair is the diagonal)
        for j in range(L):
            s = tp + (t - tp) * th[j]
            C_ts, R_ts = _interp(th, cur, s / t, q)
            row_s = hist(s)
            C_sp, R_sp = _interp(th, np.stack([row_s[:L], row_s[L:2 * L]]), tp / s if s > 0 else 1.0, q)
            wj = w[j] * (t - tp)
            I1 += wj * R_ts * f2(C_ts) * C_sp
            I4 += wj * f1(C_sp) * R_ts
            IR1 += wj * R_ts * f2(C_ts) * R_sp
            IR2 += wj * R_ts * f2(C_sp) * R_sp
        d1C = -mu * ck + f1(cb) * cbk + I1 + I2
        d2C = -mu_k * ck + f1(cbk) * cb + I3 + I4 + 2 * T * rk
        d1R = -mu * rk + IR1
        d2R = mu_k * rk - IR2
        dy[k] = d1C + th[k] * d2C
        dy[L + k] = d1R + th[k] * d2R
    return dy, mu, e


# ------------------------------------------------------------------ kernel call and synthetic history


def _kernel(t, y, p, delta2, delta_p, T, pre, ht, hy, hd):
    """dmft_ratio.rhs called as solve_ratio calls it (history in zero-padded capacity arrays):
    (d y/dt, μ, e)."""
    L = len(pre["th"])
    n_y = 2 * L + 1
    N = len(ht)
    cap = N + 4
    ht_c, hy_c, hd_c = np.zeros(cap), np.zeros((cap, n_y)), np.zeros((cap, n_y))
    ht_c[:N], hy_c[:N], hd_c[:N] = ht, hy, hd
    args = (p, 1.0 / delta2, 1.0 / delta_p, float(T), pre["th"], pre["W0"], pre["A_idx"],
            pre["A_w"], pre["sig"], pre["B_idx"], pre["B_w"], pre["H_idx"], pre["H_w"])
    out = np.zeros(n_y + 2)
    dr.rhs(t, y, out, *args, ht_c, hy_c, hd_c, N, np.zeros((L, 2, L)), np.zeros((L + 1, 4)))
    return out[:n_y].copy(), out[n_y], out[n_y + 1]


def _model(s, th):
    """A smooth synthetic state row at time s and its time derivative at fixed θ:
    C = 1 − 0.7(1 − e^{−0.8(1−θ)s}) + 0.2 θ(1−θ) s/(1+s), R = e^{−0.5(1−θ)s}(1 + 0.3 θ(1−θ)s),
    C̄ = 0.05 + 0.5(1 − e^{−s/4}); C = R = 1 at θ = 1 and at s = 0."""
    g = th * (1 - th)
    ec = np.exp(-0.8 * (1 - th) * s)
    er = np.exp(-0.5 * (1 - th) * s)
    c = 1 - 0.7 * (1 - ec) + 0.2 * g * s / (1 + s)
    dc = -0.7 * 0.8 * (1 - th) * ec + 0.2 * g / (1 + s) ** 2
    r = er * (1 + 0.3 * g * s)
    dr_ = -0.5 * (1 - th) * r + er * 0.3 * g
    cb = 0.05 + 0.5 * (1 - np.exp(-s / 4))
    dcb = 0.125 * np.exp(-s / 4)
    return np.concatenate([c, r, [cb]]), np.concatenate([dc, dr_, [dcb]])


HT = np.array([0.0, 0.05, 0.15, 0.3, 0.55, 0.9, 1.4, 2.1, 3.0, 4.2, 5.7, 7.5])


def _setup(th, in_step):
    """History on HT from the model; current time 0.3 beyond the last step with the model state
    plus a smooth offset (C = R = 1 kept at θ = 1), or exactly the last step with its state."""
    rows = [_model(s, th) for s in HT]
    hy = np.array([r[0] for r in rows])
    hd = np.array([r[1] for r in rows])
    if not in_step:
        return HT[-1], hy[-1].copy(), hy, hd
    t = HT[-1] + 0.3
    y = _model(t, th)[0]
    g = th * (1 - th)
    L = len(th)
    y[:L] += 2e-3 * g
    y[L:2 * L] -= 3e-3 * g
    y[2 * L] += 1e-3
    return t, y, hy, hd


# ------------------------------------------------------------------ tests


@pytest.mark.parametrize("in_step", [True, False], ids=["t_in_step", "t_at_last_step"])
@pytest.mark.parametrize("T", [0.0, 1.0])
@pytest.mark.parametrize("p", [3, 4])
@pytest.mark.parametrize("order", [4, 6])
def test_rhs_matches_reference(order, p, T, in_step):
    """The numba kernel equals the slow reference (derivatives, μ, e) to rtol 1e-10 on a 30-node
    ratio grid with a smooth synthetic history, both inside the current step (quadratic rule)
    and at t equal to the last stored step; the entries of θ = 1 are zero."""
    pre = dr.precompute(30, 5.0, order)
    th = pre["th"]
    t, y, hy, hd = _setup(th, in_step)
    args = (p, 0.3, 1.2, T)
    dy, mu, e = _kernel(t, y, *args, pre, HT, hy, hd)
    dy_ref, mu_ref, e_ref = rhs_reference(t, y, *args, th, order, HT, hy, hd)
    L = len(th)
    assert dy[L - 1] == 0.0 and dy[2 * L - 1] == 0.0
    assert np.all(np.abs(dy[:L - 1]) > 1e-6)  # the comparison is on non-trivial values
    np.testing.assert_allclose(dy, dy_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose([mu, e], [mu_ref, e_ref], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("part, var", [("hy", "C"), ("hy", "R"), ("hy", "Cbar"), ("hd", "C"), ("hd", "R")])
def test_rhs_follows_history_perturbations(part, var):
    """Changing one stored value (step 6, inside the Hermite history) or one stored derivative of
    the last step (the in-step quadratic) changes the kernel output by far more than the
    comparison tolerance, and the reference follows it: the comparison does see the history."""
    order, p, T = 6, 3, 1.0
    pre = dr.precompute(30, 5.0, order)
    th = pre["th"]
    L = len(th)
    t, y, hy, hd = _setup(th, in_step=True)
    args = (p, 0.3, 1.2, T)
    base = _kernel(t, y, *args, pre, HT, hy, hd)[0]
    arr, row = (hy, 6) if part == "hy" else (hd, -1)
    arr[row, {"C": 12, "R": L + 12, "Cbar": 2 * L}[var]] += 0.05
    dy, mu, e = _kernel(t, y, *args, pre, HT, hy, hd)
    dy_ref, mu_ref, e_ref = rhs_reference(t, y, *args, th, order, HT, hy, hd)
    assert np.max(np.abs(dy - base)) > 1e-5
    np.testing.assert_allclose(dy, dy_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose([mu, e], [mu_ref, e_ref], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("q", [4, 6, 8])
def test_quadrature_and_interpolation_are_exact_for_polynomials(q):
    """On ratio grids, quadrature_weights integrates θ^d (d < q) exactly and equals the weights of
    the independent construction above; lagrange_stencils (any input shape) and the stencils
    stored by precompute (at θ_j θ_k, σ_kj, θ_k/σ_kj) use the centred stencil and reproduce
    random polynomials of degree q − 1."""
    rng = np.random.default_rng(q)
    for L, Z, m in ((30, 5.0, 1), dr.grid_size(t_max=20.0, tau_min=1e-2, density=3.0)):
        th = dr.ratio_grid(L, Z, m)
        assert th[0] == 0.0 and th[-1] == 1.0 and np.all(np.diff(th) > 0)
        W = dr.quadrature_weights(th, q)
        moments = np.array([np.sum(W * th**d) for d in range(q)])
        np.testing.assert_allclose(moments, 1.0 / np.arange(1, q + 1), rtol=1e-12)
        np.testing.assert_allclose(W, _weights(th, q), rtol=1e-11, atol=1e-15)

        poly = Polynomial(rng.normal(size=q))
        x = rng.uniform(0.0, 1.0, size=(5, 40))
        x[0, :3] = (0.0, 1.0, th[L // 2])
        idx, wt = dr.lagrange_stencils(x, th, q)
        assert idx.shape == wt.shape == (5, 40, q)
        for xi, ii in zip(x.ravel(), idx.reshape(-1, q)):
            np.testing.assert_array_equal(ii, _stencil(th, xi, q))
        np.testing.assert_allclose(np.sum(wt * poly(th[idx]), axis=-1), poly(x), rtol=0, atol=1e-11)

        pre = dr.precompute(L, Z, q, m)
        sig = pre["sig"]
        with np.errstate(divide="ignore", invalid="ignore"):
            rho = np.where(sig > 0, th[:, None] / sig, 1.0)
        for key, at in (("A", th[:, None] * th[None, :]), ("B", sig), ("H", rho)):
            got = np.sum(pre[key + "_w"] * poly(th[pre[key + "_idx"]]), axis=-1)
            np.testing.assert_allclose(got, poly(at), rtol=0, atol=1e-11)


def test_history_hermite_is_exact_for_cubics():
    """_tcoef/_hv reproduce a cubic in time between stored steps (mode 0, correct bracket, with the
    kernel's walking hint and with a stale one), the quadratic through (y_n, y'_n, y(t)) inside
    the current step (mode 1), hy[0] before the first step and hy[N−1] when t is the last step."""
    rng = np.random.default_rng(1)
    N, n_y = 9, 3
    ht = np.concatenate([[0.0], np.cumsum(rng.uniform(0.1, 1.0, N - 1))])
    cubic = [Polynomial(rng.normal(size=4)) for _ in range(n_y)]
    cap = N + 2
    ht_c, hy, hd = np.zeros(cap), np.zeros((cap, n_y)), np.zeros((cap, n_y))
    ht_c[:N] = ht
    hy[:N] = np.array([[P(s) for P in cubic] for s in ht])
    hd[:N] = np.array([[P.deriv()(s) for P in cubic] for s in ht])
    co = np.zeros(4)
    y_dummy = np.full(n_y, np.nan)

    s_all = np.sort(rng.uniform(ht[0], ht[-1], 60))
    hint = 0
    for s in s_all:
        for lo in (hint, N - 2):
            n, mode = dr._tcoef(s, ht[-1] + 1.0, ht_c, N, co, lo)
            assert mode == 0 and ht[n] <= s < ht[n + 1]
            got = [dr._hv(i, n, mode, co, hy, hd, y_dummy) for i in range(n_y)]
            np.testing.assert_allclose(got, [P(s) for P in cubic], rtol=1e-12, atol=1e-12)
        hint = n

    quad = [Polynomial(rng.normal(size=3)) for _ in range(n_y)]
    hy[N - 1] = [P(ht[-1]) for P in quad]
    hd[N - 1] = [P.deriv()(ht[-1]) for P in quad]
    t = ht[-1] + 0.7
    y = np.array([P(t) for P in quad])
    for s in np.linspace(ht[-1], t, 8):
        n, mode = dr._tcoef(s, t, ht_c, N, co)
        assert (n, mode) == (N - 1, 1)
        got = [dr._hv(i, n, mode, co, hy, hd, y) for i in range(n_y)]
        np.testing.assert_allclose(got, [P(s) for P in quad], rtol=1e-12, atol=1e-12)

    n, mode = dr._tcoef(-0.5, t, ht_c, N, co)
    assert [dr._hv(i, n, mode, co, hy, hd, y) for i in range(n_y)] == list(hy[0])
    n, mode = dr._tcoef(ht[-1], ht[-1], ht_c, N, co)
    assert [dr._hv(i, n, mode, co, hy, hd, y_dummy) for i in range(n_y)] == list(hy[N - 1])


def test_ratio_grid_spacing_is_smooth_into_the_end_gaps():
    """The end gaps [0, θ_min] and [θ_max, 1] are split so that neighbouring intervals differ by a
    factor that shrinks as the density grows (the grid is a refinement family down to θ = 0 and 1);
    the single gap interval of m = 1 is density times wider than its neighbour."""
    worst = []
    for density in (3.0, 4.5, 7.0, 14.0):
        L, Z, m = dr.grid_size(t_max=134.0, tau_min=0.14, density=density)
        th = dr.ratio_grid(L, Z, m)
        assert len(th) == L and th[0] == 0.0 and th[-1] == 1.0
        w = np.diff(th)
        assert np.all(w > 0)
        ratio = w[1:] / w[:-1]
        worst.append(max(ratio.max(), 1.0 / ratio.min()))
    assert worst[0] < 1.4 and np.all(np.diff(worst) < 0)
    w1 = np.diff(dr.ratio_grid(L - 2 * m + 2, Z, 1))
    assert (w1[1:] / w1[:-1]).max() > 0.9 * 14.0
