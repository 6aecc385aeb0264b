"""Throughput of the packed-tensor gradient kernel vs a dense numpy/BLAS baseline and the memory bound.

The kernel (:func:`sgsweep.spiked.model.energy_grad_kernel`) reads the packed tensor once per
gradient (8·C(N,p) bytes) plus the dense matrix Y (8N²), so its ceiling is
``stream_bandwidth / bytes_per_gradient``. The baseline is what one would write in numpy: the dense
symmetric tensor (N^p doubles, p! times the packed size) contracted by one BLAS mat-vec,
``D.reshape(N, N*N) @ np.outer(x, x).ravel()``, plus ``Y @ x``. Both single-threaded per sample:
the numba kernel is serial by construction; the BLAS thread count is whatever the process has — the
benchmark script sets ``OPENBLAS_NUM_THREADS=OMP_NUM_THREADS=MKL_NUM_THREADS=1`` before importing
numpy. Timings are best-of-``repeats`` (the machine is shared; medians would be noisier).
"""

from __future__ import annotations

import math
import time

import numpy as np
from numba import njit

from sgsweep import rng
from sgsweep.spiked import model


@njit(cache=True)
def dense_from_packed3(T, N, D):
    """Fill the dense symmetric (N, N, N) tensor ``D`` from the packed p=3 tensor (zeros on repeated
    indices). Fast version of :func:`model.dense_tensor` for the baseline."""
    D[:] = 0.0
    pos = 0
    for i in range(N - 2):
        for j in range(i + 1, N - 1):
            for k in range(j + 1, N):
                t = T[pos]
                D[i, j, k] = t
                D[i, k, j] = t
                D[j, i, k] = t
                D[j, k, i] = t
                D[k, i, j] = t
                D[k, j, i] = t
                pos += 1


def stream_bandwidth(mbytes: float = 400.0, repeats: int = 5) -> dict:
    """Measured memory bandwidth (GB/s, best of ``repeats``): ``np.copyto`` (read+write, 2 arrays)
    and ``np.add(a, b, out=c)`` (3 arrays) on arrays of ``mbytes`` MB each (far beyond cache)."""
    n = int(mbytes * 1e6 / 8)
    a = np.ones(n)
    b = np.full(n, 2.0)
    c = np.empty(n)
    copy = add = 0.0
    for _ in range(repeats):
        t0 = time.perf_counter()
        np.copyto(c, a)
        t1 = time.perf_counter()
        np.add(a, b, out=c)
        t2 = time.perf_counter()
        copy = max(copy, 2 * a.nbytes / (t1 - t0) / 1e9)
        add = max(add, 3 * a.nbytes / (t2 - t1) / 1e9)
    return {"copy_GBps": copy, "add_GBps": add}


def _time_per_call(fn, repeats: int, min_time: float = 0.2) -> float:
    """Best over ``repeats`` of the mean time of a batch of calls lasting >= min_time."""
    fn()
    t0 = time.perf_counter()
    fn()
    one = max(time.perf_counter() - t0, 1e-7)
    batch = max(1, int(min_time / one))
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(batch):
            fn()
        best = min(best, (time.perf_counter() - t0) / batch)
    return best


def gradient_throughput(Ns=(128, 256, 500), p: int = 3, repeats: int = 3, max_dense_mb: float = 1100.0,
                        bandwidth: dict | None = None) -> list[dict]:
    """Gradients per second of the packed numba kernel and of the dense numpy/BLAS baseline.

    One row per N: ``N, p, packed_MB, dense_MB, kernel_grad_per_s, numpy_grad_per_s`` (None when the
    dense tensor exceeds ``max_dense_mb`` or p != 3), ``speedup``, ``bytes_per_grad`` (packed T + Y),
    ``stream_GBps`` (measured copy bandwidth), ``bound_grad_per_s`` = stream/bytes,
    ``fraction_of_bound``, ``kernel_GBps`` (bytes_per_grad × rate), ``max_abs_diff`` (kernel vs
    baseline gradient)."""
    if bandwidth is None:
        bandwidth = stream_bandwidth()
    bw = bandwidth["copy_GBps"]
    rows = []
    for N in Ns:
        state = rng.init_states([np.random.SeedSequence([12345, N])])[0]
        inst = model.draw_instance(state, p, N, 0.25, 1.0)
        x = inst.xstar.copy()
        x = 0.3 * x + np.linspace(-1, 1, N)
        x *= math.sqrt(N) / np.linalg.norm(x)
        a2, ap = model.coefficients(p, N, inst.delta2, inst.delta_p)
        g = np.empty(N)
        w = np.empty(N)

        def kern():
            model.energy_grad_kernel(p, a2, ap, inst.T, inst.Y, x, g, w)

        t_k = _time_per_call(kern, repeats)
        nbytes = 8 * (inst.T.size + N * N)
        row = {
            "N": N, "p": p, "packed_MB": inst.T.nbytes / 1e6, "dense_MB": 8 * N ** p / 1e6,
            "kernel_grad_per_s": 1.0 / t_k, "numpy_grad_per_s": None, "speedup": None,
            "bytes_per_grad": nbytes, "stream_GBps": bw, "bound_grad_per_s": bw * 1e9 / nbytes,
            "fraction_of_bound": (1.0 / t_k) / (bw * 1e9 / nbytes), "kernel_GBps": nbytes / t_k / 1e9,
            "max_abs_diff": None,
        }
        if p == 3 and 8 * N ** 3 / 1e6 <= max_dense_mb:
            D = np.empty((N, N, N))
            dense_from_packed3(inst.T, N, D)
            D2 = D.reshape(N, N * N)
            Y = inst.Y
            gb = np.empty(N)

            def base():
                gb[:] = -a2 * (Y @ x) - (ap / 2.0) * (D2 @ np.outer(x, x).ravel())

            t_b = _time_per_call(base, repeats)
            kern()
            row["numpy_grad_per_s"] = 1.0 / t_b
            row["speedup"] = t_b / t_k
            row["max_abs_diff"] = float(np.abs(gb - g).max())
            del D, D2
        rows.append(row)
    return rows


def format_table(rows: list[dict]) -> str:
    head = (f"{'N':>5} {'p':>2} {'packed MB':>10} {'kernel grad/s':>14} {'numpy grad/s':>13} {'speedup':>8} "
            f"{'kernel GB/s':>11} {'bound grad/s':>13} {'of bound':>9} {'|diff|':>9}")
    out = [head]
    for r in rows:
        nb = "-" if r["numpy_grad_per_s"] is None else f"{r['numpy_grad_per_s']:13.1f}"
        sp = "-" if r["speedup"] is None else f"{r['speedup']:8.2f}"
        df = "-" if r["max_abs_diff"] is None else f"{r['max_abs_diff']:9.1e}"
        out.append(f"{r['N']:>5} {r['p']:>2} {r['packed_MB']:10.1f} {r['kernel_grad_per_s']:14.1f} {nb:>13} {sp:>8} "
                   f"{r['kernel_GBps']:11.2f} {r['bound_grad_per_s']:13.1f} {r['fraction_of_bound']:9.2f} {df:>9}")
    return "\n".join(out)
