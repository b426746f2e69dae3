"""reader-train and vqa: train one reader for the profile, then let it answer each retriever's test questions
from that retriever's top-K passages (static retrieval), plus two bounds: no passages, and an oracle passage."""

from __future__ import annotations

import json
import shutil
from typing import Any

from harness import paths
from harness.api import Passage, Query
from harness.atomic import atomic_dir, write_json
from harness.distributed.runtime import current
from harness.errors import InputError
from harness.metrics.retrieval import clean_answers, hit_text, holds_answer, rank
from harness.metrics.vqa import score_predictions
from harness.negatives import mine_hard_negatives
from harness.params import deep_merge, params_hash, train_seeds
from harness.pipeline.common import load_dataset, model_hash, pick_device
from harness.code_deps import code_digest, import_closure
from harness.provenance import device_info, hash_files, library_versions, require_clean_tree
from harness.tasks import main_task, subset_ids
from harness.reader import create_reader, load_reader
from harness.train import result_dict, train
from harness.trec import read_run

BOUNDS = ("none", "oracle")


def _settings(params: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    if "reader" not in params:
        raise InputError("params.yaml", "reader", "missing: this profile has no reader section")
    reader = params["reader"]
    return reader, deep_merge(params["protocol"], reader.get("protocol", {}))


def _with_gold(gold: Passage, negatives: list[Passage], slot: int) -> list[Passage]:
    ctx = list(negatives)
    ctx.insert(slot % (len(ctx) + 1), gold)
    return ctx


DISABLED = "reader.enabled is false in this profile (retrieval only)"


def train_reader(params: dict[str, Any], device: str | None = None) -> dict[str, Any]:
    reader_params, protocol = _settings(params)
    if not reader_params.get("enabled", True):
        summary = {"skipped": DISABLED, "selected_on": "-", "best_score": float("nan"), "best_step": 0, "seconds": 0.0}
        with atomic_dir(paths.reader_dir(params)) as tmp:
            (tmp / "train.json").write_text(json.dumps(summary, indent=2))
        return summary
    if reader_params.get("from"):
        raise InputError(paths.params_file(params), "reader.from",
                         f"this pipeline answers with {reader_params['from']}'s reader: train that pipeline's")
    device = pick_device(device)
    data = load_dataset(params, check_images=False)
    by_id = data.passages_by_id()
    train_q, val_q = data.split("train"), data.split("val")
    positives = {qid: sorted(p for p, r in rels.items() if r > 0) for qid, rels in data.qrels.get("train", {}).items()}
    val_pos = {qid: sorted(p for p, r in rels.items() if r > 0) for qid, rels in data.qrels.get("val", {}).items()}
    k = int(reader_params["top_k"])
    pool = max(k, int(protocol.get("hard_negative_pool", 20)))
    hard = mine_hard_negatives(train_q + val_q, data.corpus, {q: set(v) for q, v in {**positives, **val_pos}.items()}, pool)
    seed = train_seeds(params)[0]  # one reader per pipeline
    model = create_reader(reader_params, seed, paths.params_file(params)).to(device)
    # per_passage readers are selected on reading the gold passage alone; concat readers read it among BM25
    # negatives, as they will read a retriever's top K
    n_neg = 0 if model.per_passage else k - 1
    # what a training example reads beside its gold passage: concat readers, the K-1 negatives of their input;
    # an extractive reader learns to decline from `reader.train_negatives` BM25 negatives per question
    n_train_neg = int(reader_params.get("train_negatives", n_neg))
    val_ctx = {q.qid: _with_gold(by_id[val_pos[q.qid][0]], [by_id[p] for p in hard[q.qid][:n_neg]], i)
               for i, q in enumerate(val_q) if val_pos.get(q.qid)}

    def validate() -> float:
        """VQA on the validation split, reading the gold passage (never test)."""
        preds = model.answer([q for q in val_q if q.qid in val_ctx], val_ctx)
        metrics, _ = score_predictions(preds, {q.qid: list(q.answers) for q in val_q if q.qid in val_ctx})
        return metrics["VQA"]

    ckpt = paths.checkpoint_dir(params, "_reader")
    result = train(model, train_queries=train_q, corpus=data.corpus, positives=positives, hard_negatives=hard,
                   protocol={**protocol, "hard_negatives": n_train_neg}, seed=seed, ckpt_dir=ckpt,
                   validate=validate,
                   settings_hash=params_hash({"reader": reader_params, "protocol": protocol,
                                              "code": code_digest(import_closure(["harness.pipeline.read"]))}))
    summary = {"reader": reader_params, "protocol": protocol, "device": device, "selected_on": "val VQA",
               **result_dict(result)}
    noise = ("seconds", "resumed_from", "device")  # beside the results, so an identical re-run changes nothing
    if not current().main:  # under torchrun the ranks hold the same weights: rank 0 writes them
        return summary
    with atomic_dir(paths.reader_dir(params)) as tmp:
        model.save(tmp)
        (tmp / "train.json").write_text(json.dumps({k: v for k, v in summary.items() if k not in noise},
                                                   indent=2, sort_keys=True))
    write_json(paths.timing_file(params, "reader-train"), {k: summary[k] for k in noise})
    shutil.rmtree(ckpt, ignore_errors=True)
    return summary


def sample_questions(queries: list[Query], reader_params: dict[str, Any]) -> list[Query]:
    """All evaluation questions, or with `reader.questions: {size, seed}` a seeded sample of them (the same one for
    every run and bound: readers cost far more per question than retrieval on a CPU)."""
    sample = reader_params.get("questions")
    if not sample or int(sample["size"]) >= len(queries):
        return queries
    keep = subset_ids([q.qid for q in queries], int(sample["size"]), int(sample["seed"]))
    return [q for q in queries if q.qid in keep]


def _oracle(q: Query, corpus: list[Passage]) -> list[Passage]:
    answers = clean_answers(q.answers)
    for p in corpus:
        if holds_answer(hit_text(p), answers):
            return [p]
    return []


def answer(params: dict[str, Any], run_id: str | None = None, bound: str | None = None,
           device: str | None = None) -> dict[str, Any]:
    """Answer the evaluation split from a retriever run's top-K (or a bound) and score VQA / EM."""
    reader_params, _ = _settings(params)
    task = main_task(params)  # the reader answers the main task's questions
    out = paths.run_dir(params, run_id, task.name) if run_id is not None else paths.bound_dir(params, str(bound))
    if not reader_params.get("enabled", True):
        record = {"schema_version": 1, "skipped": DISABLED, "metrics": {"VQA": None, "EM": None}, "counts": {"queries": 0}}
        write_json(out / "predictions.json", {})
        write_json(out / "vqa_per_query.json", {})
        write_json(out / "vqa.json", record)
        return record
    git = require_clean_tree()
    device = pick_device(device)
    data = load_dataset(params, check_images=False, task=task)
    queries = sample_questions(data.split(task.split), reader_params)
    by_id = data.passages_by_id()
    k = int(reader_params["top_k"])
    if run_id is not None:
        trec = out / "trec.run"
        run = read_run(trec)
        ranked = rank(run)
        contexts = {q.qid: [by_id[p] for p in ranked.get(q.qid, [])[:k]] for q in queries}
        scores = {q.qid: [run[q.qid][p.pid] for p in contexts[q.qid]] for q in queries if q.qid in run}
        source = {"run": run_id, "trec_hash": hash_files([trec])}
    elif bound in BOUNDS:
        contexts = {q.qid: (_oracle(q, data.corpus) if bound == "oracle" else []) for q in queries}
        scores = None
        source = {"bound": bound}
    else:
        raise InputError("command line", "--bound", f"must be one of {BOUNDS}")
    model = load_reader(paths.trained_reader_dir(params), device)
    preds = model.answer(queries, contexts, scores)
    metrics, per_q = score_predictions(preds, {q.qid: list(q.answers) for q in queries})
    record = {"schema_version": 1, **source, "reader": model.params["backbone"].get("kind", "t5"),
              "mode": "per_passage" if model.per_passage else "concat", "top_k": k, "split": task.split, "task": task.name,
              "questions_sample": reader_params.get("questions"),
              "metrics": metrics, "counts": {"queries": len(queries),
                                             "with_answer_in_context": sum(
                                                 any(holds_answer(hit_text(p), clean_answers(q.answers))
                                                     for p in contexts[q.qid]) for q in queries),
                                             "unanswered": sum(not str(preds.get(q.qid, "")).strip() for q in queries)},
              "reader_hash": model_hash(paths.trained_reader_dir(params)), "seed": train_seeds(params)[0],
              "dirty": bool(git.get("dirty"))}
    write_json(out / "predictions.json", preds)
    write_json(out / "vqa_per_query.json", per_q)
    write_json(out / "vqa.json", record)
    # the commit, libraries and device that ran it: beside the tracked files (they vary between regenerations)
    write_json(out / "vqa_provenance.json", {"git": git, "libraries": library_versions(),
                                             "device": device_info(device)})
    return record
