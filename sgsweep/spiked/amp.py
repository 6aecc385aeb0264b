r"""Finite-N AMP for the spiked (2+p) matrix-tensor model: Bayes-optimal and maximum-likelihood
(spherical prior), on instances of :mod:`sgsweep.spiked.model` (the simulations' instances).

Algorithm (derived here; spiked.md §4.1/§4.2 give the state evolutions it must follow)
----------------------------------------------------------------------------------
With the model's coefficients a2 = 1/(Δ2√N), ap = √((p−1)!)/(Δp N^{(p−1)/2}) (spiked.md §1.1) the
AMP field is minus the gradient of H at the current estimate, corrected by the Onsager term:

    B^t = a2·Y x̂^t + ap·F(x̂^t) − b_t x̂^{t−1},     F_k(x) = Σ_{i2<…<ip, all ≠ k} T_{k i2…ip} x_{i2}…x_{ip}
    b_t = ⟨f'⟩_t · [ 1/Δ2 + (p−1)/Δp · (x̂^t·x̂^{t−1}/N)^{p−2} ].

Onsager coefficient, packed normalisation (cavity derivation): x̂_k^t = x̂_{k→i}^t + f'_k·(part of
B_k^{t−1} due to i). Inserting this in the tensor term of B_i^t, the diagonal (T²) terms give
ap²·Δp · x̂_i^{t−1} Σ_k f'_k Σ_{sorted (p−2)-tuples ∌ i,k} Π x̂^t_j x̂^{t−1}_j
≈ (p−1)!/(Δp N^{p−1}) · N⟨f'⟩ · (N q̃)^{p−2}/(p−2)! · x̂_i^{t−1} = (p−1)/Δp · q̃^{p−2}⟨f'⟩ x̂_i^{t−1},
q̃ = x̂^t·x̂^{t−1}/N; the matrix term (p = 2 of the same computation) gives ⟨f'⟩/Δ2. The sum over
*sorted* tuples with the √((p−1)!) prefactor is what makes the (p−1)! cancel. Likewise the signal
part of B is Q'(m̂) x* and its noise variance Q'(q̂), q̂ = |x̂^t|²/N (m̂ = x̂·x*/N).

Denoisers (spherical prior |x|² = N):
* Bayes (``kind='bayes'``): Gaussian channel B = A x* + √A g with A = Q'(q̂^t) (Nishimori
  q̂ = m̂); the posterior mean for the spherical prior equals the Gaussian-prior one,
  x̂^{t+1} = B^t/(1 + A^t), to leading order in N, with f' = 1/(1 + A^t). State evolution
  m^{t+1} = Q'(m^t)/(1 + Q'(m^t)) (spiked.md §4.1).
* ML (``kind='ml'``): projection on the sphere, x̂^{t+1} = √N B^t/|B^t|, f' = √N/|B^t|
  (the O(1/N) radial correction dropped). SE m^{t+1} = Q'(m)/√(Q'(m)² + Q'(1)) (spiked.md §4.2).

Initialisation with a controlled overlap m0 (the SE start; x̂^{−1} = 0, so no Onsager term at
t = 0), u uniform on the sphere ⟂ x* with |u|² = N:
* Bayes: x̂^0 = m0 x* + √(m0(1 − m0)) u   (Nishimori-consistent: x̂·x*/N = |x̂|²/N = m0);
* ML:    x̂^0 = m0 x* + √(1 − m0²) u      (on the sphere).

Random stream of one sample: the instance (``model.draw_into``, exactly as ``spiked.sim``), then N
normals for u. Cost per iteration: one tensor field, O(C(N, p)).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from sgsweep import rng

from . import model

KIND_BAYES = 0
KIND_ML = 1
KINDS = {"bayes": KIND_BAYES, "ml": KIND_ML}


@njit(cache=True)
def init_estimate(state, kind, m0, xstar, out):
    """x̂^0 with overlap m0 exactly (module docstring); draws N normals from ``state``."""
    N = xstar.shape[0]
    rng.fill_normal(state, out)
    s = 0.0
    for i in range(N):
        s += out[i] * xstar[i]
    s /= N
    nrm = 0.0
    for i in range(N):
        out[i] -= s * xstar[i]
        nrm += out[i] * out[i]
    c = math.sqrt(N / nrm)
    if kind == KIND_BAYES:
        b = math.sqrt(max(m0 * (1.0 - m0), 0.0))
    else:
        b = math.sqrt(max(1.0 - m0 * m0, 0.0))
    for i in range(N):
        out[i] = m0 * xstar[i] + b * c * out[i]


@njit(cache=True)
def amp_kernel(kind, p, a2, ap, delta2, delta_p, T, Y, xstar, x, iterations, overlap, qhat, work,
               onsager_scale=1.0):
    """Run ``iterations`` AMP steps from x̂^0 = ``x`` (overwritten with the final estimate).

    ``overlap[t] = x̂^t·x*/N`` and ``qhat[t] = |x̂^t|²/N`` for t = 0..iterations. ``work`` (4, N)
    scratch. Serial, allocation-free. Returns 0, or 1 if the iteration produced a non-finite value.
    ``onsager_scale`` multiplies b_t (1 = AMP; other values only for the tests' sensitivity check)."""
    N = x.shape[0]
    xold = work[0]
    mf = work[1]
    tf = work[2]
    B = work[3]
    for i in range(N):
        xold[i] = 0.0
    fprime = 0.0
    m = 0.0
    q = 0.0
    for i in range(N):
        m += x[i] * xstar[i]
        q += x[i] * x[i]
    overlap[0] = m / N
    qhat[0] = q / N
    for t in range(iterations):
        model.matrix_field_kernel(Y, x, mf)
        model.tensor_field_kernel(p, T, x, tf)
        qc = 0.0
        for i in range(N):
            qc += x[i] * xold[i]
        qc /= N
        qt = qhat[t]
        b = onsager_scale * fprime * (1.0 / delta2 + (p - 1) / delta_p * qc ** (p - 2))
        nb = 0.0
        for i in range(N):
            v = a2 * mf[i] + ap * tf[i] - b * xold[i]
            B[i] = v
            nb += v * v
        if kind == KIND_BAYES:
            A = qt / delta2 + qt ** (p - 1) / delta_p
            scale = 1.0 / (1.0 + A)
            fprime = scale
        else:
            scale = math.sqrt(N / nb)
            fprime = scale
        m = 0.0
        q = 0.0
        for i in range(N):
            xold[i] = x[i]
            x[i] = scale * B[i]
            m += x[i] * xstar[i]
            q += x[i] * x[i]
        overlap[t + 1] = m / N
        qhat[t + 1] = q / N
        if not (math.isfinite(m) and math.isfinite(q)):
            return 1
    return 0


def run_amp(state_row: np.ndarray, kind: str, p: int, N: int, delta2: float, delta_p: float,
            iterations: int, m0: float, onsager_scale: float = 1.0):
    """Draw an instance from ``state_row`` (as spiked.sim does), initialise with overlap ``m0`` and
    run AMP. Returns (overlap (iterations+1,), qhat (iterations+1,), status 'ok'|'diverged')."""
    inst = model.draw_instance(state_row, p, N, delta2, delta_p)
    k = KINDS[kind]
    x = np.empty(N)
    init_estimate(state_row, k, float(m0), inst.xstar, x)
    ov = np.empty(iterations + 1)
    qh = np.empty(iterations + 1)
    work = np.empty((4, N))
    a2, ap = model.coefficients(p, N, delta2, delta_p)
    err = amp_kernel(k, p, a2, ap, float(delta2), float(delta_p), inst.T, inst.Y, inst.xstar, x,
                     int(iterations), ov, qh, work, float(onsager_scale))
    return ov, qh, ("diverged" if err else "ok")


# ----------------------------------------------------------------------------- slow reference
def reference_amp(inst, kind: str, x0: np.ndarray, iterations: int):
    """Plain numpy AMP on the dense tensor (:func:`model.reference_fields`), same equations as
    :func:`amp_kernel`; for tests at small N. Returns (overlap, qhat)."""
    p, N, d2, dp = inst.p, inst.N, inst.delta2, inst.delta_p
    D = model.dense_tensor(inst)
    a2, ap = model.coefficients(p, N, d2, dp)
    x = x0.copy()
    xold = np.zeros(N)
    fprime = 0.0
    ov = [x @ inst.xstar / N]
    qh = [x @ x / N]
    for _ in range(iterations):
        mf, tf = model.reference_fields(inst, x, D)
        qc = x @ xold / N
        B = a2 * mf + ap * tf - fprime * (1 / d2 + (p - 1) / dp * qc ** (p - 2)) * xold
        if kind == "bayes":
            q = x @ x / N
            fprime = 1.0 / (1.0 + q / d2 + q ** (p - 1) / dp)
        else:
            fprime = math.sqrt(N / (B @ B))
        xold = x
        x = fprime * B
        ov.append(x @ inst.xstar / N)
        qh.append(x @ x / N)
    return np.array(ov), np.array(qh)
