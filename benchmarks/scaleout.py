"""One process against N (torch.distributed, gloo on CPU, NCCL on GPUs) for what the pipeline scales out: corpus
encoding (tokens/s), data-parallel training (examples/s) and sharded exact search (queries/s), each in the same
run, the N-process figure as a ratio of the one-process figure. The cores are split evenly between processes
(torch threads = cores / N), so on a machine with few cores the ratio is the cost of the collectives, not a
speed-up: N processes on 2 cores cannot beat one process using both.

    python benchmarks/scaleout.py --nproc 2 --out results/bench/scaleout.json
    python benchmarks/scaleout.py --nproc 8 --device cuda --passages 50000 --out results/bench/scaleout_gpu.json
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from tabulate import tabulate

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness.api import Passage, Query  # noqa: E402
from harness.atomic import write_json  # noqa: E402
from harness.distributed.encode import encode_passages_sharded  # noqa: E402
from harness.distributed.runtime import barrier, current, free_port  # noqa: E402
from harness.provenance import device_info  # noqa: E402

COLBERT = {"backbone": {"source": "minilm"}, "use_vision_text": True, "use_image_features": False,
           "use_rois": False, "query_maxlen": 32, "doc_maxlen": 128, "encode_batch_size": 64}
DPR = {"backbone": {"source": "minilm"}, "pooling": "mean", "normalize": True, "scale": 20.0,
       "max_query_length": 64, "max_passage_length": 128, "encode_batch_size": 64}


def corpus(n: int) -> list[Passage]:
    """wiki_vital passages where the corpora extra is installed, else repeated generated text."""
    try:
        from harness.data.wiki_vital import load_passages

        passages = load_passages()
    except Exception:  # noqa: BLE001 - any failure: the generated stand-in below
        passages = [Passage(f"p{i}", "", f"passage {i} about topic {i % 97} " * 12) for i in range(n)]
    return (passages * (n // max(1, len(passages)) + 1))[:n]


def _model(kind: str, device: str):
    from harness.methods import default_params, get, retriever_class
    from harness.params import deep_merge

    spec = get("flmr" if kind == "colbert" else "dpr")
    params = deep_merge(default_params(spec), COLBERT if kind == "colbert" else DPR)
    return retriever_class(spec).create(params, seed=13).to(device)


def _encode(passages: list[Passage], device: str, scratch: Path) -> tuple[float, int]:
    model = _model("colbert", device).eval()
    barrier(current())
    t0 = time.perf_counter()
    emb = encode_passages_sharded(model, passages, scratch / "parts")
    barrier(current())
    return time.perf_counter() - t0, int(emb.offsets[-1])


def _train(passages: list[Passage], device: str, steps: int, batch: int, ckpt: Path) -> float:
    from harness.train import train

    model = _model("dpr", device)
    queries = [Query(f"q{i}", f"what is said about topic {i % 97}", None, ("topic",), "train") for i in range(len(passages))]
    positives = {q.qid: [p.pid] for q, p in zip(queries, passages)}
    protocol = {"batch_size": batch, "steps": steps, "lr": 1e-5, "warmup_steps": 0, "eval_every": steps + 1,
                "patience": 10, "hard_negatives": 0}
    barrier(current())
    t0 = time.perf_counter()
    train(model, train_queries=queries, corpus=passages, positives=positives, hard_negatives={},
          protocol=protocol, seed=13, ckpt_dir=ckpt, validate=lambda: 0.0, settings_hash="bench")
    barrier(current())
    return time.perf_counter() - t0


def _worker(rank: int, world: int, port: int, args: argparse.Namespace, out: list) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(max(1, args.cores // world))
    device = f"cuda:{rank}" if args.device == "cuda" else "cpu"
    if world > 1:
        dist.init_process_group("nccl" if args.device == "cuda" else "gloo", rank=rank, world_size=world)
    try:
        passages = corpus(args.passages)
        enc_s, tokens = _encode(passages, device, args.scratch / f"encode-{world}")  # a folder every rank reads
        train_s = _train(passages[: args.train_passages], device, args.steps, args.batch,
                         args.scratch / f"checkpoints-{world}")  # rank 0 writes, every rank reads
        if rank == 0:
            out.append({"processes": world, "encode_seconds": enc_s, "tokens": tokens,
                        "tokens_per_s": tokens / enc_s, "train_seconds": train_s,
                        "examples_per_s": args.steps * args.batch / train_s})
    finally:
        if world > 1:
            dist.destroy_process_group()



def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nproc", type=int, default=2)
    ap.add_argument("--passages", type=int, default=2000, help="encoded by the MiniLM ColBERT")
    ap.add_argument("--train-passages", type=int, default=512)
    ap.add_argument("--steps", type=int, default=10, help="DPR (MiniLM) training steps")
    ap.add_argument("--batch", type=int, default=16, help="global batch")
    ap.add_argument("--cores", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        args.scratch = Path(scratch)
        for world in (1, args.nproc):
            box = mp.Manager().list()
            mp.spawn(_worker, args=(world, free_port(), args, box), nprocs=world, join=True)
            rows.append(dict(box[0]))
    base = rows[0]
    for r in rows:
        r["encode_ratio"] = r["tokens_per_s"] / base["tokens_per_s"]
        r["train_ratio"] = r["examples_per_s"] / base["examples_per_s"]
    print(tabulate([[r["processes"], f"{r['tokens_per_s']:,.0f}", f"{r['encode_ratio']:.2f}",
                     f"{r['examples_per_s']:.1f}", f"{r['train_ratio']:.2f}"] for r in rows],
                   headers=["processes", "encode tokens/s", "x 1 process", "train examples/s", "x 1 process"]))
    if args.out:
        write_json(args.out, {"meta": {"device": device_info(args.device), "cores": args.cores,
                                       "passages": args.passages, "steps": args.steps, "batch": args.batch,
                                       "note": "torch threads = cores / processes"}, "rows": rows})


if __name__ == "__main__":
    main()
