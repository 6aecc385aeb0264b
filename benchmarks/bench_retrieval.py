"""Benchmark of retrieval.sim: numba field vs numpy reference, and 1 vs 2 threads on one point.

Prints ratios against baselines measured in the same run (no asserts).
    python benchmarks/bench_retrieval.py
"""
import time

import numpy as np

from sgsweep import rng
from sgsweep.point import compute_point
from sgsweep.retrieval import model


def _best(f, k=5):
    best = np.inf
    for _ in range(k):
        t0 = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t0)
    return best


def main():
    for d, alpha, m in ((128, 8.0, 1), (32, 3.0, 32)):
        st = rng.init_states([np.random.SeedSequence(0)])[0]
        X, y2, ws, W = model.draw_instance(st, d, model.n_samples(alpha, d), m, True)
        out = np.empty_like(W)
        hb = np.empty(m)
        model.field(W, X, y2, out, hb)
        tk = _best(lambda: model.field(W, X, y2, out, hb))
        tr = _best(lambda: (model.field_ref(W, X, y2), model.loss_ref(W, X, y2)))
        print(f"field d={d} alpha={alpha} m={m}: numba {tk*1e3:.3f} ms, numpy reference {tr*1e3:.3f} ms, "
              f"ratio ref/numba {tr/tk:.2f}")
    p = {"d": 128, "alpha": 4.0, "runs": 16, "t_max": 20.0, "dt": 1.0}
    compute_point("retrieval.sim", {**p, "runs": 2}, threads=2)  # compile / load cache
    t1 = _best(lambda: compute_point("retrieval.sim", p, threads=1), 1)
    t2 = _best(lambda: compute_point("retrieval.sim", p, threads=2), 1)
    print(f"point d=128 alpha=4 16 runs t_max=20: 1 thread {t1:.2f} s, 2 threads {t2:.2f} s, speed-up {t1/t2:.2f}")


if __name__ == "__main__":
    main()
