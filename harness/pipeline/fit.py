"""train: fit one run's retriever under the shared protocol and write its model folder."""

from __future__ import annotations

import json
import shutil
import time
from typing import Any

from harness import encode_cache, paths
from harness.atomic import atomic_dir, write_json
from harness.distributed.runtime import current
from harness.index import exact_search
from harness.metrics.retrieval import evaluate_run
from harness.negatives import mine_hard_negatives
from harness.pipeline.common import load_dataset, pick_device, run_context, training_code_digest
from harness.params import params_hash
from harness.train import result_dict, train

# run-to-run noise: written beside the results (paths.timing_file), never into the model folder, so an
# identical re-run leaves the model's hash, and so every stage downstream, unchanged
NOISE = ("seconds", "resumed_from")


def _save(params: dict[str, Any], run_id: str, model: Any, summary: dict[str, Any]) -> None:
    if not current().main:  # under torchrun the ranks hold the same weights: rank 0 writes them
        return
    with atomic_dir(paths.model_dir(params, run_id)) as tmp:
        model.save(tmp)
        (tmp / "train.json").write_text(json.dumps({k: v for k, v in summary.items() if k not in NOISE},
                                                   indent=2, sort_keys=True))
    timing = {k: summary[k] for k in NOISE if k in summary}
    timing["phases"] = {name: {k: ph[k] for k in NOISE if k in ph} for name, ph in summary.get("phases", {}).items()}
    write_json(paths.timing_file(params, f"train-{run_id}"), {**timing, "device": summary["device"]})


def _metric_depth(name: str) -> int:
    return int(name.rsplit("@", 1)[1]) if "@" in name else 10


def fit(params: dict[str, Any], run_id: str, device: str | None = None) -> dict[str, Any]:
    ctx = run_context(params, run_id)
    protocol = ctx.settings["protocol"]
    device = pick_device(device)
    data = load_dataset(params)
    train_q, val_q = data.split("train"), data.split("val")
    positives = {qid: sorted(p for p, r in rels.items() if r > 0) for qid, rels in data.qrels.get("train", {}).items()}
    model = ctx.retriever_class().create(ctx.settings["method_params"], ctx.settings["seed"]).to(device)
    metric = protocol["select_on"]
    pids = [p.pid for p in data.corpus]
    by_id = data.passages_by_id()

    def validate() -> float:
        """The selection metric on the validation split (never test). Corpus encodings go through the cache:
        the initial weights' one serves the zero-shot run too, the selected weights' one the index stage."""
        passages, _ = encode_cache.encode_passages(model, data.corpus)
        run = exact_search(model.encode_queries(val_q), [q.qid for q in val_q], passages, pids, _metric_depth(metric))
        metrics, _ = evaluate_run(run, val_q, by_id, [_metric_depth(metric)], data.qrels.get("val"))
        return metrics[metric]

    if not getattr(model, "trainable", True) or int(protocol["steps"]) == 0:
        return _untrained(params, run_id, ctx, model, device, validate, len(train_q), len(val_q), metric)
    # mined only for runs that train: BM25 over every training query is wasted on zero-shot rows
    hard = mine_hard_negatives(train_q, data.corpus, {k: set(v) for k, v in positives.items()},
                               int(protocol.get("hard_negative_pool", 20)))
    ckpt = paths.checkpoint_dir(params, run_id)
    # a checkpoint resumes only under the same settings and the same code (a stale one is discarded)
    resume_key = params_hash({"settings": ctx.settings, "code": training_code_digest(ctx.spec)})
    phases = {}
    # Method-defined phases before fine-tuning (e.g. FLMR's mapping-network pre-training), same loop and rules.
    for phase in getattr(model, "phases", lambda: [])():
        model.set_phase(phase["name"])
        overrides = {k: v for k, v in phase.items() if k != "name"}
        r = train(model, train_queries=train_q, corpus=data.corpus, positives=positives, hard_negatives=hard,
                  protocol={**protocol, **overrides}, seed=ctx.settings["seed"], ckpt_dir=ckpt / phase["name"],
                  validate=validate, settings_hash=resume_key)
        phases[phase["name"]] = result_dict(r)
    if phases:
        model.set_phase("finetune")
    result = train(model, train_queries=train_q, corpus=data.corpus, positives=positives, hard_negatives=hard,
                   protocol=protocol, seed=ctx.settings["seed"], ckpt_dir=ckpt / "finetune", validate=validate,
                   settings_hash=resume_key)
    summary = {"run_id": run_id, "method": ctx.spec.name, "settings": ctx.settings, "device": device,
               "train_queries": len(train_q), "val_queries": len(val_q), "selected_on": f"val {metric}",
               "phases": phases, **result_dict(result)}
    _save(params, run_id, model, summary)
    if current().main:
        shutil.rmtree(ckpt, ignore_errors=True)  # the run finished; nothing left to resume
    return summary


def _untrained(params: dict[str, Any], run_id: str, ctx: Any, model: Any, device: str, validate: Any,
               n_train: int, n_val: int, metric: str) -> dict[str, Any]:
    """Zero-shot (protocol.steps 0) or nothing to train (BM25): scored once on validation and saved as is."""
    t0 = time.perf_counter()
    score = float(validate())
    summary = {"run_id": run_id, "method": ctx.spec.name, "settings": ctx.settings, "device": device,
               "train_queries": n_train, "val_queries": n_val, "selected_on": f"val {metric}", "phases": {},
               "best_step": 0, "best_score": score, "steps_run": 0, "stopped_early": False, "resumed_from": None,
               "seconds": time.perf_counter() - t0, "history": [{"step": 0, "val": score}],
               "zero_shot": getattr(model, "trainable", True)}
    _save(params, run_id, model, summary)
    return summary
