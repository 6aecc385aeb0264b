r"""Dynamical mean-field theory of GD / SGD / persistent SGD on the Gaussian-mixture perceptron.

Model and conventions as in :mod:`sgsweep.mixture.sim` (sgd_dmft.md §2–§4; MKUZ20 = Mignacco,
Krzakala, Urbani, Zdeborová, arXiv:2006.06098). This module solves the d → ∞ dynamics on the discrete
grid t_k = k·Δt, k = 0 … K, with Δt = η (the algorithm itself; exact for SGD at finite η) or a
smaller Δt for the η → 0 limit of persistent SGD.

Derivation (discrete-time cavity; the form proven for first-order methods by Celentano–Cheng–Montanari
2021 and Gerbelot et al. arXiv:2210.06591, GTMKZ22)
--------------------------------------------------------------------------------------------------
Split ``w = m v* + w⊥`` (``m = w·v*/d``) and ``z_μ = h0_μ v*/√d + a_μ`` with ``h0_μ ~ N(0,1)``.
The pre-activation of sample μ is ``r_μ = m κ_μ + √Δ h_μ`` with ``κ_μ = c_μ + √Δ h0_μ`` and the gap
``h_μ = a_μ·w⊥/√d`` (sgd_dmft.md §4.2). With ``f_μ(k) = √Δ s_μ(k) Λ'(y_μ, r_μ(k))`` the update is

    m(k+1)  = (1 − Δt λ) m(k) − Δt α ⟨s Λ' κ⟩(k)                         (no memory: §4.2)
    w⊥(k+1) = (1 − Δt λ) w⊥(k) − Δt Σ_μ a_μ f_μ(k)/√d .

Removing one coordinate (weight side) or one sample (sample side) and linearising gives two scalar
effective processes, coupled only through the kernels below:

* weight side (linear, Gaussian, solved in closed form, no sampling):
  ``w(k+1) = (1 − Δt λ) w(k) − Δt u(k) − Δt α Σ_{j≤k} R_f(k,j) w(j)``, ``w(0) ~ N(0, R)``,
  ``⟨u(k)u(k')⟩ = α C_f(k,k')``. Its response ``R_w(k,j') = ∂w(k)/∂w(j')`` obeys
  ``R_w(j',j') = 1``, ``R_w(k+1,j') = (1−Δtλ)R_w(k,j') − Δt α Σ_{j'≤j≤k} R_f(k,j) R_w(j,j')`` and
  ``C⊥(k,k') = R R_w(k,0)R_w(k',0) + Δt² α Σ_{j<k, j'<k'} R_w(k,j+1) C_f(j,j') R_w(k',j'+1)``.
* sample side (sampled with ``paths`` Monte-Carlo paths):
  ``h(k) = ω(k) − Δt Σ_{j<k} R_w(k,j+1) f(j)``, ω Gaussian with covariance C⊥;
  c, y(c), h0 ~ N(0,1), s(·) the selection process of :mod:`sgsweep.mixture.selection`.
* kernels: ``C_f(k,k') = ⟨f(k) f(k')⟩`` and ``R_f(k,j) = ⟨∂f(k)/∂ω(j)⟩`` (response of f(k) to a
  shift of h at the single time j, propagated through the path's own feedback), computed per path by
  the exact tangent ``T = (I + Δt R̃ D)^{-1}``, ``R̃(k,j) = R_w(k,j+1)``, ``D = Δ s Λ''``:
  ``R_f(k,j) = ⟨D(k) T(k,j)⟩``.

Relation to the single-gap process of sgd_dmft.md §4.2 (the corrected form). Let 𝓛 be the linear
operator of the weight side, 𝓛w = ∂_t w + (λ + λ̂)w + α∫_{s<t} R_f(t,s) w(s) ds. Then ω satisfies
𝓛ω = −ξ̃ with ⟨ξ̃ξ̃⟩ = α C_f, and R_w is its Green function, so applying 𝓛 to h = ω − R_w∗f gives

    ∂_t h = −(λ + λ̂(t)) h − √Δ s Λ'(y, r) + ∫_0^t M_R(t,s) h(s) ds + ξ(t),
    λ̂(t) = α R_f(t,t) = αΔ⟨s Λ''⟩,   M_R(t,s) = −α R_f(t,s) = −α δ⟨√Δ s Λ'(t)⟩/δθ(s)  (s < t),
    ⟨ξ(t)ξ(t')⟩ = M_C(t,t') = α C_f(t,t') = αΔ⟨s Λ'(t) s Λ'(t')⟩,

exactly the corrected §4 (M_R with the minus sign and the factor from the kick θ "as seen by Λ'"; to
lowest order in Δt, M_R(t,s) ≈ +α⟨D(t) R_w(t,s) D(s)⟩ > 0 at short lags, i.e. α⟨G(t)G(t')χ⟩),
with h(0) ~ N(0, R) and the m equation without memory. The full correlation is C = C⊥ + m m'
(this is where the "m-bracket" of the C equations of §4.3 comes from). The weight-side form is used
here because it is exact at finite Δt and needs no per-path memory integral of h.

Settled open items of sgd_dmft.md §9.1 (by this derivation, and by agreement with d ≥ 1000
simulations in tests/test_mixture_dmft.py): M_C = αΔ⟨sΛ'sΛ'⟩, λ̂ = αΔ⟨sΛ''⟩ (equal-time part of
the response, kept separate from the strictly causal memory M_R), h(0) ~ N(0, R), m(0) = m0.
3 clusters: m = 0 is a fixed point (κ ↦ −κ symmetry with Λ even in r), so the DMFT needs an explicit
``m0 > 0``; a finite-d start has |m(0)| ≈ √(2R/(πd)), but at d ~ 10³ the escape time is also
set by O(1/√d) data fluctuations along v*, so random-start simulations match the DMFT only up to a
run-dependent time shift (the tests compare both from the same warm start m0). Not retrievable
here (§9.1–9.3: paper body not in the stored pages): the loss of each MKUZ20 figure (logistic is
used by default), their path counts, damping and plotted b/τ values.

Known limitation: for long GD (b = 1) runs on 3 clusters the Monte-Carlo kernels are heavy-tailed
(misclassified c = 0 samples have f ∝ r), and single repeats with 10³–10⁴ paths occasionally drift
upward after t ≈ 20 (α = 3, Δ = 0.05); the repeat spread (the error bar) shows it — use more paths.

Response estimators (parameter ``response``):

* ``tangent`` (default for logistic and square): per path, the exact tangent T = (I + Δt R̃ D)^{-1}
  row by row (cost O(k²) per path and step), R_f(k,j) = ⟨D(k) T(k,j)⟩ with D = Δ s Λ''.
* ``stein`` (default for the hinge): Gaussian integration by parts on the driving noise. With ω = Lζ
  (L the growing Cholesky factor, ζ i.i.d. N(0,1) per path), ⟨f(k) ζ_i⟩ = Σ_j L(j,i) R_f(k,j), so
  R_f(k,·) = L⁻ᵀ⟨f(k) ζ⟩ (one back substitution per step; O(k) per path and step). It needs no
  derivative of f, so it is exact for the hinge, whose ℓ'' = 0 a.e. carries the whole response in
  the kink, ℓ'' = +δ(z − 1) (ℓ' jumps from −1 to 0). Its variance grows when the innovations L(j,j)
  are small (long, smooth GD trajectories), which is why the tangent is the default for smooth losses.

Hinge, settled numerically: a tangent estimate with ℓ'' = 0 misses the kink entirely; smoothing the
kink (ℓ'' = δ_ε(z − 1), ``hinge_eps``, used by ``response=tangent`` only) is strongly ε-dependent
because in discrete time the margins pile up just above z = 1 (GD, α = 2, Δ = 0.5, R = 1, t = 10:
C = 4.74, 4.89, 5.14, 5.57 for ε = 0.1, 0.05, 0.02, 0.01), whereas the Stein response gives
C = 5.12 and ε_gen = 0.1453 ± 0.0020 against 5.23 and 0.1464 in d = 1000 simulations (8 runs).

Solvers
-------
* ``forward`` (default): one causal pass. At step k the deterministic side needs kernels at times
  < k only (m(k), R_w(k,·), C⊥(k,·)); ω(k) is drawn *conditionally on ω(<k)* of the same path from a
  growing Cholesky factor of C⊥ (a new row per step; a pivot below 1e-12·C⊥(k,k) is treated as a
  zero innovation); then f(k), D(k), the rows C_f(k,·), R_f(k,·) and ⟨sΛ'κ⟩(k) are averaged.
  Exact (up to Monte-Carlo error) for the discrete algorithm on the grid.
* ``iterate``: the damped Eissfeller–Opper fixed point (EO92; as in GTMKZ22's code): kernels
  K ← θ K_new + (1 − θ) K_old (θ = ``damping``) where K_new comes from a pass with all paths driven
  by the previous kernels. Common random numbers across iterations, so the residual measures the
  iteration error alone; stopped when max_t|Δm| and max_t|ΔC(t,t)| (undamped change) fall below
  ``tol_mc`` × (Monte-Carlo scale 1/√paths × max|·|), or after ``iterations``. Its fixed point is the
  forward solution with the same paths.

Monte-Carlo error: ``repeats`` independent solves (independent paths *and* therefore independent
kernel noise, which is carried through M_C, M_R, m); the estimate is their mean and the error bar
their standard error (std/√repeats), so it includes the noise propagated through the kernels.
Each repeat is serial in one thread (repeats run in parallel): bits do not depend on the thread count.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from sgsweep import rng
from sgsweep.mixture import data, losses, selection

_FM = {"reassoc", "contract"}


@njit(cache=True, fastmath=_FM)
def dmft_pass(state, alg, code, clusters, alpha, delta, L, R, lam, dt, b, p_on, p_off, m0, eps, stein, K, N,
              use_in, Rf_in, Cf_in, mu_in, Rf, Cf, mu, m, Cperp, Rw, o_loss, o_wrong):
    """One pass over the K+1 grid times with N paths (serial).

    ``use_in=False``: forward causal solve (deterministic side from the kernels of this pass).
    ``use_in=True``: deterministic side from ``Rf_in, Cf_in, mu_in`` (one Eissfeller–Opper sweep).
    ``stein=True``: response from Gaussian integration by parts, R_f(k,·) = L⁻ᵀ⟨f(k) ζ⟩ (ω = Lζ),
    instead of the per-path tangent.
    Outputs (overwritten): Rf, Cf (K+1, K+1), mu (K+1) = ⟨sΛ'κ⟩, m, Cperp, Rw, o_loss = α⟨Λ⟩,
    o_wrong = ⟨θ(−yΦ)⟩.
    """
    sqD = math.sqrt(delta)
    shrink = 1.0 - dt * lam
    for a in range(K + 1):
        mu[a] = 0.0
        for j in range(K + 1):
            Rf[a, j] = 0.0
            Cf[a, j] = 0.0
            Cperp[a, j] = 0.0
            Rw[a, j] = 0.0
    kappa = np.empty(N)
    yv = np.empty(N)
    s = np.empty(N)
    for p in range(N):
        c, y = data.draw_cluster(state, clusters)
        kappa[p] = c + sqD * rng.normal(state)
        yv[p] = y
        s[p] = selection.init_one(state, alg, b)
    zeta = np.zeros((N, K + 1))
    fh = np.zeros((N, K + 1))
    Dh = np.zeros((N, K + 1))
    Lc = np.zeros((K + 1, K + 1))
    znew = np.empty(N)
    v = np.zeros(K + 1)
    x = np.zeros(K + 1)
    Sz = np.zeros(K + 1)
    for k in range(K + 1):
        if use_in:
            RfS = Rf_in
            CfS = Cf_in
            muS = mu_in
        else:
            RfS = Rf
            CfS = Cf
            muS = mu
        # ---------------- deterministic (weight) side at step k
        Rw[k, k] = 1.0
        if k == 0:
            m[0] = m0
            Cperp[0, 0] = R
        else:
            m[k] = shrink * m[k - 1] - dt * alpha * muS[k - 1]
            for jp in range(k):
                acc = 0.0
                for j in range(jp, k):
                    acc += RfS[k - 1, j] * Rw[j, jp]
                Rw[k, jp] = shrink * Rw[k - 1, jp] - dt * alpha * acc
            for jp in range(k):
                acc = 0.0
                for j in range(k):
                    acc += Rw[k, j + 1] * CfS[j, jp]
                v[jp] = acc
            for kp in range(k + 1):
                acc = 0.0
                for jp in range(kp):
                    acc += v[jp] * Rw[kp, jp + 1]
                val = R * Rw[k, 0] * Rw[kp, 0] + dt * dt * alpha * acc
                Cperp[k, kp] = val
                Cperp[kp, k] = val
        # growing Cholesky row k: omega(k) | omega(<k)
        for j in range(k):
            if Lc[j, j] > 0.0:
                acc = Cperp[k, j]
                for i in range(j):
                    acc -= Lc[k, i] * Lc[j, i]
                Lc[k, j] = acc / Lc[j, j]
            else:
                Lc[k, j] = 0.0
        diag = Cperp[k, k]
        for i in range(k):
            diag -= Lc[k, i] * Lc[k, i]
        Lc[k, k] = math.sqrt(diag) if diag > 1e-12 * Cperp[k, k] else 0.0
        # ---------------- sample side
        rng.fill_normal(state, znew)
        mk = m[k]
        s_loss = 0.0
        s_wrong = 0.0
        s_mu = 0.0
        for p in range(N):
            zeta[p, k] = znew[p]
            om = 0.0
            for j in range(k + 1):
                om += Lc[k, j] * zeta[p, j]
            fb = 0.0
            for j in range(k):
                fb += Rw[k, j + 1] * fh[p, j]
            h = om - dt * fb
            r = mk * kappa[p] + sqD * h
            yp = yv[p]
            sp = s[p]
            s_loss += losses.big_lambda(code, clusters, L, yp, r)
            s_wrong += losses.predict_wrong(clusters, L, yp, r)
            if sp > 0.5:
                g = losses.big_lambda_d1(code, clusters, L, yp, r)
                f = sqD * g
                Dv = delta * losses.big_lambda_d2(code, clusters, L, yp, r, eps)
                fh[p, k] = f
                Dh[p, k] = Dv
                s_mu += g * kappa[p]
                if f != 0.0:
                    for j in range(k + 1):
                        Cf[k, j] += f * fh[p, j]
                    if stein:
                        for j in range(k + 1):
                            Sz[j] += f * zeta[p, j]
                if Dv != 0.0 and not stein:
                    x[k] = 1.0
                    Rf[k, k] += Dv
                    for j in range(k - 1, -1, -1):
                        dj = Dh[p, j]
                        if dj == 0.0:
                            x[j] = 0.0
                            continue
                        acc = 0.0
                        for i in range(j + 1, k + 1):
                            acc += x[i] * Rw[i, j + 1]
                        x[j] = -dt * dj * acc
                        Rf[k, j] += Dv * x[j]
            s[p] = selection.step_one(state, alg, sp, b, p_on, p_off)
        inv = 1.0 / N
        for j in range(k + 1):
            Cf[k, j] *= inv
            Cf[j, k] = Cf[k, j]
            Rf[k, j] *= inv
        if stein:  # solve Lᵀ x = ⟨f(k) ζ⟩ by back substitution; a dropped pivot gives x_j = 0
            for j in range(k, -1, -1):
                acc = Sz[j] * inv
                Sz[j] = 0.0
                for i in range(j + 1, k + 1):
                    acc -= Lc[i, j] * Rf[k, i]
                Rf[k, j] = acc / Lc[j, j] if Lc[j, j] > 0.0 else 0.0
        mu[k] = s_mu * inv
        o_loss[k] = alpha * s_loss * inv
        o_wrong[k] = s_wrong * inv


@njit(cache=True, parallel=True)
def dmft_repeats(states, alg, code, clusters, alpha, delta, L, R, lam, dt, b, p_on, p_off, m0, eps, stein, K, N,
                 use_in, Rf_in, Cf_in, mu_in, Rf, Cf, mu, m, Cperp, Rw, o_loss, o_wrong):
    """``dmft_pass`` for every repeat (leading axis of every array), repeats in parallel threads."""
    for q in prange(states.shape[0]):
        dmft_pass(states[q], alg, code, clusters, alpha, delta, L, R, lam, dt, b, p_on, p_off, m0, eps, stein, K, N,
                  use_in, Rf_in[q], Cf_in[q], mu_in[q], Rf[q], Cf[q], mu[q], m[q], Cperp[q], Rw[q],
                  o_loss[q], o_wrong[q])


def grid(p: dict) -> tuple[float, int]:
    """(Δt, K): Δt = ``dt`` if set else η; K = round(t_max/Δt)."""
    dt = p["dt"] if p.get("dt") is not None else p["eta"]
    return float(dt), int(round(p["t_max"] / dt))


def response_method(p: dict) -> str:
    """``tangent`` or ``stein`` (parameter ``response``; ``auto``: stein for the hinge, else tangent)."""
    r = p.get("response", "auto") or "auto"
    if r == "auto":
        return "stein" if p["loss"] == "hinge" else "tangent"
    return r


def solve(p: dict, seed_sequences, progress=None) -> dict:
    """Solve the DMFT for validated ``mixture.dmft`` parameters; one repeat per seed sequence.

    Returns per-repeat arrays (repeats, K+1) and solver diagnostics.
    """
    dt, K = grid(p)
    Q = len(seed_sequences)
    N = int(p["paths"])
    alg_name = p["algorithm"]
    alg = selection.ALG_CODE[alg_name]
    p_on, p_off = selection.transition_probabilities(alg_name, p["b"], p["tau"], dt)
    code = losses.LOSS_CODE[p["loss"]]
    eps = float(p.get("hinge_eps", 0.05)) if p["loss"] == "hinge" else 0.0
    stein = response_method(p) == "stein"
    states0 = rng.init_states(seed_sequences)
    shp2 = (Q, K + 1, K + 1)
    Rf, Cf, Cperp, Rw = (np.zeros(shp2) for _ in range(4))
    mu, m, lo, wr = (np.zeros((Q, K + 1)) for _ in range(4))
    args = (alg, code, int(p["clusters"]), float(p["alpha"]), float(p["delta"]), float(p["L"]), float(p["R"]),
            float(p["lam"]), dt, float(p["b"]), float(p_on), float(p_off), float(p["m0"]), eps, stein, K, N)
    info = {"dt": dt, "steps": K, "solver": p.get("solver", "forward"), "response": response_method(p)}
    if info["solver"] == "forward":
        dmft_repeats(states0.copy(), *args, False, Rf, Cf, mu, Rf, Cf, mu, m, Cperp, Rw, lo, wr)
        info.update(iterations=1, residual=0.0, status="ok")
    else:
        theta = float(p["damping"])
        Rf_o, Cf_o, mu_o = np.zeros(shp2), np.zeros(shp2), np.zeros((Q, K + 1))
        m_prev = C_prev = None
        tol_scale = float(p["tol_mc"]) / math.sqrt(N)
        status, it, res = "max_iterations", 0, np.inf
        for it in range(1, int(p["iterations"]) + 1):
            dmft_repeats(states0.copy(), *args, True, Rf_o, Cf_o, mu_o, Rf, Cf, mu, m, Cperp, Rw, lo, wr)
            Cdiag = np.diagonal(Cperp, axis1=1, axis2=2) + m * m
            if m_prev is not None:
                sc_m = max(np.max(np.abs(m)), 1e-3)
                sc_C = max(np.max(np.abs(Cdiag)), 1e-3)
                res = max(np.max(np.abs(m - m_prev)) / sc_m, np.max(np.abs(Cdiag - C_prev)) / sc_C)
                if progress is not None:
                    progress(it, int(p["iterations"]), f"EO iteration, relative residual {res:.3g}")
                if not np.isfinite(res):
                    status = "diverged"
                    break
                if res <= tol_scale:
                    status = "converged"
                    break
            m_prev, C_prev = m.copy(), Cdiag.copy()
            Rf_o = theta * Rf + (1.0 - theta) * Rf_o
            Cf_o = theta * Cf + (1.0 - theta) * Cf_o
            mu_o = theta * mu + (1.0 - theta) * mu_o
        info.update(iterations=it, residual=float(res), tolerance=tol_scale, status=status)
    Cdiag = np.diagonal(Cperp, axis1=1, axis2=2) + m * m
    out = dict(time=np.arange(K + 1) * dt, m=m, C=Cdiag, train_loss=lo, train_accuracy=1.0 - wr,
               lambda_hat=p["alpha"] * np.diagonal(Rf, axis1=1, axis2=2),
               test_error=data.test_error_closed_np(int(p["clusters"]), p["L"], p["delta"], m, Cdiag), info=info)
    if not all(np.all(np.isfinite(out[k])) for k in ("m", "C", "train_loss")):
        info["status"] = "diverged"
    return out


# --------------------------------------------------------------------------- slow reference
def reference_forward(p: dict, seed_sequence) -> dict:
    """Plain-numpy forward solve of one repeat with the same draws as :func:`dmft_pass`.

    Uses a conditional Gaussian from a linear solve with the leading block of C⊥ (no growing
    Cholesky) and the response from an explicit matrix inverse (I + Δt R̃ D)^{-1} per path, or for
    ``stein`` a full ``numpy.linalg.cholesky`` and a dense triangular solve: independent algorithms for
    the same equations (tests; tiny K and N only).
    """
    dt, K = grid(p)
    N = int(p["paths"])
    alg = p["algorithm"]
    p_on, p_off = selection.transition_probabilities(alg, p["b"], p["tau"], dt)
    clusters, L, delta, alpha, lam = int(p["clusters"]), p["L"], p["delta"], p["alpha"], p["lam"]
    eps = float(p.get("hinge_eps", 0.05)) if p["loss"] == "hinge" else 0.0
    code = losses.LOSS_CODE[p["loss"]]
    state = rng.init_states([seed_sequence])[0]
    sqD = math.sqrt(delta)
    kappa, yv, s = np.empty(N), np.empty(N), np.empty(N)
    for q in range(N):
        c, y = data.draw_cluster(state, clusters)
        kappa[q] = c + sqD * rng.normal(state)
        yv[q] = y
        s[q] = 1.0 if alg == "gd" else float(rng.uniform(state) < p["b"])
    Rf, Cf, Cp, Rw = (np.zeros((K + 1, K + 1)) for _ in range(4))
    mu, m, lo, wr = (np.zeros(K + 1) for _ in range(4))
    omega = np.zeros((N, K + 1))
    Z = np.zeros((N, K + 1))
    stein = response_method(p) == "stein"
    f = np.zeros((N, K + 1))
    D = np.zeros((N, K + 1))
    for k in range(K + 1):
        Rw[k, k] = 1.0
        if k == 0:
            m[0], Cp[0, 0] = p["m0"], p["R"]
        else:
            m[k] = (1 - dt * lam) * m[k - 1] - dt * alpha * mu[k - 1]
            for jp in range(k):
                Rw[k, jp] = (1 - dt * lam) * Rw[k - 1, jp] - dt * alpha * Rf[k - 1, jp:k] @ Rw[jp:k, jp]
            # C⊥ = R Rw(:,0)Rw(:,0)ᵀ + Δt² α Rs Cf Rsᵀ with Rs(k, j) = Rw(k, j+1), j < k
            Rs = np.zeros((k + 1, k))
            for a in range(k + 1):
                Rs[a, :a] = Rw[a, 1:a + 1]
            full = p["R"] * np.outer(Rw[:k + 1, 0], Rw[:k + 1, 0]) + dt * dt * alpha * Rs @ Cf[:k, :k] @ Rs.T
            Cp[k, :k + 1] = full[k]
            Cp[:k + 1, k] = full[k]
        z = np.empty(N)
        rng.fill_normal(state, z)
        Z[:, k] = z
        # conditional Gaussian omega(k) | omega(<k)
        if k == 0:
            omega[:, 0] = math.sqrt(Cp[0, 0]) * z
        else:
            A = Cp[:k, :k]
            cvec = Cp[k, :k]
            coef = np.linalg.solve(A, cvec)
            var = max(Cp[k, k] - cvec @ coef, 0.0)
            omega[:, k] = omega[:, :k] @ coef + math.sqrt(var) * z
        h = omega[:, k] - dt * f[:, :k] @ Rw[k, 1:k + 1]
        r = m[k] * kappa + sqD * h
        v, d1, d2 = losses.reference_big_lambda(p["loss"], clusters, L, yv, r)
        if eps > 0:
            d2 = np.array([losses.big_lambda_d2(code, clusters, L, yv[q], r[q], eps) for q in range(N)])
        f[:, k] = sqD * s * d1
        D[:, k] = delta * s * d2
        phi = r if clusters == 2 else r * r - L * L
        lo[k] = alpha * v.mean()
        wr[k] = np.mean(yv * phi < 0)
        mu[k] = np.mean(s * d1 * kappa)
        Cf[k, :k + 1] = f[:, :k + 1].T @ f[:, k] / N
        Cf[:k + 1, k] = Cf[k, :k + 1]
        Rt = np.zeros((k + 1, k + 1))
        for a in range(k + 1):
            Rt[a, :a] = Rw[a, 1:a + 1]
        if stein:
            Lfull = np.linalg.cholesky(Cp[:k + 1, :k + 1])
            Rf[k, :k + 1] = np.linalg.solve(Lfull.T, Z[:, :k + 1].T @ f[:, k] / N)
        else:
            for q in range(N):
                T = np.linalg.inv(np.eye(k + 1) + dt * Rt * D[q, :k + 1][None, :])
                Rf[k, :k + 1] += D[q, k] * T[k] / N
        for q in range(N):
            s[q] = selection.step_one(state, selection.ALG_CODE[alg], s[q], p["b"], p_on, p_off)
    C = np.diag(Cp) + m * m
    return dict(m=m, C=C, train_loss=lo, train_accuracy=1 - wr, Rf=Rf, Cf=Cf)
