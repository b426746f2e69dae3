"""evaluate: encode the evaluation split, search the index, score, and write the run's files and record."""

from __future__ import annotations

import json
import time
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
from harness.tasks import get_task
from harness.trec import write_run

# what DVC tracks (identical for identical code and inputs); run.json, the full record, also holds the
# commit, the device, wall times and latency, and lives beside them untracked by DVC
RUN_FILES = ("run_facts.json", "trec.run", "per_query.json", "curve.json")
LARGE_RUN_FILES = ("trec.run", "per_query.json")  # grow with the query count; see eval.per_query_in_git


def _dataset_manifest(params: dict[str, Any]) -> dict[str, Any]:
    """What a real dataset's build wrote (skips, validation split, qrels kind, inputs); {} for the toy world."""
    manifest = paths.data_dir(params) / "manifest.json"
    return json.loads(manifest.read_text(encoding="utf-8")) if manifest.is_file() else {}


def evaluate(params: dict[str, Any], run_id: str, task_name: str | None = None, device: str | None = None
             ) -> dict[str, Any]:
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
    qids = [q.qid for q in queries]
    depth = max(ks)

    t0 = time.perf_counter()
    q_emb, encode_cached = encode_queries(model, queries)  # every task asking these questions encodes them once
    encode_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    run = index.search(q_emb, qids, depth)
    search_s = time.perf_counter() - t0
    phase_line(f"evaluate {run_id}/{task.name}: encoded and searched {len(queries):,} queries", encode_s + search_s)

    by_id = data.passages_by_id()
    qrels = data.qrels.get(task.split)
    metrics, per_query = evaluate_run(run, queries, by_id, ks, qrels)
    add_ndcg(metrics, per_query, run, qrels, qids)

    hits = answer_hit_counts(queries, by_id)
    manifest = _dataset_manifest(params)
    sample = queries[: int(ev.get("latency_queries", 50))]
    latency = {
        "encode_batch1": measure([lambda q=q: model.encode_queries([q], batch_size=1) for q in sample], device),
        "search_batch1": measure([lambda i=i: index.search(q_emb.select([i]), [qids[i]], depth)
                                  for i in range(len(sample))], device),
        # batched throughput only where this stage encoded (a cached encoding says nothing about speed)
        "encode_batched_ms_per_query": None if encode_cached else 1000 * encode_s / max(1, len(queries)),
        "search_batched_ms_per_query": 1000 * search_s / max(1, len(queries)),
        "batch_size": model.params.get("encode_batch_size"),
        "warmup_calls": 3,
    }
    index_stats = json.loads((index_dir / "stats.json").read_text())
    train_info = json.loads((model_dir / "train.json").read_text())
    record = {
        "schema_version": 1, "run_id": run_id, "method": ctx.spec.name, "family": ctx.spec.family,
        "variant": run_id, "dataset": params["dataset"]["name"], "corpus": task.corpus_label, "task": task.name,
        "split": task.split, "profile": params["profile"], "metrics": metrics,
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
        # train and index wall times live in results/<pipeline>/timings/ (run-to-run noise kept out of their outputs)
        "phases": {"train": {"steps": train_info["steps_run"]},
                   "encode_queries": {"seconds": encode_s, "cached": encode_cached}, "search": {"seconds": search_s}},
        "index": index_stats, "latency": latency,
        "protocol": {**ctx.settings["protocol"], "overrides": ctx.settings["protocol_overrides"]},
        "training": {k: train_info[k] for k in ("best_step", "best_score", "steps_run", "stopped_early",
                                                  "selected_on")},
        "provenance": {"git": git, "params_hash": ctx.settings_hash, "all_params_hash": params_hash(params),
                       "model_dir": str(model_dir),
                       "data_hash": data_hash(params), "model_hash": model_hash(model_dir),
                       "seed": ctx.settings["seed"], "data_seed": params["data_seed"], "libraries": library_versions(), "device": device_info(device),
                       "method_params": ctx.settings["method_params"]},
    }
    out = paths.run_dir(params, run_id, task.name)
    write_run(out / "trec.run", run, tag=run_id)
    write_json(out / "per_query.json", per_query)
    # row records, so `dvc plots show` draws them (plot definitions in the pipeline's dvc.yaml)
    write_json(out / "curve.json", [{"K": k, "PR-Success": v} for k, v in
                                    zip(range(1, depth + 1), success_curve(run, queries, by_id, depth))])
    write_json(out / "metrics.json", metrics)
    write_json(out / "run_facts.json", facts_of(record))
    write_record(out / "run.json", record)  # last: a complete run.json means a complete run folder
    return record


def run_files(out: Path) -> list[Path]:
    return [out / f for f in RUN_FILES]
