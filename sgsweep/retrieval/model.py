"""Phase retrieval teacher, losses, gradient fields and overlaps (reference note sgd_dmft.md §8).

Teacher (SBCKUZ20 = arXiv:2006.06997, slide "PHASE RETRIEVAL", note §8.1):
    X_μi ~ N(0, 1/d),  w* ~ N(0, I_d),  y_μ = |Σ_i X_μi w*_i|,  μ = 1..n,  n = round(α d).

Students (note §8.1, §8.2; losses exactly as written, no prefactor):
* m = 1, spherical single unit:  𝓛(w) = Σ_μ (y_μ² − h_μ²)²,  h = X w,  |w|² = d,
  gradient flow ẇ = −∇𝓛 + μ(t) w with μ = (w·∇𝓛)/|w|² (the Lagrange multiplier keeping |w|²);
  ∇𝓛 = −4 Σ_μ r_μ h_μ x_μ with r_μ = y_μ² − h_μ².
* m > 1, two-layer network with quadratic activation (SVZ20 = arXiv:2006.15459):
  𝓛(W) = Σ_μ (y_μ² − (1/m) Σ_a h_aμ²)²,  h_aμ = x_μ·w_a,  plain gradient flow
  ẇ_a = −∂𝓛/∂w_a = (4/m) Σ_μ r_μ h_aμ x_μ,  r_μ = y_μ² − (1/m)Σ_a h_aμ².

Overlap (one definition for every m; documented in the method's variables):
    A = (1/m) Σ_a w_a w_aᵀ,  A* = w* w*ᵀ,
    q = sqrt( ⟨A, A*⟩_F / (‖A‖_F ‖A*‖_F) )
which for m = 1 is exactly |w·w*|/(|w||w*|) (the contract's single-unit overlap), and for m > 1 is
the square root of the normalised Frobenius overlap of A with A*. q = 1 iff A ∝ A*.
``matrix_error`` = ‖A − A*‖_F/‖A*‖_F (zero iff A = A*, i.e. the teacher is recovered with its norm).

Everything here comes in two versions: numba kernels used by :mod:`sgsweep.retrieval.flow`, and a
slow, obvious numpy reference (suffix ``_ref``) used by the tests.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sgsweep import rng

TEACHERS = ("spherical", "gaussian")


def n_samples(alpha: float, d: int) -> int:
    """n = round(α d) (at least 1)."""
    return max(1, int(round(alpha * d)))


# ------------------------------------------------------------------------------------ instance
@njit(cache=True)
def draw_instance(state, d, n, m, spherical_teacher):
    """Draw one instance from the xoshiro state ``state`` (uint64[4]), in this fixed order:
    w* (d normals), X (n×d normals, row by row, scaled by 1/√d), W(0) (m×d normals).

    ``spherical_teacher``: rescale w* to |w*|² = d (direction uniform on the sphere, as in the
    large-d theory); otherwise w* ~ N(0, I) exactly. For m = 1 the start is normalised onto the
    sphere |w|² = d (random uninformed start, note §8.1); for m > 1 w_a(0) ~ N(0, I) (note §8.2).
    Returns (X (n,d), y2 (n,) = y², wstar (d,), W0 (m,d)).
    """
    wstar = np.empty(d)
    rng.fill_normal(state, wstar)
    if spherical_teacher:
        rng.to_sphere(wstar)
    X = np.empty((n, d))
    inv = 1.0 / np.sqrt(d)
    for mu in range(n):
        row = X[mu]
        rng.fill_normal(state, row)
        for i in range(d):
            row[i] *= inv
    W = np.empty((m, d))
    for a in range(m):
        rng.fill_normal(state, W[a])
    if m == 1:
        rng.to_sphere(W[0])
    y2 = np.empty(n)
    for mu in range(n):
        h = _dot(X[mu], wstar, d)
        y2[mu] = h * h
    return X, y2, wstar, W


@njit(cache=True, inline="always")
def _dot(a, b, d):
    """Serial dot product with four fixed partial sums (fixed order -> identical bits everywhere)."""
    s0 = 0.0
    s1 = 0.0
    s2 = 0.0
    s3 = 0.0
    k = 0
    while k + 3 < d:
        s0 += a[k] * b[k]
        s1 += a[k + 1] * b[k + 1]
        s2 += a[k + 2] * b[k + 2]
        s3 += a[k + 3] * b[k + 3]
        k += 4
    while k < d:
        s0 += a[k] * b[k]
        k += 1
    return (s0 + s1) + (s2 + s3)


# ------------------------------------------------------------------------------------ field
@njit(cache=True)
def field(W, X, y2, out, hbuf):
    """Minus the gradient of the loss (the gradient-flow velocity) at W, written into ``out``
    (shape of W); returns the loss 𝓛(W) as written (note §8.1/§8.2, no prefactor).

    m = W.shape[0] = 1: spherical flow, the radial part is removed (Lagrange multiplier
    μ = (w·∇𝓛)/|w|², ẇ = −∇𝓛 + μ w, note §8.1). m > 1: plain gradient flow (note §8.2).
    One pass over the rows of X (allocation-free; ``hbuf`` is scratch of length m).
    """
    m, d = W.shape
    n = X.shape[0]
    for a in range(m):
        for i in range(d):
            out[a, i] = 0.0
    loss = 0.0
    inv_m = 1.0 / m
    for mu in range(n):
        x = X[mu]
        yhat = 0.0
        for a in range(m):
            h = _dot(x, W[a], d)
            hbuf[a] = h
            yhat += h * h
        r = y2[mu] - yhat * inv_m
        loss += r * r
        for a in range(m):
            c = 4.0 * inv_m * r * hbuf[a]
            o = out[a]
            for i in range(d):
                o[i] += c * x[i]
    if m == 1:
        w = W[0]
        o = out[0]
        ww = _dot(w, w, d)
        wf = _dot(w, o, d)
        lam = wf / ww
        for i in range(d):
            o[i] -= lam * w[i]
    return loss


@njit(cache=True)
def overlap_and_error(W, wstar):
    """(q, ‖A−A*‖_F/‖A*‖_F) with A = (1/m)Σ w_a w_aᵀ, A* = w* w*ᵀ (module docstring)."""
    m, d = W.shape
    ss = _dot(wstar, wstar, d)  # ‖A*‖_F = |w*|²
    cross = 0.0  # ⟨A, A*⟩ = (1/m) Σ_a (w_a·w*)²
    for a in range(m):
        c = _dot(W[a], wstar, d)
        cross += c * c
    cross /= m
    aa = 0.0  # ‖A‖_F² = (1/m²) Σ_ab (w_a·w_b)²
    for a in range(m):
        g = _dot(W[a], W[a], d)
        aa += g * g
        for b in range(a + 1, m):
            g = _dot(W[a], W[b], d)
            aa += 2.0 * g * g
    aa /= m * m
    q = np.sqrt(cross / (np.sqrt(aa) * ss))
    err2 = aa - 2.0 * cross + ss * ss
    if err2 < 0.0:
        err2 = 0.0
    return q, np.sqrt(err2) / ss


# ------------------------------------------------------------------------------------ references
def loss_ref(W: np.ndarray, X: np.ndarray, y2: np.ndarray) -> float:
    """𝓛 = Σ_μ (y_μ² − (1/m)Σ_a (X w_a)_μ²)² (for m = 1 the single-unit loss)."""
    W = np.atleast_2d(W)
    H = X @ W.T
    r = y2 - (H**2).mean(axis=1)
    return float(np.sum(r**2))


def grad_ref(W: np.ndarray, X: np.ndarray, y2: np.ndarray) -> np.ndarray:
    """Euclidean gradient ∂𝓛/∂W = −(4/m) Σ_μ r_μ h_aμ x_μ (no projection)."""
    W = np.atleast_2d(W)
    m = W.shape[0]
    H = X @ W.T
    r = y2 - (H**2).mean(axis=1)
    return -(4.0 / m) * (H * r[:, None]).T @ X


def field_ref(W: np.ndarray, X: np.ndarray, y2: np.ndarray) -> np.ndarray:
    """Flow velocity: −∇𝓛, projected on the tangent space of the sphere when m = 1."""
    W = np.atleast_2d(np.asarray(W, dtype=float))
    g = grad_ref(W, X, y2)
    if W.shape[0] == 1:
        w = W[0]
        mu = (w @ g[0]) / (w @ w)  # Lagrange multiplier
        return (-g[0] + mu * w)[None, :]
    return -g


def overlap_ref(W: np.ndarray, wstar: np.ndarray) -> tuple[float, float]:
    """Dense-matrix version of :func:`overlap_and_error`."""
    W = np.atleast_2d(W)
    A = W.T @ W / W.shape[0]
    As = np.outer(wstar, wstar)
    q = np.sqrt(np.sum(A * As) / (np.linalg.norm(A) * np.linalg.norm(As)))
    return float(q), float(np.linalg.norm(A - As) / np.linalg.norm(As))
