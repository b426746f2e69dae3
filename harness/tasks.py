"""Evaluation tasks: what a trained model is scored on, apart from what it was trained on. A task is
(query set, split, corpus, optional nested corpus subset); `tasks` in params lists them, the first being the
table's main task. A model is trained once and evaluated on every task; a corpus is encoded once per model."""

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

    @property
    def corpus_id(self) -> str:
        """Names the index folder: one per (model, corpus or subset)."""
        return "full" if self.subset_size is None else f"subset{self.subset_size}-seed{self.subset_seed}"

    @property
    def corpus_label(self) -> str:
        return self.corpus if self.subset_size is None else f"{self.corpus}[{self.subset_size} of it, seed {self.subset_seed}]"


def corpus_name(params: dict[str, Any]) -> str:
    """The corpus a pipeline's dataset folder holds (a card name, or the dataset itself for generated worlds)."""
    return str((params["dataset"].get("corpus") or {}).get("name") or params["dataset"]["name"])


def tasks(params: dict[str, Any]) -> dict[str, Task]:
    spec = params.get("tasks") or {"main": {}}
    f = params_file(params)
    known = [corpus_name(params)]
    out: dict[str, Task] = {}
    for name, t in spec.items():
        t = t or {}
        split = t.get("split", params["eval"]["split"])
        if split not in SPLITS:
            raise InputError(f, f"tasks.{name}.split", f"must be one of {SPLITS}, got {split!r}")
        corpus = t.get("corpus", known[0])
        if corpus not in known:
            raise InputError(f, f"tasks.{name}.corpus", f"unknown corpus {corpus!r}; this pipeline's data holds {known}")
        sub = t.get("subset")
        if sub is not None and not (isinstance(sub, dict) and isinstance(sub.get("size"), int) and sub["size"] > 0):
            raise InputError(f, f"tasks.{name}.subset", "must be {size: positive integer, seed: integer}")
        out[name] = Task(name, split, corpus, sub["size"] if sub else None,
                         int(sub.get("seed", params["data_seed"])) if sub else None)
    return out


def is_scaling_study(params: dict[str, Any]) -> bool:
    """Tasks asking one split against three or more corpora (subsets): a scaling study."""
    corpora: dict[str, set[str]] = {}
    for task in tasks(params).values():
        corpora.setdefault(task.split, set()).add(task.corpus_id)
    return any(len(c) >= MIN_SCALING_SIZES for c in corpora.values())


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
