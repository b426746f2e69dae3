"""evaluate: encode the evaluation split, search the index, score, and write the run's files and record."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import paths
from harness.atomic import write_json
from harness.encode_cache import encode_queries
from harness.index import load_index
from harness.metrics.latency import measure
from harness.metrics.graded import add_ndcg
from harness.metrics.retrieval import answer_hit_counts, evaluate_run, random_pr_success, success_curve
from harness.params import params_hash
from harness.pipeline.common import data_hash, load_dataset, model_hash, pick_device, run_context
from harness.progress import phase_line
from harness.provenance import device_info, library_versions, require_clean_tree
from harness.record import facts_of, write_record
from harness.tasks import Task, get_task
from harness.trec import write_run


def _dataset_manifest(params: dict[str, Any], task: Task) -> dict[str, Any]:
    """What a real dataset's build wrote (skips, validation split, qrels kind, inputs); {} for the toy world."""
    manifest = paths.task_data_dir(params, task) / "manifest.json"
    return json.loads(manifest.read_text(encoding="utf-8")) if manifest.is_file() else {}


@dataclass
class Retrieval:
    """What one encode-and-search pass over a task's questions gave, with its wall times."""
    run: dict[str, list[tuple[str, float]]]
    q_emb: Any
    encode_s: float
    search_s: float
    encode_cached: bool


def retrieve(model: Any, index: Any, queries: list[Any], depth: int) -> Retrieval:
    t0 = time.perf_counter()
    q_emb, encode_cached = encode_queries(model, queries)  # every task asking these questions encodes them once
    encode_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    run = index.search(q_emb, [q.qid for q in queries], depth)
    return Retrieval(run, q_emb, encode_s, time.perf_counter() - t0, encode_cached)


def latency(model: Any, index: Any, queries: list[Any], got: Retrieval, depth: int, device: str,
            sample_size: int) -> dict[str, Any]:
    """Per-query latency at batch 1 on a sample, and the batched throughput of the pass itself."""
    sample = queries[:sample_size]
    return {
        "encode_batch1": measure([lambda q=q: model.encode_queries([q], batch_size=1) for q in sample], device),
        "search_batch1": measure([lambda i=i: index.search(got.q_emb.select([i]), [queries[i].qid], depth)
                                  for i in range(len(sample))], device),
        # batched throughput only where this stage encoded (a cached encoding says nothing about speed)
        "encode_batched_ms_per_query": None if got.encode_cached else 1000 * got.encode_s / max(1, len(queries)),
        "search_batched_ms_per_query": 1000 * got.search_s / max(1, len(queries)),
        "batch_size": model.params.get("encode_batch_size"),
        "warmup_calls": 3,
    }


def query_counts(queries: list[Any], run: dict[str, Any], data: Any, qrels: dict[str, Any] | None,
                 hits: dict[str, int], passages_effective: int) -> dict[str, int]:
    return {"queries": len(queries), "queries_effective": len(run), "passages": len(data.corpus),
            "passages_effective": passages_effective,
            "queries_with_qrels": sum(1 for q in queries if qrels and q.qid in qrels),
            "queries_without_answers": sum(1 for q in queries if not any(a.strip() for a in q.answers)),
            # the ceiling of PR-Success at any depth: queries with at least one answer-bearing passage
            "queries_with_answer_in_corpus": sum(1 for v in hits.values() if v > 0)}


def write_run_files(out: Path, run_id: str, record: dict[str, Any], run: dict[str, Any], per_query: Any,
                    curve: list[float]) -> None:
    write_run(out / "trec.run", run, tag=run_id)
    write_json(out / "per_query.json", per_query)
    # row records, so `dvc plots show` draws them (plot definitions in the pipeline's dvc.yaml)
    write_json(out / "curve.json", [{"K": k, "PR-Success": v} for k, v in enumerate(curve, start=1)])
    write_json(out / "metrics.json", record["metrics"])
    write_json(out / "run_facts.json", facts_of(record))
    write_record(out / "run.json", record)  # last: a complete run.json means a complete run folder


def evaluate(params: dict[str, Any], run_id: str, task_name: str | None = None, device: str | None = None
             ) -> dict[str, Any]:
    """Retrieve, score, time, and write the run's files and record."""
    ctx = run_context(params, run_id)
    task = get_task(params, task_name)
    git = require_clean_tree()  # before any work: a record comes from committed code (or says it does not)
    device = pick_device(device)
    ev = params["eval"]
    ks = sorted(set(ev["ks"]))
    data = load_dataset(params, check_images=False, task=task)
    queries = data.split(task.split)
    model_dir = paths.model_dir(params, run_id)
    model = ctx.retriever_class().load(model_dir, device)
    index_dir = paths.index_dir(params, run_id, task.corpus_id)
    index = load_index(ctx.spec.family, index_dir, device)
    depth = max(ks)

    got = retrieve(model, index, queries, depth)
    run = got.run
    phase_line(f"evaluate {run_id}/{task.name}: encoded and searched {len(queries):,} queries",
               got.encode_s + got.search_s)
    by_id = data.passages_by_id()
    qrels = data.qrels.get(task.split)
    metrics, per_query = evaluate_run(run, queries, by_id, ks, qrels)
    add_ndcg(metrics, per_query, run, qrels, [q.qid for q in queries])
    hits = answer_hit_counts(queries, by_id)
    index_stats = json.loads((index_dir / "stats.json").read_text())
    record = {
        "schema_version": 1, "run_id": run_id, "method": ctx.spec.name, "family": ctx.spec.family,
        "variant": run_id, "dataset": task.dataset or params["dataset"]["name"], "corpus": task.corpus_label, "task": task.name,
        "split": task.split, "profile": params["profile"], "metrics": metrics,
        "random_baseline": {f"PR-Success@{k}": random_pr_success(queries, by_id, k, hits) for k in ks},
        "counts": query_counts(queries, run, data, qrels, hits, int(index_stats["items"])),
        **_dataset_facts(params, task),
        "index": index_stats,
        "latency": latency(model, index, queries, got, depth, device, int(ev.get("latency_queries", 50))),
        **_training_facts(ctx, model_dir, got),
        "provenance": {"git": git, "params_hash": ctx.settings_hash, "all_params_hash": params_hash(params),
                       "model_dir": str(model_dir),
                       "data_hash": data_hash(params, task), "model_hash": model_hash(model_dir),
                       "seed": ctx.settings["seed"], "data_seed": params["data_seed"], "libraries": library_versions(), "device": device_info(device),
                       "method_params": ctx.settings["method_params"]},
    }
    write_run_files(paths.run_dir(params, run_id, task.name), run_id, record, run, per_query,
                    success_curve(run, queries, by_id, depth))
    return record


def _dataset_facts(params: dict[str, Any], task: Task) -> dict[str, Any]:
    """What the dataset build dropped and why (real datasets write a manifest; the toy world drops nothing)."""
    manifest = _dataset_manifest(params, task)
    return {"dropped": manifest.get("skipped", {}),
            "dataset_build": {k: manifest[k] for k in ("validation_split", "qrels", "corpus", "inputs", "vision_text")
                              if k in manifest}}


def _training_facts(ctx: Any, model_dir: Path, got: Retrieval) -> dict[str, Any]:
    """The record's phases, protocol and training entries. Train and index wall times live in
    results/<pipeline>/timings/ (run-to-run noise kept out of their outputs)."""
    train_info = json.loads((model_dir / "train.json").read_text())
    return {
        "phases": {"train": {"steps": train_info["steps_run"]},
                   "encode_queries": {"seconds": got.encode_s, "cached": got.encode_cached},
                   "search": {"seconds": got.search_s}},
        "protocol": {**ctx.settings["protocol"], "overrides": ctx.settings["protocol_overrides"]},
        "training": {k: train_info[k] for k in ("best_step", "best_score", "steps_run", "stopped_early",
                                                  "selected_on")},
    }
