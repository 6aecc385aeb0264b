"""Counter-free, per-replica random streams usable inside numba kernels.

Every replica (sample / run / path block) owns one xoshiro256** state of four uint64 words, seeded
from its :class:`numpy.random.SeedSequence` (the seed tree of :mod:`sgsweep.grid`). A kernel that
runs replicas in parallel threads advances each state only from the thread that owns the replica,
so the bits of replica ``i`` never depend on the thread count or on which other replicas run.

xoshiro256** (Blackman & Vigna, "Scrambled linear pseudorandom number generators", ACM TOMS 47
(2021)) passes BigCrush; doubles take the top 53 bits; normals use the Box–Muller transform on
pairs (both values used by :func:`fill_normal`). :func:`reference_u64` is the slow pure-Python
version the tests compare with.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_MASK = (1 << 64) - 1


def init_states(seed_sequences) -> np.ndarray:
    """One xoshiro256** state (row of 4 uint64) per seed sequence; never all-zero."""
    states = np.empty((len(seed_sequences), 4), dtype=np.uint64)
    for i, ss in enumerate(seed_sequences):
        words = ss.generate_state(4, dtype=np.uint64)
        if not words.any():  # all-zero is the one forbidden state (probability 2^-256)
            words[0] = 1
        states[i] = words
    return states


@njit(cache=True, inline="always")
def _rotl(x, k):
    return (x << np.uint64(k)) | (x >> np.uint64(64 - k))


@njit(cache=True)
def next_u64(s):
    """Advance ``s`` (uint64[4]) and return the next 64-bit output."""
    result = _rotl(s[1] * np.uint64(5), 7) * np.uint64(9)
    t = s[1] << np.uint64(17)
    s[2] ^= s[0]
    s[3] ^= s[1]
    s[1] ^= s[2]
    s[0] ^= s[3]
    s[2] ^= t
    s[3] = _rotl(s[3], 45)
    return result


@njit(cache=True)
def uniform(s):
    """Uniform double in [0, 1) from the top 53 bits."""
    return float(next_u64(s) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True)
def fill_normal(s, out):
    """Fill ``out`` (float64[:]) with independent standard normals (Box–Muller, pairs)."""
    n = out.shape[0]
    i = 0
    while i < n:
        u1 = 1.0 - uniform(s)  # (0, 1]: log is finite
        u2 = uniform(s)
        r = np.sqrt(-2.0 * np.log(u1))
        a = 2.0 * np.pi * u2
        out[i] = r * np.cos(a)
        if i + 1 < n:
            out[i + 1] = r * np.sin(a)
        i += 2


@njit(cache=True)
def to_sphere(v):
    """Rescale ``v`` (float64[:]) in place to |v|² = len(v). After :func:`fill_normal` this is a
    uniform draw on the sphere of radius √len(v); applied to an iterate it is the projection."""
    n = v.shape[0]
    s = 0.0
    for i in range(n):
        s += v[i] * v[i]
    f = np.sqrt(n / s)
    for i in range(n):
        v[i] *= f


@njit(cache=True)
def normal(s):
    """One standard normal (uses one Box–Muller pair; prefer :func:`fill_normal` for vectors)."""
    u1 = 1.0 - uniform(s)
    u2 = uniform(s)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


# ------------------------------------------------------------------------ slow references (tests)
def reference_u64(state: list[int], count: int) -> list[int]:
    """Pure-Python xoshiro256**: ``count`` outputs from ``state`` (list of 4 ints, modified)."""

    def rotl(x, k):
        return ((x << k) | (x >> (64 - k))) & _MASK

    out = []
    s = state
    for _ in range(count):
        out.append((rotl((s[1] * 5) & _MASK, 7) * 9) & _MASK)
        t = (s[1] << 17) & _MASK
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
    return out
