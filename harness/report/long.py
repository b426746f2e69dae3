"""The long table of a pipeline: one row per run x task x metric (x seed), with factor columns. Every other
table of the pipeline is a pivot of it. Machine-dependent figures (latency, wall times) go to a long table of
their own, so the metric tables of two regenerations are byte-identical."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from harness import paths
from harness.metrics.bootstrap import confidence_interval
from harness.record import read_facts, read_record
from harness.tasks import main_task, tasks

FACTORS = ["pipeline", "task", "split", "corpus", "corpus_size", "queries", "run", "method", "family", "backbone",
           "seed"]
LONG_COLUMNS = [*FACTORS, "metric", "value", "lo", "hi", "dirty"]
CI_METRICS = ("PR-Success@5", "PR-Success@10", "PR-Success@20", "PR-Success@50", "Success@5", "R@5", "MRR@10",
              "VQA")  # metrics shown with a 95% interval over queries
BOUNDS = (("none", "no retrieval"), ("oracle", "oracle passage"))

RANDOM_RUN, CEILING_RUN = "random ranking", "answer in corpus"  # the reference rows of every task


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def _backbone(record: dict[str, Any]) -> str:
    bb = record["provenance"].get("method_params", {}).get("backbone", {})
    return str(bb.get("source", "-")) if isinstance(bb, dict) else "-"


def records(params: dict[str, Any], full: bool = False) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(task, record, per-query values) for every run and task that params name, in params order. The tables
    read the run facts (what DVC tracks); `full` reads run.json, with latency and provenance, instead."""
    out = []
    for task in tasks(params):
        for run_id in params["runs"]:
            folder = paths.run_dir(params, run_id, task)
            rec = read_record(folder / "run.json") if full else read_facts(folder / "run_facts.json")
            out.append((task, rec, {} if full else _json(folder / "per_query.json") or {}))
    return out


def long_table(params: dict[str, Any]) -> pd.DataFrame:
    resamples, seed = int(params["eval"].get("bootstrap", 1000)), int(params["data_seed"])
    main = main_task(params).name
    rows: list[dict[str, Any]] = []
    task_refs: dict[str, dict[str, Any]] = {}  # per task, the factors of its reference rows
    for task, rec, per_query in records(params):
        base = {"pipeline": params["profile"], "task": task, "split": rec["split"], "corpus": rec["corpus"],
                "corpus_size": rec["counts"]["passages"], "queries": rec["counts"]["queries"],
                "run": rec["run_id"], "method": rec["method"], "family": rec["family"], "backbone": _backbone(rec),
                "seed": rec["provenance"]["seed"], "dirty": rec["provenance"]["dirty"]}
        for m, v in rec["metrics"].items():
            lo, hi = confidence_interval(per_query[m], resamples, seed) if m in CI_METRICS and m in per_query else (None, None)
            rows.append({**base, "metric": m, "value": v, "lo": lo, "hi": hi})
        rows.append({**base, "metric": "index bytes", "value": rec["index"]["bytes_on_disk"]})
        vqa = _json(paths.run_dir(params, rec["run_id"], task) / "vqa.json") if task == main else None
        if vqa and "skipped" not in vqa:
            per_q = _json(paths.run_dir(params, rec["run_id"], task) / "vqa_per_query.json")
            lo, hi = confidence_interval(per_q["VQA"], resamples, seed)
            rows.append({**base, "metric": "VQA", "value": vqa["metrics"]["VQA"], "lo": lo, "hi": hi})
            rows.append({**base, "metric": "EM", "value": vqa["metrics"]["EM"]})
            rows.append({**base, "metric": "answer in top-K", "value": 100.0 * vqa["counts"]["with_answer_in_context"]
                         / max(1, vqa["counts"]["queries"])})
        # the task's reference levels, once: a random ranking, and the ceiling (an answer anywhere in the corpus)
        if task in task_refs:
            continue
        ref = task_refs[task] = {**base, "family": "-", "backbone": "-"}
        for m, v in rec.get("random_baseline", {}).items():
            rows.append({**ref, "run": RANDOM_RUN, "method": "(expected)", "metric": m, "value": v})
        ceiling = 100.0 * rec["counts"].get("queries_with_answer_in_corpus", 0) / max(1, rec["counts"]["queries"])
        rows.append({**ref, "run": CEILING_RUN, "method": "(ceiling)", "metric": "PR-Success@any",
                     "value": ceiling})
    for bound, label in BOUNDS:
        vqa = _json(paths.bound_dir(params, bound) / "vqa.json")
        if vqa and "skipped" not in vqa and main in task_refs:
            per_q = _json(paths.bound_dir(params, bound) / "vqa_per_query.json")
            lo, hi = confidence_interval(per_q["VQA"], resamples, seed)
            ref = {**task_refs[main], "run": label, "method": "(reader bound)"}
            rows.append({**ref, "metric": "VQA", "value": vqa["metrics"]["VQA"], "lo": lo, "hi": hi})
            rows.append({**ref, "metric": "EM", "value": vqa["metrics"]["EM"]})
    return pd.DataFrame(rows, columns=LONG_COLUMNS)


def latency_table(params: dict[str, Any]) -> pd.DataFrame:
    """Machine-dependent figures, long: per run and task, batch-1 latency, batched throughput, and the
    wall times of training and index building (from results/<pipeline>/timings/)."""
    rows = []
    for task, rec, _ in records(params, full=True):
        lat = rec["latency"]
        device = rec["provenance"]["device"].get("gpu", rec["provenance"]["device"]["device"])
        base = {"pipeline": params["profile"], "task": task, "run": rec["run_id"], "device": device}
        figures = {"encode p50 ms": lat["encode_batch1"]["p50_ms"], "encode p95 ms": lat["encode_batch1"]["p95_ms"],
                   "search p50 ms": lat["search_batch1"]["p50_ms"], "search p95 ms": lat["search_batch1"]["p95_ms"]}
        if lat.get("encode_batched_ms_per_query") is not None:  # None: the queries came from the encode cache
            figures["batched q/s"] = 1000.0 / max(1e-9, lat["encode_batched_ms_per_query"]
                                                  + lat["search_batched_ms_per_query"])
        train = _json(paths.timing_file(params, f"train-{rec['run_id']}")) or {}
        index = _json(paths.timing_file(params, f"index-{rec['run_id']}-{_corpus_id(params, task)}")) or {}
        if "seconds" in train:
            figures["train s"] = train["seconds"]
        if "build_seconds" in index:
            figures["index encode s"], figures["index build s"] = index["encode_seconds"], index["build_seconds"]
        rows += [{**base, "measure": k, "value": v} for k, v in figures.items()]
    return pd.DataFrame(rows, columns=["pipeline", "task", "run", "device", "measure", "value"])


def _corpus_id(params: dict[str, Any], task: str) -> str:
    return tasks(params)[task].corpus_id
