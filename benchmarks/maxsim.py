"""Exhaustive MaxSim throughput beside a plain torch matrix product of the same shapes, in one process.

MaxSim over a corpus is a matrix product [queries x query tokens, dim] x [dim, document tokens] followed by a
max over each document's tokens and a sum over query tokens; the product alone is this machine's limit for the
kernel. Both are timed on the same padded chunks (`TokenStore.chunks`), so the ratio is the cost of the max,
the sum, the top-k merge and the Python around them.

    python benchmarks/maxsim.py --passages 12000 --out results/bench/maxsim.json
    python benchmarks/maxsim.py --device cuda --passages 200000 --out results/bench/maxsim_cuda.json
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from tabulate import tabulate

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness.atomic import write_json  # noqa: E402
from harness.index.late import SIM_BUDGET, TokenStore, exact_maxsim_search  # noqa: E402
from harness.index.maxsim import maxsim  # noqa: E402
from harness.provenance import device_info  # noqa: E402
from harness.synthetic import clustered_tokens  # noqa: E402


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def timed(fn, device: str, repeats: int) -> float:
    fn()  # warm-up: caches padded chunks, compiles kernels
    _sync(device)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        _sync(device)
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--passages", type=int, default=12000)
    ap.add_argument("--doc-tokens", type=int, default=64)
    ap.add_argument("--queries", type=int, default=64)
    ap.add_argument("--query-tokens", type=int, default=32)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--query-batch", type=int, default=8)
    ap.add_argument("--k", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()

    docs = clustered_tokens(args.passages, args.doc_tokens, args.dim, seed=0)
    queries = clustered_tokens(args.queries, args.query_tokens, args.dim, seed=1)
    store = TokenStore(docs.tokens.astype(np.float16), docs.offsets, [f"p{i}" for i in range(args.passages)])
    flops = 2.0 * args.queries * args.query_tokens * args.passages * args.doc_tokens * args.dim
    lq = args.query_tokens
    max_cols = max(store.max_len, SIM_BUDGET // (args.query_batch * lq))

    def kernel() -> None:
        exact_maxsim_search(queries, store, args.k, args.query_batch, device=args.device)

    chunks = store.chunks(max_cols, None, args.device)
    if not isinstance(chunks, list):
        raise SystemExit(f"{args.passages} passages do not fit the padded-chunk cache on {args.device}: the kernel "
                         "would stream from disk; take fewer passages")
    q_all = torch.as_tensor(queries.tokens, device=args.device)

    def matmul() -> None:
        # the same products the kernel does ([query batch x tokens, dim] x [dim, chunk tokens]), nothing else
        with torch.no_grad():
            for start in range(0, args.queries, args.query_batch):
                qb = q_all[start * lq : (start + args.query_batch) * lq]
                for _, d in chunks:
                    torch.mm(qb, d.reshape(-1, args.dim).T)

    q_pad = q_all.view(args.queries, lq, args.dim)

    def masked() -> None:
        # the masked einsum kernel (used in training; the exact index's kernel before it became one product)
        with torch.no_grad():
            for start in range(0, args.queries, args.query_batch):
                qb = q_pad[start : start + args.query_batch]
                for _, d in chunks:
                    maxsim(qb, d, torch.ones(d.shape[:2], dtype=torch.bool, device=d.device))

    t_kernel = timed(kernel, args.device, args.repeats)
    t_masked = timed(masked, args.device, 1)
    t_mm = timed(matmul, args.device, args.repeats)
    rows = [["torch.mm, same shapes", t_mm * 1e3, flops / t_mm / 1e9],
            ["exact MaxSim search (top-k)", t_kernel * 1e3, flops / t_kernel / 1e9],
            ["masked einsum MaxSim (no top-k)", t_masked * 1e3, flops / t_masked / 1e9]]
    print(tabulate(rows, headers=["", "ms", "GFLOP/s"], floatfmt=".1f"))
    ratio = t_mm / t_kernel
    print(f"MaxSim at {100 * ratio:.0f}% of the matrix product's GFLOP/s "
          f"({args.passages} passages x {args.doc_tokens} tokens, {args.queries} queries x {lq} tokens, dim {args.dim}, "
          f"{args.device})")
    if args.out:
        write_json(args.out, {"shapes": {k: getattr(args, k) for k in ("passages", "doc_tokens", "queries",
                                                                      "query_tokens", "dim", "query_batch", "k")},
                              "chunk_columns": max_cols, "flops": flops, "maxsim_seconds": t_kernel,
                              "matmul_seconds": t_mm, "maxsim_gflops": flops / t_kernel / 1e9,
                              "matmul_gflops": flops / t_mm / 1e9, "ratio": ratio,
                              "masked_einsum_gflops": flops / t_masked / 1e9, "device": device_info(args.device),
                              "threads": torch.get_num_threads()})


if __name__ == "__main__":
    main()
