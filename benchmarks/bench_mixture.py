"""Benchmark of mixture.sim: simulation steps per second against the memory-bandwidth bound.

One full-batch step reads the n×d float64 data matrix once (fused pass: pre-activation, loss and
gradient row by row), so the bound is  steps/s ≤ bandwidth / (8·n·d bytes).  The bandwidth is
measured in the same run by a numba streaming read (sum) over an array of the same size class.
Per-step time = difference of two runs with different numbers of steps (removes data generation).

    python benchmarks/bench_mixture.py [--d 1000] [--alpha 4] [--threads 1 2]
"""

from __future__ import annotations

import argparse
import time

import numba
import numpy as np
from numba import njit, prange

from sgsweep.mixture import sim


@njit(cache=True, fastmath={"reassoc", "contract"})
def _stream_sum(a):
    acc = 0.0
    for i in range(a.shape[0]):
        acc += a[i]
    return acc


@njit(cache=True, parallel=True)
def _stream_sum_par(blocks):
    out = np.zeros(blocks.shape[0])
    for k in prange(blocks.shape[0]):
        out[k] = _stream_sum(blocks[k])
    return out.sum()


def bandwidth(nbytes_per_thread: int, threads: int, repeat: int = 5) -> float:
    """Best-of-``repeat`` read bandwidth in bytes/s with ``threads`` threads (one block per thread)."""
    numba.set_num_threads(threads)
    blocks = np.random.default_rng(0).standard_normal((threads, nbytes_per_thread // 8))
    _stream_sum_par(blocks)
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        _stream_sum_par(blocks)
        best = min(best, time.perf_counter() - t0)
    return blocks.nbytes / best


def steps_per_second(d: int, alpha: float, algorithm: str, threads: int, steps: int = 60) -> float:
    """Aggregate simulation steps/s with ``threads`` runs on ``threads`` threads."""
    numba.set_num_threads(threads)
    p = dict(algorithm=algorithm, d=d, alpha=alpha, b=0.3, tau=1.0, lam=0.0, delta=0.5, eta=0.2, R=0.01,
             loss="logistic", clusters=2, L=0.7, m0=None)
    seeds = [np.random.SeedSequence(1, spawn_key=(i,)) for i in range(threads)]
    sim.run(dict(p, d=16, t_max=0.4), seeds, n_test=0)  # compile
    times = {}
    for k in (steps // 6, steps):
        best = np.inf
        for _ in range(2):
            t0 = time.perf_counter()
            sim.run(dict(p, t_max=k * p["eta"]), seeds, n_test=0)
            best = min(best, time.perf_counter() - t0)
        times[k] = best
    per_step = (times[steps] - times[steps // 6]) / (steps - steps // 6)
    return threads / per_step


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--d", type=int, default=1000)
    ap.add_argument("--alpha", type=float, default=4.0)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args()
    n = sim.n_samples(args.alpha, args.d)
    nbytes = 8 * n * args.d
    print(f"data matrix n×d = {n}×{args.d} float64 = {nbytes / 2**20:.1f} MiB per run")
    for th in args.threads:
        bw = bandwidth(max(nbytes, 256 * 2**20), th)
        bound = bw / nbytes  # steps/s, all threads together
        print(f"threads={th}: measured read bandwidth {bw / 1e9:.2f} GB/s -> bound {bound:.1f} steps/s")
        for alg in ("gd", "sgd"):
            sps = steps_per_second(args.d, args.alpha, alg, th)
            print(f"  {alg:4s}: {sps:8.1f} steps/s = {sps / bound:.2f} × bandwidth bound "
                  f"({sps * nbytes / 1e9:.2f} GB/s of data matrix)")


if __name__ == "__main__":
    main()
