"""Finite-N spiked (2+p) matrix–tensor model: instances, fields, energy and gradient (p = 3, 4).

Normalisation (spiked.md §1.1, the papers' P1–P3 / seed talk S3): signal ``x*`` uniform on the sphere
``|x*|² = N``; for ``i<j`` and ``i1<…<ip``

    Y_ij        = x*_i x*_j / √N                              + ξ_ij ,   ξ_ij ~ N(0, Δ2)
    T_{i1…ip}   = √((p−1)!) / N^((p−1)/2) · x*_{i1}…x*_{ip}     + ξ ,      ξ ~ N(0, Δp)

Hamiltonian (spiked.md §1.2, negative log-likelihood up to constants; also the GF loss), ``|x|² = N``:

    H(x) = − a2 Σ_{i<j} Y_ij x_i x_j − ap Σ_{i1<…<ip} T_{i1…ip} x_{i1}…x_{ip},
    a2 = 1/(Δ2 √N),   ap = √((p−1)!)/(Δp N^((p−1)/2)).

With the *fields* (symmetric Y with zero diagonal, T symmetric in its indices)

    matrix_field(x)_k = Σ_{j≠k} Y_kj x_j,
    tensor_field(x)_k = Σ_{i2<…<ip, all ≠ k} T_{k i2…ip} x_{i2}…x_{ip},

the gradient is ``∇H = −a2·matrix_field − ap·tensor_field`` and, both parts being homogeneous
(x·∇H_q = q H_q), ``H = −(a2/2) x·matrix_field − (ap/p) x·tensor_field``: the energy costs nothing
beyond the fields. The contract's ``energy`` is ``H/N``.

Storage. ``Y`` is dense ``(N, N)``, symmetric, zero diagonal (O(N²), negligible next to the tensor).
``T`` is *packed*: each distinct entry ``i1<…<ip`` is stored once, in lexicographic order of
``(i1, …, ip)``, i.e. for fixed ``(i1, …, i_{p−1})`` the run ``ip = i_{p−1}+1 … N−1`` is contiguous
(``C(N, p)`` doubles: N=500, p=3 → 166 MB; N=128, p=4 → 89 MB). The kernel walks the runs in storage
order; per run it does one fused dot product (Σ_k T x_k, giving the fields of the p−1 fixed
indices) and one axpy (field of the running index), so the tensor is read exactly once per
gradient, sequentially (memory-bandwidth bound, see :mod:`sgsweep.spiked.bench`).

Determinism. Instances are drawn inside numba from one ``sgsweep.rng`` xoshiro state row, in the
fixed order x* (N normals, rescaled to |x*|²=N), Y (row i: ``fill_normal`` on ``Y[i, i+1:]``), T
(``fill_normal`` on the whole packed vector). Kernels are serial (one replica = one thread) and
compiled with ``fastmath`` so that the run reductions vectorise; the summation order is fixed by the
compiled code and the array lengths only (the x86-64 loop vectoriser does not peel loops for
alignment), so results are bit-identical across thread counts and
batches (tested), and agree with the dense reference to rounding.

Public API (stable):

* ``Instance`` dataclass: ``p, N, delta2, delta_p`` (python int/float), ``xstar`` float64 (N,),
  ``Y`` float64 (N, N), ``T`` float64 (C(N,p),) packed; properties ``a2``, ``ap``.
* ``packed_size(N, p) -> int``; ``coefficients(p, N, delta2, delta_p) -> (a2, ap)``.
* ``draw_instance(state_row, p, N, delta2, delta_p) -> Instance`` — ``state_row`` a uint64 (4,) row
  of ``rng.init_states(...)``, advanced in place.
* ``matrix_field(inst, x, out) -> out``, ``tensor_field(inst, x, out) -> out`` (float64 (N,), C-contiguous).
* ``energy_and_gradient(inst, x, grad_out, work=None) -> H`` (float; Euclidean ∇H into ``grad_out``).
* numba kernels (allocation-free, serial) for use inside other ``@njit`` code:
  ``draw_into(state, p, delta2, delta_p, xstar, Y, T)``, ``matrix_field_kernel(Y, x, out)``,
  ``tensor_field_kernel(p, T, x, out)``, ``energy_grad_kernel(p, a2, ap, T, Y, x, grad, work) -> H``.
* slow references for tests: ``sorted_tuples``, ``dense_tensor``, ``reference_fields``,
  ``reference_energy_and_gradient``, ``reference_signal``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from sgsweep import rng

SUPPORTED_P = (3, 4)


def packed_size(N: int, p: int) -> int:
    """Number of distinct entries ``i1<…<ip`` of the symmetric order-p tensor: C(N, p)."""
    return math.comb(N, p)


def coefficients(p: int, N: int, delta2: float, delta_p: float) -> tuple[float, float]:
    """``(a2, ap)`` of the Hamiltonian (spiked.md §1.1): a2 = 1/(Δ2√N), ap = √((p−1)!)/(Δp N^((p−1)/2))."""
    a2 = 1.0 / (delta2 * math.sqrt(N))
    ap = math.sqrt(math.factorial(p - 1)) / (delta_p * N ** ((p - 1) / 2.0))
    return a2, ap


@dataclass
class Instance:
    """One drawn instance of the spiked (2+p) model.

    ``xstar`` (N,) with |x*|² = N; ``Y`` (N, N) symmetric, zero diagonal; ``T`` packed (C(N,p),)
    in lexicographic order of i1<…<ip (see the module docstring)."""

    p: int
    N: int
    delta2: float
    delta_p: float
    xstar: np.ndarray
    Y: np.ndarray
    T: np.ndarray

    @property
    def a2(self) -> float:
        return coefficients(self.p, self.N, self.delta2, self.delta_p)[0]

    @property
    def ap(self) -> float:
        return coefficients(self.p, self.N, self.delta2, self.delta_p)[1]


def _check(p: int, N: int) -> None:
    if p not in SUPPORTED_P:
        raise ValueError(f"p: got {p!r}, expected one of {SUPPORTED_P}")
    if N < 2:  # N < p is allowed: no tensor entries (C(N, p) = 0), pure matrix model
        raise ValueError(f"N: got {N!r}, expected an integer >= 2")


# ============================================================================ drawing
@njit(cache=True)
def draw_into(state, p, delta2, delta_p, xstar, Y, T):
    """Draw one instance into preallocated ``xstar`` (N,), ``Y`` (N, N), ``T`` (C(N,p),).

    spiked.md §1.1. Order of the random numbers: x* (N normals, rescaled to |x*|²=N), then for each
    row i the strict upper part ``Y[i, i+1:]`` (``fill_normal``), then all of ``T``
    (``fill_normal``); the signal is added in place. Allocation-free; advances ``state``."""
    N = xstar.shape[0]
    rng.fill_normal(state, xstar)
    rng.to_sphere(xstar)
    # matrix
    sd2 = math.sqrt(delta2)
    inv_sqrt_n = 1.0 / math.sqrt(N)
    for i in range(N):
        Y[i, i] = 0.0
        if i + 1 < N:
            rng.fill_normal(state, Y[i, i + 1:])
        for j in range(i + 1, N):
            v = xstar[i] * xstar[j] * inv_sqrt_n + sd2 * Y[i, j]
            Y[i, j] = v
            Y[j, i] = v
    # tensor
    rng.fill_normal(state, T)
    sdp = math.sqrt(delta_p)
    if p == 3:
        cs = math.sqrt(2.0) / N
        pos = 0
        for i in range(N - 2):
            for j in range(i + 1, N - 1):
                cij = cs * xstar[i] * xstar[j]
                for k in range(j + 1, N):
                    T[pos] = cij * xstar[k] + sdp * T[pos]
                    pos += 1
    else:
        cs = math.sqrt(6.0) / (N * math.sqrt(N))
        pos = 0
        for i in range(N - 3):
            for j in range(i + 1, N - 2):
                for k in range(j + 1, N - 1):
                    cijk = cs * xstar[i] * xstar[j] * xstar[k]
                    for l in range(k + 1, N):
                        T[pos] = cijk * xstar[l] + sdp * T[pos]
                        pos += 1


def draw_instance(state_row: np.ndarray, p: int, N: int, delta2: float, delta_p: float) -> Instance:
    """Draw an instance from the xoshiro state ``state_row`` (uint64[4], advanced in place).

    ``state_row`` is a row of :func:`sgsweep.rng.init_states` (e.g. seeded by a replica's
    SeedSequence). Same state → same bits."""
    _check(p, N)
    if not (delta2 > 0 and delta_p > 0):
        raise ValueError("delta2 and delta_p must be > 0")
    if state_row.dtype != np.uint64 or state_row.shape != (4,):
        raise ValueError("state_row must be a uint64 array of shape (4,) (a row of rng.init_states)")
    xstar = np.empty(N)
    Y = np.empty((N, N))
    T = np.empty(packed_size(N, p))
    draw_into(state_row, p, float(delta2), float(delta_p), xstar, Y, T)
    return Instance(p=p, N=N, delta2=float(delta2), delta_p=float(delta_p), xstar=xstar, Y=Y, T=T)


# ============================================================================ kernels
@njit(cache=True, fastmath=True)
def matrix_field_kernel(Y, x, out):
    """out_k = Σ_j Y_kj x_j (Y has zero diagonal), serial, allocation-free."""
    N = x.shape[0]
    for k in range(N):
        s = 0.0
        for j in range(N):
            s += Y[k, j] * x[j]
        out[k] = s


@njit(cache=True, fastmath=True)
def _tensor_field3(T, x, out):
    # Runs are taken as slice views indexed from 0 so that LLVM drops numba's negative-index
    # wraparound and vectorises the fused dot+axpy (about 3x faster than direct T[pos + k]).
    N = x.shape[0]
    for k in range(N):
        out[k] = 0.0
    pos = 0
    for i in range(N - 2):
        xi = x[i]
        for j in range(i + 1, N - 1):
            xj = x[j]
            c = xi * xj
            L = N - 1 - j
            Tr = T[pos:pos + L]
            xr = x[j + 1:]
            orr = out[j + 1:]
            s = 0.0
            for m in range(L):
                t = Tr[m]
                s += t * xr[m]
                orr[m] += c * t
            out[i] += xj * s
            out[j] += xi * s
            pos += L


@njit(cache=True, fastmath=True)
def _tensor_field4(T, x, out):
    N = x.shape[0]
    for k in range(N):
        out[k] = 0.0
    pos = 0
    for i in range(N - 3):
        xi = x[i]
        for j in range(i + 1, N - 2):
            xj = x[j]
            cij = xi * xj
            for k in range(j + 1, N - 1):
                xk = x[k]
                c = cij * xk
                L = N - 1 - k
                Tr = T[pos:pos + L]
                xr = x[k + 1:]
                orr = out[k + 1:]
                s = 0.0
                for m in range(L):
                    t = Tr[m]
                    s += t * xr[m]
                    orr[m] += c * t
                out[i] += xj * xk * s
                out[j] += xi * xk * s
                out[k] += cij * s
                pos += L


@njit(cache=True)
def tensor_field_kernel(p, T, x, out):
    """out_k = Σ_{i2<…<ip, all ≠ k} T_{k i2…ip} x_{i2}…x_{ip} from the packed T (spiked.md §1.2)."""
    if p == 3:
        _tensor_field3(T, x, out)
    else:
        _tensor_field4(T, x, out)


@njit(cache=True, fastmath=True)
def energy_grad_kernel(p, a2, ap, T, Y, x, grad, work):
    """∇H into ``grad`` and H returned (spiked.md §1.2): ∇H = −a2 Yx − ap·tensor_field,
    H = −(a2/2) x·Yx − (ap/p) x·tensor_field. ``work`` (N,) is scratch. Allocation-free, serial."""
    N = x.shape[0]
    tensor_field_kernel(p, T, x, grad)
    matrix_field_kernel(Y, x, work)
    h2 = 0.0
    hp = 0.0
    for k in range(N):
        h2 += x[k] * work[k]
        hp += x[k] * grad[k]
        grad[k] = -a2 * work[k] - ap * grad[k]
    return -0.5 * a2 * h2 - (ap / p) * hp


# ============================================================================ python wrappers
def _vec(x, N, name):
    if x.dtype != np.float64 or x.shape != (N,) or not x.flags.c_contiguous:
        raise ValueError(f"{name} must be a contiguous float64 array of shape ({N},)")


def matrix_field(inst: Instance, x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """out_k = Σ_{j≠k} Y_kj x_j; returns ``out``."""
    _vec(x, inst.N, "x")
    _vec(out, inst.N, "out")
    matrix_field_kernel(inst.Y, x, out)
    return out


def tensor_field(inst: Instance, x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """out_k = Σ over sorted tuples i2<…<ip (all ≠ k) of T_{k i2…ip} x_{i2}…x_{ip}; returns ``out``."""
    _vec(x, inst.N, "x")
    _vec(out, inst.N, "out")
    tensor_field_kernel(inst.p, inst.T, x, out)
    return out


def energy_and_gradient(inst: Instance, x: np.ndarray, grad_out: np.ndarray, work: np.ndarray | None = None) -> float:
    """H(x) (spiked.md §1.1; the contract's ``energy`` is H/N) and ∇H written into ``grad_out``.

    The gradient is the full Euclidean gradient (no spherical projection); ``x`` need not be on the
    sphere. ``work``: optional scratch (N,) to stay allocation-free."""
    _vec(x, inst.N, "x")
    _vec(grad_out, inst.N, "grad_out")
    if work is None:
        work = np.empty(inst.N)
    _vec(work, inst.N, "work")
    a2, ap = coefficients(inst.p, inst.N, inst.delta2, inst.delta_p)
    return float(energy_grad_kernel(inst.p, a2, ap, inst.T, inst.Y, x, grad_out, work))


# ============================================================================ slow references (tests)
def sorted_tuples(N: int, p: int) -> np.ndarray:
    """All i1<…<ip in the packed storage order (lexicographic), shape (C(N,p), p)."""
    from itertools import combinations

    return np.array(list(combinations(range(N), p)), dtype=np.int64).reshape(-1, p)


def dense_tensor(inst: Instance) -> np.ndarray:
    """The dense symmetric tensor (N,)*p: every permutation of i1<…<ip holds T_{i1…ip}; entries with a
    repeated index are 0. Slow, for tests and the numpy baseline."""
    from itertools import permutations

    N, p = inst.N, inst.p
    D = np.zeros((N,) * p)
    idx = sorted_tuples(N, p)
    for perm in permutations(range(p)):
        D[tuple(idx[:, q] for q in perm)] = inst.T
    return D


def reference_fields(inst: Instance, x: np.ndarray, D: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(matrix_field, tensor_field) by np.einsum on dense arrays. The sum over ordered (p−1)-tuples
    counts every sorted tuple (p−1)! times, hence the division."""
    if D is None:
        D = dense_tensor(inst)
    mf = inst.Y @ x
    if inst.p == 3:
        tf = np.einsum("kij,i,j->k", D, x, x) / 2.0
    else:
        tf = np.einsum("kijl,i,j,l->k", D, x, x, x) / 6.0
    return mf, tf


def reference_energy_and_gradient(inst: Instance, x: np.ndarray, D: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    """H and ∇H straight from the definitions: explicit sums over i<j and over dense ordered tuples."""
    if D is None:
        D = dense_tensor(inst)
    a2, ap = coefficients(inst.p, inst.N, inst.delta2, inst.delta_p)
    iu = np.triu_indices(inst.N, 1)
    h2 = np.sum(inst.Y[iu] * x[iu[0]] * x[iu[1]])
    mf, tf = reference_fields(inst, x, D)
    if inst.p == 3:
        hp = np.einsum("ijk,i,j,k->", D, x, x, x) / 6.0
    else:
        hp = np.einsum("ijkl,i,j,k,l->", D, x, x, x, x) / 24.0
    return float(-a2 * h2 - ap * hp), -a2 * mf - ap * tf


def reference_signal(xstar: np.ndarray, p: int) -> tuple[np.ndarray, np.ndarray]:
    """Signal parts (Y_signal dense with zero diagonal, T_signal packed) of spiked.md §1.1."""
    N = xstar.shape[0]
    Ys = np.outer(xstar, xstar) / math.sqrt(N)
    np.fill_diagonal(Ys, 0.0)
    idx = sorted_tuples(N, p)
    Ts = math.sqrt(math.factorial(p - 1)) / N ** ((p - 1) / 2) * np.prod(xstar[idx], axis=1)
    return Ys, Ts
