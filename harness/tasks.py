"""Evaluation tasks: what a trained model is scored on, apart from what it was trained on. A task is
(dataset, split, corpus, optional nested corpus subset); `tasks` in params lists them, the first being the
table's main task. A model is trained once and evaluated on every task; a corpus is encoded once per model.

A task's dataset is the pipeline's own unless it names another (`dataset: <name>`, prepared once in data/<name>/,
harness/data_stages.py; it then names its `corpus` too). Its corpus is that dataset's own, or a named corpus
prepared in data/corpora/ (`corpus: wiki_vital`): against a corpus other than the dataset's own there are no
qrels, only the answer-based metrics."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.errors import InputError
from harness.params import params_file

SPLITS = ("val", "test")
MIN_SCALING_SIZES = 3  # corpus sizes one split is asked against before the report draws a scaling study


@dataclass(frozen=True)
class Task:
    name: str
    split: str
    corpus: str
    subset_size: int | None = None
    subset_seed: int | None = None
    dataset: str | None = None    # None: the pipeline's own dataset
    own_corpus: bool = True       # the corpus the pipeline's own dataset reads

    @property
    def corpus_id(self) -> str:
        """Names the index folder: one per (model, corpus or subset); the pipeline's own corpus is `full`."""
        base = "full" if self.own_corpus else self.corpus
        if self.subset_size is None:
            return base
        subset = f"subset{self.subset_size}-seed{self.subset_seed}"
        return subset if self.own_corpus else f"{base}-{subset}"

    @property
    def corpus_label(self) -> str:
        return self.corpus if self.subset_size is None else f"{self.corpus}[{self.subset_size} of it, seed {self.subset_seed}]"


def corpus_name(params: dict[str, Any]) -> str:
    """The corpus a pipeline's dataset folder holds (a card name, or the dataset itself for generated worlds)."""
    return str((params["dataset"].get("corpus") or {}).get("name") or params["dataset"]["name"])


def tasks(params: dict[str, Any]) -> dict[str, Task]:
    """The pipeline's tasks; which datasets and named corpora exist is checked by `harness pipelines`
    (harness/data_stages.py: `check_tasks`), which sees every pipeline's data."""
    spec = params.get("tasks") or {"main": {}}
    f = params_file(params)
    own = corpus_name(params)
    out: dict[str, Task] = {}
    for name, t in spec.items():
        t = t or {}  # its keys and types are checked by the params schema (harness/params.py)
        split = t.get("split", params["eval"]["split"])
        if split not in SPLITS:
            raise InputError(f, f"tasks.{name}.split", f"must be one of {SPLITS}, got {split!r}")
        dataset = t.get("dataset")
        if dataset == params["dataset"]["name"]:
            dataset = None
        if dataset is not None and "corpus" not in t:
            raise InputError(f, f"tasks.{name}.corpus", f"missing: a task over dataset {dataset!r} names its corpus")
        corpus = str(t.get("corpus", own))
        sub = t.get("subset")
        if sub is not None and not (isinstance(sub, dict) and isinstance(sub.get("size"), int) and sub["size"] > 0):
            raise InputError(f, f"tasks.{name}.subset", "must be {size: positive integer, seed: integer}")
        out[name] = Task(name, split, corpus, sub["size"] if sub else None,
                         int(sub.get("seed", params["data_seed"])) if sub else None, dataset, corpus == own)
    return out


def scaling_tasks(params: dict[str, Any]) -> list[str]:
    """The tasks asking one dataset's split against three or more corpora (subsets): a scaling study's points, in
    params order ([] where there is none; of several such groups, the one with the most corpora)."""
    groups: dict[tuple[str | None, str], list[Task]] = {}
    for task in tasks(params).values():
        groups.setdefault((task.dataset, task.split), []).append(task)
    widest = max(groups.values(), key=lambda g: len({t.corpus_id for t in g}))
    return [t.name for t in widest] if len({t.corpus_id for t in widest}) >= MIN_SCALING_SIZES else []


def is_scaling_study(params: dict[str, Any]) -> bool:
    return bool(scaling_tasks(params))


def is_seed_study(params: dict[str, Any]) -> bool:
    """Runs that repeat another run over training seeds (`replicate_of`): the report adds the seed tables."""
    return any("replicate_of" in run for run in params["runs"].values())


def get_task(params: dict[str, Any], name: str | None) -> Task:
    """A task by name (None: the main task); an unknown name is one line naming the params file and field."""
    all_tasks = tasks(params)
    if name is None:
        return next(iter(all_tasks.values()))
    if name not in all_tasks:
        raise InputError(params_file(params), f"tasks.{name}", f"no such task; tasks are {list(all_tasks)}")
    return all_tasks[name]


def main_task(params: dict[str, Any]) -> Task:
    return get_task(params, None)


def corpus_ids(params: dict[str, Any]) -> list[str]:
    return list(dict.fromkeys(t.corpus_id for t in tasks(params).values()))


def task_for_corpus(params: dict[str, Any], corpus_id: str) -> Task:
    for t in tasks(params).values():
        if t.corpus_id == corpus_id:
            return t
    raise InputError(params_file(params), "tasks", f"no task uses corpus {corpus_id!r}; corpora are {corpus_ids(params)}")


def subset_ids(pids: list[str], size: int, seed: int) -> set[str]:
    """A seeded random subset; subsets of one seed are nested (a smaller one lies inside every larger one)."""
    if size > len(pids):
        raise InputError("tasks", "subset.size", f"{size} is larger than the corpus ({len(pids)} passages)")
    order = np.random.default_rng(seed).permutation(len(pids))
    ranked = sorted(pids)
    return {ranked[int(i)] for i in order[:size]}
