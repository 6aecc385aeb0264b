"""Per-sample losses of the Gaussian-mixture perceptron and their derivatives (sgd_dmft.md §2.3).

A loss ``ℓ(z)`` acts on the margin ``z = y·φ`` where the output is

* 2 clusters: ``φ = r`` (pre-activation ``r = w·x/√d``), prediction ``sgn(r)``;
* 3 clusters: ``φ = r² − L²``, prediction ``sgn(r² − L²)`` (cli-contract.md, MKUZ20 [V-talk]).

``Λ(y, r) = ℓ(y φ(r))`` is the loss as a function of the pre-activation (the slide's Λ); the dynamics
needs ``Λ'(r) = ∂_r Λ`` and the DMFT response needs ``Λ''(r) = ∂²_r Λ``:

* 2 clusters: ``Λ' = y ℓ'(y r)``, ``Λ'' = ℓ''(y r)`` (y² = 1);
* 3 clusters: ``Λ' = 2 r y ℓ'(yφ)``, ``Λ'' = 4 r² ℓ''(yφ) + 2 y ℓ'(yφ)``.

Losses (codes used inside the numba kernels):

=====  ==========  ===========================  =================  ==========================
code   name        ℓ(z)                          ℓ'(z)              ℓ''(z)
=====  ==========  ===========================  =================  ==========================
0      logistic    log(1 + e^(−z))               −1/(1 + e^z)       σ(z)σ(−z)
1      hinge       max(0, 1 − z)                 −θ(1 − z)          0 (a.e.; +δ(z − 1) at the kink)
2      square      (1 − z)²/2  (= (y − φ)²/2)     z − 1              1
=====  ==========  ===========================  =================  ==========================

Hinge: ℓ' takes the left value −1 at z = 1 exactly (a measure-zero event), ℓ'' is returned as 0
(its a.e. value). The simulations only need ℓ'. The DMFT response needs the distributional second
derivative +δ(z − 1) (ℓ' jumps from −1 to 0). The DMFT therefore estimates the hinge response by
Gaussian integration by parts, which needs no ℓ'' (``response=stein``, the default for the hinge;
see :mod:`sgsweep.mixture.dmft`); :func:`hinge_kink_weight`, a Gaussian-smoothed δ of width ``eps``
added to ℓ'', is only used by the optional tangent estimator (biased, see there).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

LOSSES = ("logistic", "hinge", "square")
LOSS_CODE = {name: i for i, name in enumerate(LOSSES)}


@njit(cache=True, inline="always")
def loss_value(code, z):
    """ℓ(z) for loss ``code`` (numerically stable logistic)."""
    if code == 0:
        if z > 0:
            return math.log1p(math.exp(-z))
        return -z + math.log1p(math.exp(z))
    elif code == 1:
        return 1.0 - z if z < 1.0 else 0.0
    else:
        return 0.5 * (1.0 - z) * (1.0 - z)


@njit(cache=True, inline="always")
def loss_d1(code, z):
    """ℓ'(z)."""
    if code == 0:
        if z > 0:
            e = math.exp(-z)
            return -e / (1.0 + e)
        return -1.0 / (1.0 + math.exp(z))
    elif code == 1:
        return -1.0 if z <= 1.0 else 0.0
    else:
        return z - 1.0


@njit(cache=True, inline="always")
def loss_d2(code, z):
    """ℓ''(z) (hinge: 0, its value almost everywhere)."""
    if code == 0:
        a = math.exp(-abs(z))
        return a / ((1.0 + a) * (1.0 + a))
    elif code == 1:
        return 0.0
    else:
        return 1.0


@njit(cache=True, inline="always")
def hinge_kink_weight(z, eps):
    """Gaussian-smoothed δ(z − 1) of width ``eps`` (hinge ℓ'' = +δ(z − 1) in the distributional sense)."""
    u = (z - 1.0) / eps
    return math.exp(-0.5 * u * u) / (eps * math.sqrt(2.0 * math.pi))


@njit(cache=True, inline="always")
def big_lambda(code, clusters, L, y, r):
    """Λ(y, r) = ℓ(y φ(r))."""
    if clusters == 2:
        return loss_value(code, y * r)
    return loss_value(code, y * (r * r - L * L))


@njit(cache=True, inline="always")
def big_lambda_d1(code, clusters, L, y, r):
    """Λ'(y, r) = ∂_r ℓ(y φ(r))."""
    if clusters == 2:
        return y * loss_d1(code, y * r)
    return 2.0 * r * y * loss_d1(code, y * (r * r - L * L))


@njit(cache=True, inline="always")
def big_lambda_d2(code, clusters, L, y, r, eps):
    """Λ''(y, r); for the hinge (code 1) and ``eps > 0`` the kink enters as +δ_eps(z − 1)."""
    if clusters == 2:
        z = y * r
        d2 = loss_d2(code, z)
        if code == 1 and eps > 0.0:
            d2 += hinge_kink_weight(z, eps)  # ℓ'' = +δ(z-1): ℓ' jumps from −1 to 0 upward
        return d2
    z = y * (r * r - L * L)
    d2 = loss_d2(code, z)
    if code == 1 and eps > 0.0:
        d2 += hinge_kink_weight(z, eps)
    return 4.0 * r * r * d2 + 2.0 * y * loss_d1(code, z)


@njit(cache=True, inline="always")
def predict_wrong(clusters, L, y, r):
    """θ(−y Φ(r)): 1.0 if the perceptron misclassifies (Φ = sgn r or sgn(r² − L²))."""
    phi = r if clusters == 2 else r * r - L * L
    return 1.0 if y * phi < 0.0 else 0.0


# --------------------------------------------------------------------------- slow references
def reference_loss(name: str, z):
    """Pure-numpy ℓ, ℓ', ℓ'' (hinge ℓ'' = 0) for the tests."""
    z = np.asarray(z, dtype=float)
    if name == "logistic":
        return np.logaddexp(0.0, -z), -1.0 / (1.0 + np.exp(z)), np.exp(z) / (1.0 + np.exp(z)) ** 2
    if name == "hinge":
        return np.maximum(0.0, 1.0 - z), np.where(z <= 1.0, -1.0, 0.0), np.zeros_like(z)
    if name == "square":
        return 0.5 * (1.0 - z) ** 2, z - 1.0, np.ones_like(z)
    raise ValueError(name)


def reference_big_lambda(name: str, clusters: int, L: float, y, r):
    """Pure-numpy Λ, Λ', Λ'' (hinge without kink) by the chain rule."""
    y = np.asarray(y, float)
    r = np.asarray(r, float)
    phi = r if clusters == 2 else r * r - L * L
    v, d1, d2 = reference_loss(name, y * phi)
    if clusters == 2:
        return v, y * d1, d2 * y * y
    dphi = 2.0 * r
    return v, y * d1 * dphi, d2 * (y * dphi) ** 2 + y * d1 * 2.0
