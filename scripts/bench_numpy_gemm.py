#!/usr/bin/env python3
"""numpy/OpenBLAS peer for `prunekit bench kernels`: times float32 GEMMs, prints one JSON object.

Usage: bench_numpy_gemm.py --threads N --repeats R --shapes "m,k,n,tA,tB;m,k,n,tA,tB;..."
(tA/tB are 0/1: op(A) = A[k, m]ᵀ, op(B) = B[n, k]ᵀ, as BLAS transposes). The caller sets
OPENBLAS_NUM_THREADS and clears OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE so OpenBLAS picks its own
kernel for this CPU; threadpoolctl, when installed, also caps the threads and names that kernel.
Timing: each repeat runs a batch of calls lasting >= 20 ms; the best batch's mean is reported.
"""
import argparse
import json
import time

import numpy as np


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--shapes", required=True)
    args = parser.parse_args()

    limiter, blas_info = None, None
    try:
        import threadpoolctl

        limiter = threadpoolctl.threadpool_limits(limits=args.threads, user_api="blas")
        blas_info = [
            {k: info.get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
            for info in threadpoolctl.threadpool_info()
            if info.get("user_api") == "blas"
        ]
    except ImportError:
        pass

    rng = np.random.default_rng(0)
    results = []
    for spec in args.shapes.split(";"):
        m, k, n, ta, tb = (int(x) for x in spec.split(","))
        a = rng.uniform(-1, 1, (k, m) if ta else (m, k)).astype(np.float32)
        b = rng.uniform(-1, 1, (n, k) if tb else (k, n)).astype(np.float32)
        opa = a.T if ta else a
        opb = b.T if tb else b
        out = np.empty((m, n), dtype=np.float32)
        np.matmul(opa, opb, out=out)  # warm-up
        t0 = time.perf_counter()
        np.matmul(opa, opb, out=out)
        once = max(time.perf_counter() - t0, 1e-7)
        iters = max(1, int(0.02 / once))
        best = float("inf")
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            for _ in range(iters):
                np.matmul(opa, opb, out=out)
            best = min(best, (time.perf_counter() - t0) / iters)
        results.append({"m": m, "k": k, "n": n, "gflops": 2.0 * m * n * k / best / 1e9})
    print(json.dumps({"threads": args.threads, "numpy": np.__version__, "blas": blas_info,
                      "results": results}))
    del limiter


if __name__ == "__main__":
    main()
