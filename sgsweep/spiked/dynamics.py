"""Spherical gradient flow (T = 0) and Langevin dynamics (T > 0) of the finite-N spiked model.

Equation (spiked.md §1.3, §5; contract: physical time t)

    dx/dt = −μ(t) x − ∇H(x) + η(t),   ⟨η_i(t) η_j(t')⟩ = 2T δ_ij δ(t−t'),   |x|² = N,

with the Lagrange multiplier recorded as μ = T − x·∇H/N (spiked.md §1.3, Itô; N→∞ value — with the
noise projected on the tangent plane the exact finite-N drift is T(N−1)/N, a 1/N difference that the
DMFT does not see).

Integrator (one code path for all T): projected stochastic Heun with renormalisation.
With g(x) = −P_x ∇H(x) = −∇H + (x·∇H/N) x (the Riemannian gradient flow on the sphere; its
radial part −μx is realised by the projection) and ξ ~ N(0, I_N) drawn once per step,

    x̃       = R[ x + dt g(x) + √(2T dt) ξ ]
    x_{n+1} = R[ x + (dt/2) (g(x) + g(x̃)) + √(2T dt) ξ ],     R[y] = √N y/|y| .

Why: at T = 0 this is Heun/RK2 on the sphere — second order in dt (time of escape from the
equator and C̄(t) comparable with the DMFT, whose own Euler schemes are O(h)); its fixed points are
exactly the critical points of H on the sphere (g = 0), so the final overlap of a converged run
does not depend on dt; the renormalisation keeps |x|² = N to rounding (≈1e-15 relative) at every
step. Linear stability needs dt·λ_max < 2 with λ_max ≈ μ + 2√Q''(1) the top of the spectrum of
the Riemannian Hessian (≈ 11 at p=3, Δp=1, 1/Δ2=4; dt = 0.1 gives 1.1). The energy is monitored
on every step (``max_energy_increase``): a GF step that raises H beyond rounding flags a too large
dt. At T > 0 it is the stochastic Heun scheme for additive noise (strong order 1, weak order 2
for the drift) followed by the projection R, which supplies the Itô drift −T(N−1)/N·x (projecting
Euler–Maruyama steps on the sphere converges to spherical Brownian motion plus drift; spiked.md §5).
Cost: 2 gradients per step (the gradient at x_{n+1} is reused at the next step).

Initial condition (``init_mode``): x(0) uniform on the sphere; by default (``INIT_POSITIVE``)
conditioned on x(0)·x* ≥ 0 by flipping x → −x when the drawn overlap is negative (exact
conditioning: the uniform law is symmetric). Reason (spiked.md §5): for odd p a negative start often
flows to a spurious m < 0 minimum (≈ −0.74 at p=3, Δp=1, 1/Δ2=4), while the DMFT describes starts
with C̄(0) > 0. Measured (p=3, Δp=1, 1/Δ2=4, N=64 and 128, 32 samples): even from C̄(0) ≥ 0,
about 10–25 % of the samples still end in the m ≈ −0.75 minimum — the random part of the early
drift of C̄ is O(N^−1/2), the same order as a random C̄(0), so this fraction does not vanish as
N grows; with ``overlap0`` = 0.2 none did. ``INIT_UNIFORM`` skips the flip; ``INIT_FIXED`` sets C̄(0) = ``overlap0`` exactly:
x(0) = overlap0·x* + √(1−overlap0²)·√N·u, u a uniform unit vector ⟂ x*.

Random stream of one sample (its own xoshiro state): instance (:func:`model.draw_into`), then N
normals for x(0), then N normals per step when T > 0. Samples are spread over threads by slots
(``prange`` over buffers; each sample is integrated serially by one thread), so a sample's bits do
not depend on the thread count nor on the other samples of the batch.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from sgsweep import rng
from sgsweep.spiked import model

INIT_UNIFORM = 0
INIT_POSITIVE = 1
INIT_FIXED = 2

#: columns of the per-sample diagnostics array
DIAG_MAX_ENERGY_INCREASE = 0  # max over steps of H(x_{n+1}) − H(x_n) (total H, not per spin)
DIAG_MAX_NORM_ERROR = 1  # max over steps of | |x|²/N − 1 |
DIAG_T_CONV = 2  # first integrator time with s·C̄ ≥ threshold (s = 1, or |C̄| for even p); NaN if never
DIAG_DIVERGED = 3  # 1.0 if H became non-finite
DIAG_T_STOP = 4  # time at which the integration ended (< t_end after a GF early stop)
N_DIAG = 5


@njit(cache=True)
def _normalise(x, N):
    s = 0.0
    for k in range(x.shape[0]):
        s += x[k] * x[k]
    c = math.sqrt(N / s)
    for k in range(x.shape[0]):
        x[k] *= c


@njit(cache=True)
def _dot(a, b):
    s = 0.0
    for k in range(a.shape[0]):
        s += a[k] * b[k]
    return s


@njit(cache=True)
def initial_condition(state, mode, overlap0, xstar, x):
    """x(0) into ``x`` (module docstring): N normals from ``state``, then the chosen convention."""
    N = x.shape[0]
    rng.fill_normal(state, x)
    if mode == INIT_FIXED:
        c = _dot(x, xstar) / N
        for k in range(N):
            x[k] -= c * xstar[k]
        _normalise(x, N)  # now √N·u, u ⟂ x*
        b = math.sqrt(max(0.0, 1.0 - overlap0 * overlap0))
        for k in range(N):
            x[k] = overlap0 * xstar[k] + b * x[k]
        _normalise(x, N)
    else:
        _normalise(x, N)
        if mode == INIT_POSITIVE and _dot(x, xstar) < 0.0:
            for k in range(N):
                x[k] = -x[k]


@njit(cache=True)
def run_sample(state, p, delta2, delta_p, temp, dt, n_steps, rec_steps, init_mode, overlap0,
               threshold, grad_tol, xstar, Y, T, work, ov_out, en_out, mu_out, diag):
    """Draw one instance and integrate one trajectory (module docstring), serially.

    ``work``: (6, N) scratch (x, x̃, g, g̃, ξ, matrix field). ``rec_steps``: increasing step indices to record
    (0 … n_steps). Writes ``ov_out``, ``en_out``, ``mu_out`` (len(rec_steps)) and ``diag`` (N_DIAG).

    Early stop (T = 0 only, ``grad_tol > 0``): once the RMS projected gradient |P∇H|/√N is below
    ``grad_tol`` the state is a critical point to that accuracy (distance ≲ grad_tol·√N/λ_min),
    the flow is stopped and its current values are written to the remaining recorded times."""
    N = xstar.shape[0]
    model.draw_into(state, p, delta2, delta_p, xstar, Y, T)
    a2 = 1.0 / (delta2 * math.sqrt(N))
    ap = math.sqrt(2.0 if p == 3 else 6.0) / (delta_p * N ** ((p - 1) / 2.0))  # √((p−1)!)
    x = work[0]
    xt = work[1]
    g = work[2]
    gt = work[3]
    xi = work[4]
    fld = work[5]
    initial_condition(state, init_mode, overlap0, xstar, x)
    sig = math.sqrt(2.0 * temp * dt)
    even = p % 2 == 0
    nrec = rec_steps.shape[0]
    for r in range(nrec):
        ov_out[r] = np.nan
        en_out[r] = np.nan
        mu_out[r] = np.nan
    max_inc = -np.inf
    max_nerr = 0.0
    t_conv = np.nan
    diverged = 0.0
    n_done = 0
    H = model.energy_grad_kernel(p, a2, ap, T, Y, x, g, fld)
    r = 0
    for n in range(n_steps + 1):
        # state: x = x_n, g = ∇H(x_n), H = H(x_n)
        n_done = n
        if not math.isfinite(H):
            diverged = 1.0
            break
        xg = _dot(x, g)
        m = _dot(x, xstar) / N
        if r < nrec and rec_steps[r] == n:
            ov_out[r] = m
            en_out[r] = H / N
            mu_out[r] = temp - xg / N
            r += 1
        nerr = abs(_dot(x, x) / N - 1.0)
        if nerr > max_nerr:
            max_nerr = nerr
        if math.isnan(t_conv):
            mm = abs(m) if even else m
            if mm >= threshold:
                t_conv = n * dt
        if n == n_steps:
            break
        # predictor: g <- k1 = −P_x ∇H
        c = xg / N
        gn = 0.0
        for k in range(N):
            g[k] = -(g[k] - c * x[k])
            gn += g[k] * g[k]
        if temp == 0.0 and gn < grad_tol * grad_tol * N:
            while r < nrec:  # stationary: the remaining recorded values are the current ones
                ov_out[r] = m
                en_out[r] = H / N
                mu_out[r] = temp - xg / N
                r += 1
            break
        if temp > 0.0:
            rng.fill_normal(state, xi)
            for k in range(N):
                xt[k] = x[k] + dt * g[k] + sig * xi[k]
        else:
            for k in range(N):
                xt[k] = x[k] + dt * g[k]
        _normalise(xt, N)
        model.energy_grad_kernel(p, a2, ap, T, Y, xt, gt, fld)
        ct = _dot(xt, gt) / N
        # corrector
        h = 0.5 * dt
        if temp > 0.0:
            for k in range(N):
                x[k] = x[k] + h * (g[k] - (gt[k] - ct * xt[k])) + sig * xi[k]
        else:
            for k in range(N):
                x[k] = x[k] + h * (g[k] - (gt[k] - ct * xt[k]))
        _normalise(x, N)
        Hn = model.energy_grad_kernel(p, a2, ap, T, Y, x, g, fld)
        if Hn - H > max_inc:
            max_inc = Hn - H
        H = Hn
    diag[DIAG_MAX_ENERGY_INCREASE] = max_inc if n_done > 0 else 0.0  # no step taken: 0
    diag[DIAG_MAX_NORM_ERROR] = max_nerr
    diag[DIAG_T_CONV] = t_conv
    diag[DIAG_DIVERGED] = diverged
    diag[DIAG_T_STOP] = n_done * dt


@njit(cache=True, parallel=True)
def run_batch(states, p, delta2, delta_p, temp, dt, n_steps, rec_steps, init_mode, overlap0,
              threshold, grad_tol, xs_buf, Y_buf, T_buf, work_buf, ov, en, mu, diag):
    """Samples i = 0 … n−1 over ``n_slots = T_buf.shape[0]`` buffers: slot s (one prange iteration,
    one thread) integrates samples s, s + n_slots, … serially. Sample i uses only ``states[i]``."""
    n = states.shape[0]
    n_slots = T_buf.shape[0]
    for s in prange(n_slots):
        for i in range(s, n, n_slots):
            run_sample(states[i], p, delta2, delta_p, temp, dt, n_steps, rec_steps, init_mode,
                       overlap0, threshold, grad_tol, xs_buf[s], Y_buf[s], T_buf[s], work_buf[s],
                       ov[i], en[i], mu[i], diag[i])


# ============================================================================ python driver
def record_steps(n_steps: int, n_times: int) -> np.ndarray:
    """Step indices recorded: 0 and ``n_times − 1`` log-spaced steps in [1, n_steps] (rounded,
    duplicates removed; always includes n_steps). ``n_times >= n_steps + 1`` records every step."""
    if n_times >= n_steps + 1:
        return np.arange(n_steps + 1, dtype=np.int64)
    if n_times < 2:
        raise ValueError("n_times must be >= 2")
    lg = np.unique(np.round(np.geomspace(1, n_steps, n_times - 1)).astype(np.int64))
    return np.concatenate([[0], lg]).astype(np.int64)


def sample_bytes(p: int, N: int) -> int:
    """Memory of one sample's buffers (packed tensor + dense Y + vectors), bytes."""
    return 8 * (model.packed_size(N, p) + N * N + 8 * N)


def simulate(states: np.ndarray, p: int, N: int, delta2: float, delta_p: float, temp: float,
             dt: float, n_steps: int, rec: np.ndarray, init_mode: int = INIT_POSITIVE,
             overlap0: float = 0.0, threshold: float = np.inf, grad_tol: float = 0.0, threads: int = 1,
             memory_mb: float = 4000.0, progress=None) -> dict:
    """Integrate ``len(states)`` samples (row i of ``states`` = xoshiro state of sample i, advanced).

    Returns dict of arrays: ``overlap``, ``energy`` (H/N), ``mu`` of shape (n, len(rec)) and
    ``diag`` (n, N_DIAG). Samples run in waves of ``n_slots = min(threads, n, memory budget)``
    concurrent samples (one buffer each); ``progress(done, total, what)`` after each wave."""
    n = states.shape[0]
    rec = np.ascontiguousarray(rec, dtype=np.int64)
    if rec[0] != 0 or rec[-1] > n_steps or np.any(np.diff(rec) <= 0):
        raise ValueError("rec must be increasing step indices starting at 0, <= n_steps")
    per = sample_bytes(p, N)
    fit = int(0.8 * memory_mb * 1e6 // per)
    n_slots = max(1, min(int(threads), n, fit))
    L = model.packed_size(N, p)
    xs_buf = np.empty((n_slots, N))
    Y_buf = np.empty((n_slots, N, N))
    T_buf = np.empty((n_slots, L))
    work_buf = np.empty((n_slots, 6, N))
    nr = len(rec)
    ov = np.empty((n, nr))
    en = np.empty((n, nr))
    mu = np.empty((n, nr))
    diag = np.empty((n, N_DIAG))
    for start in range(0, n, n_slots):
        stop = min(n, start + n_slots)
        run_batch(states[start:stop], p, float(delta2), float(delta_p), float(temp), float(dt),
                  int(n_steps), rec, int(init_mode), float(overlap0), float(threshold), float(grad_tol),
                  xs_buf, Y_buf, T_buf, work_buf, ov[start:stop], en[start:stop], mu[start:stop],
                  diag[start:stop])
        if progress is not None:
            progress(stop, n, "samples")
    return {"overlap": ov, "energy": en, "mu": mu, "diag": diag, "n_slots": n_slots}
