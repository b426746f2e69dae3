"""The short table that benchmarks/gpu.sh prints last: per-run latency from the run records, the MaxSim ratio
and the engines' best points, from the JSON the benchmarks wrote. Writes latency.json and summary.md to --out.

    python benchmarks/gpu_summary.py --runs results/gpu-latency/runs --out results/gpu
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tabulate import tabulate

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness.atomic import write_json, write_text  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    rows, records = [], {}
    for f in sorted(args.runs.glob("*/run.json")):
        rec = json.loads(f.read_text())
        lat = rec["latency"]
        records[rec["run_id"]] = {"latency": lat, "index": rec["index"], "device": rec["provenance"]["device"]}
        rows.append([rec["run_id"], rec["provenance"]["device"].get("gpu", rec["provenance"]["device"]["device"]),
                     lat["encode_batch1"]["p50_ms"], lat["encode_batch1"]["p95_ms"], lat["search_batch1"]["p50_ms"],
                     lat["search_batch1"]["p95_ms"],
                     1000 / max(1e-9, lat["encode_batched_ms_per_query"] + lat["search_batched_ms_per_query"]),
                     rec["index"]["bytes_on_disk"]])
    text = "Per-run latency, toy world, batch 1 after warm-up (ms), and batched throughput:\n"
    text += tabulate(rows, headers=["run", "device", "encode p50", "encode p95", "search p50", "search p95",
                                    "batched q/s", "index bytes"], floatfmt=".2f") + "\n"
    ms_file = args.out / "maxsim_cuda.json"
    if ms_file.is_file():
        ms = json.loads(ms_file.read_text())
        text += (f"\nExhaustive MaxSim on CUDA: {ms['maxsim_gflops']:.0f} GFLOP/s vs torch.mm {ms['matmul_gflops']:.0f} "
                 f"GFLOP/s on the same shapes: {100 * ms['ratio']:.0f}%\n")
    late_file = args.out / "late_synthetic_100k_cuda.json"
    if late_file.is_file():
        late = json.loads(late_file.read_text())
        text += "\nEngines, synthetic 100k x 64 tokens, CUDA, k=10:\n" + tabulate(
            [[r["engine"], r["setting"], r["overlap@10"], r["k10_p50_ms"], r["k10_p95_ms"], r["ram_B_per_token"]]
             for r in late["rows"]], headers=["engine", "setting", "overlap@10", "p50 ms", "p95 ms", "RAM B/token"],
            floatfmt=".3g") + "\n"
    write_json(args.out / "latency.json", records)
    write_text(args.out / "summary.md", text)
    print(text)


if __name__ == "__main__":
    main()
