"""evaluate: encode the evaluation split, search the index, score, and write the run's files and record."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from harness import paths
from harness.api import DenseEmbeddings, MultiVectorEmbeddings, TextEmbeddings
from harness.atomic import write_json
from harness.index import load_index
from harness.metrics.latency import measure
from harness.metrics.retrieval import answer_hit_counts, evaluate_run, random_pr_success, success_curve
from harness.params import params_hash
from harness.pipeline.common import data_hash, load_dataset, model_hash, pick_device, run_context
from harness.provenance import device_info, git_state, library_versions
from harness.record import write_record
from harness.trec import write_run

RUN_FILES = ("run.json", "trec.run", "per_query.json", "curve.json")


def _one(emb: Any, i: int) -> Any:
    if isinstance(emb, TextEmbeddings):
        return TextEmbeddings(emb.texts[i : i + 1])
    if isinstance(emb, DenseEmbeddings):
        return DenseEmbeddings(emb.vectors[i : i + 1])
    return MultiVectorEmbeddings(emb.item(i), emb.offsets[i : i + 2] - emb.offsets[i])


def _dataset_manifest(params: dict[str, Any]) -> dict[str, Any]:
    """What a real dataset's build wrote (skips, validation split, qrels kind, inputs); {} for the toy world."""
    manifest = paths.data_dir(params) / "manifest.json"
    return json.loads(manifest.read_text(encoding="utf-8")) if manifest.is_file() else {}


def evaluate(params: dict[str, Any], run_id: str, device: str | None = None) -> dict[str, Any]:
    ctx = run_context(params, run_id)
    device = pick_device(device)
    ev = params["eval"]
    ks = sorted(set(ev["ks"]))
    data = load_dataset(params, check_images=False)
    queries = data.split(ev["split"])
    model_dir = paths.model_dir(params, run_id)
    model = ctx.retriever_class().load(model_dir, device)
    index = load_index(ctx.spec.family, paths.index_dir(params, run_id), device)
    qids = [q.qid for q in queries]
    depth = max(ks)

    t0 = time.perf_counter()
    q_emb = model.encode_queries(queries)
    encode_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    run = index.search(q_emb, qids, depth)
    search_s = time.perf_counter() - t0

    by_id = data.passages_by_id()
    qrels = data.qrels.get(ev["split"])
    metrics, per_query = evaluate_run(run, queries, by_id, ks, qrels)

    hits = answer_hit_counts(queries, by_id)
    manifest = _dataset_manifest(params)
    sample = queries[: int(ev.get("latency_queries", 50))]
    latency = {
        "encode_batch1": measure([lambda q=q: model.encode_queries([q], batch_size=1) for q in sample], device),
        "search_batch1": measure([lambda i=i: index.search(_one(q_emb, i), [qids[i]], depth)
                                  for i in range(len(sample))], device),
        "encode_batched_ms_per_query": 1000 * encode_s / max(1, len(queries)),
        "search_batched_ms_per_query": 1000 * search_s / max(1, len(queries)),
        "batch_size": model.params.get("encode_batch_size"),
        "warmup_calls": 3,
    }
    index_stats = json.loads((paths.index_dir(params, run_id) / "stats.json").read_text())
    train_info = json.loads((model_dir / "train.json").read_text())
    record = {
        "schema_version": 1, "run_id": run_id, "method": ctx.spec.name, "family": ctx.spec.family,
        "variant": run_id, "dataset": params["dataset"]["name"], "corpus": params["dataset"]["name"],
        "split": ev["split"], "profile": params["profile"], "metrics": metrics,
        "random_baseline": {f"PR-Success@{k}": random_pr_success(queries, by_id, k, hits) for k in ks},
        "counts": {"queries": len(queries), "queries_effective": len(run), "passages": len(data.corpus),
                   "passages_effective": int(index_stats["items"]),
                   "queries_with_qrels": sum(1 for q in qids if qrels and q in qrels),
                   "queries_without_answers": sum(1 for q in queries if not any(a.strip() for a in q.answers)),
                   # the ceiling of PR-Success at any depth: queries with at least one answer-bearing passage
                   "queries_with_answer_in_corpus": sum(1 for v in hits.values() if v > 0)},
        # what the dataset build dropped and why (real datasets write a manifest; the toy world drops nothing)
        "dropped": manifest.get("skipped", {}),
        "dataset_build": {k: manifest[k] for k in ("validation_split", "qrels", "corpus", "inputs", "vision_text")
                          if k in manifest},
        "phases": {"train": {"seconds": train_info["seconds"], "steps": train_info["steps_run"]},
                   "index": {"seconds": index_stats["build_seconds"], "encode_seconds": index_stats["encode_seconds"]},
                   "encode_queries": {"seconds": encode_s}, "search": {"seconds": search_s}},
        "index": index_stats, "latency": latency,
        "protocol": {**ctx.settings["protocol"], "overrides": ctx.settings["protocol_overrides"]},
        "training": {k: train_info[k] for k in ("best_step", "best_score", "steps_run", "stopped_early",
                                                  "resumed_from", "selected_on")},
        "provenance": {"git": git_state(), "params_hash": ctx.settings_hash, "all_params_hash": params_hash(params),
                       "data_hash": data_hash(params), "model_hash": model_hash(model_dir),
                       "seed": params["seed"], "libraries": library_versions(), "device": device_info(device),
                       "method_params": ctx.settings["method_params"]},
    }
    out = paths.run_dir(params, run_id)
    write_run(out / "trec.run", run, tag=run_id)
    write_json(out / "per_query.json", per_query)
    write_json(out / "curve.json", {"metric": "PR-Success", "k": list(range(1, depth + 1)),
                                    "value": success_curve(run, queries, by_id, depth)})
    write_json(out / "metrics.json", metrics)
    write_record(out / "run.json", record)  # last: a complete run.json means a complete run folder
    return record


def run_files(out: Path) -> list[Path]:
    return [out / f for f in RUN_FILES]
