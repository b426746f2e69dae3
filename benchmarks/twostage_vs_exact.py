"""Does `faiss-twostage` agree with `exact` MaxSim? Mean top-10 overlap on a trained late-interaction run.

    python benchmarks/twostage_vs_exact.py --run flmr --out results/toy/bench/twostage.json

Encodes the corpus and the evaluation queries with `models/<profile>/<run>`, builds both indexes in a temporary
folder, and prints a table (settings, overlap@10, ms per query, bytes per token) with JSON to --out.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from tabulate import tabulate

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness import paths  # noqa: E402
from harness.atomic import write_json  # noqa: E402
from harness.index.late import ExactMaxSimIndex  # noqa: E402
from harness.index.twostage import FaissTwoStageIndex  # noqa: E402
from harness.params import load_params  # noqa: E402
from harness.pipeline.common import load_dataset, run_context  # noqa: E402


def overlap(a: dict, b: dict, k: int = 10) -> float:
    vals = [len(set(list(a[q])[:k]) & set(list(b.get(q, {}))[:k])) / min(k, len(a[q])) for q in a if a[q]]
    return sum(vals) / len(vals)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--run", default="flmr")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    params = load_params(args.params)
    ctx = run_context(params, args.run)
    data = load_dataset(params, check_images=False)
    queries = data.split(params["eval"]["split"])
    model = ctx.retriever_class().load(paths.model_dir(params, args.run))
    p_emb, q_emb = model.encode_passages(data.corpus), model.encode_queries(queries)
    pids, qids = [p.pid for p in data.corpus], [q.qid for q in queries]
    default = params["index"]["late"]["faiss_twostage"]
    settings = [("default", default), ("nprobe 4", {**default, "nprobe": 4}),
                ("candidates 64", {**default, "candidates": 64}), ("token_k 8", {**default, "token_k": 8})]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        exact = ExactMaxSimIndex({})
        exact.build(p_emb, pids, Path(tmp) / "exact")
        t0 = time.perf_counter()
        ref = exact.search(q_emb, qids, 10)
        exact_ms = 1000 * (time.perf_counter() - t0) / len(qids)
        rows.append({"index": "exact", "settings": "-", "overlap@10": 1.0, "ms/query": exact_ms,
                     "bytes/token RAM": 0.0, "bytes/token disk": 2.0 * p_emb.tokens.shape[1]})
        for name, s in settings:
            index = FaissTwoStageIndex(s)
            stats = index.build(p_emb, pids, Path(tmp) / name.replace(" ", "_"))
            t0 = time.perf_counter()
            got = index.search(q_emb, qids, 10)
            ms = 1000 * (time.perf_counter() - t0) / len(qids)
            rows.append({"index": "faiss-twostage", "settings": name, "overlap@10": overlap(ref, got), "ms/query": ms,
                         "bytes/token RAM": stats.extra["bytes_per_token_ram"],
                         "bytes/token disk": stats.extra["bytes_per_token_disk"]})
    print(f"run {args.run}: {len(pids)} passages, {p_emb.tokens.shape[0]} tokens, {len(qids)} queries")
    print(tabulate(rows, headers="keys", floatfmt=".3f"))
    if args.out:
        write_json(args.out, {"run": args.run, "passages": len(pids), "tokens": int(p_emb.tokens.shape[0]),
                              "queries": len(qids), "rows": rows})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
