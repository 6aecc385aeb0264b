"""Gradient throughput of the spiked (2+p) packed-tensor kernel vs a dense numpy/BLAS baseline.

    python benchmarks/bench_spiked_gradient.py [--Ns 128 256 500] [--p 3] [--repeats 3]

Prints gradients/s of the numba kernel (packed tensor, read once per gradient) and of the numpy
baseline (dense symmetric tensor, one BLAS mat-vec), their ratio, and the memory-bandwidth bound
(bytes of packed tensor + Y per gradient vs the stream bandwidth measured in the same run).
Single-threaded: BLAS threads are pinned to 1 below, before numpy is imported. Numbers only, no
asserts; on a shared machine they vary by tens of percent between runs.
"""

import os

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

import argparse  # noqa: E402

from sgsweep.spiked.bench import format_table, gradient_throughput, stream_bandwidth  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--Ns", type=int, nargs="+", default=[128, 256, 500])
    ap.add_argument("--p", type=int, default=3, choices=(3, 4))
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    bw = stream_bandwidth()
    print(f"stream bandwidth: copy {bw['copy_GBps']:.1f} GB/s, add {bw['add_GBps']:.1f} GB/s (best of 5, 400 MB arrays)")
    rows = gradient_throughput(args.Ns, p=args.p, repeats=args.repeats, bandwidth=bw)
    print(format_table(rows))


if __name__ == "__main__":
    main()
