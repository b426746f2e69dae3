"""Peak memory of `exact` MaxSim search over a large synthetic corpus (default 100k passages x 64 tokens,
dim 128): the store is float16 on disk and memory-mapped; search streams padded chunks.

    python benchmarks/exact_memory.py --passages 100000 --out results/bench/exact_memory.json
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from tabulate import tabulate

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness.api import MultiVectorEmbeddings  # noqa: E402
from harness.atomic import atomic_path, write_json  # noqa: E402
from harness.index.late import ExactMaxSimIndex  # noqa: E402


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def write_store(folder: Path, n: int, tokens: int, dim: int, seed: int) -> list[str]:
    """Write tokens.npy in slices so building the corpus does not itself need the whole matrix in RAM."""
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((4096, dim)).astype(np.float32)
    folder.mkdir(parents=True)
    arr = np.lib.format.open_memmap(folder / "tokens.npy", mode="w+", dtype=np.float16, shape=(n * tokens, dim))
    step = 5000
    for start in range(0, n, step):
        m = min(step, n - start) * tokens
        x = centers[rng.integers(0, len(centers), m)] + 0.5 * rng.standard_normal((m, dim)).astype(np.float32)
        arr[start * tokens : start * tokens + m] = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float16)
    arr.flush()
    del arr
    with atomic_path(folder / "offsets.npy") as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, np.arange(0, (n + 1) * tokens, tokens, dtype=np.int64))
    ids = [f"p{i}" for i in range(n)]
    write_json(folder / "ids.json", ids)
    write_json(folder / "settings.json", {"backend": "exact", "query_batch": 8})
    return ids


def search_only(folder: Path, queries: int, dim: int) -> None:
    """Run in a fresh process, so its peak RSS is the search's alone (load, then search)."""
    index = ExactMaxSimIndex.load(folder)
    rng = np.random.default_rng(1)
    q = rng.standard_normal((queries * 32, dim)).astype(np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    emb = MultiVectorEmbeddings(q, np.arange(0, (queries + 1) * 32, 32, dtype=np.int64))
    t0 = time.perf_counter()
    run = index.search(emb, [f"q{i}" for i in range(queries)], 10)
    print(json.dumps({"search_s_per_query": (time.perf_counter() - t0) / queries, "peak_rss_mib": peak_rss_mib(),
                      "results_per_query": min(len(v) for v in run.values())}))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--search-only", help=argparse.SUPPRESS)
    ap.add_argument("--passages", type=int, default=100_000)
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--queries", type=int, default=8)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    if args.search_only:
        search_only(Path(args.search_only), args.queries, args.dim)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "exact"
        t0 = time.perf_counter()
        write_store(folder, args.passages, args.tokens, args.dim, 0)
        build_s = time.perf_counter() - t0
        child = subprocess.run([sys.executable, __file__, "--search-only", str(folder), "--queries",
                                str(args.queries), "--dim", str(args.dim)], capture_output=True, text=True, check=True)
        res = json.loads(child.stdout.strip().splitlines()[-1])
        row = {"passages": args.passages, "tokens": args.passages * args.tokens, "dim": args.dim,
               "store MiB (float16, mmap)": (folder / "tokens.npy").stat().st_size / 2**20, "write s": build_s,
               "search s/query": res["search_s_per_query"], "search process peak RSS MiB": res["peak_rss_mib"],
               "results per query": res["results_per_query"]}
    print(tabulate([row], headers="keys", floatfmt=".1f"))
    if args.out:
        write_json(args.out, row)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
