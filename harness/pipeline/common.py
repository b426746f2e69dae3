"""What several stages share: resolving a run's settings, loading its method, its dataset and its device."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from harness import methods, paths
from harness.api import MethodSpec
from harness.code_deps import code_digest, import_closure, method_code
from harness.data.schema import Dataset, corpus_file, corpus_name, read_corpus
from harness.errors import InputError
from harness.distributed.runtime import local_device
from harness.params import params_hash, run_settings
from harness.provenance import hash_files
from harness.tasks import Task, subset_ids


@dataclass
class RunContext:
    params: dict[str, Any]
    run_id: str
    spec: MethodSpec
    settings: dict[str, Any]

    @property
    def settings_hash(self) -> str:
        return params_hash(self.settings)

    def retriever_class(self) -> Any:
        return methods.retriever_class(self.spec)


def run_context(params: dict[str, Any], run_id: str) -> RunContext:
    if run_id not in params["runs"]:
        raise InputError(paths.params_file(params), f"runs.{run_id}", f"no such run; runs are {sorted(params['runs'])}")
    spec = methods.get(params["runs"][run_id]["method"])
    return RunContext(params, run_id, spec, run_settings(params, run_id, methods.default_params(spec), methods.params_schema(spec)))


def _reads_own_corpus(task: Task | None, root: Path) -> bool:
    """Whether a task reads the corpus of its dataset's folder: the pipeline's own corpus for its own dataset
    (params say which), and for another dataset the corpus its manifest names."""
    if task is None or task.dataset is None:
        return task is None or task.own_corpus
    return task.corpus == corpus_name(root)


def load_dataset(params: dict[str, Any], check_images: bool = True, task: Task | None = None,
                 subset: bool = True) -> Dataset:
    """The pipeline's dataset, or a task's: its dataset's questions with the task's corpus (a corpus other than
    the dataset's own comes from data/corpora/ and brings no qrels), cut to the task's subset unless `subset` is
    False."""
    root = paths.task_data_dir(params, task)
    if not (root / "queries.jsonl").is_file():
        raise InputError(paths.params_file(params), f"tasks.{task.name}.dataset" if task and task.dataset else
                         "dataset.name", f"{root} is not prepared: run `dvc repro` (datasets/dvc.yaml prepares it)")
    data = Dataset(root, check_images=check_images)
    if not _reads_own_corpus(task, root):
        corpus = paths.corpus_dir(task.corpus) / "corpus.jsonl"
        if not corpus.is_file():
            raise InputError(paths.params_file(params), f"tasks.{task.name}.corpus",
                             f"{task.corpus!r} is neither {root}'s corpus nor a prepared corpus ({corpus} missing)")
        data.corpus, data.qrels = read_corpus(corpus), {}
    if task is not None and subset and task.subset_size is not None:
        keep = subset_ids([p.pid for p in data.corpus], task.subset_size, int(task.subset_seed))
        data.corpus = [p for p in data.corpus if p.pid in keep]
        data.qrels = {s: {q: {p: r for p, r in rels.items() if p in keep} for q, rels in qrels.items()}
                      for s, qrels in data.qrels.items()}
    return data


def data_hash(params: dict[str, Any], task: Task | None = None) -> str:
    """What a task reads: its dataset's questions, its corpus and (against the dataset's own corpus) the qrels."""
    root = paths.task_data_dir(params, task)
    if _reads_own_corpus(task, root):
        return hash_files([root / "queries.jsonl", corpus_file(root), root / "qrels"])
    return hash_files([root / "queries.jsonl", paths.corpus_dir(task.corpus) / "corpus.jsonl"])


def pick_device(requested: str | None = None) -> str:
    """The device asked for, else CUDA where present; under torchrun each rank takes its own GPU."""
    if requested and requested != "auto":
        return local_device(requested)
    return local_device("cuda" if torch.cuda.is_available() else "cpu")


def model_hash(model_dir: Path) -> str:
    """What defines the model: every file of its folder (weights, config, vocabulary, params) but the training
    summary, so a model without weights (BM25) is still told apart by its settings."""
    return hash_files([f for f in sorted(Path(model_dir).rglob("*")) if f.is_file() and f.name != "train.json"])


def training_code_digest(spec: MethodSpec) -> str:
    """The code a training run executes: the shared loop and the method's own code."""
    return code_digest([*import_closure(["harness.pipeline.fit"]), *method_code(spec.target)])
