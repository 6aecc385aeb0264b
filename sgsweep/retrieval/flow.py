"""Adaptive integration of the phase-retrieval gradient flows (reference note sgd_dmft.md §8).

Integrator: the embedded Euler/Heun 1(2) pair with error control, propagating the Euler solution
(order 1) and estimating its local error with the Heun correction,

    W₁ = W₀ + h F(W₀)      (m = 1: then rescaled back onto the sphere |w|² = d, a retraction)
    err = (h/2) ‖F(W₁) − F(W₀)‖ / √(m d)      (RMS per coordinate)

A trial step is accepted iff err ≤ ``rtol``, 𝓛(W₁) ≤ 𝓛(W₀)(1 + 1e-12) (the loss of a gradient flow
never increases) and everything is finite; the next step is h·clip(0.9 √(rtol/err), 0.2, 2), not
growing right after a rejection (Hairer–Nørsett–Wanner I, §II.4). A trial rejected only because
the loss rose has hit the stability limit h ≈ 2/λ_max of the local Hessian: the step is halved and
capped there, the cap relaxing by 2 % per accepted step (a step bound learned from the curvature).
F(W₁) is the first evaluation of the next step, so one accepted step costs one gradient (one pass
over X). Why this pair: the flow is stiff (Hessian eigenvalues grow with α and with |w|² through
3h² − y², the ratio of largest to smallest is large), so the step is limited by stability rather
than by accuracy; the error controller finds the stability limit ~2/λ_max by itself (classical
behaviour of error control on stiff problems), and per gradient evaluation forward Euler advances
~2.4× further at its stability limit than the three-stage Bogacki–Shampine pair. Time t is the
time of the flow of the loss exactly as written (no prefactor); steps are clipped so that every
recorded time is hit exactly; accuracy is checked against scipy's RK45 in the tests.

Stopping rule, recorded per run (``STOP_*`` codes):
* ``converged``: 𝓛 ≤ ``loss_tol``·n (mean loss per sample below the tolerance);
* ``stalled``: ‖F‖²/(m d) ≤ ``stall_tol`` (a critical point that is not a zero-loss minimum);
* ``t_max``: the flow reached t_max;
* ``step_underflow``: the step fell below 1e-12 without an acceptable trial (treated as failed).
After a stop the final state is carried forward on the remaining recorded times.

Each run is serial inside one thread and draws everything from its own xoshiro256** state, so a
run's bits are independent of the number of runs, of the batch and of the thread count.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from sgsweep import rng

from . import model

STOP_T_MAX = 0
STOP_CONVERGED = 1
STOP_STALLED = 2
STOP_UNDERFLOW = 3
STOP_MEANINGS = ("t_max", "converged", "stalled", "step_underflow")

H_MIN = 1e-12
H_INIT = 1e-4
#: after a step rejected because the loss increased (the step exceeded the stability limit ~2/λ_max),
#: the step is capped at half that step and the cap is relaxed by this factor per accepted step
HCAP_GROWTH = 1.02


@njit(cache=True)
def _norm(W):
    """(1/(m d)) Σ_a |w_a|² (= 1 on the sphere for m = 1)."""
    m, d = W.shape
    s = 0.0
    for a in range(m):
        for i in range(d):
            s += W[a, i] * W[a, i]
    return s / (m * d)


@njit(cache=True)
def _run(state, d, n, m, spherical_teacher, times, rtol, loss_tol, stall_tol, ovl, loss_out, nrm, info):
    """One run: draw the instance, integrate, record overlap/loss/norm on ``times``; ``info`` gets
    (t_stop, stop code, accepted steps, rejected steps, final matrix error, final loss)."""
    X, y2, wstar, W = model.draw_instance(state, d, n, m, spherical_teacher)
    F0 = np.empty((m, d))
    F1 = np.empty((m, d))
    W1 = np.empty((m, d))
    hbuf = np.empty(m)
    L0 = model.field(W, X, y2, F0, hbuf)
    K = times.shape[0]
    t = 0.0
    h = H_INIT
    k = 0
    accepted = 0
    rejected = 0
    reason = STOP_T_MAX
    scale = 1.0 / np.sqrt(m * d)
    t_max = times[K - 1]
    last_rejected = False
    hcap = np.inf
    while True:
        # record every grid time reached
        while k < K and t >= times[k] - 1e-12 * (1.0 + times[k]):
            q, err_m = model.overlap_and_error(W, wstar)
            ovl[k] = q
            loss_out[k] = L0
            nrm[k] = _norm(W)
            k += 1
        if k >= K:
            break
        # stopping rule
        if L0 <= loss_tol * n:
            reason = STOP_CONVERGED
            break
        ff = 0.0
        for a in range(m):
            for i in range(d):
                ff += F0[a, i] * F0[a, i]
        if ff * scale * scale <= stall_tol:
            reason = STOP_STALLED
            break
        # one trial step
        target = times[k]
        clipped = False
        he = h
        if t + he >= target:
            he = target - t
            clipped = True
        for a in range(m):
            for i in range(d):
                W1[a, i] = W[a, i] + he * F0[a, i]
        if m == 1:
            rng.to_sphere(W1[0])
        L1 = model.field(W1, X, y2, F1, hbuf)
        e2 = 0.0
        for a in range(m):
            for i in range(d):
                dd = F1[a, i] - F0[a, i]
                e2 += dd * dd
        err = 0.5 * he * np.sqrt(e2) * scale
        finite = np.isfinite(L1) and np.isfinite(err)
        if finite and err <= rtol and L1 <= L0 * (1.0 + 1e-12):
            accepted += 1
            if clipped:
                t = target  # land exactly on the recorded time
            else:
                t = t + he
            for a in range(m):
                for i in range(d):
                    W[a, i] = W1[a, i]
                    F0[a, i] = F1[a, i]
            L0 = L1
            fac = 2.0 if err == 0.0 else min(2.0, max(0.2, 0.9 * np.sqrt(rtol / err)))
            if last_rejected and fac > 1.0:
                fac = 1.0  # no growth right after a rejection (Hairer-Norsett-Wanner II.4)
            last_rejected = False
            if clipped:
                h = max(h, he * fac) if fac >= 1.0 else min(h, he * fac)
            else:
                h = he * fac
            hcap *= HCAP_GROWTH
            if h > hcap:
                h = hcap
        else:
            rejected += 1
            last_rejected = True
            if not finite:
                h = 0.25 * he
            elif err > rtol:
                h = he * max(0.2, 0.9 * np.sqrt(rtol / err))
            else:  # loss increased although the error test passed: stability limit
                h = 0.5 * he
                hcap = h
            if h < H_MIN:
                reason = STOP_UNDERFLOW
                break
    # carry the final state forward
    q, err_m = model.overlap_and_error(W, wstar)
    nw = _norm(W)
    while k < K:
        ovl[k] = q
        loss_out[k] = L0
        nrm[k] = nw
        k += 1
    info[0] = t if reason != STOP_T_MAX else t_max
    info[1] = reason
    info[2] = accepted
    info[3] = rejected
    info[4] = err_m
    info[5] = L0


@njit(cache=True, parallel=True)
def _batch(states, d, n, m, spherical_teacher, times, rtol, loss_tol, stall_tol, ovl, loss, nrm, info):
    for r in prange(states.shape[0]):
        _run(states[r], d, n, m, spherical_teacher, times, rtol, loss_tol, stall_tol,
             ovl[r], loss[r], nrm[r], info[r])


def time_grid(t_max: float, dt: float) -> np.ndarray:
    """Recorded times 0, dt, 2dt, ... and t_max itself (t_max honoured as given)."""
    k = int(np.floor(t_max / dt * (1 + 1e-12)))
    t = dt * np.arange(k + 1)
    if t_max - t[-1] > 1e-9 * max(1.0, t_max):
        t = np.append(t, t_max)
    else:
        t[-1] = t_max
    return t


def simulate(states: np.ndarray, d: int, alpha: float, m: int, times: np.ndarray, *,
             spherical_teacher: bool = True, rtol: float = 1e-3, loss_tol: float = 1e-12,
             stall_tol: float = 1e-16) -> dict:
    """Integrate one run per row of ``states`` (uint64 (R, 4), from :func:`sgsweep.rng.init_states`).

    Returns numpy arrays: overlap (R, K), loss (R, K), norm (R, K) = Σ|w_a|²/(m d), t_stop, stop (codes), accepted, rejected,
    matrix_error, final_loss (R,). ``states`` is not modified.
    """
    if d < 1 or m < 1:
        raise ValueError("d and m must be >= 1")
    if not (rtol > 0 and loss_tol >= 0 and stall_tol >= 0):
        raise ValueError("tolerances must be positive")
    times = np.ascontiguousarray(times, dtype=np.float64)
    if times[0] != 0.0 or np.any(np.diff(times) <= 0):
        raise ValueError("times must start at 0 and increase")
    n = model.n_samples(alpha, d)
    st = np.array(states, dtype=np.uint64, copy=True)
    R, K = st.shape[0], times.shape[0]
    ovl = np.empty((R, K))
    loss = np.empty((R, K))
    nrm = np.empty((R, K))
    info = np.empty((R, 6))
    if R:
        _batch(st, d, n, m, bool(spherical_teacher), times, float(rtol), float(loss_tol),
               float(stall_tol), ovl, loss, nrm, info)
    return {
        "overlap": ovl, "loss": loss, "norm": nrm, "t_stop": info[:, 0].copy(), "stop": info[:, 1].astype(np.int8),
        "accepted": info[:, 2].astype(np.int64), "rejected": info[:, 3].astype(np.int64),
        "matrix_error": info[:, 4].copy(), "final_loss": info[:, 5].copy(), "n": n,
    }


# ------------------------------------------------------------------------------------ reference
def flow_ref(X, y2, wstar, W0, times, rtol=1e-3, loss_tol=1e-12, stall_tol=1e-16):
    """Slow pure-numpy transcription of :func:`_run` (same algorithm, numpy field), for the tests.
    Returns (overlap (K,), loss (K,), norm (K,), info tuple)."""
    W = np.array(W0, dtype=float, copy=True)
    m, d = W.shape
    n = X.shape[0]

    def F(Wx):
        return model.field_ref(Wx, X, y2), model.loss_ref(Wx, X, y2)

    F0, L0 = F(W)
    K = len(times)
    ovl = np.empty(K)
    lo = np.empty(K)
    nr = np.empty(K)
    t, h, k, acc, rej, reason = 0.0, H_INIT, 0, 0, 0, STOP_T_MAX
    last_rejected = False
    hcap = np.inf
    while True:
        while k < K and t >= times[k] - 1e-12 * (1.0 + times[k]):
            ovl[k] = model.overlap_ref(W, wstar)[0]
            lo[k] = L0
            nr[k] = np.sum(W**2) / (m * d)
            k += 1
        if k >= K:
            break
        if L0 <= loss_tol * n:
            reason = STOP_CONVERGED
            break
        if np.sum(F0**2) / (m * d) <= stall_tol:
            reason = STOP_STALLED
            break
        target = times[k]
        he, clipped = h, False
        if t + he >= target:
            he, clipped = target - t, True
        W1 = W + he * F0
        if m == 1:
            W1 *= np.sqrt(d / np.sum(W1**2))
        F1, L1 = F(W1)
        err = 0.5 * he * np.sqrt(np.sum((F1 - F0) ** 2)) / np.sqrt(m * d)
        if np.isfinite(L1) and np.isfinite(err) and err <= rtol and L1 <= L0 * (1 + 1e-12):
            acc += 1
            t = target if clipped else t + he
            W, F0, L0 = W1, F1, L1
            fac = 2.0 if err == 0 else min(2.0, max(0.2, 0.9 * np.sqrt(rtol / err)))
            if last_rejected and fac > 1.0:
                fac = 1.0
            last_rejected = False
            if clipped:
                h = max(h, he * fac) if fac >= 1 else min(h, he * fac)
            else:
                h = he * fac
            hcap *= HCAP_GROWTH
            h = min(h, hcap)
        else:
            rej += 1
            last_rejected = True
            if not (np.isfinite(L1) and np.isfinite(err)):
                h = 0.25 * he
            elif err > rtol:
                h = he * max(0.2, 0.9 * np.sqrt(rtol / err))
            else:
                h = 0.5 * he
                hcap = h
            if h < H_MIN:
                reason = STOP_UNDERFLOW
                break
    q, em = model.overlap_ref(W, wstar)
    ovl[k:] = q
    lo[k:] = L0
    nr[k:] = np.sum(W**2) / (m * d)
    return ovl, lo, nr, (t if reason != STOP_T_MAX else times[-1], reason, acc, rej, em, L0)
